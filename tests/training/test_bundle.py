"""Model bundles: SHA-256 and library checks before unpickling, safe version names, atomic saves, `current`."""

from __future__ import annotations

import io
import json
import os
import platform
import re
from pathlib import Path
from typing import Any

import joblib
import pytest
import sklearn
import skops

from training.bundle import (
    CURRENT_FILE,
    LEGACY_MODEL_FILE,
    MANIFEST_FILE,
    MODEL_FILE,
    BundleError,
    bundle_dir,
    check_version_name,
    current_version,
    list_versions,
    load_bundle,
    load_current,
    save_bundle,
    set_current,
    sha256_bytes,
)
from training.model import HaltungModel
from training.repository import DirectoryRepository

from .conftest import SavedModel


def save_current(model: HaltungModel, models_dir: Path, manifest: dict[str, Any]) -> str:
    """Save a bundle and make it current, through the repository (the one owner of `current`)."""
    repository = DirectoryRepository(models_dir)
    version = repository.save(model, manifest)
    repository.activate(version, by="test", verify=False)
    return version


class CreatesMarker:
    """A pickle payload whose *unpickling* creates a file: what an attacker's model.joblib would do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (str(self.marker), "w"))


def malicious_payload(marker: Path) -> bytes:
    buffer = io.BytesIO()
    joblib.dump(CreatesMarker(marker), buffer)
    return buffer.getvalue()


def edit_manifest(directory: Path, **changes: Any) -> dict[str, Any]:
    path = directory / MANIFEST_FILE
    manifest = json.loads(path.read_text(encoding="utf-8")) | changes
    path.write_text(json.dumps(manifest), encoding="utf-8")
    return manifest


# --- what a saved bundle holds --------------------------------------------------------------------------------------


def test_saved_bundle_has_a_complete_manifest(saved_model: SavedModel) -> None:
    directory = saved_model.directory
    assert sorted(p.name for p in directory.iterdir()) == [MANIFEST_FILE, MODEL_FILE]
    manifest = json.loads((directory / MANIFEST_FILE).read_text(encoding="utf-8"))
    assert manifest["version"] == saved_model.version == directory.name
    assert manifest["sha256"] == sha256_bytes((directory / MODEL_FILE).read_bytes())
    assert saved_model.version.endswith(manifest["sha256"][:8])
    assert manifest["runtime"] == {
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "joblib": joblib.__version__,
        "skops": skops.__version__,
    }
    assert manifest["format"] == "skops"
    assert manifest["heads"] == {
        "sentiment": ["negative", "neutral", "positive"],
        "stance": ["against", "favor", "neutral"],
    }
    assert manifest["hyperparameters"]["stance"]["C"] == 1.0
    assert manifest["data"] == {"train": ["starter slice"]}
    assert current_version(saved_model.models_dir) == saved_model.version


def test_saving_twice_gives_two_versions(models_copy: SavedModel) -> None:
    model = load_bundle(models_copy.directory)
    first = save_current(model, models_copy.models_dir, {})
    second = save_current(model, models_copy.models_dir, {})
    assert len({models_copy.version, first, second}) == 3
    assert current_version(models_copy.models_dir) == second
    assert {m["version"] for m in list_versions(models_copy.models_dir)} == {models_copy.version, first, second}
    assert load_current(models_copy.models_dir).version == second


def test_bundles_are_readable_by_a_service_running_as_another_user(models_copy: SavedModel) -> None:
    version = save_current(load_bundle(models_copy.directory), models_copy.models_dir, {})
    directory = models_copy.models_dir / version
    assert directory.stat().st_mode & 0o755 == 0o755
    for path in (directory / MODEL_FILE, directory / MANIFEST_FILE, models_copy.models_dir / "current"):
        assert path.stat().st_mode & 0o444 == 0o444, path


# --- tampering ------------------------------------------------------------------------------------------------------


def test_one_flipped_byte_is_refused(models_copy: SavedModel) -> None:
    model_file = models_copy.directory / MODEL_FILE
    payload = bytearray(model_file.read_bytes())
    payload[len(payload) // 2] ^= 0x01
    model_file.write_bytes(bytes(payload))
    with pytest.raises(BundleError, match=r"SHA-256 .* does not match its manifest: refusing to load it"):
        load_bundle(models_copy.directory)
    with pytest.raises(BundleError, match="SHA-256"):
        load_current(models_copy.models_dir)


def test_a_tampered_pickle_is_never_unpickled(models_copy: SavedModel, tmp_path: Path) -> None:
    # The payload really is dangerous: unpickling it elsewhere creates its marker file.
    control = tmp_path / "control-marker"
    joblib.load(io.BytesIO(malicious_payload(control))).close()
    assert control.exists()

    marker = tmp_path / "marker"
    (models_copy.directory / MODEL_FILE).write_bytes(malicious_payload(marker))  # manifest keeps the old sha256
    with pytest.raises(BundleError, match="SHA-256"):
        load_bundle(models_copy.directory)
    assert not marker.exists()


def test_library_versions_are_checked_before_unpickling(models_copy: SavedModel, tmp_path: Path) -> None:
    # Even with a matching SHA-256, a bundle from other libraries is refused before any byte is unpickled.
    marker = tmp_path / "marker"
    payload = malicious_payload(marker)
    (models_copy.directory / MODEL_FILE).write_bytes(payload)
    runtime = {"python": platform.python_version(), "scikit-learn": "0.0.1", "joblib": joblib.__version__}
    edit_manifest(models_copy.directory, sha256=sha256_bytes(payload), runtime=runtime)
    with pytest.raises(BundleError, match="other library versions"):
        load_bundle(models_copy.directory)
    assert not marker.exists()


def test_edited_manifest_sha256_is_refused(models_copy: SavedModel) -> None:
    edit_manifest(models_copy.directory, sha256="0" * 64)
    with pytest.raises(BundleError, match="SHA-256"):
        load_bundle(models_copy.directory)


def test_manifest_without_sha256_is_refused(models_copy: SavedModel) -> None:
    manifest = json.loads((models_copy.directory / MANIFEST_FILE).read_text(encoding="utf-8"))
    del manifest["sha256"]
    (models_copy.directory / MANIFEST_FILE).write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(BundleError, match="SHA-256"):
        load_bundle(models_copy.directory)


def test_other_scikit_learn_version_is_refused_with_a_clear_message(models_copy: SavedModel) -> None:
    manifest = edit_manifest(models_copy.directory)
    edit_manifest(models_copy.directory, runtime=manifest["runtime"] | {"scikit-learn": "0.24.2"})
    with pytest.raises(BundleError) as err:
        load_bundle(models_copy.directory)
    message = str(err.value)
    assert models_copy.version in message
    assert f"scikit-learn 0.24.2 (bundle) vs {sklearn.__version__} (here)" in message
    assert "retrain" in message


def test_python_minor_version_must_match_but_patch_may_differ(models_copy: SavedModel) -> None:
    runtime = edit_manifest(models_copy.directory)["runtime"]
    major, minor = platform.python_version().split(".")[:2]
    edit_manifest(models_copy.directory, runtime=runtime | {"python": f"{major}.{minor}.999"})
    assert load_bundle(models_copy.directory).version == models_copy.version
    edit_manifest(models_copy.directory, runtime=runtime | {"python": f"{major}.{int(minor) + 1}.0"})
    with pytest.raises(BundleError, match=f"python {major}.{int(minor) + 1}.0 \\(bundle\\)"):
        load_bundle(models_copy.directory)


def test_bundle_copied_under_another_name_is_refused(models_copy: SavedModel) -> None:
    renamed = models_copy.models_dir / "renamed"
    models_copy.directory.rename(renamed)
    with pytest.raises(BundleError, match=r"manifest names version .* directory is 'renamed'"):
        load_bundle(renamed)


def test_broken_or_missing_bundle_files(models_copy: SavedModel) -> None:
    (models_copy.directory / MODEL_FILE).unlink()
    with pytest.raises(BundleError, match=f"has no {MODEL_FILE}"):
        load_bundle(models_copy.directory)
    (models_copy.directory / MANIFEST_FILE).write_text("{not json", encoding="utf-8")
    with pytest.raises(BundleError, match="is not valid JSON"):
        load_bundle(models_copy.directory)
    (models_copy.directory / MANIFEST_FILE).unlink()
    with pytest.raises(BundleError, match="no model version"):
        load_bundle(models_copy.directory)


def test_a_pickle_that_is_not_a_model_is_refused(models_copy: SavedModel) -> None:
    buffer = io.BytesIO()
    joblib.dump({"heads": {}}, buffer)
    (models_copy.directory / MODEL_FILE).unlink()
    (models_copy.directory / LEGACY_MODEL_FILE).write_bytes(buffer.getvalue())
    edit_manifest(models_copy.directory, sha256=sha256_bytes(buffer.getvalue()))
    with pytest.raises(BundleError, match="does not hold a HaltungModel"):
        load_bundle(models_copy.directory, allow_pickle=True)


def test_a_pickle_with_a_matching_sha256_is_refused_unless_allowed(models_copy: SavedModel, tmp_path: Path) -> None:
    # Whoever can write the models directory can rewrite the manifest too: the SHA-256 alone is no defence.
    marker = tmp_path / "marker"
    payload = malicious_payload(marker)
    (models_copy.directory / MODEL_FILE).unlink()
    (models_copy.directory / LEGACY_MODEL_FILE).write_bytes(payload)
    edit_manifest(models_copy.directory, sha256=sha256_bytes(payload))
    with pytest.raises(BundleError, match="HALTUNG_ALLOW_PICKLE_BUNDLES=true"):
        load_bundle(models_copy.directory)
    assert not marker.exists()


# --- version names --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "..",
        "../models",
        "a/../b",
        "v1..2",
        "a/b",
        "/etc",
        "/tmp/x",
        "a\\b",
        "",
        ".hidden",
        "-v",
        "v 1",
        "a" * 65,
        "v1\n",
        "current/../x",
    ],
)
def test_unsafe_version_names_are_rejected(name: str, tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="invalid model version name"):
        check_version_name(name)
    with pytest.raises(BundleError, match="invalid model version name"):
        bundle_dir(tmp_path, name)


@pytest.mark.parametrize("name", ["20260101T120000Z-0ebfcf34", "20260101T120000Z-0ebfcf34-2", "v1.2", "Modell_3"])
def test_plain_version_names_are_accepted(name: str, tmp_path: Path) -> None:
    assert check_version_name(name) == name
    assert bundle_dir(tmp_path, name) == tmp_path / name


def test_current_pointer_with_a_path_is_rejected(models_copy: SavedModel) -> None:
    (models_copy.models_dir / CURRENT_FILE).write_text("../elsewhere\n", encoding="utf-8")
    with pytest.raises(BundleError, match=re.escape("invalid model version name '../elsewhere'")):
        load_current(models_copy.models_dir)


# --- current, list_versions, atomic writes --------------------------------------------------------------------------


def test_no_model_yet(tmp_path: Path) -> None:
    assert current_version(tmp_path) is None
    assert list_versions(tmp_path) == []
    assert list_versions(tmp_path / "missing") == []
    with pytest.raises(BundleError, match="no model in"):
        load_current(tmp_path)


def test_set_current_to_a_missing_version_raises_and_keeps_current(models_copy: SavedModel) -> None:
    with pytest.raises(BundleError, match="no model version 'v404'"):
        set_current(models_copy.models_dir, "v404")
    (models_copy.models_dir / "half").mkdir()  # a directory without manifest is no version either
    with pytest.raises(BundleError, match="no model version 'half'"):
        set_current(models_copy.models_dir, "half")
    with pytest.raises(BundleError, match="invalid model version name"):
        set_current(models_copy.models_dir, "../x")
    assert current_version(models_copy.models_dir) == models_copy.version


def test_list_versions_newest_first_and_only_complete_bundles(models_copy: SavedModel) -> None:
    models_dir = models_copy.models_dir
    for name, created in (("older", "2020-01-01T00:00:00+00:00"), ("newer", "2030-01-01T00:00:00+00:00")):
        copy = models_dir / name
        copy.mkdir()
        (copy / MODEL_FILE).write_bytes((models_copy.directory / MODEL_FILE).read_bytes())
        manifest = json.loads((models_copy.directory / MANIFEST_FILE).read_text(encoding="utf-8"))
        (copy / MANIFEST_FILE).write_text(json.dumps(manifest | {"version": name, "created_at": created}))
    (models_dir / "no-manifest").mkdir()
    (models_dir / ".tmp-v9-abc").mkdir()
    (models_dir / ".tmp-v9-abc" / MANIFEST_FILE).write_text("{}")
    (models_dir / "broken").mkdir()
    (models_dir / "broken" / MANIFEST_FILE).write_text("{")
    assert [m["version"] for m in list_versions(models_dir)] == ["newer", models_copy.version, "older"]


def replace_failing(monkeypatch: pytest.MonkeyPatch, fails: Any) -> None:
    """Make `os.replace` inside training.bundle raise ENOSPC for the renames that `fails(src, dst)` selects."""
    real_replace = os.replace

    def replace(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
        if fails(Path(src), Path(dst)):
            raise OSError(28, "No space left on device")
        real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr("training.bundle.os.replace", replace)


def assert_current_is_complete(models_dir: Path, expected: str) -> None:
    assert (models_dir / CURRENT_FILE).read_text(encoding="utf-8").strip() == expected
    assert expected in [m["version"] for m in list_versions(models_dir)]
    assert load_current(models_dir).version == expected


def test_failed_bundle_rename_leaves_current_and_versions_untouched(
    models_copy: SavedModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    models_dir = models_copy.models_dir
    model = load_bundle(models_copy.directory)
    replace_failing(monkeypatch, lambda src, dst: src.is_dir())
    with pytest.raises(OSError, match="No space left"):
        save_bundle(model, models_dir, {})
    monkeypatch.undo()
    assert_current_is_complete(models_dir, models_copy.version)
    assert [m["version"] for m in list_versions(models_dir)] == [models_copy.version]
    visible = [p.name for p in models_dir.iterdir() if not p.name.startswith(".")]
    assert sorted(visible) == sorted([CURRENT_FILE, models_copy.version])
    assert model.version == models_copy.version  # a failed save does not rename the model


def test_failed_pointer_update_keeps_the_old_current(models_copy: SavedModel, monkeypatch: pytest.MonkeyPatch) -> None:
    models_dir = models_copy.models_dir
    model = load_bundle(models_copy.directory)
    replace_failing(monkeypatch, lambda src, dst: dst.name == CURRENT_FILE)
    with pytest.raises(OSError, match="No space left"):
        save_current(model, models_dir, {"note": "new"})
    monkeypatch.undo()
    assert_current_is_complete(models_dir, models_copy.version)
    # The new bundle itself was complete before the pointer moved: it is listed and loads.
    versions = [m["version"] for m in list_versions(models_dir)]
    assert len(versions) == 2
    (new,) = set(versions) - {models_copy.version}
    assert load_bundle(models_dir / new).manifest.to_json()["note"] == "new"
    set_current(models_dir, new)
    assert_current_is_complete(models_dir, new)


def test_model_file_write_failing_midway_leaves_no_half_bundle(
    models_copy: SavedModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    import training.bundle

    real_write = training.bundle._write_synced

    def disk_full(path: Path, data: bytes) -> None:
        if path.name == MODEL_FILE:
            path.write_bytes(data[: len(data) // 2])
            raise OSError(28, "No space left on device")
        real_write(path, data)

    models_dir = models_copy.models_dir
    monkeypatch.setattr(training.bundle, "_write_synced", disk_full)
    with pytest.raises(OSError, match="No space left"):
        save_bundle(load_bundle(models_copy.directory), models_dir, {})
    monkeypatch.undo()
    assert_current_is_complete(models_dir, models_copy.version)
    assert [m["version"] for m in list_versions(models_dir)] == [models_copy.version]


def test_successful_save_moves_current_only_when_asked(models_copy: SavedModel) -> None:
    models_dir = models_copy.models_dir
    model: HaltungModel = load_bundle(models_copy.directory)
    quiet = save_bundle(model, models_dir, {})
    assert_current_is_complete(models_dir, models_copy.version)
    assert model.version == quiet
    loud = save_current(model, models_dir, {})
    assert_current_is_complete(models_dir, loud)
    set_current(models_dir, models_copy.version)  # rollback
    assert_current_is_complete(models_dir, models_copy.version)
    assert not [p for p in models_dir.iterdir() if p.name.startswith(".current-")]
