"""Retrain on the current model's base data plus stored labels, gate the candidate, promote it.

The service runs this as a separate process (`python -m training retrain ...`), so a crash or a
`kill -9` here can never take serving down, and it is the same command a user runs offline. It never
imports the service: its inputs are a models directory and a JSONL file of labels, its output a
result JSON written atomically.

Exit 0 means a result was written (`succeeded` = promoted, `rejected` = gate failed); any other
exit means the job failed and `current` was not touched.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from training.bundle import BundleError, bundle_dir, current_version, load_bundle, read_manifest, set_current
from training.data import Example, read_examples
from training.evaluate import evaluate
from training.fit import DEFAULT_SPACE, Progress, SearchSpace
from training.train import fingerprint, split_holdout, train_and_save

# The small grid tests use (HALTUNG_TRAIN_FAST=1 or --fast): one C, one window, two folds.
FAST_SPACE = SearchSpace(C=(1.0,), window=(3,), folds=2)
FAST_ENV = "HALTUNG_TRAIN_FAST"
_EPSILON = 1e-9  # macro-F1 is rounded to 4 places; never reject on float noise


@dataclass(frozen=True)
class BaseData:
    """What the current model was trained on, as recorded in its manifest."""

    train: list[str]
    dev: list[str]
    dev_fraction: float
    seed: int

    @classmethod
    def from_manifest(cls, manifest: dict[str, Any]) -> BaseData:
        data = manifest.get("data") or {}
        train, dev = data.get("train"), data.get("dev") or []
        ok = isinstance(train, list) and train and all(isinstance(p, str) for p in [*train, *dev])
        if not ok:
            raise ValueError(
                f"the manifest of model {manifest.get('version')!r} records no usable base data (data.train): "
                "train that model with `python -m training train` first"
            )
        return cls(list(train), list(dev), float(data.get("dev_fraction") or 0.0), int(data.get("seed") or 0))

    def evaluation_rows(self, extra_dev: Sequence[Example]) -> list[Example]:
        """The same evaluation set train_and_save builds: dev files + held-out base slice + extra rows."""
        rows = read_examples(self.dev) if self.dev else []
        if self.dev_fraction:
            rows += split_holdout(read_examples(self.train), self.dev_fraction, self.seed)[1]
        return rows + list(extra_dev)


@dataclass(frozen=True)
class Gate:
    passed: bool
    tolerance: float
    drops: dict[str, float]
    reasons: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"passed": self.passed, "tolerance": self.tolerance, "drops": self.drops, "reasons": self.reasons}


def quality_gate(current: dict[str, Any], candidate: dict[str, Any], tolerance: float) -> Gate:
    """Pass only if no head the current model is scored on loses more than `tolerance` macro-F1."""
    drops: dict[str, float] = {}
    reasons: list[str] = []
    if not current.get("heads"):
        reasons.append("the evaluation set has no labelled rows: nothing to compare")
    for head, now in current.get("heads", {}).items():
        new = candidate.get("heads", {}).get(head)
        if new is None:
            reasons.append(f"the candidate has no {head} head")
            continue
        drops[head] = round(now["macro_f1"] - new["macro_f1"], 4)
        if drops[head] > tolerance + _EPSILON:
            reasons.append(
                f"{head}: macro-F1 {new['macro_f1']:.4f} vs {now['macro_f1']:.4f} for the current model "
                f"(drop {drops[head]:.4f} > tolerance {tolerance})"
            )
    return Gate(not reasons, tolerance, drops, reasons)


def summary(report: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Per head the headline figures of an evaluation report."""
    return {h: {k: r[k] for k in ("macro_f1", "accuracy", "n")} for h, r in report.get("heads", {}).items()}


def read_labels(path: Path) -> list[Example]:
    """Stored labels as exported by the service (an empty file means no labels)."""
    if not Path(path).read_bytes().strip():
        return []
    return read_examples([path])


