"""GET /v1/jobs/{id}/events (a retrain followed live as server-sent events) and POST /v1/jobs/{id}/changes."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from service.job_events import job_events, new_lines
from service.jobs import LOG_LINES, JobStore
from service.settings import Settings
from tests.retrain_support import API_KEY, AUTH, CORRECTION_SENTENCES, Base, build_base, correction_labels
from tests.service.conftest import running_client

api = pytest.mark.asyncio(loop_scope="session")


def parse_events(body: str) -> list[tuple[str, Any]]:
    """(event name, decoded data) per event; comments (keep-alive pings) are left out."""
    events = []
    for block in body.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if line and not line.startswith(":"))
        if fields:
            events.append((fields["event"], json.loads(fields["data"])))
    return events


def test_new_lines_follow_a_log_that_keeps_only_its_last_lines() -> None:
    assert new_lines([], ["a", "b"]) == ["a", "b"]
    assert new_lines(["a", "b"], ["a", "b", "c"]) == ["c"]
    assert new_lines(["a", "b", "c"], ["b", "c", "d", "e"]) == ["d", "e"]  # "a" fell off the front
    assert new_lines(["a", "b"], ["a", "b"]) == []
    assert new_lines(["x"], ["y", "z"]) == ["y", "z"]  # no overlap: everything is new


async def test_every_line_of_a_long_job_is_streamed_once_in_order(tmp_path: Path) -> None:
    """More lines than the row keeps (LOG_LINES): none is lost or repeated while the stream polls faster."""
    jobs = JobStore.in_dir(tmp_path)
    job = jobs.create(force=False)
    lines = [f"step {i}" for i in range(LOG_LINES + 15)]

    async def run_job() -> None:
        await asyncio.sleep(0.05)
        jobs.mark_running(job.id, os.getpid())
        for line in lines:
            jobs.append_log(job.id, line)
            await asyncio.sleep(0.02)
        jobs.finish(job.id, "failed", exit_code=1, error="stopped on purpose")

    async def read() -> Any:
        return jobs.get(job.id)

    runner = asyncio.create_task(run_job())
    chunks = [chunk async for chunk in job_events(read, poll_s=0.005, keepalive_s=3600)]
    await runner
    events = parse_events("".join(chunks))
    assert [d["line"] for name, d in events if name == "log"] == lines
    assert [d["status"] for name, d in events if name == "status"] == ["queued", "running", "failed"]
    name, end = events[-1]
    assert name == "end" and end["status"] == "failed" and end["error"] == "stopped on purpose"
    jobs.close()


async def test_a_quiet_job_gets_keepalive_comments(tmp_path: Path) -> None:
    jobs = JobStore.in_dir(tmp_path)
    job = jobs.create(force=False)

    async def read() -> Any:
        return jobs.get(job.id)

    stream = job_events(read, poll_s=0.01, keepalive_s=0.03)
    seen = [await anext(stream) for _ in range(2)]
    jobs.finish(job.id, "failed", error="never started")
    seen += [chunk async for chunk in stream]
    assert seen[0].startswith("event: status") and seen[1] == ": ping\n\n"
    assert seen[-1].startswith("event: end")
    jobs.close()


# --- against the app, with a real retrain process ---------------------------------------------------------------


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Base:
    return build_base(tmp_path_factory.mktemp("events-base"))


@pytest.fixture
async def app_client(
    base: Base, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    monkeypatch.setenv("HALTUNG_TRAIN_FAST", "1")  # the job process inherits it: seconds, not minutes
    settings = Settings(
        models_dir=base.copy_to(tmp_path / "models"), data_dir=tmp_path / "data", api_keys=API_KEY, reload_interval=3600
    )
    async with running_client(settings) as pair:
        yield pair


@api
async def test_a_retrain_streams_status_log_and_end_then_names_the_label_changes(
    app_client: tuple[FastAPI, httpx.AsyncClient], base: Base
) -> None:
    _, client = app_client
    before = (await client.post("/v1/classify", json={"sentences": CORRECTION_SENTENCES})).json()
    was = [s["sentiment"]["label"] for s in before["documents"][0]["sentences"]]
    assert (await client.post("/v1/labels", json={"labels": correction_labels()}, headers=AUTH)).status_code == 201
    job_id = (await client.post("/v1/retrain", headers=AUTH)).json()["job_id"]

    response = await client.get(f"/v1/jobs/{job_id}/events")  # returns when the job has ended
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = parse_events(response.text)
    statuses = [d["status"] for name, d in events if name == "status"]
    assert statuses[-1] == "succeeded" and "running" in statuses
    logged = [d["line"] for name, d in events if name == "log"]
    name, end = events[-1]
    assert name == "end" and end == (await client.get(f"/v1/jobs/{job_id}")).json() | {"duration_s": end["duration_s"]}
    assert logged[-len(end["log"]) :] == end["log"]  # every line the job kept was streamed, in order
    assert logged[-1].startswith("succeeded: candidate")
    # The comparison the Retrain page shows: confusion matrices per head for both models.
    for model in ("candidate", "current"):
        matrix = end["metrics"][model]["sentiment"]["confusion_matrix"]
        n = end["metrics"][model]["sentiment"]["n"]
        assert sum(map(sum, matrix["rows_true_columns_predicted"])) == n

    changes = await client.post(
        f"/v1/jobs/{job_id}/changes", json={"sentences": CORRECTION_SENTENCES, "targets": ["Hamburg"]}
    )
    assert changes.status_code == 200, changes.text
    body = changes.json()
    assert body["baseline_version"] == base.version and body["candidate_version"] == end["candidate_version"]
    sentiment = {c["text"]: (c["before"], c["after"]) for c in body["changes"] if c["head"] == "sentiment"}
    pairs = zip(CORRECTION_SENTENCES, was, strict=True)
    expected = {text: (label, "negative") for text, label in pairs if label != "negative"}
    assert sentiment == expected and expected  # the base model did not call them all negative; the candidate does


@api
async def test_unknown_jobs_and_bad_change_requests_get_clear_errors(
    app_client: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    _, client = app_client
    for response in (
        await client.get("/v1/jobs/job_nope/events"),
        await client.post("/v1/jobs/job_nope/changes", json={"sentences": ["Ein Satz."]}),
    ):
        assert response.status_code == 404 and response.json()["error"]["code"] == "job_not_found"
    bad = await client.post("/v1/jobs/job_nope/changes", json={"sentences": []})
    assert bad.status_code == 422 and "error" in bad.json()
    too_many = await client.post("/v1/jobs/job_nope/changes", json={"sentences": ["Satz."] * 501})
    assert too_many.status_code == 422


@api
async def test_a_job_without_a_candidate_has_no_changes_and_its_stream_ends_at_once(
    app_client: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = app_client
    jobs: JobStore = app.state.jobs
    job = jobs.create(force=False)
    jobs.finish(job.id, "failed", error="no base data")
    response = await client.post(f"/v1/jobs/{job.id}/changes", json={"sentences": ["Ein Satz."]})
    assert response.status_code == 409 and response.json()["error"]["code"] == "no_candidate"
    events = parse_events((await client.get(f"/v1/jobs/{job.id}/events")).text)
    assert [name for name, _ in events] == ["status", "end"]
    assert events[-1][1]["error"] == "no base data"
