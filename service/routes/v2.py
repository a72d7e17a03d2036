"""Open Inference Protocol (KServe V2 REST) under `/v2`, so KServe, Seldon and Triton clients can call Haltung.

One model, `haltung`; input `text` (BYTES, one sentence per element, as `/v1/classify`'s `sentences`);
request or input parameters `targets`, `explain`, `unmentioned`; outputs per head (see `service.inference_protocol`).
Scoring is the `/v1/classify` code path (`training.segment` + `training.analyse` with the model of
`app.state`). Everything under `/v2` answers errors in the protocol's shape, `{"error": "<message>"}`,
not the `{"error": {"code", ...}}` of `/v1` (only the request guard's 413/415/400, which run before
routing, keep the service's shape).

A version other than the served one is a 404, never loaded on demand: a worker serves exactly one
verified model and follows `models/current` (activation is a keyed, audited write: `POST
/v1/models/{version}/activate`); loading bundles for anonymous readers would cost memory and CPU per
version and bypass that.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from typing import Annotated, Any

from fastapi import APIRouter, Body, FastAPI, Path, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Message

from service.binary_tensors import HEADER, binary_outputs, binary_response, to_json_request
from service.deps import MetricsDep, SegmenterDep, SettingsDep, StoreDep
from service.errors import status_of
from service.inference_protocol import (
    MODEL_NAME,
    InferenceRequest,
    ProtocolError,
    model_metadata,
    parse_request,
    response_outputs,
)
from service.model_store import ModelStore
from service.schemas import VERSION_PATTERN
from training import HaltungError, HaltungModel, analyse, segment

log = logging.getLogger("haltung")


def protocol_error(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for e in exc.errors():
        where = ".".join(str(p) for p in e.get("loc", ()) if p != "body")
        parts.append(f"{where}: {e.get('msg')}" if where else str(e.get("msg")))
    return "invalid inference request: " + "; ".join(parts)


def _with_json_body(request: Request, body: bytes) -> Request:
    """The same request (and request state) with `body` as its JSON body."""
    request.scope.setdefault("state", {})  # shared with the copy: the access log reads it
    skip = {b"content-length", b"content-type", HEADER.encode()}
    headers = [(k, v) for k, v in request.scope["headers"] if k.lower() not in skip]
    scope = {**request.scope, "headers": [*headers, (b"content-type", b"application/json")]}

    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    return Request(scope, receive)


class ProtocolRoute(APIRoute):
    """Turns every failure of a `/v2` route into the protocol's `{"error": "..."}` with its status."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                if HEADER in request.headers:  # the binary tensor data extension: made a JSON request first
                    body = to_json_request(await request.body(), request.headers[HEADER])
                    request = _with_json_body(request, body)
                return await handler(request)
            except ProtocolError as exc:
                return protocol_error(exc.status, exc.message)
            except RequestValidationError as exc:
                if not any(e.get("type") == "json_invalid" for e in exc.errors()):
                    return protocol_error(400, _validation_message(exc))
                return protocol_error(400, "malformed JSON body")
            except HaltungError as exc:
                status, _ = status_of(exc)
                if status == 500:
                    log.error("unmapped domain error %s: %s", type(exc).__name__, exc)
                    return protocol_error(500, "internal error; it has been logged")
                # The protocol answers a failed request with 400; only statuses with a meaning of their own stay.
                return protocol_error(400 if status == 422 else status, exc.message)
            except StarletteHTTPException as exc:
                return protocol_error(exc.status_code, str(exc.detail))
            except Exception:
                log.exception("unhandled error in %s", request.url.path)
                return protocol_error(500, "internal error; it has been logged")

        return route


class ProtocolErrorBody(BaseModel):
    """The Open Inference Protocol's error body."""

    error: str = Field(description="what went wrong", examples=["unknown model 'x'"])


