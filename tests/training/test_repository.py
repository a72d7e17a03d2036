"""The model repository: compare-and-swap activation, the activation history, verification first, seeding."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import pytest

from training import ANY, ActivationConflict, BundleError, DirectoryRepository, InvalidVersion, VersionNotFound
from training.bundle import MANIFEST_FILE, MODEL_FILE

from .conftest import SavedModel


def second_version(models: SavedModel, name: str = "other") -> str:
    """A copy of the session bundle under another version name (the SHA-256 covers the model file only)."""
    shutil.copytree(models.directory, models.models_dir / name)
    path = models.models_dir / name / MANIFEST_FILE
    path.write_text(json.dumps({**json.loads(path.read_text(encoding="utf-8")), "version": name}), encoding="utf-8")
    return name


def test_activate_is_a_compare_and_swap_and_records_who(models_copy: SavedModel) -> None:
    repository = DirectoryRepository(models_copy.models_dir)
    other = second_version(models_copy)
    with pytest.raises(ActivationConflict) as conflict:
        repository.activate(other, expected_current="somebody-else", by="test")
    assert conflict.value.details == {"expected": "somebody-else", "current": models_copy.version}
    assert repository.current() == models_copy.version and repository.history() == []

    moved = repository.activate(other, expected_current=models_copy.version, by="retrain job_1")
    back = repository.activate(models_copy.version, expected_current=ANY, by="api")
    assert repository.current() == models_copy.version
    assert [(a.version, a.previous, a.by) for a in repository.history()] == [
        (other, models_copy.version, "retrain job_1"),
        (models_copy.version, other, "api"),
    ]
    assert moved.at <= back.at


def test_of_concurrent_swaps_from_the_same_state_exactly_one_wins(models_copy: SavedModel) -> None:
    repository = DirectoryRepository(models_copy.models_dir)
    names = [second_version(models_copy, f"v{i}") for i in range(6)]
    won, lost = [], []
    start = threading.Barrier(len(names))

    def swap(name: str) -> None:
        start.wait()
        try:
            DirectoryRepository(models_copy.models_dir).activate(
                name, expected_current=models_copy.version, by=name, verify=False
            )
            won.append(name)
        except ActivationConflict:
            lost.append(name)

    threads = [threading.Thread(target=swap, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1 and len(lost) == len(names) - 1
    assert repository.current() == won[0] and [a.by for a in repository.history()] == won


def test_a_tampered_bundle_is_refused_before_current_moves(models_copy: SavedModel) -> None:
    repository = DirectoryRepository(models_copy.models_dir)
    other = second_version(models_copy)
    model_file = models_copy.models_dir / other / MODEL_FILE
    model_file.write_bytes(model_file.read_bytes() + b"x")
    with pytest.raises(BundleError, match="SHA-256"):
        repository.activate(other, by="test")
    with pytest.raises(VersionNotFound):
        repository.activate("v404", by="test")
    with pytest.raises(InvalidVersion):
        repository.activate("../x", by="test")
    assert repository.current() == models_copy.version and repository.history() == []


def test_versions_are_typed_manifests_newest_first(models_copy: SavedModel) -> None:
    repository = DirectoryRepository(models_copy.models_dir)
    (models_copy.models_dir / "broken").mkdir()
    (models_copy.models_dir / "broken" / MANIFEST_FILE).write_text('{"version": "broken", "runtime": 5}')
    manifests = repository.versions()
    assert [m.version for m in manifests] == [models_copy.version]  # an unreadable manifest is skipped
    assert manifests[0].data.train == ["starter slice"] and set(manifests[0].heads) == {"sentiment", "stance"}
    assert repository.manifest(models_copy.version).to_json() == json.loads(
        (models_copy.directory / MANIFEST_FILE).read_text(encoding="utf-8")
    )


def test_seeding_copies_bundles_only_into_an_empty_repository(models_copy: SavedModel, tmp_path: Path) -> None:
    fresh = DirectoryRepository(tmp_path / "volume" / "models")
    seed = DirectoryRepository(models_copy.models_dir)
    assert fresh.copy_from(seed) == models_copy.version
    assert fresh.current() == models_copy.version and fresh.load_current().version == models_copy.version
    assert [(a.version, a.previous, a.by) for a in fresh.history()] == [(models_copy.version, None, "seed")]
    assert fresh.copy_from(seed) is None  # it has a model now: nothing is copied or moved
    assert len(fresh.history()) == 1
