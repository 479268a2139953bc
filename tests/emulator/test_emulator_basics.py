"""Envelope, auth, routing, limits, rate limiting, control API and request log."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from emu_helpers import (
    API_KEY,
    OTHER_KEY,
    TLS,
    Emu,
    create_session,
    err,
    ok,
    request_log,
)


@pytest.mark.asyncio
async def test_health_and_ready_line(emulator: Emu, control: httpx.AsyncClient):
    assert emulator.api.startswith("http://127.0.0.1:")
    assert emulator.port != 8788
    body = (await control.get("/_emulator/health")).json()
    assert body["ok"] is True


@pytest.mark.asyncio
async def test_success_envelope(client: httpx.AsyncClient):
    resp = await client.get("/current/upload/limits/")
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    assert body["result"] == "yes"
    limits = body["response"]["limits"]
    assert limits["chunk_size_min"] == 1024
    assert limits["chunk_size_max"] == 100_000_000
    assert limits["single_call_max_size"] == 4 * 1024 * 1024
    assert limits["max_chunks"] == 550
    assert limits["max_file_size"] > 0


@pytest.mark.asyncio
async def test_algos(client: httpx.AsyncClient):
    algos = ok(await client.get("/current/upload/algos/"))["algos"]
    assert algos == ["md5", "sha1", "sha256", "sha384"]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-key"},
        {"Authorization": f"Basic {API_KEY}"},
        {"Authorization": "Bearer"},
    ],
)
async def test_auth_required(emulator: Emu, headers: dict[str, str]):
    async with httpx.AsyncClient(verify=TLS, base_url=emulator.base) as c:
        for method, path in [
            ("GET", "/current/upload/limits/"),
            ("POST", "/current/upload/"),
            ("GET", "/current/upload/details/"),
            ("GET", "/current/events/search/"),
            ("GET", "/current/does/not/exist/"),
        ]:
            resp = await c.request(method, path, headers=headers)
            err(resp, 401, 1650)
            assert "bearer" in resp.headers["www-authenticate"].lower()


@pytest.mark.asyncio
async def test_every_configured_key_works(emulator: Emu):
    for key in (API_KEY, OTHER_KEY):
        async with httpx.AsyncClient(
            verify=TLS,
            base_url=emulator.base,
            headers={"Authorization": f"Bearer {key}"},
        ) as c:
            ok(await c.get("/current/upload/limits/"))


@pytest.mark.asyncio
async def test_unknown_route(client: httpx.AsyncClient):
    err(await client.get("/current/nope/"), 404, 9992)
    err(await client.get("/current/"), 404, 9992)
    err(await client.put("/current/upload/limits/"), 404, 9992)
    err(await client.get("/v1/upload/"), 404, 9992)


@pytest.mark.asyncio
async def test_trailing_slash_optional(client: httpx.AsyncClient):
    ok(await client.get("/current/upload/limits"))
    sid = await create_session(client, size=10)
    ok(await client.get(f"/current/upload/{sid}/details"))
    resp = await client.post("/current/upload", data={"action": "create"})
    err(resp, 400, 1605)


@pytest.mark.asyncio
async def test_request_log_never_holds_credentials(
    client: httpx.AsyncClient, control: httpx.AsyncClient, emulator: Emu
):
    await client.get("/current/upload/limits/", params={"x": "1"})
    async with httpx.AsyncClient(verify=TLS, base_url=emulator.base) as anon:
        await anon.get("/current/upload/limits/")
    entries = await request_log(control)
    assert [e["auth_present"] for e in entries] == [True, False]
    assert entries[0]["method"] == "GET"
    assert entries[0]["path"] == "/current/upload/limits/"
    assert entries[0]["query"] == {"x": "1"}
    assert entries[0]["status"] == 200
    assert entries[1]["status"] == 401
    assert API_KEY not in str(entries)
    # Control requests are not logged; clearing empties the log.
    assert (await control.delete("/_emulator/requests")).status_code == 200
    assert await request_log(control) == []


@pytest.mark.asyncio
async def test_request_log_counts_body_bytes(
    client: httpx.AsyncClient, control: httpx.AsyncClient
):
    sid = await create_session(client, stream="true", size=None)
    await client.post(f"/current/upload/{sid}/stream/", content=b"x" * 100)
    entry = (await request_log(control))[-1]
    assert entry["status"] == 200
    assert entry["bytes_received"] == 100
    assert entry["content_length"] == 100


@pytest.mark.asyncio
async def test_rate_limit_headers_and_429(
    client: httpx.AsyncClient, control: httpx.AsyncClient
):
    # Without a limit there are no headers.
    resp = await client.get("/current/upload/limits/")
    assert "x-ve-limit-max" not in resp.headers
    cfg = await control.put(
        "/_emulator/config", json={"rate_limit": 3, "rate_window": 30}
    )
    assert cfg.json()["rate_limit"] == 3
    seen = []
    for _ in range(3):
        resp = await client.get("/current/upload/limits/")
        assert resp.status_code == 200
        seen.append(int(resp.headers["x-ve-limit-avail"]))
        assert resp.headers["x-ve-limit-max"] == "3"
        expires = int(resp.headers["x-ve-limit-expires"])
        assert time.time() < expires <= time.time() + 31
    assert seen == [2, 1, 0]
    resp = await client.get("/current/upload/limits/")
    err(resp, 429, 1671)
    assert resp.headers["x-ve-limit-avail"] == "0"
    assert resp.headers["x-ve-limit-max"] == "3"
    assert "retry-after" not in resp.headers
    # Errors count too and carry the headers as well.
    resp = await client.get("/current/nope/")
    assert resp.status_code == 429


@pytest.mark.asyncio
async def test_rate_window_resets(
    client: httpx.AsyncClient, control: httpx.AsyncClient
):
    await control.put("/_emulator/config", json={"rate_limit": 1, "rate_window": 0.3})
    assert (await client.get("/current/upload/limits/")).status_code == 200
    assert (await client.get("/current/upload/limits/")).status_code == 429
    await asyncio.sleep(0.35)
    assert (await client.get("/current/upload/limits/")).status_code == 200


@pytest.mark.asyncio
async def test_reset_restores_config(
    client: httpx.AsyncClient, control: httpx.AsyncClient
):
    await control.put("/_emulator/config", json={"rate_limit": 1})
    await create_session(client, size=1)
    assert (await control.post("/_emulator/reset")).json() == {"ok": True}
    cfg = (await control.get("/_emulator/config")).json()
    assert cfg["rate_limit"] == 0
    assert cfg["min_chunk_size"] == 1024
    assert (await control.get("/_emulator/sessions")).json()["sessions"] == []


@pytest.mark.asyncio
async def test_config_rejects_bad_values(control: httpx.AsyncClient):
    for body in (
        {"rate_limit": -1},
        {"nope": 1},
        {"webhook_scheme": "other"},
        {"assembly_delay": "x"},
    ):
        resp = await control.put("/_emulator/config", json=body)
        assert resp.status_code == 400, body
    cfg = (await control.get("/_emulator/config")).json()
    assert "webhook_secret" not in cfg
    assert cfg["webhook_secret_set"] is False


@pytest.mark.asyncio
async def test_control_unknown_route(control: httpx.AsyncClient):
    resp = await control.get("/_emulator/nope")
    assert resp.status_code == 404
    assert resp.json() == {"error": "not found"}
