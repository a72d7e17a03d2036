"""Every route documents every error status it can answer, each with the one error body (issue 11, item 9).

The rules come from the route itself, so a route added later is checked without touching this file:
a POST/PUT/PATCH passes the request guard (400 malformed or not UTF-8, 413 too large, 415 not JSON); a
body or any parameter can fail validation (422); the API key dependency answers 401 and 403; the model
dependency answers 503. Declare them with `service.openapi.error_responses(...)` in the route decorator.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from service.app import create_app
from service.deps import get_model, require_api_key
from service.openapi import WRITE, error_responses
from service.schemas import VERSION_PATTERN, ErrorResponse
from service.settings import Settings
from training import InvalidVersion
from training.bundle import check_version_name

ERROR_REF = "#/components/schemas/ErrorResponse"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    """The app as built (no lifespan: the schema needs neither a model nor a database)."""
    tmp = tmp_path_factory.mktemp("openapi")
    return create_app(Settings(models_dir=tmp / "models", data_dir=tmp / "data"))


@pytest.fixture(scope="module")
def spec(app: FastAPI) -> dict[str, Any]:
    return app.openapi()


def api_routes(app: FastAPI) -> Iterator[tuple[str, str, APIRoute]]:
    """(METHOD, path, route) of every documented API route, inside included routers too."""
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute) and route.include_in_schema:
            for method in sorted(context.methods or ()):
                yield method, str(context.path), route


def dependants(dependant: Dependant) -> Iterator[Dependant]:
    """The route's dependant and all it depends on, at any depth."""
    yield dependant
    for dependency in dependant.dependencies:
        yield from dependants(dependency)


def calls(dependant: Dependant) -> set[Callable[..., Any]]:
    return {d.call for d in dependants(dependant) if d.call is not None}


def required_statuses(method: str, route: APIRoute) -> set[int]:
    """The error statuses this route can answer, read from what it is made of."""
    params = [
        param
        for d in dependants(route.dependant)
        for param in (*d.path_params, *d.query_params, *d.header_params, *d.cookie_params)
    ]
    needed: set[int] = set()
    if method in {"POST", "PUT", "PATCH"}:
        needed |= {400, 413, 415}
    if params or route.body_field is not None:
        needed.add(422)
    used = calls(route.dependant)
    if require_api_key in used:
        needed |= {401, 403}
    if get_model in used:
        needed.add(503)
    return needed


def codes(status: str) -> range:
    """The statuses a `responses` key covers: one ("404") or, as OpenAPI allows, a range ("4XX")."""
    return (
        range(int(status[0]) * 100, int(status[0]) * 100 + 100)
        if status.endswith("XX")
        else range(int(status), int(status) + 1)
    )


def test_the_app_has_routes_to_check(app: FastAPI) -> None:
    found = {(method, path) for method, path, _ in api_routes(app)}
    assert {("POST", "/v1/classify"), ("POST", "/v1/labels"), ("POST", "/v1/retrain")} <= found


def test_every_route_documents_every_status_it_can_answer(app: FastAPI, spec: dict[str, Any]) -> None:
    missing = {}
    for method, path, route in api_routes(app):
        documented = {code for status in spec["paths"][path][method.lower()]["responses"] for code in codes(status)}
        if lacking := required_statuses(method, route) - documented:
            missing[f"{method} {path}"] = sorted(lacking)
    assert missing == {}, "add them with service.openapi.error_responses(...) in the route decorator"


# A protocol that prescribes its own error body (the Open Inference Protocol's `{"error": string}`) documents
# it with error_responses(..., model=...); everything else answers, and documents, the service's one body.
OWN_ERROR_BODIES = ("v2",)  # first path segments


def test_every_documented_error_has_the_error_body(spec: dict[str, Any]) -> None:
    wrong = {}
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if codes(status)[0] >= 400:
                    schema = response.get("content", {}).get("application/json", {}).get("schema") or {}
                    refs = [str(one.get("$ref", "")) for one in schema.get("anyOf", [schema])]
                    own = path.split("/")[1] in OWN_ERROR_BODIES and all(r.startswith("#/components/") for r in refs)
                    if schema != {"$ref": ERROR_REF} and not own:
                        wrong[f"{method.upper()} {path} {status}"] = schema
    assert wrong == {}


