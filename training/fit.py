"""Fitting the heads, with hyper-parameters chosen by seeded cross-validation on the training data."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.base import clone
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict, train_test_split
from threadpoolctl import threadpool_limits

from training.calibration import apply_offsets, apply_temperature, fit_temperature
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
    # Above `large_rows` rows a coarser grid: the default model (about 9,000 rows) then trains in the three
    # minutes `make run` allows on two cores (the full grid took 356 s; bench/RESULTS.md). Small noisy sets
    # keep the fine grid (One Million Posts needs C=0.25: 0.467 vs 0.434 with the coarse grid).
    large_rows: int = 5000
    large_C: tuple[float, ...] = (0.5, 2.0, 8.0)
    large_folds: int = 3
    # Fixed choices (not searched; measured by ablation in bench/quality_starter.py, see bench/RESULTS.md):
    negation: bool = True  # mark negation scope in the word and lexicon views
    negated: str = "flip"  # lexicon words in a negation's scope count with the opposite polarity
    counts: bool = True  # lexicon word counts beside the weights
    count_min: float = 0.0  # ... counting only words at least this polar
    shifters: bool = False  # decrease words ("gesunken") shift the polarity of their clause like a negation
    question_flag: bool = False  # a feature marking question targets (x-stance) apart from named ones
    nb_weighting: bool = False  # scale features by NB log-count ratios while fitting (Wang & Manning 2012)
    source_weights: bool = False  # every source (Example.source) gets the same total sample weight
    calibrate: bool = True  # temperature scaling fitted on out-of-fold decision values
    # ... of the search (vectorised once on all folds: cheap, but the held-out rows' n-grams are in the
    # vocabulary, which likely makes their decisions smaller than on new text and the temperature too low),
    # or, with `calibration_refit`, of the chosen pipeline refitted per fold (`folds` more fits; off: it
    # lowered ECE on gerntsa and politicians by 0.01 or less, bench/RESULTS.md "Issue 16 goals")
    calibration_refit: bool = False
    # Log-odds added to the neutral label after calibration. None: STARTER_NEUTRAL_PRIOR when every row comes
    # from the starter corpus (written about balanced; real news and posts are mostly neutral), else 0.
    neutral_prior: float | None = None
    # Above this many rows the search runs on a stratified sample (the final fit uses every row),
    # so the search costs the same for 50k or 1M rows and training time grows with the final fit only.
    max_search_rows: int = 20_000


DEFAULT_SPACE = SearchSpace()
STARTER_SOURCE = "haltung-starter"
# Chosen on the shared dev sets (bench/quality_prior.py; bench/RESULTS.md "Issue 16 goals"): of 0, 0.25 … 1.5
# the best mean macro-F1 of both heads; the model itself is still trained on the starter corpus only.
STARTER_NEUTRAL_PRIOR = 0.75


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
        weights = _source_weights(examples, head) if space.source_weights else None
        counts = Counter(y)
        if len(counts) < 2:
            raise TrainingError(f"head {head!r} needs at least two labels, got only {sorted(counts)}")
        progress(f"{head}: {len(rows)} rows, labels {dict(sorted(counts.items()))}")
        best = _search(rows, y, weights, head, seed, space, progress, n_jobs)
        columns = used_columns(rows, head)
        C, window, lexicon = float(best["C"]), int(best["window"]), bool(best["lexicon"])
        heads[head] = build_pipeline(columns, seed=seed, C=C, window=window, lexicon=lexicon, **_fixed(space))
        if space.nb_weighting or weights is not None:
            _fit_weighted(heads[head], rows, y, weights, space.nb_weighting)
        else:
            heads[head].fit(rows, y)
        if best.get("temperature", 1.0) != 1.0:
            apply_temperature(heads[head][-1], float(best["temperature"]))
        prior = neutral_prior(examples, space)
        if prior and "neutral" in counts:
            classes = list(heads[head][-1].classes_)
            apply_offsets(heads[head][-1], prior * (np.array(classes) == "neutral"))
            best = {**best, "neutral_prior": prior}
        params[head] = {
            **best,
            **_fixed(space),
            "columns": columns,
            "n": len(rows),
            "labels": dict(sorted(counts.items())),
        }
        progress(f"{head}: fitted with C={best['C']}, window={best['window']}, lexicon={best['lexicon']}")
    if not heads:
        raise TrainingError("no row carries a stance or sentiment label: nothing to train")
    return HaltungModel(heads=heads, params=params)


def _search(
    rows: list[Row],
    y: list[str],
    weights: np.ndarray | None,
    head: str,
    seed: int,
    space: SearchSpace,
    progress: Progress,
    n_jobs: int,
) -> dict[str, float | int]:
    columns = used_columns(rows, head)
    windows = space.window if CONTEXT in columns else space.window[:1]
    if len(rows) > space.max_search_rows:
        if weights is not None:
            rows, _, y, _, weights, _ = train_test_split(
                rows, y, weights, train_size=space.max_search_rows, stratify=y, random_state=seed
            )
        else:
            rows, _, y, _ = train_test_split(rows, y, train_size=space.max_search_rows, stratify=y, random_state=seed)
        progress(f"{head}: searching hyper-parameters on a stratified sample of {len(rows)} rows")
    grid, folds = (space.large_C, space.large_folds) if len(rows) > space.large_rows else (space.C, space.folds)
    folds = min(folds, min(Counter(y).values()))
    if folds < 2:
        progress(f"{head}: too few rows per label for cross-validation; using defaults")
        return {"C": 1.0, "window": windows[0], "lexicon": space.lexicon[0], "cv_macro_f1": float("nan")}
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    splits = list(cv.split(np.zeros((len(y), 1)), y))
    truth, classes = np.asarray(y), np.array(sorted(set(y)))
    best: dict[str, float | int] = {"cv_macro_f1": -1.0}
    for window, lexicon in itertools.product(windows, space.lexicon):
        pipeline = build_pipeline(columns, window=window, lexicon=lexicon, seed=seed, **_fixed(space))
        # Vectorise once per window and search C on the classifier alone: the IDF weights then
        # see all folds, a small optimism shared by every candidate, for a five-fold speed-up.
        features = pipeline[:-1].fit_transform(rows, y)
        if space.nb_weighting:
            features = features @ sparse.diags(nb_ratios(features, y))
        fit_params = {"sample_weight": weights} if weights is not None else None
        for C in grid:
            clf = clone(pipeline[-1]).set_params(C=C)
            # out-of-fold decision values: the folds' macro-F1 (as cross_val_score computes it) and,
            # for the chosen C, the data of the temperature calibration, from the same fits
            decision = cross_val_predict(
                clf, features, y, cv=splits, method="decision_function", n_jobs=n_jobs, params=fit_params
            )
            predicted = classes[(decision > 0).astype(int)] if decision.ndim == 1 else classes[decision.argmax(axis=1)]
            score = float(np.mean([f1_score(truth[test], predicted[test], average="macro") for _, test in splits]))
            progress(f"{head}: window={window} lexicon={lexicon} C={C}: cv macro-F1 {score:.3f}")
            if score > best["cv_macro_f1"]:
                best = {"C": C, "window": window, "lexicon": lexicon, "cv_macro_f1": round(score, 4)}
                best_decision = decision
    if space.calibrate and space.calibration_refit:
        pipeline = build_pipeline(
            columns,
            C=float(best["C"]),
            window=int(best["window"]),
            lexicon=bool(best["lexicon"]),
            seed=seed,
            **_fixed(space),
        )
        progress(f"{head}: out-of-fold decisions of the chosen pipeline for calibration ({len(splits)} fits)")
        fit_params = {"clf__sample_weight": weights} if weights is not None else None
        best_decision = cross_val_predict(
            pipeline, rows, y, cv=splits, method="decision_function", n_jobs=n_jobs, params=fit_params
        )
    if space.calibrate:
        best["temperature"] = round(fit_temperature(best_decision, np.searchsorted(classes, truth)), 4)
        progress(f"{head}: calibrated on out-of-fold decisions: temperature {best['temperature']}")
    return best


def neutral_prior(examples: Sequence[Example], space: SearchSpace) -> float:
    """The space's neutral prior; by default STARTER_NEUTRAL_PRIOR for a model of the starter corpus alone."""
    if space.neutral_prior is not None:
        return space.neutral_prior
    return STARTER_NEUTRAL_PRIOR if all(e.source == STARTER_SOURCE for e in examples) else 0.0


