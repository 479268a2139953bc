"""A bare HTTP/1.1 client for cases httpx cannot express.

It reads the response while the body is still being sent (a server may answer
413 or 401 early, then reset the connection it no longer reads), it can drop
the connection part-way through a body (a client that disconnects), and it
says how many body bytes it had sent when the answer arrived.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes
    sent_before_answer: int  # body bytes written before the status line came

    def json(self) -> dict:
        return json.loads(self.body)


class _Collector(asyncio.Protocol):
    """Keeps every byte received; a failed write does not lose them."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.changed = asyncio.Event()
        self.closed = False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.data += data
        self.changed.set()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.changed.set()

    def send(self, data: bytes) -> bool:
        if self.closed or self.transport is None or self.transport.is_closing():
            return False
        self.transport.write(data)
        return True


def _parse(data: bytes) -> tuple[int, dict[str, str], bytes] | None:
    """Status, headers and body once the whole response is in ``data``."""
    head, sep, rest = bytes(data).partition(b"\r\n\r\n")
    if not sep:
        return None
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        length = int(headers["content-length"])
        return (
            (int(lines[0].split()[1]), headers, rest[:length])
            if len(rest) >= length
            else None
        )
    if headers.get("transfer-encoding") == "chunked":
        body = b""
        while True:
            size_line, sep, rest = rest.partition(b"\r\n")
            if not sep:
                return None
            size = int(size_line.split(b";")[0], 16)
            if size == 0:
                return int(lines[0].split()[1]), headers, body
            if len(rest) < size + 2:
                return None
            body += rest[:size]
            rest = rest[size + 2 :]
    return int(lines[0].split()[1]), headers, rest


async def request(
    url: str,
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes = b"",
    *,
    declared_length: int | None = None,
    chunked: bool = False,
    piece: int = 64 * 1024,
    pause: float = 0.0,
    disconnect_after: int | None = None,
    timeout: float = 60,
) -> RawResponse | None:
    """Send a request; None when ``disconnect_after`` bytes were sent and the
    connection was dropped on purpose (no answer is read then)."""
    parts = urlsplit(url)
    loop = asyncio.get_running_loop()
    _, conn = await loop.create_connection(_Collector, parts.hostname, parts.port)
    head = [f"{method} {path} HTTP/1.1", f"Host: {parts.netloc}"]
    if chunked:
        head.append("Transfer-Encoding: chunked")
    else:
        length = len(body) if declared_length is None else declared_length
        head.append(f"Content-Length: {length}")
    head += [f"{k}: {v}" for k, v in headers.items()]
    conn.send(("\r\n".join(head) + "\r\n\r\n").encode())

    sent = 0
    answered: list[int] = []

    async def send_body() -> None:
        nonlocal sent
        for start in range(0, len(body), piece):
            data = body[start : start + piece]
            if disconnect_after is not None:
                data = data[: max(0, disconnect_after - sent)]
            framed = f"{len(data):x}\r\n".encode() + data + b"\r\n" if chunked else data
            if answered or not data or not conn.send(framed):
                return
            sent += len(data)
            # Respect TCP backpressure as a real client would.
            while conn.transport.get_write_buffer_size() > 256 * 1024:
                if conn.closed or answered:
                    return
                await asyncio.sleep(0.001)
            if pause:
                await asyncio.sleep(pause)
        if chunked and disconnect_after is None:
            conn.send(b"0\r\n\r\n")

    sender = asyncio.create_task(send_body())
    if disconnect_after is not None:
        await sender
        await asyncio.sleep(0.3)
        conn.transport.abort()
        return None

    async def answer() -> tuple[int, dict[str, str], bytes]:
        while True:
            if conn.data.startswith(b"HTTP/") and not answered:
                answered.append(sent)
            parsed = _parse(conn.data)
            if parsed is not None:
                return parsed
            if conn.closed:
                raise ConnectionError(f"closed before a full answer: {conn.data!r}")
            conn.changed.clear()
            await conn.changed.wait()

    try:
        status, got_headers, payload = await asyncio.wait_for(answer(), timeout)
    finally:
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sender
        conn.transport.abort()
    return RawResponse(status, got_headers, payload, answered[0])
