"""The Haltung model: one fitted pipeline per head, with a small API for the service.

`predict` gives labels and probabilities, `explain` the exact per-feature contributions of the
linear decision (with the words each came from). Bundles are saved and loaded by the model repository
(`training.repository`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.pipeline import Pipeline

from training.explain import feature_words
from training.features import Row
from training.manifest import Manifest

Spans = Sequence[tuple[int, int] | None] | None


@dataclass(frozen=True, slots=True)
class HeadPrediction:
    label: str
    scores: dict[str, float]


BATCH_ROWS = 256  # rows per call of a head's pipeline in predict_proba


@dataclass(frozen=True, slots=True)
class Contribution:
    """One feature's push toward the predicted label: feature value × coefficient, and the words it came
    from (a char n-gram's word, a lexicon feature's lexicon words)."""

    feature: str
    view: str
    weight: float
    words: tuple[str, ...] = ()

    def __str__(self) -> str:
        words = ", ".join(f'"{w}"' for w in self.words) or self.feature
        kind = "lexicon" if self.view.startswith("lexicon") else self.view
        return f"{kind}: {words} {self.weight:+.2f}"


@dataclass
class HaltungModel:
    """Fitted heads ("sentiment", "stance") plus what the manifest needs to know about them."""

    heads: dict[str, Pipeline]
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    version: str | None = None
    manifest: Manifest = field(default_factory=Manifest)

    def labels(self, head: str) -> list[str]:
        return [str(c) for c in self._head(head).classes_]

    def predict_proba(
        self, head: str, texts: Sequence[str], targets: Sequence[str | None] | None = None, spans: Spans = None
    ) -> np.ndarray:
        """Probabilities, one row per text, columns in `labels(head)` order.

        `spans` are known target mentions (as in GerNTSA's `target_span`); otherwise they are searched.
        """
        if not texts:
            return np.zeros((0, len(self.labels(head))))
        rows = _rows(texts, targets, spans)
        if len(rows) <= BATCH_ROWS:
            return self._head(head).predict_proba(rows)
        # Rows are scored independently: batches give the same numbers, and a server's other requests get
        # the GIL back between batches instead of waiting out one long sparse product.
        return np.vstack(
            [self._head(head).predict_proba(rows[i : i + BATCH_ROWS]) for i in range(0, len(rows), BATCH_ROWS)]
        )

    def predict(
        self, head: str, texts: Sequence[str], targets: Sequence[str | None] | None = None, spans: Spans = None
    ) -> list[HeadPrediction]:
        labels = self.labels(head)
        proba = self.predict_proba(head, texts, targets, spans)
        return [
            HeadPrediction(labels[int(row.argmax())], {lab: float(p) for lab, p in zip(labels, row, strict=True)})
            for row in proba
        ]

    def explain(
        self,
        head: str,
        texts: Sequence[str],
        targets: Sequence[str | None] | None = None,
        k: int | None = 5,
        spans: Spans = None,
    ) -> list[list[Contribution]]:
        """The top-k features that pushed each text toward its predicted label (exact for LR), with their words.

        `k=None` gives every feature of the text, also those pushing away from the label: their weights
        plus `intercept(head, label)` sum to the label's decision value.
        """
        pipeline = self._head(head)
        views = pipeline[0].transform(_rows(texts, targets, spans))
        tfidf = pipeline[1]
        features = tfidf.transform(views).tocsr()
        clf = pipeline[-1]
        predicted = clf.predict(features)
        names = self._feature_names(head)
        sources = {name: (trans, column) for name, trans, column in tfidf.transformers_}
        out = []
        for i, label in enumerate(predicted):
            coef = _class_coef(clf, label)
            row = features.getrow(i)
            weights = row.data * coef[row.indices]
            order: Sequence[int] | np.ndarray = np.argsort(-weights, kind="stable")
            if k is not None:
                order = [j for j in order[:k] if weights[j] > 0]
            explained = []
            for j in order:
                view, feature = names[row.indices[j]].split("__", 1)
                trans, column = sources[view]
                words = feature_words(view, feature, str(views[i, column]), trans)
                explained.append(Contribution(feature, view, float(weights[j]), words))
            out.append(explained)
        return out

    def intercept(self, head: str, label: str) -> float:
        """The intercept of `label`'s decision value (what `explain(k=None)` adds up to, less the features)."""
        clf = self._head(head)[-1]
        classes = list(clf.classes_)
        if clf.coef_.shape[0] == 1:
            return float(clf.intercept_[0] if label == classes[1] else -clf.intercept_[0])
        return float(clf.intercept_[classes.index(label)])

    def _feature_names(self, head: str) -> np.ndarray:
        cache = self.__dict__.setdefault("_names", {})
        if head not in cache:
            cache[head] = self._head(head)[:-1].get_feature_names_out()
        return cache[head]

    def _head(self, head: str) -> Pipeline:
        try:
            return self.heads[head]
        except KeyError:
            raise KeyError(f"this model has no {head!r} head (heads: {', '.join(self.heads)})") from None

    def __getstate__(self) -> dict[str, Any]:
        # Only the fitted heads and parameters are pickled; version and manifest live beside them.
        return {"heads": self.heads, "params": self.params}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.heads, self.params = state["heads"], state["params"]
        self.version, self.manifest = None, Manifest()


def _rows(texts: Sequence[str], targets: Sequence[str | None] | None, spans: Spans = None) -> list[Row]:
    if targets is None:
        return [(t, None) for t in texts]
    if len(targets) != len(texts) or (spans is not None and len(spans) != len(texts)):
        raise ValueError(f"{len(texts)} texts but {len(targets)} targets / {len(spans or ())} spans")
    return list(zip(texts, targets, spans or [None] * len(texts), strict=True))


def _class_coef(clf: Any, label: Any) -> np.ndarray:
    classes = list(clf.classes_)
    if clf.coef_.shape[0] == 1:  # binary LR keeps one row for classes_[1]
        return clf.coef_[0] if label == classes[1] else -clf.coef_[0]
    return clf.coef_[classes.index(label)]
