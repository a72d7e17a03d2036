"""Every bad input gets a clear error in one JSON shape, with the right status; nothing answers 500."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.service.conftest import LIMITS

pytestmark = pytest.mark.asyncio(loop_scope="session")

JSON = {"Content-Type": "application/json"}


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """The status, and the one error shape `{"error": {"code", "message", "details"}}`; returns the error."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"code", "message", "details"}
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]
    if code is not None:
        assert error["code"] == code
    return error


def raw(body: Any) -> bytes:
    """JSON with every non-ASCII character escaped (as most client libraries send lone surrogates)."""
    return json.dumps(body).encode()


# -- 400: not JSON, not UTF-8 ---------------------------------------------------------------------------------

MALFORMED = {
    "truncated": b'{"text": "Ein Satz.',
    "trailing comma": b'{"text": "Ein Satz.",}',
    "single quotes": b"{'text': 'Ein Satz.'}",
    "trailing garbage": b'{"text": "Ein Satz."} x',
    "bare word": b"text",
    "undefined literal": b'{"text": undefined}',
}


@pytest.mark.parametrize("body", MALFORMED.values(), ids=MALFORMED.keys())
async def test_malformed_json_is_400(client: httpx.AsyncClient, body: bytes) -> None:
    assert_error(await client.post("/v1/classify", content=body, headers=JSON), 400, "malformed_json")


NOT_UTF8 = {
    "latin-1": '{"text": "Gespräche über Waffen"}'.encode("latin-1"),
    "utf-16": '{"text": "Ein Satz."}'.encode("utf-16"),
    "stray byte": b'{"text": "Ein \xff Satz."}',
    "truncated sequence": b'{"text": "Ein \xc3"}',
    "encoded surrogate": b'{"text": "\xed\xa0\x80"}',
}


@pytest.mark.parametrize("body", NOT_UTF8.values(), ids=NOT_UTF8.keys())
async def test_non_utf8_body_is_400(client: httpx.AsyncClient, body: bytes) -> None:
    error = assert_error(await client.post("/v1/classify", content=body, headers=JSON), 400, "invalid_encoding")
    assert isinstance(error["details"]["byte_offset"], int)


async def test_unparsable_json_is_400_not_500(client: httpx.AsyncClient) -> None:
    """Valid-looking JSON the parser gives up on (nesting too deep, an integer of 5000 digits)."""
    for body in (b"[" * 100_000 + b"]" * 100_000, b'{"text": "a", "explain": ' + b"9" * 5000 + b"}"):
        assert_error(await client.post("/v1/classify", content=body, headers=JSON), 400)