def _fixed(space: SearchSpace) -> dict[str, Any]:
    """The fixed (not searched) choices of the space, as `build_pipeline` keywords."""
    keys = ("negation", "negated", "counts", "count_min", "shifters", "question_flag")
    return {k: getattr(space, k) for k in keys}


def nb_ratios(features: sparse.spmatrix, y: Sequence[str], alpha: float = 1.0) -> np.ndarray:
    """Per feature, the largest one-vs-rest NB log-count ratio |log(p/|p|) - log(q/|q|)| over the classes.

    One class-independent scale per feature, so the fitted model stays a single plain LR: fitting on
    X·diag(r) and multiplying the coefficients by r gives the same decision on X.
    """
    labels = np.asarray(y)
    X = sparse.csr_matrix(features)
    r = np.zeros(X.shape[1])
    for label in np.unique(labels):
        p = np.asarray(X[labels == label].sum(axis=0)).ravel() + alpha
        q = np.asarray(X[labels != label].sum(axis=0)).ravel() + alpha
        r = np.maximum(r, np.abs(np.log(p / p.sum()) - np.log(q / q.sum())))
    return r


def _fit_weighted(pipeline: Any, rows: list[Row], y: list[str], weights: np.ndarray | None, nb_weighting: bool) -> None:
    """Fit the views, then the classifier with sample weights and/or NB-scaled features (folded back)."""
    features = pipeline[:-1].fit_transform(rows, y)
    scale = nb_ratios(features, y) if nb_weighting else None
    if scale is not None:
        features = features @ sparse.diags(scale)
    clf = pipeline[-1].fit(features, y, sample_weight=weights)
    if scale is not None:
        clf.coef_ = clf.coef_ * scale


def _source_weights(examples: Sequence[Example], head: str) -> np.ndarray:
    """Sample weights that give every source the same total weight (mean weight 1)."""
    sources = [e.source or "unknown" for e in examples if e.label(head) is not None]
    counts = Counter(sources)
    return np.array([len(sources) / (len(counts) * counts[s]) for s in sources])
