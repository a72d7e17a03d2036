"""One exception hierarchy for everything Haltung refuses to do, under `HaltungError`.

Each class says *what* went wrong in the domain (a version that does not exist, a bundle that must not
be loaded, data that does not validate); what that means for a caller — an HTTP status, an exit code —
is decided once at the boundary (the service's status table, the CLI's exit code 2), never here.

    HaltungError
    ├── DataError               labelled data with problems (all of them, with file and line)
    ├── TrainingError           data that cannot be trained on, a manifest without usable base data
    └── BundleError             the models directory; itself: a bundle that must not be loaded
        │                       (tampered with, built by other library versions, unreadable manifest)
        ├── InvalidVersion      not a plain version name (never a path a client could steer)
        ├── VersionNotFound     no bundle of that version
        ├── NoCurrentModel      nothing is current yet
        └── ActivationConflict  `current` moved since the caller looked (compare-and-swap failed)
    TooManySentences        input that splits into more sentences than a caller allows

`details` carries machine-readable facts (the service puts them into the error body).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class HaltungError(Exception):
    """Base of every expected failure; `details` are machine-readable facts about it."""

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message, self.details = message, details


class DataError(HaltungError, ValueError):
    """Labelled data with problems; raised once with every problem (file, line, message), so nothing
    is silently dropped and a user fixes a file in one pass."""

    def __init__(self, problems: Sequence[Any], what: str = "labelled data") -> None:
        self.problems = list(problems)
        shown = "\n".join(f"  {p}" for p in self.problems[:50])
        more = f"\n  ... and {len(self.problems) - 50} more" if len(self.problems) > 50 else ""
        message = f"{len(self.problems)} problem(s) in the {what}:\n{shown}{more}"
        super().__init__(message, [str(p) for p in self.problems])


class TrainingError(HaltungError, ValueError):
    """The data or the manifest does not allow training (one label only, no recorded base data ...)."""


class BundleError(HaltungError):
    """The models directory refuses: as such, a bundle that must not be loaded (tampered with, built
    by other library versions, unreadable); the subclasses name the other refusals."""


class InvalidVersion(BundleError):
    """A version is a plain directory name; anything else is refused before touching the disk."""


class VersionNotFound(BundleError):
    """No complete bundle of this version exists."""


class NoCurrentModel(BundleError):
    """Nothing is current yet: train a model first."""


class ActivationConflict(BundleError):
    """`current` is no longer what the caller expected: someone else activated a version meanwhile."""

    def __init__(self, message: str, *, expected: str | None, actual: str | None) -> None:
        super().__init__(message, {"expected": expected, "current": actual})
        self.expected, self.actual = expected, actual


class TooManySentences(HaltungError):
    """More sentences than the caller's limit: refused before any scoring work is spent on them."""

    def __init__(self, count: int, limit: int) -> None:
        message = f"{count} sentences exceed the limit of {limit} per request (HALTUNG_MAX_SENTENCES)"
        super().__init__(message, {"count": count, "limit": limit})
        self.count, self.limit = count, limit
