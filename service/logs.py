"""Structured logs: one JSON object per line; request text is never logged unless asked for."""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from collections.abc import Iterable
from typing import Any

from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.metrics import Metrics

log = logging.getLogger("haltung")
access = logging.getLogger("haltung.access")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: int = logging.INFO) -> None:
    root = logging.getLogger("haltung")
    if not any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        root.addHandler(handler)
    root.setLevel(level)
    root.propagate = False


DISCONNECTED = 499  # nginx's "client closed request": the client left before an answer was sent


def route_templates(app: Any) -> list[tuple[re.Pattern[str], str]]:
    """Every route's path template with its regex, in routing order (included routers flattened)."""
    routes: Iterable[Any] = getattr(getattr(app, "router", None), "routes", ())
    try:  # FastAPI ≥ 0.16x keeps included routers as wrappers; this public helper flattens them
        from fastapi.routing import iter_route_contexts

        routes = list(iter_route_contexts(list(routes)))
    except ImportError:  # older FastAPI: the router's routes are already flat
        pass
    paths = dict.fromkeys(p for r in routes if isinstance(p := getattr(r, "path", None), str) and p)
    return [(compile_path(path)[0], path) for path in paths]


class AccessLog:
    """Pure-ASGI middleware: metrics and one log line per request (route, status, duration, counts).

    A client that leaves before the answer starts is logged and counted as 499 with outcome
    `disconnected`, not as a server error; a request refused by the guard keeps the route it was for.
    """

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics
        self._templates: list[tuple[re.Pattern[str], str]] | None = None

    def route_of(self, scope: Scope) -> str:
        """The route template that served the request, or that its path matches (the guard refused it first)."""
        route = getattr(scope.get("route"), "path", None)
        if isinstance(route, str) and route:
            return route
        if self._templates is None:  # the routes are all known once requests arrive
            self._templates = route_templates(scope.get("app"))
        path = scope.get("path", "")
        return next((template for regex, template in self._templates if regex.match(path)), "unmatched")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start, status, started = time.perf_counter(), 500, False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status, started = message["status"], True
            await send(message)

        async def receive_wrapper() -> Message:
            nonlocal status
            message = await receive()
            if message["type"] == "http.disconnect" and not started:  # gone before any answer
                status = DISCONNECTED
            return message

        try:
            await self.app(scope, receive_wrapper, send_wrapper)
        finally:
            duration = time.perf_counter() - start
            route = self.route_of(scope)
            state = scope.get("state", {})
            self.metrics.requests.labels(route=route, method=scope["method"], status=str(status)).inc()
            self.metrics.latency.labels(route=route).observe(duration)
            fields = {
                "route": route,
                "method": scope["method"],
                "status": status,
                "duration_ms": round(duration * 1000, 2),
                "sentences": state.get("sentences"),
                "model_version": state.get("model_version"),
            }
            if status == DISCONNECTED and not started:
                fields["outcome"] = "disconnected"
            access.info("request", extra={"fields": fields})
