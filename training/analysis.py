"""Analysing documents: segment, score every sentence with both heads in one batch, summarise.

One code path for every caller (the service's `/v1/classify`, batch scoring, scripts): pure CPU work on
objects built once (model, segmenter), so the service runs it in a worker thread.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from training.errors import TooManySentences
from training.model import Contribution, HaltungModel
from training.segmentation import Segmenter, Sentence
from training.stance import StanceResult, Unmentioned, score_stance
from training.targets import Target


@dataclass(frozen=True, slots=True)
class Document:
    id: str | None
    sentences: list[Sentence]


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
        split = segmenter.split_many([t for _, t in pairs], max_sentences=max_sentences)  # stops early
        docs = [Document(doc_id, s) for (doc_id, _), s in zip(pairs, split, strict=True)]
    total = sum(len(d.sentences) for d in docs)
    if total > max_sentences:
        raise TooManySentences(total, max_sentences)
    return docs


def analyse(
    model: HaltungModel,
    docs: list[Document],
    targets: Sequence[Target],
    explain: int,
    unmentioned: Unmentioned = "null",
) -> dict[str, Any]:
    """Labels and probabilities for every sentence (one batch per head and target), plus summaries.

    Stance comes from `training.stance.score_stance`, the same code path as the CLI: only sentences that
    mention a named target get a stance toward it (or every sentence, for a question target).
    """
    texts = [s.text for d in docs for s in d.sentences]
    sentiment = _sentiment(model, texts, explain)
    stance = _stance(model, texts, targets, explain, unmentioned) if "stance" in model.heads else [[] for _ in texts]
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
                    "stance": stance[i],
                }
            )
            i += 1
        out.append({"id": doc.id, "sentences": results, "summary": summarise(results, targets, labels)})
    return {"model_version": model.version, "documents": out}


def _sentiment(model: HaltungModel, texts: list[str], explain: int) -> list[dict[str, Any]] | None:
    if "sentiment" not in model.heads or not texts:
        return None
    predictions = model.predict("sentiment", texts)
    # Keys in the order, and with the nulls, of the response schema (service.schemas.HeadResult): the route
    # sends these dicts as they are, without a pydantic round trip.
    rows: list[dict[str, Any]] = [{"label": p.label, "scores": p.scores, "explanation": None} for p in predictions]
    if explain:
        for row, contributions in zip(rows, model.explain("sentiment", texts, k=explain), strict=True):
            row["explanation"] = [_feature(c) for c in contributions]
    return rows


def _stance(
    model: HaltungModel, texts: list[str], targets: Sequence[Target], explain: int, unmentioned: Unmentioned
) -> list[list[dict[str, Any]]]:
    """Per sentence, one entry per target in the order of service.schemas.StanceResult."""
    results = score_stance(model, texts, targets, unmentioned)
    rows = [[_stance_entry(r) for r in row] for row in results]
    if explain:
        for j, target in enumerate(targets):
            given = [i for i, row in enumerate(results) if row[j].label is not None]
            if not given:
                continue
            spans = [(m.start, m.end) if (m := results[i][j].mention) else None for i in given]
            explained = model.explain(
                "stance", [texts[i] for i in given], [target.name] * len(given), k=explain, spans=spans
            )
            for i, contributions in zip(given, explained, strict=True):
                rows[i][j]["explanation"] = [_feature(c) for c in contributions]
    return rows


def _stance_entry(r: StanceResult) -> dict[str, Any]:
    mention = r.mention
    return {
        "target": r.target,
        "mentioned": r.mentioned,
        "mention": {"start": mention.start, "end": mention.end, "text": mention.text, "via": mention.via}
        if mention
        else None,
        "basis": r.basis,
        "label": r.label,
        "scores": r.scores,
        "explanation": None,
    }


def _feature(c: Contribution) -> dict[str, Any]:
    return {"feature": c.feature, "view": c.view, "weight": round(c.weight, 6), "words": list(c.words)}


def summarise(
    sentences: list[dict[str, Any]], targets: Sequence[Target], labels: dict[str, list[str]]
) -> dict[str, Any]:
    """Label counts and mean scores over the reporting (non-boilerplate) sentences.

    Sentiment covers every reporting sentence. Stance toward a target covers only the reporting sentences
    that mention it (every one, for a question target): tone-based guesses (``unmentioned: score``) never
    count. Every label appears (0 when unused) and every target gets an entry; with no sentence to average,
    its document-level ``label`` and ``mean_scores`` are null.
    """
    kept = [s for s in sentences if not s["boilerplate"]]
    sentiments = [s["sentiment"] for s in kept if s["sentiment"]]
    sentiment_labels = labels.get("sentiment", [])
    stance_labels = labels.get("stance", [])
    stance = []
    for j, target in enumerate(targets if "stance" in labels else ()):
        entries = [s["stance"][j] for s in kept if s["stance"][j]["basis"] in ("mention", "question")]
        means = _means(entries, stance_labels) if entries else None
        stance.append(
            {
                "target": target.name,
                "basis": "question" if target.is_question else "mention",
                "sentences": len(entries),
                "counts": _counts(entries, stance_labels),
                "label": max(means, key=means.__getitem__) if means else None,
                "mean_scores": means,
            }
        )
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
