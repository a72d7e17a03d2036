"""The label store on a real SQLite file, and the /v1/labels endpoints (auth, validation, paging, export)."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.labels import MAX_PAGE, InvalidCursor, LabelsRejected, LabelStore
from service.settings import Settings
from tests.retrain_support import API_KEY, AUTH
from tests.service.conftest import TinyModel, running_client
from training.data import read_examples

ROWS = [
    {"text": "Die Regierung hat die Warnungen ignoriert.", "target": "Regierung", "stance": "against"},
    {"text": "Der Euro legte deutlich zu.", "sentiment": "positive"},
    {"text": "Die Einigung ist ein Erfolg.", "target": "EU", "stance": "favor", "sentiment": "positive"},
]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[LabelStore]:
    s = LabelStore.in_dir(tmp_path / "data")
    yield s
    s.close()


# --- the store ---------------------------------------------------------------------------------------------


def test_the_database_is_a_durable_file_without_shared_memory(store: LabelStore, tmp_path: Path) -> None:
    path = tmp_path / "data" / "labels.sqlite3"
    assert path.is_file()
    with store.db.read() as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # no memory-mapped -shm (SIGBUS)
        assert conn.execute("PRAGMA mmap_size").fetchone()[0] == 0
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 1000


def test_labels_survive_closing_and_reopening(tmp_path: Path) -> None:
    first = LabelStore.in_dir(tmp_path)
    ids = first.upsert(ROWS).ids
    first.close()
    again = LabelStore.in_dir(tmp_path)
    assert [label.id for label in again] == ids
    assert again.get(ids[0]).stance == "against"  # type: ignore[union-attr]
    again.close()


def test_same_text_and_target_updates_the_row_and_keeps_its_id(store: LabelStore) -> None:
    first = store.upsert(ROWS)
    assert (first.created, first.updated) == (3, 0)
    assert all(i.startswith("lab_") for i in first.ids)
    again = store.upsert([{**ROWS[0], "stance": "favor"}, {**ROWS[0], "target": "Opposition", "stance": "favor"}])
    assert again.ids[0] == first.ids[0]
    assert (again.created, again.updated) == (1, 1)
    assert store.get(first.ids[0]).stance == "favor"  # type: ignore[union-attr]
    assert store.count() == 4


def test_a_client_id_is_kept_and_may_not_name_another_sentence(store: LabelStore) -> None:
    assert store.upsert([{**ROWS[1], "id": "mine-1"}]).ids == ["mine-1"]
    with pytest.raises(LabelsRejected) as err:
        store.upsert([ROWS[0], {**ROWS[2], "id": "mine-1"}])
    assert err.value.errors == [{"row": 1, "errors": ["id 'mine-1' already names another (text, target)"]}]
    with pytest.raises(LabelsRejected):  # the same id for two sentences in one batch
        store.upsert([{**ROWS[0], "id": "x"}, {**ROWS[2], "id": "x"}])
    assert store.count() == 1


def test_a_bad_batch_is_rejected_whole_with_every_rows_problems(store: LabelStore) -> None:
    bad = [
        ROWS[0],
        {"text": "  ", "sentiment": "positive"},
        {"text": "Ohne Label."},
        {"text": "Falsch.", "stance": "pro", "sentiment": "great"},
    ]
    with pytest.raises(LabelsRejected) as err:
        store.upsert(bad)
    rows = {e["row"]: e["errors"] for e in err.value.errors}
    assert sorted(rows) == [1, 2, 3]
    assert rows[1] == ["empty 'text'"]
    assert "no label" in rows[2][0]
    assert len(rows[3]) == 2 and any("unknown stance label 'pro'" in e for e in rows[3])
    assert store.count() == 0  # row 0 was valid, but nothing is stored


def test_cursor_paging_visits_every_label_once_in_order(store: LabelStore) -> None:
    store.upsert([{"text": f"Satz Nummer {i}.", "sentiment": "neutral"} for i in range(25)])
    seen, cursor, pages = [], None, 0
    while True:
        items, cursor = store.page(cursor, 10)
        seen += [label.text for label in items]
        pages += 1
        if cursor is None:
            break
    assert pages == 3
    assert seen == [f"Satz Nummer {i}." for i in range(25)]
    with pytest.raises(InvalidCursor):
        store.page("not-a-cursor", 10)
    with pytest.raises(ValueError):
        store.page(None, MAX_PAGE + 1)


def test_export_is_valid_training_data(store: LabelStore, tmp_path: Path) -> None:
    ids = store.upsert(ROWS).ids
    path = tmp_path / "labels.jsonl"
    assert store.export_to(path) == 3
    examples = read_examples([path])
    assert [e.id for e in examples] == ids
    assert {e.source for e in examples} == {"labels"}
    assert examples[0].target == "Regierung" and examples[0].stance == "against" and examples[0].sentiment is None
    assert examples[1].target is None


def test_delete(store: LabelStore) -> None:
    ids = store.upsert(ROWS).ids
    assert store.delete(ids[1]) is True
    assert store.delete(ids[1]) is False
    assert store.get(ids[1]) is None and store.count() == 2


def test_concurrent_writers_on_separate_connections_lose_nothing(tmp_path: Path) -> None:
    """Eight stores (as eight worker processes would have) writing at once: SQLite's lock + busy_timeout."""
    stores = [LabelStore.in_dir(tmp_path) for _ in range(8)]
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for batch in range(10):
                stores[n].upsert([{"text": f"W{n} B{batch} R{r}.", "sentiment": "neutral"} for r in range(5)])
        except BaseException as err:  # reported below
            errors.append(err)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert stores[0].count() == 8 * 10 * 5
    for s in stores:
        s.close()


