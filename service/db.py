"""The SQLite file under HALTUNG_DATA_DIR that holds labels and retrain jobs, shared by all workers.

Its schema is versioned with `PRAGMA user_version`: `MIGRATIONS[i]` takes a file from version i to
i + 1, all missing steps run in one transaction when a store opens it, so a file written by an older
Haltung opens (and is upgraded) and a file from a newer one is refused instead of misread. Version 1
is the schema before versioning (its tables already exist in such files, hence IF NOT EXISTS).

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

JOB_STATUSES = ("queued", "running", "succeeded", "rejected", "failed")
MIGRATIONS: tuple[str, ...] = (
    # 1: labels keyed by (text, target) (target '' stands for "no target": NULLs never collide in UNIQUE),
    #    retrain jobs
    f"""
    CREATE TABLE IF NOT EXISTS labels (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        text TEXT NOT NULL,
        target TEXT NOT NULL DEFAULT '',
        stance TEXT,
        sentiment TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (text, target)
    );
    CREATE TABLE IF NOT EXISTS jobs (
        id TEXT PRIMARY KEY,
        status TEXT NOT NULL CHECK (status IN ({", ".join(repr(s) for s in JOB_STATUSES)})),
        force INTEGER NOT NULL,
        created_at REAL NOT NULL,
        started_at REAL,
        finished_at REAL,
        heartbeat_at REAL,
        pid INTEGER,
        exit_code INTEGER,
        result TEXT,
        error TEXT
    );
    CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status)
    """,
    # 2: a retrain job records its own progress lines (no log file beside the database any more)
    "ALTER TABLE jobs ADD COLUMN log TEXT",
    # 3: the review queue's pool of unlabelled sentences (service.pool), one row per distinct text
    """
    CREATE TABLE IF NOT EXISTS pool (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        text TEXT NOT NULL UNIQUE,
        source TEXT,
        added_at TEXT NOT NULL
    )
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


class SchemaTooNew(RuntimeError):
    """The file was written by a newer Haltung: refuse rather than misread it."""


class Database:
    """One connection per store and process; a lock serialises its use by the threadpool's threads."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
        self._conn.row_factory = sqlite3.Row
        self._lock = threading.Lock()
        self._conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("PRAGMA synchronous = FULL")
        self._migrate()

    def _migrate(self) -> None:
        with self.write() as conn:
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            if version > SCHEMA_VERSION:
                raise SchemaTooNew(
                    f"{self.path} has schema version {version}; this Haltung knows up to {SCHEMA_VERSION}: upgrade it"
                )
            for migration in MIGRATIONS[version:]:
                for statement in _statements(migration):
                    conn.execute(statement)
            if version < SCHEMA_VERSION:
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

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
