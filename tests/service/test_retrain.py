"""Job records (one retrain at a time, stale jobs) and the retrain, jobs and models endpoints, in-process."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from service import retrain_job
from service.db import SCHEMA_VERSION, SchemaTooNew
from service.jobs import QUEUED_GRACE_S, JobStore, RetrainRunning, activated_by, retrain_process_alive
from service.labels import LabelStore
from service.settings import Settings
from tests.retrain_support import API_KEY, AUTH, CORRECTION_SENTENCES, Base, build_base, correction_labels
from tests.service.conftest import TinyModel, running_client
from training import DirectoryRepository
from training.bundle import MODEL_FILE

api = pytest.mark.asyncio(loop_scope="session")  # the fixtures of tests/service/conftest.py live there


@pytest.fixture
def jobs(tmp_path: Path) -> Iterator[JobStore]:
    """Its supervisor counts as silent at once (stale_after=0): only the training process decides."""
    store = JobStore.in_dir(tmp_path, stale_after=0)
    yield store
    store.close()


def dead_pid() -> int:
    """The pid of a process that has exited (and was reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


# --- job records ---------------------------------------------------------------------------------------------


def test_one_retrain_at_a_time_across_connections(jobs: JobStore, tmp_path: Path) -> None:
    other_worker = JobStore.in_dir(tmp_path)  # its own connection, as another worker process has
    job = jobs.create(force=False)
    assert job.status == "queued" and job.id.startswith("job_")
    with pytest.raises(RetrainRunning) as err:
        other_worker.create(force=True)
    assert err.value.job_id == job.id
    jobs.mark_running(job.id, dead_pid())
    with pytest.raises(RetrainRunning):
        other_worker.create(force=True)
    jobs.finish(job.id, "rejected", exit_code=0, result={"status": "rejected"})
    assert other_worker.create(force=True).force is True
    other_worker.close()


def test_a_running_job_whose_process_is_gone_is_failed(jobs: JobStore, tmp_path: Path) -> None:
    job = jobs.create(force=False)
    jobs.mark_running(job.id, dead_pid())
    # While its supervisor beats, the job is its supervisor's to finish (it may be recording the exit).
    beating = JobStore.in_dir(tmp_path)
    assert beating.reap() == []
    beating.close()
    assert jobs.reap() == [job.id]
    failed = jobs.get(job.id)
    assert failed is not None and failed.status == "failed"
    assert "is gone" in str(failed.error) and failed.finished_at is not None
    assert jobs.reap() == []


def test_a_job_that_died_after_recording_its_result_ends_as_the_repository_says(
    jobs: JobStore, base: Base, tmp_path: Path
) -> None:
    """The job process recorded its result, then died: before or after its activation (signed with its id)."""
    repository = DirectoryRepository(base.copy_to(tmp_path / "models"))
    candidate = repository.save(repository.load(base.version), {})  # a new version, as a retrain's candidate is
    outcomes = {}
    for activated in (False, True):
        job = jobs.create(force=False)
        jobs.mark_running(job.id, dead_pid())
        result = {"status": "succeeded", "promoted": False, "candidate_version": candidate, "metrics": {}}
        jobs.record_result(job.id, result)
        if activated:
            repository.activate(candidate, by=activated_by(job.id), verify=False)
        assert jobs.reap(repository) == [job.id]
        outcomes[activated] = jobs.get(job.id)
    died_before, died_after = outcomes[False], outcomes[True]
    assert died_before is not None and died_before.status == "failed" and "before promoting" in str(died_before.error)
    assert died_after is not None and died_after.status == "succeeded" and died_after.to_json()["promoted"] is True
    assert died_after.to_json()["candidate_version"] == candidate


def test_a_rejected_job_that_died_before_its_final_status_is_rejected(jobs: JobStore) -> None:
    job = jobs.create(force=False)
    jobs.mark_running(job.id, dead_pid())
    jobs.record_result(job.id, {"status": "rejected", "promoted": False, "candidate_version": "v2"})
    assert jobs.reap() == [job.id]
    assert jobs.get(job.id).status == "rejected"  # type: ignore[union-attr]


def test_a_database_from_before_schema_versions_is_migrated(tmp_path: Path) -> None:
    """An SQLite file written before PRAGMA user_version (version 0, today's tables) opens and is upgraded."""
    path = tmp_path / "labels.sqlite3"
    old = sqlite3.connect(path)
    old.executescript(
        "CREATE TABLE jobs (id TEXT PRIMARY KEY, status TEXT NOT NULL, force INTEGER NOT NULL,"
        " created_at REAL NOT NULL, started_at REAL, finished_at REAL, heartbeat_at REAL, pid INTEGER,"
        " exit_code INTEGER, result TEXT, error TEXT);"
        "INSERT INTO jobs (id, status, force, created_at, result) VALUES"
        " ('job_old', 'succeeded', 0, 1.0, '{\"candidate_version\": \"v1\"}');"
    )
    old.close()
    store = JobStore(path)
    job = store.get("job_old")
    assert job is not None and job.status == "succeeded" and job.to_json()["candidate_version"] == "v1"
    store.append_log("job_old", "a line")  # the column version 2 added
    store.close()
    upgraded = sqlite3.connect(path)
    assert upgraded.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert upgraded.execute("SELECT log FROM jobs").fetchone()[0] == "a line"
    upgraded.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    upgraded.commit()
    upgraded.close()
    with pytest.raises(SchemaTooNew, match="upgrade"):
        JobStore(path)


def test_a_live_training_process_keeps_its_job_running(jobs: JobStore) -> None:
    job = jobs.create(force=False)
    # The command line names the job (the real one does, through its work directory).
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", job.id])
    try:
        jobs.mark_running(job.id, proc.pid)
        assert retrain_process_alive(proc.pid, job.id)
        assert jobs.reap() == []
        assert jobs.get(job.id).status == "running"  # type: ignore[union-attr]
        # A live process that is not this job's training process (a reused pid) does not count.
        assert not retrain_process_alive(proc.pid, "job_other")
    finally:
        proc.kill()
        proc.wait()
    assert jobs.reap() == [job.id]


def test_a_job_queued_for_too_long_never_started(jobs: JobStore) -> None:
    job = jobs.create(force=False)
    assert jobs.reap() == []
    with jobs.db.write() as conn:
        conn.execute("UPDATE jobs SET created_at = ? WHERE id = ?", (time.time() - QUEUED_GRACE_S - 1, job.id))
    assert jobs.reap() == [job.id]
    assert "never started" in str(jobs.get(job.id).error)  # type: ignore[union-attr]


def test_a_job_process_that_cannot_train_records_why(tiny_model: TinyModel, tmp_path: Path) -> None:
    """The job process itself writes the outcome: here a base data file that is gone (a HaltungError, exit 2)."""
    models = tmp_path / "models"
    shutil.copytree(tiny_model.models_dir, models)
    manifest_path = models / tiny_model.version / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["data"]["train"] = [str(tmp_path / "gone.jsonl")]
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    settings = Settings(models_dir=models, data_dir=tmp_path / "data", train_fast=True)
    LabelStore.in_dir(settings.data_dir).upsert(correction_labels())
    jobs = JobStore.in_dir(settings.data_dir)
    job = jobs.create(force=False)

    assert retrain_job.run(job.id, settings) == 2
    failed = jobs.get(job.id)
    assert failed is not None and failed.status == "failed" and failed.exit_code == 2
    assert "no such file or directory" in str(failed.error) and failed.pid == os.getpid()
    assert retrain_job.run(job.id, settings) == 1  # a job runs once: it is no longer queued
    assert DirectoryRepository(models).current() == tiny_model.version
    jobs.close()


def test_unknown_or_malformed_job_ids(jobs: JobStore) -> None:
    assert jobs.get("job_0123") is None
    assert jobs.get("../../etc/passwd") is None


# --- endpoints -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Base:
    return build_base(tmp_path_factory.mktemp("service-retrain-base"))


@pytest.fixture
def fast_training(monkeypatch: pytest.MonkeyPatch) -> None:
    """The training process inherits the environment: the tiny search grid keeps it at seconds."""
    monkeypatch.setenv("HALTUNG_TRAIN_FAST", "1")


@pytest.fixture
async def app_client(
    base: Base, tmp_path: Path, fast_training: None
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    settings = Settings(
        models_dir=base.copy_to(tmp_path / "models"), data_dir=tmp_path / "data", api_keys=API_KEY, reload_interval=3600
    )
    async with running_client(settings) as pair:
        yield pair


@pytest.fixture
def client(app_client: tuple[FastAPI, httpx.AsyncClient]) -> httpx.AsyncClient:
    return app_client[1]


async def wait_for_job(client: httpx.AsyncClient, job_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = (await client.get(f"/v1/jobs/{job_id}")).json()
        if job["status"] in ("succeeded", "rejected", "failed"):
            return job
        await asyncio.sleep(0.1)
    raise AssertionError(f"job {job_id} still {job['status']} after {timeout} s")


async def sentiments(client: httpx.AsyncClient) -> tuple[str, list[str]]:
    body = (await client.post("/v1/classify", json={"sentences": CORRECTION_SENTENCES})).json()
    labels = [s["sentiment"]["label"] for s in body["documents"][0]["sentences"]]
    return body["model_version"], labels


@api
async def test_retrain_promotes_and_this_worker_serves_the_new_version_at_once(
    app_client: tuple[FastAPI, httpx.AsyncClient], base: Base
) -> None:
    app, client = app_client
    assert (await client.post("/v1/retrain", json={}, headers=AUTH)).status_code == 409  # no labels yet
    assert (await client.post("/v1/labels", json={"labels": correction_labels()}, headers=AUTH)).status_code == 201

    response = await client.post("/v1/retrain", headers=AUTH)  # no body: force false
    assert response.status_code == 202, response.text
    job_id = response.json()["job_id"]
    assert response.json()["status"] == "queued" and response.headers["location"] == f"/v1/jobs/{job_id}"
    busy = await client.post("/v1/retrain", json={"force": True}, headers=AUTH)
    assert busy.status_code == 409 and busy.json()["error"]["details"] == {"job_id": job_id}

    job = await wait_for_job(client, job_id)
    assert job["status"] == "succeeded", job
    assert job["exit_code"] == 0 and job["promoted"] and job["baseline_version"] == base.version
    assert job["started_at"] and job["finished_at"] and job["duration_s"] > 0
    assert set(job["metrics"]) == {"candidate", "current"}
    assert any(line.startswith("succeeded: candidate") for line in job["log"])  # the job's own progress lines
    assert job["metrics"]["candidate"]["sentiment"]["n"] == job["metrics"]["current"]["sentiment"]["n"]
    # This worker refreshed before recording success: the very next answer uses the new model.
    version, labels = await sentiments(client)
    assert version == job["candidate_version"] == app.state.store.model.version
    assert labels == ["negative"] * len(CORRECTION_SENTENCES)

    models = (await client.get("/v1/models")).json()
    assert models["current"] == version and models["worker"]["served_version"] == version
    assert [v["version"] for v in models["versions"]] == [version, base.version]
    assert [v["current"] for v in models["versions"]] == [True, False]
    assert models["versions"][0]["manifest"]["sha256"]


@api
async def test_retrain_and_activate_need_the_key(client: httpx.AsyncClient, base: Base) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}):
        assert (await client.post("/v1/retrain", json={}, headers=headers)).status_code == 401
        assert (await client.post(f"/v1/models/{base.version}/activate", headers=headers)).status_code == 401
    assert (await client.post("/v1/retrain", json={"force": 1, "x": 2}, headers=AUTH)).status_code == 422


@api
async def test_activate_rolls_back_and_refuses_unknown_invalid_or_tampered_versions(
    app_client: tuple[FastAPI, httpx.AsyncClient], base: Base, tmp_path: Path
) -> None:
    app, client = app_client
    version, before = await sentiments(client)
    assert version == base.version
    await client.post("/v1/labels", json={"labels": correction_labels()}, headers=AUTH)
    job = await wait_for_job(client, (await client.post("/v1/retrain", headers=AUTH)).json()["job_id"])
    assert (await sentiments(client))[0] == job["candidate_version"]

    response = await client.post(f"/v1/models/{base.version}/activate", headers=AUTH)
    assert response.status_code == 200
    assert response.json() == {"version": base.version, "previous": job["candidate_version"]}
    assert await sentiments(client) == (base.version, before)  # the earlier predictions are back
    assert app.state.store.repository.current() == base.version

    missing = await client.post("/v1/models/20990101T000000Z-deadbeef/activate", headers=AUTH)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "version_not_found"
    for name in (".hidden", "a..b", "current", "x" * 65):
        response = await client.post(f"/v1/models/{name}/activate", headers=AUTH)
        assert response.status_code in (404, 422), name
    assert (await client.post("/v1/models/.hidden/activate", headers=AUTH)).json()["error"]["code"] == "invalid_version"
    for path in ("/v1/models/..%2F..%2Fetc/activate", "/v1/models/%2e%2e/activate"):
        assert (await client.post(path, headers=AUTH)).status_code in (404, 422)

    model_file = tmp_path / "models" / job["candidate_version"] / MODEL_FILE
    model_file.write_bytes(model_file.read_bytes() + b"tampered")
    refused = await client.post(f"/v1/models/{job['candidate_version']}/activate", headers=AUTH)
    assert refused.status_code == 409
    assert "SHA-256" in refused.json()["error"]["message"]
    assert refused.json()["error"]["details"] == {"serving": base.version}
    assert await sentiments(client) == (base.version, before)
    assert app.state.store.repository.current() == base.version


@api
async def test_activate_with_expected_current_is_a_compare_and_swap(
    app_client: tuple[FastAPI, httpx.AsyncClient], base: Base, tmp_path: Path
) -> None:
    app, client = app_client
    shutil.copytree(tmp_path / "models" / base.version, tmp_path / "models" / "other")
    manifest_path = tmp_path / "models" / "other" / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest_path.write_text(json.dumps({**manifest, "version": "other"}), encoding="utf-8")

    stale = await client.post("/v1/models/other/activate", params={"expected_current": "someone-else"}, headers=AUTH)
    assert stale.status_code == 409, stale.text
    assert stale.json()["error"]["code"] == "activation_conflict"
    assert stale.json()["error"]["details"] == {"expected": "someone-else", "current": base.version}
    assert app.state.store.repository.current() == base.version

    ok = await client.post("/v1/models/other/activate", params={"expected_current": base.version}, headers=AUTH)
    assert ok.status_code == 200 and ok.json() == {"version": "other", "previous": base.version}
    history = (await client.get("/v1/models")).json()["history"]
    assert [(a["version"], a["previous"], a["by"]) for a in history][-1] == ("other", base.version, "api")


@api
async def test_unknown_job_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/jobs/job_doesnotexist")
    assert response.status_code == 404 and response.json()["error"]["code"] == "job_not_found"
