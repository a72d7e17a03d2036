"""Retraining against real uvicorn processes and a real SQLite file: durability, concurrency, the whole
label → retrain → promote → rollback cycle on two workers, and crashes of the training process and the worker.

Retrains use the tiny search grid (HALTUNG_TRAIN_FAST=1) except where a training process must still be
running when it is killed.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import ServerProcess, free_port, service_env, start_process, uvicorn_args, wait_until_ready
from tests.retrain_support import (
    API_KEY,
    AUTH,
    CORRECTION_SENTENCES,
    Base,
    build_base,
    correction_labels,
    poisoned_labels,
)
from training.bundle import CURRENT_FILE, MODEL_FILE

pytestmark = pytest.mark.slow

PROMOTION_DEADLINE_S = 2.0  # every worker serves a new `current` within this (the promise)


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Base:
    return build_base(tmp_path_factory.mktemp("e2e-retrain-base"))


class Service:
    """A uvicorn (1 or more workers) on fixed models/data directories; it can be killed and started again."""

    def __init__(self, models_dir: Path, data_dir: Path, *, workers: int = 1, fast: bool = True) -> None:
        self.models_dir, self.data_dir, self.workers = models_dir, data_dir, workers
        env = {"HALTUNG_MODELS_DIR": str(models_dir), "HALTUNG_DATA_DIR": str(data_dir), "HALTUNG_API_KEYS": API_KEY}
        self.env = service_env(**env, **({"HALTUNG_TRAIN_FAST": "1"} if fast else {}))
        self.server: ServerProcess | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.base_url

    def start(self) -> Service:
        port = free_port()
        extra = ["--workers", str(self.workers)] if self.workers > 1 else []
        self.server = start_process(uvicorn_args(port, extra=extra), self.env, port)
        wait_until_ready(self.server)
        return self

    def kill9(self) -> None:
        """SIGKILL the server and every process below it (workers, training processes), at once."""
        assert self.server is not None
        pids = [self.server.pid, *descendants(self.server.pid)]
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        self.server.process.wait(10)

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop(timeout=20)

    # --- requests ----------------------------------------------------------------------------------------

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return httpx.get(self.url + path, timeout=30, **kw)  # a new connection every time: any worker answers

    def post(self, path: str, body: Any = None, **kw: Any) -> httpx.Response:
        return httpx.post(self.url + path, json=body, headers=AUTH, timeout=60, **kw)

    def classify(self) -> tuple[str, list[str], list[dict[str, float]]]:
        response = httpx.post(self.url + "/v1/classify", json={"sentences": CORRECTION_SENTENCES}, timeout=60)
        assert response.status_code == 200, response.text
        sentences = response.json()["documents"][0]["sentences"]
        return (
            response.json()["model_version"],
            [s["sentiment"]["label"] for s in sentences],
            [s["sentiment"]["scores"] for s in sentences],
        )

    def retrain(self, force: bool = False) -> str:
        response = self.post("/v1/retrain", {"force": force})
        assert response.status_code == 202, response.text
        return response.json()["job_id"]

    def wait_job(self, job_id: str, until: tuple[str, ...] = ("succeeded", "rejected", "failed")) -> dict[str, Any]:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            job = self.get(f"/v1/jobs/{job_id}").json()
            if job["status"] in until:
                return job
            time.sleep(0.1)
        raise AssertionError(f"job {job_id} is {job['status']}, not {until}: {job}")

    def served_by_worker(self, timeout: float) -> dict[int, str]:
        """Ask /v1/models over new connections until every worker answered once: {pid: served version}."""
        seen: dict[int, str] = {}
        deadline = time.monotonic() + timeout
        while len(seen) < self.workers and time.monotonic() < deadline:
            worker = self.get("/v1/models").json()["worker"]
            seen[worker["pid"]] = worker["served_version"]
        assert len(seen) == self.workers, f"only workers {seen} answered in {timeout} s"
        return seen

    def wait_all_workers_serve(self, version: str) -> float:
        """Seconds from the move of `current` until every worker answered with `version` (also /v1/model)."""
        moved = (self.models_dir / CURRENT_FILE).stat().st_mtime
        assert (self.models_dir / CURRENT_FILE).read_text().strip() == version
        answered: set[int] = set()
        while time.time() < moved + 10:
            worker = self.get("/v1/models").json()["worker"]
            if worker["served_version"] == version:
                answered.add(worker["pid"])
                if len(answered) == self.workers:
                    elapsed = time.time() - moved
                    # Every later answer, from any worker, names the new version.
                    assert {self.get("/v1/model").json()["version"] for _ in range(10)} == {version}
                    return elapsed
            time.sleep(0.02)
        raise AssertionError(f"workers {answered} of {self.workers} serve {version} 10 s after the promotion")


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (from /proc), children before grandchildren."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = [], [pid]
    while frontier:
        children = [child for child, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


@pytest.fixture
def services() -> Iterator[list[Service]]:
    """Services a test starts are registered here and stopped even when it fails."""
    started: list[Service] = []
    yield started
    for service in started:
        service.stop()


def all_labels(service: Service) -> list[dict[str, Any]]:
    items, cursor = [], None
    while True:
        page = service.get("/v1/labels", params={"limit": 150, **({"cursor": cursor} if cursor else {})}).json()
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


def test_labels_of_20_concurrent_clients_survive_kill9_right_after_the_answers(
    base: Base, tmp_path: Path, services: list[Service]
) -> None:
    service = Service(base.copy_to(tmp_path / "models"), tmp_path / "data", workers=2).start()
    services.append(service)
    service.served_by_worker(timeout=10)  # both worker processes take requests (and SQLite writes)
    start = threading.Barrier(20)

    def client(n: int) -> list[str]:
        start.wait()
        ids = []
        with httpx.Client(base_url=service.url, headers=AUTH, timeout=60) as http:
            for batch in range(5):
                labels = [{"text": f"Client {n}, Stapel {batch}, Satz {i}.", "sentiment": "neutral"} for i in range(4)]
                response = http.post("/v1/labels", json={"labels": labels})
                assert response.status_code == 201, response.text
                ids += response.json()["ids"]
        return ids

    with ThreadPoolExecutor(20) as pool:
        acknowledged = [i for ids in pool.map(client, range(20)) for i in ids]
    service.kill9()  # right after the last acknowledgement: no graceful shutdown, no checkpoint

    assert len(set(acknowledged)) == 20 * 5 * 4
    restarted = Service(service.models_dir, service.data_dir).start()
    services.append(restarted)
    stored = all_labels(restarted)
    assert sorted(label["id"] for label in stored) == sorted(acknowledged)
    texts = {label["text"] for label in stored}
    assert texts == {f"Client {n}, Stapel {b}, Satz {i}." for n in range(20) for b in range(5) for i in range(4)}
    assert len(restarted.get("/v1/labels/export").text.splitlines()) == 400


def test_retrain_promote_rollback_gate_and_force_on_two_workers(
    base: Base, tmp_path: Path, services: list[Service]
) -> None:
    service = Service(base.copy_to(tmp_path / "models"), tmp_path / "data", workers=2).start()
    services.append(service)
    assert set(service.served_by_worker(timeout=10).values()) == {base.version}
    v1, labels_v1, scores_v1 = service.classify()
    assert v1 == base.version
    assert sum(label != "negative" for label in labels_v1) >= 10

    # New labels → retrain → promoted; every worker serves the new version within 2 s.
    assert service.post("/v1/labels", {"labels": correction_labels()}).status_code == 201
    job = service.wait_job(service.retrain())
    assert job["status"] == "succeeded", job
    assert job["gate"]["passed"] and job["metrics"]["candidate"] and job["metrics"]["current"]
    v2 = job["candidate_version"]
    assert service.wait_all_workers_serve(v2) < PROMOTION_DEADLINE_S
    version, labels, _ = service.classify()
    assert version == v2
    assert labels == ["negative"] * len(CORRECTION_SENTENCES)  # the predictions for those sentences changed

    # Rollback: the earlier version and exactly its predictions are back, on every worker.
    response = service.post(f"/v1/models/{v1}/activate")
    assert response.status_code == 200 and response.json()["version"] == v1
    assert service.wait_all_workers_serve(v1) < PROMOTION_DEADLINE_S
    assert service.classify() == (v1, labels_v1, scores_v1)

    # Flipped labels: the candidate gets worse and the gate rejects it; v1 keeps serving.
    assert service.post("/v1/labels", {"labels": poisoned_labels(base)}).status_code == 201
    job = service.wait_job(service.retrain())
    assert job["status"] == "rejected", job
    assert not job["gate"]["passed"] and not job["promoted"] and job["gate"]["reasons"]
    candidate, current = job["metrics"]["candidate"], job["metrics"]["current"]
    assert any(current[h]["macro_f1"] - candidate[h]["macro_f1"] > 0.01 for h in current)
    assert (service.models_dir / CURRENT_FILE).read_text().strip() == v1
    assert service.classify()[0] == v1

    # force: promoted anyway.
    job = service.wait_job(service.retrain(force=True))
    assert job["status"] == "succeeded" and job["promoted"] and not job["gate"]["passed"], job
    v3 = job["candidate_version"]
    assert service.wait_all_workers_serve(v3) < PROMOTION_DEADLINE_S
    assert service.classify()[0] == v3

    # A tampered bundle is refused with 409; the current model keeps serving on every worker.
    model_file = service.models_dir / v2 / MODEL_FILE
    payload = model_file.read_bytes()
    model_file.write_bytes(payload[:-1] + bytes([payload[-1] ^ 0xFF]))  # a zip's last byte is often 0 already
    refused = service.post(f"/v1/models/{v2}/activate")
    assert refused.status_code == 409 and "SHA-256" in refused.json()["error"]["message"]
    assert (service.models_dir / CURRENT_FILE).read_text().strip() == v3
    time.sleep(1.5)  # a reload interval: no worker picks the tampered version up either
    assert set(service.served_by_worker(timeout=10).values()) == {v3}
    listed = service.get("/v1/models").json()
    assert listed["current"] == v3 and {v["version"] for v in listed["versions"]} >= {v1, v2, v3}


def test_killed_training_process_and_killed_worker_leave_the_job_failed(
    base: Base, tmp_path: Path, services: list[Service]
) -> None:
    # The full search grid: the training process is surely still running when it is killed.
    service = Service(base.copy_to(tmp_path / "models"), tmp_path / "data", fast=False).start()
    services.append(service)
    assert service.post("/v1/labels", {"labels": correction_labels()}).status_code == 201

    job_id = service.retrain()
    running = service.wait_job(job_id, until=("running",))
    busy = service.post("/v1/retrain", {})
    assert busy.status_code == 409 and busy.json()["error"]["details"]["job_id"] == job_id
    os.kill(running["pid"], signal.SIGKILL)
    job = service.wait_job(job_id)
    assert job["status"] == "failed" and job["exit_code"] == -signal.SIGKILL, job
    assert "SIGKILL" in job["error"] and job["finished_at"]
    assert service.get("/v1/model").json()["version"] == base.version
    assert service.classify()[0] == base.version
    assert (service.models_dir / CURRENT_FILE).read_text().strip() == base.version

    # The worker supervising a retrain dies (with its training process): after a restart the job is failed
    # and a new retrain may start.
    job_id = service.retrain()
    service.wait_job(job_id, until=("running",))
    service.kill9()
    restarted = Service(service.models_dir, service.data_dir, fast=False).start()
    services.append(restarted)
    job = restarted.wait_job(job_id)
    assert job["status"] == "failed" and "is gone" in job["error"], job
    assert datetime.fromisoformat(job["finished_at"]) >= datetime.fromisoformat(job["started_at"])
    assert restarted.classify()[0] == base.version
    assert restarted.post("/v1/retrain", {}).status_code == 202  # stopped with the service (SIGTERM)
