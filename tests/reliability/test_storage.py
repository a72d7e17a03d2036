"""Full, read-only, missing and immutable storage (issue 11, item 5), against real servers and real filesystems.

Writes that the disk refuses answer 503 `storage_unavailable` in the JSON error shape on a connection that
stays open, classify keeps serving, a retrain on a full disk is refused at once with the reason, and
everything recovers by itself when the disk is fine again — no restart.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from service.db import DB_FILE
from tests.reliability.faults_support import AUTH, Server, error_of, fill_disk, immutable, remount, tmpfs
from tests.tiny_model import save_tiny_model

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pristine_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    models = tmp_path_factory.mktemp("storage-models") / "models"
    save_tiny_model(models)
    return models


@pytest.fixture
def models(pristine_models: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(pristine_models, tmp_path / "models"))


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for server in started:
        server.stop()


def labels(n: int, tag: str, size: int = 2000) -> dict[str, list[dict[str, str]]]:
    """`n` distinct labels of about `size` characters (big enough that a batch needs new database pages)."""
    filler = "Die Regierung hat die Warnungen ignoriert. " * (size // 44)
    return {"labels": [{"text": f"{tag} {i}: {filler}", "sentiment": "negative"} for i in range(n)]}


def assert_unavailable(response: httpx.Response, server: Server) -> dict[str, object]:
    assert response.status_code == 503, response.text
    error = error_of(response)
    assert error["code"] == "storage_unavailable", error
    assert response.headers.get("connection", "").lower() != "close"  # the connection stays open
    assert server.alive()
    return error


def test_full_disk_answers_503_keeps_serving_and_recovers(models: Path, tmp_path: Path, servers: list[Server]) -> None:
    with tmpfs(tmp_path / "disk", "3m") as disk:
        server = Server(models, disk / "data").start()
        servers.append(server)
        assert server.post("/v1/labels", labels(2, "before")).status_code == 201
        filler = fill_disk(disk)

        error = assert_unavailable(server.post("/v1/labels", labels(200, "full")), server)
        assert "full" in str(error["message"]), error
        assert server.classify().status_code == 200  # on the same connection: it was kept
        # A retrain is refused at once with the reason, not accepted and left queued.
        started = time.monotonic()
        retrain = server.post("/v1/retrain", {"force": True})
        assert time.monotonic() - started < 5
        error = assert_unavailable(retrain, server)
        assert "free on the data disk" in str(error["message"]), error
        assert server.get("/v1/labels").status_code == 200  # reading still works

        filler.unlink()  # the disk is fine again: no restart needed
        stored = server.post("/v1/labels", labels(20, "after"))
        assert stored.status_code == 201, stored.text
        assert len(server.get("/v1/labels", params={"limit": 1000}).json()["items"]) == 22
        server.stop()


def test_retrain_on_a_full_disk_without_the_free_space_check_still_fails_fast(
    models: Path, tmp_path: Path, servers: list[Server]
) -> None:
    # With HALTUNG_RETRAIN_MIN_FREE_MB=0 the up-front check passes: queueing the job meets the full disk.
    with tmpfs(tmp_path / "disk", "3m") as disk:
        server = Server(models, disk / "data", HALTUNG_RETRAIN_MIN_FREE_MB="0", HALTUNG_TRAIN_FAST="1").start()
        servers.append(server)
        assert server.post("/v1/labels", labels(3, "before")).status_code == 201
        filler = fill_disk(disk)
        started = time.monotonic()
        response = server.post("/v1/retrain", {"force": True})
        error = assert_unavailable(response, server)  # the job's row does not fit: no job, no process
        assert "full" in str(error["message"]), error
        assert time.monotonic() - started < 5
        filler.unlink()
        assert server.post("/v1/labels", labels(1, "after")).status_code == 201
        server.stop()


def test_database_made_immutable_while_running_answers_503_and_recovers(
    models: Path, tmp_path: Path, servers: list[Server]
) -> None:
    # A tmpfs cannot be remounted read-only while the store holds its file open for writing (EBUSY), so the
    # disk refuses writes the way a read-only one does: `chattr +i` on the database file (EPERM/EIO).
    data = tmp_path / "data"
    server = Server(models, data).start()
    servers.append(server)
    assert server.post("/v1/labels", labels(1, "before", 50)).status_code == 201
    label_id = server.get("/v1/labels").json()["items"][0]["id"]
    with immutable(data / DB_FILE):
        assert_unavailable(server.post("/v1/labels", labels(1, "refused", 50)), server)
        assert_unavailable(server.client.delete(f"{server.url}/v1/labels/{label_id}", headers=AUTH), server)
        assert_unavailable(server.get("/v1/labels"), server)  # the store reopens only on writable files
        assert server.classify().status_code == 200
    assert server.post("/v1/labels", labels(1, "after", 50)).status_code == 201
    assert [item["text"][:6] for item in server.get("/v1/labels").json()["items"]] == ["before", "after "]
    server.stop()


@pytest.mark.parametrize("where", ["read-only data dir", "missing data dir on a read-only disk"])
def test_start_on_unusable_data_dir_serves_classify(
    where: str, models: Path, tmp_path: Path, servers: list[Server]
) -> None:
    with tmpfs(tmp_path / "disk") as disk:
        data = disk / "data"
        if where == "read-only data dir":
            data.mkdir()
        else:
            data = disk / "not" / "there"
        remount(disk, "ro")
        server = Server(models, data).start()
        servers.append(server)
        try:
            assert server.get("/v1/health/ready").status_code == 200
            assert server.classify().status_code == 200
            assert_unavailable(server.get("/v1/labels"), server)
            assert_unavailable(server.post("/v1/labels", labels(1, "x", 50)), server)
            assert_unavailable(server.post("/v1/retrain", {}), server)
        finally:
            remount(disk, "rw")
        # Writable again: the store opens on the next request, without a restart.
        assert server.post("/v1/labels", labels(1, "x", 50)).status_code == 201
        assert server.get("/v1/labels").json()["items"][0]["text"].startswith("x 0")
        server.stop()


OLD_WAL_STORE = """
import os, sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("PRAGMA journal_mode = WAL")
conn.execute("CREATE TABLE kept (x)")
conn.execute("INSERT INTO kept VALUES (1)")
os._exit(0)  # like kill -9: the -wal and -shm files stay behind
"""


def test_immutable_shm_of_an_old_wal_file_does_not_kill_the_process(
    models: Path, tmp_path: Path, servers: list[Server]
) -> None:
    # An open WAL connection whose -shm turns immutable dies of SIGBUS on its next write (measured with
    # sqlite 3.40); the store uses a rollback journal, and refuses files it cannot write before opening them.
    data = tmp_path / "data"
    data.mkdir()
    subprocess.run([sys.executable, "-c", OLD_WAL_STORE, str(data / DB_FILE)], check=True)
    shm = data / f"{DB_FILE}-shm"
    assert shm.stat().st_size > 0

    for damage in ("as left", "truncated"):
        if damage == "truncated":
            shm.write_bytes(b"")
        with immutable(shm):
            server = Server(models, data).start()
            servers.append(server)
            assert server.classify().status_code == 200
            error = assert_unavailable(server.get("/v1/labels"), server)
            assert "-shm" in str(error["message"]), error
            assert_unavailable(server.post("/v1/labels", labels(1, "x", 50)), server)
            assert server.alive(), server.stderr()
        # chattr -i: the next request opens the store (and converts the old file); nothing is lost.
        assert server.post("/v1/labels", labels(1, damage, 50)).status_code == 201
        assert server.alive()
        server.stop()
    conn = sqlite3.connect(data / DB_FILE)
    assert conn.execute("SELECT x FROM kept").fetchall() == [(1,)]
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert conn.execute("SELECT COUNT(*) FROM labels").fetchone()[0] == 2
    conn.close()


def test_activation_on_a_read_only_or_full_models_disk_answers_503(
    pristine_models: Path, tmp_path: Path, servers: list[Server]
) -> None:
    with tmpfs(tmp_path / "models", "8m") as disk:
        shutil.copytree(pristine_models, disk, dirs_exist_ok=True)
        first = (disk / "current").read_text().strip()
        second = save_tiny_model(disk).version  # a second version; current moves to it
        server = Server(disk, tmp_path / "data").start()
        servers.append(server)
        remount(disk, "ro")
        try:
            error = assert_unavailable(server.post(f"/v1/models/{first}/activate"), server)
            assert "cannot be written" in str(error["message"])
            assert server.get("/v1/model").json()["version"] == second
        finally:
            remount(disk, "rw")
        filler = fill_disk(disk)
        error = assert_unavailable(server.post(f"/v1/models/{first}/activate"), server)
        assert (disk / "current").read_text().strip() == second and not list(disk.glob(".current-*"))
        filler.unlink()
        assert server.post(f"/v1/models/{first}/activate").status_code == 200
        assert server.classify().json()["model_version"] == first
        server.stop()

