"""Active learning: which unlabelled sentences a person should label next to help the model most.

Uncertainty sampling picks the sentences the model is least sure about (`margin`: one minus the gap
between the two most probable labels; `entropy`: the label distribution's entropy over its maximum,
both in [0, 1], higher = less sure). Alone it returns near-copies (ten versions of one agency line),
so a diversity step follows: walk the `shortlist` most uncertain candidates in order and skip one whose
TF-IDF cosine to a sentence already picked reaches `max_similarity`; only when too few are left are the
skipped ones used, most uncertain first. Everything is ordered by (uncertainty, text), so a fixed model
and pool always give the same batch. The service's review queue and bench/active_learning.py both call
`select` (or `pick`, when they compute the probabilities themselves).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from training.model import HaltungModel
from training.targets import Mention, Target, locate

Strategy = Literal["margin", "entropy"]
STRATEGIES: tuple[Strategy, ...] = ("margin", "entropy")
MAX_SIMILARITY = 0.5  # TF-IDF cosine at or above which two sentences count as near-copies
SHORTLIST_FACTOR, MIN_SHORTLIST = 5, 50  # the diversity step looks at max(5·k, 50) most uncertain candidates


@dataclass(frozen=True, slots=True)
class Picked:
    """One sentence to label: its index in the candidates given, how unsure the model is, its guess."""

    index: int
    text: str
    uncertainty: float
    label: str
    scores: dict[str, float]
    mention: Mention | None = None


@dataclass(frozen=True, slots=True)
class Selection:
    items: list[Picked]
    remaining: int  # eligible candidates not labelled yet (the picked ones included)
    strategy: Strategy
    max_similarity: float


def uncertainty(proba: np.ndarray, strategy: Strategy = "margin") -> np.ndarray:
    """Per row of probabilities, how unsure the model is, in [0, 1] (1: all labels equally likely)."""
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}, not {strategy!r}")
    if proba.shape[0] == 0:
        return np.zeros(0)
    if strategy == "margin":
        top = np.sort(proba, axis=1)
        return np.asarray(1.0 - (top[:, -1] - top[:, -2]))
    p = np.clip(proba, 1e-12, 1.0)
    return np.asarray(-(p * np.log(p)).sum(axis=1) / np.log(proba.shape[1]))


def pick(
    texts: Sequence[str],
    proba: np.ndarray,
    labels: Sequence[str],
    k: int,
    *,
    strategy: Strategy = "margin",
    max_similarity: float = MAX_SIMILARITY,
    shortlist: int | None = None,
) -> list[Picked]:
    """The k most uncertain texts that are not near-copies of each other (see the module docstring)."""
    if k < 1 or not len(texts):
        return []
    scores = uncertainty(proba, strategy)
    order = sorted(range(len(texts)), key=lambda i: (-round(float(scores[i]), 12), texts[i], i))
    top = order[: max(shortlist or SHORTLIST_FACTOR * k, k, MIN_SHORTLIST)]
    similar = _similarity([texts[i] for i in top])
    chosen: list[int] = []  # positions in `top`
    for position in range(len(top)):
        if len(chosen) == k:
            break
        if not chosen or similar[position, chosen].max() < max_similarity:
            chosen.append(position)
    if len(chosen) < k:  # too few distinct ones: fill with the skipped, most uncertain first
        chosen += [p for p in range(len(top)) if p not in set(chosen)][: k - len(chosen)]
    out = []
    for position in chosen:
        i = top[position]
        row = {label: float(p) for label, p in zip(labels, proba[i], strict=True)}
        out.append(Picked(i, texts[i], float(scores[i]), max(row, key=row.__getitem__), row))
    return out


def _similarity(texts: list[str]) -> np.ndarray:
    """Pairwise cosine of word uni- and bigram TF-IDF vectors (rows are L2-normalised)."""
    try:
        vectors = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True).fit_transform(texts)
    except ValueError:  # no word at all in any text (digits-only, symbols): nothing is similar
        return np.zeros((len(texts), len(texts)))
    return np.asarray((vectors @ vectors.T).toarray())


def select(
    model: HaltungModel,
    texts: Sequence[str],
    head: str,
    target: Target | str | None = None,
    k: int = 10,
    exclude: Collection[str] = (),
    *,
    strategy: Strategy = "margin",
    max_similarity: float = MAX_SIMILARITY,
) -> Selection:
    """The k texts whose label would help `head` most, never one in `exclude` (texts already labelled).

    For the stance head a `target` is required, and only texts that mention it (`training.targets.locate`:
    name, alias or derived form; every text for a question target) are candidates, scored from the words
    around the mention as the service scores them.
    """
    labels = model.labels(head)
    excluded = set(exclude)
    pool = [(i, t) for i, t in enumerate(texts) if t not in excluded]
    mentions: list[Mention | None] = [None] * len(pool)
    if head == "stance":
        if target is None:
            raise ValueError("the stance head needs a target")
        goal = Target(target) if isinstance(target, str) else target
        located = [(i, t, None if goal.is_question else locate(t, goal)) for i, t in pool]
        kept = [(i, t, m) for i, t, m in located if goal.is_question or m is not None]
        pool = [(i, t) for i, t, _ in kept]
        mentions = [m for _, _, m in kept]
        spans = [(m.start, m.end) if m else None for m in mentions]
        proba = model.predict_proba(head, [t for _, t in pool], [goal.name] * len(pool), spans)
    else:
        proba = model.predict_proba(head, [t for _, t in pool])
    picked = pick([t for _, t in pool], proba, labels, k, strategy=strategy, max_similarity=max_similarity)
    items = [Picked(pool[p.index][0], p.text, p.uncertainty, p.label, p.scores, mentions[p.index]) for p in picked]
    return Selection(items, len(pool), strategy, max_similarity)
