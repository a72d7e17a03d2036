"""Request and response models of the classify API (requests forbid unknown fields)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

_SURROGATE = re.compile("[\ud800-\udfff]")


def _encodable(text: str) -> str:
    """Refuse lone UTF-16 surrogates (JSON escapes such as \\ud800): they cannot be echoed back as UTF-8."""
    if match := _SURROGATE.search(text):
        raise ValueError(
            f"text contains an unpaired UTF-16 surrogate (U+{ord(match.group()):04X}) at character "
            f"{match.start()}; send valid Unicode"
        )
    return text


def _not_blank(text: str) -> str:
    if not text.strip():
        raise ValueError("text is empty or whitespace only")
    return text


NonBlank = Annotated[str, AfterValidator(_encodable), AfterValidator(_not_blank)]
Target = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300), AfterValidator(_encodable)
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class DocumentIn(Strict):
    id: Annotated[str, StringConstraints(min_length=1, max_length=200), AfterValidator(_encodable)] | None = None
    text: NonBlank


class ClassifyRequest(Strict):
    """Exactly one of `text`, `documents` or `sentences`."""

    text: NonBlank | None = Field(None, description="one whole article; split into sentences by SoMaJo")
    documents: list[DocumentIn] | None = Field(None, min_length=1, description="several articles")
    sentences: list[NonBlank] | None = Field(None, min_length=1, description="pre-split sentences, one document")
    targets: list[Target] = Field(default_factory=list, max_length=20, description="stance targets, e.g. Russland")
    explain: int = Field(0, ge=0, description="top-k features per decision (0: none)")

    @field_validator("targets")
    @classmethod
    def unique_targets(cls, targets: list[str]) -> list[str]:
        repeated = sorted({t for t in targets if targets.count(t) > 1})
        if repeated:
            raise ValueError(f"targets must be unique (after trimming whitespace); repeated: {repeated}")
        return targets

    @model_validator(mode="after")
    def one_input(self) -> ClassifyRequest:
        given = [name for name in ("text", "documents", "sentences") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of 'text', 'documents' or 'sentences' (got {given or 'none'})")
        return self


class Feature(BaseModel):
    feature: str = Field(description="the n-gram or lexicon feature")
    view: str = Field(description="which view it comes from: word, char, context, target, lexicon_*")
    weight: float = Field(description="feature value × coefficient toward the predicted label")
    words: list[str] = Field(
        default_factory=list,
        description="the words of the sentence it came from: an n-gram's words, a char n-gram's word, "
        "the lexicon words a lexicon feature counted",
    )


class HeadResult(BaseModel):
    label: str
    scores: dict[str, float] = Field(description="probability per label; sums to 1")
    explanation: list[Feature] | None = None


class StanceResult(HeadResult):
    target: str | None
    mentioned: bool = Field(description="whether the target is named in the sentence (inflection-tolerant)")


class SentenceResult(BaseModel):
    index: int
    start: int = Field(description="character offset into the document text: text[start:end] is the sentence")
    end: int
    text: str
    boilerplate: bool = Field(description="not reporting (video notice, link line, contact, caption ...)")
    sentiment: HeadResult | None
    stance: list[StanceResult]


class TargetSummary(BaseModel):
    target: str | None
    counts: dict[str, int]
    mean_scores: dict[str, float]


class Summary(BaseModel):
    sentences: int = Field(description="non-boilerplate sentences the summary is computed over")
    sentiment: dict[str, int]
    sentiment_mean_scores: dict[str, float]
    stance: list[TargetSummary]


class DocumentResult(BaseModel):
    id: str | None
    sentences: list[SentenceResult]
    summary: Summary


class ClassifyResponse(BaseModel):
    model_version: str
    documents: list[DocumentResult]


class ModelInfo(BaseModel):
    version: str
    created_at: str | None
    heads: dict[str, list[str]]
    data: dict[str, Any]
    metrics: dict[str, Any]
    hyperparameters: dict[str, Any]
    runtime: dict[str, str]