def retrain(
    models_dir: Path,
    labels_path: Path,
    *,
    tolerance: float = 0.01,
    holdout: float = 0.2,
    force: bool = False,
    space: SearchSpace = DEFAULT_SPACE,
    progress: Progress = lambda _: None,
) -> dict[str, Any]:
    """Train a candidate, compare it with the current model on one evaluation set, promote if it passes."""
    started = time.monotonic()
    models_dir = Path(models_dir)
    baseline = current_version(models_dir)
    if baseline is None:
        raise BundleError(f"no current model in {models_dir}: nothing to retrain from")
    base = BaseData.from_manifest(read_manifest(models_dir, baseline))
    labels = read_labels(labels_path)
    label_train, label_held = split_holdout(labels, holdout, base.seed)
    evaluation = base.evaluation_rows(label_held)
    current_model = load_bundle(bundle_dir(models_dir, baseline))
    progress(f"baseline {baseline}; {len(labels)} labels: {len(label_train)} train, {len(label_held)} held out")
    read_done = time.monotonic()

    lexicon = tuple(sorted({bool(p.get("lexicon", True)) for p in current_model.params.values()})) or space.lexicon
    candidate = train_and_save(
        base.train,
        models_dir,
        dev=base.dev,
        dev_fraction=base.dev_fraction,
        extra_train=label_train,
        extra_dev=label_held,
        seed=base.seed,
        space=SearchSpace(C=space.C, window=space.window, lexicon=lexicon, folds=space.folds),
        make_current=False,
        progress=progress,
    )
    trained = time.monotonic()
    if candidate.model.manifest["data"]["dev_fingerprint"] != fingerprint(evaluation):
        raise RuntimeError("candidate and current model would be evaluated on different data")
    current_metrics = evaluate(current_model, evaluation)
    evaluated = time.monotonic()

    gate = quality_gate(current_metrics, candidate.metrics, tolerance)
    promote = gate.passed or force
    moved = promote and current_version(models_dir) != baseline  # e.g. a rollback while this ran
    promote = promote and not moved
    if promote:
        set_current(models_dir, candidate.version)
    progress(f"candidate {candidate.version}: gate {'passed' if gate.passed else 'failed'}, promoted={promote}")
    return {
        "status": "succeeded" if promote else "rejected",
        "promoted": promote,
        "forced": force,
        "candidate_version": candidate.version,
        "baseline_version": baseline,
        "gate": gate.to_json(),
        "note": f"not promoted: the current model changed from {baseline} during the retrain" if moved else None,
        "metrics": {"candidate": summary(candidate.metrics), "current": summary(current_metrics)},
        "data": {
            "base_train": base.train,
            "base_dev": base.dev,
            "labels": len(labels),
            "labels_train": len(label_train),
            "labels_held_out": len(label_held),
            "evaluation_rows": len(evaluation),
        },
        "timings": {
            "read_s": round(read_done - started, 3),
            "train_s": round(trained - read_done, 3),
            "evaluate_current_s": round(evaluated - trained, 3),
            "total_s": round(time.monotonic() - started, 3),
        },
    }


def write_json_atomic(path: Path, payload: dict[str, Any]) -> None:
    """Write to a temporary file and rename: a reader sees the whole result or none."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(payload, f, indent=2, ensure_ascii=False)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def cmd_retrain(args: argparse.Namespace) -> int:
    from training.cli import _progress  # the CLI's timestamped progress lines

    if args.nice:
        os.nice(args.nice)
    fast = args.fast or os.environ.get(FAST_ENV) == "1"
    result = retrain(
        Path(args.models_dir),
        Path(args.labels),
        tolerance=args.tolerance,
        holdout=args.holdout,
        force=args.force,
        space=FAST_SPACE if fast else DEFAULT_SPACE,
        progress=_progress(),
    )
    if args.result:
        write_json_atomic(Path(args.result), result)
    print(f"{result['status']}: candidate {result['candidate_version']} (baseline {result['baseline_version']})")
    return 0


def add_parser(sub: Any) -> None:
    """Register `retrain` on the CLI's subcommands."""
    r = sub.add_parser("retrain", help="train on base data + labels, gate against the current model, promote")
    r.add_argument("--models-dir", default="models")
    r.add_argument("--labels", required=True, help="JSONL of labels (e.g. GET /v1/labels/export)")
    r.add_argument("--tolerance", type=float, default=0.01, help="largest macro-F1 drop per head (default 0.01)")
    r.add_argument("--holdout", type=float, default=0.2, help="share of labels held out for evaluation")
    r.add_argument("--force", action="store_true", help="promote even if the quality gate fails")
    r.add_argument("--fast", action="store_true", help=f"tiny search grid, for tests (also {FAST_ENV}=1)")
    r.add_argument("--nice", type=int, default=0, help="lower this process's CPU priority (serving comes first)")
    r.add_argument("--result", help="write the result JSON here (atomically)")
    r.set_defaults(func=cmd_retrain)
