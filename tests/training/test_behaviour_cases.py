"""The behaviour suite as data: size, coverage, well-formed cases, clear errors for malformed ones."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from training.behaviour import CAPABILITIES, CaseError, load_suite
from training.behaviour.cases import parse_case, read_cases
from training.behaviour.templates import generated_rows
from training.data import read_examples


def test_suite_has_at_least_400_cases_and_every_capability_is_covered() -> None:
    cases = load_suite()
    assert len(cases) >= 400
    per_capability = Counter(c.capability for c in cases)
    assert set(per_capability) == set(CAPABILITIES)
    assert min(per_capability.values()) >= 30
    assert {c.kind for c in cases} == {"mft", "inv", "dir"}
    heads = Counter(h for c in cases for h in c.heads)
    assert heads["stance"] >= 300 and heads["sentiment"] >= 100


def test_ids_are_unique_and_the_suite_is_deterministic() -> None:
    first, second = load_suite(), load_suite()
    assert len({c.id for c in first}) == len(first)
    assert first == second


def test_cases_round_trip_through_json() -> None:
    for case in load_suite():
        assert parse_case(case.to_json()) == case, case.id


def test_cases_are_sound() -> None:
    """Variants really differ, a stance case names its target, every stance target is found or null-expected."""
    for case in load_suite():
        assert len(set(case.texts)) == len(case.texts), case.id
        if "stance" in case.expect:
            assert all(t is not None for t in case.targets), case.id
        if case.capability == "unmentioned":
            assert case.expect["stance"].labels == frozenset({None}), case.id
        if case.kind == "mft":
            assert all(e.labels for e in case.expect.values()), case.id


def test_template_rows_name_their_capability_in_the_id() -> None:
    rows = generated_rows()
    assert all(r["id"].startswith(f"t-{r['capability']}-") for r in rows)


def test_malformed_case_files_report_every_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(
        "// a comment\n"
        '{"capability": "negation", "kind": "mft", "text": "Gut.", "expect": {"sentiment": "positive"}}\n'
        '{"capability": "nonsense", "kind": "mft", "text": "x", "expect": {"sentiment": "positive"}}\n'
        '{"capability": "negation", "kind": "dir", "texts": ["a"], "expect": {"sentiment": "same"}}\n'
        '{"capability": "negation", "kind": "mft", "text": "x", "expect": {"stance": "favor"}}\n'
        '{"capability": "negation", "kind": "mft", "text": "x", "expect": {"sentiment": "happy"}}\n'
        "not json\n",
        encoding="utf-8",
    )
    with pytest.raises(CaseError) as err:
        read_cases(path)
    lines = {int(m.split(":")[1]): m for m in (line.rsplit("bad.jsonl", 1)[1] for line in str(err.value).splitlines())}
    assert sorted(lines) == [3, 4, 5, 6, 7]  # the comment and the good line are fine
    assert "unknown capability 'nonsense'" in lines[3]
    assert "a dir case needs 2 text(s), got 1" in lines[4]
    assert "a stance expectation needs a target" in lines[5]
    assert "unknown sentiment label(s) 'happy'" in lines[6]


def test_good_file_gets_ids_from_its_lines(tmp_path: Path) -> None:
    path = tmp_path / "mine.jsonl"
    path.write_text(
        '{"capability": "negation", "kind": "mft", "text": "Kein Erfolg.", "expect": {"sentiment": "negative"}}\n'
        '{"id": "own", "capability": "unmentioned", "kind": "mft", "text": "Die Ukraine feiert.", '
        '"target": {"name": "Russland", "aliases": ["Kreml"]}, "expect": {"stance": null}}\n',
        encoding="utf-8",
    )
    first, second = read_cases(path)
    assert first.id == "mine-1" and second.id == "own"
    assert second.targets[0] is not None and second.targets[0].aliases == ("Kreml",)
    assert second.expect["stance"].labels == frozenset({None})


def test_no_case_is_a_training_row_of_the_starter_corpus() -> None:
    """A behaviour case the model was trained on would test memory, not behaviour."""

    def norm(text: str) -> str:
        return " ".join(text.lower().split()).rstrip(" .")

    corpus = {norm(e.text) for e in read_examples(["starter"])}
    leaked = sorted({t for c in load_suite() for t in c.texts if norm(t) in corpus})
    assert not leaked, leaked[:10]


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def test_directional_pairs_change_only_what_they_test() -> None:
    """Negation adds a negator; an intensifier is inserted and nothing else changes."""
    negators = {"nicht", "kein", "keine", "keinen", "keiner", "nie", "niemand"}
    for case in load_suite():
        if case.kind != "dir":
            continue
        base, variant = (_words(t) for t in case.texts)
        added = set(variant) - set(base)
        if case.capability == "negation":
            assert added & negators, case.id
        elif case.capability == "intensifiers":
            assert added and set(base) <= set(variant) and len(variant) - len(base) == len(added), case.id


def test_invariance_variants_differ_in_a_few_words_only() -> None:
    for case in load_suite():
        if case.kind == "inv":
            first = _words(case.texts[0])
            for other in map(_words, case.texts[1:]):
                assert len(set(first) ^ set(other)) <= 4 and abs(len(first) - len(other)) <= 2, case.id
