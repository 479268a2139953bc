"""Upload sessions: create, single-shot, chunked, stream, details, cancel."""

from __future__ import annotations

import asyncio
import hashlib
import os
import time

import httpx
import pytest
from emu_helpers import (
    OTHER_KEY,
    TLS,
    WORKSPACE,
    Emu,
    create_fields,
    create_session,
    details,
    err,
    ok,
    put_chunk,
    sha256,
    stored_files,
    upload_small,
)

CHUNK = 2048  # above the test minimum chunk size of 1024


async def content(control: httpx.AsyncClient, file_id: str) -> bytes:
    resp = await control.get(f"/_emulator/files/{file_id}/content")
    resp.raise_for_status()
    return resp.content


# Create ---------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("over", "param"),
    [
        ({"name": None}, "name"),
        ({"name": ""}, "name"),
        ({"name": "a/b"}, "name"),
        ({"name": "x" * 256}, "name"),
        ({"size": None}, "size"),
        ({"size": "-1"}, "size"),
        ({"size": "ten"}, "size"),
        ({"action": None}, "action"),
        ({"action": "delete"}, "action"),
        ({"instance_id": None}, "instance_id"),
        ({"instance_id": "123"}, "instance_id"),
        ({"instance_id": "12345678901234567890"}, "instance_id"),
        ({"instance_id": "123456789012345678x"}, "instance_id"),
        ({"folder_id": None}, "folder_id"),
        ({"folder_id": "../x"}, "folder_id"),
        ({"profile_type": None}, "profile_type"),
        ({"profile_type": "org"}, "profile_type"),
        ({"stream": "maybe"}, "stream"),
        ({"max_size": "10"}, "max_size"),
        ({"stream": "true", "max_size": "0"}, "max_size"),
        ({"stream": "true", "max_size": "5", "size": "10"}, "size"),
        ({"action": "update", "file_id": None}, "file_id"),
    ],
)
async def test_create_validates_each_field(
    client: httpx.AsyncClient, over: dict, param: str
):
    resp = await client.post("/current/upload/", data=create_fields(**over))
    error = err(resp, 400, 1605)
    assert param in error["text"]
    assert error["params"][0]["name"] == param


@pytest.mark.asyncio
async def test_create_accepts_multipart_and_query(client: httpx.AsyncClient):
    fields = create_fields(size=10)
    resp = await client.post(
        "/current/upload/", files={k: (None, v) for k, v in fields.items()}
    )
    assert ok(resp)["id"]
    resp = await client.post("/current/upload/", params=fields)
    assert ok(resp)["id"]


@pytest.mark.asyncio
async def test_create_over_plan_limit(client: httpx.AsyncClient):
    resp = await client.post("/current/upload/", data=create_fields(size=2**40))
    err(resp, 413, 10524)


@pytest.mark.asyncio
async def test_create_update_of_missing_file(client: httpx.AsyncClient):
    resp = await client.post(
        "/current/upload/", data=create_fields(action="update", file_id="nope")
    )
    err(resp, 404, 1609)


# Single-shot ----------------------------------------------------------------


@pytest.mark.asyncio
async def test_single_shot_upload(
    client: httpx.AsyncClient, control: httpx.AsyncClient
):
    data = os.urandom(5000)
    file_id = await upload_small(client, "small.bin", data, folder_id="f1")
    [f] = await stored_files(control)
    assert f["id"] == file_id
    assert f["name"] == "small.bin"
    assert f["size"] == 5000
    assert f["sha256"] == sha256(data)
    assert f["instance_id"] == WORKSPACE
    assert f["folder_id"] == "f1"
    assert await content(control, file_id) == data


