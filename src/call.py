"""The per-request context handed to every route handler."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import SplitResult

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
        """Run ``coro`` after the response is sent (kept alive by the runtime)."""
        import asyncio

        self.ctx.waitUntil(asyncio.ensure_future(coro))
