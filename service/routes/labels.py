"""Label endpoints: store corrected sentences, page through them, export them, delete one."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from starlette.concurrency import run_in_threadpool

from service.deps import LabelsDep, WriteAccess
from service.errors import ApiError
from service.labels import MAX_PAGE, StoredLabel
from service.openapi import BODY, WRITE, error_responses, link
from service.schemas import NOT_BLANK, label_of, labelled, trimmed_or_blank
from training import Label, Sentiment, Stance

router = APIRouter(prefix="/v1", tags=["labels"])
WRITE_ERRORS = error_responses(*WRITE)  # kept for routes that spread it; prefer error_responses(*WRITE, ...)

MAX_BATCH = 1000
LabelId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")]


class LabelIn(Label):
    """One labelled sentence; at least one of `stance` and `sentiment` (the rules of `training.Label`)."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, json_schema_extra={"anyOf": [labelled("stance"), labelled("sentiment")]}
    )

    text: str = Field(max_length=10_000, json_schema_extra={"pattern": NOT_BLANK})
    target: Annotated[str | None, trimmed_or_blank(300)] = Field(
        None, max_length=300, description="the stance target, e.g. Russland"
    )
    stance: Annotated[Stance | None, label_of(Stance)] = None
    sentiment: Annotated[Sentiment | None, label_of(Sentiment)] = None
    id: LabelId | None = Field(None, description="your own id; generated when left out")


class LabelsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    labels: list[LabelIn] = Field(min_length=1, description=f"at most {MAX_BATCH} per request")


class LabelsStored(BaseModel):
    ids: list[str] = Field(description="the stored id of every posted row, in order")
    count: int
    created: int
    updated: int = Field(description="rows whose (text, target) was already stored: labels replaced, id kept")


class LabelPage(BaseModel):
    items: list[StoredLabel]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last page")


_EXAMPLE = {
    "labels": [
        {"text": "Die Regierung hat die Warnungen monatelang ignoriert.", "target": "Regierung", "stance": "against"},
        {"text": "Der Euro legte deutlich zu.", "sentiment": "positive"},
    ]
}


@router.post(
    "/labels",
    status_code=201,
    response_model=LabelsStored,
    dependencies=[WriteAccess],
    responses={
        **error_responses(
            *WRITE,
            *BODY,
            notes={
                413: f"the body is too large, or more than {MAX_BATCH} labels (too_many_labels)",
                422: "invalid rows (invalid_labels: details lists every bad row), or not the schema (validation_error)",
            },
        ),
        201: {
            "links": link("DeleteLabel", "delete", "/v1/labels/{label_id}", "delete", label_id="$response.body#/ids/0")
        },
    },
)
async def post_labels(
    body: Annotated[LabelsIn, Body(openapi_examples={"batch": {"summary": "Two labels", "value": _EXAMPLE}})],
    labels: LabelsDep,
) -> dict[str, Any]:
    """Store a batch: all rows or none (422 lists every bad row). Same (text, target) again updates it."""
    if len(body.labels) > MAX_BATCH:
        raise ApiError(
            413,
            "too_many_labels",
            f"{len(body.labels)} labels exceed the limit of {MAX_BATCH} per request.",
            {"count": len(body.labels), "limit": MAX_BATCH},
        )
    rows = [item.model_dump(exclude_none=True) for item in body.labels]
    stored = await run_in_threadpool(labels.upsert, rows)
    return {"ids": stored.ids, "count": len(stored.ids), "created": stored.created, "updated": stored.updated}


@router.get("/labels", response_model=LabelPage, responses=error_responses(400, 422, notes={400: "invalid cursor"}))
async def list_labels(
    labels: LabelsDep,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> dict[str, Any]:
    """Stored labels, oldest first, `limit` at a time."""
    items, next_cursor = await run_in_threadpool(labels.page, cursor, limit)
    return {"items": [label.to_json() for label in items], "next_cursor": next_cursor}


@router.get(
    "/labels/export",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/x-ndjson": {}}, "description": "one training row per line"}},
)
async def export_labels(labels: LabelsDep) -> StreamingResponse:
    """All labels as JSONL in the training format (`source` "labels"): `python -m training train --data`."""
    headers = {"Content-Disposition": 'attachment; filename="labels.jsonl"'}
    return StreamingResponse(labels.export_lines(), media_type="application/x-ndjson", headers=headers)


@router.delete(
    "/labels/{label_id}",
    status_code=204,
    dependencies=[WriteAccess],
    responses=error_responses(*WRITE, 404, 422, notes={404: "unknown label (label_not_found)"}),
)
async def delete_label(label_id: str, labels: LabelsDep) -> Response:
    if not await run_in_threadpool(labels.delete, label_id):
        raise ApiError(404, "label_not_found", f"no label with id {label_id!r}")
    return Response(status_code=204)
