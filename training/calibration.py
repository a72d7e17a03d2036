"""Calibration of the heads' probabilities: measured by expected calibration error (ECE).

Users threshold the scores ("against ≥ 0.8"), so a score of 0.8 should be right about 80% of the
time. ECE is the gap between confidence and accuracy, averaged over confidence bins (Guo et al. 2017).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

BINS = 15


@dataclass(frozen=True, slots=True)
class Reliability:
    """Per confidence bin: mean confidence, accuracy and row count (the reliability diagram's data)."""

    edges: np.ndarray
    confidence: np.ndarray
    accuracy: np.ndarray
    count: np.ndarray

    @property
    def ece(self) -> float:
        total = self.count.sum()
        if not total:
            return 0.0
        gap = np.abs(self.accuracy - self.confidence)
        return float((gap * self.count).sum() / total)


def reliability(proba: np.ndarray, labels: Sequence[str], y_true: Sequence[str], bins: int = BINS) -> Reliability:
    """Top-label reliability: the predicted label's probability against whether it was right."""
    proba = np.asarray(proba, dtype=float)
    top = proba.argmax(axis=1)
    confidence = proba[np.arange(len(top)), top]
    correct = np.array([labels[t] == y for t, y in zip(top, y_true, strict=True)], dtype=float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    # bins are (lo, hi], the first one [0, hi]: a confidence of exactly 1 falls in the last bin
    which = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, bins - 1)
    count = np.bincount(which, minlength=bins).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        conf = np.where(count > 0, np.bincount(which, confidence, minlength=bins) / count, 0.0)
        acc = np.where(count > 0, np.bincount(which, correct, minlength=bins) / count, 0.0)
    return Reliability(edges, conf, acc, count.astype(int))


def expected_calibration_error(
    proba: np.ndarray, labels: Sequence[str], y_true: Sequence[str], bins: int = BINS
) -> float:
    """ECE with `bins` equal-width confidence bins (15, as in Guo et al. 2017)."""
    return reliability(proba, labels, y_true, bins).ece


def _logits(decision: np.ndarray) -> np.ndarray:
    """Decision values as per-class logits (a binary LR's single column becomes [0, d]: sigmoid = softmax)."""
    decision = np.asarray(decision, dtype=float)
    return np.column_stack([np.zeros(len(decision)), decision]) if decision.ndim == 1 else decision


def fit_temperature(decision: np.ndarray, y: Sequence[int] | np.ndarray) -> float:
    """The temperature T minimising the log-loss of softmax(decision / T) (Guo et al. 2017).

    One scalar: dividing every logit by it changes no predicted label, and the model stays a plain
    logistic regression (coefficients and intercept divided by T), so explanations stay exact and the
    fast scoring path unchanged.
    """
    from scipy.optimize import minimize_scalar
    from scipy.special import log_softmax

    logits = _logits(decision)
    rows = np.arange(len(logits))
    classes = np.asarray(y)

    def loss(log_t: float) -> float:
        return float(-log_softmax(logits / np.exp(log_t), axis=1)[rows, classes].mean())

    best = minimize_scalar(loss, bounds=(np.log(0.05), np.log(20.0)), method="bounded")
    return float(np.exp(best.x))


def apply_temperature(clf: object, temperature: float) -> None:
    """Divide a fitted linear classifier's coefficients and intercept by `temperature` (new arrays)."""
    clf.coef_ = clf.coef_ / temperature  # type: ignore[attr-defined]
    clf.intercept_ = clf.intercept_ / temperature  # type: ignore[attr-defined]


def apply_offsets(clf: object, offsets: np.ndarray) -> None:
    """Add per-class logit offsets to a fitted linear classifier's intercept (binary: one column).

    Adding log(w) to a class's logit multiplies its probability by w before renormalising: a prior shift.
    """
    intercept: np.ndarray = getattr(clf, "intercept_")  # noqa: B009 (any fitted linear classifier)
    shift = np.array([offsets[1] - offsets[0]]) if intercept.shape[0] == 1 else offsets
    clf.intercept_ = intercept + shift  # type: ignore[attr-defined]
