"""Safe model loading (issue 11, item 10): skops with a trusted-type list in the code; pickle only when allowed.

Someone who can write the models directory can rewrite the manifest's SHA-256 too, so every attack here
comes with a matching hash. A skops file naming a type outside `TRUSTED_TYPES` is refused before anything
is built; an old joblib bundle is refused unless HALTUNG_ALLOW_PICKLE_BUNDLES=true, by the library, the
CLI and a real server alike.
"""

from __future__ import annotations

import importlib
import io
import json
import pkgutil
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import joblib
import pytest
import skops.io as sio
from sklearn.base import BaseEstimator

import training
from tests.e2e.conftest import REPO_ROOT, service_env
from tests.reliability.faults_support import Server, error_of
from tests.tiny_model import save_tiny_model
from training.bundle import CURRENT_FILE, LEGACY_MODEL_FILE, MANIFEST_FILE, MODEL_FILE, load_bundle, sha256_bytes
from training.bundle_format import TRUSTED_TYPES
from training.errors import BundleError

SENTENCES = ["Die Regierung hat die Warnungen ignoriert.", "Der Euro legte deutlich zu."]


class Gadget:
    """An object whose rebuilding would do something: what an attacker's type would be."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __setstate__(self, state: dict[str, Any]) -> None:
        Path(state["marker"]).write_text("built")
        self.__dict__.update(state)


@pytest.fixture(scope="module")
def pristine_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    models = tmp_path_factory.mktemp("loading-models") / "models"
    save_tiny_model(models)
    return models


@pytest.fixture
def models(pristine_models: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(pristine_models, tmp_path / "models"))


def current_bundle(models: Path) -> Path:
    return models / (models / CURRENT_FILE).read_text().strip()


def replace_model_file(bundle: Path, name: str, payload: bytes, **manifest_changes: Any) -> None:
    """Swap the model file for `payload` under `name`, with a manifest that matches it (hash included)."""
    for old in (MODEL_FILE, LEGACY_MODEL_FILE):
        (bundle / old).unlink(missing_ok=True)
    (bundle / name).write_bytes(payload)
    manifest = json.loads((bundle / MANIFEST_FILE).read_text(encoding="utf-8"))
    manifest |= {"sha256": sha256_bytes(payload), **manifest_changes}
    (bundle / MANIFEST_FILE).write_text(json.dumps(manifest), encoding="utf-8")


def legacy_bundle(models: Path) -> tuple[Path, list[list[float]]]:
    """Turn the current bundle into an old-style joblib one (what bundles before this change hold)."""
    bundle = current_bundle(models)
    model = load_bundle(bundle)
    buffer = io.BytesIO()
    joblib.dump(model, buffer, compress=3)
    replace_model_file(bundle, LEGACY_MODEL_FILE, buffer.getvalue(), format=None)
    return bundle, model.predict_proba("sentiment", SENTENCES).tolist()


def test_bundles_are_skops_zip_files_that_predict_as_saved(models: Path) -> None:
    bundle = current_bundle(models)
    assert sorted(p.name for p in bundle.iterdir()) == [MANIFEST_FILE, MODEL_FILE]
    assert zipfile.is_zipfile(bundle / MODEL_FILE)
    assert json.loads((bundle / MANIFEST_FILE).read_text())["format"] == "skops"
    untrusted = sio.get_untrusted_types(file=bundle / MODEL_FILE)
    assert untrusted and set(untrusted) <= set(TRUSTED_TYPES)  # the project's classes, all listed
    first, second = load_bundle(bundle), load_bundle(bundle)
    for head in ("sentiment", "stance"):
        assert first.predict_proba(head, SENTENCES).tolist() == second.predict_proba(head, SENTENCES).tolist()


def test_a_skops_file_with_an_untrusted_type_is_refused_before_it_is_built(models: Path, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    payload = sio.dumps({"heads": {}, "params": {}, "gadget": Gadget(str(marker))})
    sio.loads(payload, trusted=[f"{__name__}.Gadget"])  # the control: building it really runs its code
    assert marker.read_text() == "built"
    marker.unlink()

    bundle = current_bundle(models)
    replace_model_file(bundle, MODEL_FILE, payload)
    with pytest.raises(BundleError, match=f"types outside the trusted list: {__name__}.Gadget") as refused:
        load_bundle(bundle)
    assert refused.value.details == {"untrusted_types": [f"{__name__}.Gadget"]}
    assert not marker.exists()


def test_a_legacy_pickle_bundle_loads_only_when_allowed(models: Path) -> None:
    bundle, expected = legacy_bundle(models)
    with pytest.raises(BundleError, match="HALTUNG_ALLOW_PICKLE_BUNDLES=true"):
        load_bundle(bundle)
    assert load_bundle(bundle, allow_pickle=True).predict_proba("sentiment", SENTENCES).tolist() == expected


@pytest.mark.slow
def test_the_service_refuses_a_pickle_bundle_unless_the_setting_allows_it(models: Path, tmp_path: Path) -> None:
    bundle, _ = legacy_bundle(models)
    refusing = Server(models, tmp_path / "data").start()
    try:
        ready = refusing.get("/v1/health/ready")
        assert ready.status_code == 503 and "HALTUNG_ALLOW_PICKLE_BUNDLES" in error_of(ready)["message"]
        assert refusing.alive()
    finally:
        refusing.stop()
    allowing = Server(models, tmp_path / "data", HALTUNG_ALLOW_PICKLE_BUNDLES="true").start()
    try:
        assert allowing.get("/v1/health/ready").json()["model_version"] == bundle.name
        assert allowing.classify().status_code == 200
    finally:
        allowing.stop()


@pytest.mark.slow
def test_cli_commands_load_skops_bundles_and_pickle_ones_only_when_allowed(models: Path, tmp_path: Path) -> None:
    data = tmp_path / "rows.jsonl"
    data.write_text("".join(json.dumps({"text": s, "sentiment": "negative"}) + "\n" for s in SENTENCES))

    def evaluate(**env: str) -> subprocess.CompletedProcess[str]:
        args = [sys.executable, "-m", "training", "evaluate", "--models-dir", str(models), "--data", str(data)]
        return subprocess.run(args, cwd=REPO_ROOT, env=service_env(**env), capture_output=True, text=True, timeout=300)

    done = evaluate()
    assert done.returncode == 0, done.stderr
    legacy_bundle(models)
    refused = evaluate()
    assert refused.returncode == 2 and "HALTUNG_ALLOW_PICKLE_BUNDLES" in refused.stderr, refused.stderr
    allowed = evaluate(HALTUNG_ALLOW_PICKLE_BUNDLES="true")
    assert allowed.returncode == 0, allowed.stderr


@pytest.mark.slow
def test_convert_re_saves_a_pickle_bundle_as_skops_once_allowed(models: Path) -> None:
    bundle, expected = legacy_bundle(models)
    command = [sys.executable, "-m", "training.convert", "--models-dir", str(models)]

    def run(**env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(command, cwd=REPO_ROOT, env=service_env(**env), capture_output=True, text=True)

    refused = run()
    assert refused.returncode == 2 and "HALTUNG_ALLOW_PICKLE_BUNDLES=true" in refused.stderr
    done = run(HALTUNG_ALLOW_PICKLE_BUNDLES="true")
    assert done.returncode == 0, done.stderr
    new = (models / CURRENT_FILE).read_text().strip()
    assert done.stdout.strip() == f"{bundle.name} -> {new} (current)"
    converted = load_bundle(models / new)  # no pickle needed any more
    assert (models / new / MODEL_FILE).is_file()
    assert converted.manifest.to_json()["converted_from"] == bundle.name
    assert converted.manifest.metrics == load_bundle(bundle, allow_pickle=True).manifest.metrics
    assert converted.predict_proba("sentiment", SENTENCES).tolist() == expected


def test_every_estimator_class_of_the_project_is_trusted() -> None:
    """A new estimator class in `training` must be added to TRUSTED_TYPES, or its bundles will not load."""
    found = set()
    for module in pkgutil.iter_modules(training.__path__, "training."):
        if module.name == "training.__main__":  # running it would run the CLI
            continue
        for value in vars(importlib.import_module(module.name)).values():
            if isinstance(value, type) and issubclass(value, BaseEstimator) and value.__module__ == module.name:
                found.add(f"{value.__module__}.{value.__qualname__}")
    assert found == set(TRUSTED_TYPES)
