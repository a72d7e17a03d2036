"""The served model and its hot swap: load the new version fully, then swap one reference.

A request takes `store.model` once and keeps that object to the end, so a swap never fails a
request in flight. Every worker process follows the repository's `current` within `reload_interval`
seconds, whichever process (a retrain job, another worker, the CLI) moved it. The repository owns the
models; this class only decides what this worker serves.

A bad bundle never takes the process down: whatever loading it raises, the worker keeps serving what it
served (or answers 503 with the reason when it has nothing yet), and activating it answers 409.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from pathlib import Path

from service.errors import StorageUnavailable
from training import (
    ANY,
    Activation,
    BundleError,
    DirectoryRepository,
    HaltungModel,
    InvalidVersion,
    ModelRepository,
    VersionNotFound,
)

log = logging.getLogger("haltung")


class ModelStore:
    def __init__(self, repository: ModelRepository, on_swap: Callable[[str | None], None] = lambda _: None) -> None:
        self.repository = repository
        self.model: HaltungModel | None = None
        self.error: str | None = None
        self._on_swap = on_swap
        self._lock = threading.Lock()  # one load at a time; readers never wait for it
        self._refused: str | None = None  # a version that failed verification is not retried every second

    def refresh(self) -> bool:
        """Load the version `current` names if it is not the one served; True when swapped."""
        with self._lock:
            try:
                version = self.repository.current()
            except BundleError as err:
                self.error = str(err)
                return False
            if version is None:
                self.error = (
                    f"no model in {self.repository}: train one with "
                    f"`python -m training train --data starter --dev-fraction 0.2 --out {self.repository}`"
                )
                return False
            if (self.model is not None and self.model.version == version) or version == self._refused:
                return False
            try:
                model = self.repository.load(version)
            except Exception as err:  # BundleError, or anything a damaged file provokes: refuse, never crash
                self.error, self._refused = f"model {version} not loaded: {err}", version
                log.error("%s; still serving %s", self.error, self.model.version if self.model else None)
                return False
            self._swap(model)
            return True

    def activate(self, version: str, *, by: str, expected_current: str | None = None) -> Activation:
        """Verify and load `version`, make it current (compare-and-swap with `expected_current` when given)
        and serve it. A refused bundle changes nothing: BundleError names the version still served."""
        with self._lock:
            serving = self.model.version if self.model else None
            try:
                if not self.repository.exists(version):
                    raise VersionNotFound(f"no model version {version!r}")
                model = self.repository.load(version)
            except (InvalidVersion, VersionNotFound):
                raise
            except Exception as err:  # BundleError, or anything a damaged file provokes: 409, nothing changed
                message = f"Model {version} was not activated: {err}"
                raise BundleError(message, {"serving": serving}) from err
            expected = ANY if expected_current is None else expected_current
            try:
                activation = self.repository.activate(version, expected_current=expected, by=by, verify=False)
            except OSError as err:  # a full or read-only models disk: `current` did not move
                raise StorageUnavailable(
                    f"Model {version} was not activated: the models directory cannot be written: {err}",
                    {"serving": serving, "version": version},
                ) from None
            self._swap(model)
            return activation

    def _swap(self, model: HaltungModel) -> None:
        old = self.model.version if self.model else None
        self.model, self.error, self._refused = model, None, None
        self._on_swap(model.version)
        log.info("serving model %s (was %s)", model.version, old)

    async def watch(self, interval: float) -> None:
        """Follow `current` until cancelled; loading runs in a thread, off the event loop."""
        while True:
            await asyncio.sleep(interval)
            try:
                await asyncio.to_thread(self.refresh)
            except Exception:  # the watcher must outlive any one bad bundle
                log.exception("model refresh failed")


def seed_repository(repository: DirectoryRepository, seed_dir: Path | None) -> str | None:
    """Copy the bundles of `seed_dir` into an empty repository (the container's built-in model); a disk
    that refuses is logged, not fatal: the worker then serves what the repository has, or 503."""
    if seed_dir is None:
        return None
    try:
        return repository.copy_from(DirectoryRepository(seed_dir, allow_pickle=repository.allow_pickle))
    except (OSError, BundleError) as err:
        log.error("models not seeded from %s: %s", seed_dir, err)
        return None
