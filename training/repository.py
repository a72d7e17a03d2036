"""The model repository: the one owner of the models (bundles, the `current` pointer, the activation history).

`ModelRepository` is the interface every caller uses — the CLI, `train`/`retrain`, the service — so the
storage behind it can change (a directory today; a database next) without any of them knowing.
`DirectoryRepository` is today's layout: `models/<version>/{model.skops, manifest.json}` written by
`training.bundle`, `models/current`, and `models/activations.jsonl`. Old `model.joblib` (pickle) bundles
load only with `allow_pickle` (default: the HALTUNG_ALLOW_PICKLE_BUNDLES variable, false when unset).

`activate(version, expected_current=...)` is a compare-and-swap: under an exclusive lock it checks that
`current` is still what the caller saw, and refuses (`ActivationConflict`) otherwise, so a retrain that
finishes while someone rolls back can never overwrite their choice.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Any

import training.bundle as bundle
from training.bundle_format import pickle_allowed_by_env
from training.errors import ActivationConflict, BundleError, NoCurrentModel, VersionNotFound
from training.manifest import Manifest
from training.model import HaltungModel

HISTORY_FILE, LOCK_FILE = "activations.jsonl", ".lock"
log = logging.getLogger("haltung")


class _Unset(Enum):
    ANY = "any"


ANY = _Unset.ANY  # `activate(..., expected_current=ANY)`: activate whatever is current now


@dataclass(frozen=True, slots=True)
class Activation:
    """One move of `current`: which version, from which, by whom or what, and when."""

    version: str
    previous: str | None
    by: str
    at: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class VersionEntry:
    """One stored version as listed: its manifest, or why it is broken (`error`, manifest None)."""

    version: str
    manifest: Manifest | None
    error: str | None = None


class ModelRepository(ABC):
    """Where models live. Loading verifies a bundle (SHA-256, library versions) before unpickling it."""

    @abstractmethod
    def versions(self) -> list[Manifest]:
        """Manifests of all complete bundles, newest first."""

    def catalogue(self) -> list[VersionEntry]:
        """Every stored version, broken ones included with the reason, newest first."""
        return [VersionEntry(str(m.version), m) for m in self.versions()]

    @abstractmethod
    def current(self) -> str | None:
        """The version that is current, or None when there is none yet."""

    @abstractmethod
    def manifest(self, version: str) -> Manifest:
        """The manifest of `version` (VersionNotFound, InvalidVersion)."""

    @abstractmethod
    def exists(self, version: str) -> bool:
        """Whether a complete bundle of this version is stored (InvalidVersion for a malformed name)."""

    @abstractmethod
    def load(self, version: str) -> HaltungModel:
        """The verified model of `version` (BundleError and its subclasses)."""

    @abstractmethod
    def save(self, model: HaltungModel, manifest: Mapping[str, Any]) -> str:
        """Store a new bundle (never current by itself) and return its version."""

    @abstractmethod
    def activate(
        self, version: str, *, expected_current: str | _Unset | None = ANY, by: str, verify: bool = True
    ) -> Activation:
        """Make `version` current if `current` is still `expected_current` (ActivationConflict otherwise).

        With `verify` the bundle is loaded first, so a tampered one is refused before anything moves.
        """

    @abstractmethod
    def history(self) -> list[Activation]:
        """Every activation, oldest first."""

    def load_current(self) -> HaltungModel:
        version = self.current()
        if version is None:
            raise NoCurrentModel(f"no current model in {self}: run `python -m training train --data starter`")
        return self.load(version)


class DirectoryRepository(ModelRepository):
    """Bundles in a directory, `current` as a file replaced atomically, history as a JSONL file."""

    def __init__(self, root: str | Path, *, allow_pickle: bool | None = None) -> None:
        self.root = Path(root)
        self.allow_pickle = pickle_allowed_by_env() if allow_pickle is None else allow_pickle

    def __str__(self) -> str:
        return str(self.root)

    def __repr__(self) -> str:
        return f"DirectoryRepository({str(self.root)!r})"

    def versions(self) -> list[Manifest]:
        return [entry.manifest for entry in self.catalogue() if entry.manifest is not None]

    def catalogue(self) -> list[VersionEntry]:
        out = []
        for name, raw in bundle.scan_versions(self.root):
            if isinstance(raw, BundleError):
                out.append(VersionEntry(name, None, raw.message))
                continue
            try:
                manifest = Manifest.from_json(raw)
            except BundleError as err:
                out.append(VersionEntry(name, None, err.message))
                continue
            if manifest.version != name:
                out.append(VersionEntry(name, None, f"manifest names version {manifest.version!r}, not {name!r}"))
            else:
                out.append(VersionEntry(name, manifest))
        return out

    def current(self) -> str | None:
        return bundle.current_version(self.root)

    def manifest(self, version: str) -> Manifest:
        return Manifest.from_json(bundle.read_manifest(self.root, version))

    def exists(self, version: str) -> bool:
        return (bundle.bundle_dir(self.root, version) / bundle.MANIFEST_FILE).is_file()

    def load(self, version: str) -> HaltungModel:
        return bundle.load_bundle(bundle.bundle_dir(self.root, version), allow_pickle=self.allow_pickle)

    def save(self, model: HaltungModel, manifest: Mapping[str, Any]) -> str:
        return bundle.save_bundle(model, self.root, dict(manifest))

    def activate(
        self, version: str, *, expected_current: str | _Unset | None = ANY, by: str, verify: bool = True
    ) -> Activation:
        if not self.exists(version):
            raise VersionNotFound(f"no model version {version!r} in {self.root}")
        if verify:
            self.load(version)
        with self._locked():
            previous = self.current()
            if expected_current is not ANY and previous != expected_current:
                raise ActivationConflict(
                    f"not activated: the current model is {previous}, not {expected_current} as expected",
                    expected=expected_current,
                    actual=previous,
                )
            bundle.set_current(self.root, version)
            activation = Activation(version, previous, by, datetime.now(UTC).isoformat(timespec="milliseconds"))
            try:
                with open(self.root / HISTORY_FILE, "a", encoding="utf-8") as out:
                    out.write(json.dumps(activation.to_json(), ensure_ascii=False) + "\n")
                    out.flush()
                    os.fsync(out.fileno())
            except OSError as err:  # `current` has moved: the activation stands, only its record is lost
                log.error("activation of %s by %s not recorded in %s: %s", version, by, HISTORY_FILE, err)
        return activation

    def history(self) -> list[Activation]:
        try:  # bytes that are not UTF-8 spoil their line only
            lines = (self.root / HISTORY_FILE).read_bytes().decode("utf-8", "replace").splitlines()
        except FileNotFoundError:
            return []
        except OSError as err:
            raise BundleError(f"{self.root / HISTORY_FILE} cannot be read: {err}") from None
        out = []
        for line in lines:
            with contextlib.suppress(ValueError, TypeError):  # a torn last line after a crash, a damaged one
                activation = Activation(**json.loads(line))
                if all(isinstance(v, str) for v in (activation.version, activation.by, activation.at)) and (
                    activation.previous is None or isinstance(activation.previous, str)
                ):
                    out.append(activation)
        return out

    def copy_from(self, source: DirectoryRepository, *, by: str = "seed") -> str | None:
        """Copy every bundle of `source` and make its current one current here, if this one has none yet.

        How a fresh volume gets the model built into the container image; returns the version made current.
        """
        if self.current() is not None:
            return None
        version = source.current()
        if version is None:
            return None
        self.root.mkdir(parents=True, exist_ok=True)
        for manifest in source.versions():
            name = str(manifest.version)
            if not (self.root / name).exists():
                tmp = self.root / f".seed-{name}"
                shutil.rmtree(tmp, ignore_errors=True)
                shutil.copytree(bundle.bundle_dir(source.root, name), tmp)
                tmp.rename(self.root / name)
        try:
            self.activate(version, expected_current=None, by=by, verify=False)
        except ActivationConflict:  # another worker seeded first
            return None
        return version

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """An exclusive lock across processes (every worker, the CLI, a retrain job) for one activation."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / LOCK_FILE, "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


def open_repository(where: str | Path | ModelRepository) -> ModelRepository:
    """A repository from a models directory (or the repository itself, passed through)."""
    return where if isinstance(where, ModelRepository) else DirectoryRepository(where)

