"""Versioned model bundles: `models/<version>/{model.skops, manifest.json}` and `models/current`.

The model file is skops (`training.bundle_format`: rebuilt from a list of trusted types, no code runs);
old `model.joblib` (pickle) bundles load only when the caller allows pickle. A bundle is loaded only
from the models directory, by a validated version name, after its bytes match the SHA-256 in its
manifest (which catches accidents), and only once it answers a one-sentence prediction. Anything wrong
with a bundle or the `current` pointer is a BundleError with the reason, never another exception.
Every write goes to a temporary name first and is renamed into place, so a crash never leaves a
half-written bundle or a `current` pointer to one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import re
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import joblib
import sklearn

import training.bundle_format as bundle_format
from training.errors import BundleError, InvalidVersion, NoCurrentModel, VersionNotFound
from training.manifest import Manifest
from training.model import HaltungModel

MODEL_FILE, MANIFEST_FILE, CURRENT_FILE = "model.skops", "manifest.json", "current"
LEGACY_MODEL_FILE = "model.joblib"  # pickle: loaded only when allowed (bundle_format.decode_pickle)
SMOKE_TEXT = "Die Regierung hat den Bericht vorgelegt."
VERSION_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z_.-]{0,63}$")


def runtime_versions() -> dict[str, str]:
    return {
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "joblib": joblib.__version__,
        "skops": bundle_format.SKOPS_VERSION,
    }


def check_version_name(version: str) -> str:
    """A version is a plain directory name, never a path a client could steer."""
    if not VERSION_RE.fullmatch(version) or ".." in version:
        raise InvalidVersion(f"invalid model version name {version!r}", {"pattern": VERSION_RE.pattern[1:-1]})
    return version


def bundle_dir(models_dir: Path, version: str) -> Path:
    return Path(models_dir) / check_version_name(version)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def save_bundle(model: HaltungModel, models_dir: Path, manifest: dict[str, Any]) -> str:
    """Write the bundle under a temporary name, then rename it into place; return the version.

    It does not become current: only the model repository moves `current` (`DirectoryRepository.activate`).
    """
    models_dir.mkdir(parents=True, exist_ok=True)
    payload = bundle_format.encode(model)
    digest = sha256_bytes(payload)
    created = datetime.now(UTC)
    version = base = f"{created:%Y%m%dT%H%M%S}Z-{digest[:8]}"
    for n in range(2, 1000):  # the same model saved twice in one second
        if not (models_dir / version).exists():
            break
        version = f"{base}-{n}"
    full_manifest = {
        "version": version,
        "created_at": created.isoformat(timespec="microseconds"),
        "sha256": digest,
        "format": bundle_format.SKOPS,
        "runtime": runtime_versions(),
        "heads": {head: model.labels(head) for head in model.heads},
        "hyperparameters": model.params,
        **manifest,
    }
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{version}-", dir=models_dir))
    try:
        tmp.chmod(0o755)  # mkdtemp makes it private; a service may run as another user than the trainer
        _write_synced(tmp / MODEL_FILE, payload)
        _write_synced(tmp / MANIFEST_FILE, json.dumps(full_manifest, indent=2, ensure_ascii=False).encode())
        os.replace(tmp, models_dir / version)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _fsync_dir(models_dir)
    model.version, model.manifest = version, Manifest.from_json(full_manifest)
    return version


def read_manifest(models_dir: Path, version: str) -> dict[str, Any]:
    """The manifest as a JSON object (BundleError when it is unreadable, not JSON or not an object)."""
    path = bundle_dir(models_dir, version) / MANIFEST_FILE
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise VersionNotFound(f"no model version {version!r} in {models_dir}") from None
    except ValueError as err:  # also invalid UTF-8
        raise BundleError(f"manifest of {version!r} is not valid JSON: {err}") from None
    except OSError as err:
        raise BundleError(f"manifest of {version!r} cannot be read: {err}") from None
    if not isinstance(manifest, dict):
        raise BundleError(f"manifest of {version!r} is a JSON {type(manifest).__name__}, not an object")
    return manifest


def load_bundle(directory: Path, *, allow_pickle: bool = False) -> HaltungModel:
    """Verify the manifest, the SHA-256 and the library versions, then decode and try the model once.

    A skops `model.skops` is rebuilt from trusted types only; an old `model.joblib` is unpickled only with
    `allow_pickle`. Every refusal is a BundleError with the reason.
    """
    directory = Path(directory)
    manifest = read_manifest(directory.parent, directory.name)
    parsed = Manifest.from_json(manifest)  # a manifest that does not fit the schema is refused up front
    model_file, pickled = _model_file(directory)
    try:
        payload = model_file.read_bytes()
    except OSError as err:
        raise BundleError(f"{model_file} cannot be read: {err}") from None
    if not isinstance(manifest.get("sha256"), str) or sha256_bytes(payload) != manifest["sha256"]:
        raise BundleError(f"SHA-256 of {model_file} does not match its manifest: refusing to load it")
    if manifest.get("version") != directory.name:
        raise BundleError(f"manifest names version {manifest.get('version')!r}, directory is {directory.name!r}")
    _check_runtime(directory.name, parsed.runtime, pickled)
    if pickled:
        model = bundle_format.decode_pickle(payload, str(model_file), allow_pickle)
    else:
        model = bundle_format.decode(payload, str(model_file))
    _smoke_test(model, model_file)
    model.version, model.manifest = directory.name, parsed
    return model


def _model_file(directory: Path) -> tuple[Path, bool]:
    """The bundle's model file and whether it is a pickle."""
    for name, pickled in ((MODEL_FILE, False), (LEGACY_MODEL_FILE, True)):
        if (directory / name).is_file():
            return directory / name, pickled
    raise BundleError(f"{directory} has no {MODEL_FILE}")


