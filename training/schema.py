"""The one schema of a labelled sentence: a line of a training file, a label posted to the API, a stored label.

`LabelledRow` states every rule once — text not empty, labels from the label sets (`Stance`,
`Sentiment`), at least one label, a target span inside the text — with the messages users see. The
CLI's file reader, the API's request model and the label store all validate through it; variants
(the API's stricter limits, the store's timestamps) derive from it instead of repeating it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

Stance = Literal["against", "favor", "neutral"]
Sentiment = Literal["negative", "neutral", "positive"]
LABELS: dict[str, tuple[str, ...]] = {"sentiment": get_args(Sentiment), "stance": get_args(Stance)}


class Label(BaseModel):
    """What every labelled sentence has: text, optional target, and at least one label from the label sets.

    Validate with `LabelledRow.check(record)` to get the problems as plain messages; with the context
    `{"require_label": False}` a row without labels passes (input to `predict`).
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    text: str
    target: str | None = None
    stance: Stance | None = None
    sentiment: Sentiment | None = None

    @field_validator("text", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        if not isinstance(value, str):
            if value is None:
                raise PydanticCustomError("missing", "missing 'text'")
            raise _type_error("text", value)
        if not value.strip():
            raise _rule("empty 'text'")
        return value

    @field_validator("target", mode="before")
    @classmethod
    def _target(cls, value: Any) -> str | None:
        return _optional_str(value, "target")

    @field_validator("sentiment", "stance", mode="before")
    @classmethod
    def _label(cls, value: Any, info: ValidationInfo) -> str | None:
        head = str(info.field_name)
        label = _optional_str(value, head)
        if label is not None and label not in LABELS[head]:
            raise _rule(f"unknown {head} label {label!r} (expected one of {', '.join(LABELS[head])})")
        return label

    @model_validator(mode="after")
    def _some_label(self, info: ValidationInfo) -> Label:
        required = (info.context or {}).get("require_label", True)
        if required and self.stance is None and self.sentiment is None:
            raise _rule("no label: set 'stance' and/or 'sentiment'")
        return self

    def label(self, head: str) -> str | None:
        return self.stance if head == "stance" else self.sentiment


class LabelledRow(Label):
    """A line of a training file: a label plus its id, source and known target mention."""

    source: str | None = None
    id: str | None = None
    target_span: tuple[int, int] | None = None

    @field_validator("source", mode="before")
    @classmethod
    def _source(cls, value: Any) -> str | None:
        return _optional_str(value, "source")

    @field_validator("id", mode="before")
    @classmethod
    def _id(cls, value: Any) -> str | None:
        if isinstance(value, bool) or (value is not None and not isinstance(value, str | int)):
            raise _type_error("id", value)
        return None if value is None or value == "" else str(value)

    @field_validator("target_span", mode="before")
    @classmethod
    def _span(cls, value: Any, info: ValidationInfo) -> tuple[int, int] | None:
        if value is None or value == "":
            return None
        if isinstance(value, str):
            try:
                value = json.loads(value if value.startswith("[") else f"[{value.replace(':', ',')}]")
            except ValueError:
                raise _rule(f"'target_span' must be [from, to], got {value!r}") from None
        text = info.data.get("text") or ""
        ok = (
            isinstance(value, list | tuple)
            and len(value) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
            and 0 <= value[0] < value[1] <= len(text)
        )
        if not ok:
            raise _rule(f"'target_span' must be [from, to] inside the text, got {value!r}")
        return int(value[0]), int(value[1])

    @classmethod
    def check(cls, record: Any, *, require_label: bool = True) -> tuple[LabelledRow | None, list[str]]:
        """The validated row, or None and every problem as a message (file readers add file and line)."""
        if not isinstance(record, Mapping):
            return None, [f"expected an object with a 'text' field, got {_type(record)}"]
        try:
            return cls.model_validate(dict(record), context={"require_label": require_label}), []
        except ValidationError as err:
            return None, problems(err)


LABEL_RULE = "label_rule"  # the error type of a broken labelling rule (as opposed to a wrong type or shape)


def problems(err: ValidationError) -> list[str]:
    """The messages of a ValidationError of `Label` or a variant, as users read them."""
    out = []
    for e in err.errors():
        if e["type"] == "missing":
            out.append(f"missing '{e['loc'][-1]}'")
        elif e["type"] in (LABEL_RULE, "string_type"):
            out.append(e["msg"])
        else:
            where = ".".join(str(part) for part in e["loc"])
            out.append(f"'{where}': {e['msg']}" if where else e["msg"])
    return out


def _rule(message: str) -> PydanticCustomError:
    return PydanticCustomError(LABEL_RULE, message)


def _type_error(name: str, value: Any) -> PydanticCustomError:
    return PydanticCustomError("string_type", f"'{name}' must be a string, got {_type(value)}")


def _optional_str(value: Any, name: str) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise _type_error(name, value)
    return value.strip()


def _type(value: Any) -> str:
    return type(value).__name__
