"""Every API call as data (method, path, body, whether it may be repeated, how to read the answer), so the
synchronous and the asynchronous client share everything but the sending."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

import httpx

from haltung_client.types import (
    Activated,
    ClassifyResult,
    Health,
    Job,
    LabelPage,
    LabelsStored,
    Models,
    Target,
)

T = TypeVar("T")
TargetLike = str | Target | Mapping[str, Any]
DocumentLike = str | tuple[str | None, str] | Mapping[str, Any]


@dataclass(frozen=True)
class Call(Generic[T]):
    method: str
    path: str
    parse: Callable[[httpx.Response], T]
    json: Any = None
    params: Mapping[str, Any] | None = None
    idempotent: bool = True  # repeated on 503 and connection errors; writes are not (a retry may double them)
    ok: tuple[int, ...] = (200,)  # statuses parsed as an answer; anything else raises HaltungAPIError
    retry: bool = True  # False: answer at once (health checks)


def _target(t: TargetLike) -> Any:
    return t.to_json() if isinstance(t, Target) else t


def _document(d: DocumentLike) -> Any:
    if isinstance(d, str):
        return {"text": d}
    if isinstance(d, tuple):
        return {"id": d[0], "text": d[1]}
    return dict(d)


def classify(
    text: str | None,
    documents: Sequence[DocumentLike] | None,
    sentences: Sequence[str] | None,
    targets: Sequence[TargetLike],
    explain: int,
    unmentioned: Literal["null", "score"],
) -> Call[ClassifyResult]:
    """Scoring changes nothing on the server: safe to repeat."""
    body: dict[str, Any] = {"targets": [_target(t) for t in targets], "explain": explain, "unmentioned": unmentioned}
    if text is not None:
        body["text"] = text
    if documents is not None:
        body["documents"] = [_document(d) for d in documents]
    if sentences is not None:
        body["sentences"] = list(sentences)
    return Call("POST", "/v1/classify", lambda r: ClassifyResult.from_json(r.json()), json=body)


def health() -> Call[Health]:
    def parse(r: httpx.Response) -> Health:
        if r.status_code == 503:
            try:
                message = str(r.json()["error"]["message"])
            except (ValueError, KeyError, TypeError):
                message = r.text[:500]
            return Health(False, None, message)
        return Health(True, r.json().get("model_version"))

    return Call("GET", "/v1/health/ready", parse, ok=(200, 503), retry=False)


def model_info() -> Call[dict[str, Any]]:
    return Call("GET", "/v1/model", lambda r: dict(r.json()))


def labels_add(labels: Sequence[Mapping[str, Any]]) -> Call[LabelsStored]:
    rows = [{k: v for k, v in dict(label).items() if v is not None} for label in labels]
    return Call(
        "POST", "/v1/labels", lambda r: LabelsStored(**r.json()), json={"labels": rows}, idempotent=False, ok=(201,)
    )


def labels_list(cursor: str | None, limit: int) -> Call[LabelPage]:
    params = {"limit": limit, **({"cursor": cursor} if cursor else {})}
    return Call("GET", "/v1/labels", lambda r: LabelPage.from_json(r.json()), params=params)


def labels_export() -> Call[list[dict[str, Any]]]:
    return Call("GET", "/v1/labels/export", lambda r: [json.loads(line) for line in r.text.splitlines() if line])


def labels_delete(label_id: str) -> Call[None]:
    """Deleting twice leaves the same state (the repeat answers 404): safe to retry."""
    return Call("DELETE", f"/v1/labels/{_segment(label_id)}", lambda r: None, ok=(204,))


def retrain(force: bool) -> Call[Job]:
    return Call(
        "POST", "/v1/retrain", lambda r: Job.from_json(r.json()), json={"force": force}, idempotent=False, ok=(202,)
    )


def job(job_id: str) -> Call[Job]:
    return Call("GET", f"/v1/jobs/{_segment(job_id)}", lambda r: Job.from_json(r.json()))


def models_list() -> Call[Models]:
    return Call("GET", "/v1/models", lambda r: Models.from_json(r.json()))


def models_activate(version: str, expected_current: str | None) -> Call[Activated]:
    params = {"expected_current": expected_current} if expected_current else None
    path = f"/v1/models/{_segment(version)}/activate"
    return Call("POST", path, lambda r: Activated(**r.json()), params=params, idempotent=False)


def _segment(value: str) -> str:
    """One URL path segment: a slash or dot-dot in an id must not reach another route."""
    from urllib.parse import quote

    return quote(value, safe="")
