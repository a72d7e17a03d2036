"""Model versions: list them, and activate one (rollback or forward) after verifying its bundle.

The listing never fails because of one bad bundle: a version whose manifest cannot be read or does not
fit the schema is listed as `broken` with the reason, and a damaged `current` pointer is reported as such.
"""

from __future__ import annotations

import os
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from service.deps import StoreDep, WriteAccess
from service.errors import StorageUnavailable
from service.openapi import GUARDED, WRITE, error_responses
from service.schemas import VERSION_PATTERN
from training import Activation, BundleError, ModelRepository, VersionEntry

router = APIRouter(prefix="/v1", tags=["model"])


class VersionOut(BaseModel):
    version: str
    created_at: str | None
    current: bool
    manifest: dict[str, Any] = Field(description="as stored; empty for a broken version")
    broken: bool = Field(False, description="the manifest cannot be read or does not fit the schema")
    error: str | None = Field(None, description="why the version is broken")


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
    current_error: str | None = Field(None, description="why models/current cannot be read, when it cannot")
    worker: WorkerOut
    versions: list[VersionOut] = Field(description="newest first")
    history: list[ActivationOut] = Field(default_factory=list, description="every activation, oldest first")


class Activated(BaseModel):
    version: str = Field(description="the version this worker now serves; the others follow within seconds")
    previous: str | None


@router.get("/models", response_model=ModelsOut)
async def models(store: StoreDep) -> dict[str, Any]:
    """Every complete bundle with its manifest, which one is current, and how `current` moved."""
    current, current_error, entries, history = await run_in_threadpool(_listing, store.repository)
    served = store.model.version if store.model else None
    return {
        "current": current,
        "current_error": current_error,
        "worker": {"pid": os.getpid(), "served_version": served},
        "versions": [_version(entry, current) for entry in entries],
        "history": [a.to_json() for a in history],
    }


def _version(entry: VersionEntry, current: str | None) -> dict[str, Any]:
    manifest = entry.manifest
    return {
        "version": entry.version,
        "created_at": manifest.created_at if manifest else None,
        "current": entry.version == current,
        "manifest": manifest.to_json() if manifest else {},
        "broken": manifest is None,
        "error": entry.error,
    }


def _listing(repository: ModelRepository) -> tuple[str | None, str | None, list[VersionEntry], list[Activation]]:
    current, current_error = None, None
    try:
        current = repository.current()
    except BundleError as err:  # a damaged pointer: say so, and list what is there
        current_error = err.message
    try:
        return current, current_error, repository.catalogue(), repository.history()
    except (BundleError, OSError) as err:
        raise StorageUnavailable(f"The models directory {repository} cannot be listed: {err}") from None


@router.post(
    "/models/{version}/activate",
    response_model=Activated,
    dependencies=[WriteAccess],
    responses=error_responses(
        *WRITE,
        *GUARDED,
        notes={
            404: "unknown version (version_not_found)",
            409: "bundle refused (SHA-256 mismatch, other library versions, damaged or unsafe model file, broken "
            "manifest), or `current` is not `expected_current`: nothing changed",
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
