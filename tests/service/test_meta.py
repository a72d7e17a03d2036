"""GET /v1/model, /metrics, the OpenAPI document and /docs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.service.conftest import TinyModel

pytestmark = pytest.mark.asyncio(loop_scope="session")

REFERENCE = Path(__file__).resolve().parents[2] / "examples" / "kim_putin_waffendeal.txt"

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def test_model_info(client: httpx.AsyncClient, tiny_model: TinyModel) -> None:
    response = await client.get("/v1/model")
    assert response.status_code == 200, response.text
    info = response.json()
    assert set(info) == {"version", "created_at", "heads", "data", "metrics", "hyperparameters", "runtime"}
    assert info["version"] == tiny_model.version
    assert info["heads"] == {head: tiny_model.labels(head) for head in ("sentiment", "stance")}
    assert info["data"]["train"] == ["starter"]
    assert info["data"]["train_rows"] == 400
    for head in ("sentiment", "stance"):
        assert 0.0 <= info["metrics"]["heads"][head]["macro_f1"] <= 1.0
        assert info["hyperparameters"][head]["C"] == 1.0
    assert "scikit-learn" in info["runtime"]
    assert info["created_at"]


async def test_health(client: httpx.AsyncClient, tiny_model: TinyModel) -> None:
    live = await client.get("/v1/health/live")
    assert (live.status_code, live.json()) == (200, {"status": "ok"})
    ready = await client.get("/v1/health/ready")
    assert (ready.status_code, ready.json()) == (200, {"status": "ready", "model_version": tiny_model.version})


async def scrape(client: httpx.AsyncClient) -> Samples:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_metrics_count_requests_sentences_and_latency(client: httpx.AsyncClient) -> None:
    before = await scrape(client)
    scored = 0
    for text in ("Der Euro legte zu. Anleger waren erleichtert.", "Die Regierung stürzt."):
        response = await client.post("/v1/classify", json={"text": text})
        assert response.status_code == 200
        scored += len(response.json()["documents"][0]["sentences"])
    assert scored == 3
    assert (await client.post("/v1/classify", json={"text": ""})).status_code == 422
    assert (await client.get("/v1/model")).status_code == 200
    after = await scrape(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    classify = {"route": "/v1/classify", "method": "POST"}
    assert delta("haltung_requests_total", **classify, status="200") == 2
    assert delta("haltung_requests_total", **classify, status="422") == 1
    assert delta("haltung_requests_total", route="/v1/model", method="GET", status="200") == 1
    assert delta("haltung_sentences_scored_total") == scored
    assert delta("haltung_request_duration_seconds_count", route="/v1/classify") == 3
    assert delta("haltung_request_duration_seconds_sum", route="/v1/classify") > 0
    assert delta("haltung_request_duration_seconds_bucket", route="/v1/classify", le="+Inf") == 3


async def test_metrics_name_the_served_model(client: httpx.AsyncClient, tiny_model: TinyModel) -> None:
    samples = await scrape(client)
    info = {labels: v for (name, labels), v in samples.items() if name == "haltung_model_info"}
    assert info == {(("version", tiny_model.version),): 1.0}


async def test_metrics_count_unknown_routes_without_their_path(client: httpx.AsyncClient) -> None:
    """Unknown paths share one label value, so scanners cannot blow up the metric's cardinality."""
    assert (await client.get("/wp-admin/setup.php")).status_code == 404
    samples = await scrape(client)
    routes = {dict(labels).get("route") for (name, labels) in samples if name == "haltung_requests_total"}
    assert "/wp-admin/setup.php" not in routes
    assert value(samples, "haltung_requests_total", route="unmatched", method="GET", status="404") >= 1


async def openapi(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    return response.json()


async def test_openapi_shows_the_reference_article_as_the_classify_example(client: httpx.AsyncClient) -> None:
    spec = await openapi(client)
    examples = spec["paths"]["/v1/classify"]["post"]["requestBody"]["content"]["application/json"]["examples"]
    first = next(iter(examples.values()))  # the one Swagger UI shows first
    assert first["value"]["text"] == REFERENCE.read_text(encoding="utf-8")
    assert {"name": "Russland", "aliases": ["Moskau", "Kreml"]} in first["value"]["targets"]


async def test_every_openapi_example_is_a_valid_request(client: httpx.AsyncClient) -> None:
    spec = await openapi(client)
    examples = spec["paths"]["/v1/classify"]["post"]["requestBody"]["content"]["application/json"]["examples"]
    for name, example in examples.items():
        response = await client.post("/v1/classify", json=example["value"])
        assert response.status_code == 200, f"{name}: {response.text}"


async def test_openapi_documents_every_endpoint(client: httpx.AsyncClient) -> None:
    paths = (await openapi(client))["paths"]
    assert {"/v1/classify", "/v1/model", "/v1/health/live", "/v1/health/ready", "/metrics"} <= set(paths)


async def test_docs_page(client: httpx.AsyncClient) -> None:
    response = await client.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "swagger" in response.text.lower()
    assert "/openapi.json" in response.text
