"""Session fixtures: the Fast.io emulator and the Worker in real workerd.

Each process starts once per test session (Worker start-up costs seconds) and
is stopped by PID at the end. Tests that need another configuration ask
``make_worker`` for one; instances are cached by their settings.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from support import procs
from support.deliveries import WEBHOOK_SECRET
from support.idp import IdentityProvider
from support.tokens import JWT_AUDIENCE, JWT_ISSUER, JWT_SECRET
from support.upload_keys import UPLOAD_URL_KEYS

ORIGIN = "https://app.example"
MAX_UPLOAD_BYTES = 8 * 1024 * 1024
TUS_CHUNK_BYTES = 1024 * 1024


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("stack")


@pytest.fixture(scope="session")
def emulator(artifacts: Path) -> Iterator[procs.Emulator]:
    with open(artifacts / "emulator.log", "w") as log:
        emu = procs.start_emulator(artifacts / "emulator-data", log=log)
        try:
            yield emu
        finally:
            procs.stop(emu.proc)


@pytest.fixture
def fastio(emulator: procs.Emulator) -> procs.Emulator:
    """The emulator, emptied of sessions, files and faults for this test."""
    emulator.reset()
    return emulator


@pytest.fixture(scope="session")
def idp() -> Iterator[IdentityProvider]:
    provider = IdentityProvider()
    provider.start()
    try:
        yield provider
    finally:
        provider.stop()


def base_vars(emulator: procs.Emulator, idp: IdentityProvider) -> dict[str, str]:
    """Every setting, spelled out, so a developer's .dev.vars cannot leak in."""
    return {
        "FASTIO_BASE_URL": emulator.base_url,
        "FASTIO_API_KEY": procs.TEST_API_KEY,
        "FASTIO_WORKSPACE_ID": procs.TEST_WORKSPACE_ID,
        "FASTIO_PROFILE_TYPE": "workspace",
        "FASTIO_FOLDER_ID": "root",
        "MAX_UPLOAD_BYTES": str(MAX_UPLOAD_BYTES),
        "MAX_FILE_BYTES": str(2 * 1024 * 1024 * 1024),
        "TUS_CHUNK_BYTES": str(TUS_CHUNK_BYTES),
        "UPLOAD_URL_KEYS": UPLOAD_URL_KEYS,
        "UPLOAD_URL_TTL_SECONDS": "3600",
        "ALLOWED_TYPES": "png,jpeg,gif,webp,pdf,zip,mp4,text",
        "ALLOWED_ORIGINS": ORIGIN,
        "CORS_MAX_AGE": "600",
        "JWT_SECRET": JWT_SECRET,
        "JWKS_URL": idp.jwks_url,
        "JWT_ALGORITHMS": "HS256,RS256,ES256",
        "JWT_ISSUER": JWT_ISSUER,
        "JWT_AUDIENCE": JWT_AUDIENCE,
        "JWT_LEEWAY_SECONDS": "60",
        "JWT_REQUIRED_SCOPE": "",
        "JWKS_CACHE_SECONDS": "300",
        "CF_ACCESS_AUD": "",
        "UPSTREAM_TIMEOUT_SECONDS": "4",
        "UPSTREAM_RETRIES": "2",
        "WEBHOOK_SCHEME": "fastio",
        "WEBHOOK_SECRETS": WEBHOOK_SECRET,
        "WEBHOOK_TOLERANCE_SECONDS": "300",
        "NOTIFY_URL": "",
    }


@pytest.fixture(scope="session")
def make_worker(artifacts: Path, emulator: procs.Emulator, idp: IdentityProvider):
    """Start (once) a Worker with the test settings plus ``overrides``."""
    started: dict[tuple, procs.Worker] = {}

    def make(**overrides: str) -> procs.Worker:
        key = tuple(sorted(overrides.items()))
        if key not in started:
            n = len(started)
            variables = {**base_vars(emulator, idp), **overrides}
            started[key] = procs.start_worker(
                artifacts / f"wrangler-state-{n}",
                artifacts / f"worker-{n}.log",
                variables,
            )
        return started[key]

    try:
        yield make
    finally:
        for worker in started.values():
            procs.stop(worker.proc)


@pytest.fixture(scope="session")
def worker(make_worker) -> procs.Worker:
    return make_worker()


@pytest_asyncio.fixture(loop_scope="session")
async def client(worker: procs.Worker):
    async with httpx.AsyncClient(base_url=worker.url, timeout=60) as http:
        yield http