@pytest.mark.asyncio
async def test_single_shot_checks(
    client: httpx.AsyncClient, control: httpx.AsyncClient
):
    data = b"hello world"
    fields = create_fields(name="h.txt", size=len(data) + 1)
    files = {"chunk": ("h.txt", data)}
    err(await client.post("/current/upload/", data=fields, files=files), 400, 10522)
    fields = create_fields(name="h.txt", size=len(data), hash="0" * 64)
    err(await client.post("/current/upload/", data=fields, files=files), 406, 10778)
    fields = create_fields(name="h.txt", size=len(data), hash=sha256(data))
    ok(await client.post("/current/upload/", data=fields, files=files))
    big = b"x" * (4 * 1024 * 1024 + 1)
    fields = create_fields(name="big", size=len(big))
    resp = await client.post(
        "/current/upload/", data=fields, files={"chunk": ("big", big)}
    )
    err(resp, 413, 10524)
    assert len(await stored_files(control)) == 1


# Chunked --------------------------------------------------------------------


@pytest.mark.asyncio
async def test_chunked_upload_end_to_end(
    client: httpx.AsyncClient, control: httpx.AsyncClient
):
    parts = [os.urandom(CHUNK), os.urandom(CHUNK), os.urandom(700)]
    whole = b"".join(parts)
    sid = await create_session(client, name="big.bin", size=len(whole))
    s = await details(client, sid)
    assert s["status"] == "ready"
    assert s["chunks"] == {}
    for i, part in enumerate(parts, start=1):
        body = ok(await put_chunk(client, sid, i, part))
        assert body["chunk"] == {"order": i, "size": len(part), "sha256": sha256(part)}
    s = await details(client, sid)
    assert s["status"] == "uploading"
    assert s["chunks"] == {"1": CHUNK, "2": CHUNK, "3": 700}
    done = ok(await client.post(f"/current/upload/{sid}/complete/"))
    assert done["session"]["status"] in ("assembling", "stored")
    s = await details(client, sid, wait=5)
    assert s["status"] == "stored"
    assert s["status_message"] == ""
    [f] = await stored_files(control)
    assert s["new_file_id"] == f["id"]
    assert f["sha256"] == sha256(whole)
    assert await content(control, f["id"]) == whole


@pytest.mark.asyncio
async def test_chunk_validation(client: httpx.AsyncClient):
    sid = await create_session(client, size=CHUNK)
    data = os.urandom(CHUNK)
    err(await put_chunk(client, sid, 0, data), 400, 1605)
    err(await put_chunk(client, sid, 551, data), 400, 1605)
    err(await put_chunk(client, sid, 1, data, size=CHUNK - 1), 400, 10522)
    resp = await client.post(
        f"/current/upload/{sid}/chunk/", params={"order": "1"}, content=data
    )
    err(resp, 400, 1605)
    resp = await client.post(
        f"/current/upload/{sid}/chunk/",
        params={"order": "1"},
        files={"other": ("x", data)},
    )
    err(resp, 400, 1605)
    assert (await details(client, sid))["chunks"] == {}


@pytest.mark.asyncio
@pytest.mark.parametrize("algo", ["md5", "sha1", "sha256", "sha384"])
async def test_chunk_hashes(client: httpx.AsyncClient, algo: str):
    sid = await create_session(client, size=CHUNK)
    data = os.urandom(CHUNK)
    good = hashlib.new(algo, data).hexdigest()
    bad = hashlib.new(algo, b"other").hexdigest()
    resp = await put_chunk(client, sid, 1, data, hash=bad, hash_algo=algo)
    err(resp, 406, 10778)
    assert (await details(client, sid))["chunks"] == {}
    ok(await put_chunk(client, sid, 1, data, hash=good.upper(), hash_algo=algo))


@pytest.mark.asyncio
async def test_chunk_hash_as_form_fields(client: httpx.AsyncClient):
    sid = await create_session(client, size=CHUNK)
    data = os.urandom(CHUNK)
    for digest, expect in (("0" * 96, 10778), (hashlib.sha384(data).hexdigest(), 0)):
        resp = await client.post(
            f"/current/upload/{sid}/chunk/",
            params={"order": "1", "size": str(CHUNK)},
            files={
                "chunk": ("c", data),
                "hash": (None, digest),
                "hash_algo": (None, "sha384"),
            },
        )
        if expect:
            err(resp, 406, expect)
        else:
            ok(resp)


