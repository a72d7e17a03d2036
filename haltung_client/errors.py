"""The one exception type of the client: whatever fails, the caller catches `HaltungAPIError`."""

from __future__ import annotations

from typing import Any

import httpx


class HaltungAPIError(Exception):
    """An error answer of the API (`status`, and the body's `code`, `message`, `details`), or a request that
    never got an answer (`status` None: code `connection_error`, `timeout` or `wait_timeout`)."""

    def __init__(self, status: int | None, code: str, message: str, details: Any = None) -> None:
        super().__init__(f"{status or 'no answer'} {code}: {message}")
        self.status, self.code, self.message, self.details = status, code, message, details

    @classmethod
    def from_response(cls, response: httpx.Response) -> HaltungAPIError:
        """The API's `{"error": {"code", "message", "details"}}`, or what a proxy sent instead."""
        try:
            error = response.json()["error"]
            return cls(response.status_code, str(error["code"]), str(error["message"]), error.get("details"))
        except (ValueError, KeyError, TypeError):
            message = response.text[:500] or response.reason_phrase
            return cls(response.status_code, f"http_{response.status_code}", message)

    @classmethod
    def from_transport(cls, err: httpx.TransportError, url: str) -> HaltungAPIError:
        code = "timeout" if isinstance(err, httpx.TimeoutException) else "connection_error"
        return cls(None, code, f"{type(err).__name__} calling {url}: {err}")