_ERROR = {"model": ProtocolErrorBody}
# strict_content_type=False: a body without Content-Type is JSON (tritonclient sends none). The "4XX" entry also
# keeps FastAPI from documenting a 422 these routes never send (invalid requests are 400 here).
router = APIRouter(
    prefix="/v2",
    tags=["open inference protocol"],
    route_class=ProtocolRoute,
    strict_content_type=False,
    responses={"4XX": {"description": 'client errors, as {"error": "<message>"}', **_ERROR}},
)
ModelName = Annotated[str, Path(description=f"the one model served: {MODEL_NAME}", examples=[MODEL_NAME])]
# The pattern is documented; the route checks it itself (a 400 in the protocol's shape, not FastAPI's 422).
VersionName = Annotated[
    str, Path(description="the served version (GET /v2/models/haltung)", json_schema_extra={"pattern": VERSION_PATTERN})
]
_MODEL_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "a malformed version name", **_ERROR},
    404: {"description": "unknown model, or a version that is not the served one", **_ERROR},
    503: {"description": "no model loaded yet", **_ERROR},
}


def _server_version() -> str:
    try:
        return package_version("haltung")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "unknown"


async def _served(store: ModelStore, model_name: str, version: str | None) -> HaltungModel:
    """The served model if the path names it (`haltung`, no version or the served one); else 404/503."""
    if model_name != MODEL_NAME:
        raise ProtocolError(404, f"unknown model {model_name!r}: this server serves one model, {MODEL_NAME!r}")
    model = store.model
    if model is None:
        raise ProtocolError(503, store.error or "no model loaded yet")
    if version is None or version == model.version:
        return model
    if await run_in_threadpool(store.repository.exists, version):  # InvalidVersion: 400
        raise ProtocolError(
            404,
            f"model version {version!r} is in the repository but not loaded: this server serves {model.version!r}. "
            f"Activate it with POST /v1/models/{version}/activate (API key) to serve it.",
        )
    raise ProtocolError(404, f"unknown model version {version!r}: this server serves {model.version!r}")


@router.get("/health/live")
async def server_live() -> dict[str, bool]:
    """The process answers (Kubernetes livenessProbe)."""
    return {"live": True}


@router.get("/health/ready", responses={503: {"description": "no model loaded yet", **_ERROR}})
async def server_ready(store: StoreDep) -> JSONResponse:
    """Ready with a verified model loaded (Kubernetes readinessProbe)."""
    if store.model is None:
        return protocol_error(503, store.error or "no model loaded yet", ready=False)
    return JSONResponse({"ready": True})


@router.get("")
async def server_metadata() -> dict[str, Any]:
    """Server name, version and protocol extensions: the binary tensor data extension (Triton's)."""
    return {"name": "haltung", "version": _server_version(), "extensions": ["binary_tensor_data"]}


@router.get("/models/{model_name}", responses=_MODEL_ERRORS)
async def metadata(model_name: ModelName, store: StoreDep, settings: SettingsDep) -> dict[str, Any]:
    """Inputs, parameters and outputs of the served model; `versions` lists the one version it serves."""
    return model_metadata(await _served(store, model_name, None), settings.max_targets)


@router.get("/models/{model_name}/versions/{version}", responses=_MODEL_ERRORS)
async def version_metadata(
    model_name: ModelName, version: VersionName, store: StoreDep, settings: SettingsDep
) -> dict[str, Any]:
    return model_metadata(await _served(store, model_name, version), settings.max_targets)


async def _model_ready(store: StoreDep, model_name: str, version: str | None) -> dict[str, Any]:
    model = await _served(store, model_name, version)
    return {"name": MODEL_NAME, "version": model.version, "ready": True}


@router.get("/models/{model_name}/ready", responses=_MODEL_ERRORS)
async def model_ready(model_name: ModelName, store: StoreDep) -> dict[str, Any]:
    return await _model_ready(store, model_name, None)


@router.get("/models/{model_name}/versions/{version}/ready", responses=_MODEL_ERRORS)
async def version_ready(model_name: ModelName, version: VersionName, store: StoreDep) -> dict[str, Any]:
    return await _model_ready(store, model_name, version)


_INFER_ERRORS: dict[int | str, dict[str, Any]] = {
    **_MODEL_ERRORS,
    400: {"description": "not a valid inference request for this model, or a body that is not UTF-8", **_ERROR},
    413: {"description": "more sentences than HALTUNG_MAX_SENTENCES (articles: HALTUNG_MAX_DOCUMENTS)", **_ERROR},
    415: {"description": "a Content-Type other than JSON", **_ERROR},
}
_EXAMPLE = {
    "sentences": {
        "summary": "Two sentences, stance toward Russland (aliases as a JSON string parameter)",
        "value": {
            "id": "42",
            "parameters": {"targets": '[{"name": "Russland", "aliases": ["Moskau", "Kreml"]}]'},
            "inputs": [
                {
                    "name": "text",
                    "shape": [2],
                    "datatype": "BYTES",
                    "data": ["Der Kreml droht dem Westen.", "Der Euro legte deutlich zu."],
                }
            ],
        },
    }
}


