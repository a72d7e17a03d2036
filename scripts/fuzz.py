"""Schema fuzzing: Schemathesis against a real uvicorn server with a real tiny model (CI stage `make fuzz`).

Why a real server: the guard, the error handlers, uvicorn's own answers and the lifespan are all part of
what a client sees. The model is the tests' tiny model (400 starter rows, one search point, ~10 s), saved into
a temporary directory; retrains use the one-point grid (HALTUNG_TRAIN_FAST). The run is bounded by
`--max-examples` per operation and a fixed `--seed`, and passes only with every check on (scripts/fuzz.toml), no 5xx,
and at least one 2xx answer for every operation of the schema. It prints cases and the 2xx share per operation.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
API_KEY = "fuzz-key"
CONFIG = ROOT / "scripts" / "fuzz.toml"  # every check; positive_data_acceptance off where rules exceed JSON Schema


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, server: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with {server.returncode} before it was ready")
        try:
            with urllib.request.urlopen(f"{url}/v1/health/ready", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"the server was not ready within {timeout} s")


def start_server(workdir: Path, port: int) -> subprocess.Popen[bytes]:
    sys.path.insert(0, str(ROOT))
    # A small real base (a few hundred starter rows, fast grid) recorded in the manifest: retrains the fuzzer
    # starts, and the one run before fuzzing, take seconds (the tests' retrain fixture, noqa: root on sys.path).
    from tests.retrain_support import build_base

    (workdir / "base").mkdir()
    models = build_base(workdir / "base").models_dir

    env = {
        **os.environ,
        "HALTUNG_HOST": "127.0.0.1",
        "HALTUNG_PORT": str(port),
        "HALTUNG_MODELS_DIR": str(models),
        "HALTUNG_DATA_DIR": str(workdir / "data"),
        "HALTUNG_API_KEYS": API_KEY,
        "HALTUNG_TRAIN_FAST": "1",
    }
    log = (workdir / "server.log").open("wb")
    return subprocess.Popen([sys.executable, "-m", "service"], cwd=ROOT, env=env, stdout=log, stderr=log)


def finished_job(url: str, timeout: float = 180) -> str:
    """Store one label and run one retrain to its end: the job `POST /v1/jobs/{id}/changes` is fuzzed on."""
    auth = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"}

    def call(method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{url}{path}", data=data, method=method, headers=auth)
        with urllib.request.urlopen(request) as response:
            return json.load(response)

    label = {"text": "Die Regierung hat die Warnungen ignoriert.", "sentiment": "negative"}
    call("POST", "/v1/labels", {"labels": [label]})
    job = call("POST", "/v1/retrain", {})["job_id"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        view = call("GET", f"/v1/jobs/{job}")
        if view["status"] not in ("queued", "running"):
            if not view["candidate_version"]:
                raise SystemExit(f"the seeding retrain ended without a candidate: {view}")
            return str(job)
        time.sleep(0.5)
    raise SystemExit(f"the seeding retrain did not end within {timeout} s")


def operations(spec: dict[str, Any]) -> dict[tuple[str, str], re.Pattern[str]]:
    """(METHOD, path template) → a regex matching its concrete paths."""
    ops = {}
    for path, methods in spec["paths"].items():
        pattern = re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$")
        for method in methods:
            if method in {"get", "post", "put", "patch", "delete"}:
                ops[(method.upper(), path)] = pattern
    return ops


def tally(har: Path, ops: dict[tuple[str, str], re.Pattern[str]]) -> dict[tuple[str, str], collections.Counter[int]]:
    """Status codes per documented operation, from the run's HAR file (every request Schemathesis sent)."""
    counts: dict[tuple[str, str], collections.Counter[int]] = {op: collections.Counter() for op in ops}
    counts[("OTHER", "(undocumented method or path)")] = collections.Counter()
    for entry in json.loads(har.read_text())["log"]["entries"]:
        method = entry["request"]["method"]
        path = urllib.request.urlparse(entry["request"]["url"]).path
        # Static paths before templated ones: /v1/labels/export is not DELETE /v1/labels/{label_id}.
        match = next(
            (op for op, rx in sorted(ops.items(), key=lambda o: "{" in o[0][1]) if op[0] == method and rx.match(path)),
            ("OTHER", "(undocumented method or path)"),
        )
        counts[match][int(entry["response"]["status"])] += 1
    return counts


def report(counts: dict[tuple[str, str], collections.Counter[int]]) -> tuple[int, int, list[str]]:
    total = sum(sum(c.values()) for c in counts.values())
    server_errors = sum(n for c in counts.values() for status, n in c.items() if status >= 500)
    print(f"\n{'operation':45} {'cases':>6} {'2xx':>6} {'2xx %':>6}  statuses")
    missing = []
    for (method, path), c in counts.items():
        n, ok = sum(c.values()), sum(v for s, v in c.items() if 200 <= s < 300)
        if method != "OTHER" and ok == 0:
            missing.append(f"{method} {path}")
        if n or method != "OTHER":
            share = f"{100 * ok / n:5.1f}" if n else "  -  "
            statuses = " ".join(f"{s}:{v}" for s, v in sorted(c.items()))
            print(f"{method + ' ' + path:45} {n:6} {ok:6} {share:>6}  {statuses}")
    print(f"\nrequests: {total}   5xx: {server_errors}   operations without a 2xx: {len(missing)}")
    return total, server_errors, missing


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=40, help="cases per operation and phase")
    parser.add_argument("--seed", type=int, default=20261128)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--out", type=Path, help="keep the reports and the server log here")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="haltung-fuzz-") as tmp:
        workdir = Path(tmp)
        out = args.out or workdir / "report"
        out.mkdir(parents=True, exist_ok=True)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server = start_server(workdir, port)
        try:
            wait_ready(url, server)
            with urllib.request.urlopen(f"{url}/openapi.json") as response:
                spec = json.load(response)
            command = [
                str(Path(sys.executable).with_name("st")), "--config-file", str(CONFIG), "run", f"{url}/openapi.json",
                "--seed", str(args.seed), "--max-examples", str(args.max_examples), "--workers", str(args.workers),
                "--header", f"Authorization: Bearer {API_KEY}", "--request-timeout", "60",
                "--report", "har,junit", "--report-dir", str(out), "--suppress-health-check", "all",
            ]  # fmt: skip
            hooks = {"SCHEMATHESIS_HOOKS": "fuzz_hooks", "HALTUNG_FUZZ_JOB": finished_job(url)}
            hooks["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "scripts"), os.environ.get("PYTHONPATH")]))
            print("$", " ".join(command), flush=True)
            status = subprocess.run(command, cwd=workdir, env={**os.environ, **hooks}).returncode
        finally:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()
            if args.out:
                (args.out / "server.log").write_bytes((workdir / "server.log").read_bytes())
        unhandled = (workdir / "server.log").read_text(errors="replace").count("unhandled error")
        har = next(out.glob("har-*.json"), None)
        if har is None:
            print("no HAR report was written", file=sys.stderr)
            return 1
        _, server_errors, missing = report(tally(har, operations(spec)))
        print(f"schemathesis exit status: {status}   unhandled errors in the server log: {unhandled}")
        if missing:
            print("operations that never answered 2xx:", ", ".join(missing), file=sys.stderr)
        return 1 if status or server_errors or unhandled or missing else 0


if __name__ == "__main__":
    sys.exit(main())
