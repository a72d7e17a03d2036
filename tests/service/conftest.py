"""Fixtures of the API tests: a tiny real model and real apps, built once per session.

httpx's ASGITransport does not run the lifespan, so each app's lifespan is entered here (model
loaded and verified, SoMaJo segmenter built) and kept open for the whole session. Tests that use
these fixtures must run in the session event loop: `pytestmark = pytest.mark.asyncio(loop_scope="session")`.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from service.app import create_app
from service.settings import Settings
from tests.tiny_model import save_tiny_model
from training.model import HaltungModel

# The small limits of the second app: large enough for one ordinary request, easy to exceed.
LIMITS: dict[str, Any] = {
    "max_body_bytes": 2048,
    "max_documents": 2,
    "max_sentences": 5,
    "max_explain": 3,
    "max_targets": 3,
}


@dataclass(frozen=True)
class TinyModel:
    model: HaltungModel
    models_dir: Path
    version: str

    def labels(self, head: str) -> list[str]:
        return self.model.labels(head)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> TinyModel:
    """A real model (fit_model on 400 starter rows, one C, one window, two folds) saved as a bundle."""
    models_dir = tmp_path_factory.mktemp("service-models")
    model = save_tiny_model(models_dir)
    assert model.version is not None
    return TinyModel(model, models_dir, model.version)


@contextlib.asynccontextmanager
async def running_client(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """An app with its lifespan entered and a client talking to it in-process.

    `raise_app_exceptions=False`: an unhandled error comes back as the 500 a real server would
    send (and is logged), so tests can assert that nothing answers 500.
    """
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test", timeout=60) as client:
            yield app, client


def _settings(models_dir: Path, data_dir: Path, **overrides: Any) -> Settings:
    # A long reload interval: the tests never move `current`, so the watcher need not poll.
    return Settings(models_dir=models_dir, data_dir=data_dir, reload_interval=3600, **overrides)


@pytest.fixture(scope="session")
async def app_and_client(
    tiny_model: TinyModel, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async with running_client(_settings(tiny_model.models_dir, tmp_path_factory.mktemp("data"))) as pair:
        yield pair


@pytest.fixture(scope="session")
def app(app_and_client: tuple[FastAPI, httpx.AsyncClient]) -> FastAPI:
    """The app with default limits and the tiny model."""
    return app_and_client[0]


@pytest.fixture(scope="session")
def client(app_and_client: tuple[FastAPI, httpx.AsyncClient]) -> httpx.AsyncClient:
    return app_and_client[1]


@pytest.fixture(scope="session")
async def limited_client(
    tiny_model: TinyModel, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[httpx.AsyncClient]:
    """Same model, tiny request limits (see LIMITS)."""
    settings = _settings(tiny_model.models_dir, tmp_path_factory.mktemp("data"), **LIMITS)
    async with running_client(settings) as (_, client):
        yield client


@pytest.fixture(scope="session")
async def no_model_client(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[httpx.AsyncClient]:
    """An app whose models directory is empty: it starts, but is not ready."""
    empty = tmp_path_factory.mktemp("no-models")
    async with running_client(_settings(empty, tmp_path_factory.mktemp("data"))) as (_, client):
        yield client
