"""Request and response models of the classify API (requests forbid unknown fields)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from training import Target as TrainingTarget

_SURROGATE = re.compile("[\ud800-\udfff]")


def _encodable(text: str) -> str:
    """Refuse lone UTF-16 surrogates (JSON escapes such as \\ud800): they cannot be echoed back as UTF-8."""
    if match := _SURROGATE.search(text):
        raise ValueError(
            f"text contains an unpaired UTF-16 surrogate (U+{ord(match.group()):04X}) at character "
            f"{match.start()}; send valid Unicode"
        )
    return text


def _whole_number(value: Any) -> Any:
    """JSON Schema's integer includes 2.0 (a JSON number is a number); strict mode still refuses "2" and true."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _not_blank(text: str) -> str:
    if not text.strip():
        raise ValueError("text is empty or whitespace only")
    return text


# `\S` in the schema is "not blank": whatever str.strip() leaves something of matches it, in Python's regex and
# in Rust's (jsonschema-rs, which Schemathesis validates with) alike. A trimmed name's length cannot be a plain
# maxLength (that would count the spaces around it): a pattern states it.
NOT_BLANK = r"\S"


def _trimmed(most: int, blank: bool = False) -> str:
    """A pattern for 1..`most` characters once trimmed (0..`most` with `blank`)."""
    return rf"^\s*(?:\S|\S[\s\S]{{0,{most - 2}}}\S){'?' if blank else ''}\s*$"


def trimmed_or_blank(most: int) -> WithJsonSchema:
    """An optional string that is trimmed, blank meaning none (the rules of `training.Label`)."""
    text = {"type": "string", "pattern": _trimmed(most, blank=True)}
    return WithJsonSchema({"anyOf": [text, {"type": "null"}], "description": f"at most {most} characters once trimmed"})


def label_of(labels: Any) -> WithJsonSchema:
    """A label of `labels` (a Literal); trimmed, blank or null meaning none (the rules of `training.Label`)."""
    names = list(get_args(labels))
    padded = {"type": "string", "pattern": rf"^\s*(?:{'|'.join(names)})?\s*$"}
    return WithJsonSchema({"anyOf": [{"type": "string", "enum": names}, padded, {"type": "null"}]})


def labelled(head: str) -> dict[str, Any]:
    """A JSON Schema branch: `head` has a label (not null, not blank)."""
    return {"required": [head], "properties": {head: {"type": "string", "pattern": NOT_BLANK}}}


NonBlank = Annotated[
    str,
    AfterValidator(_encodable),
    AfterValidator(_not_blank),
    WithJsonSchema({"type": "string", "pattern": NOT_BLANK, "description": "not empty or whitespace only"}),
]
TargetName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=300),
    AfterValidator(_encodable),
    WithJsonSchema({"type": "string", "pattern": _trimmed(300), "description": "1-300 characters once trimmed"}),
]
Alias = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    AfterValidator(_encodable),
    WithJsonSchema({"type": "string", "pattern": _trimmed(100), "description": "1-100 characters once trimmed"}),
]
# A model version as training.bundle checks it (a plain directory name, no ".."); a path parameter, checked by
# the repository (422 invalid_version), so the pattern is documentation: tests/reliability keep the two equal.
VERSION_PATTERN = r"^(?!.*\.\.)[0-9A-Za-z][0-9A-Za-z_.-]{0,63}$"
MAX_ALIASES = 20


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class DocumentIn(Strict):
    id: Annotated[str, StringConstraints(min_length=1, max_length=200), AfterValidator(_encodable)] | None = None
    text: NonBlank


class TargetSpec(Strict):
    """A named target with other names it goes by ("Russland": "Moskau", "Kreml")."""

    name: TargetName = Field(description="the target's name, e.g. Russland; or an x-stance style question")
    aliases: list[Alias] = Field(
        default_factory=list, max_length=MAX_ALIASES, description="other names counted as mentions of it"
    )

    @model_validator(mode="after")
    def aliases_of_a_name(self) -> TargetSpec:
        if self.aliases and TrainingTarget(self.name).is_question:
            raise ValueError("a question target is answered by the whole text and cannot have aliases")
        long = [a for a in self.aliases if TrainingTarget(a).is_question]
        if long:
            raise ValueError(f"aliases are names of at most four words, not questions: {long}")
        return self

    def to_target(self) -> TrainingTarget:
        return TrainingTarget(self.name, tuple(dict.fromkeys(self.aliases)))