@pytest.mark.asyncio
async def test_chunk_hash_params_checked(client: httpx.AsyncClient):
    sid = await create_session(client, size=CHUNK)
    data = os.urandom(CHUNK)
    err(await put_chunk(client, sid, 1, data, hash="ab", hash_algo="crc9"), 400, 1605)
    err(await put_chunk(client, sid, 1, data, hash="abc"), 400, 1605)
    err(await put_chunk(client, sid, 1, data, hash_algo="md5"), 400, 1605)


@pytest.mark.asyncio
async def test_resent_chunk_replaces(
    client: httpx.AsyncClient, control: httpx.AsyncClient
):
    first, second = os.urandom(1500), os.urandom(1800)
    sid = await create_session(client, size=1800)
    ok(await put_chunk(client, sid, 1, first))
    ok(await put_chunk(client, sid, 1, second))
    assert (await details(client, sid))["chunks"] == {"1": 1800}
    ok(await client.post(f"/current/upload/{sid}/complete/"))
    s = await details(client, sid, wait=5)
    assert await content(control, s["new_file_id"]) == second


@pytest.mark.asyncio
async def test_get_and_delete_chunk(client: httpx.AsyncClient):
    sid = await create_session(client, size=CHUNK * 2)
    data = os.urandom(CHUNK)
    ok(await put_chunk(client, sid, 1, data))
    ok(await put_chunk(client, sid, 2, data))
    url = f"/current/upload/{sid}/chunk/"
    info = ok(await client.get(url, params={"order": "2"}))["chunk"]
    assert info["order"] == 2
    assert info["size"] == CHUNK
    assert info["sha256"] == sha256(data)
    assert ok(await client.get(url))["chunks"] == {"1": CHUNK, "2": CHUNK}
    err(await client.get(url, params={"order": "3"}), 404, 1609)
    left = ok(await client.delete(url, params={"order": "1"}))["chunks"]
    assert left == {"2": CHUNK}
    err(await client.delete(url, params={"order": "1"}), 404, 1609)
    err(await client.delete(url), 400, 1605)
    # Chunk 1 is missing now: completion refuses.
    err(await client.post(f"/current/upload/{sid}/complete/"), 400, 10522)


@pytest.mark.asyncio
async def test_complete_checks(client: httpx.AsyncClient):
    sid = await create_session(client, size=CHUNK * 2)
    ok(await put_chunk(client, sid, 1, os.urandom(CHUNK)))
    ok(await put_chunk(client, sid, 3, os.urandom(CHUNK)))
    error = err(await client.post(f"/current/upload/{sid}/complete/"), 400, 10522)
    assert "[2]" in error["text"]
    ok(await client.delete(f"/current/upload/{sid}/chunk/", params={"order": "3"}))
    error = err(await client.post(f"/current/upload/{sid}/complete/"), 400, 10522)
    assert str(CHUNK * 2) in error["text"]
    # Still open: the client can fix it and complete.
    ok(await put_chunk(client, sid, 2, os.urandom(CHUNK)))
    ok(await client.post(f"/current/upload/{sid}/complete/"))
    assert (await details(client, sid, wait=5))["status"] == "stored"
    # Terminal sessions refuse further chunk and complete calls.
    err(await client.post(f"/current/upload/{sid}/complete/"), 409, 10779)
    err(await put_chunk(client, sid, 1, os.urandom(CHUNK)), 409, 10779)


@pytest.mark.asyncio
async def test_min_chunk_size_only_for_non_last(
    client: httpx.AsyncClient, control: httpx.AsyncClient
):
    sid = await create_session(client, size=1000 + 10)
    ok(await put_chunk(client, sid, 1, os.urandom(1000)))
    ok(await put_chunk(client, sid, 2, os.urandom(10)))
    error = err(await client.post(f"/current/upload/{sid}/complete/"), 400, 1605)
    assert error["params"][0]["name"] == "chunk 1"
    # A single short chunk is fine (it is the last one).
    sid = await create_session(client, size=10)
    ok(await put_chunk(client, sid, 1, os.urandom(10)))
    ok(await client.post(f"/current/upload/{sid}/complete/"))
    # The documented 1 MB default applies when configured.
    await control.put("/_emulator/config", json={"min_chunk_size": 1_000_000})
    limits = ok(await client.get("/current/upload/limits/"))["limits"]
    assert limits["chunk_size_min"] == 1_000_000


