"""Retries against real servers: idempotent calls are repeated with back-off on 503 and on connection
errors (until the server is there), writes are sent once."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from haltung_client import Backoff, Client, HaltungAPIError
from tests.client.conftest import Server
from tests.e2e.conftest import ServerProcess, free_port, service_env, start_process, uvicorn_args, wait_until_ready
from tests.tiny_model import save_tiny_model

pytestmark = pytest.mark.slow  # real uvicorn processes

QUICK = Backoff(retries=2, first=0.05, cap=0.1)


def logged(server: Server, route: str, count: int) -> int:
    """The server's count of requests to `route`, once it has logged at least `count` (or after 5 s)."""
    deadline = time.monotonic() + 5
    while server.requests_to(route) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return server.requests_to(route)


def test_503_is_retried_for_idempotent_calls_then_raised(modelless_server: Server) -> None:
    with Client(modelless_server.url, backoff=QUICK) as client:
        with pytest.raises(HaltungAPIError) as no_model:
            client.classify("Ein Satz.")
        assert (no_model.value.status, no_model.value.code) == (503, "no_model")
        assert logged(modelless_server, "/v1/classify", 3) == 3  # the first try and two retries
        health = client.health()  # a health check answers at once, without retries
        assert not health.ready and health.message and "no model" in health.message
        assert logged(modelless_server, "/v1/health/ready", 1) == 1


def test_a_retried_call_succeeds_once_the_model_is_there(modelless_server: Server) -> None:
    """503 while the service has no model; a model appears a second later; the same call then succeeds."""
    appear = threading.Timer(1.0, save_tiny_model, args=(modelless_server.models_dir,))
    appear.start()
    try:
        with Client(modelless_server.url, backoff=Backoff(retries=40, first=0.2, cap=0.5)) as client:
            result = client.classify(sentences=["Russland ist kein verlässlicher Partner."], targets=["Russland"])
    finally:
        appear.join()
    assert result.documents[0].sentences[0].stance[0].mentioned
    assert logged(modelless_server, "/v1/classify", 2) >= 2  # at least one 503 before the answer


@pytest.fixture
def late_server(tmp_path: Path) -> Iterator[tuple[str, threading.Thread, list[ServerProcess]]]:
    """A port nothing listens on yet, and a thread that starts a real server on it after half a second."""
    models_dir = tmp_path / "models"
    save_tiny_model(models_dir)
    port = free_port()
    env = service_env(HALTUNG_MODELS_DIR=str(models_dir), HALTUNG_DATA_DIR=str(tmp_path / "data"),
                      HALTUNG_API_KEYS="k")  # fmt: skip
    started: list[ServerProcess] = []

    def start() -> None:
        time.sleep(0.5)
        started.append(start_process(uvicorn_args(port), env, port))

    thread = threading.Thread(target=start)
    try:
        yield f"http://127.0.0.1:{port}", thread, started
    finally:
        thread.join()
        for process in started:
            process.stop()


def test_connection_errors_are_retried_for_reads_but_not_for_writes(
    late_server: tuple[str, threading.Thread, list[ServerProcess]],
) -> None:
    url, thread, started = late_server
    with Client(url, api_key="k", backoff=Backoff(retries=100, first=0.1, cap=0.5)) as client:
        begin = time.monotonic()
        with pytest.raises(HaltungAPIError) as refused:
            client.labels.add([{"text": "Ein Satz.", "sentiment": "neutral"}])  # a write: sent once
        assert (refused.value.status, refused.value.code) == (None, "connection_error")
        assert time.monotonic() - begin < 0.5
        thread.start()
        info = client.model()  # a read: repeated until the server answers
    wait_until_ready(started[0])
    assert info["version"]
