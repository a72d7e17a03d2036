"""Reading and validating labelled data: every problem reported at once, with file and line; no row dropped."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from training.data import DataError, Example, Problem, data_files, read_examples, validate_record


def jsonl(path: Path, *rows: Any) -> Path:
    """Write rows (dicts are dumped as JSON, str and bytes are written as they are) one per line."""
    lines = [
        r if isinstance(r, bytes) else (r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)).encode()
        for r in rows
    ]
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def problems(paths: list[Path | str], **kw: Any) -> list[tuple[str, int | None, str]]:
    with pytest.raises(DataError) as err:
        read_examples(paths, **kw)
    return [(p.where, p.line, p.message) for p in err.value.problems]


def only_problem(path: Path) -> tuple[str, int | None, str]:
    found = problems([path])
    assert len(found) == 1, found
    return found[0]


GOOD = {"text": "Der Bundestag hat das Gesetz mit großer Mehrheit beschlossen.", "sentiment": "neutral"}


# --- one kind of problem at a time, each with its exact file and line ---------------------------------------------


def test_missing_text_names_file_and_line(tmp_path: Path) -> None:
    f = jsonl(tmp_path / "a.jsonl", GOOD, {"target": "Regierung", "stance": "favor"})
    assert only_problem(f) == (str(f), 2, "missing 'text'")


@pytest.mark.parametrize("text", ["", "   ", "\t\n "])
def test_empty_or_whitespace_text(tmp_path: Path, text: str) -> None:
    f = jsonl(tmp_path / "a.jsonl", GOOD, GOOD | {"text": "Zweiter Satz."}, {"text": text, "sentiment": "neutral"})
    assert only_problem(f) == (str(f), 3, "empty 'text'")


def test_unknown_labels(tmp_path: Path) -> None:
    f = jsonl(
        tmp_path / "a.jsonl",
        {"text": "Die Lage ist gut.", "sentiment": "positiv"},
        {"text": "Die Regierung irrt.", "target": "Regierung", "stance": "support"},
    )
    found = problems([f])
    assert found == [
        (str(f), 1, "unknown sentiment label 'positiv' (expected one of negative, neutral, positive)"),
        (str(f), 2, "unknown stance label 'support' (expected one of against, favor, neutral)"),
    ]


def test_wrong_types_are_each_reported(tmp_path: Path) -> None:
    f = jsonl(
        tmp_path / "a.jsonl",
        {"text": "Die Regierung irrt.", "target": "Regierung", "stance": 3},
        {"text": 5, "sentiment": "neutral"},
        {"text": "Ein Satz.", "sentiment": "neutral", "id": 1.5},
        {"text": "Ein Satz.", "sentiment": "neutral", "target": ["Regierung"]},
    )
    assert problems([f]) == [
        (str(f), 1, "'stance' must be a string, got int"),
        (str(f), 2, "'text' must be a string, got int"),
        (str(f), 3, "'id' must be a string, got float"),
        (str(f), 4, "'target' must be a string, got list"),
    ]


def test_row_that_is_not_an_object(tmp_path: Path) -> None:
    f = jsonl(tmp_path / "a.jsonl", GOOD, '["Ein Satz.", "neutral"]')
    where, line, message = only_problem(f)
    assert (where, line) == (str(f), 2)
    assert message == "expected an object with a 'text' field, got list"


def test_bad_utf8_line_is_reported_and_other_lines_still_checked(tmp_path: Path) -> None:
    f = jsonl(
        tmp_path / "a.jsonl",
        GOOD,
        b'{"text": "Gr\xfc\xdfe aus K\xf6ln", "sentiment": "positive"}',  # Latin-1, not UTF-8
        {"text": "Dritte Zeile.", "sentiment": "falsch"},
    )
    found = problems([f])
    assert [(w, line) for w, line, _ in found] == [(str(f), 2), (str(f), 3)]
    assert found[0][2].startswith("not valid UTF-8")
    assert "unknown sentiment label 'falsch'" in found[1][2]


def test_invalid_json_line(tmp_path: Path) -> None:
    broken = '{"text": "Ohne Ende", "sentiment": "neutral"'
    f = jsonl(tmp_path / "a.jsonl", GOOD, broken, GOOD | {"text": "Noch einer."})
    where, line, message = only_problem(f)
    assert (where, line) == (str(f), 2)
    assert message.startswith("not valid JSON")


def test_line_numbers_count_blank_lines(tmp_path: Path) -> None:
    f = tmp_path / "a.jsonl"
    bad = json.dumps({"text": "x", "sentiment": "gut"})
    f.write_text(json.dumps(GOOD) + "\n\n   \n" + bad + "\n", encoding="utf-8")
    assert only_problem(f)[1] == 4


@pytest.mark.parametrize("content", [b"", b"\n\n  \n"])
def test_empty_file(tmp_path: Path, content: bytes) -> None:
    f = tmp_path / "empty.jsonl"
    f.write_bytes(content)
    assert only_problem(f) == (str(f), None, "empty file: no rows")
    assert f"{f}: empty file: no rows" in str(Problem(str(f), None, "empty file: no rows"))


def test_duplicate_ids_within_a_source(tmp_path: Path) -> None:
    a = jsonl(tmp_path / "a.jsonl", GOOD | {"id": "x1", "source": "s"}, GOOD | {"id": 7, "source": "s"})
    b = jsonl(
        tmp_path / "b.jsonl",
        GOOD | {"id": "x1", "source": "other"},  # same id, other source: fine
        GOOD | {"id": "7", "source": "s"},  # 7 and "7" are the same id
        GOOD | {"id": "x1", "source": "s"},
    )
    assert problems([a, b]) == [
        (str(b), 2, f"duplicate id '7' (first at {a}:2)"),
        (str(b), 3, f"duplicate id 'x1' (first at {a}:1)"),
    ]


def test_row_without_any_label(tmp_path: Path) -> None:
    row = {"text": "Ein Satz ohne Etikett.", "target": "Satz", "stance": None, "sentiment": ""}
    f = jsonl(tmp_path / "a.jsonl", row)
    assert only_problem(f) == (str(f), 1, "no label: set 'stance' and/or 'sentiment'")


def test_unlabelled_rows_are_accepted_for_prediction(tmp_path: Path) -> None:
    f = jsonl(tmp_path / "a.jsonl", {"text": "Ein Satz ohne Etikett.", "target": "Satz"}, {"text": "Noch einer."})
    examples = read_examples([f], require_label=False)
    assert examples == [Example("Ein Satz ohne Etikett.", target="Satz"), Example("Noch einer.")]


@pytest.mark.parametrize(
    "span",
    [[5, 2], [0, 999], [-1, 3], [3, 3], [1], [1, 2, 3], [1.0, 3.0], [True, 3], "abc", "[1, 2", {"from": 1}],
)
def test_bad_target_span(tmp_path: Path, span: Any) -> None:
    text = "Die Regierung hat versagt."
    f = jsonl(tmp_path / "a.jsonl", {"text": text, "target": "Regierung", "stance": "against", "target_span": span})
    where, line, message = only_problem(f)
    assert (where, line) == (str(f), 1)
    assert message.startswith("'target_span' must be [from, to]")


@pytest.mark.parametrize("span", [[4, 13], "4:13", "[4, 13]"])
def test_good_target_span_forms(tmp_path: Path, span: Any) -> None:
    text = "Die Regierung hat versagt."
    f = jsonl(tmp_path / "a.jsonl", {"text": text, "target": "Regierung", "stance": "against", "target_span": span})
    (example,) = read_examples([f])
    assert example.target_span == (4, 13)
    assert text[4:13] == "Regierung"


def test_all_problems_of_several_files_in_one_error(tmp_path: Path) -> None:
    a = jsonl(
        tmp_path / "a.jsonl",
        GOOD,
        {"sentiment": "neutral"},
        b"\xff\xfe",
        {"text": "Gut.", "sentiment": "super"},
    )
    b = tmp_path / "b.csv"
    b.write_text("text,stance,target\nDie Regierung irrt.,against,Regierung\n,favor,Regierung\nDer Satz.,,\n")
    empty = tmp_path / "c.jsonl"
    empty.write_text("")
    missing = tmp_path / "nope.jsonl"
    with pytest.raises(DataError) as err:
        read_examples([a, b, empty, missing])
    found = [(p.where, p.line) for p in err.value.problems]
    assert found == [
        (str(a), 2),
        (str(a), 3),
        (str(a), 4),
        (str(b), 3),
        (str(b), 4),
        (str(empty), None),
        (str(missing), None),
    ]
    message = str(err.value)
    assert message.startswith("7 problem(s) in the labelled data:")
    for where, line in found:
        assert (f"{where}:{line}: " if line else f"{where}: ") in message


def test_more_than_fifty_problems_are_all_kept(tmp_path: Path) -> None:
    f = jsonl(tmp_path / "a.jsonl", *[{"text": f"Satz {i}.", "sentiment": "?"} for i in range(60)])
    with pytest.raises(DataError) as err:
        read_examples([f])
    assert [p.line for p in err.value.problems] == list(range(1, 61))
    assert "... and 10 more" in str(err.value)


# --- valid data: everything loads ----------------------------------------------------------------------------------


def test_valid_jsonl_loads_every_row_with_extra_columns(tmp_path: Path) -> None:
    rows = [
        {
            "id": "n-1",
            "text": "Die Regierung hat die Warnungen ignoriert.",
            "target": " Regierung ",
            "stance": "against",
            "sentiment": "negative",
            "source": "news",
            "domain": "news",
            "topic": "politics",
        },
        {"id": 2, "text": "Der Zug kam pünktlich an.", "sentiment": "positive", "domain": "feedback"},
        {
            "text": "Soll das Tempolimit kommen? Ja, unbedingt.",
            "target": "Soll ein Tempolimit kommen?",
            "stance": "favor",
            "sentiment": None,
            "target_span": None,
            "topic": "verkehr",
        },
        {
            "id": "",
            "text": "Heute tagt der Ausschuss.",
            "stance": "neutral",
            "target": "Ausschuss",
            "target_span": [10, 19],
        },
    ]
    f = jsonl(tmp_path / "a.jsonl", *rows)
    examples = read_examples([f])
    assert examples == [
        Example("Die Regierung hat die Warnungen ignoriert.", "Regierung", "against", "negative", "n-1", "news"),
        Example("Der Zug kam pünktlich an.", sentiment="positive", id="2"),
        Example("Soll das Tempolimit kommen? Ja, unbedingt.", "Soll ein Tempolimit kommen?", "favor"),
        Example("Heute tagt der Ausschuss.", "Ausschuss", "neutral", target_span=(10, 19)),
    ]


def test_windows_line_endings_and_many_rows(tmp_path: Path) -> None:
    f = tmp_path / "a.jsonl"
    rows = [
        {"id": str(i), "text": f"Satz Nummer {i}.", "sentiment": ("negative", "neutral", "positive")[i % 3]}
        for i in range(500)
    ]
    f.write_bytes(b"\r\n".join(json.dumps(r).encode() for r in rows))  # no newline at the end either
    examples = read_examples([f])
    assert [e.id for e in examples] == [str(i) for i in range(500)]


def test_example_to_json_round_trips(tmp_path: Path) -> None:
    e = Example("Die Regierung irrt.", "Regierung", "against", None, "a", "s", (4, 13))
    assert e.to_json() == {
        "text": "Die Regierung irrt.",
        "target": "Regierung",
        "stance": "against",
        "id": "a",
        "source": "s",
        "target_span": [4, 13],
    }
    f = jsonl(tmp_path / "a.jsonl", e.to_json())
    assert read_examples([f]) == [e]
    assert validate_record(e.to_json()) == (e, [])


# --- CSV --------------------------------------------------------------------------------------------------------------


def test_csv_with_only_text_and_a_label(tmp_path: Path) -> None:
    f = tmp_path / "a.csv"
    f.write_text(
        'text,sentiment\n"Die Preise steigen, die Löhne nicht.",negative\nDer Zug fährt.,neutral\n', encoding="utf-8"
    )
    assert read_examples([f]) == [
        Example("Die Preise steigen, die Löhne nicht.", sentiment="negative"),
        Example("Der Zug fährt.", sentiment="neutral"),
    ]


def test_csv_with_all_optional_and_extra_columns(tmp_path: Path) -> None:
    f = tmp_path / "a.csv"
    f.write_text(
        "\ufeffid,text,target,stance,sentiment,source,target_span,domain,topic\r\n"
        "1,Die Regierung irrt.,Regierung,against,negative,news,4:13,news,politik\r\n"
        "2,Der Ausschuss tagt.,,,neutral,news,,news,politik\r\n",
        encoding="utf-8",
    )
    assert read_examples([f]) == [
        Example("Die Regierung irrt.", "Regierung", "against", "negative", "1", "news", (4, 13)),
        Example("Der Ausschuss tagt.", sentiment="neutral", id="2", source="news"),
    ]


def test_csv_problems_name_their_lines(tmp_path: Path) -> None:
    f = tmp_path / "a.csv"
    f.write_text("text,stance,target\nDie Regierung irrt.,against,Regierung\nGut.,gut,Regierung\nA,favor,X,zu viel\n")
    assert problems([f]) == [
        (str(f), 3, "unknown stance label 'gut' (expected one of against, favor, neutral)"),
        (str(f), 4, "more cells than header columns"),
    ]


def test_csv_without_text_column(tmp_path: Path) -> None:
    f = tmp_path / "a.csv"
    f.write_text("satz,sentiment\nDie Preise steigen.,negative\n")
    assert only_problem(f) == (str(f), 1, "CSV header has no 'text' column (columns: satz, sentiment)")


def test_csv_with_header_only_or_nothing_is_empty(tmp_path: Path) -> None:
    header_only, nothing = tmp_path / "a.csv", tmp_path / "b.csv"
    header_only.write_text("text,sentiment\n")
    nothing.write_text("")
    assert problems([header_only, nothing]) == [
        (str(header_only), None, "empty file: no rows"),
        (str(nothing), None, "empty file: no rows"),
    ]


def test_csv_bad_utf8(tmp_path: Path) -> None:
    f = tmp_path / "a.csv"
    f.write_bytes(b"text,sentiment\nDer Zug f\xe4hrt.,neutral\n")
    where, line, message = only_problem(f)
    assert (where, line) == (str(f), 2)
    assert message.startswith("not valid UTF-8")


# --- paths ------------------------------------------------------------------------------------------------------------


def test_directory_of_files(tmp_path: Path) -> None:
    d = tmp_path / "data"
    (d / "sub").mkdir(parents=True)
    jsonl(d / "b.jsonl", GOOD | {"id": "b1"}, GOOD | {"id": "b2"})
    (d / "sub" / "a.csv").write_text("id,text,sentiment\na1,Der Zug fährt.,neutral\n", encoding="utf-8")
    (d / "notes.txt").write_text("keine Daten")
    assert data_files(d) == [d / "b.jsonl", d / "sub" / "a.csv"]
    assert [e.id for e in read_examples([d])] == ["b1", "b2", "a1"]


def test_directory_without_data_files(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("keine Daten")
    assert problems([tmp_path]) == [(str(tmp_path), None, "directory holds no .jsonl or .csv file")]


def test_nonexistent_path(tmp_path: Path) -> None:
    missing = tmp_path / "gibt-es-nicht.jsonl"
    assert problems([missing]) == [(str(missing), None, "no such file or directory")]
    assert f"{missing}: no such file or directory" in str(
        DataError([Problem(str(missing), None, "no such file or directory")])
    )


def test_starter_keyword_names_the_embedded_corpus() -> None:
    files = data_files("starter")
    assert files and all(f.parent.name == "corpus" and f.suffix == ".jsonl" for f in files)


def test_jsonl_with_byte_order_mark_is_read(tmp_path: Path) -> None:
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps({"text": "Gute Nachrichten.", "sentiment": "positive"}).encode())
    assert [e.text for e in read_examples([path])] == ["Gute Nachrichten."]
