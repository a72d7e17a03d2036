"""Train → evaluate → save: `train` fits examples; `train_and_save` is the CLI's path from files to a bundle."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from training.data import HEADS, STARTER, STARTER_DIR, Example, read_examples
from training.errors import TrainingError
from training.evaluate import evaluate
from training.fit import DEFAULT_SPACE, Progress, SearchSpace, fit_model
from training.model import HaltungModel
from training.repository import ModelRepository, open_repository


@dataclass(frozen=True)
class Trained:
    """A fitted model, its dev report and the manifest to save it with."""

    model: HaltungModel
    metrics: dict[str, Any]
    manifest: dict[str, Any]


@dataclass(frozen=True)
class TrainResult:
    model: HaltungModel
    version: str
    metrics: dict[str, Any]


def fingerprint(examples: Sequence[Example]) -> dict[str, Any]:
    """SHA-256 of the rows (order-independent) and row counts per source and head."""
    lines = sorted(json.dumps(e.to_json(), ensure_ascii=False, sort_keys=True) for e in examples)
    digest = hashlib.sha256("\n".join(lines).encode()).hexdigest()
    counts: dict[str, dict[str, int]] = {}
    for e in examples:
        per_head = counts.setdefault(e.source or "unknown", dict.fromkeys(HEADS, 0))
        for head in HEADS:
            per_head[head] += e.label(head) is not None
    return {"sha256": digest, "rows": len(examples), "by_source": dict(sorted(counts.items()))}


def split_holdout(examples: Sequence[Example], fraction: float, seed: int) -> tuple[list[Example], list[Example]]:
    """Deterministic held-out slice by a hash of the row's text and target: stable as data grows."""
    if not 0 <= fraction < 1:
        raise TrainingError(f"holdout fraction must be in [0, 1), got {fraction}")
    train: list[Example] = []
    held: list[Example] = []
    for e in examples:
        key = hashlib.sha256(f"{seed}\0{e.text}\0{e.target or ''}".encode()).digest()
        (held if int.from_bytes(key[:4], "big") / 2**32 < fraction else train).append(e)
    return train, held


def data_ref(path: str | Path) -> str:
    """How a data path is recorded in a manifest: the starter corpus by name, others resolved."""
    if str(path) == STARTER or Path(path).resolve() == STARTER_DIR:
        return STARTER
    return str(Path(path).resolve())


def train(
    examples: Sequence[Example],
    *,
    dev: Sequence[Example] = (),
    data: Mapping[str, Any] | None = None,
    seed: int = 0,
    space: SearchSpace = DEFAULT_SPACE,
    progress: Progress = lambda _: None,
    n_jobs: int = 1,
) -> Trained:
    """Fit with seeded CV on `examples`, evaluate on `dev`; the model and its manifest, not saved yet.

    `data` is what the manifest records about where the rows came from (`train`, `dev`, `dev_fraction`).
    """
    progress(f"training on {len(examples)} rows, evaluating on {len(dev)}")
    model = fit_model(examples, seed=seed, space=space, progress=progress, n_jobs=n_jobs)
    metrics = evaluate(model, dev) if dev else {"heads": {}}
    for head, r in metrics["heads"].items():
        progress(f"{head}: dev macro-F1 {r['macro_f1']:.3f} (n={r['n']})")
    manifest = {
        "data": {
            **(data or {}),
            "seed": seed,
            "train_fingerprint": fingerprint(examples),
            "dev_fingerprint": fingerprint(dev),
        },
        "metrics": metrics,
        "label_counts": {h: dict(Counter(str(e.label(h)) for e in examples if e.label(h))) for h in HEADS},
    }
    return Trained(model, metrics, manifest)


def train_and_save(
    data: Sequence[str | Path],
    models: str | Path | ModelRepository,
    *,
    dev: Sequence[str | Path] = (),
    dev_fraction: float = 0.0,
    seed: int = 0,
    space: SearchSpace = DEFAULT_SPACE,
    make_current: bool = True,
    progress: Progress = lambda _: None,
    n_jobs: int = 1,
) -> TrainResult:
    """Read and validate the files, train, save a bundle (and make it current); the CLI's `train`.

    `dev_fraction` holds out a deterministic slice of `data` for evaluation when no dev files are given.
    """
    repository = open_repository(models)
    examples = read_examples(data)
    dev_examples = read_examples(dev) if dev else []
    train_examples, held = split_holdout(examples, dev_fraction, seed) if dev_fraction else (examples, [])
    progress(f"read {len(examples)} rows")
    refs = {"train": [data_ref(p) for p in data], "dev": [data_ref(p) for p in dev], "dev_fraction": dev_fraction}
    trained = train(
        train_examples, dev=[*dev_examples, *held], data=refs, seed=seed, space=space, progress=progress, n_jobs=n_jobs
    )
    version = repository.save(trained.model, trained.manifest)
    if make_current:
        repository.activate(version, by="train", verify=False)
    progress(f"saved model version {version} to {repository}")
    return TrainResult(trained.model, version, trained.metrics)
