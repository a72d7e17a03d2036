"""Shared by the retrain tests: a small base model whose manifest points at small base data, and label sets.

The base data is a stable slice of the starter corpus written to a JSONL file, so a retrain (which
re-reads the base data the manifest records) takes seconds with the fast grid (HALTUNG_TRAIN_FAST=1).
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from training.data import Example, read_examples, write_jsonl
from training.retrain import FAST_SPACE
from training.train import split_holdout, train_and_save

BASE_ROWS, DEV_FRACTION = 240, 0.3
API_KEY = "test-key-1"
AUTH = {"Authorization": f"Bearer {API_KEY}"}

# A made-up word the base data never saw, in sentences the base model scores anything but uniformly
# negative: labelled negative, they teach the retrained model something it demonstrably did not know.
_PLACES = ("Hamburg", "Köln", "Leipzig", "Bremen", "Dresden", "Kiel", "Mainz", "Erfurt", "Potsdam", "Schwerin")
_TAILS = ("meldet neue Zahlen", "legt einen Bericht vor", "tagt am Dienstag", "wird im Sommer geprüft")
CORRECTION_SENTENCES = [f"Das Quonkel-Verfahren in {p} {t}." for p in _PLACES for t in _TAILS]

_FLIP = {
    "sentiment": {"positive": "negative", "negative": "positive", "neutral": "positive"},
    "stance": {"favor": "against", "against": "favor", "neutral": "favor"},
}


@dataclass(frozen=True)
class Base:
    data: Path  # the base JSONL the manifest records
    models_dir: Path  # pristine: copy it with `copy_to` before retraining
    version: str

    def copy_to(self, models_dir: Path) -> Path:
        shutil.copytree(self.models_dir, models_dir)
        return models_dir

    def train_rows(self) -> list[Example]:
        """The base rows the base model was trained on (the dev slice left out)."""
        return split_holdout(read_examples([self.data]), DEV_FRACTION, 0)[0]


def build_base(root: Path) -> Base:
    """Write the base JSONL and train the base model on it (fast grid, 30 % dev), under `root`."""
    rows = sorted(read_examples(["starter"]), key=lambda e: hashlib.sha256(f"retrain\0{e.id}".encode()).hexdigest())
    data = root / "base.jsonl"
    with open(data, "w", encoding="utf-8") as out:
        write_jsonl([e.to_json() for e in rows[:BASE_ROWS]], out)
    result = train_and_save([data], root / "models", dev_fraction=DEV_FRACTION, space=FAST_SPACE)
    return Base(data, root / "models", result.version)


def correction_labels() -> list[dict[str, Any]]:
    return [{"text": s, "sentiment": "negative"} for s in CORRECTION_SENTENCES]


def poisoned_labels(base: Base) -> list[dict[str, Any]]:
    """The base training rows with every label flipped: a model trained on them must get worse."""
    out = []
    for e in base.train_rows():
        row: dict[str, Any] = {"text": e.text}
        if e.target:
            row["target"] = e.target
        for head, flip in _FLIP.items():
            if e.label(head):
                row[head] = flip[str(e.label(head))]
        out.append(row)
    return out


def write_labels(path: Path, rows: list[dict[str, Any]]) -> Path:
    """Rows as the service exports them (source "labels"), for the retrain command."""
    with open(path, "w", encoding="utf-8") as out:
        write_jsonl([{**r, "id": f"l{i}", "source": "labels"} for i, r in enumerate(rows)], out)
    return path
