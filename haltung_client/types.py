"""Typed answers of the API (dataclasses), built from its JSON; unknown fields are ignored, so a newer
server does not break an older client."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar

T = TypeVar("T")


def _known(cls: type[T], data: Mapping[str, Any], **nested: Any) -> T:
    """`cls(**data)` with only the fields `cls` has; `nested` replaces fields already converted."""
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    return cls(**{**{k: v for k, v in data.items() if k in names}, **nested})


@dataclass(frozen=True)
class Target:
    """A stance target: a name with optional aliases, or a question (`Target("Soll …?")`)."""

    name: str
    aliases: tuple[str, ...] = ()

    def to_json(self) -> str | dict[str, Any]:
        return {"name": self.name, "aliases": list(self.aliases)} if self.aliases else self.name


@dataclass(frozen=True)
class Feature:
    feature: str
    view: str
    weight: float
    words: list[str] = field(default_factory=list)


def _features(raw: Sequence[Mapping[str, Any]] | None) -> list[Feature] | None:
    return None if raw is None else [_known(Feature, f) for f in raw]


@dataclass(frozen=True)
class HeadResult:
    label: str
    scores: dict[str, float]
    explanation: list[Feature] | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> HeadResult | None:
        return None if data is None else _known(cls, data, explanation=_features(data.get("explanation")))


@dataclass(frozen=True)
class Mention:
    start: int
    end: int
    text: str
    via: str


@dataclass(frozen=True)
class StanceResult:
    target: str
    mentioned: bool
    mention: Mention | None
    basis: str | None
    label: str | None
    scores: dict[str, float] | None
    explanation: list[Feature] | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StanceResult:
        mention = _known(Mention, data["mention"]) if data.get("mention") else None
        return _known(cls, data, mention=mention, explanation=_features(data.get("explanation")))


@dataclass(frozen=True)
class Sentence:
    index: int
    start: int
    end: int
    text: str
    boilerplate: bool
    sentiment: HeadResult | None
    stance: list[StanceResult]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Sentence:
        return _known(
            cls,
            data,
            sentiment=HeadResult.from_json(data.get("sentiment")),
            stance=[StanceResult.from_json(s) for s in data.get("stance", [])],
        )


@dataclass(frozen=True)
class TargetSummary:
    target: str
    basis: str
    sentences: int
    counts: dict[str, int]
    label: str | None
    mean_scores: dict[str, float] | None


@dataclass(frozen=True)
class Summary:
    sentences: int
    sentiment: dict[str, int]
    sentiment_mean_scores: dict[str, float]
    stance: list[TargetSummary]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Summary:
        return _known(cls, data, stance=[_known(TargetSummary, t) for t in data.get("stance", [])])


@dataclass(frozen=True)
class DocumentResult:
    id: str | None
    sentences: list[Sentence]
    summary: Summary

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DocumentResult:
        sentences = [Sentence.from_json(s) for s in data["sentences"]]
        return _known(cls, data, sentences=sentences, summary=Summary.from_json(data["summary"]))


@dataclass(frozen=True)
class ClassifyResult:
    model_version: str
    documents: list[DocumentResult]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ClassifyResult:
        return _known(cls, data, documents=[DocumentResult.from_json(d) for d in data["documents"]])

    def rows(self) -> Iterator[dict[str, Any]]:
        """One flat row per sentence and target (per sentence without targets): the columns of
        `haltung-score --out x.csv`."""
        for doc in self.documents:
            for s in doc.sentences:
                row: dict[str, Any] = {
                    "doc_id": doc.id,
                    "sentence_index": s.index,
                    "start": s.start,
                    "end": s.end,
                    "text": s.text,
                    "boilerplate": s.boilerplate,
                    "sentiment": s.sentiment.label if s.sentiment else None,
                    **{f"sentiment_{k}": v for k, v in (s.sentiment.scores if s.sentiment else {}).items()},
                }
                stances: list[StanceResult | None] = list(s.stance) or [None]
                for st in stances:
                    yield {
                        **row,
                        "target": st.target if st else None,
                        "mentioned": st.mentioned if st else None,
                        "mention": st.mention.text if st and st.mention else None,
                        "basis": st.basis if st else None,
                        "stance": st.label if st else None,
                        **{f"stance_{k}": v for k, v in ((st.scores if st else None) or {}).items()},
                        "model_version": self.model_version,
                    }

    def to_dataframe(self) -> Any:
        """`rows()` as a pandas DataFrame (pandas is optional: `pip install pandas`)."""
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("to_dataframe() needs pandas, which is not installed: pip install pandas") from None
        return pd.DataFrame(list(self.rows()))


@dataclass(frozen=True)
class Label:
    id: str
    text: str
    target: str | None = None
    stance: str | None = None
    sentiment: str | None = None
    created_at: str | None = None
    updated_at: str | None = None


@dataclass(frozen=True)
class LabelsStored:
    ids: list[str]
    count: int
    created: int
    updated: int


@dataclass(frozen=True)
class LabelPage:
    items: list[Label]
    next_cursor: str | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LabelPage:
        return _known(cls, data, items=[_known(Label, i) for i in data["items"]])


FINISHED = frozenset({"succeeded", "rejected", "failed"})


@dataclass(frozen=True)
class Job:
    """A retrain job; `raw` keeps the whole answer (metrics, gate, timings ...)."""

    job_id: str
    status: str
    candidate_version: str | None = None
    baseline_version: str | None = None
    promoted: bool | None = None
    error: str | None = None
    note: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Job:
        return _known(cls, data, raw=dict(data))


@dataclass(frozen=True)
class ModelVersion:
    version: str
    created_at: str | None
    current: bool
    manifest: dict[str, Any] = field(repr=False)


@dataclass(frozen=True)
class Models:
    current: str | None
    versions: list[ModelVersion]
    history: list[dict[str, Any]]
    worker: dict[str, Any]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Models:
        return _known(cls, data, versions=[_known(ModelVersion, v) for v in data["versions"]])


@dataclass(frozen=True)
class Activated:
    version: str
    previous: str | None


@dataclass(frozen=True)
class Health:
    ready: bool
    model_version: str | None
    message: str | None = None
