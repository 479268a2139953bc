"""Starts one emulator process per test session and resets it before each test."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from emu_helpers import API_KEY, OTHER_KEY, TLS, Emu, read_ready_line

# Small chunks keep the tests fast; the 1 MB default is tested via /config.
TEST_MIN_CHUNK = 1024


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emu]:
    """Run `python -m fastio_emulator` on a free port for the whole session."""
    root: Path = tmp_path_factory.mktemp("fastio-emulator")
    log = (root / "stderr.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fastio_emulator",
            "--port",
            "0",
            "--data-dir",
            str(root / "data"),
            "--api-key",
            API_KEY,
            "--api-key",
            OTHER_KEY,
            "--min-chunk-size",
            str(TEST_MIN_CHUNK),
            "--webhook-backoff",
            "0.05",
        ],
        stdout=subprocess.PIPE,
        stderr=log,
    )
    try:
        line = read_ready_line(proc)
        prefix = "fastio-emulator listening on "
        assert line.startswith(prefix) and line.endswith("/current/"), line
        yield Emu(api=line.removeprefix(prefix), data_dir=root / "data")
    finally:
        proc.terminate()
        try:
            code = proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
        assert proc.stdout is not None
        proc.stdout.close()
        log.close()
    # SIGTERM must stop the server cleanly.
    assert code == 0, (root / "stderr.log").read_text()


@pytest.fixture(autouse=True)
def reset(emulator: Emu) -> None:
    """Give each test an empty emulator with start-up settings."""
    httpx.post(
        f"{emulator.base}/_emulator/reset", timeout=10, verify=TLS
    ).raise_for_status()


@pytest_asyncio.fixture
async def client(emulator: Emu) -> AsyncIterator[httpx.AsyncClient]:
    """An API client carrying the test key."""
    async with httpx.AsyncClient(
        verify=TLS,
        base_url=emulator.base,
        headers={"Authorization": f"Bearer {API_KEY}"},
        timeout=15,
    ) as c:
        yield c


@pytest_asyncio.fixture
async def control(emulator: Emu) -> AsyncIterator[httpx.AsyncClient]:
    """A client for the unauthenticated control API."""
    async with httpx.AsyncClient(verify=TLS, base_url=emulator.base, timeout=15) as c:
        yield c
