"""Quick checks on the real labelled data in ../shared/data (read at run time, never copied into the repo).

Every test here takes the `shared_data` fixture of tests/conftest.py: it fails under CI=true when the
data is missing and skips otherwise.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from training.data import read_examples
from training.evaluate import evaluate, scores
from training.fit import fit_model

from .conftest import SMALL_SPACE, stable_sample

pytestmark = pytest.mark.shared_data


def test_every_labelled_shared_file_loads_completely(shared_data: Path) -> None:
    files = sorted(f for f in shared_data.glob("*/*.jsonl") if f.parent.name != "news_articles")
    assert len(files) >= 14
    for file in files:
        rows = [line for line in file.read_bytes().split(b"\n") if line.strip()]
        examples = read_examples([file])  # extra fields (domain) and target_span are accepted
        assert len(examples) == len(rows), file


@pytest.mark.parametrize(
    ("source", "labels", "margin"),
    [
        ("gerntsa", ["against", "favor", "neutral"], 0.05),
        ("xstance_de", ["against", "favor"], 0.1),
    ],
)
def test_small_real_slice_beats_the_majority_class(
    shared_data: Path, source: str, labels: list[str], margin: float
) -> None:
    train = stable_sample(read_examples([shared_data / source / "train.jsonl"]), 400)
    dev = stable_sample(read_examples([shared_data / source / "dev.jsonl"]), 300)
    model = fit_model(train, space=SMALL_SPACE)
    assert list(model.heads) == ["stance"]
    assert model.labels("stance") == labels
    majority = Counter(e.stance for e in train).most_common(1)[0][0]
    baseline = scores([str(e.stance) for e in dev], [str(majority)] * len(dev))["macro_f1"]
    macro_f1 = evaluate(model, dev)["heads"]["stance"]["macro_f1"]
    assert macro_f1 > baseline + margin, (macro_f1, baseline)
