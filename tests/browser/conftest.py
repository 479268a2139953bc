"""A Worker that also serves ``public/`` as static assets, for the page tests.

The session's other Workers run without assets (see ``scripts/worker.mjs``):
the pinned Miniflare's asset router clones each request, which hides a
client's dropped chunked body from the Worker.
"""

from __future__ import annotations

import json
import subprocess
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from support import procs


@pytest.fixture(scope="session")
def page_worker(artifacts: Path, worker: procs.Worker) -> Iterator[procs.Worker]:
    """The test Worker's settings, plus ``[assets]`` from wrangler.toml."""
    persist = artifacts / "wrangler-state-page"
    log_path = artifacts / "worker-page.log"
    port = procs.free_port()
    config = tomllib.loads((procs.ROOT / "wrangler.toml").read_text())
    options = {
        "port": port,
        "persist": str(persist),
        "databaseId": config["d1_databases"][0]["database_id"],
        "vars": worker.vars,
        "assets": config["assets"]["directory"],
    }
    persist.mkdir(parents=True, exist_ok=True)
    with open(log_path, "a") as log:
        procs.apply_migrations(persist, log)
        proc = subprocess.Popen(
            ["node", str(procs.ROOT / "scripts" / "worker.mjs"), json.dumps(options)],
            cwd=procs.ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        yield _ready(proc, f"http://127.0.0.1:{port}", log_path)
    finally:
        procs.stop(proc)


def _ready(proc: subprocess.Popen, url: str, log_path: Path) -> procs.Worker:
    deadline = time.time() + 90
    while time.time() < deadline and proc.poll() is None:
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return procs.Worker(proc, url, log_path)
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise RuntimeError(
        f"page worker did not start; log:\n{log_path.read_text()[-3000:]}"
    )
