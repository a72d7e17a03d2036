"""Issue 11, items 3 and 8, against a real `python -m service` over raw sockets: a client that sends nothing,
partial headers or a short body is answered 408 or closed after the set time; one that leaves mid-body is
counted as 499 `disconnected`, not as a 500; refusals by the guard carry the route they were meant for."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.conftest import ServerProcess
from tests.reliability.limits_support import access_lines, json_body, python_m_service
from tests.tiny_model import save_tiny_model

pytestmark = pytest.mark.slow

HEADER_TIMEOUT, BODY_TIMEOUT, KEEPALIVE_TIMEOUT = 1.0, 1.5, 1
HEAD = b"POST /v1/classify HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    models_dir = tmp_path_factory.mktemp("timeout-models")
    save_tiny_model(models_dir)
    timeouts = {
        "HALTUNG_HEADER_TIMEOUT": str(HEADER_TIMEOUT),
        "HALTUNG_BODY_TIMEOUT": str(BODY_TIMEOUT),
        "HALTUNG_KEEPALIVE_TIMEOUT": str(KEEPALIVE_TIMEOUT),
    }
    with python_m_service(models_dir, tmp_path_factory.mktemp("timeout-data"), **timeouts) as running:
        yield running


def connect(server: ServerProcess) -> socket.socket:
    host, port = server.base_url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    return sock


def read_until_closed(sock: socket.socket, limit: float = 10) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and how long that took."""
    started, received = time.monotonic(), b""
    sock.settimeout(limit)
    while chunk := sock.recv(65536):  # a timeout here (socket.timeout) fails the test: never closed
        received += chunk
    return received, time.monotonic() - started


def test_a_connection_that_sends_nothing_is_closed_after_the_header_timeout(server: ServerProcess) -> None:
    with connect(server) as sock:
        received, seconds = read_until_closed(sock)
    assert received == b""  # nothing was asked, so nothing is answered
    assert HEADER_TIMEOUT - 0.2 <= seconds < HEADER_TIMEOUT + 3


def test_partial_headers_are_answered_408_and_closed(server: ServerProcess) -> None:
    with connect(server) as sock:
        sock.sendall(HEAD)  # no blank line: the headers never end
        received, seconds = read_until_closed(sock)
    assert received.startswith(b"HTTP/1.1 408 ")
    assert b"connection: close" in received.lower()
    error = json_body(received)["error"]
    assert error["code"] == "header_timeout"
    assert "HALTUNG_HEADER_TIMEOUT" in error["message"]
    assert seconds < HEADER_TIMEOUT + 3


def test_headers_dripped_byte_by_byte_meet_one_deadline_not_one_per_byte(server: ServerProcess) -> None:
    with connect(server) as sock:
        stop = threading.Event()

        def drip() -> None:  # one byte every 0.2 s: the whole head would take 16 s
            for byte in HEAD:
                if stop.wait(0.2):
                    return
                try:
                    sock.sendall(bytes([byte]))
                except OSError:  # closed by the server
                    return

        dripper = threading.Thread(target=drip)
        dripper.start()
        try:
            received, seconds = read_until_closed(sock)
        finally:
            stop.set()
            dripper.join()
    assert received.startswith(b"HTTP/1.1 408 ")
    assert seconds < HEADER_TIMEOUT + 3


def test_a_body_shorter_than_its_content_length_is_answered_408_and_closed(server: ServerProcess) -> None:
    with connect(server) as sock:
        sock.sendall(HEAD + b"Content-Length: 100\r\n\r\n" + b'{"text": "Ein')
        received, seconds = read_until_closed(sock)
    assert received.startswith(b"HTTP/1.1 408 ")
    error = json_body(received)["error"]
    assert error["code"] == "body_timeout"
    assert error["details"] == {"received_bytes": 13, "timeout_seconds": BODY_TIMEOUT}
    assert "HALTUNG_BODY_TIMEOUT" in error["message"]
    assert BODY_TIMEOUT - 0.2 <= seconds < BODY_TIMEOUT + 3
    logged = wait_for_access(server, lambda e: e["status"] == 408)
    assert logged["route"] == "/v1/classify"


def test_an_idle_keep_alive_connection_is_closed(server: ServerProcess) -> None:
    with connect(server) as sock:
        sock.sendall(b"GET /v1/health/live HTTP/1.1\r\nHost: test\r\n\r\n")
        received, seconds = read_until_closed(sock)
    assert received.startswith(b"HTTP/1.1 200 ")
    assert seconds < KEEPALIVE_TIMEOUT + 3


def test_a_client_that_leaves_mid_body_is_499_disconnected_not_500(server: ServerProcess) -> None:
    with connect(server) as sock:
        sock.sendall(HEAD + b"X-Probe: leaves\r\nContent-Length: 1000\r\n\r\n" + b'{"text": "Ein')
        time.sleep(0.3)
    logged = wait_for_access(server, lambda e: e["status"] == 499)
    assert logged["outcome"] == "disconnected"
    assert logged["route"] == "/v1/classify"
    metrics = httpx.get(server.base_url + "/metrics", timeout=10).text
    assert 'route="/v1/classify",status="499"' in metrics
    assert 'status="500"' not in metrics
    assert all(e["status"] != 500 for e in access_lines(server))


@pytest.mark.parametrize(
    "headers, body, status",
    [
        ({"Content-Type": "text/plain"}, b"Ein Satz.", 415),
        ({"Content-Type": "application/json"}, b'{"text": "\xff"}', 400),
        ({"Content-Type": "application/json", "Content-Length": str(10**9)}, b"", 413),
    ],
    ids=["415", "400", "413"],
)
def test_guard_refusals_carry_their_route(server: ServerProcess, headers: dict, body: bytes, status: int) -> None:
    head = b"POST /v1/labels HTTP/1.1\r\nHost: test\r\n" + b"".join(
        f"{k}: {v}\r\n".encode() for k, v in headers.items()
    )
    if "Content-Length" not in headers:
        head += f"Content-Length: {len(body)}\r\n".encode()
    with connect(server) as sock:
        sock.sendall(head + b"Connection: close\r\n\r\n" + body)
        received, _ = read_until_closed(sock)
    assert received.startswith(f"HTTP/1.1 {status} ".encode()), received[:200]
    metrics = httpx.get(server.base_url + "/metrics", timeout=10).text
    assert f'method="POST",route="/v1/labels",status="{status}"' in metrics
    assert "unmatched" not in metrics


def test_ordinary_requests_still_work(server: ServerProcess) -> None:
    response = httpx.post(server.base_url + "/v1/classify", json={"text": "Ein Satz. Noch einer."}, timeout=30)
    assert response.status_code == 200
    assert len(response.json()["documents"][0]["sentences"]) == 2


def wait_for_access(server: ServerProcess, predicate, timeout: float = 10) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        matches = [e for e in access_lines(server) if predicate(e)]
        if matches:
            return matches[-1]
        time.sleep(0.05)
    raise AssertionError("no such access line:\n" + "\n".join(json.dumps(e) for e in access_lines(server)))
