"""Fixtures of the training tests: one small real model, trained once per session on the starter corpus."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest

from training.bundle import CURRENT_FILE
from training.data import Example, read_examples
from training.fit import SearchSpace, fit_model
from training.model import HaltungModel
from training.repository import DirectoryRepository

# One C, one window, two folds: the search machinery runs, but the session model fits in about a second.
SMALL_SPACE = SearchSpace(C=(1.0,), window=(3,), folds=2)
TRAIN_ROWS = 300


def stable_sample(examples: Iterable[Example], n: int, salt: str = "") -> list[Example]:
    """The `n` rows with the smallest hash of their id: deterministic, and stable as the corpus grows."""
    return sorted(examples, key=lambda e: hashlib.sha256(f"{salt}\0{e.id}".encode()).hexdigest())[:n]


@dataclass(frozen=True)
class SavedModel:
    model: HaltungModel
    models_dir: Path
    version: str

    @property
    def directory(self) -> Path:
        return self.models_dir / self.version


@pytest.fixture(scope="session")
def starter_examples() -> list[Example]:
    return read_examples(["starter"])


@pytest.fixture(scope="session")
def train_slice(starter_examples: list[Example]) -> list[Example]:
    return stable_sample(starter_examples, TRAIN_ROWS)


@pytest.fixture(scope="session")
def heldout_slice(starter_examples: list[Example], train_slice: list[Example]) -> list[Example]:
    """Starter rows the session model did not see."""
    seen = {e.id for e in train_slice}
    return stable_sample([e for e in starter_examples if e.id not in seen], 80, salt="heldout")


@pytest.fixture(scope="session")
def saved_model(tmp_path_factory: pytest.TempPathFactory, train_slice: list[Example]) -> SavedModel:
    """Trained once, saved as a real bundle; tests must not modify it (copy it with `models_copy`)."""
    model = fit_model(train_slice, seed=0, space=SMALL_SPACE)
    models_dir = tmp_path_factory.mktemp("session-models")
    repository = DirectoryRepository(models_dir)
    version = repository.save(model, {"data": {"train": ["starter slice"]}})
    repository.activate(version, by="test", verify=False)
    return SavedModel(model, models_dir, version)


@pytest.fixture
def models_copy(tmp_path: Path, saved_model: SavedModel) -> SavedModel:
    """A private copy of the session bundle (with `current` pointing at it) that a test may tamper with."""
    models_dir = tmp_path / "models"
    models_dir.mkdir()
    shutil.copytree(saved_model.directory, models_dir / saved_model.version)
    (models_dir / CURRENT_FILE).write_text(saved_model.version + "\n", encoding="utf-8")
    return SavedModel(saved_model.model, models_dir, saved_model.version)
