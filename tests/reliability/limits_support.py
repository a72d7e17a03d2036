"""Shared pieces of the limit, timeout and overload tests: the reference article, in-process apps with chosen
settings, and `python -m service` as a real server on a free port (the launcher that installs the timeouts)."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from service.app import create_app
from service.settings import Settings
from tests.e2e.conftest import REPO_ROOT, ServerProcess, free_port, service_env, start_process, wait_until_ready

ARTICLE = (REPO_ROOT / "examples" / "kim_putin_waffendeal.txt").read_text(encoding="utf-8")
REFERENCE_TARGETS: list[Any] = [
    {"name": "Russland", "aliases": ["Moskau", "Kreml"]},
    {"name": "Nordkorea", "aliases": ["Pjöngjang"]},
    {"name": "Ukraine", "aliases": ["Kiew"]},
    "Putin",
]
ONE_SENTENCE = {"sentences": ["Die Regierung hat die Warnungen ignoriert."], "targets": ["Regierung"]}


def article_text(characters: int) -> str:
    """The reference article repeated (one copy per paragraph block) to about `characters` characters."""
    return "\n".join([ARTICLE] * max(1, characters // (len(ARTICLE) + 1)))


@contextlib.asynccontextmanager
async def app_client(
    models_dir: Path, data_dir: Path, **settings: Any
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """A real app (lifespan entered) with these settings, and an in-process client."""
    app = create_app(Settings(models_dir=models_dir, data_dir=data_dir, reload_interval=3600, **settings))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test", timeout=120) as client:
            yield app, client


def metric_lines(app: FastAPI, name: str = "haltung_requests_total") -> list[str]:
    text: str = app.state.metrics.render().decode()
    return [line for line in text.splitlines() if line.startswith(name + "{")]


@contextlib.contextmanager
def python_m_service(models_dir: Path, data_dir: Path, **env: str) -> Iterator[ServerProcess]:
    """`python -m service` on a free port with these HALTUNG_* settings, stopped (by pid) when the block ends."""
    port = free_port()
    settings = {"HALTUNG_PORT": str(port), "HALTUNG_MODELS_DIR": str(models_dir), "HALTUNG_DATA_DIR": str(data_dir)}
    server = start_process([sys.executable, "-m", "service"], service_env(**settings, **env), port)
    try:
        wait_until_ready(server)
        yield server
    finally:
        server.stop()


def access_lines(server: ServerProcess) -> list[dict[str, Any]]:
    return [entry for entry in server.json_logs() if entry.get("logger") == "haltung.access"]


def json_body(response: bytes) -> dict[str, Any]:
    """The JSON body of a raw HTTP/1.1 response."""
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 "), head
    parsed: dict[str, Any] = json.loads(body)
    return parsed


def rss_mb(pid: int) -> float:
    """Resident set size of a process, from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for {pid}")
