"""The upload page (``public/``, served beside the Worker as static assets),
driven in headless Chromium through Playwright."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, async_playwright

from support.files import ELF, PDF, body
from support.procs import Emulator, Worker
from support.tokens import bearer, default_claims, hs256

pytestmark = pytest.mark.asyncio(loop_scope="session")

MiB = 1024 * 1024
STREAM_MAX_BYTES = 8 * MiB  # public/app.js
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
    "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]  # fmt: skip
WAIT_MS = 60_000


@dataclass
class Tab:
    """A page of the upload UI and what its console reported."""

    page: Page
    errors: list[str] = field(default_factory=list)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def browser() -> AsyncIterator[Browser]:
    # Debian's Chromium, not Playwright's download; each launch gets a fresh,
    # temporary profile.
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest_asyncio.fixture(loop_scope="session")
async def tab(browser: Browser, page_worker: Worker) -> AsyncIterator[Tab]:
    context = await browser.new_context(
        base_url=page_worker.url, viewport={"width": 900, "height": 860}
    )
    page = await context.new_page()
    opened = Tab(page)
    page.on(
        "console",
        lambda message: message.type == "error" and opened.errors.append(message.text),
    )
    page.on("pageerror", lambda error: opened.errors.append(str(error)))
    try:
        yield opened
    finally:
        await context.close()


async def open_with_token(tab: Tab) -> Page:
    await tab.page.goto("/")
    await tab.page.fill("#token", hs256(default_claims("user-1")))
    return tab.page


def stored_file(fastio: Emulator, file_id: str) -> tuple[dict, bytes]:
    with fastio.control() as control:
        content = control.get(f"/_emulator/files/{file_id}/content")
        content.raise_for_status()
    [node] = [f for f in fastio.files() if f["id"] == file_id]
    return node, content.content


# -- serving -------------------------------------------------------------------


@pytest.mark.browser
async def test_page_loads_without_console_errors(tab):
    response = await tab.page.goto("/")

    assert response.status == 200
    assert await tab.page.title() == "Upload a file · fastio-edge"
    assert await tab.page.text_content("[data-stream-max]") == "8 MiB"
    await tab.page.wait_for_load_state("networkidle")
    assert tab.errors == []


async def test_assets_answer_only_for_their_files(page_worker: Worker):
    async with httpx.AsyncClient(base_url=page_worker.url, timeout=30) as client:
        page = await client.get("/")
        script = await client.get("/app.js")
        health = await client.get("/healthz")
        unknown = await client.get("/no/such/file.js")
        unauthenticated = await client.put("/files/a.pdf", content=PDF)
        tus_head = await client.head("/tus/nope", headers={"Tus-Resumable": "1.0.0"})

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "Upload a file" in page.text
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    # Everything else is the Worker's: its JSON, its problems, its log line.
    assert health.json()["status"] == "ok"
    assert "x-request-id" in health.headers
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"
    assert unauthenticated.status_code == 401
    assert tus_head.status_code == 401
    assert "x-request-id" in tus_head.headers


# -- uploading -----------------------------------------------------------------


@pytest.mark.browser
async def test_small_pdf_is_streamed_and_shows_its_file_id_and_sha256(
    tab, fastio, tmp_path
):
    data = body(PDF, 300_000)
    (tmp_path / "report.pdf").write_bytes(data)
    page = await open_with_token(tab)

    await page.set_input_files("#file", tmp_path / "report.pdf")
    await page.wait_for_selector("#result", state="visible", timeout=WAIT_MS)
    await page.screenshot(path=tmp_path / "page.png", full_page=True)

    file_id = await page.text_content("#result-file-id")
    sha256 = await page.text_content("#result-sha256")
    node, content = stored_file(fastio, file_id)
    assert content == data
    assert sha256 == hashlib.sha256(data).hexdigest() == node["sha256"]
    assert (await page.text_content("#result-route")).startswith("one streamed request")
    assert await page.get_attribute("#progress", "value") == "1"
    assert await page.is_hidden("#error")
    assert tab.errors == []


@pytest.mark.browser
async def test_file_over_the_threshold_goes_through_tus(tab, fastio, tmp_path):
    data = body(PDF, STREAM_MAX_BYTES + 2 * MiB + 17)
    (tmp_path / "large.pdf").write_bytes(data)
    page = await open_with_token(tab)

    await page.set_input_files("#file", tmp_path / "large.pdf")
    await page.wait_for_selector("#result", state="visible", timeout=WAIT_MS)

    file_id = await page.text_content("#result-file-id")
    _, content = stored_file(fastio, file_id)
    assert content == data
    route = await page.text_content("#result-route")
    assert route.startswith("11 resumable requests (tus)")  # 1 MiB chunks here
    # Sent in several requests, the file has no whole-file digest from the
    # gateway; each request carried its own (Upload-Checksum).
    assert (await page.text_content("#result-sha256")).startswith("Not computed")
    assert await page.is_hidden("#error")
    assert tab.errors == []


@pytest.mark.browser
async def test_failed_tus_request_is_resumed_from_the_reported_offset(
    tab, fastio, tmp_path
):
    data = body(PDF, STREAM_MAX_BYTES + 3 * MiB)
    (tmp_path / "retried.pdf").write_bytes(data)
    # Fast.io drops the first chunk mid-body: that PATCH fails with a 502.
    with fastio.control() as control:
        control.post(
            "/_emulator/faults",
            json={"match": "/chunk/", "kind": "drop", "after_bytes": MiB // 2},
        ).raise_for_status()
    page = await open_with_token(tab)

    await page.set_input_files("#file", tmp_path / "retried.pdf")
    await page.wait_for_selector("#result", state="visible", timeout=WAIT_MS)

    _, content = stored_file(fastio, await page.text_content("#result-file-id"))
    assert content == data
    route = await page.text_content("#result-route")
    assert route.startswith("12 resumable requests (tus)")  # 11 chunks, 1 retry
    assert await page.is_hidden("#error")


@pytest.mark.browser
async def test_disallowed_file_type_is_explained_in_words(tab, fastio, tmp_path):
    (tmp_path / "tool.bin").write_bytes(body(ELF, 50_000))
    page = await open_with_token(tab)

    await page.set_input_files("#file", tmp_path / "tool.bin")
    await page.wait_for_selector("#error", state="visible", timeout=WAIT_MS)

    title = await page.text_content("#error-title")
    detail = await page.text_content("#error-detail")
    assert title == "Upload refused (415 Unsupported Media Type)"
    assert detail.startswith("File type unknown is not accepted here; accepted:")
    assert "pdf" in detail
    assert await page.is_hidden("#result")
    assert fastio.files() == []


@pytest.mark.browser
async def test_missing_token_is_explained_before_anything_is_sent(
    tab, fastio, tmp_path
):
    (tmp_path / "a.pdf").write_bytes(body(PDF, 1000))
    await tab.page.goto("/")

    await tab.page.set_input_files("#file", tmp_path / "a.pdf")

    await tab.page.wait_for_selector("#error", state="visible", timeout=WAIT_MS)
    assert await tab.page.text_content("#error-detail") == (
        "Paste your access token first."
    )
    assert fastio.files() == []


@pytest.mark.browser
async def test_token_is_kept_for_the_tab_only(tab, browser, page_worker):
    token = bearer()["Authorization"].removeprefix("Bearer ")
    await tab.page.goto("/")
    await tab.page.fill("#token", token)

    await tab.page.reload()
    other = await browser.new_context(base_url=page_worker.url)
    try:
        fresh = await other.new_page()
        await fresh.goto("/")
        assert await fresh.input_value("#token") == ""
    finally:
        await other.close()
    assert await tab.page.input_value("#token") == token
    assert await tab.page.get_attribute("#token", "type") == "password"
