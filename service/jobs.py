"""Retrain job records, in the same SQLite file as the labels, shared by every worker process.

The row is the one place a retrain's outcome is written, by the job process itself (service.retrain_job):
it marks itself running, beats a heartbeat, records the result, then its final status. The "one
retrain at a time" rule lives here, in an IMMEDIATE transaction, so it holds across all worker
processes. `reap` only catches jobs that died: a running job whose heartbeat stopped *and* whose
process is gone (a niced process under load may beat late; a pid may be reused) is failed — or, when
it had recorded its result, finished as the model repository says: promoted when its candidate is
current or its activation is in the history. So a job's status always matches what is served, even for
a process killed between moving `current` and writing its history line or its final status.
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
from service.errors import RetrainRunning
from training import BundleError, ModelRepository

ACTIVE = ("queued", "running")
FINAL = ("succeeded", "rejected", "failed")
QUEUED_GRACE_S = 120.0  # a job is queued only until its process starts; longer means it never did
HEARTBEAT_S, STALE_AFTER_S = 1.0, 5.0  # a job process silent for STALE_AFTER_S may be dead
LOG_LINES = 20  # the last progress lines a job keeps in its row
_JOB_ID_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_")

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
    log: str | None = None

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
            "log": self.log.splitlines() if self.log else [],
            **{k: result.get(k) for k in ("candidate_version", "baseline_version", "promoted", "note")},
            **{k: result.get(k) for k in ("gate", "metrics", "data", "timings")},
        }


def _job(row: Any) -> Job:
    result = json.loads(row["result"]) if row["result"] else None
    times = (row["created_at"], row["started_at"], row["finished_at"])
    fixed = (row["pid"], row["exit_code"], result, row["error"], row["log"])
    return Job(row["id"], row["status"], bool(row["force"]), *times, *fixed)


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
    def __init__(self, path: Path, stale_after: float = STALE_AFTER_S) -> None:
        self.db = Database(path)
        self.stale_after = stale_after

    @classmethod
    def in_dir(cls, data_dir: Path, stale_after: float = STALE_AFTER_S) -> JobStore:
        return cls(Path(data_dir) / DB_FILE, stale_after)

    def close(self) -> None:
        self.db.close()

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

    def mark_running(self, job_id: str, pid: int) -> bool:
        """The job process claims its queued job; False when it is not queued (any more)."""
        now = time.time()
        with self.db.write() as conn:
            return (
                conn.execute(
                    "UPDATE jobs SET status = 'running', pid = ?, started_at = ?, heartbeat_at = ? "
                    "WHERE id = ? AND status = 'queued'",
                    (pid, now, now, job_id),
                ).rowcount
                > 0
            )

    def heartbeat(self, job_id: str) -> None:
        with self.db.write() as conn:
            conn.execute("UPDATE jobs SET heartbeat_at = ? WHERE id = ?", (time.time(), job_id))

    def append_log(self, job_id: str, line: str) -> None:
        """Keep the job's last LOG_LINES progress lines in its row."""
        with self.db.write() as conn:
            row = conn.execute("SELECT log FROM jobs WHERE id = ?", (job_id,)).fetchone()
            lines = [*(row["log"] or "").splitlines(), line][-LOG_LINES:] if row else [line]
            conn.execute("UPDATE jobs SET log = ? WHERE id = ?", ("\n".join(lines), job_id))

    def record_result(self, job_id: str, result: dict[str, Any]) -> None:
        """The result is known, the activation comes next: if the process dies between, `reap` can tell."""
        with self.db.write() as conn:
            conn.execute("UPDATE jobs SET result = ? WHERE id = ? AND status = 'running'", (json.dumps(result), job_id))

    def finish(
        self,
        job_id: str,
        status: str,
        *,
        exit_code: int | None = None,
        result: dict[str, Any] | None = None,
        error: str | None = None,
        only_if: str | tuple[str, ...] | None = None,
    ) -> bool:
        """Record the outcome; with `only_if`, only while the job still has (one of) those statuses."""
        if status not in FINAL:
            raise ValueError(f"not a final status: {status}")
        query = (
            "UPDATE jobs SET status = ?, finished_at = ?, exit_code = ?, result = COALESCE(?, result), error = ? "
            "WHERE id = ?"
        )
        args: list[Any] = [status, time.time(), exit_code, json.dumps(result) if result else None, error, job_id]
        if only_if:
            allowed = (only_if,) if isinstance(only_if, str) else only_if
            query += f" AND status IN ({','.join('?' * len(allowed))})"
            args += allowed
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

    def reap(self, repository: ModelRepository | None = None) -> list[str]:
        """Finish jobs whose process died without recording its outcome; return their ids.

        A job that recorded its result before dying is finished as that result says: `rejected` when
        the gate refused it, `succeeded` when `repository`'s history shows its activation, else `failed`.
        """
        reaped = []
        for job, heartbeat in self._active():
            silent = heartbeat is None or time.time() - heartbeat > self.stale_after
            if job.status == "running" and silent and not retrain_process_alive(job.pid or 0, job.id):
                gone = f"the training process {job.pid} is gone"
                done = self.finish_dead(job, repository, gone, f"{gone} and no worker recorded how it ended")
            elif job.status == "queued" and time.time() - job.created_at > QUEUED_GRACE_S:
                error = "the job never started: the worker that accepted it stopped"
                done = self.finish(job.id, "failed", error=error, only_if="queued")
            else:
                continue
            if done:
                reaped.append(job.id)
        return reaped

    def finish_dead(
        self,
        job: Job,
        repository: ModelRepository | None,
        gone: str,
        no_result: str,
        exit_code: int | None = None,
    ) -> bool:
        """Finish an active job whose process ended without recording its final status.

        Without a recorded result it failed (`no_result`); with one, the result and the repository's
        history say how far it got: rejected by the gate, or promoted (its signed activation) or not.
        """
        result, status = job.result, "failed"
        error: str | None = no_result
        if result is not None and result.get("status") != "succeeded":
            status, result, error = "rejected", {**result, "promoted": False}, None
        elif result is not None:
            promoted = repository is not None and was_promoted(repository, job.id, result.get("candidate_version"))
            status = "succeeded" if promoted else "failed"
            error = None if promoted else f"{gone}: it stopped before promoting its candidate"
            result = {**result, "promoted": promoted}
        return self.finish(job.id, status, exit_code=exit_code, result=result, error=error, only_if=ACTIVE)


def was_promoted(repository: ModelRepository, job_id: str, candidate: str | None) -> bool:
    """Did this job's activation happen? Its candidate is current (a candidate version is new to this job,
    so only it can have made it current), or the history shows the activation signed by it."""
    if candidate is None:
        return False
    try:
        if repository.current() == candidate:
            return True
    except BundleError:  # a damaged pointer: the history alone decides
        pass
    by = activated_by(job_id)
    return any(a.by == by and a.version == candidate for a in repository.history())


def activated_by(job_id: str) -> str:
    """How a retrain job signs its activation in the model repository's history."""
    return f"retrain {job_id}"
