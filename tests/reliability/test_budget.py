"""Issue 11, items 1 and 2: a request's work is bounded before it is spent, and refused with the setting's name."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from tests.reliability.limits_support import ARTICLE, REFERENCE_TARGETS, app_client, article_text
from tests.tiny_model import save_tiny_model

pytestmark = pytest.mark.asyncio(loop_scope="session")

# The issue's request: 5000 sentences × 20 targets × explain 20, about 230 kB, inside every older limit.
ISSUE_REQUEST = {
    "sentences": ["Die Regierung hat die Warnungen ignoriert."] * 5000,
    "targets": [f"T{i}" for i in range(20)],
    "explain": 20,
}


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("budget-models")
    save_tiny_model(directory)
    return directory


def error_of(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    error: dict = response.json()["error"]
    assert error["code"] == code, error
    return error


async def test_the_issues_request_is_a_fast_413_naming_the_work_budget(models_dir: Path, tmp_path: Path) -> None:
    async with app_client(models_dir, tmp_path) as (app, client):
        started = time.monotonic()
        response = await client.post("/v1/classify", json=ISSUE_REQUEST)
        elapsed = time.monotonic() - started
        error = error_of(response, 413, "work_budget_exceeded")
        assert error["details"] == {
            "cost": 5000 * 21 * 21,
            "limit": 50_000,
            "sentences": 5000,
            "targets": 20,
            "explain": 20,
            "complete": True,
        }
        assert "HALTUNG_MAX_WORK" in error["message"]
        assert elapsed < 5, f"refused only after {elapsed:.1f} s (it used to run for a minute)"
        assert "haltung_sentences_scored_total 0.0" in app.state.metrics.render().decode()  # nothing was scored


async def test_the_reference_article_with_four_targets_and_explain_20_stays_within_the_defaults(
    models_dir: Path, tmp_path: Path
) -> None:
    async with app_client(models_dir, tmp_path) as (_, client):
        body = {"text": ARTICLE, "targets": REFERENCE_TARGETS, "explain": 20}
        response = await client.post("/v1/classify", json=body)
        assert response.status_code == 200, response.text
        assert len(response.json()["documents"][0]["sentences"]) > 20


async def test_work_budget_is_exact_at_the_limit(models_dir: Path, tmp_path: Path) -> None:
    async with app_client(models_dir, tmp_path, max_work=30) as (_, client):
        body = {"sentences": ["Ein Satz."] * 5, "targets": ["Satz", "Wort"], "explain": 1}  # 5 × 3 × 2 = 30
        assert (await client.post("/v1/classify", json=body)).status_code == 200
        body["sentences"] = ["Ein Satz."] * 6  # 36
        error = error_of(await client.post("/v1/classify", json=body), 413, "work_budget_exceeded")
        assert error["details"]["cost"] == 36


async def test_splitting_stops_as_soon_as_the_work_budget_is_spent(models_dir: Path, tmp_path: Path) -> None:
    text = article_text(60_000)  # about 450 sentences in six chunks of whole lines
    async with app_client(models_dir, tmp_path, max_work=100) as (_, client):
        body = {"text": text, "targets": ["Russland"], "explain": 4}  # allows 100 // 10 = 10 sentences
        error = error_of(await client.post("/v1/classify", json=body), 413, "work_budget_exceeded")
        details = error["details"]
        assert details["complete"] is False
        assert "at least" in error["message"]
        # Stopped after the first chunk (about 10,000 characters), not after all of the text.
        assert 10 < details["sentences"] < 150, details
        assert details["cost"] == details["sentences"] * 2 * 5


async def test_splitting_stops_as_soon_as_the_sentence_limit_is_passed(models_dir: Path, tmp_path: Path) -> None:
    async with app_client(models_dir, tmp_path, max_sentences=20) as (_, client):
        error = error_of(
            await client.post("/v1/classify", json={"text": article_text(60_000)}), 413, "too_many_sentences"
        )
        assert error["details"]["limit"] == 20
        assert 20 < error["details"]["count"] < 150, error


@pytest.mark.parametrize(
    "make_body",
    [
        lambda n: {"text": "A. " * (n // 3 + 1)},
        lambda n: {"documents": [{"text": "Ein Satz. " * (n // 20 + 1)}] * 2},
        lambda n: {"sentences": ["Ein Satz."] * (n // 9 + 1)},
    ],
    ids=["text", "documents", "sentences"],
)
async def test_characters_are_limited_before_splitting(models_dir: Path, tmp_path: Path, make_body) -> None:
    limit = 3000
    async with app_client(models_dir, tmp_path, max_chars=limit) as (_, client):
        error = error_of(await client.post("/v1/classify", json=make_body(limit)), 413, "too_many_characters")
        assert error["details"]["limit"] == limit
        assert error["details"]["count"] > limit
        assert "HALTUNG_MAX_CHARS" in error["message"]


async def test_the_issues_a_dot_text_is_refused_at_once_by_the_character_limit(
    models_dir: Path, tmp_path: Path
) -> None:
    async with app_client(models_dir, tmp_path) as (_, client):
        started = time.monotonic()
        response = await client.post("/v1/classify", json={"text": "A. " * 340_000})
        error = error_of(response, 413, "too_many_characters")
        assert error["details"] == {"count": 1_020_000, "limit": 250_000}
        assert time.monotonic() - started < 5


async def test_an_answer_over_the_response_ceiling_is_refused_before_scoring(models_dir: Path, tmp_path: Path) -> None:
    async with app_client(models_dir, tmp_path, max_response_bytes=20_000) as (_, client):
        body = {"text": ARTICLE, "targets": REFERENCE_TARGETS, "explain": 5}
        error = error_of(await client.post("/v1/classify", json=body), 413, "response_too_large")
        assert error["details"]["estimated"] is True
        assert error["details"]["bytes"] > error["details"]["limit"] == 20_000
        assert "HALTUNG_MAX_RESPONSE_BYTES" in error["message"]
        small = await client.post("/v1/classify", json={"text": "Ein Satz."})
        assert small.status_code == 200
        assert len(small.content) < 20_000
