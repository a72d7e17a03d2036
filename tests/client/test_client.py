"""`haltung_client.Client` against a real uvicorn: typed results equal to the JSON the API sends, labels,
retrain and wait, models, health, and errors as `HaltungAPIError` with the API's code and details."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import httpx
import pytest

from haltung_client import ClassifyResult, Client, HaltungAPIError, Target
from tests.client.conftest import Server
from tests.retrain_support import API_KEY, correction_labels

pytestmark = pytest.mark.slow  # real uvicorn processes

ROOT = Path(__file__).resolve().parents[2]
ARTICLE = (ROOT / "examples" / "kim_putin_waffendeal.txt").read_text(encoding="utf-8")
TARGETS = [Target("Russland", ("Moskau", "Kreml")), Target("Pjöngjang", ("Nordkorea",)), "Putin"]
RAW_TARGETS = [{"name": "Russland", "aliases": ["Moskau", "Kreml"]}, {"name": "Pjöngjang", "aliases": ["Nordkorea"]},
               "Putin"]  # fmt: skip


@pytest.fixture
def client(server: Server) -> Client:
    with Client(server.url, api_key=API_KEY) as c:
        yield c


def test_classify_text_gives_typed_results_equal_to_the_apis_json(client: Client, server: Server) -> None:
    result = client.classify(ARTICLE, targets=TARGETS, explain=2)
    raw = httpx.post(f"{server.url}/v1/classify", json={"text": ARTICLE, "targets": RAW_TARGETS, "explain": 2}).json()
    assert isinstance(result, ClassifyResult)
    assert dataclasses.asdict(result) == raw  # every field parsed, nothing lost or invented
    [doc] = result.documents
    first = doc.sentences[0]
    assert ARTICLE[first.start : first.end] == first.text
    assert first.sentiment is not None and first.sentiment.explanation and first.sentiment.explanation[0].words
    by_alias = [s for sentence in doc.sentences for s in sentence.stance if s.mention and s.mention.via == "alias"]
    assert by_alias and all(s.target == "Pjöngjang" and s.mention.text == "Nordkorea" for s in by_alias)
    assert [t.target for t in doc.summary.stance] == ["Russland", "Pjöngjang", "Putin"]


def test_classify_documents_and_sentences(client: Client) -> None:
    docs = client.classify(documents=[("a", "Der Euro legte zu."), {"id": "b", "text": "Russland droht."}, "Nur Text."])
    assert [d.id for d in docs.documents] == ["a", "b", None]
    sentences = client.classify(sentences=["Russland ist kein Partner.", "Gut so."], targets=["Russland"])
    assert [s.stance[0].mentioned for s in sentences.documents[0].sentences] == [True, False]
    assert sentences.documents[0].sentences[1].stance[0].label is None


def test_to_dataframe_has_one_row_per_sentence_and_target(client: Client) -> None:
    result = client.classify(ARTICLE, targets=TARGETS)
    frame = result.to_dataframe()
    sentences = len(result.documents[0].sentences)
    assert len(frame) == 3 * sentences
    assert list(frame.columns[:7]) == ["doc_id", "sentence_index", "start", "end", "text", "boilerplate", "sentiment"]
    assert {"sentiment_negative", "target", "mentioned", "mention", "stance", "stance_favor", "model_version"} <= set(
        frame.columns
    )
    assert frame[frame.target == "Pjöngjang"].mention.dropna().unique().tolist() == ["Nordkorea"]


def test_api_errors_carry_status_code_message_and_details(client: Client, server: Server) -> None:
    with pytest.raises(HaltungAPIError) as bad:
        client.classify("Ein Text.", sentences=["Noch einer."])
    assert (bad.value.status, bad.value.code) == (422, "validation_error")
    assert bad.value.message and "exactly one of" in str(bad.value.details)
    with pytest.raises(HaltungAPIError) as missing:
        client.job("no-such-job")
    assert (missing.value.status, missing.value.code) == (404, "job_not_found")
    with Client(server.url) as anonymous, pytest.raises(HaltungAPIError) as denied:
        anonymous.labels.add([{"text": "Ein Satz.", "sentiment": "neutral"}])
    assert denied.value.status == 401
    with pytest.raises(HaltungAPIError) as unknown:
        client.models.activate("20000101T000000Z-00000000")
    assert unknown.value.status == 404


def test_labels_add_list_export_delete(client: Client) -> None:
    stored = client.labels.add(
        [{"text": "Die Bahn ist schon wieder zu spät.", "sentiment": "negative", "id": "client-1"},
         {"text": "Russland liefert Waffen.", "target": "Russland", "stance": "neutral", "id": "client-2"}]
    )  # fmt: skip
    assert (stored.ids, stored.count) == (["client-1", "client-2"], 2)
    page = client.labels.list(limit=1)
    assert len(page.items) == 1 and page.next_cursor
    listed = {label.id: label for label in client.labels.list(limit=100).items}
    assert listed["client-2"].target == "Russland" and listed["client-2"].stance == "neutral"
    assert {"client-1", "client-2"} <= {row["id"] for row in client.labels.export()}
    client.labels.delete("client-1")
    assert "client-1" not in {label.id for label in client.labels.list(limit=100).items}
    with pytest.raises(HaltungAPIError) as gone:
        client.labels.delete("client-1")
    assert gone.value.code == "label_not_found"


def test_retrain_wait_and_models(client: Client, server: Server) -> None:
    client.labels.add(correction_labels())
    started = client.retrain(force=True)
    assert started.job_id and started.status in ("queued", "running")
    with pytest.raises(HaltungAPIError) as early:
        client.wait(started, timeout=0)  # a retrain takes seconds: not finished at the first look
    assert (early.value.status, early.value.code) == (None, "wait_timeout")
    job = client.wait(started, timeout=300, interval=0.5)
    assert job.status == "succeeded", job.raw
    assert job.promoted is True and job.candidate_version and job.baseline_version == server.version
    models = client.models.list()
    assert models.current == job.candidate_version
    assert {v.version for v in models.versions} >= {server.version, job.candidate_version}
    back = client.models.activate(server.version, expected_current=job.candidate_version)
    assert back.version == server.version
    assert client.models.list().current == server.version
    with pytest.raises(HaltungAPIError) as conflict:
        client.models.activate(server.version, expected_current=job.candidate_version)
    assert (conflict.value.status, conflict.value.code) == (409, "activation_conflict")


def test_health_and_model(client: Client, server: Server) -> None:
    health = client.health()
    assert health.ready and health.model_version
    assert client.model()["version"] == health.model_version


def test_an_unknown_job_is_an_error_at_once_not_a_wait(client: Client) -> None:
    with pytest.raises(HaltungAPIError) as unknown:
        client.wait("no-such-job", timeout=60)
    assert unknown.value.code == "job_not_found"
