"""Labelled data: reading and validating JSONL/CSV files in Haltung's training format.

Every problem in every file is collected and reported at once, with file and line, so that a user
fixes a file in one pass — and no row is ever dropped silently.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from training.errors import DataError
from training.schema import LABELS, LabelledRow, Sentiment, Stance

HEADS: dict[str, tuple[str, ...]] = LABELS  # head -> its label set
DATA_SUFFIXES = (".jsonl", ".csv")
STARTER = "starter"
STARTER_DIR = Path(__file__).resolve().parent / "corpus"


@dataclass(frozen=True, slots=True)
class Example:
    """One validated row in memory (see `LabelledRow` for the rules); a row may label one head or both."""

    text: str
    target: str | None = None
    stance: Stance | None = None
    sentiment: Sentiment | None = None
    id: str | None = None
    source: str | None = None
    target_span: tuple[int, int] | None = None

    def label(self, head: str) -> str | None:
        return self.stance if head == "stance" else self.sentiment

    def to_json(self) -> dict[str, Any]:
        row = asdict(self)
        row["target_span"] = list(self.target_span) if self.target_span else None
        return {k: v for k, v in row.items() if v is not None}


@dataclass(frozen=True, slots=True)
class Problem:
    where: str
    line: int | None
    message: str

    def __str__(self) -> str:
        return f"{self.where}:{self.line}: {self.message}" if self.line else f"{self.where}: {self.message}"


def validate_record(record: Any, *, require_label: bool = True) -> tuple[Example | None, list[str]]:
    """Check one row against `LabelledRow`; return the example, or None and the list of problems."""
    row, problems = LabelledRow.check(record, require_label=require_label)
    if row is None:
        return None, problems
    return Example(row.text, row.target, row.stance, row.sentiment, row.id, row.source, row.target_span), []


def data_files(path: str | Path) -> list[Path]:
    """A file, a directory of .jsonl/.csv files, or 'starter' for the embedded corpus."""
    if str(path) == STARTER:
        path = STARTER_DIR
    p = Path(path)
    if p.is_dir():
        files = sorted(f for f in p.rglob("*") if f.suffix in DATA_SUFFIXES and f.is_file())
        if not files:
            raise DataError([Problem(str(p), None, "directory holds no .jsonl or .csv file")])
        return files
    if not p.is_file():
        raise DataError([Problem(str(p), None, "no such file or directory")])
    return [p]


def read_examples(paths: Iterable[str | Path], *, require_label: bool = True) -> list[Example]:
    """Read and validate every file; raise one DataError listing all problems."""
    examples: list[Example] = []
    problems: list[Problem] = []
    seen: dict[tuple[str | None, str], str] = {}
    for path in paths:
        try:
            files = data_files(path)
        except DataError as err:
            problems += err.problems
            continue
        for file in files:
            rows = 0
            for line, record, parse_error in _records(file):
                rows += 1
                if parse_error:
                    problems.append(Problem(str(file), line, parse_error))
                    continue
                example, errors = validate_record(record, require_label=require_label)
                problems += [Problem(str(file), line, e) for e in errors]
                if example is None:
                    continue
                if example.id is not None:
                    key = (example.source, example.id)
                    if key in seen:
                        problems.append(Problem(str(file), line, f"duplicate id {example.id!r} (first at {seen[key]})"))
                        continue
                    seen[key] = f"{file}:{line}"
                examples.append(example)
            if rows == 0:
                problems.append(Problem(str(file), None, "empty file: no rows"))
    if problems:
        raise DataError(problems, "labelled data" if require_label else "input data")
    return examples


def _records(file: Path) -> Iterator[tuple[int, Any, str | None]]:
    """Yield (line number, parsed row, parse error) for a JSONL or CSV file."""
    raw = file.read_bytes()
    if file.suffix == ".csv":
        yield from _csv_records(raw)
        return
    raw = raw.removeprefix(b"\xef\xbb\xbf")  # a UTF-8 byte-order mark, as some editors write
    for number, line in enumerate(raw.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            decoded = line.decode("utf-8")
        except UnicodeDecodeError as err:
            yield number, None, f"not valid UTF-8 ({err.reason} at byte {err.start})"
            continue
        try:
            yield number, json.loads(decoded), None
        except json.JSONDecodeError as err:
            yield number, None, f"not valid JSON ({err.msg}, column {err.colno})"


def _csv_records(raw: bytes) -> Iterator[tuple[int, Any, str | None]]:
    lines = raw.split(b"\n")
    for number, line in enumerate(lines, start=1):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as err:
            yield number, None, f"not valid UTF-8 ({err.reason} at byte {err.start})"
            return
    reader = csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline=""))
    if reader.fieldnames is None:
        return
    if "text" not in reader.fieldnames:
        yield 1, None, f"CSV header has no 'text' column (columns: {', '.join(reader.fieldnames)})"
        return
    # Extra columns (domain, topic, ...) are allowed, as in the shared data, and ignored.
    for row in reader:
        record: dict[str, Any] = {k: (v if v != "" else None) for k, v in row.items() if k is not None}
        if None in row:
            yield reader.line_num, None, "more cells than header columns"
            continue
        yield reader.line_num, record, None


def write_jsonl(examples: Iterable[Mapping[str, Any]], out: io.TextIOBase | Any) -> None:
    for row in examples:
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
