"""The SQLite file under HALTUNG_DATA_DIR that holds labels and retrain jobs, shared by all workers.

Its schema is versioned with `PRAGMA user_version`: `MIGRATIONS[i]` takes a file from version i to
i + 1, all missing steps run in one transaction when a store opens it, so a file written by an older
Haltung opens (and is upgraded) and a file from a newer one is refused instead of misread. Version 1
is the schema before versioning (its tables already exist in such files, hence IF NOT EXISTS).

The rollback journal (`journal_mode=DELETE`), not WAL: WAL shares its index through a memory-mapped
`-shm` file, and a write to that mapping once the file is immutable (or otherwise cannot take it) ends
the process with SIGBUS — measured here: `chattr +i labels.sqlite3-shm` under an open WAL connection,
next insert, "Bus error". With the journal every failure is an error SQLite returns, and `mmap_size = 0`
keeps the database file itself out of memory maps. Label writes are short, so readers waiting for a
commit (instead of reading beside it, as WAL would allow) cost little. An older WAL file is converted
when a store opens it. `synchronous=FULL` syncs every commit, so a label the API acknowledged survives
`kill -9` and power loss; `busy_timeout` makes worker processes wait for each other's locks instead of
failing. Writes start with BEGIN IMMEDIATE: the write lock is taken up front, so two processes never
deadlock upgrading a read to a write.

A disk that refuses (full, read-only, missing and not creatable, an I/O error, a file that is not a
database) is `StorageUnavailable` (503), never a crash: the connection is opened lazily and dropped after
such an error, so the next use tries again and the store recovers by itself when the disk does. Before
opening, the directory, the file and its `-journal` (and an old file's `-wal`/`-shm`) must be writable,
so a store never starts on files it could only half use.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from service.errors import StorageUnavailable

log = logging.getLogger("haltung")

DB_FILE = "labels.sqlite3"
BUSY_TIMEOUT_S = 30.0
COMPANIONS = ("-journal", "-wal", "-shm")  # files SQLite writes beside the database (-wal/-shm: older files)

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
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        try:
            with self._lock:
                self._connection()
        except StorageUnavailable as err:  # serve what does not need the store; retry on every use
            log.warning("label store unavailable: %s", err.message)

    def _connection(self) -> sqlite3.Connection:
        """The open connection, opened (and migrated) now if it is not (call with the lock held)."""
        if self._conn is None:
            try:
                self._conn = self._open()
            except (sqlite3.Error, OSError) as err:
                raise _unavailable(self.path, err) from None
        return self._conn

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        companions = (self.path.with_name(self.path.name + suffix) for suffix in COMPANIONS)
        for path in (self.path.parent, self.path, *companions):
            if path.exists() and not os.access(path, os.W_OK):
                raise PermissionError(f"{path} is not writable (read-only, immutable or another owner's)")
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
        try:
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            conn.execute("PRAGMA mmap_size = 0")
            if conn.execute("PRAGMA journal_mode = DELETE").fetchone()[0].lower() != "delete":
                raise sqlite3.OperationalError("the old WAL file is in use by another process: not converted yet")
            conn.execute("PRAGMA synchronous = FULL")
            _migrate(conn, self.path)
        except BaseException:
            conn.close()
            raise
        return conn

    def _drop(self) -> None:
        """Close the connection after a storage error: the next use opens a fresh one."""
        if self._conn is not None:
            with suppress(sqlite3.Error):
                self._conn.close()
            self._conn = None

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                yield self._connection()
            except (sqlite3.OperationalError, sqlite3.DatabaseError, OSError) as err:
                if not _is_storage_error(err):
                    raise
                self._drop()
                raise _unavailable(self.path, err) from None

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One IMMEDIATE transaction: committed (and synced) on success, rolled back on any error."""
        with self._lock:
            try:
                conn = self._connection()
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                except BaseException:
                    with suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            except (sqlite3.OperationalError, sqlite3.DatabaseError, OSError) as err:
                if not _is_storage_error(err):
                    raise
                self._drop()
                raise _unavailable(self.path, err) from None

    def close(self) -> None:
        with self._lock:
            self._drop()


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Bring the file to SCHEMA_VERSION in one transaction (SchemaTooNew for a newer file)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            known = f"this Haltung knows up to {SCHEMA_VERSION}: upgrade it"
            raise SchemaTooNew(f"{path} has schema version {version}; {known}")
        for migration in MIGRATIONS[version:]:
            for statement in _statements(migration):
                conn.execute(statement)
        if version < SCHEMA_VERSION:
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    except BaseException:
        with suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _is_storage_error(err: BaseException) -> bool:
    """Errors of the disk or the file (full, read-only, I/O, locked, not a database), not of a statement."""
    if isinstance(err, OSError):
        return True
    if isinstance(err, sqlite3.IntegrityError | sqlite3.ProgrammingError | sqlite3.InterfaceError):
        return False
    return isinstance(err, sqlite3.OperationalError) or type(err) is sqlite3.DatabaseError


def _unavailable(path: Path, err: BaseException) -> StorageUnavailable:
    reason = str(err) or type(err).__name__
    return StorageUnavailable(
        f"The label and job store is unavailable: {reason}. Nothing was changed; try again when the disk is fine.",
        {"path": str(path), "reason": reason},
    )


def _statements(schema: str) -> list[str]:
    # executescript would COMMIT the open transaction first; run the statements one by one inside it.
    return [s.strip() for s in schema.split(";") if s.strip()]
