"""The SQLite file under HALTUNG_DATA_DIR that holds labels and retrain jobs, shared by all workers.

WAL lets readers run beside a writer; `synchronous=FULL` syncs every commit, so a label the API
acknowledged survives `kill -9` and power loss; `busy_timeout` makes worker processes wait for each
other's write lock instead of failing. Writes start with BEGIN IMMEDIATE: the write lock is taken up
front, so two processes never deadlock upgrading a read to a write.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

DB_FILE = "labels.sqlite3"
BUSY_TIMEOUT_S = 30.0


class Database:
    """One connection per store and process; a lock serialises its use by the threadpool's threads."""

    def __init__(self, path: Path, schema: str = "") -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
        self._conn.row_factory = sqlite3.Row
        self._lock = threading.Lock()
        self._conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("PRAGMA synchronous = FULL")
        if schema:
            with self.write() as conn:
                for statement in _statements(schema):
                    conn.execute(statement)

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            yield self._conn

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One IMMEDIATE transaction: committed (and synced) on success, rolled back on any error."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _statements(schema: str) -> list[str]:
    # executescript would COMMIT the open transaction first; run the statements one by one inside it.
    return [s.strip() for s in schema.split(";") if s.strip()]
