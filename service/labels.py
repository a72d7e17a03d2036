"""The label store: users' corrected sentences, durable in SQLite, exported in the training format.

A label is keyed by `(text, target)`: posting the same pair again replaces its labels and keeps its
id. A batch is validated like training data (training.LabelledRow, the one label schema) and stored in one
transaction, so it is accepted whole or rejected whole with every row's problems.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from service.db import DB_FILE, Database
from service.errors import InvalidCursor, LabelsRejected
from training import Example, Label, LabelledRow

SOURCE = "labels"  # the `source` of exported rows: per-source scores in evaluation reports
MAX_PAGE = 1000
MAX_SEQ = 2**63 - 1  # the largest SQLite INTEGER


class StoredLabel(Label):
    """A label as the store keeps it: the labelled sentence plus its id and timestamps."""

    id: str
    created_at: str
    updated_at: str

    def to_example(self) -> Example:
        return Example(self.text, self.target, self.stance, self.sentiment, self.id, SOURCE)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(include=_PUBLIC)


_PUBLIC = {"id", "text", "target", "stance", "sentiment", "created_at", "updated_at"}


@dataclass(frozen=True)
class Stored:
    ids: list[str]
    created: int
    updated: int


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _label(row: Mapping[str, Any]) -> StoredLabel:
    """A row read back from the database was validated when it was stored: no second validation."""
    fields = ("id", "text", "stance", "sentiment", "created_at", "updated_at")
    return StoredLabel.model_construct(target=row["target"] or None, **{f: row[f] for f in fields})


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"seq:{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, seq = raw.partition(":")
        if prefix != "seq" or not seq.isascii() or not seq.isdigit() or int(seq) > MAX_SEQ:
            raise ValueError(raw)  # also a number SQLite's 64-bit integers cannot hold
        return int(seq)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidCursor(f"invalid cursor {cursor!r}: pass the next_cursor of a previous page") from None


class LabelStore:
    def __init__(self, path: Path) -> None:
        self.db = Database(path)

    @classmethod
    def in_dir(cls, data_dir: Path) -> LabelStore:
        return cls(Path(data_dir) / DB_FILE)

    def close(self) -> None:
        self.db.close()

    def upsert(self, records: Sequence[Mapping[str, Any]]) -> Stored:
        """Validate every row, then store all of them in one transaction, or none (LabelsRejected)."""
        examples: list[tuple[LabelledRow, str | None]] = []
        errors: list[dict[str, Any]] = []
        for i, record in enumerate(records):
            row, problems = LabelledRow.check(record)
            if row is None:
                errors.append({"row": i, "errors": problems})
            else:
                examples.append((row, row.id))
        if errors:
            raise LabelsRejected(errors)
        with self.db.write() as conn:
            errors = _id_conflicts(conn, [(e.text, e.target or "", given) for e, given in examples])
            if errors:
                raise LabelsRejected(errors)
            ids, created, now = [], 0, _now()
            for example, given in examples:
                key = (example.text, example.target or "")
                existing = conn.execute("SELECT id FROM labels WHERE text = ? AND target = ?", key).fetchone()
                label_id = existing["id"] if existing else given or f"lab_{uuid.uuid4().hex}"
                conn.execute(
                    "INSERT INTO labels (id, text, target, stance, sentiment, created_at, updated_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (text, target) DO UPDATE SET "
                    "stance = excluded.stance, sentiment = excluded.sentiment, updated_at = excluded.updated_at",
                    (label_id, *key, example.stance, example.sentiment, now, now),
                )
                ids.append(label_id)
                created += existing is None
        return Stored(ids, created, len(ids) - created)

    def page(self, cursor: str | None = None, limit: int = 100) -> tuple[list[StoredLabel], str | None]:
        """Labels in insertion order after `cursor`; the next cursor is None on the last page."""
        if not 1 <= limit <= MAX_PAGE:
            raise ValueError(f"limit must be between 1 and {MAX_PAGE}")
        after = decode_cursor(cursor) if cursor else 0
        with self.db.read() as conn:
            query = "SELECT * FROM labels WHERE seq > ? ORDER BY seq LIMIT ?"
            rows = conn.execute(query, (after, limit + 1)).fetchall()
        more = len(rows) > limit
        rows = rows[:limit]
        return [_label(r) for r in rows], encode_cursor(rows[-1]["seq"]) if more else None

    def __iter__(self) -> Iterator[StoredLabel]:
        """All labels, page by page (the lock is not held between pages, so writers are not blocked)."""
        cursor: str | None = None
        while True:
            labels, cursor = self.page(cursor, MAX_PAGE)
            yield from labels
            if cursor is None:
                return

    def export_lines(self) -> Iterator[str]:
        """JSONL in the training format (source "labels"), one line per label."""
        for label in self:
            yield json.dumps(label.to_example().to_json(), ensure_ascii=False) + "\n"

    def examples(self) -> list[Example]:
        """Every label as a training row (source "labels"): what a retrain job trains on."""
        return [label.to_example() for label in self]

    def export_to(self, path: Path) -> int:
        """Write a JSONL snapshot for a retrain; returns the number of rows."""
        count = 0
        with open(path, "w", encoding="utf-8") as out:
            for line in self.export_lines():
                out.write(line)
                count += 1
        return count

    def get(self, label_id: str) -> StoredLabel | None:
        with self.db.read() as conn:
            row = conn.execute("SELECT * FROM labels WHERE id = ?", (label_id,)).fetchone()
        return _label(row) if row else None

    def delete(self, label_id: str) -> bool:
        with self.db.write() as conn:
            return conn.execute("DELETE FROM labels WHERE id = ?", (label_id,)).rowcount > 0

    def count(self) -> int:
        with self.db.read() as conn:
            return int(conn.execute("SELECT COUNT(*) FROM labels").fetchone()[0])


def _id_conflicts(conn: Any, rows: list[tuple[str, str, str | None]]) -> list[dict[str, Any]]:
    """A client-given id must not name another (text, target), in the database or in the batch."""
    errors: list[dict[str, Any]] = []
    claimed: dict[str, tuple[str, str]] = {}
    for i, (text, target, given) in enumerate(rows):
        if given is None:
            continue
        stored = conn.execute("SELECT text, target FROM labels WHERE id = ?", (given,)).fetchone()
        other = (stored["text"], stored["target"]) if stored else claimed.get(given)
        if other is not None and other != (text, target):
            errors.append({"row": i, "errors": [f"id {given!r} already names another (text, target)"]})
        claimed.setdefault(given, (text, target))
    return errors
