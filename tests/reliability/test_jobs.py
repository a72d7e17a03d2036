"""A retrain job's status matches what is served, however its process dies (issue 11, item 4).

The job process is a real `python -m service.retrain_job` started by a real server; HALTUNG_TEST_PAUSE_AT
holds it at a named point until the test kills it with SIGKILL:

- `after_activation`: `current` moved to the candidate (history written), final status not written;
- `after_result` plus the first half of an activation done by hand (`current` moved, no history line):
  what a kill inside `DirectoryRepository.activate` leaves;
- `after_result` alone: nothing moved, so the job failed and the base model keeps serving.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.faults_support import Server
from tests.retrain_support import Base, build_base, correction_labels
from training.bundle import CURRENT_FILE, set_current
from training.repository import DirectoryRepository

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Base:
    return build_base(tmp_path_factory.mktemp("jobs-base"))


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for server in started:
        server.stop()


def paused_job(base: Base, tmp_path: Path, servers: list[Server], point: str) -> tuple[Server, dict[str, Any]]:
    """A server whose forced retrain job is paused at `point`; the job as the API shows it then."""
    models = base.copy_to(tmp_path / "models")
    # The job process inherits the server's environment, the pause point included.
    server = Server(models, tmp_path / "data", HALTUNG_TRAIN_FAST="1", HALTUNG_TEST_PAUSE_AT=point).start()
    servers.append(server)
    assert server.post("/v1/labels", {"labels": correction_labels()}).status_code == 201
    accepted = server.post("/v1/retrain", {"force": True})
    assert accepted.status_code == 202, accepted.text
    assert server.server is not None
    server.server.wait_for_stderr(lambda lines: any(f"paused at {point}" in line for line in lines), timeout=180)
    job = server.get(f"/v1/jobs/{accepted.json()['job_id']}").json()
    assert job["status"] == "running" and job["candidate_version"], job
    return server, job


def kill_and_wait(server: Server, job: dict[str, Any]) -> dict[str, Any]:
    os.kill(job["pid"], signal.SIGKILL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        final = server.get(f"/v1/jobs/{job['job_id']}").json()
        if final["status"] not in ("queued", "running"):
            return dict(final)
        time.sleep(0.1)
    raise AssertionError(f"job {job['job_id']} still active 30 s after its process was killed")


def served(server: Server) -> str:
    version = server.classify().json()["model_version"]
    assert server.get("/v1/model").json()["version"] == version
    return str(version)


def test_killed_after_activation_reports_the_promotion_it_made(
    base: Base, tmp_path: Path, servers: list[Server]
) -> None:
    server, job = paused_job(base, tmp_path, servers, "after_activation")
    candidate = job["candidate_version"]
    assert (server.models_dir / CURRENT_FILE).read_text().strip() == candidate

    final = kill_and_wait(server, job)
    assert final["status"] == "succeeded" and final["promoted"] is True, final
    assert final["error"] is None and final["exit_code"] == -signal.SIGKILL, final
    assert served(server) == candidate


def test_killed_between_moving_current_and_writing_history_reports_the_promotion(
    base: Base, tmp_path: Path, servers: list[Server]
) -> None:
    server, job = paused_job(base, tmp_path, servers, "after_result")
    candidate = job["candidate_version"]
    set_current(server.models_dir, candidate)  # activate's first step, as the killed process left it
    assert all(a.version != candidate for a in DirectoryRepository(server.models_dir).history())

    final = kill_and_wait(server, job)
    assert final["status"] == "succeeded" and final["promoted"] is True, final
    assert "keeps serving" not in str(final["error"])
    assert served(server) == candidate


def test_killed_before_activation_reports_failure_and_the_base_keeps_serving(
    base: Base, tmp_path: Path, servers: list[Server]
) -> None:
    server, job = paused_job(base, tmp_path, servers, "after_result")
    final = kill_and_wait(server, job)
    assert final["status"] == "failed" and final["promoted"] is False, final
    assert "SIGKILL" in final["error"] and "before promoting" in final["error"], final
    assert (server.models_dir / CURRENT_FILE).read_text().strip() == base.version
    assert served(server) == base.version
