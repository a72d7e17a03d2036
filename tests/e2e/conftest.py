"""Helpers of the end-to-end tests: real server processes on free ports, with their stderr collected.

Generic on purpose (other e2e tests reuse them):

    with running_uvicorn(service_env(HALTUNG_MODELS_DIR=str(models_dir))) as server:
        httpx.post(f"{server.base_url}/v1/classify", json=...)
        server.json_logs()  # the structured log lines the process wrote so far

`start_process` + `wait_until_ready` + `ServerProcess.stop` are the pieces for other launchers
(`python -m service`, several workers ...). Processes are always stopped by their own pid.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.tiny_model import save_tiny_model

REPO_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60.0


def free_port() -> int:
    """A TCP port that was free a moment ago on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def service_env(**overrides: str) -> dict[str, str]:
    """This process's environment without any HALTUNG_* setting, plus `overrides`, unbuffered."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HALTUNG_")}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(overrides)
    return env


class ServerProcess:
    """A started process; a thread collects its stderr lines (so the pipe never fills up)."""

    def __init__(self, args: Sequence[str], env: Mapping[str, str], base_url: str, cwd: Path = REPO_ROOT) -> None:
        self.args, self.base_url = list(args), base_url
        self.process = subprocess.Popen(
            self.args,
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        self._lines: list[str] = []
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, name=f"stderr-{self.process.pid}", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            with self._lock:
                self._lines.append(line.rstrip("\n"))

    @property
    def pid(self) -> int:
        return self.process.pid

    def stderr_lines(self) -> list[str]:
        with self._lock:
            return list(self._lines)

    def json_logs(self) -> list[dict[str, Any]]:
        """The stderr lines that are JSON objects (the service's structured log)."""
        out = []
        for line in self.stderr_lines():
            if line.startswith("{"):
                with contextlib.suppress(ValueError):
                    out.append(json.loads(line))
        return out

    def wait_for_stderr(self, predicate: Callable[[list[str]], bool], timeout: float = START_TIMEOUT) -> list[str]:
        """Wait until `predicate(stderr lines so far)` holds; fail with the output if it never does."""
        deadline = time.monotonic() + timeout
        while True:
            lines = self.stderr_lines()
            if predicate(lines):
                return lines
            if self.process.poll() is not None:
                self._reader.join(timeout=2)
                lines = self.stderr_lines()
                if predicate(lines):
                    return lines
                raise AssertionError(f"{self.args} exited with {self.process.returncode}:\n" + "\n".join(lines))
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.args}: condition not met after {timeout} s:\n" + "\n".join(lines))
            time.sleep(0.05)

    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM (graceful shutdown), SIGKILL if it does not exit in `timeout` seconds; the exit code."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        self._reader.join(timeout=2)
        return self.process.returncode


def start_process(args: Sequence[str], env: Mapping[str, str], port: int, host: str = "127.0.0.1") -> ServerProcess:
    return ServerProcess(args, env, f"http://{host}:{port}")


def uvicorn_args(
    port: int, app: str = "service.app:create_app", *, factory: bool = True, extra: Sequence[str] = ()
) -> list[str]:
    args = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port)]
    return [*args, "--factory", *extra] if factory else [*args, *extra]


def wait_until_ready(
    server: ServerProcess, path: str = "/v1/health/ready", timeout: float = START_TIMEOUT
) -> httpx.Response:
    """Poll `path` until it answers 200; fail early (with stderr) if the process dies."""
    deadline = time.monotonic() + timeout
    last: str = "no answer"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(
                f"{server.args} exited with {server.process.returncode}:\n" + "\n".join(server.stderr_lines())
            )
        try:
            response = httpx.get(server.base_url + path, timeout=2)
        except httpx.TransportError as err:
            last = repr(err)
        else:
            if response.status_code == 200:
                return response
            last = f"{response.status_code} {response.text}"
        time.sleep(0.1)
    raise AssertionError(
        f"{server.base_url}{path} not ready after {timeout} s ({last}):\n" + "\n".join(server.stderr_lines())
    )


@contextlib.contextmanager
def running_uvicorn(
    env: Mapping[str, str],
    *,
    app: str = "service.app:create_app",
    factory: bool = True,
    extra_args: Sequence[str] = (),
    ready_path: str = "/v1/health/ready",
    timeout: float = START_TIMEOUT,
) -> Iterator[ServerProcess]:
    """A real uvicorn serving `app` on a free port until the block ends (stopped even on failure)."""
    port = free_port()
    server = start_process(uvicorn_args(port, app, factory=factory, extra=extra_args), env, port)
    try:
        wait_until_ready(server, ready_path, timeout)
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def tiny_models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models directory holding one tiny real model as `current` (treat as read-only; copy to modify)."""
    models_dir = tmp_path_factory.mktemp("e2e-models")
    save_tiny_model(models_dir)
    return models_dir


@pytest.fixture
def fresh_models_dir(tmp_path: Path) -> Path:
    """A private models directory with its own tiny model, for tests that add or switch versions."""
    models_dir = tmp_path / "models"
    save_tiny_model(models_dir)
    return models_dir
