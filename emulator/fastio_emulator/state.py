"""The emulator's shared state, reachable from every handler as app[EMU]."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from aiohttp import web

from .config import Config
from .faults import Faults
from .ratelimit import RateLimiter
from .reqlog import RequestLog
from .store import Store


class Notifier:
    """Wakes long-pollers whenever something they may be waiting for changes."""

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self.closed = False

    def close(self) -> None:
        """Release every waiter for good (the server is shutting down)."""
        self.closed = True
        self.notify()

    def notify(self) -> None:
        """Wake every current waiter."""
        self._event.set()
        self._event = asyncio.Event()

    async def wait_until(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Wait until predicate() holds or timeout passes; return its last value."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            if self.closed:
                return False
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            try:
                await asyncio.wait_for(self._event.wait(), remaining)
            except TimeoutError:
                return predicate()
        return True


class Emulator:
    """Configuration, storage and the in-memory test machinery."""

    def __init__(self, config: Config, data_dir: Path) -> None:
        self.initial = config.copy()
        self.config = config
        self.store = Store(data_dir)
        self.limiter = RateLimiter()
        self.faults = Faults()
        self.reqlog = RequestLog()
        self.notifier = Notifier()
        self.tasks: set[asyncio.Task[Any]] = set()
        self.started = time.time()
        # Filled by the webhooks module at startup.
        self.webhooks: Any = None

    def owner_of(self, api_key: str) -> str:
        """Derive a stable owner id from a key without storing the key."""
        return hashlib.sha256(api_key.encode()).hexdigest()[:16]

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run a background task that reset and shutdown can cancel."""
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def cancel_tasks(self) -> None:
        """Cancel every background task and wait for them to end."""
        tasks = list(self.tasks)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def reset(self) -> None:
        """Drop all data and test machinery; restore start-up settings."""
        await self.cancel_tasks()
        self.store.reset()
        self.limiter.reset()
        self.faults.clear()
        self.reqlog.clear()
        self.config.update(self.initial.copy().__dict__)
        if self.webhooks is not None:
            self.webhooks.clear()
        self.notifier.notify()


EMU = web.AppKey("emulator", Emulator)
