"""The behaviour suite against the DEFAULT model (what `make model` trains), with a floor per capability and head.

The floors are pass rates measured on the default model, less about 4 points of slack so that a retrain
with the same seed never flakes. When the starter corpus or the features change, re-measure and update
FLOORS (the one place):

    python -m training train --data starter --dev-fraction 0.2 --out /tmp/default-models
    python -m training check --model current --models-dir /tmp/default-models --report check.json
    python -c "import json; print({(r['capability'], r['head']): int(round(100 * r['pass_rate'] - 4, 6)) / 100
               for r in json.load(open('check.json'))['results']})"   # rate less 4 points, rounded down

(When a floor is missed, the failure message also prints the FLOORS lines of that run.)

The issue's goal is 90% on every capability; the README's check table says where the model stands.
"""

from __future__ import annotations

from typing import Any

import pytest

from training.check import check_model, format_table
from training.train import train_and_save

SLACK = 0.04  # below the measured rate: room for the jitter of a retrain, never for a real regression
# (capability, head): lowest acceptable pass rate. Measured on model 20261128T114546Z-78bb91d0 (starter
# corpus of 11,134 rows, seed 0, negation scope, calibration and the starter neutral prior of 0.75), rates
# in the comments. The neutral prior (better on real data, bench/RESULTS.md) cost negation/sentiment
# 87.8 -> 81.6%, intensifiers/stance 57.7 -> 51.9%, irrelevant_changes/sentiment 95.0 -> 90.0%.
FLOORS: dict[tuple[str, str], float] = {
    ("negation", "stance"): 0.64,  # 68.1%
    ("negation", "sentiment"): 0.77,  # 81.6%
    ("contrast", "stance"): 0.59,  # 63.2%
    ("contrast", "sentiment"): 0.76,  # 81.0%
    ("target_swap", "stance"): 0.54,  # 58.5%
    ("unmentioned", "stance"): 0.94,  # 98.0%
    ("alias_derived", "stance"): 0.96,  # 100.0%
    ("inflection", "stance"): 0.84,  # 88.6%
    ("reported_speech", "stance"): 0.64,  # 69.0%
    ("neutral_reporting", "stance"): 0.96,  # 100.0%
    ("neutral_reporting", "sentiment"): 0.93,  # 97.9%
    ("intensifiers", "stance"): 0.47,  # 51.9%
    ("intensifiers", "sentiment"): 0.71,  # 75.0%
    ("irrelevant_changes", "stance"): 0.89,  # 93.1%
    ("irrelevant_changes", "sentiment"): 0.86,  # 90.0%
}


@pytest.fixture(scope="module")
def default_report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Train the default model exactly as `make model` does (about a minute on two cores) and run the suite."""
    result = train_and_save(["starter"], tmp_path_factory.mktemp("default-model"), dev_fraction=0.2, seed=0)
    result.model.version = result.version
    return check_model(result.model)


def test_every_capability_and_head_has_a_floor(default_report: dict[str, Any]) -> None:
    assert {(r["capability"], r["head"]) for r in default_report["results"]} == set(FLOORS)


def test_default_model_meets_the_floor_of_every_capability(default_report: dict[str, Any]) -> None:
    below = [
        f"{r['capability']}/{r['head']}: {r['pass_rate']:.3f} < floor {FLOORS[(r['capability'], r['head'])]}"
        for r in default_report["results"]
        if r["pass_rate"] < FLOORS.get((r["capability"], r["head"]), 1.0)
    ]
    table = format_table(default_report, failures=3)
    assert not below, "\n".join([*below, table, "FLOORS from this run:", *map(_floor_line, default_report["results"])])


def _floor_line(row: dict[str, Any]) -> str:
    """A FLOORS entry for a measured row: the rate less SLACK, rounded down to a whole point."""
    floor = int(round(100 * row["pass_rate"] - 100 * SLACK, 6)) / 100
    return f'    ("{row["capability"]}", "{row["head"]}"): {floor},  # {100 * row["pass_rate"]:.1f}%'
