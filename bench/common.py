"""What the bench scripts share: paths, the machine description, RESULTS.md sections, the model, servers.

Every script states the machine it ran on (`machine_description`, with the load average: the machine is
shared), writes its own `## section` of bench/RESULTS.md (`write_section`, other sections kept) and, for
HTTP figures, starts the service the way users do (`python -m service`, settings from HALTUNG_*) in a
process group it stops again (`server`, `haltung_server`).
"""

from __future__ import annotations

import json
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import sklearn  # noqa: E402
from threadpoolctl import threadpool_info  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
OUT = ROOT / "bench" / "out"
RESULTS = ROOT / "bench" / "RESULTS.md"
ARTICLES = SHARED / "news_articles" / "10kgnad.jsonl"
ARTICLE = ROOT / "examples" / "kim_putin_waffendeal.txt"
PY = ROOT / ".venv" / "bin" / "python"


def machine_description() -> str:
    """nproc, CPU model, memory, Python/library versions, BLAS and OPENBLAS env, current load."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))  # type: ignore[union-attr]
        mem = f"{kb / 2**20:.0f} GiB RAM"
    except (OSError, AttributeError):
        pass
    blas = ", ".join(f"{i.get('internal_api')} {i.get('version')} ({i.get('architecture')})" for i in threadpool_info())
    env = " ".join(f"{k}={os.environ[k]}" for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if k in os.environ)
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{os.cpu_count()} cores ({cpu}), {mem}; Linux {platform.release()}; Python {platform.python_version()}, "
        f"scikit-learn {sklearn.__version__}, numpy {np.__version__}; BLAS: {blas or 'none loaded'}; "
        f"env: {env or 'no OPENBLAS_* set'}; load average at start {load} (the machine is shared with other "
        "developers' jobs)"
    )


def write_section(title: str, body: str, path: Path = RESULTS) -> None:
    """Replace (or append) the `## title` section of RESULTS.md, keeping every other section."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    section = f"## {title}\n\n{body.strip()}\n"
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text).rstrip() + "\n"
    else:
        text = text.rstrip() + "\n\n" + section
    path.write_text(text, encoding="utf-8")


def ensure_model(models_dir: Path = OUT / "perf-models") -> Path:
    """The starter-corpus model, trained once with the CLI; returns its bundle directory."""
    from training import DirectoryRepository

    repository = DirectoryRepository(models_dir)
    if repository.current() is None:
        command = ["-m", "training", "train", "--data", "starter", "--dev-fraction", "0.2", "--out", str(models_dir)]
        subprocess.run([str(PY), *command], cwd=ROOT, check=True)
    version = repository.current()
    assert version is not None
    return models_dir / version


def read_articles(limit: int | None = None) -> list[str]:
    with ARTICLES.open(encoding="utf-8") as f:
        return [json.loads(line)["text"] for _, line in zip(range(limit or 10**9), f, strict=False)]


def run_command() -> str:
    return "python " + " ".join([os.path.relpath(sys.argv[0], ROOT), *sys.argv[1:]])


def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU seconds of every live process in a process group (the server and its workers)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # fields[0] is the state: pgrp is the 5th field of the whole line
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before it was ready ({url})")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{url} not ready after {timeout}s")


@contextmanager
def server(command: Sequence[str], env: dict[str, str], cwd: Path, ready_url: str, log: Path) -> Iterator[int]:
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command, env={**os.environ, **env}, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            wait_ready(ready_url, proc)
            yield proc.pid
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def haltung_server(
    workers: int, models_dir: Path, tmp: Path, extras: Path | None = None
) -> tuple[Any, str, dict[str, str]]:
    port = free_port()
    env = {
        **({"PYTHONPATH": str(extras)} if extras else {}),
        "HALTUNG_MODELS_DIR": str(models_dir),
        "HALTUNG_DATA_DIR": str(tmp / f"data-{workers}"),
        "HALTUNG_PORT": str(port),
        "HALTUNG_WORKERS": str(workers),
    }
    base = f"http://127.0.0.1:{port}"
    log = OUT / f"http-haltung-{workers}{'-extras' if extras else ''}.log"
    ctx = server([str(PY), "-m", "service"], env, ROOT, f"{base}/v1/health/ready", log)
    return ctx, base, {"one": f"{base}/v1/classify", "article": f"{base}/v1/classify"}
