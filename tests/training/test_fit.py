"""Fitting: seeded cross-validation, determinism, which rows and views each head uses; train_and_save helpers."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from training.data import Example
from training.features import CONTEXT, TARGET, TEXT, used_columns
from training.fit import SearchSpace, fit_model, head_rows
from training.train import fingerprint, split_holdout

from .conftest import SMALL_SPACE, stable_sample

SEARCH = SearchSpace(C=(0.5, 2.0), window=(2, 5), folds=2)


@pytest.fixture(scope="module")
def fit_data(starter_examples: list[Example]) -> list[Example]:
    return stable_sample(starter_examples, 160, salt="determinism")


def test_same_data_and_seed_give_identical_models(fit_data: list[Example], heldout_slice: list[Example]) -> None:
    first, second = fit_model(fit_data, seed=3, space=SEARCH), fit_model(fit_data, seed=3, space=SEARCH)
    assert first.params == second.params
    for head in ("sentiment", "stance"):
        a, b = first.heads[head], second.heads[head]
        assert np.array_equal(a[-1].coef_, b[-1].coef_)
        assert np.array_equal(a[-1].intercept_, b[-1].intercept_)
        assert list(a[:-1].get_feature_names_out()) == list(b[:-1].get_feature_names_out())
        texts = [e.text for e in heldout_slice]
        targets = [e.target for e in heldout_slice] if head == "stance" else None
        assert np.array_equal(first.predict_proba(head, texts, targets), second.predict_proba(head, texts, targets))
        assert first.predict(head, texts, targets) == second.predict(head, texts, targets)


def test_search_records_the_chosen_hyperparameters(fit_data: list[Example]) -> None:
    messages: list[str] = []
    model = fit_model(fit_data, seed=0, space=SEARCH, progress=messages.append)
    for head in ("sentiment", "stance"):
        params = model.params[head]
        assert params["C"] in SEARCH.C
        assert 0.0 <= params["cv_macro_f1"] <= 1.0
        assert params["C"] == model.heads[head][-1].C
        assert params["window"] == model.heads[head][0].window
        assert params["labels"] == dict(
            sorted({label: sum(e.label(head) == label for e in fit_data) for label in model.labels(head)}.items())
        )
    # Windows only matter for the stance head's target context: sentiment tries one, stance all.
    assert model.params["sentiment"]["window"] == SEARCH.window[0]
    assert model.params["stance"]["window"] in SEARCH.window
    assert model.params["sentiment"]["columns"] == [TEXT]
    assert model.params["stance"]["columns"] == [TEXT, CONTEXT, TARGET]
    cv_lines = [m for m in messages if "cv macro-F1" in m]
    assert len(cv_lines) == 2 * 1 + 2 * 2  # sentiment: 2 C × 1 window; stance: 2 C × 2 windows
    assert any(m.startswith("stance: fitted with C=") for m in messages)


def test_large_data_is_searched_on_a_sample_and_fitted_on_all(fit_data: list[Example]) -> None:
    messages: list[str] = []
    space = replace(SEARCH, C=(1.0,), window=(3,), max_search_rows=100)
    model = fit_model(fit_data, seed=0, space=space, progress=messages.append)
    assert any("stratified sample of 100 rows" in m for m in messages)
    sentiment_rows = sum(e.sentiment is not None for e in fit_data)
    assert sentiment_rows > 100
    assert model.params["sentiment"]["n"] == sentiment_rows  # the final fit sees every row


def test_too_few_rows_per_label_fall_back_to_defaults() -> None:
    rows = [
        Example("Der Zug kam pünktlich an.", sentiment="positive"),
        Example("Der Zug kam wieder zu spät.", sentiment="negative"),
        Example("Die Bahn hat den Fahrplan verbessert.", sentiment="positive"),
    ]
    messages: list[str] = []
    model = fit_model(rows, space=SMALL_SPACE, progress=messages.append)
    assert model.params["sentiment"]["C"] == 1.0
    assert math.isnan(model.params["sentiment"]["cv_macro_f1"])
    assert any("too few rows per label" in m for m in messages)
    assert model.labels("sentiment") == ["negative", "positive"]


def test_one_label_or_no_label_cannot_be_trained() -> None:
    one_label = [Example(f"Satz Nummer {i} ist gut.", sentiment="positive") for i in range(5)]
    with pytest.raises(ValueError, match="head 'sentiment' needs at least two labels, got only \\['positive'\\]"):
        fit_model(one_label, space=SMALL_SPACE)
    with pytest.raises(ValueError, match="nothing to train"):
        fit_model([Example("Ein Satz ohne Etikett.")], space=SMALL_SPACE)


def test_head_rows_take_only_rows_labelled_for_that_head() -> None:
    examples = [
        Example("A kritisiert B.", target="B", stance="against", sentiment="negative", target_span=(14, 15)),
        Example("Nur Stimmung.", sentiment="neutral"),
        Example("Nur Haltung zu C.", target="C", stance="favor"),
    ]
    assert head_rows(examples, "stance") == (
        [("A kritisiert B.", "B", (14, 15)), ("Nur Haltung zu C.", "C", None)],
        ["against", "favor"],
    )
    # The sentiment head never sees targets.
    assert head_rows(examples, "sentiment") == (
        [("A kritisiert B.", None, None), ("Nur Stimmung.", None, None)],
        ["negative", "neutral"],
    )


def test_used_columns_follow_the_targets() -> None:
    mention = ("Die Regierung irrt.", "Regierung")
    question = ("Das kostet zu viel.", "Soll der Bund mehr Geld ausgeben?")
    assert used_columns([mention, question], "sentiment") == [TEXT]
    assert used_columns([("Ohne Ziel.", None)], "stance") == [TEXT]
    assert used_columns([mention], "stance") == [TEXT, CONTEXT]
    assert used_columns([question], "stance") == [TEXT, TARGET]
    assert used_columns([mention, question], "stance") == [TEXT, CONTEXT, TARGET]


def test_stance_without_mentions_or_questions_trains_on_text_alone() -> None:
    rows = [
        Example(f"{text} Nummer {i}.", target="Kanzlerin", stance=stance)
        for i in range(4)
        for text, stance in (("Ein großer Erfolg", "favor"), ("Ein schweres Versagen", "against"))
    ]
    model = fit_model(rows, space=SMALL_SPACE)
    assert model.params["stance"]["columns"] == [TEXT]
    names = model.heads["stance"][:-1].get_feature_names_out()
    assert all(n.split("__")[0] in ("word", "char", "lexicon_text") for n in names)


def test_split_holdout_is_deterministic_and_stable_as_data_grows(starter_examples: list[Example]) -> None:
    train, held = split_holdout(starter_examples, 0.2, seed=0)
    assert len(train) + len(held) == len(starter_examples)
    assert 0.15 < len(held) / len(starter_examples) < 0.25
    assert split_holdout(starter_examples, 0.2, seed=0) == (train, held)
    assert split_holdout(starter_examples, 0.2, seed=1)[1] != held
    # A row's side depends on the row alone, not on the rest of the data.
    half = starter_examples[::2]
    assert split_holdout(half, 0.2, seed=0)[1] == [e for e in held if e in set(half)]
    assert split_holdout(starter_examples, 0.0, seed=0) == (list(starter_examples), [])
    for bad in (1.0, -0.1):
        with pytest.raises(ValueError, match="holdout fraction must be in"):
            split_holdout(starter_examples, bad, seed=0)


def test_fingerprint_ignores_order_and_counts_by_source() -> None:
    rows = [
        Example("A.", sentiment="neutral", source="x"),
        Example("B.", target="B", stance="favor", sentiment="positive", source="x"),
        Example("C.", target="C", stance="against"),
    ]
    fp = fingerprint(rows)
    assert fp == fingerprint(rows[::-1])
    assert fp["rows"] == 3
    assert fp["by_source"] == {"unknown": {"sentiment": 0, "stance": 1}, "x": {"sentiment": 2, "stance": 1}}
    assert fingerprint([*rows[:2], replace(rows[2], stance="favor")])["sha256"] != fp["sha256"]


def test_nb_weighting_and_source_weights_give_one_plain_lr(fit_data: list[Example]) -> None:
    """NB-scaled features are folded back into the coefficients: the model scores raw features as before."""
    from training.fastvec import accelerate
    from training.fit import nb_ratios

    mixed = [replace(e, source="a" if i % 4 else "b") for i, e in enumerate(fit_data)]
    model = fit_model(mixed, seed=0, space=replace(SMALL_SPACE, nb_weighting=True, source_weights=True))
    texts = [e.text for e in fit_data[:20]]
    for head in ("sentiment", "stance"):
        targets = [e.target for e in fit_data[:20]] if head == "stance" else None
        plain = accelerate(model, fast=False)  # sklearn's own Pipeline/LR path on the same fitted state
        np.testing.assert_allclose(model.predict_proba(head, texts, targets), plain.predict_proba(head, texts, targets))
    rows, y = head_rows(fit_data, "sentiment")
    features = model.heads["sentiment"][:-1].transform(rows)
    ratios = nb_ratios(features, y)
    assert ratios.shape == (features.shape[1],) and (ratios >= 0).all() and ratios.max() > 0
