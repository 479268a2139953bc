"""Storage reads: folder listing, node details, download tokens, reads, deletes."""

from __future__ import annotations

import os

import httpx
import pytest
from emu_helpers import (
    TLS,
    WORKSPACE,
    Emu,
    err,
    ok,
    sha256,
    stored_files,
    upload_small,
)

OTHER_WS = "9876543210987654321"
WS = f"/current/workspace/{WORKSPACE}/storage"


@pytest.mark.asyncio
async def test_list_folder(client: httpx.AsyncClient):
    a = await upload_small(client, "a.txt", b"aaa")
    b = await upload_small(client, "b.txt", b"bbbb")
    await upload_small(client, "c.txt", b"c", folder_id="sub")
    await upload_small(client, "d.txt", b"d", instance_id=OTHER_WS)
    body = ok(await client.get(f"{WS}/root/list/"))
    assert [n["id"] for n in body["nodes"]] == [a, b]
    node = body["nodes"][1]
    assert node["name"] == "b.txt"
    assert node["size"] == 4
    assert node["type"] == "file"
    assert node["parent"] == "root"
    assert node["hashes"]["sha256"] == sha256(b"bbbb")
    assert node["mimetype"] == "text/plain"
    assert body["pagination"]["total"] == 2
    sub = ok(await client.get(f"{WS}/sub/list"))["nodes"]
    assert [n["name"] for n in sub] == ["c.txt"]
    assert ok(await client.get(f"{WS}/empty/list/"))["nodes"] == []


@pytest.mark.asyncio
async def test_list_pagination(client: httpx.AsyncClient):
    ids = [await upload_small(client, f"f{i}", b"x") for i in range(5)]
    first = ok(await client.get(f"{WS}/root/list/", params={"page_size": "2"}))
    assert [n["id"] for n in first["nodes"]] == ids[:2]
    assert first["pagination"]["has_more"] is True
    cursor = first["pagination"]["next_cursor"]
    rest = ok(
        await client.get(
            f"{WS}/root/list/", params={"page_size": "10", "cursor": cursor}
        )
    )
    assert [n["id"] for n in rest["nodes"]] == ids[2:]
    assert rest["pagination"]["has_more"] is False
    assert rest["pagination"]["next_cursor"] is None


@pytest.mark.asyncio
async def test_list_checks_instance_id(client: httpx.AsyncClient):
    err(await client.get("/current/workspace/123/storage/root/list/"), 400, 1605)
    err(await client.get(f"/current/org/{WORKSPACE}/storage/root/list/"), 404, 9992)
    share = f"/current/share/{WORKSPACE}/storage/root/list/"
    assert ok(await client.get(share))["nodes"] == []


@pytest.mark.asyncio
async def test_share_profile(client: httpx.AsyncClient):
    node = await upload_small(client, "s.txt", b"s", profile_type="share")
    nodes = ok(await client.get(f"/current/share/{WORKSPACE}/storage/root/list/"))
    assert [n["id"] for n in nodes["nodes"]] == [node]
    assert nodes["nodes"][0]["profile_type"] == "share"


@pytest.mark.asyncio
async def test_node_details(client: httpx.AsyncClient):
    node = await upload_small(client, "n.bin", b"12345")
    body = ok(await client.get(f"{WS}/{node}/details/"))
    assert body["format"] == "single"
    assert body["node"]["id"] == node
    assert body["node"]["size"] == 5
    err(await client.get(f"{WS}/nope/details/"), 404, 1609)
    other = f"/current/workspace/{OTHER_WS}/storage/{node}/details/"
    err(await client.get(other), 404, 1609)
    # Emulator shorthand without the workspace prefix.
    alias = ok(await client.get(f"/current/storage/{node}/details/"))
    assert alias["node"]["id"] == node


@pytest.mark.asyncio
async def test_bulk_details(client: httpx.AsyncClient):
    a = await upload_small(client, "a", b"a")
    b = await upload_small(client, "b", b"b")
    body = ok(await client.get(f"{WS}/{a},{b},missing/details/"))
    assert body["format"] == "multi"
    assert sorted(n["id"] for n in body["nodes"]) == sorted([a, b])
    assert body["errors"][0]["node_id"] == "missing"
    resp = await client.get(f"{WS}/x,y/details/")
    assert resp.status_code == 404
    assert resp.json()["response"]["format"] == "multi"


@pytest.mark.asyncio
async def test_requestread_and_read(client: httpx.AsyncClient, emulator: Emu):
    data = os.urandom(200_000)
    node = await upload_small(client, "blob.bin", data)
    token = ok(await client.get(f"{WS}/{node}/requestread/"))["token"]
    assert ok(await client.post(f"{WS}/{node}/requestread/"))["token"] != token
    async with httpx.AsyncClient(verify=TLS, base_url=emulator.base) as anon:
        resp = await anon.get(f"{WS}/{node}/read/", params={"token": token})
        assert resp.status_code == 200
        assert resp.content == data
        assert "blob.bin" in resp.headers["content-disposition"]
        ranged = await anon.get(
            f"{WS}/{node}/read/",
            params={"token": token},
            headers={"Range": "bytes=10-19"},
        )
        assert ranged.status_code == 206
        assert ranged.content == data[10:20]
        err(await anon.get(f"{WS}/{node}/read/", params={"token": "bad"}), 401, 1650)
        err(await anon.get(f"{WS}/{node}/read/"), 401, 1650)
        other = await upload_small(client, "other", b"o")
        resp = await anon.get(f"{WS}/{other}/read/", params={"token": token})
        err(resp, 401, 1650)
    # With the Bearer credential no token is needed.
    assert (await client.get(f"{WS}/{node}/read/")).content == data
    alias = await client.get(f"/current/storage/{node}/read/", params={"token": token})
    assert alias.content == data


@pytest.mark.asyncio
async def test_delete_node(client: httpx.AsyncClient, control: httpx.AsyncClient):
    a = await upload_small(client, "a", b"a")
    b = await upload_small(client, "b", b"b")
    token = ok(await client.get(f"{WS}/{a}/requestread/"))["token"]
    ok(await client.delete(f"{WS}/{a}/delete/"))
    err(await client.get(f"{WS}/{a}/details/"), 404, 1609)
    err(await client.delete(f"{WS}/{a}/delete/"), 404, 1609)
    resp = await client.get(f"{WS}/{a}/read/", params={"token": token})
    err(resp, 404, 1609)
    ok(await client.delete(f"{WS}/{b}/"))
    assert await stored_files(control) == []
    c = await upload_small(client, "c", b"c")
    ok(await client.delete(f"/current/storage/{c}/"))
    assert await stored_files(control) == []
