"""Negation scope: which words a German negation governs, and how the lexicon counts them."""

from __future__ import annotations

import numpy as np
import pytest

from training.lexicon import PolarityFeatures
from training.negation import mark_negation


@pytest.mark.parametrize(
    ("text", "marked"),
    [
        ("Russland ist kein verlässlicher Partner.", "Russland ist kein NEG_verlässlicher NEG_Partner."),
        ("Das hilft nicht, aber es schadet.", "NEG_Das NEG_hilft nicht, aber es schadet."),
        ("Er kam ohne Einigung zurück und schwieg.", "Er kam ohne NEG_Einigung NEG_zurück NEG_und NEG_schwieg."),
        ("Die Lage ist nie stabil, doch sie hält.", "Die Lage ist nie NEG_stabil, doch sie hält."),
        ("Weder Regierung noch Opposition", "Weder NEG_Regierung NEG_noch NEG_Opposition"),
        ("Die Reform ist kaum ein Fortschritt", "Die Reform ist kaum NEG_ein NEG_Fortschritt"),
        ("Das ist nicht nur ein Erfolg, sondern mehr.", "Das ist nicht nur ein Erfolg, sondern mehr."),
        ("Die Preise sind niedrig.", "Die Preise sind niedrig."),
        ("", ""),
        ("L_Russland R_ist R_kein R_Partner", "L_Russland R_ist R_kein NEG_R_Partner"),
    ],
)
def test_scope_runs_to_the_clause_boundary(text: str, marked: str) -> None:
    assert mark_negation(text) == marked


def test_negated_lexicon_words_count_for_the_other_side() -> None:
    texts = [
        mark_negation("Russland ist ein verlässlicher Partner."),
        mark_negation("Russland ist kein verlässlicher Partner."),
    ]
    plain, flipped = PolarityFeatures(negated="flip").fit(texts).transform(texts).toarray()
    positive, negative = 0, 1
    assert plain[positive] > 0 and plain[negative] == 0
    assert flipped[positive] == 0 and flipped[negative] > 0
    split = PolarityFeatures(negated="split").fit(texts).transform(texts).toarray()
    assert split.shape[1] == 7 and split[1, positive] == 0 and split[1, 5] > 0  # negated_positive


def test_without_counts_the_count_columns_are_left_out() -> None:
    features = PolarityFeatures(negated="flip", counts=False).fit([])
    assert list(features.get_feature_names_out()) == ["lexicon_positive", "lexicon_negative", "lexicon_negation"]
    assert features.transform(["Ein großer Erfolg."]).shape == (1, 3)


def test_bundles_from_before_read_no_marks() -> None:
    legacy = PolarityFeatures()  # negated=None: marks are not stripped, as before negation scope existed
    assert np.array_equal(
        legacy.fit([]).transform(["NEG_Erfolg"]).toarray(), legacy.transform(["Unsinnwort"]).toarray()
    )


def test_decrease_words_shift_their_whole_clause_when_asked() -> None:
    text = "Die Inflation ist gesunken, Verbraucher atmen auf."
    assert mark_negation(text) == text
    assert mark_negation(text, shifters=True) == "NEG_Die NEG_Inflation NEG_ist gesunken, Verbraucher atmen auf."
    assert mark_negation("Rückgang der Arbeitslosigkeit", shifters=True) == "Rückgang NEG_der NEG_Arbeitslosigkeit"


def test_count_min_counts_only_clearly_polar_words() -> None:
    texts = ["ein verlässlicher Partner", "eine Katastrophe"]  # "Partner" is barely positive in SentiWS (0.004)
    all_words = PolarityFeatures(negated="flip", rate=False).fit([]).transform(texts).toarray()
    strong = PolarityFeatures(negated="flip", rate=False, count_min=0.05).fit([]).transform(texts).toarray()
    n_positive, n_negative = 2, 3
    assert all_words[0, n_positive] == np.log1p(2) and strong[0, n_positive] == np.log1p(1)
    assert all_words[1, n_negative] == strong[1, n_negative] == np.log1p(1)
    assert np.array_equal(all_words[:, :2], strong[:, :2])  # the weights are unchanged
