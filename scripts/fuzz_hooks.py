"""Schemathesis hooks of `make fuzz` (loaded through SCHEMATHESIS_HOOKS by scripts/fuzz.py).

`POST /v1/jobs/{job_id}/changes` answers 2xx only for a finished retrain with a candidate; a random or a
just-started job can never reach that. scripts/fuzz.py runs one retrain to its end before fuzzing and
passes its id in HALTUNG_FUZZ_JOB; this hook sends every generated case of that operation to it, so the
fuzzer exercises the operation's bodies (the other job routes still get random ids and their 404s).
"""

from __future__ import annotations

import os
from typing import Any

import schemathesis

FINISHED_JOB = os.environ.get("HALTUNG_FUZZ_JOB")


@schemathesis.hook("map_path_parameters")
def use_the_finished_job(context: Any, path_parameters: dict[str, Any]) -> dict[str, Any]:
    operation = context.operation
    if FINISHED_JOB and operation is not None and operation.path == "/v1/jobs/{job_id}/changes":
        return {**path_parameters, "job_id": FINISHED_JOB}
    return path_parameters
