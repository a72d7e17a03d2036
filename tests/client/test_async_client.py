"""`haltung_client.AsyncClient` against the same real server: the same calls and results, awaited."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from haltung_client import AsyncClient, Backoff, Client, HaltungAPIError, Target
from tests.client.conftest import Server
from tests.retrain_support import API_KEY

pytestmark = pytest.mark.slow  # real uvicorn processes


async def test_async_classify_equals_the_blocking_client(server: Server) -> None:
    request = {"text": "Russland ist kein verlässlicher Partner. Der Kreml schweigt.",
               "targets": [Target("Russland", ("Kreml",))], "explain": 1}  # fmt: skip
    async with AsyncClient(server.url) as client:
        results = await asyncio.gather(*(client.classify(**request) for _ in range(3)))
    with Client(server.url) as blocking:
        expected = blocking.classify(**request)
    assert all(dataclasses.asdict(r) == dataclasses.asdict(expected) for r in results)
    assert [s.stance[0].mention.via for s in expected.documents[0].sentences if s.stance[0].mention] == [
        "name",
        "alias",
    ]


async def test_async_labels_models_health_and_errors(server: Server) -> None:
    async with AsyncClient(server.url, api_key=API_KEY) as client:
        stored = await client.labels.add([{"text": "Ein ruhiger Tag.", "sentiment": "neutral", "id": "async-1"}])
        assert stored.ids == ["async-1"]
        assert "async-1" in {label.id for label in (await client.labels.list(limit=100)).items}
        assert any(row["id"] == "async-1" for row in await client.labels.export())
        await client.labels.delete("async-1")
        models = await client.models.list()
        assert models.current and any(v.current for v in models.versions)
        health = await client.health()
        assert health.ready and health.model_version == models.current
        assert (await client.model())["version"] == models.current
        with pytest.raises(HaltungAPIError) as bad:
            await client.classify()
        assert (bad.value.status, bad.value.code) == (422, "validation_error")


async def test_async_retries_503_then_raises(modelless_server: Server) -> None:
    async with AsyncClient(modelless_server.url, backoff=Backoff(retries=2, first=0.05)) as client:
        with pytest.raises(HaltungAPIError) as no_model:
            await client.classify("Ein Satz.")
    assert (no_model.value.status, no_model.value.code) == (503, "no_model")
