"""Injected faults: delay, status, rate_limit, drop, and their `times` budget."""

from __future__ import annotations

import os
import time

import httpx
import pytest
from emu_helpers import (
    create_session,
    details,
    err,
    ok,
    put_chunk,
    request_log,
    stored_files,
)

LIMITS = "/current/upload/limits/"


async def add_fault(control: httpx.AsyncClient, **spec) -> dict:
    resp = await control.post("/_emulator/faults", json=spec)
    assert resp.status_code == 201, resp.text
    return resp.json()


@pytest.mark.asyncio
async def test_delay(client: httpx.AsyncClient, control: httpx.AsyncClient):
    await add_fault(
        control, match="GET /current/upload/limits/", kind="delay", seconds=0.3
    )
    start = time.monotonic()
    ok(await client.get(LIMITS))
    assert time.monotonic() - start >= 0.3
    start = time.monotonic()
    ok(await client.get(LIMITS))
    assert time.monotonic() - start < 0.3


@pytest.mark.asyncio
async def test_status_times(client: httpx.AsyncClient, control: httpx.AsyncClient):
    fault = await add_fault(control, match="limits", kind="status", status=503, times=2)
    assert fault["remaining"] == 2
    err(await client.get(LIMITS), 503, 1000)
    listed = (await control.get("/_emulator/faults")).json()["faults"]
    assert listed[0]["remaining"] == 1
    err(await client.get(LIMITS), 503, 1000)
    ok(await client.get(LIMITS))
    assert (await control.get("/_emulator/faults")).json()["faults"] == []


@pytest.mark.asyncio
async def test_status_until_cleared(
    client: httpx.AsyncClient, control: httpx.AsyncClient
):
    await add_fault(control, match="limits", kind="status", status=502, times=0)
    for _ in range(3):
        err(await client.get(LIMITS), 502, 1000)
    ok(await client.get("/current/upload/details/"))
    assert (await control.delete("/_emulator/faults")).status_code == 200
    ok(await client.get(LIMITS))


@pytest.mark.asyncio
async def test_rate_limit_fault(client: httpx.AsyncClient, control: httpx.AsyncClient):
    await add_fault(
        control, match="POST /current/upload/$", kind="rate_limit", seconds=7
    )
    resp = await client.post("/current/upload/", data={})
    err(resp, 429, 1671)
    assert resp.headers["x-ve-limit-avail"] == "0"
    assert "x-ve-limit-max" in resp.headers
    expires = int(resp.headers["x-ve-limit-expires"])
    assert time.time() + 5 <= expires <= time.time() + 9
    assert "retry-after" not in resp.headers
    entry = (await request_log(control))[-1]
    assert entry["status"] == 429
    assert entry["fault"] == "rate_limit"


@pytest.mark.asyncio
async def test_drop_stream_stores_nothing(
    client: httpx.AsyncClient, control: httpx.AsyncClient
):
    sid = await create_session(client, stream="true", size=None)
    await add_fault(
        control,
        match=r"POST /current/upload/.*/stream/",
        kind="drop",
        after_bytes=65536,
    )
    with pytest.raises(httpx.TransportError):
        await client.post(f"/current/upload/{sid}/stream/", content=os.urandom(300_000))
    assert await stored_files(control) == []
    assert (await details(client, sid))["status"] == "ready"
    entry = (await request_log(control))[-2]
    assert entry["status"] == "dropped"
    assert entry["fault"] == "drop"
    assert entry["bytes_received"] >= 65536
    # Only once: the retry goes through.
    ok(await client.post(f"/current/upload/{sid}/stream/", content=b"abc"))


@pytest.mark.asyncio
async def test_drop_chunk_stores_no_chunk(
    client: httpx.AsyncClient, control: httpx.AsyncClient
):
    sid = await create_session(client, size=4000)
    await add_fault(control, match="/chunk/", kind="drop", after_bytes=0)
    with pytest.raises(httpx.TransportError):
        await put_chunk(client, sid, 1, os.urandom(4000))
    assert (await details(client, sid))["chunks"] == {}


@pytest.mark.asyncio
async def test_match_is_regex_or_substring(
    client: httpx.AsyncClient, control: httpx.AsyncClient
):
    await add_fault(control, match="GET .*/limits/$", kind="status", status=500)
    ok(await client.get("/current/upload/details/"))
    err(await client.get(LIMITS), 500, 1000)
    # Not a valid regex: used as a plain substring.
    await add_fault(control, match="limits/(", kind="status", status=500)
    ok(await client.get(LIMITS))


@pytest.mark.asyncio
async def test_first_matching_fault_wins(
    client: httpx.AsyncClient, control: httpx.AsyncClient
):
    await add_fault(control, match="limits", kind="status", status=500)
    await add_fault(control, match="limits", kind="status", status=504)
    err(await client.get(LIMITS), 500, 1000)
    err(await client.get(LIMITS), 504, 1000)
    ok(await client.get(LIMITS))


@pytest.mark.asyncio
async def test_faults_do_not_touch_control_api(control: httpx.AsyncClient):
    await add_fault(control, match=".*", kind="status", status=500, times=0)
    assert (await control.get("/_emulator/health")).status_code == 200


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "spec",
    [
        {},
        {"match": "", "kind": "delay"},
        {"match": "x", "kind": "explode"},
        {"match": "x", "kind": "status", "status": 200},
        {"match": "x", "kind": "delay", "seconds": -1},
        {"match": "x", "kind": "delay", "times": 1.5},
    ],
)
async def test_bad_fault_specs(control: httpx.AsyncClient, spec: dict):
    resp = await control.post("/_emulator/faults", json=spec)
    assert resp.status_code == 400
