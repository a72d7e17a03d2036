"""Helpers of the storage, bundle, loading and job fault tests: real servers, real small filesystems.

A full disk is a tmpfs of a few MB filled with a file; a read-only disk is that tmpfs remounted
read-only. Both need root (mount, chattr); where that is not permitted the tests that need it skip and
say so, and fail under CI=true (CI runs as root), so a gap never passes silently there. Every mount is
unmounted and every server stopped, even when a test fails.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import ServerProcess, free_port, service_env, start_process, uvicorn_args
from tests.retrain_support import API_KEY, AUTH

__all__ = ["API_KEY", "AUTH", "Server", "fill_disk", "immutable", "remount", "tmpfs"]

START_TIMEOUT = 60.0


class Server:
    """One uvicorn worker on given models and data directories, with an API key; stopped by `stop`."""

    def __init__(self, models_dir: Path, data_dir: Path, **settings: str) -> None:
        self.models_dir, self.data_dir = models_dir, data_dir
        env = {"HALTUNG_MODELS_DIR": str(models_dir), "HALTUNG_DATA_DIR": str(data_dir), "HALTUNG_API_KEYS": API_KEY}
        self.env = service_env(**env, HALTUNG_RELOAD_INTERVAL="0.2", **settings)
        self.server: ServerProcess | None = None
        self.client = httpx.Client(timeout=60)  # one keep-alive connection, to see it survive errors

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.base_url

    def start(self) -> Server:
        """Start and wait until it answers (ready or not: a server without a model must answer too)."""
        port = free_port()
        self.server = start_process(uvicorn_args(port), self.env, port)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.server.process.poll() is not None:
                raise AssertionError(f"server exited {self.server.process.returncode}:\n{self.stderr()}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(self.url + "/v1/health/live", timeout=2).status_code == 200:
                    return self
            time.sleep(0.1)
        raise AssertionError(f"server did not answer in {START_TIMEOUT} s:\n{self.stderr()}")

    def alive(self) -> bool:
        return self.server is not None and self.server.process.poll() is None

    def stderr(self) -> str:
        return "\n".join(self.server.stderr_lines()) if self.server else ""

    def stop(self) -> None:
        self.client.close()
        if self.server is not None:
            self.server.stop(timeout=20)

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.client.get(self.url + path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> httpx.Response:
        return self.client.post(self.url + path, json=body, headers=AUTH, **kw)

    def classify(self) -> httpx.Response:
        return self.client.post(self.url + "/v1/classify", json={"sentences": ["Die Regierung hat gelogen."]})


def error_of(response: httpx.Response) -> dict[str, Any]:
    """The JSON error body's `error` object (fails when the body is not the error shape)."""
    body = response.json()
    assert set(body) == {"error"} and {"code", "message", "details"} <= set(body["error"]), body
    error: dict[str, Any] = body["error"]
    return error


@contextlib.contextmanager
def tmpfs(path: Path, size: str = "4m") -> Iterator[Path]:
    """A tmpfs of `size` mounted at `path` for the block (skips the test where mounting is not permitted)."""
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True)
    if done.returncode != 0:
        not_here(f"cannot mount a tmpfs here (needs root): {done.stderr.decode().strip()}")
    try:
        yield path
    finally:
        if subprocess.run(["umount", str(path)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(path)], check=True)  # still in use: detach it now


def not_here(reason: str) -> None:
    """Skip a test whose technique this machine does not allow; under CI=true that is a failure."""
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def remount(path: Path, mode: str) -> None:
    """Remount the tmpfs at `path` read-only ("ro") or read-write ("rw")."""
    subprocess.run(["mount", "-o", f"remount,{mode}", str(path)], check=True, capture_output=True)


def fill_disk(directory: Path) -> Path:
    """Write a file until the disk holding `directory` is full; delete it to free the space again."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)  # unbuffered: every ENOSPC is seen here
    try:
        for size in (1 << 20, 1 << 16, 1 << 12):
            while True:
                try:
                    os.write(fd, b"\0" * size)
                except OSError as err:
                    assert err.errno == errno.ENOSPC, err
                    break
    finally:
        os.close(fd)
    assert os.statvfs(directory).f_bavail == 0
    return filler


@contextlib.contextmanager
def immutable(path: Path) -> Iterator[Path]:
    """`chattr +i` on `path` for the block (skips where the filesystem or user does not allow it)."""
    done = subprocess.run(["chattr", "+i", str(path)], capture_output=True)
    if done.returncode != 0:
        not_here(f"chattr +i is not possible here: {done.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


def write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value), encoding="utf-8")
