"""A retrain job as a stream of server-sent events: its new log lines, each status change, then its end.

The job process writes its progress into its jobs row (the last `LOG_LINES` lines); this follows that row
by polling it, so it works from any worker process, and turns what changed into events:

    event: status   data: {"status": "running"}
    event: log      data: {"line": "baseline v1; 40 labels: 32 train, 8 held out"}
    event: end      data: <the job as GET /v1/jobs/{id} returns it>

A comment line (`: ping`) every `KEEPALIVE_S` keeps proxies from closing a quiet stream.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from service.jobs import FINAL, Job

POLL_S = 0.25
KEEPALIVE_S = 15.0


def event(name: str, data: dict[str, Any]) -> str:
    """One server-sent event (the data is a single line of JSON)."""
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def new_lines(seen: list[str], now: list[str]) -> list[str]:
    """The lines of `now` after those already in `seen`; the row keeps only the last lines, so match the overlap."""
    for overlap in range(min(len(seen), len(now)), 0, -1):
        if seen[-overlap:] == now[:overlap]:
            return now[overlap:]
    return now


async def job_events(
    read: Callable[[], Awaitable[Job | None]], poll_s: float = POLL_S, keepalive_s: float = KEEPALIVE_S
) -> AsyncIterator[str]:
    """Events for the job `read()` returns, until it reaches a final status (or disappears)."""
    lines: list[str] = []
    status: str | None = None
    quiet_since = time.monotonic()
    while True:
        job = await read()
        if job is None:
            yield event("end", {"error": "the job record is gone"})
            return
        view = job.to_json()
        out = []
        if view["status"] != status:
            status = view["status"]
            out.append(event("status", {"status": status}))
        out += [event("log", {"line": line}) for line in new_lines(lines, view["log"])]
        lines = view["log"]
        if status in FINAL:
            out.append(event("end", view))
        for chunk in out:
            yield chunk
        if status in FINAL:
            return
        if out:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since > keepalive_s:
            quiet_since = time.monotonic()
            yield ": ping\n\n"
        await asyncio.sleep(poll_s)