@pytest.mark.asyncio
async def test_max_chunk_size(client: httpx.AsyncClient, control: httpx.AsyncClient):
    await control.put("/_emulator/config", json={"max_chunk_size": 4096})
    sid = await create_session(client, size=5000)
    err(await put_chunk(client, sid, 1, os.urandom(5000)), 413, 10524)
    assert (await details(client, sid))["chunks"] == {}


@pytest.mark.asyncio
async def test_empty_file_chunked(
    client: httpx.AsyncClient, control: httpx.AsyncClient
):
    sid = await create_session(client, size=0, name="empty")
    ok(await client.post(f"/current/upload/{sid}/complete/"))
    s = await details(client, sid, wait=5)
    assert s["status"] == "stored"
    assert await content(control, s["new_file_id"]) == b""


@pytest.mark.asyncio
async def test_long_poll_waits_for_assembly(
    client: httpx.AsyncClient, control: httpx.AsyncClient
):
    await control.put("/_emulator/config", json={"assembly_delay": 0.4})
    sid = await create_session(client, size=100)
    ok(await put_chunk(client, sid, 1, os.urandom(100)))
    done = ok(await client.post(f"/current/upload/{sid}/complete/"))
    assert done["session"]["status"] == "assembling"
    assert (await details(client, sid))["status"] == "assembling"
    start = time.monotonic()
    s = await details(client, sid, wait=10)
    elapsed = time.monotonic() - start
    assert s["status"] == "stored"
    assert 0.1 < elapsed < 3
    # A terminal session answers at once even with a long wait.
    start = time.monotonic()
    await details(client, sid, wait=30)
    assert time.monotonic() - start < 1


@pytest.mark.asyncio
async def test_long_poll_times_out(client: httpx.AsyncClient):
    sid = await create_session(client, size=100)
    start = time.monotonic()
    s = await details(client, sid, wait=0.3)
    assert s["status"] == "ready"
    assert 0.25 < time.monotonic() - start < 2
    err(
        await client.get(f"/current/upload/{sid}/details/", params={"wait": "x"}),
        400,
        1605,
    )


@pytest.mark.asyncio
async def test_long_poll_wakes_on_status_change(client: httpx.AsyncClient):
    sid = await create_session(client, size=100)
    waiter = asyncio.create_task(details(client, sid, wait=10))
    await asyncio.sleep(0.2)
    assert not waiter.done()
    ok(await put_chunk(client, sid, 1, os.urandom(100)))
    s = await asyncio.wait_for(waiter, 3)
    assert s["status"] == "uploading"


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", ["assembly_failed", "store_failed"])
async def test_assembly_failures(
    client: httpx.AsyncClient, control: httpx.AsyncClient, kind: str
):
    fault = {"match": r"POST /current/upload/.*/complete/", "kind": kind}
    assert (await control.post("/_emulator/faults", json=fault)).status_code == 201
    sid = await create_session(client, size=100)
    ok(await put_chunk(client, sid, 1, os.urandom(100)))
    ok(await client.post(f"/current/upload/{sid}/complete/"))
    s = await details(client, sid, wait=5)
    assert s["status"] == kind
    assert s["status_message"]
    assert s["new_file_id"] is None
    assert await stored_files(control) == []


@pytest.mark.asyncio
async def test_cancel_and_unknown_session(
    client: httpx.AsyncClient, control: httpx.AsyncClient
):
    sid = await create_session(client, size=CHUNK)
    ok(await put_chunk(client, sid, 1, os.urandom(CHUNK)))
    ok(await client.delete(f"/current/upload/{sid}/"))
    err(await client.get(f"/current/upload/{sid}/details/"), 404, 1609)
    err(await put_chunk(client, sid, 1, b"x"), 404, 1609)
    err(await client.post(f"/current/upload/{sid}/complete/"), 404, 1609)
    err(await client.delete(f"/current/upload/{sid}/"), 404, 1609)
    err(await client.post("/current/upload/nope/stream/", content=b"x"), 404, 1609)
    resp = await control.get(f"/_emulator/sessions/{sid}")
    assert resp.status_code == 404