def test_acknowledged_labels_are_in_the_file_for_any_other_connection(store: LabelStore, tmp_path: Path) -> None:
    store.upsert(ROWS)
    other = sqlite3.connect(tmp_path / "data" / "labels.sqlite3")
    assert other.execute("SELECT COUNT(*) FROM labels").fetchone()[0] == 3
    other.close()


# --- the endpoints -----------------------------------------------------------------------------------------

api = pytest.mark.asyncio(loop_scope="session")  # the fixtures of tests/service/conftest.py live there


@pytest.fixture
async def client(tiny_model: TinyModel, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(models_dir=tiny_model.models_dir, data_dir=tmp_path / "data", api_keys=API_KEY)
    async with running_client(settings) as (_, c):
        yield c


@pytest.fixture
async def no_keys_client(tiny_model: TinyModel, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(models_dir=tiny_model.models_dir, data_dir=tmp_path / "data2", api_keys="")
    async with running_client(settings) as (_, c):
        yield c


def error(response: httpx.Response) -> dict[str, Any]:
    return response.json()["error"]


@api
async def test_writes_are_refused_when_no_key_is_configured(no_keys_client: httpx.AsyncClient) -> None:
    response = await no_keys_client.post("/v1/labels", json={"labels": ROWS}, headers=AUTH)
    assert response.status_code == 403
    assert "HALTUNG_API_KEYS" in error(response)["message"]
    assert (await no_keys_client.delete("/v1/labels/x", headers=AUTH)).status_code == 403
    assert (await no_keys_client.get("/v1/labels")).status_code == 200  # reads stay open


@api
async def test_writes_need_the_right_key(client: httpx.AsyncClient) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {API_KEY}"}):
        response = await client.post("/v1/labels", json={"labels": ROWS}, headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["www-authenticate"] == "Bearer"
        assert (await client.delete("/v1/labels/x", headers=headers)).status_code == 401
    response = await client.post("/v1/labels", json={"labels": ROWS}, headers=AUTH)
    assert response.status_code == 201
    assert (await client.get("/v1/labels")).json()["items"][0]["text"] == ROWS[0]["text"]


@api
async def test_post_list_update_delete(client: httpx.AsyncClient) -> None:
    again = {**ROWS[1], "id": "ignored-known"}  # a known (text, target) keeps its stored id
    response = await client.post("/v1/labels", json={"labels": [*ROWS, again]}, headers=AUTH)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["count"] == 4 and body["created"] == 3 and body["updated"] == 1
    assert body["ids"][3] == body["ids"][1]  # same (text, target): the stored id is kept

    page = (await client.get("/v1/labels", params={"limit": 2})).json()
    assert [i["id"] for i in page["items"]] == body["ids"][:2]
    rest = (await client.get("/v1/labels", params={"limit": 2, "cursor": page["next_cursor"]})).json()
    assert [i["id"] for i in rest["items"]] == [body["ids"][2]] and rest["next_cursor"] is None
    assert set(page["items"][0]) == {"id", "text", "target", "stance", "sentiment", "created_at", "updated_at"}

    assert (await client.delete(f"/v1/labels/{body['ids'][0]}", headers=AUTH)).status_code == 204
    missing = await client.delete(f"/v1/labels/{body['ids'][0]}", headers=AUTH)
    assert missing.status_code == 404 and error(missing)["code"] == "label_not_found"
    assert len((await client.get("/v1/labels")).json()["items"]) == 2


@api
async def test_invalid_rows_give_422_with_row_index_and_nothing_is_stored(client: httpx.AsyncClient) -> None:
    labels = [ROWS[0], {"text": "Kein Label."}, {"text": "x", "sentiment": "happy"}]
    response = await client.post("/v1/labels", json={"labels": labels}, headers=AUTH)
    assert response.status_code == 422
    details = error(response)["details"]
    assert [d["row"] for d in details] == [1, 2]
    assert "happy" in details[1]["errors"][0]
    assert (await client.get("/v1/labels")).json()["items"] == []


@api
@pytest.mark.parametrize(
    "body",
    [
        {"labels": []},
        {"labels": [{"text": "x", "sentiment": "positive", "colour": "red"}]},  # unknown field
        {"labels": [{"text": "x", "sentiment": "positive"}], "extra": 1},
        {"labels": [{"text": "x", "sentiment": "positive", "id": "../etc"}]},  # ids are plain names
        {"labels": [{"text": 5, "sentiment": "positive"}]},
    ],
)
async def test_malformed_requests_give_422(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    response = await client.post("/v1/labels", json=body, headers=AUTH)
    assert response.status_code == 422, response.text
    assert error(response)["code"] == "validation_error"


@api
async def test_too_large_batch_gives_413(client: httpx.AsyncClient) -> None:
    labels = [{"text": f"S{i}", "sentiment": "neutral"} for i in range(1001)]
    response = await client.post("/v1/labels", json={"labels": labels}, headers=AUTH)
    assert response.status_code == 413
    assert error(response)["details"] == {"count": 1001, "limit": 1000}


@api
async def test_paging_parameters_are_checked(client: httpx.AsyncClient) -> None:
    assert (await client.get("/v1/labels", params={"limit": 0})).status_code == 422
    assert (await client.get("/v1/labels", params={"limit": 1001})).status_code == 422
    bad = await client.get("/v1/labels", params={"cursor": "bogus"})
    assert bad.status_code == 400 and error(bad)["code"] == "invalid_cursor"


@api
async def test_export_is_ndjson_in_the_training_format(client: httpx.AsyncClient, tmp_path: Path) -> None:
    await client.post("/v1/labels", json={"labels": ROWS}, headers=AUTH)
    response = await client.get("/v1/labels/export")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert [line["text"] for line in lines] == [r["text"] for r in ROWS]
    assert all(line["source"] == "labels" and line["id"].startswith("lab_") for line in lines)
    path = tmp_path / "export.jsonl"
    path.write_text(response.text, encoding="utf-8")
    assert len(read_examples([path])) == 3