async def _infer(
    body: InferenceRequest,
    request: Request,
    model: HaltungModel,
    segmenter: SegmenterDep,
    settings: SettingsDep,
    metrics: MetricsDep,
) -> Response:
    parsed = parse_request(body, settings)

    def work() -> dict[str, Any]:
        if parsed.split:
            articles = [(str(i), text) for i, text in enumerate(parsed.texts)]
            docs = segment(segmenter, documents=articles, max_sentences=settings.max_sentences)
        else:
            docs = segment(segmenter, sentences=parsed.texts, max_sentences=settings.max_sentences)
        return analyse(model, docs, parsed.targets, parsed.explain, parsed.unmentioned)

    result = await run_in_threadpool(work)
    rows = [(i, s) for i, doc in enumerate(result["documents"]) for s in doc["sentences"]]
    sentences = [s for _, s in rows]
    metrics.sentences.inc(len(sentences))
    request.state.sentences = len(sentences)
    request.state.model_version = model.version
    outputs = response_outputs(model, parsed, sentences, [i for i, _ in rows])
    payload = {
        "model_name": MODEL_NAME,
        "model_version": model.version,
        "id": body.id or "",
        "outputs": outputs,
    }
    binary = binary_outputs(body, [o["name"] for o in outputs])
    return binary_response(payload, binary) if binary else JSONResponse(payload)


@router.post("/models/{model_name}/infer", responses=_INFER_ERRORS)
async def infer(
    model_name: ModelName,
    body: Annotated[InferenceRequest, Body(openapi_examples=_EXAMPLE)],
    request: Request,
    store: StoreDep,
    segmenter: SegmenterDep,
    settings: SettingsDep,
    metrics: MetricsDep,
) -> Response:
    """Sentiment (and stance toward `targets`) of every element of `text`, as output tensors."""
    model = await _served(store, model_name, None)
    return await _infer(body, request, model, segmenter, settings, metrics)


@router.post("/models/{model_name}/versions/{version}/infer", responses=_INFER_ERRORS)
async def version_infer(
    model_name: ModelName,
    version: VersionName,
    body: Annotated[InferenceRequest, Body(openapi_examples=_EXAMPLE)],
    request: Request,
    store: StoreDep,
    segmenter: SegmenterDep,
    settings: SettingsDep,
    metrics: MetricsDep,
) -> Response:
    model = await _served(store, model_name, version)
    return await _infer(body, request, model, segmenter, settings, metrics)


@router.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
async def unknown(path: str, request: Request) -> JSONResponse:
    """Anything else under /v2: 405 for a known path and another method, else 404 (the protocol's error shape)."""
    allowed = sorted(
        method
        for route in router.routes
        if isinstance(route, APIRoute) and route.endpoint is not unknown and route.path_regex.match(request.url.path)
        for method in route.methods or ()
    )
    if allowed:
        message = f"{request.method} is not allowed on /v2/{path}; use {', '.join(allowed)}"
        return JSONResponse({"error": message}, status_code=405, headers={"Allow": ", ".join(allowed)})
    return protocol_error(404, f"no endpoint {request.method} /v2/{path} in the Open Inference Protocol API")


def describe_served_version(app: FastAPI) -> None:
    """Generate the schema with the served version as the example of every `/v2` `{version}` parameter.

    The served version is only known at run time; with it, /docs and example-driven fuzzers (Schemathesis'
    examples phase) reach the versioned routes' 2xx answers instead of only their 404s.
    """
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        schema = generate()  # FastAPI's cached schema: setting the example again is idempotent
        store = getattr(app.state, "store", None)
        served = store.model.version if isinstance(store, ModelStore) and store.model is not None else None
        for path, operations in schema.get("paths", {}).items():
            if not path.startswith("/v2/") or "{version}" not in path:
                continue
            for operation in operations.values():
                for parameter in operation.get("parameters", []):
                    if parameter.get("name") == "version":
                        parameter["schema"].pop("examples", None)
                        if served:
                            parameter["schema"]["examples"] = [served]
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
