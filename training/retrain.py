"""Retrain on the current model's base data plus labels, gate the candidate, promote it by compare-and-swap.

`retrain` is a function over a model repository and labelled examples: it reads the base data the
current model's manifest records (once), trains a candidate on it plus the labels, saves it, and scores
candidate and current model on one evaluation set. `promote` then activates the candidate only if the
gate passed (or `force`) *and* `current` is still the model it was compared with — a rollback made
meanwhile is never overwritten. The service's retrain job and `python -m training retrain` both call
these two functions; neither imports the other.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from training.data import Example, read_examples
from training.errors import ActivationConflict, NoCurrentModel, TrainingError
from training.evaluate import evaluate
from training.fit import DEFAULT_SPACE, Progress, SearchSpace
from training.manifest import Manifest
from training.repository import ModelRepository
from training.train import split_holdout, train

# The small grid tests use (HALTUNG_TRAIN_FAST=1 or --fast): one C, one window, two folds.
FAST_SPACE = SearchSpace(C=(1.0,), window=(3,), folds=2)
FAST_ENV = "HALTUNG_TRAIN_FAST"
_EPSILON = 1e-9  # macro-F1 is rounded to 4 places; never reject on float noise
# Fewer labels than this are all trained on: a held-out slice of one or two rows says nothing about quality,
# and holding out would withhold the very correction a user just made.
MIN_LABELS_TO_HOLD_OUT = 10


@dataclass(frozen=True)
class BaseData:
    """What the current model was trained on, as recorded in its manifest."""

    train: list[str]
    dev: list[str]
    dev_fraction: float
    seed: int

    @classmethod
    def from_manifest(cls, manifest: Manifest) -> BaseData:
        data = manifest.data
        if not data.train:
            raise TrainingError(
                f"the manifest of model {manifest.version!r} records no usable base data (data.train): "
                "train that model with `python -m training train` first"
            )
        return cls(list(data.train), list(data.dev), float(data.dev_fraction), int(data.seed))

    def read(self) -> tuple[list[Example], list[Example]]:
        """Training rows and evaluation rows, as `train_and_save` split them: dev files + held-out slice."""
        rows = read_examples(self.train)
        dev = read_examples(self.dev) if self.dev else []
        if not self.dev_fraction:
            return rows, dev
        kept, held = split_holdout(rows, self.dev_fraction, self.seed)
        return kept, dev + held


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


def summary(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per head the headline figures of an evaluation report, and its confusion matrix when it has one."""
    return {
        h: {k: r[k] for k in ("macro_f1", "accuracy", "n", "confusion_matrix") if k in r}
        for h, r in report.get("heads", {}).items()
    }


def read_labels(path: Path) -> list[Example]:
    """Stored labels as exported by the service (an empty file means no labels)."""
    if not Path(path).read_bytes().strip():
        return []
    return read_examples([path])


Status = Literal["succeeded", "rejected"]


@dataclass(frozen=True)
class RetrainResult:
    """What a retrain did; `promoted` is only ever true after `promote` moved `current`."""

    status: Status
    promoted: bool
    forced: bool
    candidate_version: str
    baseline_version: str
    gate: Gate
    metrics: dict[str, Any]
    data: dict[str, Any]
    timings: dict[str, float]
    note: str | None = None

    @property
    def should_promote(self) -> bool:
        return self.gate.passed or self.forced

    def to_json(self) -> dict[str, Any]:
        """The result as jobs and `--result` files have always recorded it."""
        return {
            "status": self.status,
            "promoted": self.promoted,
            "forced": self.forced,
            "candidate_version": self.candidate_version,
            "baseline_version": self.baseline_version,
            "gate": self.gate.to_json(),
            "note": self.note,
            "metrics": self.metrics,
            "data": self.data,
            "timings": self.timings,
        }


