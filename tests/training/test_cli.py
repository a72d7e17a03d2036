"""`python -m training ...` end to end, in real subprocesses: train, evaluate, predict, versions, activate, errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from training.bundle import CURRENT_FILE, MANIFEST_FILE, MODEL_FILE
from training.cli import main
from training.data import Example, write_jsonl

from .conftest import stable_sample

ROOT = Path(__file__).resolve().parents[2]
TRAIN_ROWS, DEV_ROWS = 72, 30


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "training", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def ok(*args: str | Path) -> subprocess.CompletedProcess[str]:
    result = run(*args)
    assert result.returncode == 0, result.stderr
    return result


def write(path: Path, rows: list[dict]) -> Path:
    with path.open("w", encoding="utf-8") as out:
        write_jsonl(rows, out)
    return path


@dataclass(frozen=True)
class Trained:
    workdir: Path
    models: Path
    train: Path
    dev: Path
    older: str
    newer: str


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, starter_examples: list[Example]) -> Trained:
    """Two versions trained by the CLI: `older` with --dev-fraction, `newer` with --dev (and made current)."""
    workdir = tmp_path_factory.mktemp("cli")
    sample = stable_sample(starter_examples, TRAIN_ROWS + DEV_ROWS, salt="cli")
    extra = {"topic": "any", "domain": "news"}  # extra columns are accepted
    train = write(workdir / "train.jsonl", [e.to_json() | extra for e in sample[:TRAIN_ROWS]])
    dev = write(workdir / "dev.jsonl", [e.to_json() for e in sample[TRAIN_ROWS:]])
    models = workdir / "models"
    older = ok("train", "--data", train, "--out", models, "--dev-fraction", "0.25").stdout.strip()
    newer = ok("train", "--data", train, "--dev", dev, "--out", models, "--seed", "1").stdout.strip()
    return Trained(workdir, models, train, dev, older, newer)


def manifest(models: Path, version: str) -> dict:
    return json.loads((models / version / MANIFEST_FILE).read_text(encoding="utf-8"))


def test_train_saves_versions_with_their_data_and_metrics(trained: Trained) -> None:
    assert trained.older != trained.newer
    assert (trained.models / CURRENT_FILE).read_text().strip() == trained.newer
    for version in (trained.older, trained.newer):
        assert sorted(p.name for p in (trained.models / version).iterdir()) == [MANIFEST_FILE, MODEL_FILE]
    older, newer = manifest(trained.models, trained.older), manifest(trained.models, trained.newer)
    assert older["data"]["train"] == newer["data"]["train"] == [str(trained.train.resolve())]
    assert older["data"]["dev_fraction"] == 0.25 and older["data"]["dev"] == []
    assert newer["data"]["dev"] == [str(trained.dev.resolve())] and newer["data"]["seed"] == 1
    # --dev-fraction holds rows out of the training rows; --dev evaluates on all dev rows.
    held = older["data"]["dev_fingerprint"]["rows"]
    assert older["data"]["train_fingerprint"]["rows"] + held == TRAIN_ROWS and held > 0
    assert newer["data"]["train_fingerprint"]["rows"] == TRAIN_ROWS
    assert newer["data"]["dev_fingerprint"]["rows"] == DEV_ROWS
    for m in (older, newer):
        assert set(m["metrics"]["heads"]) == {"sentiment", "stance"}
        assert set(m["heads"]) == {"sentiment", "stance"}


def test_evaluate_writes_a_json_report(trained: Trained) -> None:
    rows = [e.to_json() | {"source": "wire" if i % 2 else "agency"} for i, e in enumerate(read(trained.dev))]
    data, report_file = write(trained.workdir / "eval.jsonl", rows), trained.workdir / "report.json"
    result = ok(
        "evaluate", "--model", trained.older, "--models-dir", trained.models, "--data", data, "--report", report_file
    )
    report = json.loads(report_file.read_text(encoding="utf-8"))
    assert report["model"] == trained.older
    assert set(report["heads"]) == {"sentiment", "stance"}
    for head, r in report["heads"].items():
        n = sum(1 for row in rows if row.get(head))
        assert r["n"] == n
        assert 0.0 <= r["macro_f1"] <= 1.0 and 0.0 <= r["accuracy"] <= 1.0
        assert sum(c["support"] for c in r["per_class"].values()) == n
        assert set(r["per_class"]["neutral"]) == {"precision", "recall", "f1", "support"}
        assert set(r["by_source"]) == {"agency", "wire"}
        assert all(set(s) == {"macro_f1", "accuracy", "n"} for s in r["by_source"].values())
        assert sum(s["n"] for s in r["by_source"].values()) == n
        assert f"{head}: macro-F1 {r['macro_f1']:.3f}" in result.stdout


def read(path: Path) -> list[Example]:
    from training.data import read_examples

    return read_examples([path])


def test_predict_adds_labels_and_probabilities(trained: Trained) -> None:
    rows = [
        {"id": "p1", "text": "Die Regierung hat die Warnungen der Fachleute ignoriert.", "target": "Regierung"},
        {"id": "p2", "text": "Der Verein feiert den überraschenden Aufstieg mit seinen Fans."},
        {
            "text": "Das Tempolimit rettet Leben, sagen die Verkehrsexperten.",
            "target": "Soll ein Tempolimit auf Autobahnen eingeführt werden?",
        },
    ]
    data, out = write(trained.workdir / "unlabelled.jsonl", rows), trained.workdir / "predicted.jsonl"
    result = ok("predict", "--models-dir", trained.models, "--data", data, "--out", out)
    assert f"scored 3 rows with model {trained.newer}" in result.stderr
    predicted = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [{k: r.get(k) for k in ("id", "text", "target")} for r in predicted] == [
        {k: r.get(k) for k in ("id", "text", "target")} for r in rows
    ]
    labels = {"sentiment": ["negative", "neutral", "positive"], "stance": ["against", "favor", "neutral"]}
    for row in predicted:
        assert row["model_version"] == trained.newer
        assert_head(row, "sentiment", labels["sentiment"])
    # A stance where the target is mentioned (p1) or asked about (the question); none without a target (p2).
    assert [(r["mentioned"], r["stance_basis"]) for r in predicted] == [
        (True, "mention"),
        (False, None),
        (False, "question"),
    ]
    assert predicted[0]["mention"] == {"start": 4, "end": 13, "text": "Regierung", "via": "name"}
    assert [r["mention"] for r in predicted[1:]] == [None, None]
    for row in (predicted[0], predicted[2]):
        assert_head(row, "stance", labels["stance"])
    assert (predicted[1]["predicted_stance"], predicted[1]["stance_scores"]) == (None, None)


def assert_head(row: dict, head: str, allowed: list[str]) -> None:
    assert list(row[f"{head}_scores"]) == allowed
    assert sum(row[f"{head}_scores"].values()) == pytest.approx(1.0)
    assert row[f"predicted_{head}"] == max(row[f"{head}_scores"], key=row[f"{head}_scores"].get)


def test_predict_gives_no_stance_toward_unmentioned_targets_unless_asked(
    trained: Trained, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [
        {"text": "Frankreich hat der Ukraine Hilfe zugesagt.", "target": "Russland"},
        {"text": "Die russische Armee rückt vor.", "target": "Russland"},
        {"text": "Das sagte der Minister in Berlin.", "target": "Regierung", "target_span": [4, 9]},
    ]
    data = write(tmp_path / "data.jsonl", rows)
    answers = {}
    for option in ("null", "score"):
        argv = ["predict", "--models-dir", str(trained.models), "--data", str(data), "--out", "-"]
        assert main([*argv, "--unmentioned", option]) == 0
        answers[option] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    default, scored = answers["null"], answers["score"]
    assert [(r["mentioned"], r["predicted_stance"]) for r in default[:1]] == [(False, None)]
    assert default[1]["mention"] == {"start": 4, "end": 13, "text": "russische", "via": "derived"}
    assert default[2]["mention"] == {"start": 4, "end": 9, "text": "sagte", "via": "name"}  # target_span wins
    assert [r["stance_basis"] for r in default] == [None, "mention", "mention"]
    assert [r["stance_basis"] for r in scored] == ["tone", "mention", "mention"]
    assert scored[0]["predicted_stance"] in scored[0]["stance_scores"]
    assert default[1:] == scored[1:]


def test_predict_errors_speak_of_input_not_labelled_data(
    trained: Trained, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write(tmp_path / "data.jsonl", [{"text": "Ein Satz."}, {"txt": "kein Text"}])
    out = tmp_path / "out.jsonl"
    assert main(["predict", "--models-dir", str(trained.models), "--data", str(data), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: 1 problem(s) in the input data:")
    assert "labelled" not in err
    assert not out.exists()


def test_activate_rolls_back_and_versions_marks_current(trained: Trained, tmp_path: Path) -> None:
    models = tmp_path / "models"
    shutil.copytree(trained.models, models)
    result = ok("activate", trained.older, "--models-dir", models)
    assert result.stdout.strip() == f"current model is now {trained.older}"
    assert (models / CURRENT_FILE).read_text().strip() == trained.older
    lines = ok("versions", "--models-dir", models).stdout.splitlines()
    assert [line[:2] + line[2:].split()[0] for line in lines] == [f"  {trained.newer}", f"* {trained.older}"]
    assert "dev macro-F1 {'sentiment': " in lines[0]


def test_bad_data_is_a_clear_error_with_exit_code_2(tmp_path: Path) -> None:
    good = {"text": "Der Ausschuss tagt am Donnerstag.", "sentiment": "neutral"}
    bad = write(
        tmp_path / "bad.jsonl",
        [
            good,
            good | {"text": "Noch ein Satz."},
            {"text": "Die Regierung irrt.", "target": "Regierung", "stance": "dagegen"},
        ],
    )
    csv = tmp_path / "more.csv"
    csv.write_text("satz,sentiment\nEin Satz.,neutral\n", encoding="utf-8")
    models = tmp_path / "models"
    result = run("train", "--data", bad, csv, "--out", models)
    assert result.returncode == 2
    assert result.stderr.startswith("error: 2 problem(s) in the labelled data:")
    assert f"{bad}:3: unknown stance label 'dagegen'" in result.stderr
    assert f"{csv}:1: CSV header has no 'text' column" in result.stderr
    assert "Traceback" not in result.stderr
    assert not models.exists()


def test_missing_model_is_a_clear_error_with_exit_code_2(tmp_path: Path) -> None:
    data = write(tmp_path / "data.jsonl", [{"text": "Ein Satz.", "sentiment": "neutral"}])
    result = run("evaluate", "--models-dir", tmp_path / "models", "--data", data)
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: no current model in {tmp_path / 'models'}")
    assert "Traceback" not in result.stderr


# In-process (same `main`, no interpreter start-up) for the remaining error paths.


def test_unknown_version_or_unsafe_name_exit_2(
    trained: Trained, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write(tmp_path / "data.jsonl", [{"text": "Ein Satz."}])
    out = tmp_path / "out.jsonl"
    assert (
        main(
            ["predict", "--model", "v404", "--models-dir", str(trained.models), "--data", str(data), "--out", str(out)]
        )
        == 2
    )
    assert "error: no model version 'v404'" in capsys.readouterr().err
    assert main(["activate", "../models", "--models-dir", str(trained.models)]) == 2
    assert "error: invalid model version name '../models'" in capsys.readouterr().err
    assert not out.exists()
    assert (trained.models / CURRENT_FILE).read_text().strip() == trained.newer


def test_activate_refuses_a_tampered_bundle(
    trained: Trained, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    models = tmp_path / "models"
    shutil.copytree(trained.models, models)
    payload = bytearray((models / trained.older / MODEL_FILE).read_bytes())
    payload[-10] ^= 0xFF
    (models / trained.older / MODEL_FILE).write_bytes(bytes(payload))
    assert main(["activate", trained.older, "--models-dir", str(models)]) == 2
    assert "SHA-256" in capsys.readouterr().err
    assert (models / CURRENT_FILE).read_text().strip() == trained.newer


def test_predict_to_stdout_with_a_bundle_directory(
    trained: Trained, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [replace(e, stance=None, sentiment=None).to_json() for e in read(trained.dev)[:5]]
    data = write(tmp_path / "data.jsonl", rows)
    bundle = trained.models / trained.older
    assert main(["predict", "--model", str(bundle), "--data", str(data), "--out", "-"]) == 0
    captured = capsys.readouterr()
    predicted = [json.loads(line) for line in captured.out.splitlines()]
    assert [r["text"] for r in predicted] == [r["text"] for r in rows]
    assert {r["model_version"] for r in predicted} == {trained.older}
    assert all(r["predicted_sentiment"] in r["sentiment_scores"] for r in predicted)
