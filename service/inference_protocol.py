"""The tensors of Haltung's Open Inference Protocol model: request schema, parameters, output tensors.

Input: `text`, BYTES, one sentence per element (any shape; elements are read in row-major order),
validated like `/v1/classify`'s `sentences` (`service.schemas.ClassifyRequest`) — or, with `split`, one
article per element, split into sentences like its `documents`. Parameters (on the request or on the
`text` input; the protocol allows only strings, numbers and booleans as values): `targets` (a target
name, or a JSON array string of names and `{"name", "aliases"}` objects as in `/v1/classify`), `explain`
(top-k features), `unmentioned` ("null" or "score"), `split` (boolean).

Outputs, one row per sentence (n; k = targets; label order in each output's `parameters.labels`):
`sentiment_label` BYTES [n], `sentiment_scores` FP64 [n, 3]; with targets `stance_label` BYTES [n, k]
("" where the sentence does not mention the target), `stance_scores` FP64 [n, k, 3] (zeros there),
`stance_mentioned` BOOL [n, k], `stance_basis` BYTES [n, k]; with `explain` also `sentiment_explanation`
BYTES [n] and `stance_explanation` BYTES [n, k], each element a JSON array of features; with `split`
also `sentence_document` INT64 [n] (the element it comes from), `sentence_start`, `sentence_end` INT64 [n]
(offsets into that element), `sentence_text` BYTES [n] and `sentence_boilerplate` BOOL [n].
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from service.schemas import ClassifyRequest
from service.settings import Settings
from training import HaltungModel, Target, Unmentioned

MODEL_NAME = "haltung"
INPUT = "text"
PLATFORM = "sklearn_haltung"  # "<project>_<format>": scikit-learn pipelines in a Haltung bundle
PARAMETERS = {
    "targets": "stance targets: a name, or a JSON array string of names and {name, aliases} objects",
    "explain": "top-k features per decision (0: none)",
    "unmentioned": "'null' (default): no stance where a sentence does not mention a target; 'score': tone guess",
    "split": "true: each element is an article, split into sentences (one output row per sentence, sentence_*)",
}
# Names clients and gateways put in `parameters` on their own (tritonclient, KServe, MLServer): accepted, unused.
TOLERATED = {"binary_data_output", "binary_data", "timeout", "priority", "content_type", "headers"}
TOLERATED_PREFIXES = ("sequence_", "triton_")
BINARY_WITHOUT_HEADER = (
    "binary_data_size without an Inference-Header-Content-Length header: send binary tensor data with the header "
    "(the binary tensor data extension), or the data as JSON"
)


class ProtocolError(Exception):
    """A request the protocol answers with `{"error": message}` and `status`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


Parameters = dict[str, Any]


class RequestInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(description=f"'{INPUT}': the model's one input")
    shape: list[int] = Field(description="e.g. [n]; the product of the dimensions is the number of elements")
    datatype: str = Field(description="BYTES")
    parameters: Parameters | None = None
    data: list[Any] = Field(description="the sentences as JSON strings (flat or nested, row-major)")


class RequestOutput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    parameters: Parameters | None = None


