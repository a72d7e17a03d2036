"""Active-learning selection: uncertainty measures, the diversity step, exclusions, targets, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from tests.training.conftest import SavedModel
from training import Target, select
from training.active import MAX_SIMILARITY, pick, uncertainty
from training.data import Example

LABELS = ["negative", "neutral", "positive"]


def test_margin_and_entropy_rank_the_unsure_first_and_stay_in_0_1() -> None:
    proba = np.array([[0.98, 0.01, 0.01], [0.34, 0.33, 0.33], [0.5, 0.45, 0.05]])
    for strategy in ("margin", "entropy"):
        scores = uncertainty(proba, strategy)  # type: ignore[arg-type]
        assert ((scores >= 0) & (scores <= 1)).all()
        assert scores[1] > scores[0] and scores[2] > scores[0]
    assert uncertainty(proba, "margin")[2] == pytest.approx(0.95)
    assert uncertainty(np.array([[1 / 3, 1 / 3, 1 / 3]]), "entropy")[0] == pytest.approx(1.0)


def test_an_unknown_strategy_is_refused() -> None:
    with pytest.raises(ValueError, match="strategy"):
        uncertainty(np.ones((1, 3)) / 3, "random")  # type: ignore[arg-type]


def test_the_diversity_step_skips_near_copies() -> None:
    copies = [f"Die Polizei meldet einen Unfall auf der A{n} am Morgen." for n in range(1, 6)]
    others = ["Der Euro legte deutlich zu.", "Kiew meldet neue Angriffe im Osten."]
    texts = copies + others
    # the five copies are the most uncertain: plain uncertainty sampling would return only them
    proba = np.array([[0.34, 0.33, 0.33]] * 5 + [[0.5, 0.4, 0.1], [0.6, 0.3, 0.1]])
    picked = pick(texts, proba, LABELS, 3)
    assert [p.text for p in picked] == [copies[0], others[0], others[1]]
    assert picked[0].uncertainty > picked[1].uncertainty > picked[2].uncertainty
    # without the diversity step (similarity never too high) the copies win
    plain = pick(texts, proba, LABELS, 3, max_similarity=1.01)
    assert [p.text for p in plain] == sorted(copies)[:3]


def test_when_only_near_copies_are_left_they_fill_the_batch() -> None:
    copies = [f"Die Polizei meldet einen Unfall auf der A{n}." for n in range(1, 5)]
    picked = pick(copies, np.full((4, 3), 1 / 3), LABELS, 3)
    assert len(picked) == 3 and len({p.text for p in picked}) == 3


def test_picked_items_carry_the_models_label_and_scores() -> None:
    picked = pick(["Gut.", "Schlecht."], np.array([[0.1, 0.2, 0.7], [0.6, 0.3, 0.1]]), LABELS, 2)
    assert picked[0].text == "Schlecht." and picked[0].label == "negative"  # margin 0.3 beats 0.5
    assert picked[1].scores == {"negative": 0.1, "neutral": 0.2, "positive": 0.7}
    assert pick([], np.zeros((0, 3)), LABELS, 5) == []


def test_select_never_returns_an_excluded_text(saved_model: SavedModel, heldout_slice: list[Example]) -> None:
    texts = [e.text for e in heldout_slice]
    first = select(saved_model.model, texts, "sentiment", k=10)
    assert len(first.items) == 10 and first.remaining == len(set(texts))
    labelled = {p.text for p in first.items}
    second = select(saved_model.model, texts, "sentiment", k=10, exclude=labelled)
    assert not labelled & {p.text for p in second.items}
    assert second.remaining == len(set(texts) - labelled)
    assert all(texts[p.index] == p.text for p in second.items)


def test_select_is_deterministic(saved_model: SavedModel, heldout_slice: list[Example]) -> None:
    texts = [e.text for e in heldout_slice]
    runs = [select(saved_model.model, texts, "sentiment", k=8, strategy="entropy") for _ in range(2)]
    assert runs[0] == runs[1]
    assert runs[0].strategy == "entropy" and runs[0].max_similarity == MAX_SIMILARITY


def test_select_reports_the_models_own_prediction(saved_model: SavedModel, heldout_slice: list[Example]) -> None:
    texts = [e.text for e in heldout_slice]
    chosen = select(saved_model.model, texts, "sentiment", k=10)
    proba = saved_model.model.predict_proba("sentiment", [p.text for p in chosen.items])
    assert [p.label for p in chosen.items] == [LABELS[int(row.argmax())] for row in proba]
    expected = uncertainty(proba, "margin")
    assert [p.uncertainty for p in chosen.items] == pytest.approx(list(expected))


def test_select_with_near_copies_in_the_pool_returns_one_of_them(saved_model: SavedModel) -> None:
    copies = [f"Die Polizei meldet einen Unfall auf der A{n} am frühen Morgen." for n in range(1, 9)]
    others = ["Der Euro legte deutlich zu.", "Die Preise sind stark gestiegen.", "Das Konzert war großartig."]
    chosen = select(saved_model.model, copies + others, "sentiment", k=4)
    assert sum(p.text in copies for p in chosen.items) == 1


def test_stance_candidates_must_mention_the_target(saved_model: SavedModel) -> None:
    texts = [
        "Russland hat die Lieferungen gestoppt.",
        "Der Kreml wies die Vorwürfe zurück.",
        "Die russische Armee zog ab.",
        "Das Wetter bleibt wechselhaft.",
        "Die Bundesregierung berät am Montag.",
    ]
    plain = select(saved_model.model, texts, "stance", "Russland", k=10)
    assert {p.text for p in plain.items} == {texts[0], texts[2]} and plain.remaining == 2
    assert all(p.mention is not None and p.text[p.mention.start : p.mention.end] == p.mention.text for p in plain.items)
    with_alias = select(saved_model.model, texts, "stance", Target("Russland", ("Kreml",)), k=10)
    assert {p.text for p in with_alias.items} == set(texts[:3])
    labelled = select(saved_model.model, texts, "stance", "Russland", k=10, exclude={texts[0]})
    assert [p.text for p in labelled.items] == [texts[2]]


def test_a_question_target_makes_every_text_a_candidate(saved_model: SavedModel) -> None:
    texts = ["Das Wetter bleibt wechselhaft.", "Kitas brauchen mehr Geld."]
    selection = select(saved_model.model, texts, "stance", "Soll der Bund mehr Geld für Kitas ausgeben?", k=5)
    assert selection.remaining == 2 and all(p.mention is None for p in selection.items)


def test_the_stance_head_needs_a_target(saved_model: SavedModel) -> None:
    with pytest.raises(ValueError, match="target"):
        select(saved_model.model, ["Russland droht."], "stance", None)
