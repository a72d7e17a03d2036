"""POST /v1/classify: every sentence's sentiment and stance."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Request
from starlette.concurrency import run_in_threadpool

from service.deps import MetricsDep, ModelDep, SegmenterDep, SettingsDep
from service.errors import ApiError
from service.examples import reference_article
from service.schemas import ClassifyRequest, ClassifyResponse
from service.scoring import TooManySentences, score, segment

router = APIRouter(prefix="/v1", tags=["classify"])

_EXAMPLES = {
    "article": {
        "summary": "The reference article (a scraped news text)",
        "value": {"text": reference_article(), "targets": ["Russland", "Nordkorea"]},
    },
    "sentences": {
        "summary": "Pre-split sentences, with explanations",
        "value": {
            "sentences": ["Die Regierung hat die Warnungen monatelang ignoriert."],
            "targets": ["Regierung"],
            "explain": 5,
        },
    },
    "documents": {
        "summary": "Several documents",
        "value": {"documents": [{"id": "a1", "text": "Der Euro legte zu. Anleger zeigten sich erleichtert."}]},
    },
}


@router.post("/classify", response_model=ClassifyResponse, response_model_exclude_none=False)
async def classify(
    body: Annotated[ClassifyRequest, Body(openapi_examples=_EXAMPLES)],
    request: Request,
    model: ModelDep,
    segmenter: SegmenterDep,
    settings: SettingsDep,
    metrics: MetricsDep,
) -> dict:
    if body.documents is not None and len(body.documents) > settings.max_documents:
        raise ApiError(
            413,
            "too_many_documents",
            f"{len(body.documents)} documents exceed the limit of {settings.max_documents} (HALTUNG_MAX_DOCUMENTS).",
            {"count": len(body.documents), "limit": settings.max_documents},
        )
    if body.explain > settings.max_explain:
        raise ApiError(
            422,
            "validation_error",
            f"explain may be at most {settings.max_explain} (HALTUNG_MAX_EXPLAIN).",
            {"explain": body.explain, "limit": settings.max_explain},
        )
    try:
        docs = await run_in_threadpool(
            segment,
            segmenter,
            text=body.text,
            sentences=body.sentences,
            documents=[(d.id, d.text) for d in body.documents or ()],
            max_sentences=settings.max_sentences,
        )
    except TooManySentences as err:
        raise ApiError(413, "too_many_sentences", str(err), {"count": err.count, "limit": err.limit}) from None
    result = await run_in_threadpool(score, model, docs, body.targets, body.explain)
    count = sum(len(d.sentences) for d in docs)
    metrics.sentences.inc(count)
    request.state.sentences = count
    request.state.model_version = model.version
    return result