def test_401_documents_its_challenge_header(spec: dict[str, Any]) -> None:
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if "401" in operation["responses"]:
                header = operation["responses"]["401"]["headers"]["WWW-Authenticate"]
                assert header["required"] is True, f"{method.upper()} {path}"


def test_every_operation_documents_a_success(spec: dict[str, Any]) -> None:
    without = [
        f"{method.upper()} {path}"
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        if not any(200 <= codes(status)[0] < 300 for status in operation["responses"])
    ]
    assert without == []


def test_fastapis_detail_body_is_gone(spec: dict[str, Any]) -> None:
    """FastAPI documents 422 as {"detail": [...]} unless told otherwise; the service never answers that."""
    schemas = spec["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas
    assert "HTTPValidationError" not in str(spec["paths"])


def test_the_error_body_is_one_shared_model(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    body = schemas["ErrorResponse"]
    assert body["required"] == ["error"] and body["additionalProperties"] is False
    info = schemas[body["properties"]["error"]["$ref"].rsplit("/", 1)[1]]
    assert set(info["required"]) == {"code", "message", "details"}
    assert info["properties"]["code"]["type"] == "string" and info["properties"]["message"]["type"] == "string"


def test_write_routes_are_marked_as_needing_the_key(app: FastAPI, spec: dict[str, Any]) -> None:
    """Clients and fuzzers learn from `security` which routes need `Authorization: Bearer <key>`."""
    for method, path, route in api_routes(app):
        operation = spec["paths"][path][method.lower()]
        needs_key = require_api_key in calls(route.dependant)
        assert ("security" in operation) == needs_key, f"{method} {path}"


def test_the_check_catches_a_route_without_error_docs(tmp_path: Path) -> None:
    """A route added without error_responses(...) is reported (the walk above is not vacuous)."""
    app = create_app(Settings(models_dir=tmp_path / "m", data_dir=tmp_path / "d"))

    @app.post("/v1/undocumented")
    async def undocumented(value: int) -> dict[str, int]:
        return {"value": value}

    spec = app.openapi()
    (method, path, route) = next(r for r in api_routes(app) if r[1] == "/v1/undocumented")
    documented = {int(s) for s in spec["paths"][path]["post"]["responses"]}
    assert required_statuses(method, route) - documented == {400, 413, 415}
    assert spec["paths"][path]["post"]["responses"]["422"]["content"]["application/json"]["schema"] != {
        "$ref": ERROR_REF
    }


VERSIONS = ["20261128-101500-ab12", "v1", "a.b_c-d", "9" * 64, "", ".hidden", "a..b", "a/b", "a b", "9" * 65, "ä"]


@pytest.mark.parametrize("version", VERSIONS)
def test_the_version_pattern_is_the_repositorys_rule(version: str) -> None:
    try:
        check_version_name(version)
        accepted = True
    except InvalidVersion:
        accepted = False
    assert bool(re.search(VERSION_PATTERN, version)) is accepted


def test_error_responses_documents_statuses_notes_and_headers() -> None:
    responses = error_responses(*WRITE, 404, notes={409: "busy"}, headers={503: {"Retry-After": "seconds"}})
    assert sorted(responses) == [401, 403, 404, 409]  # a note adds its status; headers alone do not
    assert all(r["model"] is ErrorResponse for r in responses.values())
    assert responses[409]["description"] == "busy" and responses[404]["description"] == "not found"
    assert responses[401]["headers"]["WWW-Authenticate"]["required"] is True
    with_retry = error_responses(503, headers={503: {"Retry-After": "seconds to wait"}})
    assert with_retry[503]["headers"]["Retry-After"] == {
        "description": "seconds to wait",
        "required": True,
        "schema": {"type": "string"},
    }