@pytest.mark.asyncio
async def test_cancel_stored_session_keeps_file(
    client: httpx.AsyncClient, control: httpx.AsyncClient
):
    sid = await create_session(client, size=10)
    ok(await put_chunk(client, sid, 1, b"0123456789"))
    ok(await client.post(f"/current/upload/{sid}/complete/"))
    await details(client, sid, wait=5)
    ok(await client.delete(f"/current/upload/{sid}/"))
    assert len(await stored_files(control)) == 1


@pytest.mark.asyncio
async def test_sessions_are_per_caller(client: httpx.AsyncClient, emulator: Emu):
    mine = await create_session(client, size=1)
    listed = ok(await client.get("/current/upload/details/"))["sessions"]
    assert [s["id"] for s in listed] == [mine]
    async with httpx.AsyncClient(
        verify=TLS,
        base_url=emulator.base,
        headers={"Authorization": f"Bearer {OTHER_KEY}"},
    ) as other:
        assert ok(await other.get("/current/upload/details/"))["sessions"] == []
        err(await other.get(f"/current/upload/{mine}/details/"), 404, 1609)
        ok(await other.delete("/current/upload/"))
    ok(await client.get(f"/current/upload/{mine}/details/"))
    assert ok(await client.delete("/current/upload/"))["cancelled"] == 1
    err(await client.get(f"/current/upload/{mine}/details/"), 404, 1609)


@pytest.mark.asyncio
async def test_control_session_view(
    client: httpx.AsyncClient, control: httpx.AsyncClient
):
    sid = await create_session(client, size=CHUNK + 5)
    data = os.urandom(CHUNK)
    ok(await put_chunk(client, sid, 1, data))
    s = (await control.get(f"/_emulator/sessions/{sid}")).json()
    assert s["bytes_received"] == CHUNK
    assert s["chunks"] == {"1": CHUNK}
    assert s["chunk_details"] == [{"order": 1, "size": CHUNK, "sha256": sha256(data)}]
    all_sessions = (await control.get("/_emulator/sessions")).json()["sessions"]
    assert [x["id"] for x in all_sessions] == [sid]


# Stream ---------------------------------------------------------------------


async def stream_session(client: httpx.AsyncClient, **over: str) -> str:
    return await create_session(client, stream="true", size=None, **over)


@pytest.mark.asyncio
async def test_stream_upload(client: httpx.AsyncClient, control: httpx.AsyncClient):
    data = os.urandom(300_000)
    sid = await stream_session(client, name="s.bin")
    resp = await client.post(
        f"/current/upload/{sid}/stream/",
        params={"hash": sha256(data), "hash_algo": "sha256"},
        content=data,
        headers={"Content-Type": "application/octet-stream"},
    )
    s = ok(resp)["session"]
    assert s["status"] == "stored"
    assert s["stream"] is True
    assert s["chunks"] == {}
    [f] = await stored_files(control)
    assert s["new_file_id"] == f["id"]
    assert f["size"] == len(data)
    assert await content(control, f["id"]) == data
    # It finalized itself: chunk, complete and a second stream are refused.
    err(await put_chunk(client, sid, 1, b"x"), 406, 10523)
    err(await client.post(f"/current/upload/{sid}/complete/"), 406, 10523)
    err(await client.post(f"/current/upload/{sid}/stream/", content=b"x"), 409, 10779)


@pytest.mark.asyncio
async def test_stream_calls_on_wrong_session_type(client: httpx.AsyncClient):
    sid = await create_session(client, size=3)
    err(await client.post(f"/current/upload/{sid}/stream/", content=b"abc"), 406, 10523)
    sid = await stream_session(client)
    err(await put_chunk(client, sid, 1, b"abc"), 406, 10523)
    err(await client.post(f"/current/upload/{sid}/complete/"), 406, 10523)


