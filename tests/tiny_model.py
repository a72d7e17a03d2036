"""A tiny real model for service and end-to-end tests: fitted once per process, saved as a real bundle.

Both `tests/service/conftest.py` and `tests/e2e/conftest.py` use it; the fit is cached so a full test
session trains only once, and every `save_tiny_model` call writes an independent copy.
"""

from __future__ import annotations

import copy
import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Any

from training import DirectoryRepository
from training.data import Example, read_examples
from training.evaluate import evaluate
from training.fit import SearchSpace, fit_model
from training.model import HaltungModel

TINY_SPACE = SearchSpace(C=(1.0,), window=(3,), folds=2)
TRAIN_ROWS, DEV_ROWS = 400, 100


def _stable_order(examples: list[Example]) -> list[Example]:
    """Deterministic shuffle by a hash of the id: the same rows every run, stable as the corpus grows."""
    return sorted(examples, key=lambda e: hashlib.sha256(f"service-tests\0{e.id}".encode()).hexdigest())


@lru_cache(maxsize=1)
def _fitted() -> tuple[HaltungModel, dict[str, Any]]:
    rows = _stable_order(read_examples(["starter"]))
    train, dev = rows[:TRAIN_ROWS], rows[TRAIN_ROWS : TRAIN_ROWS + DEV_ROWS]
    model = fit_model(train, seed=0, space=TINY_SPACE)
    manifest = {
        "data": {"train": ["starter"], "train_rows": len(train), "dev_rows": len(dev), "note": "tiny test model"},
        "metrics": evaluate(model, dev),
    }
    return model, manifest


def save_tiny_model(models_dir: Path) -> HaltungModel:
    """Save a private copy of the tiny model into `models_dir` (made `current`); its `.version` is set."""
    model, manifest = _fitted()
    own = copy.deepcopy(model)
    repository = DirectoryRepository(models_dir)
    repository.activate(repository.save(own, copy.deepcopy(manifest)), by="test", verify=False)
    return own
