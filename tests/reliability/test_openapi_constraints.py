"""The schema states the rules the server enforces, and the server keeps them (issue 11, item 9).

Each body is judged twice: by the published schema (with jsonschema-rs, the validator Schemathesis uses)
and by the real app with a real tiny model. The two verdicts must agree, so the schema neither promises
what the server refuses nor hides what it accepts. Strict booleans: `{"force": 0}` and `"yes"` are 422.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import jsonschema_rs
import pytest
import pytest_asyncio

from service.schemas import VERSION_PATTERN
from service.settings import Settings
from tests.service.conftest import running_client
from tests.tiny_model import save_tiny_model

pytestmark = pytest.mark.asyncio(loop_scope="session")

KEY = "openapi-test-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
MAX_TARGETS, MAX_EXPLAIN = 3, 2


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def client(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[httpx.AsyncClient]:
    tmp = tmp_path_factory.mktemp("openapi-constraints")
    save_tiny_model(tmp / "models")
    settings = Settings(
        models_dir=tmp / "models",
        data_dir=tmp / "data",
        api_keys=KEY,
        reload_interval=3600,
        train_fast=True,  # the one retrain a test starts uses the one-point grid
        max_targets=MAX_TARGETS,
        max_explain=MAX_EXPLAIN,
    )
    async with running_client(settings) as (_, client):
        yield client


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def spec(client: httpx.AsyncClient) -> dict[str, Any]:
    return (await client.get("/openapi.json")).json()


def valid(spec: dict[str, Any], component: str, body: Any) -> bool:
    """Whether the published schema accepts `body` as `component`."""
    schema = {"$ref": f"#/components/schemas/{component}", "components": spec["components"]}
    return bool(jsonschema_rs.Draft202012Validator(schema).is_valid(body))


CLASSIFY = [
    ({"text": "Der Euro legte zu."}, True),
    ({"sentences": ["Der Euro legte zu."], "text": None}, True),  # null counts as left out
    ({"documents": [{"text": "Der Euro legte zu."}], "sentences": None, "text": None}, True),
    ({}, False),  # none of the three
    ({"text": "Der Euro legte zu.", "sentences": ["Er fiel."]}, False),  # two of them
    ({"text": "Der Euro legte zu.", "documents": [{"text": "Er fiel."}], "sentences": ["Er fiel."]}, False),
    ({"text": None}, False),
    ({"text": "   \n"}, False),  # blank
    ({"sentences": ["Der Euro legte zu.", " "]}, False),
    ({"sentences": []}, False),
    ({"documents": [{"text": "\t"}]}, False),
    ({"text": "Russland droht.", "targets": ["  Russland  "]}, True),  # names are trimmed
    ({"text": "Russland droht.", "targets": ["   "]}, False),
    ({"text": "Russland droht.", "targets": [" " * 5 + "R" * 300 + " " * 5]}, True),  # 300 once trimmed
    ({"text": "Russland droht.", "targets": ["R" * 301]}, False),
    ({"text": "Russland droht.", "targets": [{"name": "Russland", "aliases": [" "]}]}, False),
    ({"text": "Russland droht.", "targets": ["A", "B", "C"]}, True),
    ({"text": "Russland droht.", "targets": ["A", "B", "C", "D"]}, False),  # HALTUNG_MAX_TARGETS
    ({"text": "Russland droht.", "explain": MAX_EXPLAIN}, True),
    ({"text": "Russland droht.", "explain": MAX_EXPLAIN + 1}, False),  # HALTUNG_MAX_EXPLAIN
    ({"text": "Russland droht.", "explain": -1}, False),
    ({"text": "Russland droht.", "explain": float(MAX_EXPLAIN)}, True),  # a whole JSON number is an integer
    ({"text": "Russland droht.", "explain": 1.5}, False),
    ({"text": "Russland droht.", "explain": True}, False),  # strict: a boolean is not a number
    ({"text": "Russland droht.", "explain": "1"}, False),
    ({"text": "Russland droht.", "unmentioned": "maybe"}, False),
    ({"text": "Russland droht.", "colour": "red"}, False),  # unknown fields are refused
]


@pytest.mark.parametrize(("body", "expected"), CLASSIFY)
async def test_classify_schema_and_server_agree(
    client: httpx.AsyncClient, spec: dict[str, Any], body: dict[str, Any], expected: bool
) -> None:
    assert valid(spec, "ClassifyRequest", body) is expected
    response = await client.post("/v1/classify", json=body)
    assert response.status_code == (200 if expected else 422), response.text
    if not expected:
        assert response.json()["error"]["code"] == "validation_error"


async def test_one_of_is_described_and_explained(client: httpx.AsyncClient, spec: dict[str, Any]) -> None:
    request = spec["components"]["schemas"]["ClassifyRequest"]
    assert [branch["required"] for branch in request["oneOf"]] == [["text"], ["documents"], ["sentences"]]
    assert "Exactly one of" in request["description"]
    response = await client.post("/v1/classify", json={"text": "Ein Satz.", "sentences": ["Noch einer."]})
    assert "exactly one of 'text', 'documents' or 'sentences'" in response.json()["error"]["details"][0]["message"]


LABELS = [
    ({"text": "Der Euro legte zu.", "sentiment": "positive"}, True),
    ({"text": "Russland droht.", "target": "Russland", "stance": "against", "sentiment": "negative"}, True),
    ({"text": "Der Euro legte zu.", "sentiment": " positive ", "stance": ""}, True),  # trimmed; blank is none
    ({"text": "Der Euro legte zu.", "sentiment": "positive", "target": " " * 3}, True),
    ({"text": "", "sentiment": "positive"}, False),  # non-empty label text
    ({"text": "  \n ", "sentiment": "positive"}, False),
    ({"text": "Der Euro legte zu."}, False),  # no label
    ({"text": "Der Euro legte zu.", "sentiment": None, "stance": "  "}, False),
    ({"text": "Der Euro legte zu.", "sentiment": "great"}, False),
    ({"text": "Der Euro legte zu.", "sentiment": "positive", "id": "-leading-dash"}, False),
    ({"text": "Der Euro legte zu.", "sentiment": "positive", "target": "T" * 301}, False),
    ({"text": "Der Euro legte zu.", "sentiment": "positive", "source": "web"}, False),
]


@pytest.mark.parametrize(("row", "expected"), LABELS)
async def test_label_schema_and_server_agree(
    client: httpx.AsyncClient, spec: dict[str, Any], row: dict[str, Any], expected: bool
) -> None:
    assert valid(spec, "LabelsIn", {"labels": [row]}) is expected
    response = await client.post("/v1/labels", json={"labels": [row]}, headers=AUTH)
    assert response.status_code == (201 if expected else 422), response.text


@pytest.mark.parametrize("force", [0, 1, "yes", "true", "false", None, [], {}])
async def test_retrain_force_is_a_strict_boolean(client: httpx.AsyncClient, spec: dict[str, Any], force: Any) -> None:
    assert not valid(spec, "RetrainIn", {"force": force})
    response = await client.post("/v1/retrain", json={"force": force}, headers=AUTH)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["details"][0]["loc"] == ["body", "force"]


async def test_retrain_accepts_a_real_boolean(client: httpx.AsyncClient, spec: dict[str, Any]) -> None:
    """`{"force": false}` passes validation and starts a job; the 202 carries its documented Location."""
    assert valid(spec, "RetrainIn", {"force": False})
    label = {"labels": [{"text": "Der Euro legte zu.", "sentiment": "positive"}]}
    assert (await client.post("/v1/labels", json=label, headers=AUTH)).status_code == 201
    response = await client.post("/v1/retrain", json={"force": False}, headers=AUTH)
    assert response.status_code == 202, response.text
    assert response.headers["location"] == f"/v1/jobs/{response.json()['job_id']}"
    assert (await client.get(response.headers["location"])).status_code == 200


async def test_the_version_pattern_is_in_the_schema(client: httpx.AsyncClient, spec: dict[str, Any]) -> None:
    parameters = spec["paths"]["/v1/models/{version}/activate"]["post"]["parameters"]
    version = next(p for p in parameters if p["name"] == "version")
    assert version["schema"]["pattern"] == VERSION_PATTERN
    response = await client.post("/v1/models/a..b/activate", headers=AUTH)
    assert (response.status_code, response.json()["error"]["code"]) == (422, "invalid_version")


ERRORS = [  # (method, path, documented as, request, status)
    ("POST", "/v1/classify", None, {"content": b"{", "headers": {"Content-Type": "application/json"}}, 400),
    ("POST", "/v1/classify", None, {"content": b"text", "headers": {"Content-Type": "text/plain"}}, 415),
    ("POST", "/v1/classify", None, {"json": {"text": "x" * 2_000_000}}, 413),
    ("POST", "/v1/classify", None, {"json": {}}, 422),
    ("POST", "/v1/labels", None, {"json": {"labels": [{"text": "x", "stance": "against"}]}}, 401),
    ("DELETE", "/v1/labels/unknown", "/v1/labels/{label_id}", {"headers": AUTH}, 404),
    ("GET", "/v1/jobs/unknown", "/v1/jobs/{job_id}", {}, 404),
    ("GET", "/v1/labels", None, {"params": {"cursor": "not-a-cursor"}}, 400),
    ("GET", "/v1/labels", None, {"params": {"limit": 0}}, 422),
    ("POST", "/v1/models/no-such-version/activate", "/v1/models/{version}/activate", {"headers": AUTH}, 404),
]


@pytest.mark.parametrize(("method", "path", "template", "request_kw", "status"), ERRORS)
async def test_error_answers_are_documented_and_match_the_error_schema(
    client: httpx.AsyncClient,
    spec: dict[str, Any],
    method: str,
    path: str,
    template: str | None,
    request_kw: dict[str, Any],
    status: int,
) -> None:
    response = await client.request(method, path, **request_kw)
    assert response.status_code == status, response.text
    assert valid(spec, "ErrorResponse", response.json())
    assert str(status) in spec["paths"][template or path][method.lower()]["responses"], f"{status} undocumented"


async def test_405_allows_every_method_of_the_path(client: httpx.AsyncClient) -> None:
    """Starlette's own 405 names only the first route's methods; GET and POST /v1/labels are two routes."""
    response = await client.request("PUT", "/v1/labels", json={})
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"
    assert (await client.request("PUT", "/v1/labels/export")).headers["allow"] == "GET"


async def test_401_sends_its_documented_challenge(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/labels", json={"labels": [{"text": "Ein Satz.", "stance": "favor"}]})
    assert (response.status_code, response.headers["www-authenticate"]) == (401, "Bearer")
