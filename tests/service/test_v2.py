"""The Open Inference Protocol (V2 REST) on a tiny real model: health, metadata, inference, errors.

Request and response shapes follow the protocol's REST specification (kserve/open-inference-protocol,
specification/protocol/inference_rest.md); every error under /v2 is `{"error": "<message>"}`.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import numpy as np
import pytest

from tests.service.conftest import TinyModel

pytestmark = pytest.mark.asyncio(loop_scope="session")

SENTENCES = [
    "Der Kreml droht dem Westen mit Konsequenzen.",
    "Der Euro legte deutlich zu.",
    "Russland ist kein verlässlicher Partner.",
]
JSON_TYPE = {"Content-Type": "application/json"}
RUSSLAND = '[{"name": "Russland", "aliases": ["Moskau", "Kreml"]}]'


def text_input(data: list[Any], shape: list[int] | None = None, **extra: Any) -> dict[str, Any]:
    return {"name": "text", "shape": shape or [len(data)], "datatype": "BYTES", "data": data, **extra}


def outputs_by_name(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {o["name"]: o for o in body["outputs"]}


def assert_protocol_error(response: httpx.Response, status: int, *words: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert isinstance(body["error"], str), body  # the protocol's shape, not {"error": {"code", ...}}
    for word in words:
        assert word in body["error"], body
    return str(body["error"])


async def test_health_and_server_metadata(client: httpx.AsyncClient) -> None:
    assert (await client.get("/v2/health/live")).json() == {"live": True}
    ready = await client.get("/v2/health/ready")
    assert ready.status_code == 200 and ready.json() == {"ready": True}
    meta = (await client.get("/v2")).json()
    assert meta["name"] == "haltung" and meta["version"] and meta["extensions"] == ["binary_tensor_data"]


async def test_not_ready_without_a_model(no_model_client: httpx.AsyncClient) -> None:
    response = await no_model_client.get("/v2/health/ready")
    assert response.status_code == 503
    assert_protocol_error(response, 503, "no model")
    assert (await no_model_client.get("/v2/health/live")).status_code == 200
    infer = {"inputs": [text_input(["Ein Satz."])]}
    assert_protocol_error(await no_model_client.post("/v2/models/haltung/infer", json=infer), 503)
    assert_protocol_error(await no_model_client.get("/v2/models/haltung/ready"), 503)


async def test_model_metadata_describes_input_parameters_and_outputs(
    client: httpx.AsyncClient, tiny_model: TinyModel
) -> None:
    for path in ("/v2/models/haltung", f"/v2/models/haltung/versions/{tiny_model.version}"):
        meta = (await client.get(path)).json()
        assert meta["name"] == "haltung" and meta["versions"] == [tiny_model.version]
        assert meta["inputs"] == [{"name": "text", "datatype": "BYTES", "shape": [-1]}]
        assert {"targets", "explain", "unmentioned"} <= set(meta["parameters"])
        outputs = {o["name"]: o for o in meta["outputs"]}
        assert outputs["sentiment_label"]["datatype"] == "BYTES"
        assert outputs["sentiment_scores"]["shape"] == [-1, 3]
        assert outputs["sentiment_scores"]["parameters"]["labels"].split(",") == tiny_model.labels("sentiment")
        assert outputs["stance_scores"]["shape"] == [-1, -1, 3]
        assert outputs["stance_scores"]["parameters"]["labels"].split(",") == tiny_model.labels("stance")
    ready = await client.get("/v2/models/haltung/ready")
    assert ready.json() == {"name": "haltung", "version": tiny_model.version, "ready": True}
    assert (await client.get(f"/v2/models/haltung/versions/{tiny_model.version}/ready")).status_code == 200


async def test_infer_matches_v1_classify(client: httpx.AsyncClient, tiny_model: TinyModel) -> None:
    """Same sentences, same targets: the same labels and the same probabilities as /v1/classify."""
    request = {"id": "req-7", "parameters": {"targets": RUSSLAND}, "inputs": [text_input(SENTENCES)]}
    response = await client.post("/v2/models/haltung/infer", json=request)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["model_name"], body["model_version"], body["id"]) == ("haltung", tiny_model.version, "req-7")
    out = outputs_by_name(body)
    assert set(out) == {
        "sentiment_label",
        "sentiment_scores",
        "stance_label",
        "stance_scores",
        "stance_mentioned",
        "stance_basis",
    }

    v1 = await client.post(
        "/v1/classify",
        json={"sentences": SENTENCES, "targets": [{"name": "Russland", "aliases": ["Moskau", "Kreml"]}]},
    )
    sentences = v1.json()["documents"][0]["sentences"]
    sentiment_labels = tiny_model.labels("sentiment")
    stance_labels = out["stance_scores"]["parameters"]["labels"].split(",")
    assert stance_labels == tiny_model.labels("stance")
    assert out["sentiment_label"] == {
        "name": "sentiment_label",
        "shape": [3],
        "datatype": "BYTES",
        "data": [s["sentiment"]["label"] for s in sentences],
    }
    assert out["sentiment_scores"]["shape"] == [3, 3] and out["sentiment_scores"]["datatype"] == "FP64"
    assert out["sentiment_scores"]["data"] == [
        s["sentiment"]["scores"][lab] for s in sentences for lab in sentiment_labels
    ]
    assert out["stance_label"]["shape"] == [3, 1]
    assert out["stance_label"]["data"] == [s["stance"][0]["label"] or "" for s in sentences]
    assert out["stance_mentioned"]["data"] == [s["stance"][0]["mentioned"] for s in sentences]
    assert out["stance_mentioned"]["data"] == [True, False, True]  # "Kreml" is an alias; the Euro sentence is not
    expected = [(s["stance"][0]["scores"] or {}).get(lab, 0.0) for s in sentences for lab in stance_labels]
    assert out["stance_scores"]["shape"] == [3, 1, 3] and out["stance_scores"]["data"] == expected
    assert json.loads(out["stance_label"]["parameters"]["targets"]) == ["Russland"]
    assert out["stance_basis"]["data"] == ["mention", "", "mention"]


async def test_parameters_on_the_input_nested_data_and_requested_outputs(client: httpx.AsyncClient) -> None:
    request = {
        "inputs": [text_input([[SENTENCES[0]], [SENTENCES[2]]], [2, 1], parameters={"targets": "Russland"})],
        "outputs": [{"name": "stance_label"}, {"name": "sentiment_label"}],
    }
    response = await client.post("/v2/models/haltung/infer", json=request)
    assert response.status_code == 200, response.text
    body = response.json()
    assert [o["name"] for o in body["outputs"]] == ["stance_label", "sentiment_label"]
    stance = body["outputs"][0]
    assert stance["shape"] == [2, 1]
    assert stance["data"][1] != ""  # "Russland" is mentioned in the second sentence
    assert body["id"] == ""


async def test_explain_and_tone_guesses(client: httpx.AsyncClient) -> None:
    request = {
        "parameters": {"targets": "Russland", "explain": 2, "unmentioned": "score"},
        "inputs": [text_input(SENTENCES[1:])],
    }
    out = outputs_by_name((await client.post("/v2/models/haltung/infer", json=request)).json())
    assert out["stance_basis"]["data"] == ["tone", "mention"]
    assert all(label != "" for label in out["stance_label"]["data"])
    features = [json.loads(e) for e in out["sentiment_explanation"]["data"]]
    assert all(1 <= len(f) <= 2 and {"feature", "weight"} <= set(f[0]) for f in features)
    assert all(json.loads(e) for e in out["stance_explanation"]["data"])


async def test_a_version_that_is_not_served_is_a_clear_404(client: httpx.AsyncClient, tiny_model: TinyModel) -> None:
    infer = {"inputs": [text_input(SENTENCES[:1])]}
    ok = await client.post(f"/v2/models/haltung/versions/{tiny_model.version}/infer", json=infer)
    assert ok.status_code == 200 and ok.json()["model_version"] == tiny_model.version
    missing = "20990101T000000Z-deadbeef"
    for response in (
        await client.post(f"/v2/models/haltung/versions/{missing}/infer", json=infer),
        await client.get(f"/v2/models/haltung/versions/{missing}"),
        await client.get(f"/v2/models/haltung/versions/{missing}/ready"),
    ):
        assert_protocol_error(response, 404, missing, tiny_model.version)
    assert_protocol_error(await client.get("/v2/models/haltung/versions/a..b"), 400, "invalid model version")
    assert_protocol_error(await client.post("/v2/models/bert/infer", json=infer), 404, "'haltung'")
    assert_protocol_error(await client.get("/v2/models/bert"), 404)
    assert_protocol_error(await client.get("/v2/repository/index"), 404)


async def test_a_version_in_the_repository_but_not_loaded_says_how_to_serve_it(
    tiny_model: TinyModel, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from tests.service.conftest import _settings, running_client
    from tests.tiny_model import save_tiny_model

    models_dir = tmp_path_factory.mktemp("two-versions")
    older = save_tiny_model(models_dir).version
    newer = save_tiny_model(models_dir).version
    assert older and newer and older != newer
    settings = _settings(models_dir, tmp_path_factory.mktemp("data"))
    async with running_client(settings) as (_, client):
        response = await client.get(f"/v2/models/haltung/versions/{older}")
        assert_protocol_error(response, 404, "not loaded", f"/v1/models/{older}/activate")
        assert (await client.get(f"/v2/models/haltung/versions/{newer}")).status_code == 200


@pytest.mark.parametrize(
    ("request_body", "words"),
    [
        ({"inputs": [{"name": "texts", "shape": [1], "datatype": "BYTES", "data": ["x"]}]}, ["'text'"]),
        ({"inputs": [text_input(["a"]), text_input(["b"])]}, ["one input"]),
        ({"inputs": [{"name": "text", "shape": [1], "datatype": "FP32", "data": [1.0]}]}, ["BYTES"]),
        ({"inputs": [text_input(["a", "b"], [3])]}, ["shape"]),
        ({"inputs": [text_input([1, 2])]}, ["JSON string"]),
        ({"inputs": [text_input(["   "])]}, ["inputs.text.0", "empty"]),
        ({"inputs": [text_input(["Satz."])], "parameters": {"targets": "[1,"}}, ["targets"]),
        ({"inputs": [text_input(["Satz."])], "parameters": {"targets": '["A", "A"]'}}, ["unique"]),
        ({"inputs": [text_input(["Satz."])], "parameters": {"target": "Russland"}}, ["unknown parameter", "target"]),
        ({"inputs": [text_input(["Satz."])], "parameters": {"explain": "viel"}}, ["explain"]),
        ({"inputs": [text_input(["Satz."])], "parameters": {"explain": 999}}, ["HALTUNG_MAX_EXPLAIN"]),
        ({"inputs": [text_input(["Satz."])], "parameters": {"unmentioned": "guess"}}, ["unmentioned"]),
        ({"inputs": [text_input(["Satz."])], "outputs": [{"name": "stance_label"}]}, ["targets"]),
        ({"inputs": [text_input(["Satz."])], "outputs": [{"name": "logits"}]}, ["unknown output"]),
        ({"inputs": [text_input(["Satz."], parameters={"binary_data_size": 9})]}, ["Inference-Header-Content-Length"]),
    ],
)
async def test_bad_requests_are_400_in_the_protocols_shape(
    client: httpx.AsyncClient, request_body: dict[str, Any], words: list[str]
) -> None:
    assert_protocol_error(await client.post("/v2/models/haltung/infer", json=request_body), 400, *words)


def serialise(texts: list[str]) -> bytes:
    """BYTES as the binary tensor data extension lays them out: 4-byte little-endian length, then the bytes."""
    return b"".join(len(t.encode()).to_bytes(4, "little") + t.encode() for t in texts)


def binary_request(header: dict[str, Any], blob: bytes) -> tuple[bytes, dict[str, str]]:
    head = json.dumps(header).encode()
    return head + blob, {"Inference-Header-Content-Length": str(len(head))}


def read_binary_response(response: httpx.Response) -> dict[str, Any]:
    """The JSON part, with each binary output's data decoded back into `data`."""
    size = int(response.headers["inference-header-content-length"])
    body = json.loads(response.content[:size])
    offset = size
    for output in body["outputs"]:
        length = (output.get("parameters") or {}).get("binary_data_size")
        if length is None:
            continue
        blob, offset = response.content[offset : offset + length], offset + length
        if output["datatype"] == "BYTES":
            data, i = [], 0
            while i < len(blob):
                n = int.from_bytes(blob[i : i + 4], "little")
                data.append(blob[i + 4 : i + 4 + n].decode())
                i += 4 + n
        else:
            data = list(np.frombuffer(blob, dtype={"FP64": "<f8", "INT64": "<i8", "BOOL": "?"}[output["datatype"]]))
        output["data"] = [x.item() if hasattr(x, "item") else x for x in data]
    assert offset == len(response.content)
    return body


