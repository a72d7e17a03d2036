"""score_stance: a stance only where the target is mentioned (or asked about), read around the mention."""

from __future__ import annotations

import pytest

from training.stance import score_rows, score_stance
from training.targets import Mention, Target

from .conftest import SavedModel

SENTENCES = [
    "Russland ist kein verlässlicher Partner.",
    "Frankreich hat der Ukraine großzügige Hilfe zugesagt.",
    "Der Kreml wies die Vorwürfe der Regierung in Kiew scharf zurück.",
    "Die russische Armee rückt weiter vor.",
]
RUSSLAND = Target("Russland", ("Moskau", "Kreml"))
UKRAINE = Target("Ukraine", ("Kiew",))
QUESTION = Target("Soll Deutschland der Ukraine mehr Waffen liefern?")


def test_one_result_per_sentence_and_target_in_order(saved_model: SavedModel) -> None:
    results = score_stance(saved_model.model, SENTENCES, [RUSSLAND, UKRAINE, QUESTION])
    assert len(results) == len(SENTENCES)
    assert all([r.target for r in row] == ["Russland", "Ukraine", QUESTION.name] for row in results)
    assert [row[0].mentioned for row in results] == [True, False, True, True]
    assert [row[1].mentioned for row in results] == [False, True, True, False]
    assert [row[0].mention.via if row[0].mention else None for row in results] == ["name", None, "alias", "derived"]


def test_unmentioned_named_targets_get_no_stance(saved_model: SavedModel) -> None:
    results = score_stance(saved_model.model, SENTENCES, [RUSSLAND])
    unmentioned = results[1][0]
    assert (unmentioned.mentioned, unmentioned.mention, unmentioned.label, unmentioned.scores, unmentioned.basis) == (
        False,
        None,
        None,
        None,
        None,
    )


def test_mentioned_targets_are_read_around_their_mention(saved_model: SavedModel) -> None:
    """Each stance equals the head's prediction given the mention's span (alias and derived forms too)."""
    model = saved_model.model
    results = score_stance(model, SENTENCES, [RUSSLAND])
    mentioned = [(sentence, row[0]) for sentence, row in zip(SENTENCES, results, strict=True) if row[0].mentioned]
    assert len(mentioned) == 3
    for sentence, result in mentioned:
        span = (result.mention.start, result.mention.end)
        [expected] = model.predict("stance", [sentence], ["Russland"], [span])
        assert result.basis == "mention"
        assert result.label == expected.label
        assert result.scores == pytest.approx(expected.scores, abs=1e-12)


def test_unmentioned_score_gives_the_marked_tone_guess(saved_model: SavedModel) -> None:
    model = saved_model.model
    results = score_stance(model, SENTENCES, [RUSSLAND], unmentioned="score")
    guess = results[1][0]
    [expected] = model.predict("stance", [SENTENCES[1]], ["Russland"])
    assert (guess.mentioned, guess.basis, guess.label) == (False, "tone", expected.label)
    assert guess.scores == pytest.approx(expected.scores, abs=1e-12)
    assert [row[0].basis for row in results] == ["mention", "tone", "mention", "mention"]


def test_question_targets_apply_to_every_sentence(saved_model: SavedModel) -> None:
    model = saved_model.model
    results = score_stance(model, SENTENCES, [QUESTION])
    expected = model.predict("stance", SENTENCES, [QUESTION.name] * len(SENTENCES))
    for row, prediction in zip(results, expected, strict=True):
        assert (row[0].basis, row[0].mentioned, row[0].mention) == ("question", False, None)
        assert row[0].label == prediction.label
        assert row[0].scores == pytest.approx(prediction.scores, abs=1e-12)


def test_nothing_to_score(saved_model: SavedModel) -> None:
    assert score_stance(saved_model.model, [], [RUSSLAND]) == []
    assert score_stance(saved_model.model, SENTENCES, []) == [[] for _ in SENTENCES]
    no_mention = score_stance(saved_model.model, ["Die Sonne scheint."], [RUSSLAND])
    assert no_mention[0][0].label is None


def test_unknown_unmentioned_option_is_refused(saved_model: SavedModel) -> None:
    with pytest.raises(ValueError, match="unmentioned"):
        score_stance(saved_model.model, SENTENCES, [RUSSLAND], unmentioned="guess")  # type: ignore[arg-type]


def test_score_rows_uses_each_rows_own_target_and_known_spans(saved_model: SavedModel) -> None:
    texts = [SENTENCES[0], SENTENCES[3], "Die Sonne scheint.", SENTENCES[1]]
    targets = ["Russland", "Russland", None, "Ukraine"]
    spans = [None, (4, 13), None, None]
    results = score_rows(saved_model.model, texts, targets, spans)
    assert results[2] is None
    assert [(r.target, r.basis) for r in results if r] == [("Russland", "mention")] * 2 + [("Ukraine", "mention")]
    assert results[1].mention == Mention(4, 13, "russische", "name")  # a known span is taken as given
    together = score_stance(saved_model.model, [texts[0]], [RUSSLAND])[0][0]
    assert results[0].label == together.label


def test_spans_must_match_the_sentences(saved_model: SavedModel) -> None:
    with pytest.raises(ValueError, match="spans"):
        score_stance(saved_model.model, SENTENCES, [RUSSLAND], spans=[None])
