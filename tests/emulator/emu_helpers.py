"""Shared helpers for the emulator contract tests."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import selectors
import ssl
import subprocess
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

API_KEY = "test-key"
OTHER_KEY = "other-key"
WORKSPACE = "1234567890123456789"
# Everything is plain HTTP on 127.0.0.1; one shared context saves httpx from
# loading the CA bundle for every client it builds.
TLS = ssl.create_default_context()
READY_TIMEOUT = 15.0


@dataclass
class Emu:
    """Where the test emulator listens."""

    api: str
    data_dir: Path

    @property
    def base(self) -> str:
        """The origin, without /current/."""
        return self.api.removesuffix("/current/")

    @property
    def host(self) -> str:
        return urlsplit(self.api).hostname or "127.0.0.1"

    @property
    def port(self) -> int:
        return urlsplit(self.api).port or 80


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def ok(resp: httpx.Response, status: int = 200) -> dict[str, Any]:
    """Assert a success envelope and return its payload."""
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["result"] == "yes", body
    return body["response"]


def err(resp: httpx.Response, status: int, code: int) -> dict[str, Any]:
    """Assert a failure envelope with the given HTTP status and code."""
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["result"] == "no", body
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["text"], str) and body["error"]["text"]
    assert isinstance(body["error"]["error_code"], str)
    return body["error"]


def create_fields(**over: Any) -> dict[str, str]:
    """The form fields of a create call, with overrides (None removes a field)."""
    fields: dict[str, Any] = {
        "name": "file.bin",
        "size": "0",
        "action": "create",
        "instance_id": WORKSPACE,
        "folder_id": "root",
        "profile_type": "workspace",
    }
    fields.update(over)
    return {k: str(v) for k, v in fields.items() if v is not None}


async def create_session(client: httpx.AsyncClient, **over: Any) -> str:
    """Open an upload session and return its id."""
    resp = await client.post("/current/upload/", data=create_fields(**over))
    return ok(resp)["id"]


async def put_chunk(
    client: httpx.AsyncClient,
    sid: str,
    order: int,
    data: bytes,
    size: int | None = None,
    **extra: str,
) -> httpx.Response:
    """Send one chunk as multipart field `chunk`."""
    query = {"order": str(order), "size": str(len(data) if size is None else size)}
    query.update(extra)
    return await client.post(
        f"/current/upload/{sid}/chunk/",
        params=query,
        files={"chunk": ("chunk.bin", data, "application/octet-stream")},
    )


async def details(client: httpx.AsyncClient, sid: str, wait: float = 0) -> dict:
    """Fetch a session's details."""
    params = {"wait": str(wait)} if wait else None
    resp = await client.get(f"/current/upload/{sid}/details/", params=params)
    return ok(resp)["session"]


async def wait_for(
    check: Callable[[], Awaitable[Any]], timeout: float = 5.0, step: float = 0.02
) -> Any:
    """Poll an async check until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(step)


async def stored_files(control: httpx.AsyncClient) -> list[dict[str, Any]]:
    """Every stored file, per the control API."""
    resp = await control.get("/_emulator/files")
    resp.raise_for_status()
    return resp.json()["files"]


async def request_log(control: httpx.AsyncClient) -> list[dict[str, Any]]:
    """The emulator's request log."""
    resp = await control.get("/_emulator/requests")
    resp.raise_for_status()
    return resp.json()["requests"]


async def upload_small(
    client: httpx.AsyncClient, name: str, data: bytes, **over: Any
) -> str:
    """Store a small file with one call; return its node id."""
    fields = create_fields(name=name, size=len(data), **over)
    resp = await client.post(
        "/current/upload/",
        data=fields,
        files={"chunk": (name, data, "application/octet-stream")},
    )
    return ok(resp)["new_file_id"]


async def raw_send(
    emu: Emu, head: bytes, parts: list[bytes], abort: bool = False
) -> None:
    """Send raw bytes on a socket and hang up (FIN, or RST when abort)."""
    reader, writer = await asyncio.open_connection(emu.host, emu.port)
    try:
        writer.write(head)
        for part in parts:
            writer.write(part)
            await writer.drain()
            await asyncio.sleep(0.02)
    finally:
        if abort:
            writer.transport.abort()
        else:
            writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    del reader


def http_head(
    method: str, path: str, headers: dict[str, str], content_length: int | None
) -> bytes:
    """Build a request head for raw socket tests."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    if content_length is not None:
        lines.append(f"Content-Length: {content_length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def read_ready_line(proc: subprocess.Popen[bytes]) -> str:
    """Wait for the single ready line on stdout."""
    assert proc.stdout is not None
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    try:
        if not sel.select(READY_TIMEOUT):
            raise RuntimeError("emulator did not print its ready line in time")
        return proc.stdout.readline().decode().strip()
    finally:
        sel.close()
