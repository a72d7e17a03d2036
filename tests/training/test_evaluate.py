"""Evaluation reports: macro-F1, accuracy, per-class scores, confusion matrices, per source."""

from __future__ import annotations

from dataclasses import replace

import pytest

from training.data import Example
from training.evaluate import evaluate, format_report, scores
from training.fit import fit_model

from .conftest import SMALL_SPACE, SavedModel, stable_sample


def test_scores_by_hand() -> None:
    # a: precision 1, recall 1/2, F1 2/3; b: precision 2/3, recall 1, F1 4/5; macro (2/3 + 4/5) / 2 = 11/15.
    assert scores(["a", "a", "b", "b"], ["a", "b", "b", "b"]) == {"macro_f1": 0.7333, "accuracy": 0.75, "n": 4}
    assert scores(["a", "b"], ["b", "a"]) == {"macro_f1": 0.0, "accuracy": 0.0, "n": 2}


@pytest.fixture(scope="module")
def eval_rows(heldout_slice: list[Example]) -> list[Example]:
    """Held-out starter rows, split over two sources; some have no source at all."""
    return [
        replace(e, source=("agency" if i % 3 == 0 else None if i % 3 == 1 else e.source))
        for i, e in enumerate(heldout_slice)
    ]


def test_report_shape_and_consistency(saved_model: SavedModel, eval_rows: list[Example]) -> None:
    model = saved_model.model
    report = evaluate(model, eval_rows)
    assert set(report) == {"heads"}
    assert set(report["heads"]) == {"sentiment", "stance"}
    for head, r in report["heads"].items():
        rows = [e for e in eval_rows if e.label(head)]
        targets = [e.target for e in rows] if head == "stance" else None
        predicted = [p.label for p in model.predict(head, [e.text for e in rows], targets)]
        truth = [str(e.label(head)) for e in rows]

        assert set(r) == {"macro_f1", "accuracy", "n", "per_class", "confusion_matrix", "by_source"}
        assert r["n"] == len(rows)
        assert r["accuracy"] == round(sum(p == t for p, t in zip(predicted, truth, strict=True)) / len(rows), 4)
        assert r["macro_f1"] == scores(truth, predicted)["macro_f1"]
        assert 0.0 <= r["macro_f1"] <= 1.0

        labels = model.labels(head)
        assert list(r["per_class"]) == labels
        for label, c in r["per_class"].items():
            assert set(c) == {"precision", "recall", "f1", "support"}
            assert c["support"] == truth.count(label)
            assert all(0.0 <= c[k] <= 1.0 for k in ("precision", "recall", "f1"))
        assert r["macro_f1"] == pytest.approx(sum(c["f1"] for c in r["per_class"].values()) / len(labels), abs=1e-3)

        cm = r["confusion_matrix"]
        assert cm["labels"] == labels
        matrix = cm["rows_true_columns_predicted"]
        for i, t in enumerate(labels):
            for j, p in enumerate(labels):
                assert matrix[i][j] == sum(a == t and b == p for a, b in zip(truth, predicted, strict=True))

        assert set(r["by_source"]) == {"agency", "haltung-starter", "unknown"}
        assert sum(s["n"] for s in r["by_source"].values()) == len(rows)
        for source, s in r["by_source"].items():
            assert set(s) == {"macro_f1", "accuracy", "n"}
            idx = [i for i, e in enumerate(rows) if (e.source or "unknown") == source]
            assert s == scores([truth[i] for i in idx], [predicted[i] for i in idx])


def test_heads_without_labels_in_the_data_are_left_out(saved_model: SavedModel, eval_rows: list[Example]) -> None:
    sentiment_only = [replace(e, stance=None, target=None) for e in eval_rows if e.sentiment]
    assert list(evaluate(saved_model.model, sentiment_only)["heads"]) == ["sentiment"]
    assert evaluate(saved_model.model, []) == {"heads": {}}


def test_labels_the_model_never_predicts_are_reported(starter_examples: list[Example]) -> None:
    # A favor/against model (like x-stance) scored on data that also holds neutral rows.
    train = stable_sample([e for e in starter_examples if e.stance in ("favor", "against")], 120, salt="binary")
    model = fit_model([replace(e, sentiment=None) for e in train], space=SMALL_SPACE)
    seen = {e.id for e in train}
    dev = stable_sample([e for e in starter_examples if e.stance and e.id not in seen], 60, salt="dev")
    report = evaluate(model, dev)["heads"]["stance"]
    assert list(report["per_class"]) == ["against", "favor", "neutral"]
    neutral = report["per_class"]["neutral"]
    assert neutral["support"] == sum(e.stance == "neutral" for e in dev) > 0
    assert neutral["recall"] == 0.0
    assert [row[2] for row in report["confusion_matrix"]["rows_true_columns_predicted"]] == [0, 0, 0]


def test_format_report_lists_every_head_label_and_source(saved_model: SavedModel, eval_rows: list[Example]) -> None:
    report = evaluate(saved_model.model, eval_rows)
    text = format_report(report)
    for head, r in report["heads"].items():
        assert f"{head}: macro-F1 {r['macro_f1']:.3f}  accuracy {r['accuracy']:.3f}  n={r['n']}" in text
        for label, c in r["per_class"].items():
            assert f"  {label:<10} {c['precision']:6.3f} {c['recall']:6.3f} {c['f1']:6.3f} {c['support']:6d}" in text
        for source in r["by_source"]:
            assert f"  {source:<16} " in text


def test_evaluation_uses_the_given_target_span(saved_model: SavedModel) -> None:
    small_model = saved_model.model
    text = "Die Regierung lobte die Reform, die Opposition lehnt sie entschieden ab."
    at_second = Example(text, target="Reform", stance="against", target_span=(text.index("sie"), text.index("sie") + 3))
    searched = small_model.predict("stance", [text], ["Reform"])[0].scores
    given = small_model.predict("stance", [text], ["Reform"], [at_second.target_span])[0].scores
    assert given != searched
    report = evaluate(small_model, [at_second])
    assert report["heads"]["stance"]["n"] == 1
