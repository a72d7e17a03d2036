"""`Client` and `AsyncClient`: the same calls (`haltung_client.calls`), sent with httpx, blocking or async.

Idempotent calls (classify, reads, delete) are repeated with exponential back-off on 503 (no model yet,
overload) and on connection errors, up to `retries` times, honouring a `Retry-After` header; writes that
a repeat could double (add labels, retrain, activate) are sent once. Every failure is a `HaltungAPIError`.
"""

from __future__ import annotations

import asyncio
import builtins
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import httpx

from haltung_client import calls
from haltung_client.calls import Call, DocumentLike, TargetLike
from haltung_client.errors import HaltungAPIError
from haltung_client.types import Activated, ClassifyResult, Health, Job, LabelPage, LabelsStored, Models

T = TypeVar("T")
Unmentioned = Literal["null", "score"]


@dataclass(frozen=True)
class Backoff:
    """Waits between attempts: `first`, doubling, at most `cap` seconds; `retries` repeats after the first try."""

    retries: int = 3
    first: float = 0.5
    cap: float = 8.0

    def delay(self, attempt: int, response: httpx.Response | None) -> float:
        wait = min(self.cap, self.first * 2.0**attempt)
        header = response.headers.get("Retry-After") if response is not None else None
        if header and header.strip().isdigit():
            wait = min(self.cap, max(wait, float(header)))
        return wait


def _retryable(call: Call[Any], attempt: int, backoff: Backoff, response: httpx.Response | None) -> bool:
    if not (call.idempotent and call.retry) or attempt >= backoff.retries:
        return False
    return response is None or response.status_code == 503


def _answer(call: Call[T], response: httpx.Response) -> T:
    if response.status_code not in call.ok:
        raise HaltungAPIError.from_response(response)
    return call.parse(response)


