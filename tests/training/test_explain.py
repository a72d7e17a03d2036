"""Readable, exact explanations: every contribution names the words it came from, and all of them
plus the intercept add up to the decision value of the predicted label."""

from __future__ import annotations

import numpy as np
import pytest

from training.data import Example
from training.explain import char_words, lexicon_words, ngram_words
from training.fit import fit_model
from training.lexicon import PolarityFeatures
from training.model import HaltungModel

from .conftest import SMALL_SPACE, SavedModel

SENTENCES = [
    "Russland ist kein verlässlicher Partner.",
    "Die Inflation ist deutlich gesunken, Verbraucher können aufatmen.",
    "Die Regierung hat die Warnungen der Fachleute monatelang ignoriert.",
    "Der Ausschuss tagt am Donnerstag.",
]
TARGETS = ["Russland", "Inflation", "Regierung", "Soll der Ausschuss öfter tagen?"]


def decision_values(model: HaltungModel, head: str, texts: list[str], targets: list[str] | None) -> np.ndarray:
    pipeline = model.heads[head]
    rows = [(t, None) for t in texts] if targets is None else list(zip(texts, targets, strict=True))
    return np.atleast_2d(pipeline[-1].decision_function(pipeline[:-1].transform(rows)).T).T


def assert_exact(model: HaltungModel, head: str, texts: list[str], targets: list[str] | None) -> None:
    labels = model.labels(head)
    decisions = decision_values(model, head, texts, targets)
    for i, (prediction, contributions) in enumerate(
        zip(model.predict(head, texts, targets), model.explain(head, texts, targets, k=None), strict=True)
    ):
        total = sum(c.weight for c in contributions) + model.intercept(head, prediction.label)
        if decisions.shape[1] == 1:  # binary LR: one decision value, toward labels[1]
            expected = decisions[i, 0] if prediction.label == labels[1] else -decisions[i, 0]
        else:
            expected = decisions[i, labels.index(prediction.label)]
        assert total == pytest.approx(expected, abs=1e-9)
        assert any(c.weight < 0 for c in contributions), "k=None also gives the features pushing away"


@pytest.mark.parametrize("head", ["sentiment", "stance"])
def test_all_contributions_plus_intercept_are_the_decision_value(saved_model: SavedModel, head: str) -> None:
    assert_exact(saved_model.model, head, SENTENCES, TARGETS if head == "stance" else None)


def test_exact_for_a_binary_head_too(train_slice: list[Example]) -> None:
    two_labels = [e for e in train_slice if e.stance in ("favor", "against")]
    model = fit_model(two_labels, seed=0, space=SMALL_SPACE)
    assert model.heads["stance"][-1].coef_.shape[0] == 1
    assert_exact(model, "stance", SENTENCES, TARGETS)


def test_top_k_are_the_largest_positive_contributions(saved_model: SavedModel) -> None:
    model = saved_model.model
    for everything, top in zip(
        model.explain("stance", SENTENCES, TARGETS, k=None),
        model.explain("stance", SENTENCES, TARGETS, k=4),
        strict=True,
    ):
        assert top == [c for c in everything if c.weight > 0][:4]


def test_every_contribution_names_words_of_its_sentence(saved_model: SavedModel) -> None:
    model = saved_model.model
    for head, targets in (("sentiment", None), ("stance", TARGETS)):
        for i, contributions in enumerate(model.explain(head, SENTENCES, targets, k=None)):
            source = SENTENCES[i] + " " + (TARGETS[i] if targets else "")
            for c in contributions:
                assert c.words, f"{c} names no word"
                assert all(w in source for w in c.words), f"{c}: {c.words} not in {source!r}"
                assert str(c).endswith(f"{c.weight:+.2f}")


def test_words_of_each_kind_of_feature() -> None:
    assert ngram_words("kein neg_verlässlicher", "Russland ist kein NEG_verlässlicher NEG_Partner.") == (
        "kein",
        "verlässlicher",
    )
    assert ngram_words("r_kein neg_r_partner", "L_Russland R_ist R_kein NEG_R_Partner") == ("kein", "Partner")
    # char_wb pads whitespace-separated words with spaces, punctuation included
    assert char_words("ner. ", "Russland ist kein verlässlicher Partner.") == ("Partner",)
    assert char_words("ner ", "Russland ist kein verlässlicher Partner.") == ()
    assert char_words("tner", "Russland ist kein verlässlicher Partner.") == ("Partner",)
    assert char_words(" ru", "Russland, Russlands Nachbarn") == ("Russland", "Russlands")
    flip = PolarityFeatures(negated="flip")
    marked = "Russland ist kein NEG_verlässlicher NEG_Partner."
    assert "verlässlicher" in lexicon_words("lexicon_negative", marked, flip)
    assert lexicon_words("lexicon_positive", marked, flip) == ()
    assert lexicon_words("lexicon_negation", marked, flip) == ("kein",)
    assert "verlässlicher" in lexicon_words("lexicon_positive", "ein verlässlicher Partner", PolarityFeatures())


def test_models_without_negation_scope_still_explain_and_score(train_slice: list[Example]) -> None:
    """Bundles saved before negation scope have three view columns; their ColumnTransformer insists on it."""
    import dataclasses

    from training.fastvec import accelerate

    model = fit_model(train_slice, seed=0, space=dataclasses.replace(SMALL_SPACE, negation=False))
    assert model.heads["stance"][0].transform([("Ein Satz.", "Satz")]).shape == (1, 3)
    assert_exact(model, "stance", SENTENCES, TARGETS)
    plain = accelerate(model, fast=False)
    np.testing.assert_allclose(
        plain.predict_proba("stance", SENTENCES, TARGETS), model.predict_proba("stance", SENTENCES, TARGETS)
    )


def test_question_flag_is_a_feature_of_question_targets_only(train_slice: list[Example]) -> None:
    import dataclasses

    from training.fastvec import accelerate

    model = fit_model(train_slice, seed=0, space=dataclasses.replace(SMALL_SPACE, question_flag=True))
    assert "question__question_target" in list(model.heads["stance"][:-1].get_feature_names_out())
    assert_exact(model, "stance", SENTENCES, TARGETS)
    flags = [
        [c for c in contributions if c.view == "question"]
        for contributions in model.explain("stance", SENTENCES, TARGETS, k=None)
    ]
    assert [bool(f) for f in flags] == [False, False, False, True]  # only the last target is a question
    assert flags[3][0].words == (TARGETS[3],)
    plain = accelerate(model, fast=False)
    np.testing.assert_allclose(
        plain.predict_proba("stance", SENTENCES, TARGETS), model.predict_proba("stance", SENTENCES, TARGETS)
    )
