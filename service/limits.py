"""The work budget of one classify request: refuse (413) what would cost too much, before paying for it.

Three limits, each named by its setting in the refusal:
- characters (HALTUNG_MAX_CHARS), counted before any splitting, since splitting is the cost they bound;
- work (HALTUNG_MAX_WORK): sentences × (1 + targets) × (1 + explain), what scoring and explaining cost;
  for text the sentences are not known before splitting, so splitting stops as soon as the budget is spent;
- response bytes (HALTUNG_MAX_RESPONSE_BYTES): estimated before scoring, measured again after rendering.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NoReturn

from service.errors import ApiError
from service.schemas import ClassifyRequest
from service.settings import Settings
from training import TooManySentences

# Rough upper bounds of a rendered answer (compact JSON, UTF-8), from answers of the default model: a
# sentence's own fields and sentiment, one target's stance entry, one explanation feature.
SENTENCE_BYTES = 300
TARGET_BYTES = 300
FEATURE_BYTES = 150


def characters_of(body: ClassifyRequest) -> int:
    """Characters of the text, documents or sentences of a request (what splitting and scoring read)."""
    if body.text is not None:
        return len(body.text)
    if body.documents is not None:
        return sum(len(d.text) for d in body.documents)
    return sum(len(s) for s in body.sentences or ())


@dataclass(frozen=True, slots=True)
class Budget:
    """The limits of one request with its number of targets and its `explain`."""

    settings: Settings
    targets: int
    explain: int

    @property
    def per_sentence(self) -> int:
        return (1 + self.targets) * (1 + self.explain)

    @property
    def sentence_allowance(self) -> int:
        """Most sentences this request may have: the sentence limit or what the work budget allows, if fewer."""
        return min(self.settings.max_sentences, self.settings.max_work // self.per_sentence)

    def check_characters(self, characters: int) -> None:
        limit = self.settings.max_chars
        if characters > limit:
            raise ApiError(
                413,
                "too_many_characters",
                f"The request has {characters} characters of text, over the limit of {limit} (HALTUNG_MAX_CHARS).",
                {"count": characters, "limit": limit},
            )

    def check_sentences(self, count: int, *, complete: bool = True) -> None:
        """Refuse more sentences than the limit or the work budget allows (`complete`: `count` is all of them)."""
        if count > self.settings.max_sentences:
            raise TooManySentences(count, self.settings.max_sentences)
        cost = count * self.per_sentence
        if cost > self.settings.max_work:
            at_least = "" if complete else "at least "
            raise ApiError(
                413,
                "work_budget_exceeded",
                f"The request costs {at_least}{cost} work units (sentences × (1 + targets) × (1 + explain) = "
                f"{at_least}{count} × {1 + self.targets} × {1 + self.explain}), over the limit of "
                f"{self.settings.max_work} (HALTUNG_MAX_WORK). Send fewer sentences or targets, or a smaller explain.",
                {
                    "cost": cost,
                    "limit": self.settings.max_work,
                    "sentences": count,
                    "targets": self.targets,
                    "explain": self.explain,
                    "complete": complete,
                },
            )

    def refuse_split(self, err: TooManySentences) -> NoReturn:
        """Splitting stopped at `sentence_allowance`: name the limit that was binding."""
        self.check_sentences(err.count, complete=False)
        raise err

    def estimate_response_bytes(self, characters: int, sentences: int, documents: int) -> int:
        """An upper estimate of the answer's size: every target taken as mentioned, every feature as long."""
        per_sentence = SENTENCE_BYTES + TARGET_BYTES * self.targets + FEATURE_BYTES * self.explain * (1 + self.targets)
        return 2 * characters + sentences * per_sentence + documents * (SENTENCE_BYTES + TARGET_BYTES * self.targets)

    def check_response(self, size: int, *, estimated: bool) -> None:
        limit = self.settings.max_response_bytes
        if size > limit:
            kind = "would be about" if estimated else "is"
            raise ApiError(
                413,
                "response_too_large",
                f"The answer {kind} {size} bytes, over the limit of {limit} (HALTUNG_MAX_RESPONSE_BYTES). "
                "Send fewer sentences or targets, or a smaller explain.",
                {"bytes": size, "limit": limit, "estimated": estimated},
            )
