"""Does an evaluation set contain the model's own training rows? Scores on seen rows are optimistic.

The manifest records which data a model was trained on (by reference: "starter" or a resolved path)
and how its dev slice was held out (seed, fraction; see `training.train.split_holdout`), so the rows
of an evaluation file that the model was trained on can be counted exactly, without storing them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from training.data import read_examples
from training.manifest import Manifest
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


def training_overlap(manifest: Manifest, paths: Sequence[str | Path], total: int) -> Overlap:
    """Count the rows of `paths` (`total` rows in all) that were in the training side of the model's data.

    Only a path the model was trained on is read again (per path, to apply its hold-out split)."""
    trained_on = set(manifest.data.train)
    fraction, seed = float(manifest.data.dev_fraction or 0.0), int(manifest.data.seed or 0)
    seen, sources = 0, []
    for path in paths:
        ref = data_ref(path)
        if ref not in trained_on:
            continue
        examples = read_examples([path])
        train_side = split_holdout(examples, fraction, seed)[0] if fraction else examples
        if train_side:
            seen += len(train_side)
            sources.append(ref)
    return Overlap(seen, total, tuple(sources))
