"""Fitting the heads, with hyper-parameters chosen by seeded cross-validation on the training data."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold, cross_val_score, train_test_split
from threadpoolctl import threadpool_limits

from training.data import HEADS, Example
from training.errors import TrainingError
from training.features import CONTEXT, Row, build_pipeline, used_columns
from training.model import HaltungModel

Progress = Callable[[str], None]


@dataclass(frozen=True)
class SearchSpace:
    """Grid searched per head; small on purpose, so training stays fast on two cores."""

    C: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
    window: tuple[int, ...] = (3, 6)
    lexicon: tuple[bool, ...] = (True,)  # SentiWS per-token rates: help on 4 of 7 dev sets (bench/RESULTS.md)
    folds: int = 5
    # Above this many rows the search runs on a stratified sample (the final fit uses every row),
    # so the search costs the same for 50k or 1M rows and training time grows with the final fit only.
    max_search_rows: int = 20_000


DEFAULT_SPACE = SearchSpace()


def head_rows(examples: Sequence[Example], head: str) -> tuple[list[Row], list[str]]:
    """The rows that carry this head's label (a head trains only on those)."""
    labelled = [e for e in examples if e.label(head) is not None]
    rows: list[Row] = [
        (e.text, e.target if head == "stance" else None, e.target_span if head == "stance" else None) for e in labelled
    ]
    return rows, [str(e.label(head)) for e in labelled]


def fit_model(
    examples: Sequence[Example],
    *,
    seed: int = 0,
    space: SearchSpace = DEFAULT_SPACE,
    progress: Progress = lambda _: None,
    n_jobs: int = 1,
) -> HaltungModel:
    """Fit every head that has labels; same data and seed give the same model.

    BLAS runs single-threaded: on small sparse problems its threads only fight each other (a
    multinomial lbfgs fit measured 8x slower with them on two cores); parallelism is `n_jobs`.
    """
    with threadpool_limits(limits=1):
        return _fit_model(examples, seed=seed, space=space, progress=progress, n_jobs=n_jobs)


def _fit_model(
    examples: Sequence[Example], *, seed: int, space: SearchSpace, progress: Progress, n_jobs: int
) -> HaltungModel:
    heads, params = {}, {}
    for head in HEADS:
        rows, y = head_rows(examples, head)
        if not rows:
            continue
        counts = Counter(y)
        if len(counts) < 2:
            raise TrainingError(f"head {head!r} needs at least two labels, got only {sorted(counts)}")
        progress(f"{head}: {len(rows)} rows, labels {dict(sorted(counts.items()))}")
        best = _search(rows, y, head, seed, space, progress, n_jobs)
        columns = used_columns(rows, head)
        chosen = {"C": best["C"], "window": int(best["window"]), "lexicon": bool(best["lexicon"])}
        heads[head] = build_pipeline(columns, seed=seed, **chosen).fit(rows, y)
        params[head] = {**best, "columns": columns, "n": len(rows), "labels": dict(sorted(counts.items()))}
        progress(f"{head}: fitted with C={best['C']}, window={best['window']}, lexicon={best['lexicon']}")
    if not heads:
        raise TrainingError("no row carries a stance or sentiment label: nothing to train")
    return HaltungModel(heads=heads, params=params)


def _search(
    rows: list[Row], y: list[str], head: str, seed: int, space: SearchSpace, progress: Progress, n_jobs: int
) -> dict[str, float | int]:
    columns = used_columns(rows, head)
    windows = space.window if CONTEXT in columns else space.window[:1]
    if len(rows) > space.max_search_rows:
        rows, _, y, _ = train_test_split(rows, y, train_size=space.max_search_rows, stratify=y, random_state=seed)
        progress(f"{head}: searching hyper-parameters on a stratified sample of {len(rows)} rows")
    folds = min(space.folds, min(Counter(y).values()))
    if folds < 2:
        progress(f"{head}: too few rows per label for cross-validation; using defaults")
        return {"C": 1.0, "window": windows[0], "lexicon": space.lexicon[0], "cv_macro_f1": float("nan")}
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    best: dict[str, float | int] = {"cv_macro_f1": -1.0}
    for window, lexicon in itertools.product(windows, space.lexicon):
        pipeline = build_pipeline(columns, window=window, lexicon=lexicon, seed=seed)
        # Vectorise once per window and search C on the classifier alone: the IDF weights then
        # see all folds, a small optimism shared by every candidate, for a five-fold speed-up.
        features = pipeline[:-1].fit_transform(rows, y)
        for C in space.C:
            clf = clone(pipeline[-1]).set_params(C=C)
            score = cross_val_score(clf, features, y, cv=cv, scoring="f1_macro", n_jobs=n_jobs).mean()
            progress(f"{head}: window={window} lexicon={lexicon} C={C}: cv macro-F1 {score:.3f}")
            if score > best["cv_macro_f1"]:
                best = {"C": C, "window": window, "lexicon": lexicon, "cv_macro_f1": round(float(score), 4)}
    return best
