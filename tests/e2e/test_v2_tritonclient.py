"""A real Open Inference Protocol client (tritonclient[http] from PyPI) against a real uvicorn server.

It calls Haltung unchanged (no extra headers; with its defaults, binary tensor data both ways, and with
JSON data), and its answers agree with /v1/classify on the same sentences: the same labels and the same
probabilities.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
import tritonclient.http as triton
from tritonclient.utils import InferenceServerException

from tests.e2e.conftest import REPO_ROOT, ServerProcess, running_uvicorn, service_env

pytestmark = pytest.mark.slow

SENTENCES = [
    "Der Kreml droht dem Westen mit Konsequenzen.",
    "Der Euro legte deutlich zu.",
    "Russland ist kein verlässlicher Partner.",
    "Die Bundesregierung lobt die Einigung mit Moskau.",
]
TARGETS = [{"name": "Russland", "aliases": ["Moskau", "Kreml"]}, "Bundesregierung"]


@pytest.fixture(scope="module")
def server(tiny_models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    data_dir = tmp_path_factory.mktemp("v2-data")
    env = service_env(HALTUNG_MODELS_DIR=str(tiny_models_dir), HALTUNG_DATA_DIR=str(data_dir))
    with running_uvicorn(env) as process:
        yield process


@pytest.fixture
def client(server: ServerProcess) -> Iterator[triton.InferenceServerClient]:
    client = triton.InferenceServerClient(url=server.base_url.removeprefix("http://"))
    yield client
    client.close()


def text_input(sentences: list[str], binary_data: bool = True) -> triton.InferInput:
    """binary_data=True is tritonclient's default: the binary tensor data extension."""
    tensor = triton.InferInput("text", [len(sentences)], "BYTES")
    tensor.set_data_from_numpy(np.array(sentences, dtype=np.object_), binary_data=binary_data)
    return tensor


def test_health_and_metadata(client: triton.InferenceServerClient, server: ServerProcess) -> None:
    version = httpx.get(f"{server.base_url}/v1/model", timeout=10).json()["version"]
    assert client.is_server_live() and client.is_server_ready()
    assert client.is_model_ready("haltung") and client.is_model_ready("haltung", version)
    assert not client.is_model_ready("bert")
    assert client.get_server_metadata()["name"] == "haltung"
    meta = client.get_model_metadata("haltung")
    assert meta["versions"] == [version]
    assert meta["inputs"] == [{"name": "text", "datatype": "BYTES", "shape": [-1]}]
    assert {"sentiment_label", "sentiment_scores", "stance_label", "stance_scores"} <= {
        o["name"] for o in meta["outputs"]
    }


