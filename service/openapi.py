"""The OpenAPI schema tells the truth: every error status a route can answer, each with the one error body.

Route decorators declare their errors: `responses=error_responses(*WRITE, 404, notes={404: "unknown job"})`.
Each status is documented with `ErrorResponse` (`{"error": {"code", "message", "details"}}`) and a default
description from `NOTES` unless a note is given. `tests/reliability/test_openapi_routes.py` walks every route
of the app and fails when one can answer a status it does not document: a JSON body or a POST (the guard):
400, 408, 413, 415; any parameter or body: 422; the API key: 401, 403; the model: 503. New routes are caught there.

`describe_limits` puts this server's own limits (settings) into its schema where JSON Schema can state them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

from service.schemas import ErrorResponse
from service.settings import Settings

Responses = dict[int | str, dict[str, Any]]

NOTES: dict[int, str] = {
    400: "the body is not valid JSON or not UTF-8 (malformed_json, invalid_encoding)",
    401: "missing or wrong API key (unauthorized): send `Authorization: Bearer <key>`",
    403: "write endpoints are disabled: HALTUNG_API_KEYS is empty (writes_disabled)",
    404: "not found",
    408: "the body did not arrive within HALTUNG_BODY_TIMEOUT (body_timeout); the connection is closed",
    409: "conflicts with the current state; nothing changed",
    413: "the body is larger than HALTUNG_MAX_BODY_BYTES (payload_too_large)",
    415: "the body is not sent as application/json (unsupported_media_type)",
    422: "the request does not match the schema (validation_error)",
    503: "not available right now",
}

GUARDED = (400, 408, 413, 415)  # what the request guard answers to any POST/PUT/PATCH before the route runs
BODY = (*GUARDED, 422)  # ... and a JSON body that does not validate
WRITE = (401, 403)  # the API key of write endpoints


# Headers an error status always carries: documented as required, so response checks hold the server to them.
HEADERS: dict[int, dict[str, str]] = {401: {"WWW-Authenticate": "`Bearer`: the scheme the API key is sent with"}}


def error_responses(
    *statuses: int,
    notes: Mapping[int, str] | None = None,
    headers: Mapping[int, Mapping[str, str]] | None = None,
    model: type[BaseModel] = ErrorResponse,
) -> Responses:
    """`responses=` entries documenting `statuses` (and those in `notes`) with the shared error body.

    `headers` adds headers an answer always carries, e.g. `headers={503: {"Retry-After": "seconds to wait"}}`;
    `model` is for a protocol that prescribes its own error body (the Open Inference Protocol's, say).
    """
    notes, headers = notes or {}, {**HEADERS, **(headers or {})}
    responses: Responses = {}
    for status in sorted({*statuses, *notes}):
        response: dict[str, Any] = {
            "model": model,
            "description": notes.get(status) or NOTES.get(status) or _phrase(status),
        }
        if status in headers:
            response["headers"] = {
                name: {"description": text, "required": True, "schema": {"type": "string"}}
                for name, text in headers[status].items()
            }
        responses[status] = response
    return responses


def link(name: str, method: str, path: str, description: str, **parameters: str) -> dict[str, Any]:
    """An OpenAPI link from a success answer to the operation it enables (fuzzers follow them, readers too).

    `parameters` map the target's parameters to runtime expressions, e.g. `label_id="$response.body#/ids/0"`.
    """
    ref = "#/paths/" + path.replace("~", "~0").replace("/", "~1") + "/" + method.lower()
    return {name: {"operationRef": ref, "parameters": parameters, "description": description}}


def _phrase(status: int) -> str:
    return HTTPStatus(status).phrase


def describe_limits(app: FastAPI, settings: Settings) -> None:
    """Generate the schema with this server's limits: the most targets and the largest `explain` (both 422)."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        schema = generate()  # FastAPI's cached schema (rebuilt when routes change); setting these is idempotent
        request = schema["components"]["schemas"]["ClassifyRequest"]["properties"]
        request["targets"]["maxItems"] = settings.max_targets
        request["explain"]["maximum"] = settings.max_explain
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
