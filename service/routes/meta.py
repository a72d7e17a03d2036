"""Read-only endpoints: the served model, health probes, Prometheus metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST

from service.deps import MetricsDep, ModelDep, StoreDep
from service.errors import ApiError
from service.openapi import error_responses, link
from service.schemas import ModelInfo

router = APIRouter()
_PROMETHEUS_TEXT: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/plain": {"schema": {"type": "string"}}}, "description": "Prometheus text format"}
}
_VERSION_LINK: dict[int | str, dict[str, Any]] = {
    200: {
        "links": link(
            "ActivateServedVersion",
            "post",
            "/v1/models/{version}/activate",
            "activate this version again (a no-op move of `current`, recorded in the history)",
            version="$response.body#/version",
        )
    }
}


@router.get("/v1/model", response_model=ModelInfo, tags=["model"], responses=_VERSION_LINK | error_responses(503))
async def model_info(model: ModelDep) -> dict[str, Any]:
    """Version, heads and labels, training data summary and dev metrics of the served model."""
    m = model.manifest.to_json()  # what the bundle records, as it records it
    return {
        "version": model.version,
        "created_at": m.get("created_at"),
        "heads": {head: model.labels(head) for head in model.heads},
        "data": m.get("data", {}),
        "metrics": m.get("metrics", {}),
        "hyperparameters": m.get("hyperparameters", {}),
        "runtime": m.get("runtime", {}),
    }


@router.get("/v1/health/live", tags=["health"])
async def live() -> dict[str, str]:
    """The process answers."""
    return {"status": "ok"}


@router.get("/v1/health/ready", tags=["health"], responses=error_responses(503, notes={503: "no model loaded yet"}))
async def ready(store: StoreDep) -> dict[str, str | None]:
    """Ready only with a verified model loaded."""
    if store.model is None:
        raise ApiError(503, "not_ready", store.error or "no model loaded yet")
    return {"status": "ready", "model_version": store.model.version}


@router.get("/metrics", tags=["health"], response_class=Response, responses=_PROMETHEUS_TEXT)
async def metrics(m: MetricsDep) -> Response:
    """Prometheus text format (per worker process)."""
    return Response(m.render(), media_type=CONTENT_TYPE_LATEST)
