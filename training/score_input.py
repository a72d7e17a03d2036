"""Documents to score, streamed from files: one article per .txt, or a text column of .jsonl / .csv rows.

Reading is a generator of `(where, document or problem)`: the caller validates every file in one pass
(all problems at once, each with file and line, as `read_examples` does for labelled data) and then
reads again to score, so memory never grows with the number of documents.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from training.data import Problem
from training.errors import DataError

SUFFIXES = (".txt", ".jsonl", ".csv")
DEFAULT_TEXT_COLUMN, DEFAULT_ID_COLUMN = "text", "id"
MAX_PROBLEMS = 50  # stop validating after this many: the first ones say what is wrong
_SURROGATE = re.compile("[\ud800-\udfff]")
csv.field_size_limit(2**31 - 1)  # an article is far longer than csv's default limit of 131,072 characters


@dataclass(frozen=True, slots=True)
class InputDoc:
    id: str
    text: str


@dataclass(frozen=True, slots=True)
class Columns:
    """Where the text and the id are; `id_required` when the user named the id column explicitly."""

    text: str = DEFAULT_TEXT_COLUMN
    id: str = DEFAULT_ID_COLUMN
    id_required: bool = False


Record = tuple[Problem | None, InputDoc | None]


def input_files(paths: Sequence[str | Path]) -> list[Path]:
    """Files to read, in order: each path itself, or a folder's .txt/.jsonl/.csv files (recursive, sorted)."""
    files: list[Path] = []
    problems: list[Problem] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(f for f in path.rglob("*") if f.is_file() and f.suffix.lower() in SUFFIXES)
            if not found:
                problems.append(Problem(str(path), None, f"folder holds no {', '.join(SUFFIXES)} file"))
            files += found
        elif not path.is_file():
            problems.append(Problem(str(path), None, "no such file or folder"))
        elif path.suffix.lower() not in SUFFIXES:
            problems.append(Problem(str(path), None, f"unknown input type; expected one of {', '.join(SUFFIXES)}"))
        else:
            files.append(path)
    if problems:
        raise DataError(problems, "input data")
    return files


def check_inputs(files: Sequence[Path], columns: Columns) -> int:
    """Validate every file in full; the number of documents, or one DataError with every problem."""
    count, problems = 0, list[Problem]()
    for file in files:
        before, found = len(problems), 0
        for problem, doc in records(file, columns):
            if problem:
                problems.append(problem)
                if len(problems) >= MAX_PROBLEMS:
                    raise DataError(problems, "input data")
            elif doc:
                found += 1
        if not found and len(problems) == before:
            problems.append(Problem(str(file), None, "no documents in this file"))
        count += found
    if problems:
        raise DataError(problems, "input data")
    return count


def read_inputs(files: Sequence[Path], columns: Columns) -> Iterator[InputDoc]:
    """The documents, in file order; a problem (a file changed since `check_inputs`) raises DataError."""
    for file in files:
        for problem, doc in records(file, columns):
            if problem:
                raise DataError([problem], "input data")
            if doc:
                yield doc


def records(file: Path, columns: Columns) -> Iterator[Record]:
    suffix = file.suffix.lower()
    if suffix == ".txt":
        yield _text_file(file)
    elif suffix == ".jsonl":
        yield from _jsonl(file, columns)
    else:
        yield from _csv(file, columns)


def _text_file(file: Path) -> Record:
    raw = file.read_bytes().removeprefix(b"\xef\xbb\xbf")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        return Problem(str(file), line, f"not valid UTF-8 ({err.reason} at byte {err.start})"), None
    if not text.strip():
        return Problem(str(file), None, "empty file: no text"), None
    return None, InputDoc(str(file), text)


def _jsonl(file: Path, columns: Columns) -> Iterator[Record]:
    with open(file, "rb") as f:
        for number, raw in enumerate(f, start=1):
            line = raw.removeprefix(b"\xef\xbb\xbf") if number == 1 else raw
            if not line.strip():
                continue
            try:
                row = json.loads(line.decode("utf-8"))
            except UnicodeDecodeError as err:
                yield Problem(str(file), number, f"not valid UTF-8 ({err.reason} at byte {err.start})"), None
                continue
            except json.JSONDecodeError as err:
                yield Problem(str(file), number, f"not valid JSON ({err.msg}, column {err.colno})"), None
                continue
            if not isinstance(row, dict):
                yield Problem(str(file), number, f"expected a JSON object, got {type(row).__name__}"), None
                continue
            yield _document(file, number, row, columns)


def _csv(file: Path, columns: Columns) -> Iterator[Record]:
    with open(file, encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        try:
            header = next(reader, None)
            if header is None:
                yield Problem(str(file), None, "empty file: no header"), None
                return
            missing = [c for c in (columns.text, columns.id if columns.id_required else None) if c and c not in header]
            if missing:
                yield Problem(str(file), 1, f"header has no column {missing} (columns: {', '.join(header)})"), None
                return
            while True:
                start = reader.line_num + 1
                cells = next(reader, None)
                if cells is None:
                    return
                if not any(cells):
                    continue
                if len(cells) != len(header):
                    yield Problem(str(file), start, f"{len(cells)} cells, but the header has {len(header)}"), None
                    continue
                yield _document(file, start, dict(zip(header, cells, strict=True)), columns)
        except UnicodeDecodeError as err:
            yield Problem(str(file), reader.line_num + 1, f"not valid UTF-8 ({err.reason})"), None
        except csv.Error as err:
            yield Problem(str(file), reader.line_num, f"not valid CSV ({err})"), None


def _document(file: Path, line: int, row: dict[str, Any], columns: Columns) -> Record:
    def problem(message: str) -> Record:
        return Problem(str(file), line, message), None

    text = row.get(columns.text)
    if text is None:
        return problem(f"no {columns.text!r} column (use --text-column to name the text's column)")
    if not isinstance(text, str):
        return problem(f"{columns.text!r} must be a string, got {type(text).__name__}")
    if not text.strip():
        return problem(f"{columns.text!r} is empty")
    if match := _SURROGATE.search(text):
        return problem(f"text contains an unpaired UTF-16 surrogate (U+{ord(match.group()):04X})")
    raw_id = row.get(columns.id)
    if raw_id in (None, "") and columns.id_required:
        return problem(f"no {columns.id!r} value (named by --id-column)")
    if raw_id not in (None, "") and (not isinstance(raw_id, str | int) or isinstance(raw_id, bool)):
        return problem(f"{columns.id!r} must be a string or an integer, got {type(raw_id).__name__}")
    doc_id = f"{file.name}:{line}" if raw_id in (None, "") else str(raw_id)
    return None, InputDoc(doc_id, text)
