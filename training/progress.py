"""A one-line progress bar with rate and ETA for long CLI runs; silent when stderr is not a terminal
(logs and pipes get no carriage-return noise)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

WIDTH = 24  # characters of the bar itself
INTERVAL = 0.2  # seconds between redraws


class Progress:
    def __init__(self, total: int, unit: str = "docs", stream: TextIO | None = None, enabled: bool | None = None):
        self.total, self.unit, self.done = total, unit, 0
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self._start = self._drawn = time.monotonic()

    def advance(self, n: int = 1) -> None:
        self.done += n
        if self.enabled and time.monotonic() - self._drawn >= INTERVAL:
            self._draw()

    def close(self) -> None:
        if self.enabled:
            self._draw()
            self.stream.write("\n")
            self.stream.flush()

    def line(self) -> str:
        """`[#####-----]  412/1028 docs  40%  23.1 docs/s  ETA 0:27`."""
        elapsed = max(time.monotonic() - self._start, 1e-9)
        rate = self.done / elapsed
        share = self.done / self.total if self.total else 1.0
        eta = _clock((self.total - self.done) / rate) if rate > 0 else "?"
        bar = "#" * round(share * WIDTH)
        return (
            f"[{bar:-<{WIDTH}}] {self.done:>{len(str(self.total))}}/{self.total} {self.unit} {share:4.0%} "
            f"{rate:6.1f} {self.unit}/s  ETA {eta}"
        )

    def _draw(self) -> None:
        self._drawn = time.monotonic()
        self.stream.write("\r" + self.line())
        self.stream.flush()


def _clock(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
