"""training.retrain: base data from the manifest + labels, one evaluation set, the quality gate, promotion by
compare-and-swap."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.retrain_support import (
    CORRECTION_SENTENCES,
    DEV_FRACTION,
    Base,
    build_base,
    correction_labels,
    poisoned_labels,
    write_labels,
)
from tests.training.conftest import SavedModel
from training.bundle import current_version, list_versions, load_current, read_manifest
from training.cli import main
from training.data import read_examples
from training.fit import STARTER_NEUTRAL_PRIOR
from training.repository import DirectoryRepository
from training.retrain import FAST_SPACE, MIN_LABELS_TO_HOLD_OUT, promote, quality_gate, read_labels, retrain
from training.train import fingerprint, split_holdout


def run_retrain(models: Path, labels: Path, **options: Any) -> dict[str, Any]:
    """What `python -m training retrain` does: retrain, then promote (signed "test")."""
    repository = DirectoryRepository(models)
    return promote(repository, retrain(repository, read_labels(labels), **options), by="test").to_json()


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Base:
    return build_base(tmp_path_factory.mktemp("retrain-base"))


@pytest.fixture
def models(base: Base, tmp_path: Path) -> Path:
    return base.copy_to(tmp_path / "models")


def heads(f1: dict[str, float]) -> dict[str, dict[str, dict[str, float]]]:
    return {"heads": {h: {"macro_f1": v, "accuracy": v, "n": 10} for h, v in f1.items()}}


def test_gate_allows_drops_up_to_the_tolerance() -> None:
    current = heads({"sentiment": 0.70, "stance": 0.60})
    assert quality_gate(current, heads({"sentiment": 0.69, "stance": 0.65}), 0.01).passed
    failed = quality_gate(current, heads({"sentiment": 0.72, "stance": 0.58}), 0.01)
    assert not failed.passed and failed.drops == {"sentiment": -0.02, "stance": 0.02}
    assert len(failed.reasons) == 1 and failed.reasons[0].startswith("stance")
    assert quality_gate(current, heads({"sentiment": 0.70}), 0.01).reasons == ["the candidate has no stance head"]
    assert not quality_gate({"heads": {}}, heads({"sentiment": 0.9}), 0.01).passed  # nothing to compare on


def test_corrections_are_learned_and_promoted(base: Base, models: Path, tmp_path: Path) -> None:
    labels = write_labels(tmp_path / "labels.jsonl", correction_labels())
    before = load_current(models)
    result = run_retrain(models, labels, space=FAST_SPACE)

    assert result["status"] == "succeeded" and result["promoted"] and not result["forced"]
    last = DirectoryRepository(models).history()[-1]
    assert (last.version, last.previous, last.by) == (result["candidate_version"], base.version, "test")
    assert result["baseline_version"] == base.version
    assert current_version(models) == result["candidate_version"] != base.version
    assert result["gate"]["passed"] and result["gate"]["tolerance"] == 0.01
    assert set(result["metrics"]["candidate"]) == set(result["metrics"]["current"]) == {"sentiment", "stance"}
    assert set(result["timings"]) == {"read_s", "train_s", "evaluate_current_s", "total_s"}

    # The labels were split deterministically; the held-out ones joined the base dev slice for evaluation.
    examples = read_labels(labels)
    trained, held = split_holdout(examples, 0.2, 0)
    assert (result["data"]["labels_train"], result["data"]["labels_held_out"]) == (len(trained), len(held)) != (40, 0)
    evaluation = split_holdout(read_examples([base.data]), DEV_FRACTION, 0)[1] + held
    assert result["data"]["evaluation_rows"] == len(evaluation)
    manifest = read_manifest(models, result["candidate_version"])
    assert manifest["data"]["dev_fingerprint"] == fingerprint(evaluation)
    assert manifest["data"]["train"] == [str(base.data)]  # still the base data: labels come from the store

    after = load_current(models)
    old = [p.label for p in before.predict("sentiment", CORRECTION_SENTENCES)]
    new = [p.label for p in after.predict("sentiment", CORRECTION_SENTENCES)]
    assert sum(label != "negative" for label in old) >= 10  # the base model did not know it
    assert new == ["negative"] * len(CORRECTION_SENTENCES)


def test_poisoned_labels_are_rejected_and_current_stays(base: Base, models: Path, tmp_path: Path) -> None:
    labels = write_labels(tmp_path / "labels.jsonl", poisoned_labels(base))
    result = run_retrain(models, labels, space=FAST_SPACE)
    assert result["status"] == "rejected" and not result["promoted"]
    assert not result["gate"]["passed"]
    assert any("drop" in reason for reason in result["gate"]["reasons"])
    assert max(result["gate"]["drops"].values()) > result["gate"]["tolerance"]
    assert current_version(models) == base.version
    # The candidate is kept (it may still be activated by hand), but is not current.
    assert result["candidate_version"] in {m["version"] for m in list_versions(models)}


def test_force_promotes_a_candidate_the_gate_rejects(base: Base, models: Path, tmp_path: Path) -> None:
    labels = write_labels(tmp_path / "labels.jsonl", poisoned_labels(base))
    result = run_retrain(models, labels, space=FAST_SPACE, force=True)
    assert result["status"] == "succeeded" and result["promoted"] and result["forced"]
    assert not result["gate"]["passed"]
    assert current_version(models) == result["candidate_version"]


def test_a_rollback_during_the_retrain_is_never_overwritten(base: Base, models: Path, tmp_path: Path) -> None:
    """Compare-and-swap: `current` moved after the candidate was compared with the baseline, so it stays."""
    repository = DirectoryRepository(models)
    labels = read_labels(write_labels(tmp_path / "l.jsonl", correction_labels()))
    result = retrain(repository, labels, space=FAST_SPACE, force=True)  # it would be promoted, gate or not
    assert result.should_promote and result.baseline_version == base.version
    shutil.copytree(models / base.version, models / "other")
    manifest = json.loads((models / "other" / "manifest.json").read_text(encoding="utf-8"))
    (models / "other" / "manifest.json").write_text(json.dumps({**manifest, "version": "other"}), encoding="utf-8")
    repository.activate("other", by="someone")  # while the retrain ran

    promoted = promote(repository, result, by="test")
    assert promoted.status == "rejected" and not promoted.promoted
    assert promoted.note == f"not promoted: the current model changed from {base.version} during the retrain"
    assert repository.current() == "other"
    assert [a.by for a in repository.history()] == ["train", "someone"]  # the base model's training, the rollback


def test_a_retrain_keeps_the_neutral_prior_of_the_current_model(models: Path, tmp_path: Path) -> None:
    """Labels come from users, not the starter corpus; the base model's prior must survive them all the same."""
    before = {head: p.get("neutral_prior") for head, p in load_current(models).params.items()}
    result = run_retrain(models, write_labels(tmp_path / "labels.jsonl", correction_labels()[:3]), space=FAST_SPACE)
    after = DirectoryRepository(models).load(result["candidate_version"])
    assert {head: p.get("neutral_prior") for head, p in after.params.items()} == before
    assert set(before.values()) == {STARTER_NEUTRAL_PRIOR}  # the base is starter rows only


