"""The starter corpus (training/corpus): schema, size, topics, label balance, uniqueness, data card."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.feature_extraction.text import CountVectorizer

from training.data import HEADS, STARTER_DIR, Example, data_files
from training.targets import find_mention, is_question

TOPICS = {
    "politics",
    "war_security",
    "economy",
    "energy_climate",
    "health",
    "migration",
    "sport",
    "culture",
    "technology",
    "society",
    "justice",
    "international",
    "mobility",
    "comments",
}
MAX_JACCARD = 0.6


@pytest.fixture(scope="module")
def raw_rows() -> list[tuple[Path, int, dict[str, Any]]]:
    """(file, line, row) as written, with the fields read_examples does not keep (topic)."""
    rows = []
    for file in sorted(STARTER_DIR.glob("*.jsonl")):
        for line, text in enumerate(file.read_text(encoding="utf-8").split("\n"), start=1):
            if text.strip():
                rows.append((file, line, json.loads(text)))
    return rows


def test_schema_is_valid_and_no_row_is_dropped(
    starter_examples: list[Example], raw_rows: list[tuple[Path, int, dict[str, Any]]]
) -> None:
    # `starter_examples` is read_examples(["starter"]): it raises DataError on any schema problem.
    assert data_files("starter") == sorted(STARTER_DIR.glob("*.jsonl"))
    assert len(starter_examples) == len(raw_rows)
    assert [e.id for e in starter_examples] == [row["id"] for _, _, row in raw_rows]


def test_at_least_1500_rows(starter_examples: list[Example]) -> None:
    assert len(starter_examples) >= 1500, f"the starter corpus has only {len(starter_examples)} rows"


def test_at_least_8_topics_each_in_its_own_file(raw_rows: list[tuple[Path, int, dict[str, Any]]]) -> None:
    topics = Counter(row.get("topic") for _, _, row in raw_rows)
    assert set(topics) <= TOPICS, f"unknown topics: {set(topics) - TOPICS}"
    assert len(topics) >= 8, f"only {len(topics)} topics: {sorted(topics)}"
    misplaced = [f"{f.name}:{n}" for f, n, row in raw_rows if f.stem != row.get("topic")]
    assert not misplaced, f"rows whose topic is not their file's: {misplaced[:10]}"


@pytest.mark.parametrize("head", list(HEADS))
def test_every_label_holds_at_least_20_percent_of_its_head(starter_examples: list[Example], head: str) -> None:
    counts = Counter(e.label(head) for e in starter_examples if e.label(head))
    total = sum(counts.values())
    shares = {label: counts[label] / total for label in HEADS[head]}
    assert all(share >= 0.2 for share in shares.values()), f"{head} label shares: {shares}"


def test_every_row_has_sentiment(starter_examples: list[Example]) -> None:
    missing = [e.id for e in starter_examples if e.sentiment is None]
    assert not missing, f"rows without sentiment: {missing[:10]}"


def test_target_and_stance_come_together(starter_examples: list[Example]) -> None:
    target_without_stance = [e.id for e in starter_examples if e.target and not e.stance]
    stance_without_target = [e.id for e in starter_examples if e.stance and not e.target]
    assert not target_without_stance, f"target set but no stance: {target_without_stance[:10]}"
    assert not stance_without_target, f"stance set but no target: {stance_without_target[:10]}"


def test_ids_unique_and_named_by_topic(raw_rows: list[tuple[Path, int, dict[str, Any]]]) -> None:
    ids = Counter(row["id"] for _, _, row in raw_rows)
    assert not [i for i, n in ids.items() if n > 1]
    badly_named = [row["id"] for _, _, row in raw_rows if not re.fullmatch(rf"{row['topic']}-\d{{4}}", row["id"])]
    assert not badly_named, badly_named[:10]
    assert {row.get("source") for _, _, row in raw_rows} == {"haltung-starter"}


def test_no_near_duplicates(starter_examples: list[Example]) -> None:
    """Word-set Jaccard of every pair ≤ 0.6 (one sparse product), except one text labelled for two targets."""
    texts = [e.text for e in starter_examples]
    words = CountVectorizer(binary=True, lowercase=True, token_pattern=r"(?u)\b\w+\b").fit_transform(texts)
    sizes = np.asarray(words.sum(axis=1)).ravel()
    shared = (words @ words.T).tocoo()  # |A ∩ B| for every pair sharing at least one word
    upper = shared.row < shared.col
    i, j, both = shared.row[upper], shared.col[upper], shared.data[upper]
    jaccard = both / (sizes[i] + sizes[j] - both)
    close = np.flatnonzero(jaccard > MAX_JACCARD)
    # One sentence labelled for several targets ("X kritisiert Y") is one text with several rows, not a copy.
    several_targets = [
        starter_examples[i[k]].text == starter_examples[j[k]].text
        and starter_examples[i[k]].target != starter_examples[j[k]].target
        for k in close
    ]
    close = close[~np.array(several_targets, dtype=bool)] if len(close) else close
    pairs = [f"{jaccard[k]:.2f} {starter_examples[i[k]].id} ~ {starter_examples[j[k]].id}" for k in close]
    assert not pairs, f"{len(pairs)} near-duplicate pairs: {pairs[:20]}"


def test_jaccard_check_catches_a_near_duplicate() -> None:
    texts = [
        "Die Regierung hat die Warnungen der Fachleute monatelang ignoriert.",
        "Die Regierung hat die Warnungen der Experten monatelang ignoriert.",
        "Der Ausschuss tagt am Donnerstag.",
    ]
    words = CountVectorizer(binary=True, lowercase=True, token_pattern=r"(?u)\b\w+\b").fit_transform(texts)
    sizes = np.asarray(words.sum(axis=1)).ravel()
    both = (words @ words.T).toarray()
    assert both[0, 1] / (sizes[0] + sizes[1] - both[0, 1]) == pytest.approx(7 / 9)
    assert both[0, 2] / (sizes[0] + sizes[2] - both[0, 2]) < MAX_JACCARD


def test_named_targets_are_found_in_their_text(starter_examples: list[Example]) -> None:
    """The stance head reads the words around the target's mention, so names must be findable."""
    named = [e for e in starter_examples if e.target and not is_question(e.target)]
    lost = [f"{e.id}: {e.target!r}" for e in named if find_mention(e.text, e.target) is None]
    assert len(lost) <= 0.02 * len(named), f"{len(lost)} of {len(named)} targets not found: {lost[:10]}"
    questions = [e for e in starter_examples if e.target and is_question(e.target)]
    assert questions, "the corpus should hold question targets that the text does not name"


def test_data_card_exists() -> None:
    card = STARTER_DIR / "DATA_CARD.md"
    assert card.is_file()
    text = card.read_text(encoding="utf-8")
    assert "CC0" in text
    schema = re.search(r"`\{(.*)\}`", text)
    assert schema, "the data card documents the row schema"
    for field in ("id", "text", "target", "stance", "sentiment", "source", "topic"):
        assert f'"{field}"' in schema.group(1)
