"""Retrain endpoints: start a background retrain, follow its job."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, StrictBool
from starlette.concurrency import run_in_threadpool

from service.changes import label_changes
from service.deps import RetrainerDep, SegmenterDep, StoreDep, WriteAccess
from service.errors import ApiError
from service.job_events import job_events
from service.openapi import BODY, GUARDED, WRITE, error_responses, link
from service.schemas import NonBlank, TargetName, TargetSpec
from training import Target

router = APIRouter(prefix="/v1", tags=["retrain"])


class RetrainIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    force: StrictBool = Field(False, description="promote the candidate even if the quality gate fails")


class RetrainAccepted(BaseModel):
    job_id: str
    status: str


class JobOut(BaseModel):
    job_id: str
    status: str = Field(description="queued | running | succeeded | rejected | failed")
    force: bool
    created_at: str
    started_at: str | None
    finished_at: str | None
    duration_s: float | None = Field(description="seconds since the training process started (until it ended)")
    pid: int | None = Field(description="the job's process")
    exit_code: int | None
    error: str | None
    log: list[str] = Field(default_factory=list, description="the job's last progress lines")
    candidate_version: str | None
    baseline_version: str | None = Field(description="the model that was current when the job started")
    promoted: bool | None
    note: str | None
    gate: dict[str, Any] | None = Field(description="passed, tolerance, macro-F1 drop per head, reasons")
    metrics: dict[str, Any] | None = Field(description="candidate and current model on the same evaluation set")
    data: dict[str, Any] | None
    timings: dict[str, float] | None


@router.post(
    "/retrain",
    status_code=202,
    response_model=RetrainAccepted,
    dependencies=[WriteAccess],
    responses={
        **error_responses(
            *WRITE,
            *GUARDED,
            409,
            422,
            notes={
                409: "a retrain is queued or running (retrain_running), no labels (no_labels) or no model (no_model)"
            },
        ),
        202: {
            "links": link("FollowJob", "get", "/v1/jobs/{job_id}", "its status", job_id="$response.body#/job_id"),
            "headers": {"Location": {"description": "the job: /v1/jobs/{job_id}", "required": True}},
        },
    },
)
async def retrain(
    response: Response,
    retrainer: RetrainerDep,
    body: Annotated[RetrainIn | None, Body()] = None,
) -> dict[str, Any]:
    """Train a candidate on the current model's base data + all labels in a separate process.

    It is promoted only if no head's macro-F1 drops by more than HALTUNG_GATE_TOLERANCE against the
    current model (`force` promotes anyway), and only while that model is still current. One retrain at a
    time: 409 while one is queued or running.
    """
    job = await retrainer.start(force=bool(body and body.force))
    response.headers["Location"] = f"/v1/jobs/{job.id}"
    return {"job_id": job.id, "status": job.status}


@router.get("/jobs/{job_id}", response_model=JobOut, responses=error_responses(404, 422, notes={404: "unknown job"}))
async def get_job(job_id: str, retrainer: RetrainerDep) -> dict[str, Any]:
    """Status, timings, and the candidate's and the current model's metrics on the evaluation set."""
    job = await retrainer.job(job_id)
    if job is None:
        raise ApiError(404, "job_not_found", f"no retrain job with id {job_id!r}")
    return job.to_json()


@router.get(
    "/jobs/{job_id}/events",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": "server-sent events: `status` on each change, `log` per new progress line, then `end` "
            "with the job as GET /v1/jobs/{id} returns it; the stream closes when the job has ended",
        },
        **error_responses(404, 422, notes={404: "unknown job"}),
    },
)
async def job_events_stream(job_id: str, retrainer: RetrainerDep) -> StreamingResponse:
    """Follow a retrain live (the Retrain page uses it): `new EventSource('/v1/jobs/<id>/events')`."""
    if await retrainer.job(job_id) is None:
        raise ApiError(404, "job_not_found", f"no retrain job with id {job_id!r}")
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(job_events(lambda: retrainer.job(job_id)), media_type="text/event-stream", headers=headers)


MAX_CHANGE_SENTENCES = 500


class ChangesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sentences: list[NonBlank] = Field(min_length=1, max_length=MAX_CHANGE_SENTENCES, description="pre-split sentences")
    targets: list[TargetName | TargetSpec] = Field(default_factory=list, max_length=20)


class LabelChange(BaseModel):
    text: str
    head: str
    target: str | None
    before: str | None = Field(description="the label of the job's baseline (the model current when it started)")
    after: str | None = Field(description="the label of the job's candidate")


class ChangesOut(BaseModel):
    baseline_version: str
    candidate_version: str
    sentences: int
    changes: list[LabelChange]


@router.post(
    "/jobs/{job_id}/changes",
    response_model=ChangesOut,
    responses=error_responses(*BODY, 404, 409, 503, notes={404: "unknown job", 409: "the job has no candidate (yet)"}),
)
async def job_changes(
    job_id: str, body: ChangesIn, retrainer: RetrainerDep, store: StoreDep, segmenter: SegmenterDep
) -> dict[str, Any]:
    """The sentences (e.g. of the review pool) whose label the job's candidate would change."""
    job = await retrainer.job(job_id)
    if job is None:
        raise ApiError(404, "job_not_found", f"no retrain job with id {job_id!r}")
    view = job.to_json()
    before, after = view["baseline_version"], view["candidate_version"]
    if not before or not after:
        raise ApiError(409, "no_candidate", f"job {job_id!r} has no candidate to compare (status {job.status})")
    targets = [t.to_target() if isinstance(t, TargetSpec) else Target(t) for t in body.targets]
    changes = await run_in_threadpool(
        label_changes, store.repository, segmenter, before, after, body.sentences, targets
    )
    versions = {"baseline_version": before, "candidate_version": after}
    return {**versions, "sentences": len(body.sentences), "changes": changes}
