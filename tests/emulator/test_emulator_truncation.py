"""Never a truncated file: short, dropped or badly framed bodies store nothing."""

from __future__ import annotations

import os

import httpx
import pytest
from emu_helpers import (
    API_KEY,
    WORKSPACE,
    Emu,
    create_session,
    details,
    err,
    http_head,
    ok,
    raw_send,
    request_log,
    stored_files,
    wait_for,
)

AUTH = {"Authorization": f"Bearer {API_KEY}"}
BOUNDARY = "emuboundary"


def multipart(fields: dict[str, str], data: bytes) -> tuple[bytes, bytes, bytes]:
    """Return (head of body, file bytes, closing) of a multipart body."""
    head = b""
    for k, v in fields.items():
        head += (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
        ).encode()
    head += (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="chunk";'
        ' filename="c.bin"\r\nContent-Type: application/octet-stream\r\n\r\n'
    ).encode()
    return head, data, f"\r\n--{BOUNDARY}--\r\n".encode()


MP_HEADERS = {**AUTH, "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}


async def logged(control: httpx.AsyncClient, path: str) -> dict:
    """Wait until the emulator has finished (and logged) a request to path."""

    async def find():
        return [e for e in await request_log(control) if e["path"] == path]

    return (await wait_for(find))[-1]


@pytest.mark.asyncio
async def test_stream_short_of_content_length(
    emulator: Emu, client: httpx.AsyncClient, control: httpx.AsyncClient
):
    sid = await create_session(client, stream="true", size=None)
    path = f"/current/upload/{sid}/stream/"
    head = http_head("POST", path, AUTH, 100_000)
    await raw_send(emulator, head, [os.urandom(20_000), os.urandom(20_000)])
    entry = await logged(control, path)
    assert entry["bytes_received"] == 40_000
    assert await stored_files(control) == []
    s = await details(client, sid)
    assert s["status"] == "ready"
    assert s["new_file_id"] is None
    # The session was not advanced and still takes a full body.
    ok(await client.post(path, content=b"a" * 10))


@pytest.mark.asyncio
async def test_stream_with_declared_size_cut_short(
    emulator: Emu, client: httpx.AsyncClient, control: httpx.AsyncClient
):
    sid = await create_session(client, stream="true", size=50_000)
    path = f"/current/upload/{sid}/stream/"
    head = http_head("POST", path, AUTH, 50_000)
    await raw_send(emulator, head, [os.urandom(49_999)])
    await logged(control, path)
    assert await stored_files(control) == []
    assert (await details(client, sid))["status"] == "ready"


@pytest.mark.asyncio
async def test_stream_reset_mid_chunked_body(
    emulator: Emu, client: httpx.AsyncClient, control: httpx.AsyncClient
):
    sid = await create_session(client, stream="true", size=None)
    path = f"/current/upload/{sid}/stream/"
    head = http_head("POST", path, {**AUTH, "Transfer-Encoding": "chunked"}, None)
    piece = os.urandom(8192)
    frame = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    await raw_send(emulator, head, [frame, frame, frame], abort=True)
    await logged(control, path)
    assert await stored_files(control) == []
    assert (await details(client, sid))["status"] == "ready"


@pytest.mark.asyncio
async def test_chunk_short_of_content_length(
    emulator: Emu, client: httpx.AsyncClient, control: httpx.AsyncClient
):
    sid = await create_session(client, size=5000)
    path = f"/current/upload/{sid}/chunk/"
    data = os.urandom(5000)
    start, body, end = multipart({}, data)
    total = len(start) + len(body) + len(end)
    head = http_head("POST", f"{path}?order=1&size=5000", MP_HEADERS, total)
    await raw_send(emulator, head, [start, body[:3000]])
    await logged(control, path)
    s = await details(client, sid)
    assert s["chunks"] == {}
    assert s["status"] == "ready"
    assert s["bytes_received"] == 0


@pytest.mark.asyncio
async def test_chunk_complete_but_request_cut_before_final_boundary(
    emulator: Emu, client: httpx.AsyncClient, control: httpx.AsyncClient
):
    # Every chunk byte arrives, but the request itself never finishes.
    sid = await create_session(client, size=5000)
    path = f"/current/upload/{sid}/chunk/"
    start, body, end = multipart({}, os.urandom(5000))
    total = len(start) + len(body) + len(end)
    head = http_head("POST", f"{path}?order=1&size=5000", MP_HEADERS, total)
    await raw_send(emulator, head, [start, body, end[:4]])
    await logged(control, path)
    assert (await details(client, sid))["chunks"] == {}


@pytest.mark.asyncio
async def test_chunk_reset_mid_body(
    emulator: Emu, client: httpx.AsyncClient, control: httpx.AsyncClient
):
    sid = await create_session(client, size=50_000)
    path = f"/current/upload/{sid}/chunk/"
    start, body, end = multipart({}, os.urandom(50_000))
    total = len(start) + len(body) + len(end)
    head = http_head("POST", f"{path}?order=1", MP_HEADERS, total)
    await raw_send(emulator, head, [start, body[:20_000]], abort=True)
    await logged(control, path)
    assert (await details(client, sid))["chunks"] == {}


@pytest.mark.asyncio
async def test_multipart_without_closing_boundary(
    client: httpx.AsyncClient, control: httpx.AsyncClient
):
    sid = await create_session(client, size=3000)
    start, body, _end = multipart({}, os.urandom(3000))
    resp = await client.post(
        f"/current/upload/{sid}/chunk/",
        params={"order": "1"},
        content=start + body,
        headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
    )
    err(resp, 400, 1605)
    assert (await details(client, sid))["chunks"] == {}


@pytest.mark.asyncio
async def test_single_shot_cut_short(
    emulator: Emu, client: httpx.AsyncClient, control: httpx.AsyncClient
):
    fields = {
        "name": "cut.bin",
        "size": "4000",
        "action": "create",
        "instance_id": WORKSPACE,
        "folder_id": "root",
        "profile_type": "workspace",
    }
    start, body, end = multipart(fields, os.urandom(4000))
    total = len(start) + len(body) + len(end)
    head = http_head("POST", "/current/upload/", MP_HEADERS, total)
    await raw_send(emulator, head, [start, body[:1000]])
    await logged(control, "/current/upload/")
    assert await stored_files(control) == []
    assert ok(await client.get("/current/upload/details/"))["sessions"] == []


@pytest.mark.asyncio
async def test_server_survives_and_temp_files_are_gone(
    emulator: Emu, client: httpx.AsyncClient, control: httpx.AsyncClient
):
    sid = await create_session(client, stream="true", size=None)
    path = f"/current/upload/{sid}/stream/"
    await raw_send(emulator, http_head("POST", path, AUTH, 10_000), [b"x" * 5000])
    await logged(control, path)
    assert list((emulator.data_dir / "tmp").iterdir()) == []
    ok(await client.get("/current/upload/limits/"))
