"""uvicorn's HTTP protocol with a deadline for the request head (uvicorn has none of its own).

Without it a connection that sends nothing, or headers that never end, is held forever. This subclass
of uvicorn's public httptools protocol arms a timer when a connection opens and when the next request
on a kept-alive connection begins, and disarms it once the headers are complete. When it fires, a
client that has started a request gets a 408 in the service's JSON error shape; one that sent nothing
is just closed (an unasked-for answer could be mistaken for the reply to a later request). Either way
the connection is closed. Bodies have their own deadline in `service.guard` (HALTUNG_BODY_TIMEOUT).

`python -m service` passes it to uvicorn as `http="service.protocol:HeadTimeoutProtocol"` (an import
string, so it also reaches worker processes); its timeout comes from HALTUNG_HEADER_TIMEOUT.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from service.errors import error_body
from service.settings import Settings

log = logging.getLogger("haltung")


@functools.cache
def header_timeout() -> float:
    """HALTUNG_HEADER_TIMEOUT, read once per process (a protocol object is made for every connection)."""
    return Settings().header_timeout


def timeout_response(timeout: float) -> bytes:
    message = f"The request headers did not arrive within {timeout} s (HALTUNG_HEADER_TIMEOUT)."
    body = json.dumps(error_body("header_timeout", message, {"timeout_seconds": timeout})).encode()
    head = (
        "HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


class HeadTimeoutProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.head_timer: asyncio.TimerHandle | None = None
        self.head_started = False  # bytes of a request head have arrived

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.head_started = True
        if self.head_timer is None:  # the next request on a kept-alive connection
            self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        self.head_started = False
        super().on_headers_complete()

    def _arm(self) -> None:
        self.head_timer = self.loop.call_later(header_timeout(), self._timed_out)

    def _disarm(self) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None

    def _timed_out(self) -> None:
        self.head_timer = None
        if self.transport.is_closing():
            return
        client = f"{self.client[0]}:{self.client[1]}" if self.client else None
        fields = {"status": 408 if self.head_started else None, "client": client, "timeout_seconds": header_timeout()}
        log.warning("request head timed out", extra={"fields": fields})
        if self.head_started:
            self.transport.write(timeout_response(header_timeout()))
        self.transport.close()
