"""Starts retrain jobs as processes of their own and notices when one dies without recording its outcome.

The job process (service.retrain_job) writes its own outcome to the jobs table and activates through
the model repository; this worker only starts it with its settings, waits for it, and — when it ended
without a final status (killed, crashed) — marks the job failed with how it ended. The process gets its
own session, so it outlives a worker that is killed; `JobStore.reap` then catches it if it dies too.

Storage: a retrain is refused up front (503 storage_unavailable) when the data or models disk has less
than `retrain_min_free_mb` free, rather than accepted and left to fail. An outcome the store cannot take
(full or read-only disk) is kept in memory and reported from there until it can be written.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from service.errors import NoLabels, StorageUnavailable
from service.jobs import ACTIVE, Job, JobStore
from service.labels import LabelStore
from service.model_store import ModelStore
from service.retrain_job import STORAGE_EXIT
from service.settings import Settings
from training import BundleError, NoCurrentModel

log = logging.getLogger("haltung")


class Retrainer:
    def __init__(self, settings: Settings, labels: LabelStore, jobs: JobStore, store: ModelStore) -> None:
        self.settings, self.labels, self.jobs, self.store = settings, labels, jobs, store
        self._tasks: set[asyncio.Task[None]] = set()
        self._unrecorded: dict[str, str] = {}  # job id -> why it failed, while the store cannot take it

    async def start(self, force: bool) -> Job:
        """Queue a job and start its process (NoCurrentModel, NoLabels, RetrainRunning if one is active)."""
        if not await run_in_threadpool(self._has_model):
            raise NoCurrentModel("There is no current model to retrain from.")
        if await run_in_threadpool(self.labels.count) == 0:
            raise NoLabels("No labels are stored: POST some to /v1/labels first.")
        await run_in_threadpool(self._check_space)
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
        if job is not None and job.id in self._unrecorded:
            job = await run_in_threadpool(self._apply_unrecorded, job)
        served = self.store.model.version if self.store.model else None
        if job is not None and job.result and job.result.get("promoted") and served != job.result["candidate_version"]:
            await asyncio.to_thread(self.store.refresh)
        return job

    def _check_space(self) -> None:
        """Refuse a retrain the disks cannot hold (a bundle, the job's record) before accepting it."""
        need = self.settings.retrain_min_free_mb * 1024 * 1024
        for what, directory in (("data", self.settings.data_dir), ("models", self.settings.models_dir)):
            try:
                free = shutil.disk_usage(_existing(directory)).free
            except OSError as err:
                raise StorageUnavailable(f"The {what} directory {directory} cannot be used: {err}") from None
            if free < need:
                raise StorageUnavailable(
                    f"Only {free / 2**20:.1f} MB are free on the {what} disk ({directory}); a retrain needs "
                    f"{self.settings.retrain_min_free_mb} MB (HALTUNG_RETRAIN_MIN_FREE_MB). Nothing was started.",
                    {"directory": str(directory), "free_bytes": free, "needed_bytes": need},
                )

    def _apply_unrecorded(self, job: Job) -> Job:
        """Write a failure the store could not take before; until it can, report it from memory."""
        error = self._unrecorded[job.id]
        if job.status not in ACTIVE:
            self._unrecorded.pop(job.id, None)
            return job
        try:
            self.jobs.finish(job.id, "failed", error=error, only_if=ACTIVE)
        except StorageUnavailable:
            return dataclasses.replace(job, status="failed", error=error)
        self._unrecorded.pop(job.id, None)
        return self.jobs.get(job.id) or job

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
            try:
                await run_in_threadpool(lambda: self.jobs.finish(job.id, "failed", error=error, only_if=ACTIVE))
            except StorageUnavailable:
                self._unrecorded[job.id] = error

    async def _ended(self, job: Job, code: int) -> None:
        """The process ended: serve a promotion at once; record a death the process could not record."""
        how = f"killed by {_signal_name(-code)}" if code < 0 else f"exited with code {code}"
        if code == STORAGE_EXIT:
            how += " (the label and job store is unavailable: full, read-only or unwritable disk)"
        gone = f"the training process {how}"
        message = f"{gone}; the current model keeps serving."
        try:
            current = await run_in_threadpool(self.jobs.get, job.id)
            if current is not None and current.status in ACTIVE:  # it could not record its own end
                await run_in_threadpool(self.jobs.finish_dead, current, self.store.repository, gone, message, code)
        except StorageUnavailable as err:
            self._unrecorded[job.id] = f"{message} ({err.message})"
            log.error("retrain %s ended but its record cannot be written: %s", job.id, err.message)
            return
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


def _existing(directory: Path) -> Path:
    """The directory, or its nearest existing parent (the disk it will be created on)."""
    path = Path(directory).absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


async def open_retraining(app: FastAPI, settings: Settings, store: ModelStore) -> Retrainer:
    """Open the label and job stores onto `app.state`, finish jobs left by dead processes; close it on shutdown."""
    labels = await asyncio.to_thread(LabelStore.in_dir, settings.data_dir)
    jobs = await asyncio.to_thread(JobStore.in_dir, settings.data_dir)
    try:
        reaped = await asyncio.to_thread(jobs.reap, store.repository)
    except StorageUnavailable as err:  # classify serves anyway; labels and retrain answer 503 until it recovers
        log.warning("retrain jobs not checked at start: %s", err.message)
        reaped = []
    if reaped:
        log.warning("finished retrain jobs whose process had died: %s", ", ".join(reaped))
    retrainer = Retrainer(settings, labels, jobs, store)
    app.state.labels, app.state.jobs, app.state.retrainer = labels, jobs, retrainer
    return retrainer
