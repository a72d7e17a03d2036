"""Retrain endpoints: start a background retrain, follow its job."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Response
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from service.deps import RetrainerDep, WriteAccess
from service.errors import ApiError
from service.openapi import GUARDED, WRITE, error_responses, link

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
