"""Model versions: list them, and activate one (rollback or forward) after verifying its bundle."""

from __future__ import annotations

import os
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from service.deps import StoreDep, WriteAccess
from service.errors import ApiError
from service.routes.labels import WRITE_ERRORS
from training.bundle import MANIFEST_FILE, BundleError, bundle_dir, current_version, list_versions

router = APIRouter(prefix="/v1", tags=["model"])


class VersionOut(BaseModel):
    version: str
    created_at: str | None
    current: bool
    manifest: dict[str, Any]


class WorkerOut(BaseModel):
    pid: int = Field(description="the worker process that answered (each worker follows `current` on its own)")
    served_version: str | None


class ModelsOut(BaseModel):
    current: str | None = Field(description="the version models/current points at")
    worker: WorkerOut
    versions: list[VersionOut] = Field(description="newest first")


class Activated(BaseModel):
    version: str = Field(description="the version this worker now serves; the others follow within seconds")
    previous: str | None


def _versions(models_dir: Any) -> tuple[str | None, list[dict[str, Any]]]:
    try:
        current = current_version(models_dir)
    except BundleError:
        current = None
    return current, list_versions(models_dir)


@router.get("/models", response_model=ModelsOut)
async def models(store: StoreDep) -> dict:
    """Every complete bundle with its manifest, and which one is current."""
    current, manifests = await run_in_threadpool(_versions, store.models_dir)
    served = store.model.version if store.model else None
    return {
        "current": current,
        "worker": {"pid": os.getpid(), "served_version": served},
        "versions": [
            {"version": v, "created_at": m.get("created_at"), "current": v == current, "manifest": m}
            for m in manifests
            for v in [m["version"]]
        ],
    }


@router.post(
    "/models/{version}/activate",
    response_model=Activated,
    dependencies=[WriteAccess],
    responses={
        **WRITE_ERRORS,
        404: {"description": "unknown version"},
        409: {"description": "bundle refused (SHA-256 mismatch, other library versions): nothing changed"},
        422: {"description": "not a valid version name"},
    },
)
async def activate(version: str, store: StoreDep) -> dict:
    """Verify the bundle's SHA-256, load it, then point `current` at it; a refused bundle changes nothing."""
    try:
        directory = bundle_dir(store.models_dir, version)
    except BundleError as err:
        raise ApiError(422, "invalid_version", str(err), {"pattern": "[0-9A-Za-z][0-9A-Za-z_.-]{0,63}"}) from None
    if not await run_in_threadpool((directory / MANIFEST_FILE).is_file):
        raise ApiError(404, "version_not_found", f"no model version {version!r}")
    previous = store.model.version if store.model else None
    try:
        model = await run_in_threadpool(store.activate, version)
    except (BundleError, OSError, ValueError) as err:
        raise ApiError(
            409, "model_refused", f"Model {version} was not activated: {err}", {"serving": previous}
        ) from None
    return {"version": model.version, "previous": previous}
