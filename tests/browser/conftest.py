"""A Worker that also serves ``public/`` as static assets, for the page tests.

The session's other Workers run without assets (see ``scripts/worker.mjs``):
the pinned Miniflare's asset router clones each request, which hides a
client's dropped chunked body from the Worker.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from support import procs


@pytest.fixture(scope="session")
def page_worker(artifacts: Path, worker: procs.Worker) -> Iterator[procs.Worker]:
    """The test Worker's settings, plus ``[assets]`` from wrangler.toml."""
    config = tomllib.loads((procs.ROOT / "wrangler.toml").read_text())
    page = procs.start_worker(
        artifacts / "wrangler-state-page",
        artifacts / "worker-page.log",
        worker.vars,
        assets=config["assets"]["directory"],
    )
    try:
        yield page
    finally:
        procs.stop(page.proc)
