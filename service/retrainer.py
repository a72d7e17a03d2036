"""Starts retrain jobs as processes of their own and notices when one dies without recording its outcome.

The job process (service.retrain_job) writes its own outcome to the jobs table and activates through
the model repository; this worker only starts it with its settings, waits for it, and — when it ended
without a final status (killed, crashed) — marks the job failed with how it ended. The process gets its
own session, so it outlives a worker that is killed; `JobStore.reap` then catches it if it dies too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import sys

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from service.errors import NoLabels
from service.jobs import ACTIVE, Job, JobStore
from service.labels import LabelStore
from service.model_store import ModelStore
from service.settings import Settings
from training import BundleError, NoCurrentModel

log = logging.getLogger("haltung")


class Retrainer:
    def __init__(self, settings: Settings, labels: LabelStore, jobs: JobStore, store: ModelStore) -> None:
        self.settings, self.labels, self.jobs, self.store = settings, labels, jobs, store
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, force: bool) -> Job:
        """Queue a job and start its process (NoCurrentModel, NoLabels, RetrainRunning if one is active)."""
        if not await run_in_threadpool(self._has_model):
            raise NoCurrentModel("There is no current model to retrain from.")
        if await run_in_threadpool(self.labels.count) == 0:
            raise NoLabels("No labels are stored: POST some to /v1/labels first.")
        await run_in_threadpool(self.jobs.reap, self.store.repository)
        job = await run_in_threadpool(self.jobs.create, force)
        task = asyncio.create_task(self._run(job), name=f"retrain-{job.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return job

    async def job(self, job_id: str) -> Job | None:
        """The job's record; a promotion it reports is served by this worker before it is reported."""
        await run_in_threadpool(self.jobs.reap, self.store.repository)
        job = await run_in_threadpool(self.jobs.get, job_id)
        served = self.store.model.version if self.store.model else None
        if job is not None and job.result and job.result.get("promoted") and served != job.result["candidate_version"]:
            await asyncio.to_thread(self.store.refresh)
        return job

    def _has_model(self) -> bool:
        try:
            return self.store.repository.current() is not None
        except BundleError:
            return False

    def command(self, job: Job) -> list[str]:
        return [sys.executable, "-m", "service.retrain_job", job.id]

    async def _run(self, job: Job) -> None:
        proc: asyncio.subprocess.Process | None = None
        try:
            proc = await asyncio.create_subprocess_exec(
                *self.command(job),
                env={**os.environ, **self.settings.to_env()},
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
            log.info("retrain %s started, job process %s", job.id, proc.pid)
            code = await proc.wait()
            await self._ended(job, code)
        except asyncio.CancelledError:
            if proc is not None and proc.returncode is None:
                proc.kill()
                await proc.wait()
            returncode = proc.returncode if proc else None
            self.jobs.finish(job.id, "failed", exit_code=returncode, error="the service stopped", only_if=ACTIVE)
            raise
        except Exception as err:
            log.exception("retrain %s failed", job.id)
            if proc is not None and proc.returncode is None:  # never leave a process that could still promote
                proc.kill()
                await proc.wait()
            error = f"{type(err).__name__}: {err}"
            await run_in_threadpool(lambda: self.jobs.finish(job.id, "failed", error=error, only_if=ACTIVE))

    async def _ended(self, job: Job, code: int) -> None:
        """The process ended: serve a promotion at once; record a death the process could not record."""
        how = f"killed by {_signal_name(-code)}" if code < 0 else f"exited with code {code}"
        gone = f"the training process {how}"
        current = await run_in_threadpool(self.jobs.get, job.id)
        if current is not None and current.status in ACTIVE:  # it could not record its own end
            message = f"{gone}; the current model keeps serving."
            await run_in_threadpool(self.jobs.finish_dead, current, self.store.repository, gone, message, code)
        final = await self.job(job.id)  # this worker serves a promotion before anyone reads it from here
        if final is not None:
            outcome = final.error or (final.result or {}).get("candidate_version")
            log.info("retrain %s %s: %s", job.id, final.status, outcome)

    async def close(self) -> None:
        """Stop: running job processes are killed and their jobs marked failed."""
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


async def open_retraining(app: FastAPI, settings: Settings, store: ModelStore) -> Retrainer:
    """Open the label and job stores onto `app.state`, finish jobs left by dead processes; close it on shutdown."""
    labels = await asyncio.to_thread(LabelStore.in_dir, settings.data_dir)
    jobs = await asyncio.to_thread(JobStore.in_dir, settings.data_dir)
    reaped = await asyncio.to_thread(jobs.reap, store.repository)
    if reaped:
        log.warning("finished retrain jobs whose process had died: %s", ", ".join(reaped))
    retrainer = Retrainer(settings, labels, jobs, store)
    app.state.labels, app.state.jobs, app.state.retrainer = labels, jobs, retrainer
    return retrainer
