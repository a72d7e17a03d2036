"""The reference article end to end, against a real uvicorn process serving a tiny real model."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import ServerProcess, running_uvicorn, service_env

pytestmark = pytest.mark.slow

ARTICLE_PATH = Path(__file__).resolve().parents[2] / "examples" / "kim_putin_waffendeal.txt"
ARTICLE = ARTICLE_PATH.read_text(encoding="utf-8")
LINES = ARTICLE.splitlines()

# As settled in tests/service/test_segmentation.py (EXPECTED_REFERENCE): one sentence per line, except
# the lines with several sentences, which SoMaJo splits at their full stops.
SENTENCE_COUNT = 29


def line_starting(prefix: str) -> str:
    [line] = [line for line in LINES if line.startswith(prefix)]
    return line


VIDEO_NOTICE = line_starting("Um dieses Video anzusehen")
CAPTION = line_starting("Ein beschädigtes Auto")  # "... (Bild: AFP)": an image caption with its credit
LINK_LINE = line_starting("Mehr: ")
CONTACT = line_starting("Nehmen Sie Kontakt")
# Exactly these are flagged, in article order; no reporting sentence is.
EXPECTED_BOILERPLATE = [VIDEO_NOTICE, CAPTION, LINK_LINE, CONTACT]


@pytest.fixture(scope="module")
def server(tiny_models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    env = service_env(
        HALTUNG_MODELS_DIR=str(tiny_models_dir), HALTUNG_DATA_DIR=str(tmp_path_factory.mktemp("e2e-data"))
    )
    with running_uvicorn(env) as process:
        yield process


@pytest.fixture(scope="module")
def answer(server: ServerProcess) -> dict[str, Any]:
    response = httpx.post(f"{server.base_url}/v1/classify", json={"text": ARTICLE, "targets": ["Russland"]}, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture(scope="module")
def sentences(answer: dict[str, Any]) -> list[dict[str, Any]]:
    [document] = answer["documents"]
    return document["sentences"]


def test_sentence_count_and_exact_offsets(sentences: list[dict[str, Any]]) -> None:
    assert len(sentences) == SENTENCE_COUNT
    previous_end = 0
    for i, s in enumerate(sentences):
        assert s["index"] == i
        assert ARTICLE[s["start"] : s["end"]] == s["text"]
        assert previous_end <= s["start"] < s["end"]
        previous_end = s["end"]


def test_headline_is_the_first_sentence(sentences: list[dict[str, Any]]) -> None:
    assert (sentences[0]["start"], sentences[0]["end"], sentences[0]["text"]) == (0, len(LINES[0]), LINES[0])


def test_no_markup_in_any_sentence(sentences: list[dict[str, Any]]) -> None:
    assert "< /p>" in ARTICLE
    assert not [s["text"] for s in sentences if "< /p>" in s["text"] or "<" in s["text"] or ">" in s["text"]]
    assert sentences[1]["text"].endswith("warnte ein ehemaliger Sicherheitsbeamter.")


def test_boilerplate_flags(sentences: list[dict[str, Any]]) -> None:
    flagged = [s["text"] for s in sentences if s["boilerplate"]]
    for required in (VIDEO_NOTICE, LINK_LINE, CONTACT):  # the three
        assert required in flagged
    assert "webnews@metro.co.uk" in CONTACT
    assert flagged == EXPECTED_BOILERPLATE


def test_labels_and_scores_for_every_sentence(answer: dict[str, Any], sentences: list[dict[str, Any]]) -> None:
    assert answer["model_version"]
    for s in sentences:
        assert s["sentiment"]["label"] in s["sentiment"]["scores"]
        assert sum(s["sentiment"]["scores"].values()) == pytest.approx(1.0, abs=1e-9)
        [stance] = s["stance"]
        assert stance["target"] == "Russland"
        assert stance["mentioned"] is ("Russland" in s["text"] or "russische" in s["text"])
        if not stance["mentioned"]:  # no stance toward a target the sentence does not mention
            assert (stance["mention"], stance["basis"], stance["label"], stance["scores"]) == (None, None, None, None)
            continue
        mention = stance["mention"]
        assert s["text"][mention["start"] : mention["end"]] == mention["text"]
        assert stance["basis"] == "mention"
        assert stance["label"] in stance["scores"]
        assert sum(stance["scores"].values()) == pytest.approx(1.0, abs=1e-9)
    vias = {s["stance"][0]["mention"]["via"] for s in sentences if s["stance"][0]["mentioned"]}
    assert vias == {"name", "derived"}  # "Russland", "Russlands"; "russische Armee"


def test_summary(answer: dict[str, Any], sentences: list[dict[str, Any]]) -> None:
    summary = answer["documents"][0]["summary"]
    reporting = SENTENCE_COUNT - len(EXPECTED_BOILERPLATE)
    assert summary["sentences"] == reporting
    assert sum(summary["sentiment"].values()) == reporting
    [russland] = summary["stance"]
    mentioning = [s for s in sentences if not s["boilerplate"] and s["stance"][0]["mentioned"]]
    assert 0 < len(mentioning) < reporting
    assert (russland["target"], russland["basis"], russland["sentences"]) == ("Russland", "mention", len(mentioning))
    assert sum(russland["counts"].values()) == len(mentioning)
    assert sum(russland["mean_scores"].values()) == pytest.approx(1.0, abs=1e-4)
    assert russland["label"] == max(russland["mean_scores"], key=russland["mean_scores"].get)


def test_served_model_is_the_answering_model(server: ServerProcess, answer: dict[str, Any]) -> None:
    model = httpx.get(f"{server.base_url}/v1/model", timeout=10).json()
    ready = httpx.get(f"{server.base_url}/v1/health/ready", timeout=10).json()
    assert answer["model_version"] == model["version"] == ready["model_version"]


def access_lines(server: ServerProcess) -> list[dict[str, Any]]:
    return [e for e in server.json_logs() if e.get("logger") == "haltung.access"]


def test_one_structured_access_log_line_per_request(server: ServerProcess, answer: dict[str, Any]) -> None:
    bad = httpx.post(f"{server.base_url}/v1/classify", json={"text": "  "}, timeout=10)
    assert bad.status_code == 422

    def logged(_: list[str]) -> bool:
        statuses = [e["status"] for e in access_lines(server) if e["route"] == "/v1/classify"]
        return 200 in statuses and 422 in statuses

    server.wait_for_stderr(logged, timeout=10)
    classify = [e for e in access_lines(server) if e["route"] == "/v1/classify"]
    [ok] = [e for e in classify if e["status"] == 200]
    assert ok["method"] == "POST"
    assert ok["sentences"] == SENTENCE_COUNT
    assert ok["model_version"] == answer["model_version"]
    assert isinstance(ok["duration_ms"], int | float) and ok["duration_ms"] > 0
    [refused] = [e for e in classify if e["status"] == 422]
    assert refused["sentences"] is None


def test_request_text_is_never_logged(server: ServerProcess, answer: dict[str, Any]) -> None:
    server.wait_for_stderr(lambda _: any(e["route"] == "/v1/classify" for e in access_lines(server)), timeout=10)
    stderr = "\n".join(server.stderr_lines())
    leaked = [s["text"] for s in answer["documents"][0]["sentences"] if s["text"][:30] in stderr]
    assert leaked == []
    assert "webnews@metro.co.uk" not in stderr


def test_reference_answer_script_prints_mentions_and_summary(tiny_models_dir: Path) -> None:
    """scripts/reference_answer.py (the README's answer) runs on a models directory and shows only mentions."""
    script = ARTICLE_PATH.parents[1] / "scripts" / "reference_answer.py"
    result = subprocess.run(
        [sys.executable, str(script), "--models-dir", str(tiny_models_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    entries = [json.loads(line.strip().rstrip(",")) for line in lines if line.startswith('    {"index"')]
    assert entries and all(e["stance"] and all(t["mentioned"] for t in e["stance"]) for e in entries)
    summary = [json.loads(line.strip().rstrip(",")) for line in lines if line.startswith('      {"target"')]
    assert [t["target"] for t in summary] == ["Russland", "Nordkorea", "Ukraine", "Putin"]
    assert all(t["sentences"] == sum(t["counts"].values()) > 0 for t in summary)
