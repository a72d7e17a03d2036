"""Calibration: ECE as defined (15 bins, top label), temperature scaling that changes no label."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy.special import softmax

from training.calibration import expected_calibration_error, fit_temperature, reliability
from training.data import Example
from training.fit import STARTER_NEUTRAL_PRIOR, fit_model

from .conftest import SMALL_SPACE

LABELS = ["a", "b", "c"]


def test_ece_is_the_weighted_gap_between_confidence_and_accuracy() -> None:
    proba = np.array([[0.9, 0.05, 0.05]] * 10 + [[0.2, 0.5, 0.3]] * 10)
    gold = ["a"] * 9 + ["b"] + ["b"] * 5 + ["a"] * 5
    # bin of 0.9: accuracy 0.9, gap 0; bin of 0.5: accuracy 0.5, gap 0
    assert expected_calibration_error(proba, LABELS, gold) == pytest.approx(0.0)
    always_wrong = ["c"] * 20
    assert expected_calibration_error(proba, LABELS, always_wrong) == pytest.approx((0.9 * 10 + 0.5 * 10) / 20)
    r = reliability(proba, LABELS, gold)
    assert r.count.sum() == 20 and len(r.count) == 15
    assert expected_calibration_error(np.array([[1.0, 0.0, 0.0]]), LABELS, ["a"]) == 0.0  # 1.0 is in the last bin


def test_temperature_recovers_the_one_that_made_the_data() -> None:
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, size=(20_000, 3))
    gold = [rng.choice(3, p=p) for p in softmax(logits / 2.0, axis=1)]  # true probabilities at T = 2
    assert fit_temperature(logits, gold) == pytest.approx(2.0, rel=0.05)
    binary = logits[:, 0]
    gold_binary = (rng.random(len(binary)) < 1 / (1 + np.exp(-binary / 0.5))).astype(int)
    assert fit_temperature(binary, gold_binary) == pytest.approx(0.5, rel=0.05)


def test_calibration_changes_scores_but_no_label(train_slice: list[Example], heldout_slice: list[Example]) -> None:
    space = dataclasses.replace(SMALL_SPACE, neutral_prior=0.0)
    calibrated = fit_model(train_slice, seed=0, space=space)
    plain = fit_model(train_slice, seed=0, space=dataclasses.replace(space, calibrate=False))
    texts = [e.text for e in heldout_slice]
    for head in ("sentiment", "stance"):
        targets = [e.target for e in heldout_slice] if head == "stance" else None
        temperature = calibrated.params[head]["temperature"]
        assert temperature > 0 and temperature != 1.0
        assert "temperature" not in plain.params[head]
        a, b = calibrated.predict_proba(head, texts, targets), plain.predict_proba(head, texts, targets)
        assert (a.argmax(axis=1) == b.argmax(axis=1)).all()
        np.testing.assert_allclose(softmax(temperature * np.log(a), axis=1), b, atol=1e-9)


def test_starter_model_gets_the_neutral_prior_and_other_data_does_not(
    train_slice: list[Example], heldout_slice: list[Example]
) -> None:
    """On the starter corpus alone the neutral label's odds are multiplied by exp(STARTER_NEUTRAL_PRIOR)."""
    with_prior = fit_model(train_slice, seed=0, space=SMALL_SPACE)
    without = fit_model(train_slice, seed=0, space=dataclasses.replace(SMALL_SPACE, neutral_prior=0.0))
    texts = [e.text for e in heldout_slice]
    for head in ("sentiment", "stance"):
        assert with_prior.params[head]["neutral_prior"] == STARTER_NEUTRAL_PRIOR
        assert "neutral_prior" not in without.params[head]
        targets = [e.target for e in heldout_slice] if head == "stance" else None
        a, b = with_prior.predict_proba(head, texts, targets), without.predict_proba(head, texts, targets)
        shift = STARTER_NEUTRAL_PRIOR * (np.array(with_prior.labels(head)) == "neutral")
        np.testing.assert_allclose(softmax(np.log(b) + shift, axis=1), a, atol=1e-9)
    other = [dataclasses.replace(e, source="my-news") for e in train_slice]
    assert "neutral_prior" not in fit_model(other, seed=0, space=SMALL_SPACE).params["sentiment"]
