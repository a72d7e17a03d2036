"""Dependencies: what routes get from `app.state`, and the API-key check of write endpoints.

All are `async def`: each is a cheap lookup, and a sync dependency would cost a thread hop per request.
"""

from __future__ import annotations

import hmac
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from service.errors import ApiError
from service.jobs import JobStore
from service.labels import LabelStore
from service.metrics import Metrics
from service.model_store import ModelStore
from service.pool import PoolStore
from service.retrainer import Retrainer
from service.settings import Settings
from training import HaltungModel, Segmenter

T = TypeVar("T")


def _state(request: Request, name: str, kind: type[T]) -> T:
    """`app.state.<name>`, checked to be what lifespan put there (app.state itself is untyped)."""
    value = getattr(request.app.state, name)
    assert isinstance(value, kind), f"app.state.{name} is {type(value).__name__}, not {kind.__name__}"
    return value


async def get_settings(request: Request) -> Settings:
    return _state(request, "settings", Settings)


async def get_store(request: Request) -> ModelStore:
    return _state(request, "store", ModelStore)


async def get_segmenter(request: Request) -> Segmenter:
    return _state(request, "segmenter", Segmenter)


async def get_metrics(request: Request) -> Metrics:
    return _state(request, "metrics", Metrics)


async def get_model(store: Annotated[ModelStore, Depends(get_store)]) -> HaltungModel:
    """The model to use for this whole request (a swap during the request does not affect it)."""
    model = store.model
    if model is None:
        raise ApiError(503, "no_model", store.error or "no model loaded yet", {"models_dir": str(store.repository)})
    return model


_bearer = HTTPBearer(auto_error=False)


async def require_api_key(
    settings: Annotated[Settings, Depends(get_settings)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Write endpoints need `Authorization: Bearer <key>` with a key from HALTUNG_API_KEYS."""
    if not settings.keys:
        raise ApiError(
            403,
            "writes_disabled",
            "Write endpoints are disabled: set HALTUNG_API_KEYS to one or more comma-separated keys to enable them.",
        )
    challenge = {"WWW-Authenticate": "Bearer"}
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise ApiError(401, "unauthorized", "Send 'Authorization: Bearer <key>'.", headers=challenge)
    given = credentials.credentials.encode()
    # Compare against every key, without stopping early, in constant time per key.
    matched = False
    for key in settings.keys:
        matched |= hmac.compare_digest(given, key.encode())
    if not matched:
        raise ApiError(401, "unauthorized", "The API key is not valid.", headers=challenge)


ModelDep = Annotated[HaltungModel, Depends(get_model)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[ModelStore, Depends(get_store)]
SegmenterDep = Annotated[Segmenter, Depends(get_segmenter)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
WriteAccess = Depends(require_api_key)


# Retraining (issue 4): the label store, the job records and the job runner, opened in lifespan.


async def get_labels(request: Request) -> LabelStore:
    return _state(request, "labels", LabelStore)


async def get_jobs(request: Request) -> JobStore:
    return _state(request, "jobs", JobStore)


async def get_retrainer(request: Request) -> Retrainer:
    return _state(request, "retrainer", Retrainer)


LabelsDep = Annotated[LabelStore, Depends(get_labels)]
JobsDep = Annotated[JobStore, Depends(get_jobs)]
RetrainerDep = Annotated[Retrainer, Depends(get_retrainer)]


# Review queue (issue 12): the pool of unlabelled sentences, opened in lifespan.


async def get_pool(request: Request) -> PoolStore:
    return _state(request, "pool", PoolStore)


PoolDep = Annotated[PoolStore, Depends(get_pool)]
