"""The per-request context handed to every route handler."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from urllib.parse import SplitResult

from pyodide.ffi import create_proxy

from config import Config
from reqlog import RequestLog


@dataclass
class Call:
    """One request: the JS request, bindings, parsed URL, and log fields."""

    request: object
    env: object
    ctx: object
    config: Config
    url: SplitResult
    log: RequestLog
    params: dict[str, str] = field(default_factory=dict)
    principal: object = None

    def header(self, name: str) -> str | None:
        return self.request.headers.get(name)

    def wait_until(self, coro) -> None:
        """Run ``coro`` after the response is sent (kept alive by the runtime).

        The task goes to JavaScript as a persistent proxy: a plain argument is
        a borrowed proxy, destroyed when ``waitUntil`` returns, so the
        runtime's later ``then`` on it would fail ("borrowed proxy was
        automatically destroyed") and the work would never be awaited.
        """
        task = asyncio.ensure_future(coro)
        proxy = create_proxy(task)
        task.add_done_callback(lambda _task: proxy.destroy())
        self.ctx.waitUntil(proxy)