class InferenceRequest(BaseModel):
    """The protocol's `$inference_request`."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(None, description="returned in the response")
    parameters: Parameters | None = Field(None, description=f"Haltung's: {', '.join(PARAMETERS)}")
    inputs: list[RequestInput] = Field(min_length=1)
    outputs: list[RequestOutput] | None = Field(None, description="the outputs to return (default: all)")


@dataclass(frozen=True)
class Parsed:
    texts: list[str]  # sentences, or articles with `split`
    targets: list[Target]
    explain: int
    unmentioned: Unmentioned
    outputs: list[str] | None
    split: bool = False


def _flatten(data: list[Any]) -> list[Any]:
    """Nested (natural) tensor data in row-major order; without recursion, so any depth is safe."""
    out: list[Any] = []
    stack = [iter(data)]
    while stack:
        item = next(stack[-1], _END)
        if item is _END:
            stack.pop()
        elif isinstance(item, list):
            stack.append(iter(item))
        else:
            out.append(item)
    return out


_END = object()


def _parameters(body: InferenceRequest, text: RequestInput) -> Parameters:
    merged = {**(body.parameters or {}), **(text.parameters or {})}
    if "binary_data_size" in merged:
        raise ProtocolError(400, BINARY_WITHOUT_HEADER)
    unknown = sorted(
        k for k in merged if k not in PARAMETERS and k not in TOLERATED and not k.startswith(TOLERATED_PREFIXES)
    )
    if unknown:
        raise ProtocolError(400, f"unknown parameter(s) {unknown}: this model takes {sorted(PARAMETERS)}")
    return merged


def _targets(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list):  # not a protocol value type, but what MLServer-style clients send
        return value
    if not isinstance(value, str):
        raise ProtocolError(400, "parameter 'targets' must be a string: a name or a JSON array of targets")
    if value.lstrip().startswith("["):
        try:
            parsed = json.loads(value)
        except ValueError as err:
            raise ProtocolError(400, f"parameter 'targets' is not a valid JSON array: {err}") from None
        if not isinstance(parsed, list):
            raise ProtocolError(400, "parameter 'targets' must be a JSON array")
        return parsed
    return [value]


def _explain(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProtocolError(400, f"parameter 'explain' must be a whole number, not {value!r}")
    return value


def _flag(value: Any, name: str) -> bool:
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ProtocolError(400, f"parameter {name!r} must be a boolean, not {value!r}")


def parse_request(body: InferenceRequest, settings: Settings) -> Parsed:
    """The texts and options of a request, validated as `/v1/classify` validates `sentences` (or `documents`)."""
    names = [i.name for i in body.inputs]
    if names != [INPUT]:
        raise ProtocolError(400, f"the model has one input, {INPUT!r} (BYTES); got {names}")
    text = body.inputs[0]
    if text.datatype != "BYTES":
        raise ProtocolError(400, f"input {INPUT!r} must have datatype BYTES, not {text.datatype!r}")
    params = _parameters(body, text)
    if any(d < 0 for d in text.shape):
        raise ProtocolError(400, f"shape {text.shape} has a negative dimension")
    data = _flatten(text.data)
    if math.prod(text.shape) != len(data):
        raise ProtocolError(400, f"shape {text.shape} holds {math.prod(text.shape)} elements but data has {len(data)}")
    if not all(isinstance(s, str) for s in data):
        raise ProtocolError(400, f"every element of {INPUT!r} must be a JSON string (BYTES as UTF-8 text)")
    explain, targets = _explain(params.get("explain")), _targets(params.get("targets"))
    if explain > settings.max_explain:
        raise ProtocolError(400, f"explain may be at most {settings.max_explain} (HALTUNG_MAX_EXPLAIN)")
    if len(targets) > settings.max_targets:
        raise ProtocolError(400, f"{len(targets)} targets exceed the limit of {settings.max_targets}")
    split = _flag(params.get("split"), "split")
    if split and len(data) > settings.max_documents:
        message = f"{len(data)} articles exceed the limit of {settings.max_documents} (HALTUNG_MAX_DOCUMENTS)"
        raise ProtocolError(413, message)
    texts: dict[str, Any] = {"documents": [{"text": t} for t in data]} if split else {"sentences": data}
    payload = {**texts, "targets": targets, "explain": explain}
    if "unmentioned" in params:
        payload["unmentioned"] = params["unmentioned"]
    try:  # JSON mode: the same strict rules as a /v1/classify body
        request = ClassifyRequest.model_validate_json(json.dumps(payload))
    except ValidationError as err:
        problems = "; ".join(_problem(e) for e in err.errors())
        raise ProtocolError(400, f"invalid inference request: {problems}") from None
    outputs = [o.name for o in body.outputs] if body.outputs else None
    given = [d.text for d in request.documents or ()] if split else request.sentences or []
    return Parsed(given, request.stance_targets(), request.explain, request.unmentioned, outputs, split)


def _problem(e: Any) -> str:
    loc = [str(p) for p in e.get("loc", ())]
    if loc[:1] == ["sentences"]:
        loc = [f"inputs.{INPUT}", *loc[1:]]
    elif loc[:1] == ["documents"]:
        loc = [f"inputs.{INPUT}", *loc[1:2]]
    elif loc[:1] in (["targets"], ["explain"], ["unmentioned"]):
        loc = [f"parameters.{loc[0]}", *loc[1:]]
    where = ".".join(loc)
    return f"{where}: {e.get('msg')}" if where else str(e.get("msg"))


# --- outputs ----------------------------------------------------------------------------------------------------


def _tensor(name: str, shape: list[int], datatype: str, data: list[Any], **parameters: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "shape": shape, "datatype": datatype, "data": data}
    if parameters:
        out["parameters"] = parameters
    return out


def output_specs(model: HaltungModel) -> list[dict[str, Any]]:
    """The metadata tensors of every output the model can give (k = -1: one column per requested target)."""
    specs = []
    if "sentiment" in model.heads:
        labels = ",".join(model.labels("sentiment"))
        specs += [
            _tensor("sentiment_label", [-1], "BYTES", []),
            _tensor("sentiment_scores", [-1, len(model.labels("sentiment"))], "FP64", [], labels=labels),
            _tensor("sentiment_explanation", [-1], "BYTES", []),
        ]
    if "stance" in model.heads:
        labels = ",".join(model.labels("stance"))
        specs += [
            _tensor("stance_label", [-1, -1], "BYTES", []),
            _tensor("stance_scores", [-1, -1, len(model.labels("stance"))], "FP64", [], labels=labels),
            _tensor("stance_mentioned", [-1, -1], "BOOL", []),
            _tensor("stance_basis", [-1, -1], "BYTES", []),
            _tensor("stance_explanation", [-1, -1], "BYTES", []),
        ]
    specs += [
        _tensor("sentence_document", [-1], "INT64", []),
        _tensor("sentence_start", [-1], "INT64", []),
        _tensor("sentence_end", [-1], "INT64", []),
        _tensor("sentence_text", [-1], "BYTES", []),
        _tensor("sentence_boilerplate", [-1], "BOOL", []),
    ]
    for spec in specs:
        del spec["data"]
    return specs


def model_metadata(model: HaltungModel, max_targets: int) -> dict[str, Any]:
    return {
        "name": MODEL_NAME,
        "versions": [model.version],
        "platform": PLATFORM,
        "inputs": [{"name": INPUT, "datatype": "BYTES", "shape": [-1]}],
        "outputs": output_specs(model),
        "parameters": {**PARAMETERS, "max_targets": max_targets},
    }


def response_outputs(
    model: HaltungModel, parsed: Parsed, sentences: list[dict[str, Any]], documents: list[int]
) -> list[dict[str, Any]]:
    """The output tensors of `training.analyse`'s sentences (flat, row-major; `documents`: the element of
    each sentence), filtered by `outputs`."""
    n, k = len(sentences), len(parsed.targets)
    outs = []
    if parsed.split:
        outs += [
            _tensor("sentence_document", [n], "INT64", documents),
            _tensor("sentence_start", [n], "INT64", [s["start"] for s in sentences]),
            _tensor("sentence_end", [n], "INT64", [s["end"] for s in sentences]),
            _tensor("sentence_text", [n], "BYTES", [s["text"] for s in sentences]),
            _tensor("sentence_boilerplate", [n], "BOOL", [s["boilerplate"] for s in sentences]),
        ]
    if "sentiment" in model.heads:
        labels = model.labels("sentiment")
        heads = [s["sentiment"] for s in sentences]
        outs += [
            _tensor("sentiment_label", [n], "BYTES", [h["label"] for h in heads]),
            _tensor(
                "sentiment_scores",
                [n, len(labels)],
                "FP64",
                [h["scores"][lab] for h in heads for lab in labels],
                labels=",".join(labels),
            ),
        ]
        if parsed.explain:
            explanations = [json.dumps(h["explanation"], ensure_ascii=False) for h in heads]
            outs.append(_tensor("sentiment_explanation", [n], "BYTES", explanations))
    if "stance" in model.heads and k:
        labels = model.labels("stance")
        cells = [entry for s in sentences for entry in s["stance"]]
        targets = json.dumps([t.name for t in parsed.targets], ensure_ascii=False)
        scores = [(c["scores"] or {}).get(lab, 0.0) for c in cells for lab in labels]
        outs += [
            _tensor("stance_label", [n, k], "BYTES", [c["label"] or "" for c in cells], targets=targets),
            _tensor("stance_scores", [n, k, len(labels)], "FP64", scores, labels=",".join(labels), targets=targets),
            _tensor("stance_mentioned", [n, k], "BOOL", [c["mentioned"] for c in cells], targets=targets),
            _tensor("stance_basis", [n, k], "BYTES", [c["basis"] or "" for c in cells], targets=targets),
        ]
        if parsed.explain:
            explanations = [json.dumps(c["explanation"], ensure_ascii=False) if c["explanation"] else "" for c in cells]
            outs.append(_tensor("stance_explanation", [n, k], "BYTES", explanations, targets=targets))
    if parsed.outputs is None:
        return outs
    given = {o["name"]: o for o in outs}
    known = {spec["name"] for spec in output_specs(model)}
    unknown = [name for name in parsed.outputs if name not in known]
    if unknown:
        raise ProtocolError(400, f"unknown output(s) {unknown}: the model has {sorted(known)}")
    missing = [name for name in parsed.outputs if name not in given]
    if missing:
        raise ProtocolError(
            400,
            f"output(s) {missing} need parameters: stance outputs need 'targets', explanations 'explain' > 0, "
            "sentence outputs 'split'",
        )
    return [given[name] for name in parsed.outputs]
