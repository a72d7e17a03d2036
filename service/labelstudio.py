"""Label Studio as Haltung sees it: the labelling config, tasks → predictions, annotations → label rows.

Shapes follow Label Studio's ML backend API (HumanSignal/label-studio-ml-backend, `label_studio_ml/api.py`)
and its SDK's prediction objects (`label_studio_sdk.label_interface.objects.PredictionValue`; a result
item is `{"from_name", "to_name", "type": "choices", "value": {"choices": [...]}}`).

One task is one sentence (the label store's unit): its text is the data field the config's `<Text>`
reads (`value="$text"`), its stance target the data field `target` (or HALTUNG_LABELSTUDIO_TARGET for a
whole project). The config's `<Choices>` named `sentiment` and `stance` (or, under other names, whose
choices are exactly a head's labels) are the heads; see examples/labelstudio/label_config.xml.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from training import HaltungModel

TARGET_FIELD = "target"
DEFAULT_TEXT_FIELD = "text"


class ConfigError(ValueError):
    """A labelling config Haltung cannot predict for."""


@dataclass(frozen=True)
class HeadTag:
    head: str  # "sentiment" or "stance"
    from_name: str  # the <Choices> tag's name
    to_name: str  # the object tag it labels
    choices: tuple[str, ...]


@dataclass(frozen=True)
class LabelConfig:
    heads: dict[str, HeadTag]
    text_field: str  # the task data field the labelled <Text> shows

    @classmethod
    def default(cls, model: HaltungModel) -> LabelConfig:
        """The example config's names, for requests that send no config."""
        heads = {h: HeadTag(h, h, "text", tuple(model.labels(h))) for h in model.heads}
        return cls(heads, DEFAULT_TEXT_FIELD)

    @classmethod
    def parse(cls, xml: str, model: HaltungModel) -> LabelConfig:
        """The heads this config labels (ConfigError when none, or when a head's choices are not its labels)."""
        try:
            root = ET.fromstring(xml)
        except ET.ParseError as err:
            raise ConfigError(f"the labelling config is not valid XML: {err}") from None
        objects = {el.get("name"): el for el in root.iter() if el.tag in ("Text", "HyperText", "Paragraphs")}
        heads: dict[str, HeadTag] = {}
        for el in root.iter("Choices"):
            name, to_name = el.get("name") or "", el.get("toName") or ""
            choices = tuple(c.get("alias") or c.get("value") or "" for c in el.iter("Choice"))
            head = _head_of(name, choices, model)
            if head is None or head in heads:
                continue
            unknown = sorted(set(choices) - set(model.labels(head)))
            if unknown:
                raise ConfigError(
                    f"<Choices name={name!r}> has choices {unknown} that are not {head} labels; "
                    f"use {model.labels(head)} (see examples/labelstudio/label_config.xml)"
                )
            heads[head] = HeadTag(head, name, to_name, choices)
        if not heads:
            raise ConfigError(
                'the labelling config has no <Choices name="sentiment"> or <Choices name="stance"> '
                "(see examples/labelstudio/label_config.xml)"
            )
        target = objects.get(next(iter(heads.values())).to_name)
        field = (target.get("value") or "") if target is not None else ""
        return cls(heads, field.removeprefix("$") or DEFAULT_TEXT_FIELD)


def _head_of(name: str, choices: Sequence[str], model: HaltungModel) -> str | None:
    if name in model.heads:
        return name
    for head in model.heads:
        if set(choices) == set(model.labels(head)):
            return head
    return None


def task_text(task: Mapping[str, Any], config: LabelConfig) -> str | None:
    text = (task.get("data") or {}).get(config.text_field)
    return text if isinstance(text, str) and text.strip() else None


def task_target(task: Mapping[str, Any], default: str) -> str | None:
    target = (task.get("data") or {}).get(TARGET_FIELD)
    if isinstance(target, str) and target.strip():
        return target.strip()
    return default.strip() or None


def uncertainty(scores: Mapping[str, float]) -> float:
    """1 − margin between the two most probable labels: 0 for a sure decision, 1 for a tie."""
    top = sorted(scores.values(), reverse=True)
    return 1.0 - (top[0] - top[1]) if len(top) > 1 else 0.0


def prediction(sentence: Mapping[str, Any], config: LabelConfig, version: str | None) -> dict[str, Any]:
    """One task's prediction from a `training.analyse` sentence: a choice per head, scored by uncertainty.

    The prediction's `score` is the highest uncertainty of its heads (sort descending to label the most
    uncertain first); each result item's `score` is the probability of its choice.
    """
    results, uncertainties = [], []
    decisions = [("sentiment", sentence["sentiment"])] + [("stance", s) for s in sentence["stance"][:1]]
    for head, decision in decisions:
        tag = config.heads.get(head)
        if tag is None or not decision or decision.get("label") is None:
            continue  # a head the config does not label, or a target the sentence does not mention
        label, scores = decision["label"], decision["scores"]
        results.append(
            {
                "from_name": tag.from_name,
                "to_name": tag.to_name,
                "type": "choices",
                "value": {"choices": [label]},
                "score": round(scores[label], 6),
            }
        )
        uncertainties.append(uncertainty(scores))
    return {"result": results, "score": round(max(uncertainties, default=0.0), 6), "model_version": version}


def annotation_row(
    annotation: Mapping[str, Any], task: Mapping[str, Any], config: LabelConfig, default_target: str
) -> dict[str, Any] | None:
    """The label row (`POST /v1/labels` shape) of one annotation, or None when it labels nothing of ours."""
    if annotation.get("was_cancelled"):
        return None
    row: dict[str, Any] = {}
    by_name = {tag.from_name: head for head, tag in config.heads.items()}
    for item in annotation.get("result") or []:
        if not isinstance(item, Mapping) or item.get("type") != "choices":
            continue
        head = by_name.get(str(item.get("from_name")))
        choices = (item.get("value") or {}).get("choices") or []
        if head and choices:
            row[head] = choices[0]
    if not row:
        return None
    row["text"] = (task.get("data") or {}).get(config.text_field)
    if "stance" in row:  # a sentiment-only label is keyed by its text alone, as in POST /v1/labels
        row["target"] = task_target(task, default_target)
    return row
