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

_TOKEN = re.compile(r"\w+", re.UNICODE)
_NEGATIONS = frozenset(
    {"nicht", "kein", "keine", "keinen", "keinem", "keiner", "keines", "nie", "niemals", "weder", "ohne"}
)
FEATURES = ("positive", "negative", "n_positive", "n_negative", "negation")


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
    """

    def __init__(self, rate: bool = True) -> None:
        self.rate = rate

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.string, tags.input_tags.two_d_array = True, False  # a sequence of texts, as TF-IDF
        return tags

    def fit(self, X: Sequence[str], y: object = None) -> PolarityFeatures:
        self.n_features_in_ = 1
        return self

    def transform(self, X: Sequence[str]) -> sparse.csr_matrix:
        lexicon = polarity_lexicon()
        out = np.zeros((len(X), len(FEATURES)))
        n_tokens = np.zeros(len(X))
        for i, text in enumerate(X):
            tokens = _TOKEN.findall(text)
            for token in tokens:
                word = token[2:] if token[:2] in ("L_", "R_") else token
                weight = lexicon.get(word)
                if weight is None:
                    weight = lexicon.get(word.lower(), 0.0)
                if weight > 0:
                    out[i, 0] += weight
                    out[i, 2] += 1
                elif weight < 0:
                    out[i, 1] -= weight
                    out[i, 3] += 1
                out[i, 4] += word.lower() in _NEGATIONS
            n_tokens[i] = len(tokens)
        return sparse.csr_matrix(finish(out, n_tokens, getattr(self, "rate", False)))

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        return np.array([f"lexicon_{f}" for f in FEATURES], dtype=object)
