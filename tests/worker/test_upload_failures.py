"""Every way a streamed upload can stop part-way, and what is stored after.

Each test injects a fault at the emulator (or drops the client) and then
asserts the one thing that matters: Fast.io holds no file, and the session
was cancelled rather than left half-written.
"""

import asyncio
import time

import httpx
import pytest

from support import rawhttp
from support.files import PDF, body, chunks
from support.tokens import bearer

pytestmark = pytest.mark.asyncio(loop_scope="session")

MiB = 1024 * 1024


def fault(fastio, **rule) -> None:
    with fastio.control() as control:
        control.post("/_emulator/faults", json=rule).raise_for_status()


def sessions(fastio) -> list[dict]:
    with fastio.control() as control:
        return control.get("/_emulator/sessions").json()["sessions"]


def requests_to(fastio, needle: str) -> list[dict]:
    with fastio.control() as control:
        log = control.get("/_emulator/requests").json()["requests"]
    return [r for r in log if needle in f"{r['method']} {r['path']}"]


def assert_nothing_stored(fastio) -> None:
    assert fastio.files() == []
    assert [s for s in sessions(fastio) if s["status"] != "ready"] == []


async def test_rate_limit_at_create_is_429_with_retry_after(client, fastio):
    fault(fastio, match="POST /current/upload/$", kind="rate_limit", seconds=42)

    response = await client.put(
        "/files/a.pdf", content=body(PDF, 5000), headers=bearer()
    )

    assert response.status_code == 429
    assert 40 <= int(response.headers["retry-after"]) <= 43
    assert response.json()["upstream_status"] == 429
    assert response.json()["upstream_code"] == 1671
    assert fastio.files() == []


async def test_rate_limit_mid_stream_is_429_and_nothing_stored(client, fastio):
    fault(fastio, match="/stream/", kind="rate_limit", seconds=30)

    response = await client.put(
        "/files/a.pdf", content=body(PDF, 3 * MiB), headers=bearer()
    )

    assert response.status_code == 429
    assert 28 <= int(response.headers["retry-after"]) <= 31
    assert_nothing_stored(fastio)
    assert sessions(fastio) == []  # cancelled


async def test_transient_500_at_create_is_retried(client, fastio):
    fault(fastio, match="POST /current/upload/$", kind="status", status=500, times=1)

    response = await client.put(
        "/files/a.pdf", content=body(PDF, 5000), headers=bearer()
    )

    assert response.status_code == 201, response.text
    assert len(requests_to(fastio, "POST /current/upload/")) >= 2


async def test_persistent_500_is_502_after_bounded_retries(client, fastio):
    fault(fastio, match="POST /current/upload/$", kind="status", status=500, times=0)

    response = await client.put(
        "/files/a.pdf", content=body(PDF, 5000), headers=bearer()
    )

    assert response.status_code == 502
    assert response.json()["upstream_status"] == 500
    creates = [r for r in requests_to(fastio, "POST /current/upload") if
               r["path"].rstrip("/").endswith("upload")]  # fmt: skip
    assert len(creates) == 3  # one try and UPSTREAM_RETRIES=2 retries
    assert fastio.files() == []


async def test_stream_500_is_502_and_not_retried(client, fastio):
    fault(fastio, match="/stream/", kind="status", status=500, times=0)

    response = await client.put(
        "/files/a.pdf", content=body(PDF, 2 * MiB), headers=bearer()
    )

    assert response.status_code == 502
    assert len(requests_to(fastio, "/stream/")) == 1
    assert_nothing_stored(fastio)


async def test_upstream_timeout_is_504_and_nothing_stored(client, fastio):
    fault(fastio, match="/stream/", kind="delay", seconds=8)  # timeout is 4 s
    started = time.time()

    response = await client.put(
        "/files/a.pdf", content=body(PDF, 2 * MiB), headers=bearer()
    )

    assert response.status_code == 504
    assert time.time() - started < 8
    await asyncio.sleep(5)  # let the delayed request reach the emulator's handler
    assert_nothing_stored(fastio)


async def test_upstream_drop_mid_body_is_502_and_nothing_stored(client, fastio):
    fault(fastio, match="/stream/", kind="drop", after_bytes=MiB)

    response = await client.put(
        "/files/a.pdf", content=body(PDF, 4 * MiB), headers=bearer()
    )

    assert response.status_code == 502
    assert response.json()["type"].endswith("/upstream-unavailable")
    assert_nothing_stored(fastio)


async def test_upstream_drop_of_chunked_body_stores_nothing(client, fastio):
    fault(fastio, match="/stream/", kind="drop", after_bytes=MiB)
    data = body(PDF, 4 * MiB)

    response = await client.put("/files/a.pdf", content=chunks(data), headers=bearer())

    assert response.status_code == 502
    assert_nothing_stored(fastio)


@pytest.mark.parametrize("chunked", [False, True])
async def test_client_disconnect_mid_upload_stores_nothing(fastio, worker, chunked):
    data = body(PDF, 6 * MiB)

    await rawhttp.request(
        worker.url, "PUT", "/files/cut.pdf", bearer(), data,
        chunked=chunked, disconnect_after=3 * MiB + 17,
    )  # fmt: skip

    deadline = time.time() + 10
    while time.time() < deadline:
        streams = requests_to(fastio, "/stream/")
        if streams and streams[-1]["status"] not in (None, "pending"):
            break
        await asyncio.sleep(0.2)
    await asyncio.sleep(0.5)
    assert fastio.files() == []
    assert [s for s in sessions(fastio) if s["status"] == "stored"] == []


async def test_refused_gateway_key_is_502_without_detail(make_worker, fastio):
    worker = make_worker(FASTIO_API_KEY="not-the-emulator-key")
    async with httpx.AsyncClient(base_url=worker.url, timeout=30) as http:
        response = await http.put(
            "/files/a.pdf", content=body(PDF, 5000), headers=bearer()
        )

    assert response.status_code == 502
    assert response.json()["type"].endswith("/upstream-misconfigured")
    assert "key" not in response.json()["detail"].lower()
    line = worker.log_for(response.headers["x-request-id"])
    assert line["upstream_status"] == 401
    assert "not-the-emulator-key" not in worker.log_text()


async def test_missing_fastio_key_is_500_naming_the_setting(make_worker, fastio):
    worker = make_worker(FASTIO_API_KEY="")
    async with httpx.AsyncClient(base_url=worker.url, timeout=30) as http:
        response = await http.put(
            "/files/a.pdf", content=body(PDF, 5000), headers=bearer()
        )

    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["setting"] == "FASTIO_API_KEY"
    assert "FASTIO_API_KEY" in response.json()["detail"]