def retrain(
    repository: ModelRepository,
    labels: Sequence[Example],
    *,
    tolerance: float = 0.01,
    holdout: float = 0.2,
    force: bool = False,
    space: SearchSpace = DEFAULT_SPACE,
    progress: Progress = lambda _: None,
    origin: str | None = None,
) -> RetrainResult:
    """Train and save a candidate, and gate it against the current model on one evaluation set.

    `origin` (e.g. "retrain job_…") is recorded in the candidate's manifest (`data.origin`), so its
    provenance stays readable whoever activates it later.

    Nothing is activated here: call `promote` with the result. Until then `status` says what the gate
    decided ("rejected" when it failed and `force` is not set).
    """
    started = time.monotonic()
    baseline = repository.current()
    if baseline is None:
        raise NoCurrentModel(f"no current model in {repository}: nothing to retrain from")
    base = BaseData.from_manifest(repository.manifest(baseline))
    base_train, base_eval = base.read()
    if len(labels) >= MIN_LABELS_TO_HOLD_OUT:
        label_train, label_held = split_holdout(labels, holdout, base.seed)
    else:
        label_train, label_held = list(labels), []
    evaluation = base_eval + label_held
    current_model = repository.load(baseline)
    progress(f"baseline {baseline}; {len(labels)} labels: {len(label_train)} train, {len(label_held)} held out")
    read_done = time.monotonic()

    lexicon = tuple(sorted({bool(p.get("lexicon", True)) for p in current_model.params.values()})) or space.lexicon
    refs: dict[str, Any] = {"train": base.train, "dev": base.dev, "dev_fraction": base.dev_fraction}
    if origin:
        refs["origin"] = origin
    candidate = train(
        [*base_train, *label_train],
        dev=evaluation,
        data=refs,
        seed=base.seed,
        space=SearchSpace(
            C=space.C, window=space.window, lexicon=lexicon, folds=space.folds, neutral_prior=_prior(current_model)
        ),
        progress=progress,
    )
    version = repository.save(candidate.model, candidate.manifest)
    progress(f"saved candidate {version}")
    trained = time.monotonic()
    current_metrics = evaluate(current_model, evaluation)
    evaluated = time.monotonic()

    gate = quality_gate(current_metrics, candidate.metrics, tolerance)
    progress(f"candidate {version}: gate {'passed' if gate.passed else 'failed'}")
    return RetrainResult(
        status="succeeded" if gate.passed or force else "rejected",
        promoted=False,
        forced=force,
        candidate_version=version,
        baseline_version=baseline,
        gate=gate,
        metrics={"candidate": summary(candidate.metrics), "current": summary(current_metrics)},
        data={
            "base_train": base.train,
            "base_dev": base.dev,
            "labels": len(labels),
            "labels_train": len(label_train),
            "labels_held_out": len(label_held),
            "evaluation_rows": len(evaluation),
        },
        timings={
            "read_s": round(read_done - started, 3),
            "train_s": round(trained - read_done, 3),
            "evaluate_current_s": round(evaluated - trained, 3),
            "total_s": round(time.monotonic() - started, 3),
        },
    )


def _prior(model: Any) -> float | None:
    """The current model's neutral prior, kept by its retrains: a handful of labels must not switch off a
    calibration choice made for the whole base corpus (None: the default rule decides)."""
    priors = {p["neutral_prior"] for p in model.params.values() if "neutral_prior" in p}
    return float(priors.pop()) if len(priors) == 1 else None


def promote(repository: ModelRepository, result: RetrainResult, *, by: str) -> RetrainResult:
    """Activate the candidate if the gate passed (or force), only while `current` is still the baseline.

    A compare-and-swap: when someone activated another version during the retrain, the candidate is not
    promoted (status "rejected" with a note) and their choice stands.
    """
    if not result.should_promote:
        return dataclasses.replace(result, status="rejected", promoted=False)
    try:
        repository.activate(result.candidate_version, expected_current=result.baseline_version, by=by, verify=False)
    except ActivationConflict:
        note = f"not promoted: the current model changed from {result.baseline_version} during the retrain"
        return dataclasses.replace(result, status="rejected", promoted=False, note=note)
    return dataclasses.replace(result, status="succeeded", promoted=True)
