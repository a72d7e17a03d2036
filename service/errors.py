"""One error shape for every failure: `{"error": {"code", "message", "details"}}`, and one table of statuses.

Domain failures are `training.HaltungError`s (the library's, and the service's own below); `STATUS`
says once which HTTP status and code each class answers with, and one registered handler applies it,
so routes raise and never translate. The most specific class in the table wins.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match

from training import (
    LABEL_RULE,
    ActivationConflict,
    BundleError,
    DataError,
    HaltungError,
    InvalidVersion,
    NoCurrentModel,
    TooManySentences,
    TrainingError,
    VersionNotFound,
)

log = logging.getLogger("haltung")


class ApiError(HaltungError):
    """A failure that only exists over HTTP (authentication, readiness ...), with its status and code."""

    def __init__(
        self, status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message, details)
        self.status, self.code, self.headers = status, code, headers


# --- the service's own domain failures ------------------------------------------------------------------------


class RetrainRunning(HaltungError):
    def __init__(self, job_id: str) -> None:
        super().__init__(f"retrain job {job_id} is still queued or running", {"job_id": job_id})
        self.job_id = job_id


class NoLabels(HaltungError):
    """A retrain needs stored labels."""


class LabelsRejected(HaltungError):
    """The batch was not stored; `errors` lists `{"row": i, "errors": [...]}` per bad row."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(f"{len(errors)} row(s) are invalid; nothing was stored.", errors)
        self.errors = errors


class InvalidCursor(HaltungError):
    pass


class StorageUnavailable(HaltungError):
    """The data or models disk refuses (full, read-only, unwritable, I/O error): nothing was changed, and the
    next request tries again, so the service recovers by itself once the disk is fine."""

    headers: ClassVar[dict[str, str]] = {"Retry-After": "10"}


# --- the one table: domain failure → HTTP status and error code ------------------------------------------------

STATUS: dict[type[HaltungError], tuple[int, str]] = {
    InvalidVersion: (422, "invalid_version"),
    VersionNotFound: (404, "version_not_found"),
    BundleError: (409, "model_refused"),  # tampered, other library versions: nothing changed
    ActivationConflict: (409, "activation_conflict"),
    NoCurrentModel: (409, "no_model"),
    DataError: (422, "invalid_data"),
    TrainingError: (422, "training_error"),
    RetrainRunning: (409, "retrain_running"),
    NoLabels: (409, "no_labels"),
    LabelsRejected: (422, "invalid_labels"),
    InvalidCursor: (400, "invalid_cursor"),
    TooManySentences: (413, "too_many_sentences"),
    StorageUnavailable: (503, "storage_unavailable"),
}


def rows_of(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rule errors at body.labels[i] as the label store reports them: `{"row": i, "errors": [...]}`."""
    rows: dict[int, list[str]] = {}
    for e in errors:
        rows.setdefault(int(e["loc"][2]), []).append(str(e["message"]))
    return [{"row": i, "errors": messages} for i, messages in sorted(rows.items())]


def status_of(exc: HaltungError) -> tuple[int, str]:
    """The status and code of the most specific class in `STATUS` (ApiError carries its own)."""
    if isinstance(exc, ApiError):
        return exc.status, exc.code
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500, "internal_error"


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


def error_response(status: int, code: str, message: str, details: Any = None, **kw: Any) -> JSONResponse:
    return JSONResponse(error_body(code, message, details), status_code=status, **kw)


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    503: "unavailable",
}


def allowed_methods(routes: list[BaseRoute], request: Request) -> list[str]:
    """The methods of the path's first matching template (Starlette's 405 names only its first route's).

    GET and POST /v1/labels are two routes of one template: both are listed. /v1/labels/export also fits
    /v1/labels/{label_id}, but routing takes the static template first, and so does this list.
    """
    matching = [r for r in iter_route_contexts(routes) if r.methods and r.matches(request.scope)[0] != Match.NONE]
    first = matching[0].path_format if matching else None
    return sorted({method for r in matching if r.path_format == first for method in r.methods or ()})


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(HaltungError)
    async def domain_error(_: Request, exc: HaltungError) -> JSONResponse:
        status, code = status_of(exc)
        if status == 500:
            log.error("unmapped domain error %s: %s", type(exc).__name__, exc)
            return error_response(500, "internal_error", "An unexpected error occurred; it has been logged.")
        return error_response(status, code, exc.message, exc.details, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": list(e.get("loc", ())), "type": e.get("type"), "message": e.get("msg")} for e in exc.errors()]
        if any(e["type"] == "json_invalid" for e in errors):
            return error_response(400, "malformed_json", "The request body is not valid JSON.", errors)
        if errors and all(e["type"] == LABEL_RULE and e["loc"][:2] == ["body", "labels"] for e in errors):
            # Well-formed labels that break a labelling rule (empty text, unknown label, no label): per row.
            rejected = LabelsRejected(rows_of(errors))
            return error_response(422, "invalid_labels", rejected.message, rejected.details)
        return error_response(422, "validation_error", "The request does not match the expected schema.", errors)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:
            headers = {**(headers or {}), "Allow": ", ".join(allowed_methods(app.routes, request))}
        return error_response(exc.status_code, code, message, headers=headers)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return error_response(500, "internal_error", "An unexpected error occurred; it has been logged.")
