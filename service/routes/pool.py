"""The review queue: add unlabelled text to the pool, get the sentences whose label would help most.

`POST /v1/pool` segments like `/v1/classify` (same limits), drops boilerplate and merges exact
duplicates; `GET /v1/pool/next` scores the unlabelled pool with the served model and returns a batch
chosen by `training.select` (uncertainty, then a diversity step), never a sentence already labelled.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from starlette.concurrency import run_in_threadpool

from service.deps import ModelDep, PoolDep, SegmenterDep, SettingsDep, WriteAccess
from service.errors import ApiError
from service.openapi import BODY, WRITE, error_responses
from service.pool import MAX_PAGE
from service.schemas import ONE_INPUT, DocumentIn, MentionOut, NonBlank, Strict
from training import STRATEGIES, Target, segment, select

router = APIRouter(prefix="/v1", tags=["pool"])

MAX_K = 50


class PoolIn(Strict):
    """Exactly one of `text`, `documents` or `sentences` (as in /v1/classify), and where it came from."""

    model_config = ConfigDict(json_schema_extra=ONE_INPUT)

    text: NonBlank | None = Field(None, description="one whole article; split into sentences by SoMaJo")
    documents: list[DocumentIn] | None = Field(None, min_length=1, description="several articles")
    sentences: list[NonBlank] | None = Field(None, min_length=1, description="pre-split sentences")
    source: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None = Field(
        None, description="where the text came from (a feed, a file name); kept with each sentence"
    )

    @model_validator(mode="after")
    def one_input(self) -> PoolIn:
        given = [name for name in ("text", "documents", "sentences") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of 'text', 'documents' or 'sentences' (got {given or 'none'})")
        return self


class PoolAdded(BaseModel):
    added: int = Field(description="sentences new to the pool")
    duplicates: int = Field(description="sentences already in the pool or repeated in this request (merged)")
    boilerplate: int = Field(description="sentences dropped as boilerplate (video notices, link lines ...)")
    size: int = Field(description="sentences now in the pool")


class PoolItemOut(BaseModel):
    id: str
    text: str
    source: str | None
    added_at: str


class PoolPage(BaseModel):
    items: list[PoolItemOut]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last page")
    size: int = Field(description="sentences in the pool")


class QueueItem(BaseModel):
    id: str = Field(description="the pool sentence's id")
    text: str
    uncertainty: float = Field(description="how unsure the model is, 0 (sure) to 1 (all labels equally likely)")
    label: str = Field(description="the served model's label")
    scores: dict[str, float] = Field(description="probability per label; sums to 1")
    mention: MentionOut | None = Field(None, description="stance: where the sentence mentions the target")


class QueueBatch(BaseModel):
    model_version: str
    head: Literal["sentiment", "stance"]
    target: str | None
    strategy: str = Field(description="the uncertainty measure: margin (1 - gap of the top two) or entropy")
    diversity: dict[str, float] = Field(
        description="the diversity step: sentences with TF-IDF cosine >= max_similarity to one already picked "
        "are skipped while others remain"
    )
    items: list[QueueItem] = Field(description="most useful first")
    remaining: int = Field(description="unlabelled candidate sentences for this head and target, these included")


_EXAMPLES = {
    "text": {"summary": "An article", "value": {"text": "Der Euro legte zu. Anleger zeigten sich erleichtert."}},
    "sentences": {
        "summary": "Pre-split sentences with a source",
        "value": {"sentences": ["Russland liefert Getreide.", "Kiew meldet Angriffe."], "source": "feed-1"},
    },
}


@router.post(
    "/pool",
    status_code=201,
    response_model=PoolAdded,
    dependencies=[WriteAccess],
    responses=error_responses(
        *WRITE, *BODY, notes={413: "the body, the documents or the sentences exceed this server's limits"}
    ),
)
async def add_to_pool(
    body: Annotated[PoolIn, Body(openapi_examples=_EXAMPLES)],
    pool: PoolDep,
    segmenter: SegmenterDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    """Add unlabelled text: segmented, boilerplate dropped, exact duplicates merged."""
    if body.documents is not None and len(body.documents) > settings.max_documents:
        raise ApiError(
            413,
            "too_many_documents",
            f"{len(body.documents)} documents exceed the limit of {settings.max_documents} (HALTUNG_MAX_DOCUMENTS).",
            {"count": len(body.documents), "limit": settings.max_documents},
        )

    def work() -> dict[str, Any]:
        docs = segment(
            segmenter,
            text=body.text,
            sentences=body.sentences,
            documents=[(d.id, d.text) for d in body.documents or ()],
            max_sentences=settings.max_sentences,
        )
        sentences = [s for d in docs for s in d.sentences]
        kept = [s.text for s in sentences if not s.boilerplate]
        added = pool.add(kept, body.source)
        return {
            "added": added.added,
            "duplicates": added.duplicates,
            "boilerplate": len(sentences) - len(kept),
            "size": added.size,
        }

    return await run_in_threadpool(work)


@router.get(
    "/pool/next",
    response_model=QueueBatch,
    responses=error_responses(422, 503, notes={503: "no model loaded yet (model_unavailable)"}),
)
async def next_batch(
    model: ModelDep,
    pool: PoolDep,
    head: Literal["sentiment", "stance"],
    target: Annotated[
        str | None, Query(max_length=300, description="required for head=stance; ignored for sentiment")
    ] = None,
    alias: Annotated[list[str] | None, Query(max_length=20, description="other names of the target")] = None,
    k: Annotated[int, Query(ge=1, le=MAX_K)] = 10,
    strategy: Annotated[Literal["margin", "entropy"], Query(description=f"one of {STRATEGIES}")] = "margin",
) -> dict[str, Any]:
    """The k unlabelled pool sentences whose label would help `head` most; deterministic for a model and pool."""
    name = (target or "").strip() or None
    if head == "stance" and name is None:
        raise ApiError(422, "validation_error", "head=stance needs a target, e.g. target=Russland.", {"head": head})
    if head not in model.heads:
        raise ApiError(422, "validation_error", f"the served model has no {head} head.", {"heads": list(model.heads)})
    goal = Target(name, tuple(a.strip() for a in alias or () if a.strip())) if head == "stance" and name else None

    def work() -> dict[str, Any]:
        items = pool.unlabelled(head, name)
        selection = select(model, [i.text for i in items], head, goal, k, strategy=strategy)
        return {
            "model_version": model.version,
            "head": head,
            "target": goal.name if goal else None,
            "strategy": selection.strategy,
            "diversity": {"max_similarity": selection.max_similarity},
            "items": [
                {
                    "id": items[p.index].id,
                    "text": p.text,
                    "uncertainty": round(p.uncertainty, 6),
                    "label": p.label,
                    "scores": {label: round(s, 6) for label, s in p.scores.items()},
                    "mention": {"start": m.start, "end": m.end, "text": m.text, "via": m.via}
                    if (m := p.mention)
                    else None,
                }
                for p in selection.items
            ],
            "remaining": selection.remaining,
        }

    return await run_in_threadpool(work)


@router.get("/pool", response_model=PoolPage, responses=error_responses(400, 422, notes={400: "invalid cursor"}))
async def list_pool(
    pool: PoolDep,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> dict[str, Any]:
    """Pool sentences, oldest first, `limit` at a time."""
    items, next_cursor = await run_in_threadpool(pool.page, cursor, limit)
    size = await run_in_threadpool(pool.size)
    return {"items": [i.to_json() for i in items], "next_cursor": next_cursor, "size": size}


@router.delete(
    "/pool/{item_id}",
    status_code=204,
    dependencies=[WriteAccess],
    responses=error_responses(*WRITE, 404, 422, notes={404: "unknown pool sentence"}),
)
async def delete_from_pool(item_id: str, pool: PoolDep) -> Response:
    if not await run_in_threadpool(pool.delete, item_id):
        raise ApiError(404, "pool_item_not_found", f"no pool sentence with id {item_id!r}")
    return Response(status_code=204)
