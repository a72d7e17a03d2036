"""Model versions: list them, and activate one (rollback or forward) after verifying its bundle."""

from __future__ import annotations

import os
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from service.deps import StoreDep, WriteAccess
from service.openapi import GUARDED, WRITE, error_responses
from service.schemas import VERSION_PATTERN
from training import Activation, BundleError, Manifest, ModelRepository

router = APIRouter(prefix="/v1", tags=["model"])


class VersionOut(BaseModel):
    version: str
    created_at: str | None
    current: bool
    manifest: dict[str, Any]


class WorkerOut(BaseModel):
    pid: int = Field(description="the worker process that answered (each worker follows `current` on its own)")
    served_version: str | None


class ActivationOut(BaseModel):
    version: str
    previous: str | None
    by: str = Field(description="who or what moved `current`: api, cli, train, seed, retrain <job id>")
    at: str


class ModelsOut(BaseModel):
    current: str | None = Field(description="the version models/current points at")
    worker: WorkerOut
    versions: list[VersionOut] = Field(description="newest first")
    history: list[ActivationOut] = Field(default_factory=list, description="every activation, oldest first")


class Activated(BaseModel):
    version: str = Field(description="the version this worker now serves; the others follow within seconds")
    previous: str | None


@router.get("/models", response_model=ModelsOut)
async def models(store: StoreDep) -> dict[str, Any]:
    """Every complete bundle with its manifest, which one is current, and how `current` moved."""
    current, manifests, history = await run_in_threadpool(_listing, store.repository)
    served = store.model.version if store.model else None
    return {
        "current": current,
        "worker": {"pid": os.getpid(), "served_version": served},
        "versions": [
            {"version": m.version, "created_at": m.created_at, "current": m.version == current, "manifest": m.to_json()}
            for m in manifests
        ],
        "history": [a.to_json() for a in history],
    }


def _listing(repository: ModelRepository) -> tuple[str | None, list[Manifest], list[Activation]]:
    try:
        current = repository.current()
    except BundleError:  # a damaged pointer: list what is there
        current = None
    return current, repository.versions(), repository.history()


@router.post(
    "/models/{version}/activate",
    response_model=Activated,
    dependencies=[WriteAccess],
    responses=error_responses(
        *WRITE,
        *GUARDED,
        notes={
            404: "unknown version (version_not_found)",
            409: "bundle refused (SHA-256 mismatch, other library versions), or `current` is not "
            "`expected_current`: nothing changed",
            422: "not a valid version name (invalid_version)",
        },
    ),
)
async def activate(
    version: Annotated[str, Path(json_schema_extra={"pattern": VERSION_PATTERN})],
    store: StoreDep,
    expected_current: Annotated[
        str | None, Query(max_length=64, description="activate only if this version is current (compare-and-swap)")
    ] = None,
) -> dict[str, Any]:
    """Verify the bundle's SHA-256, load it, then point `current` at it; a refused bundle changes nothing."""
    previous = store.model.version if store.model else None
    await run_in_threadpool(partial(store.activate, version, by="api", expected_current=expected_current))
    return {"version": version, "previous": previous}
