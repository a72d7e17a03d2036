"""Damaged bundles never crash the process and never answer 500 (issue 11, item 6), against real servers.

Each damage is made on a real copy of a bundle: start-up on it serves 503 with the reason (classify
included), activating it answers 409 with the reason and changes nothing, and `GET /v1/models` lists a
version whose manifest is broken as broken instead of failing for everyone.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.reliability.faults_support import Server, error_of
from tests.tiny_model import save_tiny_model
from training.bundle import CURRENT_FILE, MANIFEST_FILE, MODEL_FILE, sha256_bytes

pytestmark = pytest.mark.slow


def damaged_model_file(bundle: Path) -> None:
    """A model file cut short, with a manifest whose SHA-256 matches the damaged bytes."""
    payload = (bundle / MODEL_FILE).read_bytes()[:5000]
    (bundle / MODEL_FILE).write_bytes(payload)
    edit(bundle, sha256=sha256_bytes(payload))


def runtime_not_an_object(bundle: Path) -> None:
    edit(bundle, runtime="python 3.11")


def manifest_without_version(bundle: Path) -> None:
    manifest = json.loads((bundle / MANIFEST_FILE).read_text(encoding="utf-8"))
    del manifest["version"]
    (bundle / MANIFEST_FILE).write_text(json.dumps(manifest), encoding="utf-8")


def manifest_is_an_array(bundle: Path) -> None:
    (bundle / MANIFEST_FILE).write_text(json.dumps([1, 2, 3]), encoding="utf-8")


def edit(bundle: Path, **changes: object) -> None:
    manifest = json.loads((bundle / MANIFEST_FILE).read_text(encoding="utf-8")) | changes
    (bundle / MANIFEST_FILE).write_text(json.dumps(manifest), encoding="utf-8")


DAMAGES: dict[str, Callable[[Path], None]] = {
    "damaged model file, matching hash": damaged_model_file,
    "runtime is not an object": runtime_not_an_object,
    "manifest without version": manifest_without_version,
    "manifest is a JSON array": manifest_is_an_array,
}
BROKEN_IN_LISTING = {"runtime is not an object", "manifest without version", "manifest is a JSON array"}


@pytest.fixture(scope="module")
def pristine_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    models = tmp_path_factory.mktemp("bundles-models") / "models"
    save_tiny_model(models)
    return models


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for server in started:
        server.stop()


def assert_degraded(server: Server, reason: str) -> None:
    """Alive, not ready (503 with the reason), classify 503 `no_model`, nothing answers 500."""
    assert server.alive(), server.stderr()
    ready = server.get("/v1/health/ready")
    assert ready.status_code == 503 and reason in error_of(ready)["message"], ready.text
    classify = server.classify()
    assert classify.status_code == 503 and error_of(classify)["code"] == "no_model", classify.text
    assert server.get("/v1/models").status_code == 200
    assert server.get("/v1/health/live").status_code == 200


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        ("damaged model file, matching hash", "not a readable skops file"),
        ("runtime is not an object", "does not match the manifest schema"),
        ("manifest without version", "manifest names version None"),
        ("manifest is a JSON array", "is a JSON list, not an object"),
        ("current is not UTF-8", "is not valid UTF-8"),
    ],
)
def test_start_up_on_a_bad_bundle_serves_503_with_the_reason(
    damage: str, reason: str, pristine_models: Path, tmp_path: Path, servers: list[Server]
) -> None:
    models = Path(shutil.copytree(pristine_models, tmp_path / "models"))
    version = (models / CURRENT_FILE).read_text().strip()
    if damage == "current is not UTF-8":
        (models / CURRENT_FILE).write_bytes(b"\xff\xfe" + version.encode()[:8] + b"\xc3\n")
    else:
        DAMAGES[damage](models / version)
    server = Server(models, tmp_path / "data").start()
    servers.append(server)
    assert_degraded(server, reason)
    listing = server.get("/v1/models").json()
    if damage == "current is not UTF-8":
        assert listing["current"] is None and "UTF-8" in listing["current_error"]
    if damage in BROKEN_IN_LISTING:
        (entry,) = [v for v in listing["versions"] if v["version"] == version]
        assert entry["broken"] is True and entry["error"] and entry["manifest"] == {}, entry


def test_activating_bad_bundles_answers_409_and_the_listing_marks_them_broken(
    pristine_models: Path, tmp_path: Path, servers: list[Server]
) -> None:
    models = Path(shutil.copytree(pristine_models, tmp_path / "models"))
    good = (models / CURRENT_FILE).read_text().strip()
    bad: dict[str, str] = {}
    for name, damage in DAMAGES.items():
        version = save_tiny_model(models).version
        assert version is not None
        damage(models / version)
        bad[name] = version
    (models / CURRENT_FILE).write_text(good + "\n")  # save_tiny_model made each one current in turn
    server = Server(models, tmp_path / "data").start()
    servers.append(server)
    assert server.get("/v1/health/ready").status_code == 200

    for name, version in bad.items():
        response = server.post(f"/v1/models/{version}/activate")
        assert response.status_code == 409, (name, response.text)
        error = error_of(response)
        assert error["code"] == "model_refused" and version in error["message"], (name, error)
        assert error["details"]["serving"] == good
    assert (models / CURRENT_FILE).read_text().strip() == good
    assert server.classify().json()["model_version"] == good

    listing = server.get("/v1/models")
    assert listing.status_code == 200, listing.text
    entries = {v["version"]: v for v in listing.json()["versions"]}
    assert entries[good]["broken"] is False and entries[good]["current"] is True
    for name, version in bad.items():
        assert entries[version]["broken"] is (name in BROKEN_IN_LISTING), (name, entries[version])
    assert server.alive()
