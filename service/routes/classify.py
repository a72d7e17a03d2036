"""POST /v1/classify: every sentence's sentiment and stance."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from service.admission import Admission
from service.deps import MetricsDep, ModelDep, SegmenterDep, SettingsDep
from service.errors import ApiError
from service.examples import reference_article
from service.limits import Budget, characters_of
from service.openapi import BODY, error_responses
from service.schemas import ClassifyRequest, ClassifyResponse
from training import Document, TooManySentences, analyse, segment

router = APIRouter(prefix="/v1", tags=["classify"])

INLINE_SENTENCES = 4  # requests of at most this many pre-split sentences are scored on the event loop

_EXAMPLES = {
    "article": {
        "summary": "The reference article (a scraped news text)",
        "value": {
            "text": reference_article(),
            "targets": [
                {"name": "Russland", "aliases": ["Moskau", "Kreml"]},
                {"name": "Nordkorea", "aliases": ["Pjöngjang"]},
                {"name": "Ukraine", "aliases": ["Kiew"]},
                "Putin",
            ],
        },
    },
    "sentences": {
        "summary": "Pre-split sentences, with explanations",
        "value": {
            "sentences": ["Die Regierung hat die Warnungen monatelang ignoriert."],
            "targets": ["Regierung"],
            "explain": 5,
        },
    },
    "tone": {
        "summary": "Tone-based guesses for sentences that do not mention a target",
        "value": {
            "sentences": ["Russland ist kein verlässlicher Partner.", "Die Ukraine feiert einen Erfolg."],
            "targets": ["Russland"],
            "unmentioned": "score",
        },
    },
    "question": {
        "summary": "A question target (x-stance style): every sentence is read as an answer",
        "value": {
            "text": "Der Bund sollte mehr Geld für Kitas ausgeben. Das entlastet Familien.",
            "targets": ["Soll der Bund mehr Geld für die Kinderbetreuung ausgeben?"],
        },
    },
    "documents": {
        "summary": "Several documents",
        "value": {"documents": [{"id": "a1", "text": "Der Euro legte zu. Anleger zeigten sich erleichtert."}]},
    },
}


async def get_admission(request: Request) -> Admission:
    admission = request.app.state.admission
    assert isinstance(admission, Admission)
    return admission


# `response_model` documents the response in OpenAPI; the handler returns JSON rendered from
# training.analysis's dicts (already in the schema's shape), so FastAPI does not re-validate and re-serialise
# a response of thousands of objects through pydantic (tests/service/test_classify_response.py checks it).
@router.post(
    "/classify",
    response_model=ClassifyResponse,
    response_model_exclude_none=False,
    responses=error_responses(
        *BODY,
        503,
        notes={
            413: "the body (payload_too_large), the documents (too_many_documents), the characters before "
            "splitting (too_many_characters, HALTUNG_MAX_CHARS), the sentences (too_many_sentences), the work "
            "sentences × (1 + targets) × (1 + explain) (work_budget_exceeded, HALTUNG_MAX_WORK) or the answer's "
            "size (response_too_large, HALTUNG_MAX_RESPONSE_BYTES) exceed their limit",
            503: "no model is loaded (no_model), or the worker is at its limit of requests in flight and queued "
            "(overloaded, with Retry-After)",
        },
    ),
)
async def classify(
    body: Annotated[ClassifyRequest, Body(openapi_examples=_EXAMPLES)],
    request: Request,
    model: ModelDep,
    segmenter: SegmenterDep,
    settings: SettingsDep,
    metrics: MetricsDep,
    admission: Annotated[Admission, Depends(get_admission)],
) -> Response:
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
    if len(body.targets) > settings.max_targets:
        raise ApiError(
            422,
            "validation_error",
            f"{len(body.targets)} targets exceed the limit of {settings.max_targets} (HALTUNG_MAX_TARGETS).",
            {"count": len(body.targets), "limit": settings.max_targets},
        )
    targets = body.stance_targets()
    budget = Budget(settings, targets=len(targets), explain=body.explain)
    characters = characters_of(body)
    budget.check_characters(characters)
    if body.sentences is not None:
        budget.check_sentences(len(body.sentences))

    def work() -> tuple[list[Document], bytes]:
        try:
            docs = segment(
                segmenter,
                text=body.text,
                sentences=body.sentences,
                documents=[(d.id, d.text) for d in body.documents or ()],
                max_sentences=budget.sentence_allowance,  # splitting stops as soon as the budget is spent
            )
        except TooManySentences as err:
            budget.refuse_split(err)
        count = sum(len(d.sentences) for d in docs)
        budget.check_response(budget.estimate_response_bytes(characters, count, len(docs)), estimated=True)
        content = render(analyse(model, docs, targets, body.explain, body.unmentioned))
        budget.check_response(len(content), estimated=False)
        return docs, content

    # A few pre-split sentences cost well under a millisecond: scoring them on the event loop saves the
    # thread hand-offs, which cost more than the work, and they need no slot. Anything else waits for one
    # of the worker's slots (or is shed with 503) and runs in a worker thread, in one hop.
    small = (
        body.sentences is not None
        and len(body.sentences) <= INLINE_SENTENCES
        and len(body.targets) <= 2
        and body.explain == 0
    )
    if small:
        docs, content = work()
    else:
        async with admission.slot():
            docs, content = await run_in_threadpool(work)
    count = sum(len(d.sentences) for d in docs)
    metrics.sentences.inc(count)
    request.state.sentences = count
    request.state.model_version = model.version
    return Response(content, media_type="application/json")


_SPLIT_DEPTH = 4  # result → documents → document → sentences: below it, one json.dumps per sentence


def render(result: dict[str, Any]) -> bytes:
    """Compact UTF-8 JSON, as JSONResponse renders it (here so that its size can be checked first).

    Byte for byte what one `json.dumps` gives, but built from one call per sentence: a single call over
    thousands of sentences holds the GIL for tens of milliseconds, and every small request waits for it.
    """
    return _encode(result, 0).encode("utf-8")


def _encode(value: Any, depth: int) -> str:
    if depth < _SPLIT_DEPTH and isinstance(value, dict):
        return "{" + ",".join(f"{_dumps(key)}:{_encode(item, depth + 1)}" for key, item in value.items()) + "}"
    if depth < _SPLIT_DEPTH and isinstance(value, list):
        return "[" + ",".join(_encode(item, depth + 1) for item in value) + "]"
    return _dumps(value)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
