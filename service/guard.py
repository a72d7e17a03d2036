"""Pure-ASGI request guard: size limit, time limit, content type and UTF-8, checked before any parsing.

A body over the limit is refused from its Content-Length, or as soon as a chunked body passes the
limit, without reading the rest; the body is then replayed to the app from memory. A body that has
not fully arrived `body_timeout` seconds after the headers is answered 408 and the connection closed,
so a client that sends less than its Content-Length cannot hold a connection forever.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import error_body

_BODY_METHODS = {"POST", "PUT", "PATCH"}
# Open Inference Protocol clients (tritonclient) send JSON without a Content-Type: JSON is the protocol's default.
_JSON_BY_DEFAULT = "/v2/"
_BINARY_TENSORS = "inference-header-content-length"  # the protocol's binary tensor data extension


class RequestGuard:
    def __init__(self, app: ASGIApp, max_body_bytes: int, body_timeout: float = 30.0) -> None:
        self.app, self.max_body_bytes, self.body_timeout = app, max_body_bytes, body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        v2 = scope["path"].startswith(_JSON_BY_DEFAULT)  # /v2 answers in the protocol's {"error": "..."}
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > self.max_body_bytes:
            await _reject(send, 413, "payload_too_large", self._too_large(), {"limit": self.max_body_bytes}, v2)
            return
        chunks, size, more = [], 0, True
        deadline = asyncio.get_running_loop().time() + self.body_timeout
        while more:
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                reason = f"The request body did not arrive within {self.body_timeout} s (HALTUNG_BODY_TIMEOUT)."
                await _reject(
                    send, 408, "body_timeout", reason, {"received_bytes": size, "timeout_seconds": self.body_timeout}
                )
                return
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                await _reject(send, 413, "payload_too_large", self._too_large(), {"limit": self.max_body_bytes}, v2)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if body and scope["path"].startswith(_JSON_BY_DEFAULT) and _BINARY_TENSORS in headers:
            await self.app(scope, _replay(body, receive), send)  # JSON + raw tensors: service.binary_tensors
            return
        if body:
            media_type = headers.get("content-type", "").split(";")[0].strip().lower()
            if not media_type and scope["path"].startswith(_JSON_BY_DEFAULT):
                media_type = "application/json"
            if media_type != "application/json" and not media_type.endswith("+json"):
                details = {"content_type": media_type or None, "expected": "application/json"}
                await _reject(send, 415, "unsupported_media_type", "Send the body as application/json.", details, v2)
                return
            try:
                body.decode("utf-8")
            except UnicodeDecodeError as err:
                details = {"byte_offset": err.start}
                await _reject(send, 400, "invalid_encoding", "The request body is not valid UTF-8.", details, v2)
                return
        await self.app(scope, _replay(body, receive), send)

    def _too_large(self) -> str:
        return f"The request body is larger than the limit of {self.max_body_bytes} bytes (HALTUNG_MAX_BODY_BYTES)."


def _replay(body: bytes, upstream: Receive) -> Receive:
    """Hand the buffered body to the app once, then pass on the real channel (disconnects)."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await upstream()

    return receive


async def _reject(send: Send, status: int, code: str, message: str, details: Any, v2: bool = False) -> None:
    payload = json.dumps({"error": message} if v2 else error_body(code, message, details)).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    if status in (408, 413):  # the rest of the body is not read: the connection cannot be reused
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