def _check_runtime(version: str, built: dict[str, str], pickled: bool) -> None:
    """Refuse a bundle built by other library versions (a pickle also depends on joblib's)."""
    here = runtime_versions()
    libs = ("scikit-learn", "joblib") if pickled else ("scikit-learn",)
    mismatched = {lib: (built.get(lib), here[lib]) for lib in libs if built.get(lib) != here[lib]}
    if _minor(built.get("python")) != _minor(here["python"]):
        mismatched["python"] = (built.get("python"), here["python"])
    if mismatched:
        details = ", ".join(f"{lib} {was} (bundle) vs {now} (here)" for lib, (was, now) in mismatched.items())
        raise BundleError(f"model {version} was built with other library versions: {details}; retrain it")


def _smoke_test(model: HaltungModel, model_file: Path) -> None:
    """One prediction per head: a decoded model that cannot predict is refused here, not on a request."""
    try:
        if not model.heads:
            raise ValueError("it has no heads")
        for head in model.heads:
            labels = model.labels(head)
            proba = model.predict_proba(head, [SMOKE_TEXT], [None])
            if proba.shape != (1, len(labels)):
                raise ValueError(f"head {head!r} answered shape {proba.shape} for {len(labels)} labels")
    except Exception as err:
        raise BundleError(f"{model_file} does not predict: {type(err).__name__}: {err}") from None


def _minor(version: str | None) -> str | None:
    return ".".join(version.split(".")[:2]) if version else None


def current_version(models_dir: Path) -> str | None:
    """The version `current` points at, or None when there is none yet."""
    path = Path(models_dir) / CURRENT_FILE
    try:
        name = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except UnicodeDecodeError:
        raise BundleError(f"{path} is not valid UTF-8: point it at a version again") from None
    except OSError as err:
        raise BundleError(f"{path} cannot be read: {err}") from None
    return check_version_name(name)


def set_current(models_dir: Path, version: str) -> None:
    """Point `current` at an existing version, atomically (write a temporary file, then rename)."""
    if not (bundle_dir(models_dir, version) / MANIFEST_FILE).is_file():
        raise VersionNotFound(f"no model version {version!r} in {models_dir}")
    fd, tmp = tempfile.mkstemp(prefix=".current-", dir=models_dir)
    try:
        os.fchmod(fd, 0o644)  # readable by a service running as another user, like the bundles
        with os.fdopen(fd, "wb") as f:
            f.write(version.encode() + b"\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, Path(models_dir) / CURRENT_FILE)
    except BaseException:  # a full disk: `current` is untouched, and no temporary file is left behind
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(Path(models_dir))


def load_current(models_dir: Path, *, allow_pickle: bool = False) -> HaltungModel:
    version = current_version(models_dir)
    if version is None:
        raise NoCurrentModel(f"no model in {models_dir}: train one with `python -m training train --data starter`")
    return load_bundle(bundle_dir(models_dir, version), allow_pickle=allow_pickle)


def list_versions(models_dir: Path) -> list[dict[str, Any]]:
    """Manifests of all complete bundles, newest first (temporary directories and broken ones are skipped)."""
    return [manifest for _, manifest in scan_versions(models_dir) if isinstance(manifest, dict)]


def scan_versions(models_dir: Path) -> list[tuple[str, dict[str, Any] | BundleError]]:
    """Every bundle directory with its manifest, or the BundleError that says why it cannot be read;
    newest first (by `created_at`; broken ones last, by name). Temporary directories are skipped."""
    try:
        children = [c for c in Path(models_dir).iterdir() if c.is_dir() and VERSION_RE.fullmatch(c.name)]
    except FileNotFoundError:
        return []
    except OSError as err:
        raise BundleError(f"{models_dir} cannot be listed: {err}") from None
    readable: list[tuple[str, dict[str, Any]]] = []
    broken: list[tuple[str, BundleError]] = []
    for child in children:
        if not (child / MANIFEST_FILE).is_file():
            continue
        try:
            readable.append((child.name, read_manifest(Path(models_dir), child.name)))
        except BundleError as err:
            broken.append((child.name, err))
    readable.sort(key=lambda entry: str(entry[1].get("created_at", "")), reverse=True)
    return [*readable, *sorted(broken, key=lambda entry: entry[0])]


def _write_synced(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
