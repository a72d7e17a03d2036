"""Label Studio ML backend API under `/labelstudio`: health, setup, predict (pre-annotations), webhook (labels).

Label Studio calls these as it calls any ML backend (HumanSignal/label-studio-ml-backend, `api.py`):
connect it with the URL `http://<haltung>/labelstudio`. `/predict` scores tasks with the `/v1/classify`
code path; `/webhook` stores annotations through the validation and store of `POST /v1/labels` and
needs an API key like every write: `Authorization: Bearer <key>` (a project webhook's custom header) or
HTTP Basic auth with the key as password (the ML backend connection's "Basic auth" setting).
Errors have the service's shape, `{"error": {"code", "message", "details"}}`.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from service.deps import LabelsDep, MetricsDep, ModelDep, RetrainerDep, SegmenterDep, SettingsDep, StoreDep
from service.errors import ApiError, RetrainRunning
from service.labelstudio import (
    ConfigError,
    LabelConfig,
    annotation_row,
    prediction,
    task_target,
    task_text,
)
from service.openapi import BODY, WRITE, error_responses
from service.routes.labels import MAX_BATCH, LabelsIn
from service.schemas import ClassifyRequest
from training import HaltungError, HaltungModel, Segmenter, analyse, segment

log = logging.getLogger("haltung")
router = APIRouter(prefix="/labelstudio", tags=["label studio"])

ANNOTATION_EVENTS = {"ANNOTATION_CREATED", "ANNOTATIONS_CREATED", "ANNOTATION_UPDATED"}
TRAIN_EVENT = "START_TRAINING"


async def require_webhook_key(request: Request, settings: SettingsDep) -> None:
    """An API key from HALTUNG_API_KEYS as a Bearer token or as the password of HTTP Basic auth."""
    if not settings.keys:
        raise ApiError(
            403, "writes_disabled", "The webhook stores labels: set HALTUNG_API_KEYS to enable it (nothing stored)."
        )
    challenge = {"WWW-Authenticate": 'Basic realm="haltung", Bearer'}
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    given: str | None = None
    if scheme.lower() == "bearer":
        given = value.strip()
    elif scheme.lower() == "basic":
        try:
            given = base64.b64decode(value.strip(), validate=True).decode().partition(":")[2]
        except (binascii.Error, UnicodeDecodeError):
            given = None
    if not given:
        message = "Send the API key: 'Authorization: Bearer <key>', or Basic auth with the key as password."
        raise ApiError(401, "unauthorized", message, headers=challenge)
    matched = False
    for key in settings.keys:  # every key, without stopping early
        matched |= hmac.compare_digest(given.encode(), key.encode())
    if not matched:
        raise ApiError(401, "unauthorized", "The API key is not valid.", headers=challenge)


class Task(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: int | str | None = None
    data: dict[str, Any] = Field(description="the task's data: `text` (or the config's text field), `target`")


class PredictIn(BaseModel):
    """What Label Studio sends to `/predict` (label_studio/ml/api_connector.py, `make_predictions`)."""

    model_config = ConfigDict(extra="allow")

    tasks: list[Task]
    label_config: str | None = Field(None, description="the project's labelling config (XML)")
    project: str | None = None
    params: dict[str, Any] | None = None


class SetupIn(BaseModel):
    model_config = ConfigDict(extra="allow")

    project: str | None = None
    schema_: str | None = Field(None, alias="schema", description="the project's labelling config (XML)")


class ValidateIn(BaseModel):
    model_config = ConfigDict(extra="allow")

    config: str


class WebhookIn(BaseModel):
    """A Label Studio webhook event: `action`, and for annotation events `annotation`, `task`, `project`."""

    model_config = ConfigDict(extra="allow")

    action: str
    annotation: dict[str, Any] | list[dict[str, Any]] | None = None
    task: dict[str, Any] | list[dict[str, Any]] | None = None
    project: dict[str, Any] | None = None


_TASK = {"id": 1, "data": {"text": "Russland ist kein verlässlicher Partner.", "target": "Russland"}}
_CHOICE = {"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["negative"]}}
# Request examples in the shapes Label Studio 1.23.2 sends (tests/service/labelstudio_requests.json).
_EXAMPLES: dict[str, dict[str, Any]] = {
    "predict": {"one task": {"value": {"tasks": [_TASK], "project": "1.1795865752", "params": {"context": None}}}},
    "setup": {"the example config": {"value": {"project": "1.1795865752"}}},
    "validate": {
        "a config": {
            "value": {
                "config": '<View><Text name="text" value="$text"/><Choices name="sentiment" '
                'toName="text"><Choice value="positive"/></Choices></View>'
            }
        }
    },
    "webhook": {
        "annotation created": {
            "value": {
                "action": "ANNOTATION_CREATED",
                "annotation": {"id": 2, "task": 1, "result": [_CHOICE], "was_cancelled": False},
                "task": _TASK,
                "project": {"id": 1},
            }
        },
        "another event": {"value": {"action": "PROJECT_UPDATED", "project": {"id": 1}}},
    },
}


def _config(xml: str | None, model: HaltungModel) -> LabelConfig:
    if not xml:
        return LabelConfig.default(model)
    try:
        return LabelConfig.parse(xml, model)
    except ConfigError as err:
        raise ApiError(422, "invalid_label_config", str(err)) from None


_CONFIG_ERRORS = error_responses(
    *BODY,
    503,
    notes={422: "a labelling config without sentiment or stance choices Haltung can fill", 503: "no model loaded yet"},
)


@router.get("/health", responses=error_responses(503, notes={503: "no model loaded yet: status DOWN"}))
@router.get("/", include_in_schema=False)
async def health(store: StoreDep) -> dict[str, Any]:
    """`UP` with a model loaded (Label Studio's connection check); 503 (the service's error) without one."""
    if store.model is None:
        raise ApiError(503, "not_ready", store.error or "no model loaded yet")
    return {"status": "UP", "model_class": "Haltung", "model_version": store.model.version}


@router.post("/setup", responses=_CONFIG_ERRORS)
async def setup(body: Annotated[SetupIn, Body(openapi_examples=_EXAMPLES["setup"])], model: ModelDep) -> dict[str, Any]:
    """Check the project's labelling config and name the model version its predictions will carry."""
    _config(body.schema_, model)
    return {"model_version": model.version}


