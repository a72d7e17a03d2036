"""The served model and its hot swap: load the new version fully, then swap one reference.

A request takes `store.model` once and keeps that object to the end, so a swap never fails a
request in flight. Every worker process watches `models/current` and follows it within
`reload_interval` seconds, whichever process (or CLI) moved the pointer.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

from training.bundle import (
    BundleError,
    bundle_dir,
    current_version,
    list_versions,
    load_bundle,
    set_current,
)
from training.model import HaltungModel

log = logging.getLogger("haltung")


class ModelStore:
    def __init__(self, models_dir: Path, on_swap: Callable[[str | None], None] = lambda _: None) -> None:
        self.models_dir = Path(models_dir)
        self.model: HaltungModel | None = None
        self.error: str | None = None
        self._on_swap = on_swap
        self._lock = threading.Lock()  # one load at a time; readers never wait for it
        self._refused: str | None = None  # a version that failed verification is not retried every second

    def seed_from(self, seed_dir: Path | None) -> None:
        """Copy the bundles of `seed_dir` when the models directory has no model yet (fresh volume)."""
        if seed_dir is None or current_version(self.models_dir) is not None:
            return
        version = current_version(seed_dir)
        if version is None:
            return
        self.models_dir.mkdir(parents=True, exist_ok=True)
        for manifest in list_versions(seed_dir):
            target = self.models_dir / manifest["version"]
            if not target.exists():
                tmp = self.models_dir / f".seed-{manifest['version']}"
                shutil.rmtree(tmp, ignore_errors=True)
                shutil.copytree(bundle_dir(seed_dir, manifest["version"]), tmp)
                tmp.rename(target)
        set_current(self.models_dir, version)
        log.info("seeded models from %s, current %s", seed_dir, version)

    def refresh(self) -> bool:
        """Load the version `current` names if it is not the one served; True when swapped."""
        with self._lock:
            try:
                version = current_version(self.models_dir)
            except BundleError as err:
                self.error = str(err)
                return False
            if version is None:
                self.error = (
                    f"no model in {self.models_dir}: train one with "
                    f"`python -m training train --data starter --dev-fraction 0.2 --out {self.models_dir}`"
                )
                return False
            if (self.model is not None and self.model.version == version) or version == self._refused:
                return False
            try:
                model = load_bundle(bundle_dir(self.models_dir, version))
            except (BundleError, OSError, ValueError) as err:
                self.error, self._refused = f"model {version} not loaded: {err}", version
                log.error("%s; still serving %s", self.error, self.model.version if self.model else None)
                return False
            self._swap(model)
            return True

    def activate(self, version: str) -> HaltungModel:
        """Verify and load `version`, then point `current` at it and serve it (rollback or forward)."""
        with self._lock:
            model = load_bundle(bundle_dir(self.models_dir, version))
            set_current(self.models_dir, version)
            self._swap(model)
            return model

    def _swap(self, model: HaltungModel) -> None:
        old = self.model.version if self.model else None
        self.model, self.error, self._refused = model, None, None
        self._on_swap(model.version)
        log.info("serving model %s (was %s)", model.version, old)

    async def watch(self, interval: float) -> None:
        """Follow `models/current` until cancelled; loading runs in a thread, off the event loop."""
        while True:
            await asyncio.sleep(interval)
            try:
                await asyncio.to_thread(self.refresh)
            except Exception:  # the watcher must outlive any one bad bundle
                log.exception("model refresh failed")
