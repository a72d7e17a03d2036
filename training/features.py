"""Feature pipelines of the two heads (scikit-learn estimators).

Input rows are ``(text, target)`` pairs, so both heads share one calling convention. The sentiment
head reads the text only; the stance head adds the words around the target's mention, or the target
itself when it is a question the text does not name. With negation scope on, the word and lexicon
views read the text with negated words marked (``kein NEG_verlässlicher``); char n-grams the raw text.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression

from training.fastvec import FastPipeline, FastPolarityFeatures, FastTfidfVectorizer
from training.negation import mark_negation
from training.targets import context_window, find_mention, is_question

Row = tuple[str, str | None] | tuple[str, str | None, tuple[int, int] | None]
TEXT, CONTEXT, TARGET, WORDS = 0, 1, 2, 3


class TargetViews(TransformerMixin, BaseEstimator):
    """Turn ``(text, target[, span])`` rows into columns: text, target context, target question, and with
    `negation` the text for word and lexicon features with negation scope marked (WORDS)."""

    def __init__(self, window: int = 4, negation: bool = False, shifters: bool = False) -> None:
        self.window = window
        self.negation = negation
        self.shifters = shifters

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array, tags.input_tags.string = False, True  # (text, target[, span]) rows
        return tags

    def fit(self, X: Sequence[Row], y: object = None) -> TargetViews:
        return self

    def transform(self, X: Sequence[Row]) -> np.ndarray:
        negation, shifters = getattr(self, "negation", False), getattr(self, "shifters", False)
        # the WORDS column only with negation: a fitted ColumnTransformer checks the column count, and
        # bundles saved before negation scope were fitted on three columns
        out = np.empty((len(X), 4 if negation else 3), dtype=object)
        for i, row in enumerate(X):
            text, target = row[0], row[1]
            span = row[2] if len(row) > 2 else None
            context = question = ""
            if target:
                if is_question(target):
                    question = target
                else:
                    span = span or find_mention(text, target)
                    context = context_window(text, span, self.window) if span else ""
            if negation:
                out[i] = (text, mark_negation(context, shifters), question, mark_negation(text, shifters))
            else:
                out[i] = (text, context, question)
        return out

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        # Needed by Pipeline.get_feature_names_out, which HaltungModel.explain uses to name features.
        words = ["words"] if getattr(self, "negation", False) else []
        return np.array(["text", "context", "target", *words], dtype=object)


class QuestionFlag(TransformerMixin, BaseEstimator):
    """1 for rows whose target is a question (x-stance style), else 0: lets the stance head keep a prior of
    its own for question targets, which are rarely neutral, apart from named targets, which often are."""

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array, tags.input_tags.string = False, True  # the question column (texts)
        return tags

    def fit(self, X: Sequence[str], y: object = None) -> QuestionFlag:
        self.n_features_in_ = 1
        return self

    def transform(self, X: Sequence[str]) -> sparse.csr_matrix:
        return sparse.csr_matrix(np.array([[1.0 if q else 0.0] for q in X]).reshape(len(X), 1))

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        return np.array(["question_target"], dtype=object)


# The Fast* classes are exact, faster twins of TfidfVectorizer, PolarityFeatures and Pipeline (training/fastvec.py).
def _word_tfidf(**kw: object) -> FastTfidfVectorizer:
    return FastTfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1, **kw)


def _char_tfidf() -> FastTfidfVectorizer:
    return FastTfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2)


def build_pipeline(
    columns: Sequence[int],
    *,
    C: float = 1.0,
    window: int = 4,
    lexicon: bool = True,
    seed: int = 0,
    negation: bool = False,
    negated: str = "flip",
    counts: bool = True,
    shifters: bool = False,
    count_min: float = 0.0,
    question_flag: bool = False,
) -> FastPipeline:
    """TF-IDF views (word 1-2-grams and char_wb 2-5-grams of the text, plus target views) + LR.

    `negation` marks negation scope for the word and lexicon views (`shifters`: also the clauses of
    decrease words, see `training.negation`); `negated`, `counts` and `count_min` configure the lexicon features
    (see `PolarityFeatures`); `question_flag` adds `QuestionFlag` where there are question targets.
    """
    words = WORDS if negation else TEXT
    transformers: list[tuple[str, TransformerMixin, int]] = [
        ("word", _word_tfidf(), words),
        ("char", _char_tfidf(), TEXT),
    ]
    if CONTEXT in columns:
        transformers.append(("context", _word_tfidf(lowercase=True, token_pattern=r"\S+"), CONTEXT))
    if TARGET in columns:
        transformers.append(("target", _word_tfidf(), TARGET))
        if question_flag:
            transformers.append(("question", QuestionFlag(), TARGET))
    if lexicon:
        mode = negated if negation else None
        transformers += [
            (f"lexicon_{name}", FastPolarityFeatures(negated=mode, counts=counts, count_min=count_min), col)
            for name, col in (("text", words), ("context", CONTEXT))
            if col == words or col in columns
        ]
    return FastPipeline(
        [
            ("views", TargetViews(window=window, negation=negation, shifters=shifters)),
            ("tfidf", ColumnTransformer(transformers, sparse_threshold=1.0)),
            ("clf", LogisticRegression(C=C, class_weight="balanced", max_iter=2000, random_state=seed)),
        ]
    )


def used_columns(rows: Sequence[Row], head: str) -> list[int]:
    """Which views carry any text for these rows (an all-empty view would have no vocabulary)."""
    if head != "stance":
        return [TEXT]
    views = TargetViews().transform(rows)
    return [c for c in (TEXT, CONTEXT, TARGET) if any(views[:, c])]