@router.post("/validate", responses=_CONFIG_ERRORS)
async def validate(
    body: Annotated[ValidateIn, Body(openapi_examples=_EXAMPLES["validate"])], model: ModelDep
) -> dict[str, Any]:
    """Older Label Studio versions check a config here before connecting."""
    _config(body.config, model)
    return {}


def _predict(
    model: HaltungModel, segmenter: Segmenter, texts: list[str], targets: list[str | None], config: LabelConfig
) -> list[dict[str, Any]]:
    """One prediction per task; tasks are scored in groups of the same target, as /v1/classify scores sentences."""
    groups: dict[str | None, list[int]] = {}
    for i, target in enumerate(targets):
        groups.setdefault(target, []).append(i)
    out: list[dict[str, Any]] = [{}] * len(texts)
    for target, rows in groups.items():
        payload = {"sentences": [texts[i] for i in rows], "targets": [target] if target else []}
        try:  # the validation of a /v1/classify body (blank text, surrogates, target names)
            request = ClassifyRequest.model_validate_json(json.dumps(payload))
        except ValidationError as err:
            details = [{"tasks": rows, "loc": list(e["loc"]), "message": e["msg"]} for e in err.errors()]
            raise ApiError(422, "validation_error", "Some tasks cannot be scored.", details) from None
        assert request.sentences is not None
        docs = segment(segmenter, sentences=request.sentences, max_sentences=len(request.sentences))
        sentences = analyse(model, docs, request.stance_targets(), 0)["documents"][0]["sentences"]
        for i, sentence in zip(rows, sentences, strict=True):
            out[i] = prediction(sentence, config, model.version)
    return out


@router.post(
    "/predict",
    responses={**_CONFIG_ERRORS, **error_responses(413, notes={413: "more tasks than HALTUNG_MAX_SENTENCES"})},
)
async def predict(
    body: Annotated[PredictIn, Body(openapi_examples=_EXAMPLES["predict"])],
    request: Request,
    model: ModelDep,
    segmenter: SegmenterDep,
    settings: SettingsDep,
    metrics: MetricsDep,
) -> dict[str, Any]:
    """Pre-annotations: a sentiment (and stance toward the task's `target`) choice per task, with a `score`:
    the highest uncertainty (1 − margin of the two top probabilities) of its heads; sort descending to
    label the least certain tasks first."""
    config = _config(body.label_config, model)
    if len(body.tasks) > settings.max_sentences:
        raise ApiError(
            413,
            "too_many_tasks",
            f"{len(body.tasks)} tasks exceed the limit of {settings.max_sentences} (HALTUNG_MAX_SENTENCES).",
            {"count": len(body.tasks), "limit": settings.max_sentences},
        )
    texts, missing = [], []
    for i, task in enumerate(body.tasks):
        text = task_text(task.model_dump(), config)
        texts.append(text or "")
        if text is None:
            missing.append({"task": i, "id": task.id})
    if missing:
        message = f"tasks without text in data field {config.text_field!r} (one task is one sentence)"
        raise ApiError(422, "validation_error", message, missing)
    targets = [task_target(task.model_dump(), settings.labelstudio_target) for task in body.tasks]
    results = await run_in_threadpool(_predict, model, segmenter, texts, targets, config)
    metrics.sentences.inc(len(texts))
    request.state.sentences, request.state.model_version = len(texts), model.version
    return {"results": results, "model_version": model.version}


