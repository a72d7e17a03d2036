"""Load shedding: at most N classify requests work at once per worker, a short queue, then 503.

Without it every request is accepted and waits its turn for the CPU, so under overload all of them
get slow and memory grows with the backlog; with it the excess is told at once to come back later.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator

from service.errors import ApiError


class Admission:
    def __init__(self, slots: int, queue: int, timeout: float) -> None:
        self.slots, self.queue, self.timeout = slots, queue, timeout
        self._semaphore = asyncio.Semaphore(slots)
        self.waiting = 0

    @property
    def retry_after(self) -> int:
        return max(1, math.ceil(self.timeout))

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one of the slots for the block; wait in the queue if all are taken; 503 if that fails."""
        if self._semaphore.locked():
            if self.waiting >= self.queue:
                raise self._overloaded("the wait queue is full")
            self.waiting += 1
            try:
                async with asyncio.timeout(self.timeout):
                    await self._semaphore.acquire()
            except TimeoutError:
                raise self._overloaded(f"no slot became free within {self.timeout} s") from None
            finally:
                self.waiting -= 1
        else:
            await self._semaphore.acquire()
        try:
            yield
        finally:
            self._semaphore.release()

    def _overloaded(self, reason: str) -> ApiError:
        return ApiError(
            503,
            "overloaded",
            f"The server is busy ({reason}; HALTUNG_MAX_IN_FLIGHT={self.slots}, HALTUNG_MAX_QUEUED={self.queue}). "
            f"Retry after {self.retry_after} s.",
            {"in_flight": self.slots, "queued": self.waiting, "retry_after": self.retry_after},
            headers={"Retry-After": str(self.retry_after)},
        )
