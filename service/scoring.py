"""Scoring documents: segment, score every sentence with both heads in one batch, summarise.

Pure CPU work on objects built once at start-up (model, segmenter); the route runs it in a worker
thread so the event loop keeps serving other requests.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from service.segmentation import Segmenter, Sentence
from training.model import Contribution, HaltungModel
from training.targets import find_mention


@dataclass(frozen=True, slots=True)
class Document:
    id: str | None
    sentences: list[Sentence]


class TooManySentences(ValueError):
    def __init__(self, count: int, limit: int) -> None:
        super().__init__(f"{count} sentences exceed the limit of {limit} per request (HALTUNG_MAX_SENTENCES)")
        self.count, self.limit = count, limit


def segment(
    segmenter: Segmenter,
    *,
    text: str | None = None,
    documents: Sequence[tuple[str | None, str]] = (),
    sentences: Sequence[str] | None = None,
    max_sentences: int,
) -> list[Document]:
    """Split the request's input into documents of sentences, refusing more than `max_sentences`."""
    if sentences is not None:
        if len(sentences) > max_sentences:
            raise TooManySentences(len(sentences), max_sentences)
        docs = [Document(None, segmenter.from_sentences(sentences))]
    else:
        pairs = [(None, text)] if text is not None else list(documents)
        split = segmenter.split_many([t for _, t in pairs])
        docs = [Document(doc_id, s) for (doc_id, _), s in zip(pairs, split, strict=True)]
    total = sum(len(d.sentences) for d in docs)
    if total > max_sentences:
        raise TooManySentences(total, max_sentences)
    return docs


def score(model: HaltungModel, docs: list[Document], targets: Sequence[str], explain: int) -> dict[str, Any]:
    """Labels and probabilities for every sentence (one batch per head and target), plus summaries."""
    texts = [s.text for d in docs for s in d.sentences]
    sentiment = _head(model, "sentiment", texts, None, explain)
    stance_targets: list[str | None] = list(targets) or [None]
    stances = {t: _head(model, "stance", texts, [t] * len(texts) if t else None, explain) for t in stance_targets}
    labels = {head: model.labels(head) for head in model.heads}
    out, i = [], 0
    for doc in docs:
        results = []
        for index, sentence in enumerate(doc.sentences):
            results.append(
                {
                    "index": index,
                    "start": sentence.start,
                    "end": sentence.end,
                    "text": sentence.text,
                    "boilerplate": sentence.boilerplate,
                    "sentiment": sentiment[i] if sentiment else None,
                    "stance": [
                        {**stances[t][i], "target": t, "mentioned": bool(t and find_mention(sentence.text, t))}
                        for t in stance_targets
                        if stances[t]
                    ],
                }
            )
            i += 1
        out.append({"id": doc.id, "sentences": results, "summary": summarise(results, stance_targets, labels)})
    return {"model_version": model.version, "documents": out}


def _head(
    model: HaltungModel, head: str, texts: list[str], targets: list[str | None] | None, explain: int
) -> list[dict[str, Any]] | None:
    if head not in model.heads or not texts:
        return None
    predictions = model.predict(head, texts, targets)
    # Keys in the order, and with the nulls, of the response schema (service.schemas.HeadResult): the route
    # sends these dicts as they are, without a pydantic round trip.
    rows: list[dict[str, Any]] = [{"label": p.label, "scores": p.scores, "explanation": None} for p in predictions]
    if explain:
        for row, contributions in zip(rows, model.explain(head, texts, targets, k=explain), strict=True):
            row["explanation"] = [_feature(c) for c in contributions]
    return rows


def _feature(c: Contribution) -> dict[str, Any]:
    return {"feature": c.feature, "view": c.view, "weight": round(c.weight, 6), "words": list(c.words)}


def summarise(
    sentences: list[dict[str, Any]], targets: list[str | None], labels: dict[str, list[str]]
) -> dict[str, Any]:
    """Label counts and mean scores over the reporting (non-boilerplate) sentences.

    Every label of the model appears (0 when unused) and every requested target gets an entry, so
    a document without reporting sentences still has a summary of the same shape.
    """
    kept = [s for s in sentences if not s["boilerplate"]]
    sentiments = [s["sentiment"] for s in kept if s["sentiment"]]
    sentiment_labels = labels.get("sentiment", [])
    stance = [
        {
            "target": t,
            "counts": _counts(entries, labels["stance"]),
            "mean_scores": _means(entries, labels["stance"]),
        }
        for t in targets
        for entries in [[e for s in kept for e in s["stance"] if e["target"] == t]]
        if "stance" in labels
    ]
    return {
        "sentences": len(kept),
        "sentiment": _counts(sentiments, sentiment_labels),
        "sentiment_mean_scores": _means(sentiments, sentiment_labels),
        "stance": stance,
    }


def _counts(entries: list[dict[str, Any]], labels: list[str]) -> dict[str, int]:
    counts = Counter(e["label"] for e in entries)
    return {label: counts.get(label, 0) for label in labels}


def _means(entries: list[dict[str, Any]], labels: list[str]) -> dict[str, float]:
    """Mean probability per label; 0.0 for every label when there is nothing to average."""
    if not entries:
        return dict.fromkeys(labels, 0.0)
    means = np.mean([[e["scores"][lab] for lab in labels] for e in entries], axis=0)
    return {lab: round(float(m), 6) for lab, m in zip(labels, means, strict=True)}
