"""The Label Studio ML backend API on a tiny real model, with request bodies in the shape Label Studio sends.

Where the shapes come from:
- /predict, /setup: Label Studio's ML client, label_studio/ml/api_connector.py (`make_predictions`: tasks,
  model_version, project "<id>.<created_at timestamp>", label_config, params {login, password, context};
  `setup`: project, schema, hostname, access_token) and label-studio-ml-backend's own API tests
  (label_studio_ml/default_configs/test_api.py: extra_params).
- /webhook: Label Studio's webhook actions (label_studio/webhooks/models.py: ANNOTATION_CREATED sends the
  annotation under `annotation` with its `task` nested, plus `project`) and the event reference of its docs
  (labelstud.io/guide/webhook_reference: annotation {id, result, was_cancelled, ground_truth, lead_time,
  task, completed_by, ...}; a Choices result item {id, from_name, to_name, type: "choices", value: {choices},
  origin}).
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.labelstudio import uncertainty
from service.settings import Settings
from tests.retrain_support import API_KEY, AUTH, build_base
from tests.service.conftest import TinyModel, running_client

pytestmark = pytest.mark.asyncio(loop_scope="session")

CONFIG = (Path(__file__).resolve().parents[2] / "examples" / "labelstudio" / "label_config.xml").read_text()
PROJECT = "7.1795860000"
BASIC = {"Authorization": "Basic " + base64.b64encode(f"labelstudio:{API_KEY}".encode()).decode()}


def task(task_id: int, text: str, target: str | None = None) -> dict[str, Any]:
    data = {"text": text} | ({"target": target} if target else {})
    return {
        "id": task_id,
        "data": data,
        "meta": {},
        "created_at": "2026-11-28T10:00:00Z",
        "is_labeled": False,
        "project": 7,
        "annotations": [],
        "predictions": [],
    }


def predict_body(tasks: list[dict[str, Any]], label_config: str | None = CONFIG) -> dict[str, Any]:
    return {
        "tasks": tasks,
        "model_version": "",
        "project": PROJECT,
        "label_config": label_config,
        "params": {"login": None, "password": None, "context": None},
    }


def choice(from_name: str, value: str) -> dict[str, Any]:
    return {
        "id": f"r-{from_name}",
        "from_name": from_name,
        "to_name": "text",
        "type": "choices",
        "value": {"choices": [value]},
        "origin": "manual",
    }


def annotation_event(
    action: str, the_task: dict[str, Any], result: list[dict[str, Any]], *, cancelled: bool = False
) -> dict[str, Any]:
    annotation = {
        "id": 31,
        "result": result,
        "was_cancelled": cancelled,
        "ground_truth": False,
        "lead_time": 12.5,
        "created_at": "2026-11-28T10:01:00Z",
        "updated_at": "2026-11-28T10:01:00Z",
        "task": the_task["id"],
        "completed_by": 1,
        "result_count": len(result),
        "project": 7,
    }
    return {
        "action": action,
        "annotation": annotation,
        "task": the_task,
        "project": {"id": 7, "title": "Haltung", "label_config": CONFIG},
    }


@pytest.fixture(scope="module")
async def keyed(tiny_model: TinyModel, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        models_dir=tiny_model.models_dir,
        data_dir=tmp_path_factory.mktemp("ls-data"),
        api_keys=API_KEY,
        reload_interval=3600,
    )
    async with running_client(settings) as (_, client):
        yield client


async def test_health_and_setup(client: httpx.AsyncClient, tiny_model: TinyModel) -> None:
    health = await client.get("/labelstudio/health")
    assert health.json() == {"status": "UP", "model_class": "Haltung", "model_version": tiny_model.version}
    setup = {
        "project": PROJECT,
        "schema": CONFIG,
        "hostname": "http://localhost:8080",
        "access_token": "t",
        "extra_params": {},
    }
    assert (await client.post("/labelstudio/setup", json=setup)).json() == {"model_version": tiny_model.version}


async def test_health_without_a_model(no_model_client: httpx.AsyncClient) -> None:
    response = await no_model_client.get("/labelstudio/health")
    assert response.status_code == 503 and response.json()["error"]["code"] == "not_ready"


async def test_setup_refuses_a_config_haltung_cannot_fill(client: httpx.AsyncClient) -> None:
    images = (
        '<View><Image name="img" value="$image"/>'
        '<Choices name="cls" toName="img"><Choice value="cat"/></Choices></View>'
    )
    response = await client.post("/labelstudio/setup", json={"project": PROJECT, "schema": images})
    assert response.status_code == 422 and response.json()["error"]["code"] == "invalid_label_config"
    wrong = CONFIG.replace('value="favor"', 'value="pro"')
    response = await client.post("/labelstudio/setup", json={"project": PROJECT, "schema": wrong})
    assert response.status_code == 422 and "pro" in response.json()["error"]["message"]
    response = await client.post("/labelstudio/setup", json={"project": PROJECT, "schema": "<View"})
    assert response.status_code == 422 and "XML" in response.json()["error"]["message"]


async def test_an_entity_expansion_bomb_is_refused_as_invalid_xml(client: httpx.AsyncClient) -> None:
    entities = "".join(f'<!ENTITY e{i} "{f"&e{i - 1};" * 10}">' for i in range(1, 10))
    bomb = f'<!DOCTYPE v [<!ENTITY e0 "lol">{entities}]><View><Text name="text" value="&e9;"/></View>'
    started = time.monotonic()
    response = await client.post("/labelstudio/setup", json={"project": PROJECT, "schema": bomb})
    assert response.status_code == 422 and "XML" in response.json()["error"]["message"]
    assert time.monotonic() - started < 5  # refused by expat's amplification limit, not expanded


async def test_predict_gives_choices_the_model_version_and_an_uncertainty_score(
    client: httpx.AsyncClient, tiny_model: TinyModel
) -> None:
    tasks = [
        task(1, "Russland ist kein verlässlicher Partner.", "Russland"),
        task(2, "Der Euro legte deutlich zu."),
        task(3, "Der Euro legte deutlich zu.", "Russland"),  # does not mention the target: no stance
    ]
    response = await client.post("/labelstudio/predict", json=predict_body(tasks))
    assert response.status_code == 200, response.text
    body = response.json()
    results = body["results"]
    assert body["model_version"] == tiny_model.version and len(results) == 3
    assert all(r["model_version"] == tiny_model.version for r in results)
    assert [[item["from_name"] for item in r["result"]] for r in results] == [
        ["sentiment", "stance"],
        ["sentiment"],
        ["sentiment"],
    ]

    v1 = await client.post(
        "/v1/classify", json={"sentences": ["Russland ist kein verlässlicher Partner."], "targets": ["Russland"]}
    )
    sentence = v1.json()["documents"][0]["sentences"][0]
    sentiment, stance = results[0]["result"]
    assert sentiment == {
        "from_name": "sentiment",
        "to_name": "text",
        "type": "choices",
        "value": {"choices": [sentence["sentiment"]["label"]]},
        "score": round(sentence["sentiment"]["scores"][sentence["sentiment"]["label"]], 6),
    }
    assert stance["value"] == {"choices": [sentence["stance"][0]["label"]]}
    expected = max(uncertainty(sentence["sentiment"]["scores"]), uncertainty(sentence["stance"][0]["scores"]))
    assert results[0]["score"] == round(expected, 6)
    assert 0 <= results[1]["score"] <= 1 and results[1]["score"] == results[2]["score"]


async def test_uncertainty_is_one_minus_the_margin() -> None:
    assert uncertainty({"a": 0.5, "b": 0.5, "c": 0.0}) == 1.0
    assert uncertainty({"a": 1.0, "b": 0.0, "c": 0.0}) == 0.0
    assert uncertainty({"a": 0.6, "b": 0.3, "c": 0.1}) == pytest.approx(0.7)
    # Two decisions with the same top probability: the closer runner-up is the less certain one.
    assert uncertainty({"a": 0.5, "b": 0.45, "c": 0.05}) > uncertainty({"a": 0.5, "b": 0.25, "c": 0.25})


async def test_predict_reads_the_configs_text_field_and_a_default_target(tiny_model: TinyModel, tmp_path: Path) -> None:
    config = CONFIG.replace('value="$text"', 'value="$satz"')
    settings = Settings(
        models_dir=tiny_model.models_dir, data_dir=tmp_path, labelstudio_target="Russland", reload_interval=3600
    )
    async with running_client(settings) as (_, client):
        tasks = [{"id": 5, "data": {"satz": "Russland ist kein verlässlicher Partner."}}]
        body = (await client.post("/labelstudio/predict", json=predict_body(tasks, config))).json()
        assert [item["from_name"] for item in body["results"][0]["result"]] == ["sentiment", "stance"]
        missing = await client.post(
            "/labelstudio/predict", json=predict_body([task(6, "Text im falschen Feld.")], config)
        )
        assert missing.status_code == 422 and "'satz'" in missing.json()["error"]["message"]


async def test_predict_refuses_bad_tasks_clearly(client: httpx.AsyncClient, limited_client: httpx.AsyncClient) -> None:
    blank = await client.post("/labelstudio/predict", json=predict_body([task(1, "   ")]))
    assert blank.status_code == 422 and blank.json()["error"]["details"] == [{"task": 0, "id": 1}]
    long_target = await client.post("/labelstudio/predict", json=predict_body([task(1, "Ein Satz.", "x" * 400)]))
    assert long_target.status_code == 422
    assert (await client.post("/labelstudio/predict", json={"label_config": CONFIG})).status_code == 422
    many = await limited_client.post("/labelstudio/predict", json=predict_body([task(i, "Satz.") for i in range(6)]))
    assert many.status_code == 413


async def test_the_webhook_never_writes_without_the_key(keyed: httpx.AsyncClient, client: httpx.AsyncClient) -> None:
    event = annotation_event(
        "ANNOTATION_CREATED", task(9, "Ein Satz ohne Schlüssel."), [choice("sentiment", "neutral")]
    )
    before = (await keyed.get("/v1/labels", params={"limit": 1000})).json()["items"]
    for headers in (
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": "Basic " + base64.b64encode(b"u:wrong").decode()},
        {"Authorization": "Basic !!!"},
        {"Authorization": f"Token {API_KEY}"},
    ):
        response = await keyed.post("/labelstudio/webhook", json=event, headers=headers)
        assert response.status_code == 401, headers
        assert "Basic" in response.headers["www-authenticate"]
    disabled = await client.post("/labelstudio/webhook", json=event, headers=AUTH)  # no HALTUNG_API_KEYS
    assert disabled.status_code == 403
    assert (await keyed.get("/v1/labels", params={"limit": 1000})).json()["items"] == before


async def test_annotation_events_store_labels_like_post_v1_labels(keyed: httpx.AsyncClient) -> None:
    the_task = task(11, "Die Regierung hat die Warnungen monatelang ignoriert.", "Regierung")
    created = annotation_event(
        "ANNOTATION_CREATED", the_task, [choice("sentiment", "negative"), choice("stance", "against")]
    )
    response = await keyed.post("/labelstudio/webhook", json=created, headers=BASIC)  # the ML backend's Basic auth
    assert response.status_code == 201, response.text
    assert response.json()["stored"] == 1 and response.json()["retrain"] is None
    [label_id] = response.json()["ids"]

    updated = annotation_event(
        "ANNOTATION_UPDATED", the_task, [choice("sentiment", "neutral"), choice("stance", "against")]
    )
    response = await keyed.post("/labelstudio/webhook", json=updated, headers=AUTH)  # a project webhook's header
    assert response.status_code == 201 and response.json()["ids"] == [label_id]
    items = {i["id"]: i for i in (await keyed.get("/v1/labels", params={"limit": 1000})).json()["items"]}
    assert {k: items[label_id][k] for k in ("text", "target", "stance", "sentiment")} == {
        "text": the_task["data"]["text"],
        "target": "Regierung",
        "stance": "against",
        "sentiment": "neutral",
    }

    sentiment_only = annotation_event(
        "ANNOTATION_CREATED", task(12, "Der Euro legte deutlich zu.", "Regierung"), [choice("sentiment", "positive")]
    )
    stored = (await keyed.post("/labelstudio/webhook", json=sentiment_only, headers=AUTH)).json()
    labels = {i["id"]: i for i in (await keyed.get("/v1/labels", params={"limit": 1000})).json()["items"]}
    assert labels[stored["ids"][0]]["target"] is None  # keyed by its text alone, as a sentiment label


async def test_labels_that_break_a_rule_are_refused_whole(keyed: httpx.AsyncClient) -> None:
    bad = annotation_event("ANNOTATION_CREATED", task(13, "Ein Satz.", "Regierung"), [choice("stance", "dafür")])
    response = await keyed.post("/labelstudio/webhook", json=bad, headers=AUTH)
    assert response.status_code == 422 and response.json()["error"]["code"] == "invalid_labels"
    assert "dafür" in str(response.json()["error"]["details"])
    no_target = annotation_event("ANNOTATION_CREATED", task(14, "Ein Satz."), [choice("stance", "favor")])
    response = await keyed.post("/labelstudio/webhook", json=no_target, headers=AUTH)
    assert response.status_code == 422 and "target" in response.json()["error"]["message"]
    texts = [i["text"] for i in (await keyed.get("/v1/labels", params={"limit": 1000})).json()["items"]]
    assert "Ein Satz." not in texts


async def test_other_events_and_empty_annotations_store_nothing(keyed: httpx.AsyncClient) -> None:
    the_task = task(15, "Ein übersprungener Satz.")
    for event, status in (
        ({"action": "PROJECT_UPDATED", "project": {"id": 7}}, 200),
        ({"action": "ANNOTATIONS_DELETED", "annotations": [{"id": 31}], "project": {"id": 7}}, 200),
        (annotation_event("ANNOTATION_CREATED", the_task, [choice("sentiment", "negative")], cancelled=True), 201),
        (annotation_event("ANNOTATION_CREATED", the_task, []), 201),
    ):
        response = await keyed.post("/labelstudio/webhook", json=event, headers=AUTH)
        assert response.status_code == status, response.text
        assert response.json().get("stored", 0) == 0
    texts = [i["text"] for i in (await keyed.get("/v1/labels", params={"limit": 1000})).json()["items"]]
    assert the_task["data"]["text"] not in texts


async def test_annotations_created_in_bulk(keyed: httpx.AsyncClient) -> None:
    tasks = [task(21, "Erster Satz über die Bahn.", None), task(22, "Zweiter Satz über die Bahn.", None)]
    annotations = [
        {"id": 41, "task": 22, "result": [choice("sentiment", "negative")], "was_cancelled": False},
        {"id": 40, "task": 21, "result": [choice("sentiment", "positive")], "was_cancelled": False},
    ]
    event = {
        "action": "ANNOTATIONS_CREATED",
        "annotation": annotations,
        "task": tasks,
        "project": {"id": 7, "label_config": CONFIG},
    }
    response = await keyed.post("/labelstudio/webhook", json=event, headers=AUTH)
    assert response.status_code == 201 and response.json()["stored"] == 2
    items = {i["text"]: i["sentiment"] for i in (await keyed.get("/v1/labels", params={"limit": 1000})).json()["items"]}
    assert items["Zweiter Satz über die Bahn."] == "negative" and items["Erster Satz über die Bahn."] == "positive"


async def test_webhook_queues_a_retrain_when_configured(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HALTUNG_TRAIN_FAST", "1")  # the training process inherits it: seconds, not minutes
    base = build_base(tmp_path_factory.mktemp("ls-retrain-base"))
    settings = Settings(
        models_dir=base.copy_to(tmp_path / "models"),
        data_dir=tmp_path / "data",
        api_keys=API_KEY,
        labelstudio_retrain=True,
        reload_interval=3600,
    )
    async with running_client(settings) as (_, client):
        event = annotation_event(
            "ANNOTATION_CREATED", task(1, "Die Bahn kommt pünktlich an."), [choice("sentiment", "positive")]
        )
        response = await client.post("/labelstudio/webhook", json=event, headers=AUTH)
        assert response.status_code == 201, response.text
        retrain = response.json()["retrain"]
        assert retrain["queued"] is True
        job = await wait_for_job(client, retrain["job_id"])
        assert job["status"] in ("succeeded", "rejected"), job
        again = await client.post(
            "/labelstudio/webhook", json={"action": "START_TRAINING", "project": {"id": 7}}, headers=AUTH
        )
        assert again.status_code == 201 and again.json()["retrain"]["queued"] is True
        await wait_for_job(client, again.json()["retrain"]["job_id"])


async def wait_for_job(client: httpx.AsyncClient, job_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job: dict[str, Any] = (await client.get(f"/v1/jobs/{job_id}")).json()
        if job["status"] not in ("queued", "running"):
            return job
        await asyncio.sleep(0.2)
    raise AssertionError(f"job {job_id} still running after {timeout} s")


# --- request bodies captured from a real Label Studio 1.23.2 (see tests/service/labelstudio_requests.json) -----

CAPTURED: dict[str, Any] = json.loads((Path(__file__).parent / "labelstudio_requests.json").read_text(encoding="utf-8"))


async def test_captured_setup_and_predict(client: httpx.AsyncClient, tiny_model: TinyModel) -> None:
    setup = await client.post("/labelstudio/setup", json=CAPTURED["setup"])
    assert setup.status_code == 200 and setup.json() == {"model_version": tiny_model.version}
    response = await client.post("/labelstudio/predict", json=CAPTURED["predict"])
    assert response.status_code == 200, response.text
    [result] = response.json()["results"]
    assert result["model_version"] == tiny_model.version and 0 <= result["score"] <= 1
    # "Die Bundesregierung lobt die Einigung mit Moskau." does not name Russland (no alias given): sentiment only
    assert [(item["from_name"], item["to_name"], item["type"]) for item in result["result"]] == [
        ("sentiment", "text", "choices")
    ]


async def test_captured_events_store_labels(tiny_model: TinyModel, tmp_path: Path) -> None:
    settings = Settings(models_dir=tiny_model.models_dir, data_dir=tmp_path, api_keys=API_KEY, reload_interval=3600)
    async with running_client(settings) as (_, client):
        # The webhook Label Studio creates for a model sends no credentials until a header is set on it.
        refused = await client.post("/labelstudio/webhook", json=CAPTURED["annotation_created"])
        assert refused.status_code == 401
        training = await client.post("/labelstudio/webhook", json=CAPTURED["start_training"], headers=BASIC)
        assert training.status_code == 201, training.text
        assert training.json()["retrain"]["queued"] is False and "label" in training.json()["retrain"]["reason"]

        for event in ("annotation_created", "annotation_updated"):
            response = await client.post("/labelstudio/webhook", json=CAPTURED[event], headers=AUTH)
            assert response.status_code == 201, response.text
            assert response.json()["stored"] == 1
        ignored = await client.post("/labelstudio/webhook", json=CAPTURED["project_updated"], headers=AUTH)
        assert ignored.status_code == 200 and ignored.json()["status"] == "ignored"

        items = (await client.get("/v1/labels")).json()["items"]
        assert [{k: i[k] for k in ("text", "target", "stance", "sentiment")} for i in items] == [
            {"text": "Der Euro legte deutlich zu.", "target": None, "stance": None, "sentiment": "positive"},
            {
                "text": "Russland ist kein verlässlicher Partner.",
                "target": "Russland",
                "stance": "against",
                "sentiment": "neutral",
            },
        ]


async def test_every_documented_example_is_answered_2xx(keyed: httpx.AsyncClient) -> None:
    """The request examples in /openapi.json (what /docs shows and example-driven fuzzers send) all work."""
    spec = (await keyed.get("/openapi.json")).json()
    version = (await keyed.get("/v1/model")).json()["version"]
    tried = 0
    for path, operations in spec["paths"].items():
        if not path.startswith(("/labelstudio", "/v2")):
            continue
        for method, operation in operations.items():
            examples = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("examples")
            for name, example in (examples or {}).items():
                url = path.replace("{model_name}", "haltung").replace("{version}", version)
                response = await keyed.request(method, url, json=example["value"], headers=AUTH)
                assert 200 <= response.status_code < 300, (method, path, name, response.text)
                tried += 1
    assert tried >= 7
