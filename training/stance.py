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

from training.model import HaltungModel, Spans
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
    spans: Spans = None,
) -> list[list[StanceResult]]:
    """Stance of every sentence toward every target, ``[sentence][target]``; one model batch per target.

    `spans` are known mentions per sentence (a data set's ``target_span``), used instead of searching.
    """
    if unmentioned not in ("null", "score"):
        raise ValueError(f"unmentioned must be 'null' or 'score', not {unmentioned!r}")
    if spans is not None and len(spans) != len(sentences):
        raise ValueError(f"{len(sentences)} sentences but {len(spans)} spans")
    columns = [_score_target(model, sentences, target, unmentioned, spans) for target in targets]
    return [[column[i] for column in columns] for i in range(len(sentences))]


def score_rows(
    model: HaltungModel,
    texts: Sequence[str],
    targets: Sequence[str | None],
    spans: Spans = None,
    unmentioned: Unmentioned = "null",
) -> list[StanceResult | None]:
    """One stance per row toward that row's own target (data files: ``text``, ``target``, ``target_span``);
    None for rows without a target. Rows are grouped by target, so each target is one model batch."""
    groups: dict[str, list[int]] = {}
    for i, target in enumerate(targets):
        if target and target.strip():
            groups.setdefault(target.strip(), []).append(i)
    out: list[StanceResult | None] = [None] * len(texts)
    for target, rows in groups.items():
        known = [spans[i] for i in rows] if spans is not None else None
        results = score_stance(model, [texts[i] for i in rows], [Target(target)], unmentioned, known)
        for i, [result] in zip(rows, results, strict=True):
            out[i] = result
    return out


def _known(sentence: str, span: tuple[int, int]) -> Mention:
    """A mention given with the data; it marks the target's name (GerNTSA's ``target_span``)."""
    start, end = span
    return Mention(start, end, sentence[start:end], "name")


def _score_target(
    model: HaltungModel, sentences: Sequence[str], target: Target, unmentioned: Unmentioned, spans: Spans
) -> list[StanceResult]:
    question = target.is_question
    mentions = [
        None if question else _known(s, span) if spans and (span := spans[i]) else locate(s, target)
        for i, s in enumerate(sentences)
    ]
    scored = [i for i, m in enumerate(mentions) if question or m is not None or unmentioned == "score"]
    found = [(m.start, m.end) if (m := mentions[i]) else None for i in scored]
    predictions = model.predict("stance", [sentences[i] for i in scored], [target.name] * len(scored), found)
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