def _headers(api_key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


def _job_id(job: Job | str) -> str:
    return job.job_id if isinstance(job, Job) else job


def _wait_timeout(job_id: str, timeout: float, status: str) -> HaltungAPIError:
    return HaltungAPIError(None, "wait_timeout", f"job {job_id} still {status} after {timeout} s", {"job_id": job_id})


class Client:
    """Blocking client: `Client("http://127.0.0.1:8000", api_key=...)`; use as a context manager or `close()`."""

    def __init__(
        self, url: str, api_key: str | None = None, timeout: float = 60.0, backoff: Backoff | None = None
    ) -> None:
        self.backoff = backoff or Backoff()
        self._http = httpx.Client(base_url=url.rstrip("/"), headers=_headers(api_key), timeout=timeout)
        self.labels, self.models = _Labels(self), _Models(self)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def run(self, call: Call[T]) -> T:
        """Send one call, repeating it as `Backoff` allows."""
        attempt = 0
        while True:
            try:
                response: httpx.Response | None = self._http.request(
                    call.method, call.path, json=call.json, params=call.params
                )
            except httpx.TransportError as err:
                if not _retryable(call, attempt, self.backoff, None):
                    raise HaltungAPIError.from_transport(err, f"{self._http.base_url}{call.path}") from err
                response = None
            if response is not None and not _retryable(call, attempt, self.backoff, response):
                return _answer(call, response)
            time.sleep(self.backoff.delay(attempt, response))
            attempt += 1

    def classify(
        self,
        text: str | None = None,
        *,
        documents: Sequence[DocumentLike] | None = None,
        sentences: Sequence[str] | None = None,
        targets: Sequence[TargetLike] = (),
        explain: int = 0,
        unmentioned: Unmentioned = "null",
    ) -> ClassifyResult:
        """Exactly one of `text`, `documents` (texts, (id, text) pairs or dicts) or `sentences`."""
        return self.run(calls.classify(text, documents, sentences, targets, explain, unmentioned))

    def health(self) -> Health:
        return self.run(calls.health())

    def model(self) -> dict[str, Any]:
        return self.run(calls.model_info())

    def retrain(self, force: bool = False) -> Job:
        return self.run(calls.retrain(force))

    def job(self, job: Job | str) -> Job:
        return self.run(calls.job(_job_id(job)))

    def wait(self, job: Job | str, timeout: float = 600.0, interval: float = 1.0) -> Job:
        """Poll until the job has finished (succeeded, rejected or failed); `wait_timeout` error after `timeout`."""
        deadline = time.monotonic() + timeout
        while not (current := self.job(job)).finished:
            if time.monotonic() >= deadline:
                raise _wait_timeout(current.job_id, timeout, current.status)
            time.sleep(min(interval, max(deadline - time.monotonic(), 0.0)))
        return current


class _Labels:
    def __init__(self, client: Client) -> None:
        self._c = client

    def add(self, labels: Sequence[Mapping[str, Any]]) -> LabelsStored:
        """`[{"text", "target"?, "stance"?, "sentiment"?, "id"?}, ...]`: stored all or none."""
        return self._c.run(calls.labels_add(labels))

    def list(self, cursor: str | None = None, limit: int = 100) -> LabelPage:
        return self._c.run(calls.labels_list(cursor, limit))

    def export(self) -> builtins.list[dict[str, Any]]:
        """All labels as training rows (the JSONL of `GET /v1/labels/export`)."""
        return self._c.run(calls.labels_export())

    def delete(self, label_id: str) -> None:
        self._c.run(calls.labels_delete(label_id))


class _Models:
    def __init__(self, client: Client) -> None:
        self._c = client

    def list(self) -> Models:
        return self._c.run(calls.models_list())

    def activate(self, version: str, expected_current: str | None = None) -> Activated:
        return self._c.run(calls.models_activate(version, expected_current))


class AsyncClient:
    """The same as `Client`, for asyncio: `async with AsyncClient(url) as c: await c.classify(...)`."""

    def __init__(
        self, url: str, api_key: str | None = None, timeout: float = 60.0, backoff: Backoff | None = None
    ) -> None:
        self.backoff = backoff or Backoff()
        self._http = httpx.AsyncClient(base_url=url.rstrip("/"), headers=_headers(api_key), timeout=timeout)
        self.labels, self.models = _AsyncLabels(self), _AsyncModels(self)

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self._http.aclose()

    async def run(self, call: Call[T]) -> T:
        attempt = 0
        while True:
            try:
                response: httpx.Response | None = await self._http.request(
                    call.method, call.path, json=call.json, params=call.params
                )
            except httpx.TransportError as err:
                if not _retryable(call, attempt, self.backoff, None):
                    raise HaltungAPIError.from_transport(err, f"{self._http.base_url}{call.path}") from err
                response = None
            if response is not None and not _retryable(call, attempt, self.backoff, response):
                return _answer(call, response)
            await asyncio.sleep(self.backoff.delay(attempt, response))
            attempt += 1

    async def classify(
        self,
        text: str | None = None,
        *,
        documents: Sequence[DocumentLike] | None = None,
        sentences: Sequence[str] | None = None,
        targets: Sequence[TargetLike] = (),
        explain: int = 0,
        unmentioned: Unmentioned = "null",
    ) -> ClassifyResult:
        return await self.run(calls.classify(text, documents, sentences, targets, explain, unmentioned))

    async def health(self) -> Health:
        return await self.run(calls.health())

    async def model(self) -> dict[str, Any]:
        return await self.run(calls.model_info())

    async def retrain(self, force: bool = False) -> Job:
        return await self.run(calls.retrain(force))

    async def job(self, job: Job | str) -> Job:
        return await self.run(calls.job(_job_id(job)))

    async def wait(self, job: Job | str, timeout: float = 600.0, interval: float = 1.0) -> Job:
        deadline = time.monotonic() + timeout
        while not (current := await self.job(job)).finished:
            if time.monotonic() >= deadline:
                raise _wait_timeout(current.job_id, timeout, current.status)
            await asyncio.sleep(min(interval, max(deadline - time.monotonic(), 0.0)))
        return current


class _AsyncLabels:
    def __init__(self, client: AsyncClient) -> None:
        self._c = client

    async def add(self, labels: Sequence[Mapping[str, Any]]) -> LabelsStored:
        return await self._c.run(calls.labels_add(labels))

    async def list(self, cursor: str | None = None, limit: int = 100) -> LabelPage:
        return await self._c.run(calls.labels_list(cursor, limit))

    async def export(self) -> builtins.list[dict[str, Any]]:
        return await self._c.run(calls.labels_export())

    async def delete(self, label_id: str) -> None:
        await self._c.run(calls.labels_delete(label_id))


class _AsyncModels:
    def __init__(self, client: AsyncClient) -> None:
        self._c = client

    async def list(self) -> Models:
        return await self._c.run(calls.models_list())

    async def activate(self, version: str, expected_current: str | None = None) -> Activated:
        return await self._c.run(calls.models_activate(version, expected_current))
