"""Issue 11: a concurrency limit with load shedding, so overload degrades (503 + Retry-After) instead of
queueing without end; cheap requests scored on the event loop need no slot."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from service.admission import Admission
from service.errors import ApiError
from tests.reliability.limits_support import ONE_SENTENCE, app_client, article_text
from tests.tiny_model import save_tiny_model

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("shedding-models")
    save_tiny_model(directory)
    return directory


async def test_beyond_the_slots_and_the_queue_requests_get_503_with_retry_after(
    models_dir: Path, tmp_path: Path
) -> None:
    settings = {"max_in_flight": 1, "max_queued": 1, "queue_timeout": 30.0}
    async with app_client(models_dir, tmp_path, **settings) as (_, client):
        slow = {"text": article_text(60_000), "targets": ["Russland"]}  # seconds of splitting and scoring
        medium = {"text": "Die Regierung hat die Warnungen ignoriert. Das ist schlecht."}
        first = asyncio.create_task(client.post("/v1/classify", json=slow))
        await asyncio.sleep(0.3)  # holds the only slot
        queued = asyncio.create_task(client.post("/v1/classify", json=medium))
        await asyncio.sleep(0.1)  # waits in the queue of one
        shed = await client.post("/v1/classify", json=medium)
        inline = await client.post("/v1/classify", json=ONE_SENTENCE)  # on the event loop: no slot needed
        assert not first.done()
        assert shed.status_code == 503, shed.text
        assert shed.headers["Retry-After"] == "30"
        error = shed.json()["error"]
        assert error["code"] == "overloaded"
        assert "HALTUNG_MAX_IN_FLIGHT" in error["message"]
        assert error["details"] == {"in_flight": 1, "queued": 1, "retry_after": 30}
        assert inline.status_code == 200
        assert (await first).status_code == 200
        assert (await queued).status_code == 200


async def test_a_request_that_waits_longer_than_the_queue_timeout_gets_503(models_dir: Path, tmp_path: Path) -> None:
    settings = {"max_in_flight": 1, "max_queued": 4, "queue_timeout": 0.2}
    async with app_client(models_dir, tmp_path, **settings) as (_, client):
        first = asyncio.create_task(client.post("/v1/classify", json={"text": article_text(60_000)}))
        await asyncio.sleep(0.3)
        waited = await client.post("/v1/classify", json={"text": "Ein Satz. Noch einer."})
        assert not first.done()
        assert waited.status_code == 503
        assert waited.headers["Retry-After"] == "1"
        assert "within 0.2 s" in waited.json()["error"]["message"]
        assert (await first).status_code == 200
        after = await client.post("/v1/classify", json={"text": "Ein Satz. Noch einer."})
        assert after.status_code == 200  # the slot came back


async def test_admission_gives_slots_back_also_when_the_work_fails() -> None:
    admission = Admission(slots=1, queue=0, timeout=0.1)
    with pytest.raises(RuntimeError):
        async with admission.slot():
            raise RuntimeError("scoring failed")
    async with admission.slot():
        with pytest.raises(ApiError) as caught:
            async with admission.slot():
                pass
        assert caught.value.status == 503
    async with admission.slot():
        pass


async def test_many_cheap_requests_at_once_are_all_answered(models_dir: Path, tmp_path: Path) -> None:
    async with app_client(models_dir, tmp_path, max_in_flight=1, max_queued=0) as (_, client):
        responses = await asyncio.gather(*(client.post("/v1/classify", json=ONE_SENTENCE) for _ in range(50)))
        assert [r.status_code for r in responses] == [200] * 50
