"""Train → evaluate → save: the one path shared by the CLI, `make run` and the service's retrain job."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from training.bundle import save_bundle
from training.data import HEADS, STARTER, STARTER_DIR, Example, read_examples
from training.evaluate import evaluate
from training.fit import DEFAULT_SPACE, Progress, SearchSpace, fit_model
from training.model import HaltungModel


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
        raise ValueError(f"holdout fraction must be in [0, 1), got {fraction}")
    train, held = [], []
    for e in examples:
        key = hashlib.sha256(f"{seed}\0{e.text}\0{e.target or ''}".encode()).digest()
        (held if int.from_bytes(key[:4], "big") / 2**32 < fraction else train).append(e)
    return train, held


def data_ref(path: str | Path) -> str:
    """How a data path is recorded in a manifest: the starter corpus by name, others resolved."""
    if str(path) == STARTER or Path(path).resolve() == STARTER_DIR:
        return STARTER
    return str(Path(path).resolve())


def train_and_save(
    data: Sequence[str | Path],
    models_dir: Path,
    *,
    dev: Sequence[str | Path] = (),
    dev_fraction: float = 0.0,
    extra_train: Sequence[Example] = (),
    extra_dev: Sequence[Example] = (),
    seed: int = 0,
    space: SearchSpace = DEFAULT_SPACE,
    make_current: bool = True,
    progress: Progress = lambda _: None,
    n_jobs: int = 1,
) -> TrainResult:
    """Read and validate data, fit with seeded CV, evaluate on dev, save a bundle; return it.

    `dev_fraction` holds out a deterministic slice of `data` for evaluation when no dev files are
    given; `extra_train`/`extra_dev` let the retrain job add stored labels to both sides.
    """
    examples = read_examples(data)
    dev_examples = read_examples(dev) if dev else []
    train_examples, held = split_holdout(examples, dev_fraction, seed) if dev_fraction else (examples, [])
    train_examples = [*train_examples, *extra_train]
    dev_examples = [*dev_examples, *held, *extra_dev]
    progress(f"read {len(examples)} rows; training on {len(train_examples)}, evaluating on {len(dev_examples)}")
    model = fit_model(train_examples, seed=seed, space=space, progress=progress, n_jobs=n_jobs)
    metrics = evaluate(model, dev_examples) if dev_examples else {"heads": {}}
    for head, r in metrics["heads"].items():
        progress(f"{head}: dev macro-F1 {r['macro_f1']:.3f} (n={r['n']})")
    manifest = {
        "data": {
            "train": [data_ref(p) for p in data],
            "dev": [data_ref(p) for p in dev],
            "dev_fraction": dev_fraction,
            "seed": seed,
            "train_fingerprint": fingerprint(train_examples),
            "dev_fingerprint": fingerprint(dev_examples),
        },
        "metrics": metrics,
        "label_counts": {h: dict(Counter(str(e.label(h)) for e in train_examples if e.label(h))) for h in HEADS},
    }
    version = save_bundle(model, Path(models_dir), manifest, make_current=make_current)
    progress(f"saved model version {version} to {models_dir}")
    return TrainResult(model, version, metrics)