# -- 415: wrong content type ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/xml", None],
)
async def test_wrong_content_type_is_415(client: httpx.AsyncClient, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = await client.post("/v1/classify", content=raw({"text": "Ein Satz."}), headers=headers)
    error = assert_error(response, 415, "unsupported_media_type")
    assert error["details"]["expected"] == "application/json"


async def test_form_post_is_415(client: httpx.AsyncClient) -> None:
    assert_error(await client.post("/v1/classify", data={"text": "Ein Satz."}), 415, "unsupported_media_type")


async def test_json_with_charset_parameter_is_accepted(client: httpx.AsyncClient) -> None:
    headers = {"Content-Type": "application/json; charset=utf-8"}
    response = await client.post("/v1/classify", content=raw({"text": "Ein Satz."}), headers=headers)
    assert response.status_code == 200, response.text


# -- 422: schema ----------------------------------------------------------------------------------------------

SCHEMA_ERRORS: dict[str, Any] = {
    # unknown fields
    "unknown top-level field": {"text": "Ein Satz.", "language": "de"},
    "unknown document field": {"documents": [{"id": "a", "text": "Ein Satz.", "url": "http://x"}]},
    "misspelled option": {"text": "Ein Satz.", "target": ["Russland"]},
    # wrong types (strict: no coercion)
    "explain as string": {"text": "Ein Satz.", "explain": "3"},
    "explain as bool": {"text": "Ein Satz.", "explain": True},
    "explain as float": {"text": "Ein Satz.", "explain": 1.5},
    "explain negative": {"text": "Ein Satz.", "explain": -1},
    "targets as string": {"text": "Ein Satz.", "targets": "x"},
    "target as number": {"text": "Ein Satz.", "targets": [1]},
    "empty target": {"text": "Ein Satz.", "targets": ["  "]},
    "target too long": {"text": "Ein Satz.", "targets": ["x" * 301]},
    "repeated target": {"text": "Ein Satz.", "targets": ["Russland", "Nordkorea", "Russland"]},
    "repeated target after trimming": {"text": "Ein Satz.", "targets": ["Russland", " Russland "]},
    "repeated target as object": {"text": "Ein Satz.", "targets": ["Russland", {"name": "Russland"}]},
    "target object without name": {"text": "Ein Satz.", "targets": [{"aliases": ["Moskau"]}]},
    "target object with unknown field": {"text": "Ein Satz.", "targets": [{"name": "Russland", "alias": ["Kreml"]}]},
    "empty target name": {"text": "Ein Satz.", "targets": [{"name": " "}]},
    "target name too long": {"text": "Ein Satz.", "targets": [{"name": "x" * 301}]},
    "aliases as string": {"text": "Ein Satz.", "targets": [{"name": "Russland", "aliases": "Kreml"}]},
    "alias as number": {"text": "Ein Satz.", "targets": [{"name": "Russland", "aliases": [7]}]},
    "empty alias": {"text": "Ein Satz.", "targets": [{"name": "Russland", "aliases": ["Kreml", ""]}]},
    "alias too long": {"text": "Ein Satz.", "targets": [{"name": "Russland", "aliases": ["x" * 101]}]},
    "too many aliases": {
        "text": "Ein Satz.",
        "targets": [{"name": "Russland", "aliases": [f"A{i}" for i in range(21)]}],
    },
    "alias that is a question": {
        "text": "Ein Satz.",
        "targets": [{"name": "Russland", "aliases": ["Ist das Moskau?"]}],
    },
    "question with aliases": {"text": "Ein Satz.", "targets": [{"name": "Soll der Bund sparen?", "aliases": ["Bund"]}]},
    "lone surrogate in alias": {"text": "Ein Satz.", "targets": [{"name": "Russland", "aliases": ["\ud83d"]}]},
    "unmentioned unknown": {"text": "Ein Satz.", "targets": ["Russland"], "unmentioned": "guess"},
    "unmentioned as bool": {"text": "Ein Satz.", "targets": ["Russland"], "unmentioned": True},
    "empty document id": {"documents": [{"id": "", "text": "Ein Satz."}]},
    "document id too long": {"documents": [{"id": "x" * 201, "text": "Ein Satz."}]},
    "text as number": {"text": 5},
    "text as list": {"text": ["Ein Satz."]},
    "sentences as string": {"sentences": "Ein Satz."},
    "documents as object": {"documents": {"text": "Ein Satz."}},
    "document as string": {"documents": ["Ein Satz."]},
    "document id as number": {"documents": [{"id": 3, "text": "Ein Satz."}]},
    "body is null": None,
    "body is a list": [{"text": "Ein Satz."}],
    "body is a string": "Ein Satz.",
    # none or two of text / documents / sentences
    "no input": {},
    "only options": {"targets": ["Russland"], "explain": 1},
    "all inputs null": {"text": None, "documents": None, "sentences": None},
    "text and sentences": {"text": "Ein Satz.", "sentences": ["Ein Satz."]},
    "text and documents": {"text": "Ein Satz.", "documents": [{"text": "Ein Satz."}]},
    "documents and sentences": {"documents": [{"text": "Ein Satz."}], "sentences": ["Ein Satz."]},
    # empty or whitespace-only
    "empty text": {"text": ""},
    "whitespace text": {"text": " \n\t\u00a0\u3000 "},
    "empty document": {"documents": [{"text": ""}]},
    "whitespace document": {"documents": [{"id": "a", "text": "Ein Satz."}, {"id": "b", "text": "\n  "}]},
    "empty sentence": {"sentences": [""]},
    "whitespace sentence": {"sentences": ["Ein Satz.", "   "]},
    "no documents": {"documents": []},
    "no sentences": {"sentences": []},
    # text that cannot be echoed back as UTF-8
    "lone surrogate in text": {"text": "Ein \ud800 Satz."},
    "lone surrogate in sentence": {"sentences": ["Ein Satz \udfff."]},
    "lone surrogate in document id": {"documents": [{"id": "a\ud83d", "text": "Ein Satz."}]},
    "lone surrogate in target": {"text": "Ein Satz.", "targets": ["\ud83d"]},
    "lone surrogate as field name": {"text": "Ein Satz.", "\ud800": 1},
}


@pytest.mark.parametrize("body", SCHEMA_ERRORS.values(), ids=SCHEMA_ERRORS.keys())
async def test_schema_violations_are_422(client: httpx.AsyncClient, body: Any) -> None:
    error = assert_error(await client.post("/v1/classify", content=raw(body), headers=JSON), 422, "validation_error")
    assert error["details"], "the details name what is wrong"
    assert all({"loc", "type", "message"} <= set(d) for d in error["details"])


async def test_validation_error_points_at_the_field(client: httpx.AsyncClient) -> None:
    body = {"documents": [{"text": "Ein Satz."}, {"text": "Ein Satz.", "lang": "de"}]}
    error = assert_error(await client.post("/v1/classify", json=body), 422, "validation_error")
    assert ["body", "documents", 1, "lang"] in [d["loc"] for d in error["details"]]


async def test_explain_above_the_limit_is_422(limited_client: httpx.AsyncClient) -> None:
    limit = LIMITS["max_explain"]
    ok = await limited_client.post("/v1/classify", json={"text": "Ein Satz.", "explain": limit})
    assert ok.status_code == 200, ok.text
    response = await limited_client.post("/v1/classify", json={"text": "Ein Satz.", "explain": limit + 1})
    error = assert_error(response, 422, "validation_error")
    assert error["details"] == {"explain": limit + 1, "limit": limit}
    assert "HALTUNG_MAX_EXPLAIN" in error["message"]


async def test_targets_above_the_limit_are_422(limited_client: httpx.AsyncClient) -> None:
    limit = LIMITS["max_targets"]
    targets = [f"Ziel {i}" for i in range(limit)]
    ok = await limited_client.post("/v1/classify", json={"text": "Ein Satz.", "targets": targets})
    assert ok.status_code == 200, ok.text
    response = await limited_client.post("/v1/classify", json={"text": "Ein Satz.", "targets": [*targets, "Mehr"]})
    error = assert_error(response, 422, "validation_error")
    assert error["details"] == {"count": limit + 1, "limit": limit}
    assert "HALTUNG_MAX_TARGETS" in error["message"]


async def test_target_errors_say_what_is_wrong(client: httpx.AsyncClient) -> None:
    for targets, expected in (
        ([{"name": "Soll der Bund sparen?", "aliases": ["Bund"]}], "cannot have aliases"),
        (["A", {"name": "B"}, {"name": "A", "aliases": ["C"]}], "repeated: ['A']"),
        ([{"name": "Russland", "aliases": ["Hat Moskau das gesagt?"]}], "not questions"),
    ):
        body = {"text": "Ein Satz.", "targets": targets}
        error = assert_error(await client.post("/v1/classify", json=body), 422, "validation_error")
        assert expected in " ".join(d["message"] for d in error["details"])


# -- 413: too large -------------------------------------------------------------------------------------------


def padded_body(size: int) -> bytes:
    """A valid request of exactly `size` bytes (JSON whitespace as padding)."""
    body = raw({"text": "Ein Satz. Noch ein Satz."})
    assert len(body) <= size
    return body[:-1] + b" " * (size - len(body)) + b"}"


async def test_body_at_the_limit_is_accepted(limited_client: httpx.AsyncClient) -> None:
    body = padded_body(LIMITS["max_body_bytes"])
    response = await limited_client.post("/v1/classify", content=body, headers=JSON)
    assert response.status_code == 200, response.text


async def test_body_over_the_limit_is_413_by_content_length(limited_client: httpx.AsyncClient) -> None:
    body = padded_body(LIMITS["max_body_bytes"] + 1)
    response = await limited_client.post("/v1/classify", content=body, headers=JSON)
    error = assert_error(response, 413, "payload_too_large")
    assert error["details"] == {"limit": LIMITS["max_body_bytes"]}
    assert "HALTUNG_MAX_BODY_BYTES" in error["message"]


async def test_default_limit_is_one_mebibyte(client: httpx.AsyncClient) -> None:
    body = padded_body(1_048_576 + 1)
    error = assert_error(await client.post("/v1/classify", content=body, headers=JSON), 413, "payload_too_large")
    assert error["details"] == {"limit": 1_048_576}


class CountingBody:
    """An async request body that would yield `total` bytes, counting what the server actually pulls."""

    def __init__(self, total: int, chunk: int = 1024, prefix: bytes = b"") -> None:
        self.total, self.chunk, self.prefix, self.yielded = total, chunk, prefix, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        piece = self.prefix
        while self.yielded < self.total:
            piece = piece or b" " * min(self.chunk, self.total - self.yielded)
            self.yielded += len(piece)
            yield piece
            piece = b""


HUNDRED_MB = 100 * 1024 * 1024


async def test_chunked_body_over_the_limit_is_refused_without_reading_it_all(
    limited_client: httpx.AsyncClient,
) -> None:
    body = CountingBody(HUNDRED_MB, prefix=b'{"text": "Ein Satz."')
    response = await limited_client.post("/v1/classify", content=body, headers=JSON)
    assert "content-length" not in response.request.headers
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert_error(response, 413, "payload_too_large")
    assert body.yielded <= LIMITS["max_body_bytes"] + body.chunk


async def test_content_length_over_the_limit_is_refused_before_reading(limited_client: httpx.AsyncClient) -> None:
    body = CountingBody(HUNDRED_MB)
    headers = {**JSON, "Content-Length": str(HUNDRED_MB)}
    response = await limited_client.post("/v1/classify", content=body, headers=headers)
    assert_error(response, 413, "payload_too_large")
    assert body.yielded <= body.chunk


async def test_chunked_body_within_the_limit_is_accepted(limited_client: httpx.AsyncClient) -> None:
    payload = padded_body(LIMITS["max_body_bytes"])

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(0, len(payload), 100):
            yield payload[i : i + 100]

    response = await limited_client.post("/v1/classify", content=chunks(), headers=JSON)
    assert response.status_code == 200, response.text


async def test_too_many_documents_is_413(limited_client: httpx.AsyncClient) -> None:
    limit = LIMITS["max_documents"]
    documents = [{"text": "Ein Satz."}] * limit
    assert (await limited_client.post("/v1/classify", json={"documents": documents})).status_code == 200
    response = await limited_client.post("/v1/classify", json={"documents": [*documents, {"text": "Noch einer."}]})
    error = assert_error(response, 413, "too_many_documents")
    assert error["details"] == {"count": limit + 1, "limit": limit}
    assert "HALTUNG_MAX_DOCUMENTS" in error["message"]


async def test_too_many_pre_split_sentences_is_413(limited_client: httpx.AsyncClient) -> None:
    limit = LIMITS["max_sentences"]
    assert (await limited_client.post("/v1/classify", json={"sentences": ["Ein Satz."] * limit})).status_code == 200
    response = await limited_client.post("/v1/classify", json={"sentences": ["Ein Satz."] * (limit + 1)})
    error = assert_error(response, 413, "too_many_sentences")
    assert error["details"] == {"count": limit + 1, "limit": limit}
    assert "HALTUNG_MAX_SENTENCES" in error["message"]


SIX_SENTENCES = " ".join(f"Der {n} Satz folgt." for n in ("erste", "zweite", "dritte", "vierte", "fünfte", "sechste"))


@pytest.mark.parametrize(
    "body",
    [
        {"text": SIX_SENTENCES},
        {"documents": [{"text": "Eins. Zwei. Drei."}, {"text": "Vier. Fünf. Sechs."}]},
    ],
    ids=["text", "documents together"],
)
async def test_too_many_sentences_after_segmentation_is_413(
    limited_client: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    error = assert_error(await limited_client.post("/v1/classify", json=body), 413, "too_many_sentences")
    assert error["details"] == {"count": LIMITS["max_sentences"] + 1, "limit": LIMITS["max_sentences"]}


# -- 503: no model --------------------------------------------------------------------------------------------


async def test_no_model_is_503_with_how_to_train(no_model_client: httpx.AsyncClient) -> None:
    response = await no_model_client.post("/v1/classify", json={"text": "Ein Satz."})
    error = assert_error(response, 503, "no_model")
    assert "python -m training train" in error["message"]
    assert_error(await no_model_client.get("/v1/model"), 503, "no_model")


async def test_no_model_is_not_ready_but_live(no_model_client: httpx.AsyncClient) -> None:
    error = assert_error(await no_model_client.get("/v1/health/ready"), 503, "not_ready")
    assert "python -m training train" in error["message"]
    live = await no_model_client.get("/v1/health/live")
    assert live.status_code == 200
    assert live.json() == {"status": "ok"}
    assert (await no_model_client.get("/metrics")).status_code == 200


# -- routing --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method, path", [("GET", "/nope"), ("POST", "/v1/classify/x"), ("GET", "/v3/classify")])
async def test_unknown_route_is_404_json(client: httpx.AsyncClient, method: str, path: str) -> None:
    assert_error(await client.request(method, path), 404, "not_found")


@pytest.mark.parametrize(
    "method, path, allowed",
    [
        ("GET", "/v1/classify", "POST"),
        ("PUT", "/v1/classify", "POST"),
        ("POST", "/v1/model", "GET"),
        ("DELETE", "/v1/health/ready", "GET"),
    ],
)
async def test_wrong_method_is_405_json(client: httpx.AsyncClient, method: str, path: str, allowed: str) -> None:
    response = await client.request(method, path)
    assert_error(response, 405, "method_not_allowed")
    assert response.headers["allow"] == allowed
