"""The fitted model: predict, probabilities, explanations, the use of the stance target, and save/load."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from training.bundle import MODEL_FILE, load_bundle, load_current, sha256_bytes
from training.data import Example
from training.features import CONTEXT, TARGET, TEXT, TargetViews
from training.fit import fit_model
from training.model import HaltungModel
from training.targets import is_question

from .conftest import SMALL_SPACE, SavedModel, stable_sample

TEXTS = [
    "Die Regierung hat die Warnungen der Fachleute monatelang ignoriert und steht nun vor einem Scherbenhaufen.",
    "Die Zahl der Arbeitslosen ist im Herbst überraschend deutlich gesunken.",
    "Der Ausschuss tagt am Donnerstag zum dritten Mal in diesem Monat.",
    "Kritiker werfen dem Konzern vor, seine Beschäftigten jahrelang getäuscht zu haben.",
    "Das neue Museum begeistert Besucherinnen und Besucher aus ganz Europa.",
]
TARGETS = ["Regierung", None, "Ausschuss", "Konzern", "Soll der Staat Museen stärker fördern?"]


def heads_inputs(head: str, examples: list[Example]) -> tuple[list[str], list[str | None] | None]:
    texts = TEXTS + [e.text for e in examples]
    targets = TARGETS + [e.target for e in examples]
    return texts, (targets if head == "stance" else None)


# --- save → load → predict ------------------------------------------------------------------------------------------


def test_predictions_after_load_equal_those_before(saved_model: SavedModel, heldout_slice: list[Example]) -> None:
    loaded = load_bundle(saved_model.directory)
    assert loaded is not saved_model.model
    assert set(loaded.heads) == set(saved_model.model.heads) == {"sentiment", "stance"}
    for head in loaded.heads:
        texts, targets = heads_inputs(head, heldout_slice)
        before = saved_model.model.predict_proba(head, texts, targets)
        after = loaded.predict_proba(head, texts, targets)
        assert before.shape == (len(texts), len(loaded.labels(head)))
        assert np.array_equal(before, after)
        assert loaded.predict(head, texts, targets) == saved_model.model.predict(head, texts, targets)
        assert loaded.explain(head, texts, targets) == saved_model.model.explain(head, texts, targets)
    assert loaded.params == saved_model.model.params


def test_loaded_model_knows_its_version_and_manifest(saved_model: SavedModel) -> None:
    loaded = load_bundle(saved_model.directory)
    assert loaded.version == saved_model.version == saved_model.model.version
    assert loaded.manifest.sha256 == sha256_bytes((saved_model.directory / MODEL_FILE).read_bytes())
    assert loaded.manifest.heads == {head: loaded.labels(head) for head in ("sentiment", "stance")}
    assert loaded.manifest.to_json()["data"] == {"train": ["starter slice"]}
    assert load_current(saved_model.models_dir).version == saved_model.version


def test_scores_are_probability_distributions(saved_model: SavedModel, heldout_slice: list[Example]) -> None:
    model = saved_model.model
    for head in model.heads:
        texts, targets = heads_inputs(head, heldout_slice)
        for prediction in model.predict(head, texts, targets):
            assert list(prediction.scores) == model.labels(head)
            assert sum(prediction.scores.values()) == pytest.approx(1.0, abs=1e-9)
            assert all(0.0 <= p <= 1.0 for p in prediction.scores.values())
            assert prediction.label == max(prediction.scores, key=prediction.scores.__getitem__)


def test_model_predicts_better_than_chance_on_unseen_rows(
    saved_model: SavedModel, heldout_slice: list[Example]
) -> None:
    rows = [e for e in heldout_slice if e.sentiment]
    predicted = saved_model.model.predict("sentiment", [e.text for e in rows])
    accuracy = np.mean([p.label == e.sentiment for p, e in zip(predicted, rows, strict=True)])
    assert accuracy > 0.45, accuracy  # three balanced classes: chance is about 0.33


def test_labels_come_from_the_data(saved_model: SavedModel, train_slice: list[Example]) -> None:
    model = saved_model.model
    for head in ("sentiment", "stance"):
        seen = sorted({str(e.label(head)) for e in train_slice if e.label(head)})
        assert model.labels(head) == seen
        assert model.params[head]["n"] == sum(e.label(head) is not None for e in train_slice)


def test_empty_input_and_mismatched_targets(saved_model: SavedModel) -> None:
    model = saved_model.model
    assert model.predict_proba("stance", []).shape == (0, 3)
    assert model.predict("sentiment", []) == []
    with pytest.raises(ValueError, match="2 texts but 1 targets"):
        model.predict("stance", TEXTS[:2], ["Regierung"])
    with pytest.raises(KeyError, match="no 'irony' head"):
        model.predict("irony", TEXTS)


def test_stance_only_data_gives_a_stance_only_model(train_slice: list[Example]) -> None:
    rows = [replace(e, sentiment=None) for e in train_slice if e.stance][:120]
    model = fit_model(rows, space=SMALL_SPACE)
    assert list(model.heads) == ["stance"]
    assert list(model.params) == ["stance"]
    assert len(model.predict("stance", TEXTS, TARGETS)) == len(TEXTS)
    with pytest.raises(KeyError, match="no 'sentiment' head"):
        model.predict("sentiment", TEXTS)


def test_favor_against_only_data_gives_two_labels_and_exact_binary_explanations(
    starter_examples: list[Example],
) -> None:
    """Like x-stance: only favor/against, no sentiment; the binary LR keeps one coefficient row."""
    rows = stable_sample(
        [replace(e, sentiment=None) for e in starter_examples if e.stance in ("favor", "against")], 160, salt="x"
    )
    model = fit_model(rows, space=SMALL_SPACE)
    assert list(model.heads) == ["stance"]
    assert model.labels("stance") == ["against", "favor"]
    texts, targets = [e.text for e in rows], [e.target for e in rows]
    proba = model.predict_proba("stance", texts, targets)
    assert proba.shape == (len(rows), 2)
    assert np.allclose(proba.sum(axis=1), 1.0)
    predictions = model.predict("stance", texts, targets)
    assert {p.label for p in predictions} == {"against", "favor"}
    # One favor and one against prediction: the explanation of each must follow that label's coefficients.
    for label in ("against", "favor"):
        i = next(i for i, p in enumerate(predictions) if p.label == label)
        assert_explanation_is_exact(model, "stance", texts[i], targets[i], label)


# --- explain ----------------------------------------------------------------------------------------------------------


def assert_explanation_is_exact(model: HaltungModel, head: str, text: str, target: str | None, label: str) -> None:
    """Recompute the contributions by hand from the pipeline: feature value × coefficient of `label`."""
    pipeline = model.heads[head]
    features = pipeline[:-1].transform([(text, target)]).toarray()[0]
    names = list(pipeline[:-1].get_feature_names_out())
    clf = pipeline[-1]
    classes = list(clf.classes_)
    if clf.coef_.shape[0] == 1:
        coef = clf.coef_[0] if label == classes[1] else -clf.coef_[0]
    else:
        coef = clf.coef_[classes.index(label)]
    by_hand = features * coef
    expected = sorted((w for w in by_hand if w > 0), reverse=True)[:5]

    (contributions,) = model.explain(head, [text], [target] if head == "stance" else None, k=5)
    assert [c.weight for c in contributions] == pytest.approx(expected)
    assert contributions, "a predicted label always has some feature pushing toward it"
    for c in contributions:
        j = names.index(f"{c.view}__{c.feature}")
        assert c.weight > 0
        assert c.weight == pytest.approx(features[j] * coef[j])
        assert features[j] != 0
    # Exact for LR: all contributions plus the intercept are the decision value of the label.
    if clf.coef_.shape[0] > 1:
        intercept = clf.intercept_[classes.index(label)]
        decision = clf.decision_function(pipeline[:-1].transform([(text, target)]))[0][classes.index(label)]
        assert by_hand.sum() + intercept == pytest.approx(decision)


@pytest.mark.parametrize("head", ["sentiment", "stance"])
def test_explain_gives_value_times_coefficient(saved_model: SavedModel, head: str) -> None:
    model = saved_model.model
    targets = TARGETS if head == "stance" else None
    predictions = model.predict(head, TEXTS, targets)
    for i, text in enumerate(TEXTS):
        assert_explanation_is_exact(model, head, text, TARGETS[i] if head == "stance" else None, predictions[i].label)


def test_explain_names_views_and_respects_k(saved_model: SavedModel) -> None:
    model = saved_model.model
    explained = model.explain("stance", TEXTS, TARGETS, k=3)
    assert len(explained) == len(TEXTS)
    views = {"word", "char", "context", "target", "lexicon_text", "lexicon_context"}
    for contributions in explained:
        assert 1 <= len(contributions) <= 3
        assert [c.weight for c in contributions] == sorted((c.weight for c in contributions), reverse=True)
        assert {c.view for c in contributions} <= views
    assert model.explain("sentiment", TEXTS, k=1) == [c[:1] for c in model.explain("sentiment", TEXTS, k=5)]


# --- the stance target is used ----------------------------------------------------------------------------------------


def test_same_sentence_two_targets_give_different_stance(saved_model: SavedModel) -> None:
    text = (
        "Die Gewerkschaft lobte den mutigen und klugen Kompromiss, "
        "während die Regierung für ihr Zögern scharf kritisiert und verspottet wurde."
    )
    views = saved_model.model.heads["stance"][0].transform([(text, "Gewerkschaft"), (text, "Regierung")])
    assert views[0, CONTEXT] == "L_Die R_lobte R_den R_mutigen"  # the session model's window is 3
    assert views[1, CONTEXT] == "L_Kompromiss L_während L_die R_für R_ihr R_Zögern"
    assert views[0, TEXT] == views[1, TEXT] == text

    proba = saved_model.model.predict_proba("stance", [text, text, text], ["Gewerkschaft", "Regierung", None])
    assert not np.allclose(proba[0], proba[1])
    assert not np.allclose(proba[0], proba[2])
    assert not np.allclose(proba[1], proba[2])


def test_target_span_from_the_data_picks_the_mention() -> None:
    text = "Berlin kritisiert Paris scharf, doch Paris lobt Berlin ausdrücklich."
    second = text.rindex("Berlin")
    views = TargetViews(window=2).transform([(text, "Berlin"), (text, "Berlin", (second, second + 6))])
    assert views[0, CONTEXT] == "R_kritisiert R_Paris"
    assert views[1, CONTEXT] == "L_Paris L_lobt R_ausdrücklich"


def test_question_target_not_in_the_text_is_used_as_a_feature(
    saved_model: SavedModel, train_slice: list[Example]
) -> None:
    model = saved_model.model
    assert TARGET in model.params["stance"]["columns"]  # the slice holds question targets
    questions = sorted({e.target for e in train_slice if e.target and is_question(e.target)})
    q1, q2 = questions[0], questions[-1]
    text = "Die Kosten dafür trägt am Ende die Allgemeinheit, und das ist auch richtig so."

    pipeline = model.heads["stance"]
    views = pipeline[0].transform([(text, q1)])
    assert views[0, CONTEXT] == "" and views[0, TARGET] == q1
    features = pipeline[:-1].transform([(text, q1), (text, q2), (text, None)]).toarray()
    target_columns = [i for i, n in enumerate(pipeline[:-1].get_feature_names_out()) if n.startswith("target__")]
    assert features[0, target_columns].any() and features[1, target_columns].any()
    assert not features[2, target_columns].any()

    proba = model.predict_proba("stance", [text, text, text], [q1, q2, None])
    assert not np.allclose(proba[0], proba[1])
    assert not np.allclose(proba[0], proba[2])
