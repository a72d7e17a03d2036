"""Evaluation: macro-F1, accuracy, per-class scores and confusion matrices, per head and per source."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

from training.data import Example
from training.fit import head_rows
from training.model import HaltungModel


def scores(y_true: Sequence[str], y_pred: Sequence[str]) -> dict[str, Any]:
    """Macro-F1 (the project's headline figure), accuracy and n."""
    return {
        "macro_f1": round(float(f1_score(y_true, y_pred, average="macro", zero_division=0)), 4),
        "accuracy": round(float(accuracy_score(y_true, y_pred)), 4),
        "n": len(y_true),
    }


def evaluate(model: HaltungModel, examples: Sequence[Example]) -> dict[str, Any]:
    """Report for every head the model has and the data labels; see README for the JSON shape."""
    report: dict[str, Any] = {"heads": {}}
    for head in model.heads:
        rows, y_true = head_rows(examples, head)
        if not rows:
            continue
        texts = [r[0] for r in rows]
        targets = [r[1] for r in rows]
        spans = [r[2] if len(r) > 2 else None for r in rows]
        y_pred = [p.label for p in model.predict(head, texts, targets, spans)]
        labels = sorted(set(model.labels(head)) | set(y_true))
        p, r, f, n = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
        by_source: dict[str, tuple[list[str], list[str]]] = defaultdict(lambda: ([], []))
        sources = [e.source or "unknown" for e in examples if e.label(head) is not None]
        for source, truth, guess in zip(sources, y_true, y_pred, strict=True):
            by_source[source][0].append(truth)
            by_source[source][1].append(guess)
        report["heads"][head] = {
            **scores(y_true, y_pred),
            "per_class": {
                label: {
                    "precision": round(float(p[i]), 4),
                    "recall": round(float(r[i]), 4),
                    "f1": round(float(f[i]), 4),
                    "support": int(n[i]),
                }
                for i, label in enumerate(labels)
            },
            "confusion_matrix": {
                "labels": labels,
                "rows_true_columns_predicted": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
            },
            "by_source": {s: scores(t, g) for s, (t, g) in sorted(by_source.items())},
        }
    return report


def format_report(report: dict[str, Any]) -> str:
    """Plain-text tables of a report, for the terminal."""
    lines = []
    for head, r in report["heads"].items():
        lines.append(f"{head}: macro-F1 {r['macro_f1']:.3f}  accuracy {r['accuracy']:.3f}  n={r['n']}")
        lines.append(f"  {'label':<10} {'prec':>6} {'rec':>6} {'f1':>6} {'n':>6}")
        for label, c in r["per_class"].items():
            lines.append(f"  {label:<10} {c['precision']:6.3f} {c['recall']:6.3f} {c['f1']:6.3f} {c['support']:6d}")
        cm = r["confusion_matrix"]
        lines.append("  confusion (rows true, columns predicted): " + " ".join(f"{lab:>8}" for lab in cm["labels"]))
        for label, row in zip(cm["labels"], cm["rows_true_columns_predicted"], strict=True):
            lines.append(f"  {label:>41} " + " ".join(f"{v:8d}" for v in row))
        lines.append(f"  {'source':<16} {'macro-F1':>8} {'accuracy':>8} {'n':>6}")
        for source, s in r["by_source"].items():
            lines.append(f"  {source:<16} {s['macro_f1']:8.3f} {s['accuracy']:8.3f} {s['n']:6d}")
    return "\n".join(lines)