@pytest.mark.asyncio
async def test_stream_hash_mismatch_stores_nothing(
    client: httpx.AsyncClient, control: httpx.AsyncClient
):
    data = os.urandom(10_000)
    sid = await stream_session(client)
    resp = await client.post(
        f"/current/upload/{sid}/stream/",
        params={"hash": sha256(b"other"), "hash_algo": "sha256"},
        content=data,
    )
    err(resp, 406, 10778)
    assert await stored_files(control) == []
    s = await details(client, sid)
    assert s["status"] == "ready"
    assert s["new_file_id"] is None
    # The session may be retried with the right bytes.
    ok(await client.post(f"/current/upload/{sid}/stream/", content=data))


@pytest.mark.asyncio
async def test_stream_declared_size_must_match(
    client: httpx.AsyncClient, control: httpx.AsyncClient
):
    sid = await create_session(client, stream="true", size=100)
    err(
        await client.post(f"/current/upload/{sid}/stream/", content=b"x" * 99),
        400,
        10522,
    )
    err(
        await client.post(f"/current/upload/{sid}/stream/", content=b"x" * 101),
        400,
        10522,
    )
    assert await stored_files(control) == []
    ok(await client.post(f"/current/upload/{sid}/stream/", content=b"x" * 100))


@pytest.mark.asyncio
async def test_stream_without_size_takes_any_length(client: httpx.AsyncClient):
    for n in (0, 1, 70_000):
        sid = await create_session(client, stream="true", size=0)
        s = ok(await client.post(f"/current/upload/{sid}/stream/", content=b"y" * n))
        assert s["session"]["status"] == "stored"
        assert s["session"]["bytes_received"] == n


@pytest.mark.asyncio
async def test_stream_max_size(client: httpx.AsyncClient, control: httpx.AsyncClient):
    sid = await stream_session(client, max_size="1000")
    resp = await client.post(f"/current/upload/{sid}/stream/", content=b"z" * 1001)
    err(resp, 413, 10524)
    assert await stored_files(control) == []
    s = await details(client, sid)
    assert s["status"] == "ready"
    ok(await client.post(f"/current/upload/{sid}/stream/", content=b"z" * 1000))


@pytest.mark.asyncio
async def test_stream_chunked_transfer_encoding(
    client: httpx.AsyncClient, control: httpx.AsyncClient
):
    async def body():
        for _ in range(10):
            yield b"q" * 10_000

    sid = await stream_session(client)
    s = ok(await client.post(f"/current/upload/{sid}/stream/", content=body()))
    assert s["session"]["bytes_received"] == 100_000
    [f] = await stored_files(control)
    assert f["sha256"] == sha256(b"q" * 100_000)


@pytest.mark.asyncio
async def test_stream_store_failed_fault(
    client: httpx.AsyncClient, control: httpx.AsyncClient
):
    fault = {"match": "/stream/", "kind": "store_failed"}
    await control.post("/_emulator/faults", json=fault)
    sid = await stream_session(client)
    s = ok(await client.post(f"/current/upload/{sid}/stream/", content=b"abc"))
    assert s["session"]["status"] == "store_failed"
    assert await stored_files(control) == []


# Update ---------------------------------------------------------------------


@pytest.mark.asyncio
async def test_update_replaces_content(
    client: httpx.AsyncClient, control: httpx.AsyncClient
):
    file_id = await upload_small(client, "doc.txt", b"version one")
    [before] = await stored_files(control)
    sid = await create_session(
        client,
        action="update",
        file_id=file_id,
        size=11,
        folder_id=None,
        profile_type=None,
    )
    ok(await put_chunk(client, sid, 1, b"version two"))
    ok(await client.post(f"/current/upload/{sid}/complete/"))
    s = await details(client, sid, wait=5)
    assert s["new_file_id"] == file_id
    [after] = await stored_files(control)
    assert after["id"] == file_id
    assert after["version_id"] != before["version_id"]
    assert await content(control, file_id) == b"version two"