def test_the_candidate_records_its_origin(models: Path, tmp_path: Path) -> None:
    labels = read_labels(write_labels(tmp_path / "labels.jsonl", correction_labels()[:3]))
    repository = DirectoryRepository(models)
    result = retrain(repository, labels, space=FAST_SPACE, origin="retrain job_x")
    assert repository.manifest(result.candidate_version).data.model_dump()["origin"] == "retrain job_x"


def test_a_few_labels_are_all_trained_on(models: Path, tmp_path: Path) -> None:
    """Below MIN_LABELS_TO_HOLD_OUT nothing is held out: a single correction must reach the candidate."""
    few = correction_labels()[: MIN_LABELS_TO_HOLD_OUT - 1]
    result = run_retrain(models, write_labels(tmp_path / "labels.jsonl", few), space=FAST_SPACE)
    assert (result["data"]["labels_train"], result["data"]["labels_held_out"]) == (len(few), 0)


def test_cli_writes_the_result_json(models: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    labels = write_labels(tmp_path / "labels.jsonl", correction_labels()[:6])
    out = tmp_path / "result.json"
    args = ["retrain", "--models-dir", str(models), "--labels", str(labels), "--fast", "--result", str(out)]
    assert main([*args, "--tolerance", "0.5", "--holdout", "0"]) == 0
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["status"] == "succeeded"
    assert result["data"]["labels_held_out"] == 0 and result["gate"]["tolerance"] == 0.5
    assert result["candidate_version"] in capsys.readouterr().out


def test_cli_fails_with_exit_2_without_a_usable_base(
    models_copy: SavedModel, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    labels = write_labels(tmp_path / "labels.jsonl", correction_labels()[:3])
    out = tmp_path / "result.json"
    # The session model's manifest names no readable base data.
    args = ["retrain", "--models-dir", str(models_copy.models_dir), "--labels", str(labels), "--result", str(out)]
    assert main(args) == 2
    assert "no such file" in capsys.readouterr().err
    # No model at all.
    assert main(["retrain", "--models-dir", str(tmp_path / "empty"), "--labels", str(labels)]) == 2
    assert "no current model" in capsys.readouterr().err
    assert not out.exists()


def test_empty_label_file_reads_as_no_labels(tmp_path: Path) -> None:
    path = tmp_path / "labels.jsonl"
    path.write_text("\n", encoding="utf-8")
    assert read_labels(path) == []
