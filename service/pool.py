"""The review queue's pool: unlabelled sentences waiting to be labelled, durable in the label database.

A sentence is stored once per exact text (its id is derived from the text, so adding it again is a
duplicate, not a second row). Which pool sentences are still unlabelled for a head (and target) is one
query against the `labels` table of the same SQLite file: a stored label with the same text and, for
stance, the same target and a stance — for sentiment, a sentiment — takes a sentence out of the queue.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from service.db import DB_FILE, Database
from service.labels import decode_cursor, encode_cursor

MAX_PAGE = 1000


@dataclass(frozen=True, slots=True)
class PoolItem:
    id: str
    text: str
    source: str | None
    added_at: str

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "text": self.text, "source": self.source, "added_at": self.added_at}


@dataclass(frozen=True, slots=True)
class Added:
    added: int
    duplicates: int  # already in the pool, or repeated within the same request
    size: int  # sentences in the pool afterwards


def pool_id(text: str) -> str:
    """The same text always gets the same id: a client can find a sentence it added again."""
    return "pool_" + hashlib.sha256(text.encode()).hexdigest()[:24]


def _item(row: Any) -> PoolItem:
    return PoolItem(row["id"], row["text"], row["source"], row["added_at"])


class PoolStore:
    def __init__(self, path: Path) -> None:
        self.db = Database(path)

    @classmethod
    def in_dir(cls, data_dir: Path) -> PoolStore:
        return cls(Path(data_dir) / DB_FILE)

    def close(self) -> None:
        self.db.close()

    def add(self, texts: Sequence[str], source: str | None = None) -> Added:
        """Store the texts not yet in the pool, in one transaction; exact duplicates are counted, not stored."""
        now = datetime.now(UTC).isoformat(timespec="milliseconds")
        added = 0
        with self.db.write() as conn:
            for text in dict.fromkeys(texts):
                cursor = conn.execute(
                    "INSERT INTO pool (id, text, source, added_at) VALUES (?, ?, ?, ?) ON CONFLICT (text) DO NOTHING",
                    (pool_id(text), text, source, now),
                )
                added += cursor.rowcount
            size = int(conn.execute("SELECT COUNT(*) FROM pool").fetchone()[0])
        return Added(added, len(texts) - added, size)

    def unlabelled(self, head: str, target: str | None = None) -> list[PoolItem]:
        """Pool sentences without a stored label for this head (and, for stance, this target), oldest first."""
        if head == "stance":
            query = (
                "SELECT * FROM pool p WHERE NOT EXISTS (SELECT 1 FROM labels l WHERE l.text = p.text "
                "AND l.target = ? AND l.stance IS NOT NULL) ORDER BY seq"
            )
            params: tuple[str, ...] = ((target or "").strip(),)
        else:
            query = (
                "SELECT * FROM pool p WHERE NOT EXISTS (SELECT 1 FROM labels l WHERE l.text = p.text "
                "AND l.sentiment IS NOT NULL) ORDER BY seq"
            )
            params = ()
        with self.db.read() as conn:
            return [_item(r) for r in conn.execute(query, params).fetchall()]

    def page(self, cursor: str | None = None, limit: int = 100) -> tuple[list[PoolItem], str | None]:
        """Pool sentences in insertion order after `cursor`; the next cursor is None on the last page."""
        if not 1 <= limit <= MAX_PAGE:
            raise ValueError(f"limit must be between 1 and {MAX_PAGE}")
        after = decode_cursor(cursor) if cursor else 0
        with self.db.read() as conn:
            rows = conn.execute("SELECT * FROM pool WHERE seq > ? ORDER BY seq LIMIT ?", (after, limit + 1)).fetchall()
        more = len(rows) > limit
        rows = rows[:limit]
        return [_item(r) for r in rows], encode_cursor(rows[-1]["seq"]) if more else None

    def delete(self, item_id: str) -> bool:
        with self.db.write() as conn:
            return conn.execute("DELETE FROM pool WHERE id = ?", (item_id,)).rowcount > 0

    def size(self) -> int:
        with self.db.read() as conn:
            return int(conn.execute("SELECT COUNT(*) FROM pool").fetchone()[0])
