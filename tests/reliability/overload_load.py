"""Load for the overload test, run as its own process so that the clients' work never slows the measurement.

    python -m tests.reliability.overload_load PORT SECONDS CLIENTS PERIOD HUGE_BODY_FILE

One client posts the huge body again and again; CLIENTS clients each post a one-sentence request every
PERIOD seconds over their own keep-alive connection. Prints one JSON object: every small request's latency
and status, and every huge request's duration and status.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

ONE_SENTENCE = json.dumps(
    {"sentences": ["Die Regierung hat die Warnungen ignoriert."], "targets": ["Regierung"]}
).encode()


def request(port: int, body: bytes) -> bytes:
    head = (
        f"POST /v1/classify HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, data: bytes) -> int:
    """Send one request, read its whole answer; the status."""
    writer.write(data)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    length = next(int(line.split(":", 1)[1]) for line in lines if line.lower().startswith("content-length:"))
    await reader.readexactly(length)
    return int(lines[0].split()[1])


async def small_client(port: int, until: float, period: float, offset: float, out: list[tuple[float, int]]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    data = request(port, ONE_SENTENCE)
    loop = asyncio.get_running_loop()
    next_at = loop.time() + offset
    while max(next_at, loop.time()) < until:
        await asyncio.sleep(max(0.0, next_at - loop.time()))
        started = time.perf_counter()
        status = await exchange(reader, writer, data)
        out.append((time.perf_counter() - started, status))
        next_at += period
    writer.close()


async def huge_client(port: int, until: float, body: bytes, out: list[tuple[float, int]]) -> None:
    loop = asyncio.get_running_loop()
    while loop.time() < until:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        started = time.perf_counter()
        status = await exchange(reader, writer, request(port, body))
        out.append((time.perf_counter() - started, status))
        writer.close()


async def main(port: int, seconds: float, clients: int, period: float, huge_body: bytes) -> dict[str, object]:
    until = asyncio.get_running_loop().time() + seconds
    small: list[tuple[float, int]] = []
    huge: list[tuple[float, int]] = []
    tasks = [huge_client(port, until, huge_body, huge)]
    tasks += [small_client(port, until, period, period * i / clients, small) for i in range(clients)]
    await asyncio.gather(*tasks)
    return {"small": small, "huge": huge}


if __name__ == "__main__":
    port, seconds, clients, period, body_file = sys.argv[1:6]
    result = asyncio.run(main(int(port), float(seconds), int(clients), float(period), Path(body_file).read_bytes()))
    print(json.dumps(result))
