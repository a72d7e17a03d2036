"""Does an evaluation set contain the model's own training rows? Scores on seen rows are optimistic.

The manifest records which data a model was trained on (by reference: "starter" or a resolved path)
and how its dev slice was held out (seed, fraction; see `training.train.split_holdout`), so the rows
of an evaluation file that the model was trained on can be counted exactly, without storing them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from training.data import read_examples
from training.train import data_ref, split_holdout


@dataclass(frozen=True, slots=True)
class Overlap:
    seen: int  # evaluation rows the model was trained on
    total: int
    sources: tuple[str, ...]  # the training data references they come from

    def warning(self) -> str | None:
        if not self.seen:
            return None
        return (
            f"warning: {self.seen} of {self.total} evaluation rows are the model's own training data "
            f"(from {', '.join(self.sources)}): these figures are optimistic. Evaluate on rows the model "
            "has not seen (its dev slice, or your own held-out file)."
        )


def training_overlap(manifest: Mapping[str, Any], paths: Sequence[str | Path]) -> Overlap:
    """Count the rows of `paths` that were in the training side of the model's data."""
    data = manifest.get("data", {})
    trained_on = set(data.get("train", ()))
    fraction, seed = float(data.get("dev_fraction") or 0.0), int(data.get("seed") or 0)
    seen, total, sources = 0, 0, []
    for path in paths:
        examples = read_examples([path])
        total += len(examples)
        ref = data_ref(path)
        if ref not in trained_on:
            continue
        train_side = split_holdout(examples, fraction, seed)[0] if fraction else examples
        if train_side:
            seen += len(train_side)
            sources.append(ref)
    return Overlap(seen, total, tuple(sources))
