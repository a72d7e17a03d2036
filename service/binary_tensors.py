"""The binary tensor data extension of the Open Inference Protocol (as Triton defines it, tritonclient's default).

A request or response whose `Inference-Header-Content-Length` header is set is that many bytes of JSON
followed by the tensors' raw data, in the order of `inputs`/`outputs`; a binary tensor has
`parameters.binary_data_size` instead of `data`. BYTES elements are a 4-byte little-endian length and the
bytes; FP64 and INT64 little-endian; BOOL one byte each. Requests are turned into plain JSON requests before
validation, so both forms take the same code path.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import numpy as np
from fastapi.responses import Response

from service.inference_protocol import InferenceRequest, ProtocolError

HEADER = "inference-header-content-length"
_ENCODINGS = {"FP64": "<f8", "INT64": "<i8", "BOOL": "?"}


def _bad(message: str) -> ProtocolError:
    return ProtocolError(400, f"binary tensor data: {message}")


def decode_bytes(blob: bytes, name: str) -> list[str]:
    """The elements of a serialised BYTES tensor as text (Haltung's input is UTF-8 text)."""
    out: list[str] = []
    i = 0
    while i < len(blob):
        if i + 4 > len(blob):
            raise _bad(f"input {name!r} ends inside an element's 4-byte length")
        size = int.from_bytes(blob[i : i + 4], "little")
        i += 4
        if i + size > len(blob):
            raise _bad(f"input {name!r}: element {len(out)} claims {size} bytes, {len(blob) - i} are left")
        try:
            out.append(blob[i : i + size].decode("utf-8"))
        except UnicodeDecodeError:
            raise _bad(f"input {name!r}: element {len(out)} is not UTF-8 text") from None
        i += size
    return out


def to_json_request(body: bytes, header: str) -> bytes:
    """The JSON request a binary one stands for: each binary input's elements put into its `data`."""
    if not header.strip().isdigit() or int(header) > len(body):
        raise _bad(f"Inference-Header-Content-Length {header!r} is not a length within the {len(body)}-byte body")
    size = int(header)
    try:
        request = json.loads(body[:size])
    except ValueError:
        raise _bad(f"the first {size} bytes are not a JSON inference request") from None
    inputs = request.get("inputs") if isinstance(request, dict) else None
    offset = size
    for tensor in inputs if isinstance(inputs, list) else ():
        parameters = tensor.get("parameters") if isinstance(tensor, dict) else None
        if not isinstance(parameters, dict) or "binary_data_size" not in parameters:
            continue
        length = parameters.pop("binary_data_size")
        if isinstance(length, bool) or not isinstance(length, int) or not 0 <= length <= len(body) - offset:
            raise _bad(f"binary_data_size {length!r} of input {tensor.get('name')!r} does not fit the body")
        if tensor.get("datatype") != "BYTES":
            raise _bad(f"input {tensor.get('name')!r} must be BYTES")
        tensor["data"] = decode_bytes(body[offset : offset + length], str(tensor.get("name")))
        offset += length
    if offset != len(body):
        raise _bad(f"{len(body) - offset} bytes after the last binary input")
    return json.dumps(request).encode()


def binary_outputs(body: InferenceRequest, names: Iterable[str]) -> set[str]:
    """The outputs to send as binary: `binary_data_output` for all, each output's `binary_data` overriding it."""
    default = (body.parameters or {}).get("binary_data_output") is True
    asked = {o.name: (o.parameters or {}).get("binary_data") for o in body.outputs or ()}
    return {n for n in names if (asked[n] is True if isinstance(asked.get(n), bool) else default)}


def _encode(tensor: dict[str, Any]) -> bytes:
    if tensor["datatype"] == "BYTES":
        parts = [s.encode("utf-8") for s in tensor["data"]]
        return b"".join(len(p).to_bytes(4, "little") + p for p in parts)
    return np.asarray(tensor["data"], dtype=_ENCODINGS[tensor["datatype"]]).tobytes()


def binary_response(payload: dict[str, Any], binary: set[str]) -> Response:
    """The inference response with the `binary` outputs' data after the JSON."""
    blobs = []
    for tensor in payload["outputs"]:
        if tensor["name"] in binary:
            blob = _encode(tensor)
            del tensor["data"]
            tensor.setdefault("parameters", {})["binary_data_size"] = len(blob)
            blobs.append(blob)
    head = json.dumps(payload).encode()
    headers = {"Inference-Header-Content-Length": str(len(head))}
    return Response(head + b"".join(blobs), media_type="application/octet-stream", headers=headers)
