"""Webhooks (signed, retried, redelivered), events search, activity poll, search."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import socket
import time
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from aiohttp import web
from emu_helpers import (
    WORKSPACE,
    create_session,
    details,
    err,
    ok,
    put_chunk,
    upload_small,
    wait_for,
)

WS = f"/current/workspace/{WORKSPACE}/storage"


class Receiver:
    """A tiny webhook endpoint that records deliveries and answers from a script."""

    def __init__(self) -> None:
        self.got: list[tuple[dict[str, str], bytes]] = []
        self.script: list[int] = []
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.got.append((dict(request.headers), body))
        return web.Response(status=self.script.pop(0) if self.script else 200)

    async def count(self, n: int) -> list[tuple[dict[str, str], bytes]]:
        async def enough():
            return len(self.got) >= n

        await wait_for(enough)
        return self.got


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver()
    app = web.Application()
    app.router.add_post("/hook", rec.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    rec.url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    try:
        yield rec
    finally:
        await runner.cleanup()


async def configure(control: httpx.AsyncClient, **cfg) -> None:
    resp = await control.put("/_emulator/config", json=cfg)
    assert resp.status_code == 200, resp.text


async def hooks(control: httpx.AsyncClient) -> list[dict]:
    return (await control.get("/_emulator/webhooks")).json()["webhooks"]


def mac(key: bytes, message: bytes) -> str:
    return base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()


# Webhooks ---------------------------------------------------------------------


@pytest.mark.asyncio
async def test_fastio_signed_delivery(
    client: httpx.AsyncClient, control: httpx.AsyncClient, receiver: Receiver
):
    await configure(
        control, webhook_url=receiver.url, webhook_scheme="fastio", webhook_secret="s3"
    )
    data = b"hello webhook"
    node = await upload_small(client, "hi.txt", data, folder_id="docs")
    [(headers, body)] = await receiver.count(1)
    assert headers["Content-Type"] == "application/json"
    sig = headers["Fastio-Signature"]
    parts = dict(p.split("=", 1) for p in sig.split(","))
    assert abs(int(parts["t"]) - time.time()) < 10
    expected = mac(b"s3", f"{parts['t']}.".encode() + body)
    assert hmac.compare_digest(parts["v1"], expected)
    event = json.loads(body)
    assert event["id"].startswith("evt_")
    assert event["type"] == "workspace_storage_file_added"
    assert abs(event["created"] - time.time()) < 10
    d = event["data"]
    assert d["workspace_id"] == WORKSPACE
    assert d["node_id"] == d["file_id"] == node
    assert d["name"] == "hi.txt"
    assert d["size"] == len(data)
    assert d["sha256"] == hashlib.sha256(data).hexdigest()
    assert d["folder_id"] == "docs"
    assert d["upload_id"]

    async def delivered():
        recs = await hooks(control)
        return recs and recs[0]["delivered"] and recs

    [rec] = await wait_for(delivered)
    assert rec["id"] == event["id"]
    assert rec["event"] == "workspace_storage_file_added"
    assert rec["attempts"] == 1
    assert rec["last_status"] == 200


@pytest.mark.asyncio
async def test_standard_webhooks_delivery(
    client: httpx.AsyncClient, control: httpx.AsyncClient, receiver: Receiver
):
    key = os.urandom(24)
    secret = "whsec_" + base64.b64encode(key).decode()
    await configure(
        control,
        webhook_url=receiver.url,
        webhook_scheme="standard",
        webhook_secret=secret,
    )
    sid = await create_session(client, size=10)
    ok(await put_chunk(client, sid, 1, b"0123456789"))
    ok(await client.post(f"/current/upload/{sid}/complete/"))
    [(headers, body)] = await receiver.count(1)
    event = json.loads(body)
    assert headers["webhook-id"] == event["id"]
    ts = headers["webhook-timestamp"]
    scheme, sig = headers["webhook-signature"].split(",", 1)
    assert scheme == "v1"
    assert hmac.compare_digest(sig, mac(key, f"{event['id']}.{ts}.".encode() + body))
    assert event["data"]["upload_id"] == sid
    assert event["data"]["node_id"] == (await details(client, sid))["new_file_id"]


@pytest.mark.asyncio
async def test_retries_until_2xx(
    client: httpx.AsyncClient, control: httpx.AsyncClient, receiver: Receiver
):
    await configure(control, webhook_url=receiver.url, webhook_secret="k")
    receiver.script = [500, 503]
    await upload_small(client, "r.txt", b"r")
    got = await receiver.count(3)
    assert len({body for _h, body in got}) == 1

    async def delivered():
        recs = await hooks(control)
        return recs and recs[0]["delivered"] and recs[0]

    rec = await wait_for(delivered)
    assert rec["attempts"] == 3
    assert [h["status"] for h in rec["history"]] == [500, 503, 200]


@pytest.mark.asyncio
async def test_gives_up_after_max_attempts(
    client: httpx.AsyncClient, control: httpx.AsyncClient
):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/hook"
    await configure(
        control, webhook_url=dead, webhook_max_attempts=3, webhook_backoff=0.01
    )
    await upload_small(client, "x", b"x")

    async def finished():
        recs = await hooks(control)
        return recs and recs[0]["attempts"] == 3 and recs[0]

    await asyncio.sleep(0.1)
    rec = await wait_for(finished)
    assert rec["delivered"] is False
    assert rec["last_status"] is None
    assert rec["last_error"]


@pytest.mark.asyncio
async def test_redeliver_sends_same_event(
    client: httpx.AsyncClient, control: httpx.AsyncClient, receiver: Receiver
):
    await configure(control, webhook_url=receiver.url, webhook_secret="k")
    await upload_small(client, "a", b"a")
    [(_h, first)] = await receiver.count(1)
    event_id = json.loads(first)["id"]
    resp = await control.post(f"/_emulator/webhooks/{event_id}/redeliver")
    assert resp.status_code == 202
    got = await receiver.count(2)
    assert got[1][1] == first
    assert got[1][0]["Fastio-Signature"]

    async def two():
        recs = await hooks(control)
        return recs and recs[0]["attempts"] == 2 and recs

    assert len(await wait_for(two)) == 1
    resp = await control.post("/_emulator/webhooks/evt_nope/redeliver")
    assert resp.status_code == 404


@pytest.mark.asyncio
async def test_no_url_no_delivery_but_events_recorded(
    client: httpx.AsyncClient, control: httpx.AsyncClient
):
    await upload_small(client, "quiet", b"q")
    assert await hooks(control) == []
    events = ok(await client.get("/current/events/search/"))["events"]
    resp = await control.post(f"/_emulator/webhooks/{events[0]['id']}/redeliver")
    assert resp.status_code == 409


# Events search --------------------------------------------------------------


@pytest.mark.asyncio
async def test_events_search(
    client: httpx.AsyncClient, control: httpx.AsyncClient, receiver: Receiver
):
    await configure(control, webhook_url=receiver.url)
    a = await upload_small(client, "a", b"a")
    b = await upload_small(client, "b", b"b")
    await upload_small(client, "o", b"o", instance_id="9876543210987654321")
    ok(await client.delete(f"{WS}/{a}/delete/"))
    sid = await create_session(
        client, action="update", file_id=b, size=2, folder_id=None, profile_type=None
    )
    ok(await put_chunk(client, sid, 1, b"b2"))
    ok(await client.post(f"/current/upload/{sid}/complete/"))
    await details(client, sid, wait=5)

    body = ok(await client.get("/current/events/search/"))
    types = [e["type"] for e in body["events"]]
    assert types == [
        "workspace_storage_file_added",
        "workspace_storage_file_added",
        "workspace_storage_file_added",
        "workspace_storage_file_deleted",
        "workspace_storage_file_updated",
    ]
    assert body["pagination"]["total"] == 5
    # Same ids as the webhooks.
    got = await receiver.count(5)
    assert {json.loads(b)["id"] for _h, b in got} == {e["id"] for e in body["events"]}

    mine = ok(
        await client.get("/current/events/search/", params={"workspace_id": WORKSPACE})
    )["events"]
    assert [e["data"]["node_id"] for e in mine] == [a, b, a, b]
    after = ok(
        await client.get("/current/events/search/", params={"after": mine[1]["id"]})
    )["events"]
    assert [e["id"] for e in after] == [e["id"] for e in body["events"][2:]]
    page = ok(
        await client.get("/current/events/search/", params={"limit": 2, "offset": 1})
    )
    assert [e["id"] for e in page["events"]] == [e["id"] for e in body["events"][1:3]]
    assert page["pagination"]["has_more"] is True
    deleted = ok(
        await client.get(
            "/current/events/search/",
            params={"event": "workspace_storage_file_deleted"},
        )
    )["events"]
    assert [e["data"]["node_id"] for e in deleted] == [a]
    err(await client.get("/current/events/search/", params={"after": "x"}), 400, 1605)
    err(await client.get("/current/events/search/", params={"limit": 0}), 400, 1605)


# Activity poll ----------------------------------------------------------------


@pytest.mark.asyncio
async def test_activity_poll(client: httpx.AsyncClient):
    url = f"/current/activity/poll/{WORKSPACE}/"
    first = ok(await client.get(url))
    assert first["activity"] == []
    cursor = first["lastactivity"]

    start = time.monotonic()
    idle = ok(await client.get(url, params={"wait": 0.3, "lastactivity": cursor}))
    assert idle["updated"] is False
    assert idle["lastactivity"] == cursor
    assert time.monotonic() - start >= 0.25

    waiter = asyncio.create_task(
        client.get(url, params={"wait": 10, "lastactivity": cursor})
    )
    await asyncio.sleep(0.2)
    assert not waiter.done()
    node = await upload_small(client, "p", b"p")
    body = ok(await asyncio.wait_for(waiter, 5))
    assert body["updated"] is True
    assert [e["data"]["node_id"] for e in body["activity"]] == [node]
    assert body["lastactivity"] != cursor
    # Other entities' activity does not wake this poll.
    start = time.monotonic()
    await upload_small(client, "o", b"o", instance_id="9876543210987654321")
    quiet = ok(
        await client.get(
            url, params={"wait": 0.3, "lastactivity": body["lastactivity"]}
        )
    )
    assert quiet["activity"] == []
    err(await client.get(url, params={"lastactivity": "x"}), 400, 1605)


# Semantic search --------------------------------------------------------------


@pytest.mark.asyncio
async def test_semantic_search(client: httpx.AsyncClient):
    report = await upload_small(
        client, "report.txt", b"Summary.\nQuarterly revenue grew by 12 percent."
    )
    notes = await upload_small(client, "notes.md", "Café meeting: revenue".encode())
    blob = await upload_small(client, "revenue.bin", b"\x00\x01revenue\x02")
    await upload_small(client, "other.txt", b"nothing to see")
    url = f"{WS}/search/"
    body = ok(await client.get(url, params={"search": "quarterly revenue"}))
    hits = body["results"]
    assert hits[0]["id"] == report
    assert {h["id"] for h in hits} == {report, notes, blob}
    scores = [h["relevance_score"] for h in hits]
    assert scores == sorted(scores, reverse=True)
    assert all(0 < s <= 1 for s in scores)
    assert "Quarterly revenue grew" in hits[0]["content_snippet"]
    by_id = {h["id"]: h for h in hits}
    assert by_id[blob]["content_snippet"] == ""
    assert set(body["files"]) == {report, notes, blob}
    assert body["pagination"]["total"] == 3
    assert ok(await client.get(url, params={"search": "zebra"}))["results"] == []
    err(await client.get(url), 400, 1605)