@pytest.mark.parametrize("binary_data", [True, False], ids=["binary", "json"])
def test_infer_agrees_with_v1_classify(
    client: triton.InferenceServerClient, server: ServerProcess, binary_data: bool
) -> None:
    """Without `outputs` tritonclient asks for every output in binary (binary_data_output); with JSON inputs
    and JSON outputs requested, the same answer comes as JSON."""
    outputs = None
    if not binary_data:
        names = ["sentiment_label", "sentiment_scores", "stance_label", "stance_scores", "stance_mentioned"]
        outputs = [triton.InferRequestedOutput(name, binary_data=False) for name in names]
    result = client.infer(
        "haltung",
        [text_input(SENTENCES, binary_data)],
        outputs=outputs,
        request_id="e2e-1",
        parameters={"targets": json.dumps(TARGETS)},
    )
    response = result.get_response()
    assert response["id"] == "e2e-1" and response["model_name"] == "haltung"
    by_name = {o["name"]: o for o in response["outputs"]}
    assert all(("binary_data_size" in o.get("parameters", {})) == binary_data for o in by_name.values())

    v1 = httpx.post(f"{server.base_url}/v1/classify", json={"sentences": SENTENCES, "targets": TARGETS}, timeout=30)
    assert v1.status_code == 200, v1.text
    assert response["model_version"] == v1.json()["model_version"]
    sentences = v1.json()["documents"][0]["sentences"]

    sentiment_labels = by_name["sentiment_scores"]["parameters"]["labels"].split(",")
    stance_labels = by_name["stance_scores"]["parameters"]["labels"].split(",")
    labels = [x.decode() if isinstance(x, bytes) else x for x in result.as_numpy("sentiment_label")]
    assert labels == [s["sentiment"]["label"] for s in sentences]
    expected_sentiment = [[s["sentiment"]["scores"][lab] for lab in sentiment_labels] for s in sentences]
    np.testing.assert_array_equal(result.as_numpy("sentiment_scores"), np.array(expected_sentiment))

    stance = result.as_numpy("stance_label")
    scores = result.as_numpy("stance_scores")
    assert stance.shape == (4, 2) and scores.shape == (4, 2, 3)
    for i, sentence in enumerate(sentences):
        for j, entry in enumerate(sentence["stance"]):
            label = stance[i, j].decode() if isinstance(stance[i, j], bytes) else stance[i, j]
            assert label == (entry["label"] or "")
            expected = [entry["scores"][lab] for lab in stance_labels] if entry["scores"] else [0.0] * 3
            np.testing.assert_array_equal(scores[i, j], np.array(expected))
    assert result.as_numpy("stance_mentioned").tolist() == [[s["mentioned"] for s in x["stance"]] for x in sentences]
    assert stance[0, 0] not in ("", b"") and stance[1, 0] in ("", b"")  # "Kreml" names Russland; the Euro does not


def test_requested_outputs_and_a_pinned_version(client: triton.InferenceServerClient, server: ServerProcess) -> None:
    version = client.get_model_metadata("haltung")["versions"][0]
    outputs = [triton.InferRequestedOutput("sentiment_label", binary_data=False)]
    result = client.infer("haltung", [text_input(SENTENCES[:2], False)], model_version=version, outputs=outputs)
    assert [o["name"] for o in result.get_response()["outputs"]] == ["sentiment_label"]
    assert result.as_numpy("sentiment_label").shape == (2,)


def test_errors_reach_the_client_as_messages(client: triton.InferenceServerClient) -> None:
    with pytest.raises(InferenceServerException, match="20990101T000000Z-deadbeef") as missing:
        client.infer("haltung", [text_input(SENTENCES[:1])], model_version="20990101T000000Z-deadbeef")
    assert missing.value.status() == "404"
    with pytest.raises(InferenceServerException, match="unknown parameter"):
        client.infer("haltung", [text_input(SENTENCES[:1])], parameters={"target": "Russland"})
    with pytest.raises(InferenceServerException, match="empty") as blank:
        client.infer("haltung", [text_input(["  "])])
    assert blank.value.status() == "400"


def readme_block(marker: str) -> str:
    """The fenced code block right after `<!-- marker ... -->` in the README."""
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    after = readme.split(f"<!-- {marker}", 1)[1]
    return after.split("```", 2)[1].split("\n", 1)[1]


def test_the_readme_examples_run(server: ServerProcess) -> None:
    """The curl and the tritonclient example of the README's Open Inference Protocol section, as printed."""
    if not (shutil.which("curl") and shutil.which("bash")):
        pytest.skip("curl or bash not on PATH: the README's curl example cannot be run here")
    command = readme_block("v2-example").replace("http://127.0.0.1:8000", server.base_url)
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["id"] == "42" and answer["model_name"] == "haltung"
    outputs = {o["name"]: o for o in answer["outputs"]}
    assert outputs["stance_mentioned"]["data"] == [True, False]

    script = readme_block("v2-python").replace("127.0.0.1:8000", server.base_url.removeprefix("http://"))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "against,favor,neutral" in done.stdout, done.stdout  # the stance label order it prints
