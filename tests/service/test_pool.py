"""The review queue over HTTP: adding to the pool (validation, limits, duplicates, boilerplate), the next
batch (never a labelled sentence, deterministic, stance only where the target is mentioned), paging,
deleting, and the API key on writes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.settings import Settings
from tests.retrain_support import API_KEY, AUTH
from tests.service.conftest import LIMITS, TinyModel, running_client

pytestmark = pytest.mark.asyncio(loop_scope="session")  # the fixtures of tests/service/conftest.py live there

ARTICLE = (
    "Russland hat die Gaslieferungen nach Europa gestoppt.\n"
    "Der Kreml wies alle Vorwürfe der Bundesregierung zurück.\n"
    "Die russische Armee meldet Gebietsgewinne im Osten.\n"
    "Mehr: Russland\n"
    "Der Euro legte am Montag deutlich zu.\n"
    "Anleger zeigten sich nach den Zahlen erleichtert.\n"
    "Der Euro legte am Montag deutlich zu.\n"
)
SENTENCES = [
    "Die Regierung hat die Warnungen monatelang ignoriert.",
    "Das neue Gesetz ist ein großer Erfolg für die Familien.",
    "Die Bahn meldet erneut massive Verspätungen im Fernverkehr.",
    "Die Preise für Energie sind im Herbst gesunken.",
    "Der Streik legt den Flughafen den ganzen Tag lahm.",
    "Die Opposition kritisiert den Haushalt scharf.",
    "Die Feuerwehr rettete alle Bewohner aus dem Haus.",
    "Russland droht dem Westen mit Konsequenzen.",
    "Russlands Wirtschaft wächst trotz der Sanktionen.",
    "Die Ukraine bittet Russland um eine Feuerpause.",
]


@pytest.fixture
async def client(tiny_model: TinyModel, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(models_dir=tiny_model.models_dir, data_dir=tmp_path / "data", api_keys=API_KEY)
    async with running_client(settings) as (_, c):
        yield c


def error(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    return dict(body["error"])


async def add(client: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/v1/pool", json=body, headers=AUTH)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def texts_in_pool(client: httpx.AsyncClient) -> list[str]:
    response = await client.get("/v1/pool", params={"limit": 1000})
    return [item["text"] for item in response.json()["items"]]


async def test_an_article_is_segmented_with_boilerplate_dropped_and_duplicates_merged(
    client: httpx.AsyncClient,
) -> None:
    first = await add(client, {"text": ARTICLE, "source": "feed-1"})
    assert first == {"added": 5, "duplicates": 1, "boilerplate": 1, "size": 5}
    assert "Mehr: Russland" not in await texts_in_pool(client)
    again = await add(client, {"documents": [{"id": "a", "text": ARTICLE}, {"text": "Neu ist nur dieser Satz."}]})
    assert again == {"added": 1, "duplicates": 6, "boilerplate": 1, "size": 6}  # 5 stored, 1 repeated
    page = (await client.get("/v1/pool")).json()
    assert page["size"] == 6 and page["next_cursor"] is None
    assert page["items"][0]["source"] == "feed-1" and page["items"][-1]["source"] is None
    assert all(item["id"].startswith("pool_") and item["added_at"] for item in page["items"])


async def test_pre_split_sentences_are_kept_as_given(client: httpx.AsyncClient) -> None:
    added = await add(client, {"sentences": [*SENTENCES, SENTENCES[0]]})
    assert added == {"added": len(SENTENCES), "duplicates": 1, "boilerplate": 0, "size": len(SENTENCES)}
    assert await texts_in_pool(client) == SENTENCES


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"text": "Ein Satz.", "sentences": ["Noch einer."]},
        {"text": "   "},
        {"sentences": []},
        {"sentences": ["ok", 3]},
        {"documents": [{"text": ""}]},
        {"text": "Ein Satz.", "source": ""},
        {"text": "Ein Satz.", "unknown": 1},
    ],
)
async def test_invalid_bodies_are_422(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    response = await client.post("/v1/pool", json=body, headers=AUTH)
    assert response.status_code == 422, body
    assert error(response)["code"] == "validation_error"


async def test_malformed_json_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/pool", content=b'{"text": ', headers={**AUTH, "Content-Type": "application/json"})
    assert response.status_code == 400 and error(response)["code"] == "malformed_json"


async def test_size_limits_are_those_of_classify(tiny_model: TinyModel, tmp_path: Path) -> None:
    settings = Settings(models_dir=tiny_model.models_dir, data_dir=tmp_path / "data", api_keys=API_KEY, **LIMITS)
    async with running_client(settings) as (_, client):
        too_many_docs = {"documents": [{"text": "Ein Satz."}] * (LIMITS["max_documents"] + 1)}
        too_many_sentences = {"sentences": [f"Satz {i}." for i in range(LIMITS["max_sentences"] + 1)]}
        words = ["eins", "zwei", "drei", "vier", "fünf", "sechs", "sieben"][: LIMITS["max_sentences"] + 1]
        long_article = {"text": " ".join(f"Das ist der Satz {word}." for word in words)}
        too_large = {"text": "Wort " * LIMITS["max_body_bytes"]}
        expected = [
            (too_many_docs, "too_many_documents"),
            (too_many_sentences, "too_many_sentences"),
            (long_article, "too_many_sentences"),
            (too_large, None),
        ]
        for body, code in expected:
            response = await client.post("/v1/pool", json=body, headers=AUTH)
            assert response.status_code == 413, body
            assert code is None or error(response)["code"] == code
        assert (await client.get("/v1/pool")).json()["size"] == 0  # nothing was stored


async def test_writes_need_the_api_key(client: httpx.AsyncClient) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        response = await client.post("/v1/pool", json={"text": ARTICLE}, headers=headers)
        assert response.status_code == 401 and error(response)["code"] == "unauthorized"
        assert (await client.delete("/v1/pool/pool_x", headers=headers)).status_code == 401
    assert (await client.get("/v1/pool")).status_code == 200  # reads stay open
    assert (await client.get("/v1/pool/next", params={"head": "sentiment"})).status_code == 200


async def test_next_returns_the_most_uncertain_distinct_sentences(
    client: httpx.AsyncClient, tiny_model: TinyModel
) -> None:
    await add(client, {"sentences": SENTENCES})
    response = await client.get("/v1/pool/next", params={"head": "sentiment", "k": 4})
    assert response.status_code == 200
    batch = response.json()
    assert batch["model_version"] == tiny_model.version and batch["head"] == "sentiment" and batch["target"] is None
    assert batch["strategy"] == "margin" and batch["remaining"] == len(SENTENCES)
    items = batch["items"]
    assert len(items) == 4 and len({i["id"] for i in items}) == 4
    assert [i["uncertainty"] for i in items] == sorted((i["uncertainty"] for i in items), reverse=True)
    for item in items:
        assert set(item["scores"]) == set(tiny_model.labels("sentiment"))
        assert item["label"] == max(item["scores"], key=item["scores"].__getitem__)
    # nothing left out was more uncertain than the least uncertain item picked (no near-copies here)
    everything = (await client.get("/v1/pool/next", params={"head": "sentiment", "k": 50})).json()["items"]
    assert [i["id"] for i in everything[:4]] == [i["id"] for i in items]


async def test_next_is_deterministic_for_a_fixed_model_and_pool(client: httpx.AsyncClient) -> None:
    await add(client, {"sentences": SENTENCES})
    params = {"head": "stance", "target": "Russland", "k": 3, "strategy": "entropy"}
    answers = [(await client.get("/v1/pool/next", params=params)).json() for _ in range(3)]
    assert answers[0] == answers[1] == answers[2]
    assert answers[0]["strategy"] == "entropy"


async def test_labelled_sentences_are_never_returned(client: httpx.AsyncClient) -> None:
    await add(client, {"sentences": SENTENCES})
    first = (await client.get("/v1/pool/next", params={"head": "sentiment", "k": 3})).json()["items"]
    labels = [{"text": item["text"], "sentiment": "neutral"} for item in first]
    assert (await client.post("/v1/labels", json={"labels": labels}, headers=AUTH)).status_code == 201
    after = (await client.get("/v1/pool/next", params={"head": "sentiment", "k": 50})).json()
    assert {i["text"] for i in first}.isdisjoint(i["text"] for i in after["items"])
    assert after["remaining"] == len(SENTENCES) - 3 == len(after["items"])
    # a sentiment label does not take a sentence out of the stance queue, a stance label toward another
    # target neither; a stance label toward this target does
    russia = [s for s in SENTENCES if "Russland" in s]
    stance_before = (await client.get("/v1/pool/next", params={"head": "stance", "target": "Russland"})).json()
    assert {i["text"] for i in stance_before["items"]} == set(russia)
    labels = [
        {"text": russia[0], "target": "Russland", "stance": "against"},
        {"text": russia[1], "target": "Ukraine", "stance": "favor"},
    ]
    assert (await client.post("/v1/labels", json={"labels": labels}, headers=AUTH)).status_code == 201
    stance_after = (await client.get("/v1/pool/next", params={"head": "stance", "target": "Russland"})).json()
    assert {i["text"] for i in stance_after["items"]} == set(russia[1:])
    assert stance_after["remaining"] == len(russia) - 1


async def test_stance_candidates_mention_the_target(client: httpx.AsyncClient) -> None:
    await add(client, {"text": ARTICLE})
    params: dict[str, Any] = {"head": "stance", "target": "Russland", "k": 10}
    plain = (await client.get("/v1/pool/next", params=params)).json()
    assert plain["target"] == "Russland"
    assert {i["text"] for i in plain["items"]} == {
        "Russland hat die Gaslieferungen nach Europa gestoppt.",
        "Die russische Armee meldet Gebietsgewinne im Osten.",
    }
    for item in plain["items"]:
        mention = item["mention"]
        assert item["text"][mention["start"] : mention["end"]] == mention["text"]
    aliased = (await client.get("/v1/pool/next", params={**params, "alias": ["Kreml"]})).json()
    assert aliased["remaining"] == 3


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"head": "topic"},
        {"head": "stance"},
        {"head": "stance", "target": "  "},
        {"head": "sentiment", "k": 0},
        {"head": "sentiment", "k": 51},
        {"head": "sentiment", "k": "viele"},
        {"head": "sentiment", "strategy": "random"},
    ],
)
async def test_invalid_queue_parameters_are_422(client: httpx.AsyncClient, params: dict[str, Any]) -> None:
    response = await client.get("/v1/pool/next", params=params)
    assert response.status_code == 422, params
    assert error(response)["code"] == "validation_error"


async def test_an_empty_pool_gives_an_empty_batch(client: httpx.AsyncClient) -> None:
    batch = (await client.get("/v1/pool/next", params={"head": "sentiment"})).json()
    assert batch["items"] == [] and batch["remaining"] == 0


async def test_pages_and_deletes(client: httpx.AsyncClient) -> None:
    await add(client, {"sentences": SENTENCES})
    first = (await client.get("/v1/pool", params={"limit": 4})).json()
    second = (await client.get("/v1/pool", params={"limit": 4, "cursor": first["next_cursor"]})).json()
    assert [i["text"] for i in first["items"] + second["items"]] == SENTENCES[:8]
    bad = await client.get("/v1/pool", params={"cursor": "nonsense"})
    assert bad.status_code == 400 and error(bad)["code"] == "invalid_cursor"
    gone = first["items"][0]["id"]
    assert (await client.delete(f"/v1/pool/{gone}", headers=AUTH)).status_code == 204
    missing = await client.delete(f"/v1/pool/{gone}", headers=AUTH)
    assert missing.status_code == 404 and error(missing)["code"] == "pool_item_not_found"
    assert (await client.get("/v1/pool")).json()["size"] == len(SENTENCES) - 1
    batch = (await client.get("/v1/pool/next", params={"head": "sentiment", "k": 50})).json()
    assert gone not in {i["id"] for i in batch["items"]}


async def test_the_pool_survives_a_restart(tiny_model: TinyModel, tmp_path: Path) -> None:
    settings = Settings(models_dir=tiny_model.models_dir, data_dir=tmp_path / "data", api_keys=API_KEY)
    async with running_client(settings) as (_, client):
        await add(client, {"sentences": SENTENCES[:3]})
    async with running_client(settings) as (_, client):
        assert await texts_in_pool(client) == SENTENCES[:3]


async def test_without_a_model_the_queue_is_unavailable_but_the_pool_still_reads(
    no_model_client: httpx.AsyncClient,
) -> None:
    response = await no_model_client.get("/v1/pool/next", params={"head": "sentiment"})
    assert response.status_code == 503 and error(response)["code"] == "no_model"
    assert (await no_model_client.get("/v1/pool")).status_code == 200
