"""Stance toward targets, only where it applies: the one code path of the service and the CLI.

A named target gets a stance in the sentences that mention it (name, alias or derived form, see
`training.targets.locate`), read from the words around that mention. A sentence that does not mention
it gets no stance (``label=None``) unless the caller asks for the tone-based guess (``unmentioned="score"``),
which is then marked ``basis="tone"``. A question target (x-stance style) applies to every sentence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from training.model import HaltungModel
from training.targets import Mention, Target, locate

Unmentioned = Literal["null", "score"]
Basis = Literal["mention", "question", "tone"]


@dataclass(frozen=True, slots=True)
class StanceResult:
    target: str
    mentioned: bool
    mention: Mention | None
    label: str | None  # None: no stance given (a named target the sentence does not mention)
    scores: dict[str, float] | None
    basis: Basis | None  # how the stance was obtained; None when label is None


def score_stance(
    model: HaltungModel,
    sentences: Sequence[str],
    targets: Sequence[Target],
    unmentioned: Unmentioned = "null",
) -> list[list[StanceResult]]:
    """Stance of every sentence toward every target, ``[sentence][target]``; one model batch per target."""
    if unmentioned not in ("null", "score"):
        raise ValueError(f"unmentioned must be 'null' or 'score', not {unmentioned!r}")
    columns = [_score_target(model, sentences, target, unmentioned) for target in targets]
    return [[column[i] for column in columns] for i in range(len(sentences))]


def _score_target(
    model: HaltungModel, sentences: Sequence[str], target: Target, unmentioned: Unmentioned
) -> list[StanceResult]:
    question = target.is_question
    mentions = [None if question else locate(s, target) for s in sentences]
    scored = [i for i, m in enumerate(mentions) if question or m is not None or unmentioned == "score"]
    spans = [(m.start, m.end) if (m := mentions[i]) else None for i in scored]
    predictions = model.predict("stance", [sentences[i] for i in scored], [target.name] * len(scored), spans)
    by_index = dict(zip(scored, predictions, strict=True))
    out = []
    for i, mention in enumerate(mentions):
        prediction = by_index.get(i)
        basis: Basis | None = None
        if prediction is not None:
            basis = "question" if question else "mention" if mention else "tone"
        out.append(
            StanceResult(
                target=target.name,
                mentioned=mention is not None,
                mention=mention,
                label=prediction.label if prediction else None,
                scores=prediction.scores if prediction else None,
                basis=basis,
            )
        )
    return out
