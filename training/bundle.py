"""Versioned model bundles: `models/<version>/{model.joblib, manifest.json}` and `models/current`.

joblib (pickle) runs code while loading, so a bundle is loaded only from the models directory, by a
validated version name, and only after its bytes match the SHA-256 in its manifest. Every write goes
to a temporary name first and is renamed into place, so a crash never leaves a half-written bundle
or a `current` pointer to one.
"""

from __future__ import annotations

import hashlib
import io
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

from training.errors import BundleError, InvalidVersion, NoCurrentModel, VersionNotFound
from training.manifest import Manifest
from training.model import HaltungModel

MODEL_FILE, MANIFEST_FILE, CURRENT_FILE = "model.joblib", "manifest.json", "current"
VERSION_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z_.-]{0,63}$")


def runtime_versions() -> dict[str, str]:
    return {"python": platform.python_version(), "scikit-learn": sklearn.__version__, "joblib": joblib.__version__}


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
    buffer = io.BytesIO()
    joblib.dump(model, buffer, compress=3)
    payload = buffer.getvalue()
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
    path = bundle_dir(models_dir, version) / MANIFEST_FILE
    try:
        manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return manifest
    except FileNotFoundError:
        raise VersionNotFound(f"no model version {version!r} in {models_dir}") from None
    except ValueError as err:
        raise BundleError(f"manifest of {version!r} is not valid JSON: {err}") from None


def load_bundle(directory: Path) -> HaltungModel:
    """Verify the manifest's SHA-256 and library versions, and only then unpickle."""
    directory = Path(directory)
    manifest = read_manifest(directory.parent, directory.name)
    try:
        payload = (directory / MODEL_FILE).read_bytes()
    except FileNotFoundError:
        raise BundleError(f"{directory} has no {MODEL_FILE}") from None
    if not isinstance(manifest.get("sha256"), str) or sha256_bytes(payload) != manifest["sha256"]:
        raise BundleError(f"SHA-256 of {directory / MODEL_FILE} does not match its manifest: refusing to load it")
    if manifest.get("version") != directory.name:
        raise BundleError(f"manifest names version {manifest.get('version')!r}, directory is {directory.name!r}")
    built, here = manifest.get("runtime", {}), runtime_versions()
    mismatched = {lib: (built.get(lib), here[lib]) for lib in ("scikit-learn", "joblib") if built.get(lib) != here[lib]}
    if _minor(built.get("python")) != _minor(here["python"]):
        mismatched["python"] = (built.get("python"), here["python"])
    if mismatched:
        details = ", ".join(f"{lib} {was} (bundle) vs {now} (here)" for lib, (was, now) in mismatched.items())
        raise BundleError(f"model {directory.name} was built with other library versions: {details}; retrain it")
    try:
        model = joblib.load(io.BytesIO(payload))
    except Exception as err:  # verified bytes that still do not unpickle here: refuse, never crash the caller
        raise BundleError(f"{directory / MODEL_FILE} could not be loaded: {type(err).__name__}: {err}") from err
    if not isinstance(model, HaltungModel):
        raise BundleError(f"{directory / MODEL_FILE} does not hold a HaltungModel")
    model.version, model.manifest = directory.name, Manifest.from_json(manifest)
    return model


def _minor(version: str | None) -> str | None:
    return ".".join(version.split(".")[:2]) if version else None


def current_version(models_dir: Path) -> str | None:
    """The version `current` points at, or None when there is none yet."""
    try:
        name = (Path(models_dir) / CURRENT_FILE).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return check_version_name(name)


def set_current(models_dir: Path, version: str) -> None:
    """Point `current` at an existing version, atomically (write a temporary file, then rename)."""
    if not (bundle_dir(models_dir, version) / MANIFEST_FILE).is_file():
        raise VersionNotFound(f"no model version {version!r} in {models_dir}")
    fd, tmp = tempfile.mkstemp(prefix=".current-", dir=models_dir)
    os.fchmod(fd, 0o644)  # readable by a service running as another user, like the bundles
    with os.fdopen(fd, "wb") as f:
        f.write(version.encode() + b"\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, Path(models_dir) / CURRENT_FILE)
    _fsync_dir(Path(models_dir))


def load_current(models_dir: Path) -> HaltungModel:
    version = current_version(models_dir)
    if version is None:
        raise NoCurrentModel(f"no model in {models_dir}: train one with `python -m training train --data starter`")
    return load_bundle(bundle_dir(models_dir, version))


def list_versions(models_dir: Path) -> list[dict[str, Any]]:
    """Manifests of all complete bundles, newest first (temporary directories are skipped)."""
    if not Path(models_dir).is_dir():
        return []
    out = []
    for child in Path(models_dir).iterdir():
        if child.is_dir() and VERSION_RE.fullmatch(child.name) and (child / MANIFEST_FILE).is_file():
            try:
                out.append(read_manifest(Path(models_dir), child.name))
            except BundleError:
                continue
    return sorted(out, key=lambda m: str(m.get("created_at", "")), reverse=True)


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
