"""A real Haltung server for the client tests: uvicorn in a subprocess, a small real model whose
manifest points at small base data (so a retrain takes seconds), an API key, the fast retrain grid."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.conftest import ServerProcess, running_uvicorn, service_env
from tests.retrain_support import API_KEY, Base, build_base


@dataclass(frozen=True)
class Server:
    process: ServerProcess
    models_dir: Path
    version: str

    @property
    def url(self) -> str:
        return self.process.base_url

    def requests_to(self, route: str) -> int:
        """How many requests the server logged for `route` so far (its structured log)."""
        return sum(1 for line in self.process.json_logs() if line.get("route") == route)


@pytest.fixture(scope="session")
def base(tmp_path_factory: pytest.TempPathFactory) -> Base:
    return build_base(tmp_path_factory.mktemp("client-base"))


@pytest.fixture(scope="session")
def server(base: Base, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("client-server")
    models_dir = base.copy_to(root / "models")
    env = service_env(
        HALTUNG_MODELS_DIR=str(models_dir),
        HALTUNG_DATA_DIR=str(root / "data"),
        HALTUNG_API_KEYS=API_KEY,
        HALTUNG_TRAIN_FAST="1",
        HALTUNG_RELOAD_INTERVAL="0.2",
    )
    with running_uvicorn(env) as process:
        yield Server(process, models_dir, base.version)


@pytest.fixture
def modelless_server(tmp_path: Path) -> Iterator[Server]:
    """A real server started without any model: it answers 503 `no_model` until `current` appears."""
    models_dir = tmp_path / "models"
    models_dir.mkdir()
    env = service_env(
        HALTUNG_MODELS_DIR=str(models_dir), HALTUNG_DATA_DIR=str(tmp_path / "data"), HALTUNG_RELOAD_INTERVAL="0.2"
    )
    with running_uvicorn(env, ready_path="/v1/health/live") as process:
        yield Server(process, models_dir, "")
