"""One retrain job as its own process: `python -m service.retrain_job JOB_ID`, configured by HALTUNG_* settings.

The process records its own outcome in its jobs row, the one place a retrain's outcome lives: it marks
itself running, beats a heartbeat, reads the labels from the store, calls `training.retrain`, records
the result, activates the candidate through the model repository (compare-and-swap against the model
it was compared with, signed `retrain <job id>`) and records the final status. It runs apart from the
worker that started it and at the lowest CPU priority, so a crash or a `kill -9` here can never take
serving down; a worker notices such a death (service.retrainer, JobStore.reap). When the store cannot
be written (full or read-only disk) the process exits with STORAGE_EXIT, so the worker can say why.

`HALTUNG_TEST_PAUSE_AT=<point>` (tests only) stops the job at a named point (`after_result`: the result
is recorded, nothing activated; `after_activation`: `current` moved, final status not written) until it
is killed, so a test can `kill -9` it exactly there.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import time

from service.errors import StorageUnavailable
from service.jobs import ACTIVE, HEARTBEAT_S, JobStore, activated_by
from service.labels import LabelStore
from service.logs import configure_logging
from service.settings import Settings
from training import DEFAULT_SPACE, FAST_SPACE, DirectoryRepository, HaltungError, promote, retrain

TRAIN_NICE = 19  # the lowest CPU priority: serving always comes first
STORAGE_EXIT = 3  # the job store could not be written: the worker reports the storage problem
TEST_PAUSE_ENV = "HALTUNG_TEST_PAUSE_AT"
log = logging.getLogger("haltung.retrain")


class Heartbeat:
    """Beats the job's heartbeat from a thread until stopped, so a reaper can tell a live job from a dead one."""

    def __init__(self, jobs: JobStore, job_id: str) -> None:
        self._jobs, self._job_id = jobs, job_id
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)


    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            try:
                self._jobs.heartbeat(self._job_id)
            except StorageUnavailable as err:  # a missed beat is harmless; the job's own writes will fail loudly
                log.warning("heartbeat not written: %s", err.message)


def run(job_id: str, settings: Settings) -> int:
    """Run the queued job `job_id` to its end, recording its outcome; 0 when it succeeded or was rejected."""
    jobs, labels = JobStore.in_dir(settings.data_dir), LabelStore.in_dir(settings.data_dir)
    try:
        job = jobs.get(job_id)
        if job is None or not jobs.mark_running(job_id, os.getpid()):
            log.error("retrain job %s is not queued: nothing to do", job_id)
            return 1
        with Heartbeat(jobs, job_id):
            return _run(job_id, job.force, settings, jobs, labels)
    except StorageUnavailable as err:
        log.error("retrain job %s cannot use the store: %s", job_id, err.message)
        with contextlib.suppress(StorageUnavailable):  # record it if the store takes it; else the worker does
            jobs.finish(job_id, "failed", exit_code=STORAGE_EXIT, error=err.message, only_if=ACTIVE)
        return STORAGE_EXIT
    finally:
        labels.close()
        jobs.close()


def pause_for_tests(point: str) -> None:
    """Tests only: wait here until killed when HALTUNG_TEST_PAUSE_AT names this point."""
    if os.environ.get(TEST_PAUSE_ENV) == point:
        log.warning("paused at %s for a test (%s)", point, TEST_PAUSE_ENV)
        while True:
            time.sleep(60)


def _run(job_id: str, force: bool, settings: Settings, jobs: JobStore, labels: LabelStore) -> int:
    repository = DirectoryRepository(settings.models_dir, allow_pickle=settings.allow_pickle_bundles)

    def progress(line: str) -> None:
        log.info(line, extra={"fields": {"job_id": job_id}})  # the service's structured log
        jobs.append_log(job_id, line)

    try:
        result = retrain(
            repository,
            labels.examples(),
            tolerance=settings.gate_tolerance,
            holdout=settings.label_holdout,
            force=force,
            space=FAST_SPACE if settings.train_fast else DEFAULT_SPACE,
            progress=progress,
            origin=activated_by(job_id),
        )
        jobs.record_result(job_id, result.to_json())
        pause_for_tests("after_result")
        result = promote(repository, result, by=activated_by(job_id))
        pause_for_tests("after_activation")
    except StorageUnavailable:
        raise
    except HaltungError as err:  # expected refusals (no base data, invalid data ...): exit 2, as the CLI does
        jobs.finish(job_id, "failed", exit_code=2, error=str(err), only_if="running")
        return 2
    except Exception as err:
        log.exception("retrain job %s crashed", job_id, extra={"fields": {"job_id": job_id}})
        jobs.finish(job_id, "failed", exit_code=1, error=f"{type(err).__name__}: {err}", only_if="running")
        return 1
    jobs.finish(job_id, result.status, exit_code=0, result=result.to_json(), only_if="running")
    progress(f"{result.status}: candidate {result.candidate_version} (baseline {result.baseline_version})")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m service.retrain_job JOB_ID", file=sys.stderr)
        return 2
    os.nice(TRAIN_NICE)
    configure_logging()
    return run(args[0], Settings())


if __name__ == "__main__":
    sys.exit(main())