async def test_binary_tensors_in_and_out_give_the_json_answer(client: httpx.AsyncClient) -> None:
    """A long sentence (a length byte over 0x7F, not UTF-8) and umlauts, in binary, answered in binary."""
    texts = [*SENTENCES, "Die Regierung in Moskau " + "und der Kreml " * 12 + "schweigen über die Verluste."]
    assert len(texts[-1].encode()) > 127
    parameters = {"targets": RUSSLAND}
    json_answer = await client.post(
        "/v2/models/haltung/infer", json={"parameters": parameters, "inputs": [text_input(texts)]}
    )
    header = {
        "parameters": {**parameters, "binary_data_output": True},
        "inputs": [
            {
                "name": "text",
                "shape": [len(texts)],
                "datatype": "BYTES",
                "parameters": {"binary_data_size": len(serialise(texts))},
            }
        ],
        "outputs": [
            {"name": "sentiment_label"},
            {"name": "stance_scores"},
            {"name": "stance_mentioned", "parameters": {"binary_data": False}},
        ],
    }
    body, headers = binary_request(header, serialise(texts))
    response = await client.post("/v2/models/haltung/infer", content=body, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/octet-stream"
    binary = read_binary_response(response)
    expected = outputs_by_name(json_answer.json())
    for output in binary["outputs"]:
        assert output["data"] == expected[output["name"]]["data"], output["name"]
    mentioned = outputs_by_name(binary)["stance_mentioned"]
    assert "binary_data_size" not in mentioned.get("parameters", {})  # binary_data: false wins for this output


@pytest.mark.parametrize(
    ("body", "header_value", "words"),
    [
        (b'{"inputs": []}', "999", ["Inference-Header-Content-Length"]),
        (b"{nope", "5", ["JSON inference request"]),
        (
            *binary_request(
                {
                    "inputs": [
                        {"name": "text", "shape": [1], "datatype": "BYTES", "parameters": {"binary_data_size": 50}}
                    ]
                },
                serialise(["Satz."]),
            )[:1],
            None,
            ["does not fit"],
        ),
        (
            *binary_request(
                {
                    "inputs": [
                        {"name": "text", "shape": [1], "datatype": "BYTES", "parameters": {"binary_data_size": 10}}
                    ]
                },
                b"\x06\x00\x00\x00Satz\xff\xfe",
            )[:1],
            None,
            ["not UTF-8"],
        ),
        (
            *binary_request(
                {
                    "inputs": [
                        {"name": "text", "shape": [1], "datatype": "BYTES", "parameters": {"binary_data_size": 9}}
                    ]
                },
                serialise(["Satz."]) + b"xx",
            )[:1],
            None,
            ["2 bytes after"],
        ),
        (
            *binary_request(
                {
                    "inputs": [
                        {"name": "text", "shape": [1], "datatype": "BYTES", "parameters": {"binary_data_size": 6}}
                    ]
                },
                b"\x09\x00\x00\x00Sa",
            )[:1],
            None,
            ["claims 9 bytes"],
        ),
    ],
)
async def test_broken_binary_requests_are_400(
    client: httpx.AsyncClient, body: bytes, header_value: str | None, words: list[str]
) -> None:
    if header_value is None:  # the header of binary_request: the length of the JSON part
        header_value = str(body.index(b"}]}") + 3)
    response = await client.post(
        "/v2/models/haltung/infer", content=body, headers={"Inference-Header-Content-Length": header_value}
    )
    assert_protocol_error(response, 400, "binary tensor data", *words)


@pytest.mark.parametrize(
    ("request_body", "words"),
    [
        ({"inputs": []}, ["inputs"]),
        ({"inputs": [text_input(["Satz."])], "extra": 1}, ["extra"]),
        ({"inputs": [{"name": "text", "datatype": "BYTES", "data": ["Satz."]}]}, ["shape"]),
        ({"inputs": [text_input(["Satz."], ["eins"])]}, ["shape"]),
        ([1, 2], []),
    ],
)
async def test_bodies_that_are_no_inference_request_are_400(
    client: httpx.AsyncClient, request_body: Any, words: list[str]
) -> None:
    """Not the protocol's $inference_request schema: 400 (as KServe and Triton answer), in the protocol's shape."""
    response = await client.post("/v2/models/haltung/infer", json=request_body)
    assert_protocol_error(response, 400, "invalid inference request", *words)


async def test_the_request_guard_answers_v2_in_the_protocols_shape(
    client: httpx.AsyncClient, limited_client: httpx.AsyncClient
) -> None:
    path = "/v2/models/haltung/infer"
    text = await client.post(path, content=b'{"inputs": []}', headers={"Content-Type": "text/plain"})
    assert_protocol_error(text, 415, "application/json")
    latin1 = await client.post(path, content='{"inputs": ["Größe"]}'.encode("latin-1"), headers=JSON_TYPE)
    assert_protocol_error(latin1, 400, "UTF-8")
    large = await limited_client.post(path, json={"inputs": [text_input(["x" * 3000])]})
    assert_protocol_error(large, 413, "HALTUNG_MAX_BODY_BYTES")
    v1 = await client.post("/v1/classify", content=b"{}", headers={"Content-Type": "text/plain"})
    assert v1.status_code == 415 and v1.json()["error"]["code"] == "unsupported_media_type"  # /v1 keeps its shape


async def test_malformed_json(client: httpx.AsyncClient) -> None:
    assert_protocol_error(await client.post("/v2/models/haltung/infer", content=b"{nope"), 400, "JSON")


async def test_limits_hold_under_v2(limited_client: httpx.AsyncClient) -> None:
    """The /v1 limits apply: HALTUNG_MAX_SENTENCES (413), HALTUNG_MAX_TARGETS (400)."""
    too_many = {"inputs": [text_input([f"Satz {i}." for i in range(6)])]}
    assert_protocol_error(await limited_client.post("/v2/models/haltung/infer", json=too_many), 413, "6")
    targets = {"inputs": [text_input(["Satz."])], "parameters": {"targets": '["A", "B", "C", "D"]'}}
    assert_protocol_error(await limited_client.post("/v2/models/haltung/infer", json=targets), 400, "4 targets")


async def test_a_known_path_with_another_method_is_405(client: httpx.AsyncClient) -> None:
    response = await client.get("/v2/models/haltung/infer")
    assert_protocol_error(response, 405, "POST")
    assert response.headers["allow"] == "POST"
    assert_protocol_error(await client.delete("/v2/health/live"), 405, "GET")


async def test_deep_nesting_is_never_a_500(client: httpx.AsyncClient) -> None:
    """Nested data is flattened without recursion; nesting deeper than the JSON parser takes is a 400."""
    for depth in (500, 5000):
        shape = json.dumps([1] * depth)
        data = "[" * (depth - 1) + '"Ein Satz."' + "]" * (depth - 1)
        body = f'{{"inputs": [{{"name": "text", "shape": {shape}, "datatype": "BYTES", "data": {data}}}]}}'
        response = await client.post("/v2/models/haltung/infer", content=body.encode())
        if depth == 500:
            assert response.status_code == 200, response.text
            assert outputs_by_name(response.json())["sentiment_label"]["shape"] == [1]
        else:
            assert_protocol_error(response, 400)


ARTICLES = [
    "Kim und Putin besiegeln ihren Waffendeal\nRussland will seine Vorräte auffüllen. Der Kreml schweigt dazu.",
    "Der Euro legte deutlich zu. Anleger zeigten sich erleichtert.\nMehr: Russland",
]


async def test_split_scores_articles_like_v1_documents(client: httpx.AsyncClient) -> None:
    """`split`: each element is an article, split into sentences as /v1/classify splits `documents`."""
    request = {"parameters": {"split": True, "targets": "Russland"}, "inputs": [text_input(ARTICLES)]}
    response = await client.post("/v2/models/haltung/infer", json=request)
    assert response.status_code == 200, response.text
    out = outputs_by_name(response.json())
    v1 = await client.post("/v1/classify", json={"documents": [{"text": t} for t in ARTICLES], "targets": ["Russland"]})
    documents = v1.json()["documents"]
    rows = [(i, s) for i, doc in enumerate(documents) for s in doc["sentences"]]
    n = len(rows)
    assert n > len(ARTICLES)  # articles came back as sentences
    assert out["sentence_document"] == {
        "name": "sentence_document",
        "shape": [n],
        "datatype": "INT64",
        "data": [i for i, _ in rows],
    }
    assert out["sentence_text"]["data"] == [s["text"] for _, s in rows]
    assert out["sentence_start"]["data"] == [s["start"] for _, s in rows]
    assert [ARTICLES[i][s["start"] : s["end"]] for i, s in rows] == out["sentence_text"]["data"]
    assert out["sentence_end"]["data"] == [s["end"] for _, s in rows]
    assert out["sentence_boilerplate"]["data"] == [s["boilerplate"] for _, s in rows]
    assert True in out["sentence_boilerplate"]["data"]  # "Mehr: Russland"
    assert out["sentiment_label"]["data"] == [s["sentiment"]["label"] for _, s in rows]
    assert out["stance_label"]["data"] == [s["stance"][0]["label"] or "" for _, s in rows]

    binary = {**request, "parameters": {**request["parameters"], "binary_data_output": True}}
    decoded = read_binary_response(await client.post("/v2/models/haltung/infer", json=binary))
    assert outputs_by_name(decoded)["sentence_start"]["data"] == out["sentence_start"]["data"]  # INT64 in binary


@pytest.mark.parametrize(
    ("parameters", "words"),
    [({"split": "maybe"}, ["split", "boolean"]), ({"split": False, "targets": "Russland"}, [])],
)
async def test_split_parameter_values(client: httpx.AsyncClient, parameters: dict[str, Any], words: list[str]) -> None:
    request = {"parameters": parameters, "inputs": [text_input(SENTENCES[:1])], "outputs": [{"name": "sentence_text"}]}
    assert_protocol_error(await client.post("/v2/models/haltung/infer", json=request), 400, *words, "split")


async def test_split_limits(limited_client: httpx.AsyncClient) -> None:
    three = {"parameters": {"split": "true"}, "inputs": [text_input(["Ein Satz.", "Noch einer.", "Dritter."])]}
    assert_protocol_error(
        await limited_client.post("/v2/models/haltung/infer", json=three), 413, "HALTUNG_MAX_DOCUMENTS"
    )
    long = {"parameters": {"split": True}, "inputs": [text_input(["Die Sonne scheint. " * 8])]}
    assert_protocol_error(await limited_client.post("/v2/models/haltung/infer", json=long), 413)
    blank = {"parameters": {"split": True}, "inputs": [text_input(["Ein Satz.", "  "])]}
    assert_protocol_error(await limited_client.post("/v2/models/haltung/infer", json=blank), 400, "inputs.text.1")


async def test_the_schema_offers_the_served_version_as_the_example(
    client: httpx.AsyncClient, tiny_model: TinyModel
) -> None:
    """So /docs and example-driven fuzzers reach the versioned routes' 2xx answers."""
    spec = (await client.get("/openapi.json")).json()
    versioned = [
        (p, op) for p, ops in spec["paths"].items() if p.startswith("/v2/") and "{version}" in p for op in ops.values()
    ]
    assert len(versioned) == 3
    for path, operation in versioned:
        [param] = [p for p in operation["parameters"] if p["name"] == "version"]
        assert param["schema"]["examples"] == [tiny_model.version], path
        [name] = [p for p in operation["parameters"] if p["name"] == "model_name"]
        assert name["schema"]["examples"] == ["haltung"]
