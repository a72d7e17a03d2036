"""Retrain job records, in the same SQLite file as the labels, shared by every worker process.

The "one retrain at a time" rule lives here, in an IMMEDIATE transaction, so it holds across all
worker processes. The supervising worker beats a heartbeat while it waits; a `running` job whose
heartbeat stopped (its worker died) and whose training process is gone is finished from the result
file that process wrote, or marked `failed`. Either check alone would misjudge: a worker may still
be recording the outcome of a process that just ended, and a training process outlives its worker.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from service.db import DB_FILE, Database

ACTIVE = ("queued", "running")
FINAL = ("succeeded", "rejected", "failed")
QUEUED_GRACE_S = 120.0  # a job is queued only while its labels are exported; longer means its worker died
HEARTBEAT_S, STALE_AFTER_S = 1.0, 5.0  # a supervisor silent for STALE_AFTER_S is taken for dead
RESULT_FILE, LOG_FILE, LABELS_FILE = "result.json", "train.log", "labels.jsonl"
_JOB_ID_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_")

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL CHECK (status IN ({", ".join(repr(s) for s in ACTIVE + FINAL)})),
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
"""


class RetrainRunning(RuntimeError):
    def __init__(self, job_id: str) -> None:
        super().__init__(f"retrain job {job_id} is still queued or running")
        self.job_id = job_id


def _iso(ts: float | None) -> str | None:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds") if ts is not None else None


@dataclass(frozen=True)
class Job:
    id: str
    status: str
    force: bool
    created_at: float
    started_at: float | None
    finished_at: float | None
    pid: int | None
    exit_code: int | None
    result: dict[str, Any] | None
    error: str | None

    def to_json(self) -> dict[str, Any]:
        """The API view: the record plus the result's versions, gate, metrics and timings."""
        result = self.result or {}
        end = self.finished_at or time.time()
        return {
            "job_id": self.id,
            "status": self.status,
            "force": self.force,
            "created_at": _iso(self.created_at),
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at),
            "duration_s": round(end - self.started_at, 3) if self.started_at else None,
            "pid": self.pid,
            "exit_code": self.exit_code,
            "error": self.error,
            **{k: result.get(k) for k in ("candidate_version", "baseline_version", "promoted", "note")},
            **{k: result.get(k) for k in ("gate", "metrics", "data", "timings")},
        }


def _job(row: Any) -> Job:
    result = json.loads(row["result"]) if row["result"] else None
    times = (row["created_at"], row["started_at"], row["finished_at"])
    return Job(row["id"], row["status"], bool(row["force"]), *times, row["pid"], row["exit_code"], result, row["error"])


def retrain_process_alive(pid: int, marker: str) -> bool:
    """Is `pid` still the training process whose command line names `marker` (pids get reused)?"""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    proc = Path(f"/proc/{pid}")
    if not proc.is_dir():  # no procfs: the signal check is all there is
        return True
    try:
        state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X") and marker.encode() in (proc / "cmdline").read_bytes()
    except (OSError, IndexError):
        return False


class JobStore:
    def __init__(self, path: Path, jobs_dir: Path, stale_after: float = STALE_AFTER_S) -> None:
        self.db = Database(path, _SCHEMA)
        self.jobs_dir = Path(jobs_dir)
        self.stale_after = stale_after

    @classmethod
    def in_dir(cls, data_dir: Path, stale_after: float = STALE_AFTER_S) -> JobStore:
        return cls(Path(data_dir) / DB_FILE, Path(data_dir) / "jobs", stale_after)

    def close(self) -> None:
        self.db.close()

    def workdir(self, job_id: str) -> Path:
        """Where a job's label snapshot, log and result live: data_dir/jobs/<id>/."""
        return self.jobs_dir / job_id

    def create(self, force: bool) -> Job:
        """Queue a job unless one is queued or running in any worker process (RetrainRunning)."""
        job_id = f"job_{uuid.uuid4().hex}"
        with self.db.write() as conn:
            active = conn.execute(
                f"SELECT id FROM jobs WHERE status IN ({','.join('?' * len(ACTIVE))}) LIMIT 1", ACTIVE
            ).fetchone()
            if active:
                raise RetrainRunning(active["id"])
            conn.execute(
                "INSERT INTO jobs (id, status, force, created_at) VALUES (?, 'queued', ?, ?)",
                (job_id, int(force), time.time()),
            )
        job = self.get(job_id)
        assert job is not None
        return job

    def mark_running(self, job_id: str, pid: int) -> None:
        now = time.time()
        with self.db.write() as conn:
            conn.execute(
                "UPDATE jobs SET status = 'running', pid = ?, started_at = ?, heartbeat_at = ? "
                "WHERE id = ? AND status = 'queued'",
                (pid, now, now, job_id),
            )

    def heartbeat(self, job_id: str) -> None:
        with self.db.write() as conn:
            conn.execute("UPDATE jobs SET heartbeat_at = ? WHERE id = ?", (time.time(), job_id))

    def finish(
        self,
        job_id: str,
        status: str,
        *,
        exit_code: int | None = None,
        result: dict[str, Any] | None = None,
        error: str | None = None,
        only_if: str | None = None,
    ) -> bool:
        """Record the outcome; with `only_if`, only while the job still has that status (no overwrite)."""
        if status not in FINAL:
            raise ValueError(f"not a final status: {status}")
        query = "UPDATE jobs SET status = ?, finished_at = ?, exit_code = ?, result = ?, error = ? WHERE id = ?"
        args: list[Any] = [status, time.time(), exit_code, json.dumps(result) if result else None, error, job_id]
        if only_if:
            query += " AND status = ?"
            args.append(only_if)
        with self.db.write() as conn:
            return conn.execute(query, args).rowcount > 0

    def get(self, job_id: str) -> Job | None:
        if not job_id or not set(job_id) <= _JOB_ID_CHARS:
            return None
        with self.db.read() as conn:
            row = conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return _job(row) if row else None

    def _active(self) -> list[tuple[Job, float | None]]:
        with self.db.read() as conn:
            rows = conn.execute(f"SELECT * FROM jobs WHERE status IN ({','.join('?' * len(ACTIVE))})", ACTIVE)
            return [(_job(r), r["heartbeat_at"]) for r in rows.fetchall()]

    def reap(self) -> list[str]:
        """Finish jobs whose supervising worker died; return their ids.

        A running job whose supervisor went silent and whose training process is gone ends as its
        result file says (the process outlived its worker and finished), else `failed`. A job queued
        for too long never started.
        """
        reaped = []
        for job, heartbeat in self._active():
            silent = heartbeat is None or time.time() - heartbeat > self.stale_after
            if job.status == "running" and silent and not retrain_process_alive(job.pid or 0, job.id):
                result = self.read_result(job.id)
                if result is not None:
                    done = self.finish(job.id, result["status"], result=result, only_if="running")
                else:
                    error = f"the training process {job.pid} is gone and no worker recorded how it ended"
                    done = self.finish(job.id, "failed", error=error, only_if="running")
            elif job.status == "queued" and time.time() - job.created_at > QUEUED_GRACE_S:
                error = "the job never started: the worker that accepted it stopped"
                done = self.finish(job.id, "failed", error=error, only_if="queued")
            else:
                continue
            if done:
                reaped.append(job.id)
        return reaped

    def read_result(self, job_id: str) -> dict[str, Any] | None:
        try:
            result = json.loads((self.workdir(job_id) / RESULT_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return result if isinstance(result, dict) and result.get("status") in ("succeeded", "rejected") else None
