"""Runs a retrain job in its own process and follows it from an asyncio task in this worker.

Training in a separate process (`python -m training retrain`) keeps serving responsive (it is also
niced) and isolates crashes: whatever happens to it, `current` only moves when it succeeds, and the
old model keeps serving. The process gets its own session, so it outlives a worker that is killed;
the job store then finishes the job from the result file (see JobStore.reap).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import subprocess
import sys
from pathlib import Path

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from service.jobs import HEARTBEAT_S, LABELS_FILE, LOG_FILE, RESULT_FILE, Job, JobStore
from service.labels import LabelStore
from service.model_store import ModelStore
from service.settings import Settings

log = logging.getLogger("haltung")
TRAIN_NICE = 19  # the lowest CPU priority: serving always comes first


class Retrainer:
    def __init__(self, settings: Settings, labels: LabelStore, jobs: JobStore, store: ModelStore) -> None:
        self.settings, self.labels, self.jobs, self.store = settings, labels, jobs, store
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, force: bool) -> Job:
        """Queue a job (RetrainRunning if one is active anywhere) and supervise it in the background."""
        await run_in_threadpool(self.jobs.reap)
        job = await run_in_threadpool(self.jobs.create, force)
        task = asyncio.create_task(self._supervise(job), name=f"retrain-{job.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return job

    def command(self, job: Job, workdir: Path) -> list[str]:
        options = {
            "--models-dir": Path(self.settings.models_dir).resolve(),
            "--labels": workdir / LABELS_FILE,
            "--tolerance": self.settings.gate_tolerance,
            "--holdout": self.settings.label_holdout,
            "--result": workdir / RESULT_FILE,
            "--nice": TRAIN_NICE,
        }
        args = [sys.executable, "-m", "training", "retrain", *(str(x) for kv in options.items() for x in kv)]
        return [*args, "--force"] if job.force else args

    async def _supervise(self, job: Job) -> None:
        workdir = self.jobs.workdir(job.id)
        proc: asyncio.subprocess.Process | None = None
        try:
            await run_in_threadpool(self._snapshot_labels, workdir)
            with open(workdir / LOG_FILE, "wb") as log_file:
                proc = await asyncio.create_subprocess_exec(
                    *self.command(job, workdir),
                    stdin=subprocess.DEVNULL,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            await run_in_threadpool(self.jobs.mark_running, job.id, proc.pid)
            log.info("retrain %s started, training process %s", job.id, proc.pid)
            exited = asyncio.ensure_future(proc.wait())
            while not (await asyncio.wait({exited}, timeout=HEARTBEAT_S))[0]:
                await run_in_threadpool(self.jobs.heartbeat, job.id)
            await self._finish(job, exited.result(), workdir)
        except asyncio.CancelledError:
            if proc is not None and proc.returncode is None:
                proc.kill()
                await proc.wait()
            self.jobs.finish(job.id, "failed", exit_code=proc.returncode if proc else None, error="the service stopped")
            raise
        except Exception as err:
            log.exception("retrain %s failed", job.id)
            if proc is not None and proc.returncode is None:  # never leave a process that could still promote
                proc.kill()
                await proc.wait()
            await run_in_threadpool(self.jobs.finish, job.id, "failed", error=f"{type(err).__name__}: {err}")

    def _snapshot_labels(self, workdir: Path) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.labels.export_to(workdir / LABELS_FILE)

    async def _finish(self, job: Job, code: int, workdir: Path) -> None:
        result = await run_in_threadpool(self.jobs.read_result, job.id) if code == 0 else None
        if result is None:
            how = f"killed by {_signal_name(-code)}" if code < 0 else f"exited with code {code}"
            error = f"the training process {how}; the current model keeps serving. {_tail(workdir / LOG_FILE)}"
            await run_in_threadpool(self.jobs.finish, job.id, "failed", exit_code=code, error=error.strip())
            log.error("retrain %s failed: %s", job.id, error)
            return
        if result.get("promoted"):
            await asyncio.to_thread(self.store.refresh)  # this worker at once; the others via their watcher
        await run_in_threadpool(self.jobs.finish, job.id, result["status"], exit_code=code, result=result)
        log.info("retrain %s %s: candidate %s", job.id, result["status"], result.get("candidate_version"))

    async def close(self) -> None:
        """Stop supervising: running training processes are killed and their jobs marked failed."""
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.labels.close()
        self.jobs.close()


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _tail(path: Path, lines: int = 5) -> str:
    try:
        text = path.read_bytes()[-4000:].decode("utf-8", errors="replace")
    except OSError:
        return ""
    last = [line for line in text.splitlines() if line.strip()][-lines:]
    return "Last log lines: " + " | ".join(last) if last else ""


async def open_retraining(app: FastAPI, settings: Settings, store: ModelStore) -> Retrainer:
    """Open the label and job stores onto `app.state`, fail jobs left by dead workers; close it on shutdown."""
    labels = await asyncio.to_thread(LabelStore.in_dir, settings.data_dir)
    jobs = await asyncio.to_thread(JobStore.in_dir, settings.data_dir)
    reaped = await asyncio.to_thread(jobs.reap)
    if reaped:
        log.warning("finished retrain jobs left by stopped workers: %s", ", ".join(reaped))
    retrainer = Retrainer(settings, labels, jobs, store)
    app.state.labels, app.state.jobs, app.state.retrainer = labels, jobs, retrainer
    return retrainer