def _pairs(body: WebhookIn) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(annotation, task) pairs of an event: one for ANNOTATION_*, several for ANNOTATIONS_CREATED."""
    annotations = body.annotation if isinstance(body.annotation, list) else [body.annotation or {}]
    tasks = body.task if isinstance(body.task, list) else [body.task or {}]
    by_id = {task.get("id"): task for task in tasks}
    if len(tasks) == 1:
        return [(a, tasks[0]) for a in annotations]
    return [(a, by_id.get(a.get("task"), {})) for a in annotations]


async def _retrain(retrainer: RetrainerDep) -> dict[str, Any]:
    try:
        job = await retrainer.start(force=False)
    except RetrainRunning as err:
        return {"queued": False, "reason": err.message, "job_id": err.job_id}
    except HaltungError as err:
        return {"queued": False, "reason": err.message}
    return {"queued": True, "job_id": job.id, "status": job.status}


@router.post(
    "/webhook",
    status_code=201,
    dependencies=[Depends(require_webhook_key)],
    responses={
        200: {"description": "an event Haltung does not act on: nothing stored"},
        **error_responses(
            *WRITE,
            *BODY,
            503,
            notes={
                413: "more than 1000 labels in one event, or a body over HALTUNG_MAX_BODY_BYTES",
                422: "annotations that break a labelling rule (nothing stored), or an unusable config",
                503: "no model loaded yet",
            },
        ),
    },
)
async def webhook(
    body: Annotated[WebhookIn, Body(openapi_examples=_EXAMPLES["webhook"])],
    model: ModelDep,
    labels: LabelsDep,
    retrainer: RetrainerDep,
    settings: SettingsDep,
) -> Any:
    """Annotation events store their choices as labels (all or none, the rules of POST /v1/labels) and,
    with HALTUNG_LABELSTUDIO_RETRAIN, queue a retrain; START_TRAINING queues one (`retrain.queued` false, with
    the reason, while one runs or no label is stored); other events are answered 200 and ignored."""
    if body.action == TRAIN_EVENT:  # never an error: Label Studio would mark the backend failed
        return {"status": "ok", "stored": 0, "ids": [], "retrain": await _retrain(retrainer)}
    if body.action not in ANNOTATION_EVENTS:
        return JSONResponse({"status": "ignored", "action": body.action}, status_code=200)
    config = _config((body.project or {}).get("label_config"), model)
    rows = [r for a, t in _pairs(body) if (r := annotation_row(a, t, config, settings.labelstudio_target))]
    missing_target = [i for i, r in enumerate(rows) if "stance" in r and not r.get("target")]
    if missing_target:
        message = (
            "a stance needs a target: put it in the task's data field 'target' or set HALTUNG_LABELSTUDIO_TARGET "
            "(nothing stored)"
        )
        raise ApiError(422, "invalid_labels", message, [{"row": i} for i in missing_target])
    if len(rows) > MAX_BATCH:
        raise ApiError(413, "too_many_labels", f"{len(rows)} labels exceed {MAX_BATCH} per event")
    if not rows:
        return {"status": "ok", "stored": 0, "ids": [], "retrain": None}
    try:  # exactly the request model of POST /v1/labels, so the same rules and the same 422 per row
        validated = LabelsIn.model_validate({"labels": rows})
    except ValidationError as err:
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in err.errors()]) from None
    stored = await run_in_threadpool(labels.upsert, [item.model_dump(exclude_none=True) for item in validated.labels])
    log.info("label studio %s: stored %d label(s)", body.action, len(stored.ids))
    retrain = await _retrain(retrainer) if settings.labelstudio_retrain else None
    return {"status": "ok", "stored": len(stored.ids), "ids": stored.ids, "retrain": retrain}
