"""Which sentences a retrained candidate would label differently from the model it was compared with.

Both models read the sentences through the one analysis path (`training.analyse`), so a change here is
exactly a change a client of `/v1/classify` would see after activating the candidate.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from training import HaltungModel, ModelRepository, Segmenter, Target, analyse, segment


@lru_cache(maxsize=4)
def _load(repository: ModelRepository, version: str) -> HaltungModel:
    """Bundles are immutable once saved: a version loaded once stays valid (two candidates and baselines)."""
    return repository.load(version)


def _labels(
    model: HaltungModel, segmenter: Segmenter, sentences: Sequence[str], targets: Sequence[Target]
) -> list[dict[str, Any]]:
    docs = segment(segmenter, sentences=sentences, max_sentences=len(sentences))
    result = analyse(model, docs, targets, 0)
    return result["documents"][0]["sentences"]  # type: ignore[no-any-return]


def label_changes(
    repository: ModelRepository,
    segmenter: Segmenter,
    before: str,
    after: str,
    sentences: Sequence[str],
    targets: Sequence[Target],
) -> list[dict[str, Any]]:
    """Every (sentence, head, target) whose label differs between versions `before` and `after`."""
    old = _labels(_load(repository, before), segmenter, sentences, targets)
    new = _labels(_load(repository, after), segmenter, sentences, targets)
    changes: list[dict[str, Any]] = []
    for text, was, now in zip(sentences, old, new, strict=True):
        a, b = (was["sentiment"] or {}).get("label"), (now["sentiment"] or {}).get("label")
        if a != b:
            changes.append({"text": text, "head": "sentiment", "target": None, "before": a, "after": b})
        for sa, sb in zip(was["stance"], now["stance"], strict=True):
            if sa["label"] != sb["label"]:
                change = {"text": text, "head": "stance", "target": sa["target"]}
                changes.append({**change, "before": sa["label"], "after": sb["label"]})
    return changes
