"""Nothing in the starter corpus was copied from ../shared (licences): no sentence shares most of its
word 4-grams with a labelled row or an article of the shared data, which is read here at run time only."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path

import pytest

from training.data import Example

pytestmark = pytest.mark.shared_data
_WORD = re.compile(r"\w+")
MAX_SHARED = 0.5  # share of a starter sentence's word 4-grams that may also occur in the shared data


def shingles(text: str, n: int = 4) -> set[tuple[str, ...]]:
    words = [w.lower() for w in _WORD.findall(text)]
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def shared_texts(shared_data: Path) -> Iterable[str]:
    for file in sorted(shared_data.glob("*/*.jsonl")):
        with file.open(encoding="utf-8") as rows:
            for line in rows:
                if line.strip():
                    yield json.loads(line)["text"]


@pytest.fixture(scope="module")
def shared_shingles(shared_data: Path) -> set[tuple[str, ...]]:
    seen: set[tuple[str, ...]] = set()
    for text in shared_texts(shared_data):
        seen |= shingles(text)
    return seen


def copied_share(text: str, shared: set[tuple[str, ...]]) -> float:
    own = shingles(text)
    return len(own & shared) / len(own) if own else 0.0


def test_no_starter_sentence_comes_from_the_shared_data(
    starter_examples: list[Example], shared_shingles: set[tuple[str, ...]]
) -> None:
    close = [
        f"{e.id} ({share:.0%}): {e.text}"
        for e in starter_examples
        if (share := copied_share(e.text, shared_shingles)) > MAX_SHARED
    ]
    assert not close, f"{len(close)} starter sentences look copied from ../shared: {close[:10]}"


def test_the_check_catches_a_copied_and_a_lightly_edited_sentence(
    shared_data: Path, shared_shingles: set[tuple[str, ...]]
) -> None:
    text = next(t for t in shared_texts(shared_data) if len(_WORD.findall(t)) >= 20)
    assert copied_share(text, shared_shingles) == 1.0
    words = text.split()
    edited = " ".join(["Laut", "Berichten", *words[:-2]])  # a prefix added, the ending dropped
    assert copied_share(edited, shared_shingles) > MAX_SHARED
