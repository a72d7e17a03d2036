"""Polarity-lexicon features from SentiWS word lists, as shipped by the `gersent` package.

TF-IDF only knows the words it saw in training; a lexicon of ~34,000 inflected polarity words
carries evaluative meaning to sentences (and target contexts) the training data never covered.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin

from training.negation import CUES, strip_mark

_TOKEN = re.compile(r"\w+", re.UNICODE)
_NEGATIONS = frozenset(
    {"nicht", "kein", "keine", "keinen", "keinem", "keiner", "keines", "nie", "niemals", "weder", "ohne"}
)
FEATURES = ("positive", "negative", "n_positive", "n_negative", "negation")
SPLIT_FEATURES = ("negated_positive", "negated_negative")
NEGATED_MODES = ("flip", "split")


@lru_cache(maxsize=1)
def polarity_lexicon() -> dict[str, float]:
    """Word -> polarity weight in [-1, 1]; empty when gersent is not installed."""
    try:
        root = resources.files("gersent") / "wordlists" / "de"
    except ModuleNotFoundError:
        return {}
    lexicon: dict[str, float] = {}
    for name, sign in (("positive.json", 1.0), ("negative.json", -1.0)):
        for word, weight in json.loads((root / name).read_text(encoding="utf-8")).items():
            lexicon[word] = sign * abs(float(weight))
            lexicon.setdefault(word.lower(), sign * abs(float(weight)))
    return lexicon


def finish(out: np.ndarray, n_tokens: np.ndarray, rate: bool) -> np.ndarray:
    """log1p of the sums, or of ten times the per-token rates."""
    if rate:
        out = 10.0 * out / np.maximum(n_tokens, 1.0)[:, None]
    return np.log1p(out)


class PolarityFeatures(TransformerMixin, BaseEstimator):
    """Weights and counts of positive and negative lexicon words, plus negations, per text.

    With `rate` (the default) they are taken per token: plain sums grow with the length of a text,
    so long news texts looked ever more polar to a model trained on tweets (GermEval 2017 dev fell
    0.03 macro-F1 below the baseline with sums; see bench/RESULTS.md).

    `negated` says what a word in a negation's scope (marked ``NEG_`` by `training.negation`) counts
    for: "flip" (the opposite polarity: "kein NEG_verlässlicher" is negative) or "split" (columns of
    their own); None is the behaviour of bundles saved before negation scope (marks are not read).
    `counts=False` leaves out the word counts, which let one polar word decide a sentence alone;
    `count_min` counts only words whose weight is at least that strong (SentiWS gives thousands of
    barely polar forms 0.004, e.g. "Partner", which would otherwise count as much as "Katastrophe").
    """

    def __init__(
        self, rate: bool = True, negated: str | None = None, counts: bool = True, count_min: float = 0.0
    ) -> None:
        self.rate = rate
        self.negated = negated
        self.counts = counts
        self.count_min = count_min

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.string, tags.input_tags.two_d_array = True, False  # a sequence of texts, as TF-IDF
        return tags

    def fit(self, X: Sequence[str], y: object = None) -> PolarityFeatures:
        if self.negated is not None and self.negated not in NEGATED_MODES:
            raise ValueError(f"negated must be one of {NEGATED_MODES} or None, got {self.negated!r}")
        self.n_features_in_ = 1
        return self

    def transform(self, X: Sequence[str]) -> sparse.csr_matrix:
        lexicon = polarity_lexicon()
        mode = getattr(self, "negated", None)
        out = np.zeros((len(X), len(FEATURES) + len(SPLIT_FEATURES)))
        count_min = getattr(self, "count_min", 0.0)
        n_tokens = np.zeros(len(X))
        for i, text in enumerate(X):
            tokens = _TOKEN.findall(text)
            for token in tokens:
                weight, cue, negated = token_info(token, lexicon, mode)
                if negated and mode == "split":
                    out[i, 5 if weight > 0 else 6] += abs(weight)
                    continue
                if weight > 0:
                    out[i, 0] += weight
                    out[i, 2] += weight >= count_min
                elif weight < 0:
                    out[i, 1] -= weight
                    out[i, 3] += -weight >= count_min
                out[i, 4] += cue
            n_tokens[i] = len(tokens)
        return sparse.csr_matrix(finish(out, n_tokens, getattr(self, "rate", False))[:, self.columns()])

    def columns(self) -> list[int]:
        """Which of the computed columns this configuration outputs."""
        keep = [0, 1, 2, 3, 4] if getattr(self, "counts", True) else [0, 1, 4]
        return keep + ([5, 6] if getattr(self, "negated", None) == "split" else [])

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        names = (*FEATURES, *SPLIT_FEATURES)
        return np.array([f"lexicon_{names[c]}" for c in self.columns()], dtype=object)


def token_info(token: str, lexicon: dict[str, float], mode: str | None) -> tuple[float, bool, bool]:
    """A token's lexicon weight (sign flipped in a negation's scope when `mode` is "flip"), whether it is a
    negation cue, and whether it is negated. `mode` None: the behaviour before negation scope."""
    negated = False
    if mode is not None:
        token, negated = strip_mark(token)
    word = token[2:] if token[:2] in ("L_", "R_") else token
    weight = lexicon.get(word)
    if weight is None:
        weight = lexicon.get(word.lower(), 0.0)
    if negated and mode == "flip":
        weight = -weight
    cue = word.lower() in (_NEGATIONS if mode is None else CUES)
    return float(weight), cue, negated