def _given(name: str) -> dict[str, Any]:
    """A JSON Schema branch: `name` is present and not null (null counts as left out)."""
    return {"required": [name], "properties": {name: {"not": {"type": "null"}}}}


# Exactly one of the three inputs, as JSON Schema: for /v1/classify and /v1/pool.
ONE_INPUT: dict[str, Any] = {"oneOf": [_given("text"), _given("documents"), _given("sentences")]}


class ClassifyRequest(Strict):
    """Exactly one of `text`, `documents` or `sentences`."""

    model_config = ConfigDict(json_schema_extra=ONE_INPUT)

    text: NonBlank | None = Field(None, description="one whole article; split into sentences by SoMaJo")
    documents: list[DocumentIn] | None = Field(None, min_length=1, description="several articles")
    sentences: list[NonBlank] | None = Field(None, min_length=1, description="pre-split sentences, one document")
    targets: list[TargetName | TargetSpec] = Field(
        default_factory=list,
        description="stance targets: names (Russland), {name, aliases} objects, or questions; at most "
        "HALTUNG_MAX_TARGETS",
    )
    unmentioned: Literal["null", "score"] = Field(
        "null",
        description="sentences that do not mention a named target: no stance (null), or a tone-based guess "
        "marked basis 'tone' (score)",
    )
    explain: Annotated[int, BeforeValidator(_whole_number)] = Field(
        0, ge=0, description="top-k features per decision (0: none)"
    )

    @field_validator("targets")
    @classmethod
    def unique_targets(cls, targets: list[str | TargetSpec]) -> list[str | TargetSpec]:
        names = [t.name if isinstance(t, TargetSpec) else t for t in targets]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"target names must be unique (after trimming whitespace); repeated: {repeated}")
        return targets

    def stance_targets(self) -> list[TrainingTarget]:
        return [t.to_target() if isinstance(t, TargetSpec) else TrainingTarget(t) for t in self.targets]

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


class MentionOut(BaseModel):
    start: int = Field(description="character offset into the sentence text: text[start:end] is the mention")
    end: int
    text: str
    via: Literal["name", "alias", "derived"] = Field(
        description="the name (inflected), one of its aliases, or a derived form (russische, die Russen, US-)"
    )


class StanceResult(BaseModel):
    target: str
    mentioned: bool = Field(description="whether the sentence names the target (name, alias or derived form)")
    mention: MentionOut | None = Field(description="the first mention in the sentence, or null")
    basis: Literal["mention", "question", "tone"] | None = Field(
        description="how the stance was obtained: around the mention, toward a question target, or a tone-based "
        "guess for an unmentioned target (only with unmentioned: score); null when there is no stance"
    )
    label: str | None = Field(description="null: the sentence does not mention the target, so no stance is given")
    scores: dict[str, float] | None = Field(description="probability per label; sums to 1; null with label")
    explanation: list[Feature] | None = None


class SentenceResult(BaseModel):
    index: int
    start: int = Field(description="character offset into the document text: text[start:end] is the sentence")
    end: int
    text: str
    boilerplate: bool = Field(description="not reporting (video notice, link line, contact, caption ...)")
    sentiment: HeadResult | None
    stance: list[StanceResult]


class TargetSummary(BaseModel):
    target: str
    basis: Literal["mention", "question"] = Field(
        description="which sentences count: those that mention the target, or all (question target)"
    )
    sentences: int = Field(description="non-boilerplate sentences that mention the target (all, for a question)")
    counts: dict[str, int] = Field(description="stance labels of those sentences")
    label: str | None = Field(description="document-level stance: the label of mean_scores; null when none count")
    mean_scores: dict[str, float] | None = Field(description="mean probabilities over those sentences, or null")


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


class ErrorInfo(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(description="stable machine-readable code: validation_error, payload_too_large, no_model ...")
    message: str = Field(description="what went wrong and what to do about it, for people")
    details: Any = Field(description="context (limits, offending values, per-field or per-row errors), or null")


class ErrorResponse(BaseModel):
    """The body of every error answer, whatever its status."""

    model_config = ConfigDict(extra="forbid")

    error: ErrorInfo


class ModelInfo(BaseModel):
    version: str
    created_at: str | None
    heads: dict[str, list[str]]
    data: dict[str, Any]
    metrics: dict[str, Any]
    hyperparameters: dict[str, Any]
    runtime: dict[str, str]
