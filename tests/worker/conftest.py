"""Fixtures for the webhook and read-API tests: a chat-channel stand-in and a
Worker that notifies it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import pytest_asyncio

from support.receiver import Receiver


@pytest.fixture(scope="session")
def receiver() -> Iterator[Receiver]:
    channel = Receiver()
    channel.start()
    try:
        yield channel
    finally:
        channel.stop()


@pytest.fixture(scope="session")
def notify_worker(make_worker, receiver: Receiver):
    """A Worker that posts a notification for every event it processes."""
    return make_worker(NOTIFY_URL=receiver.url)


@pytest_asyncio.fixture(loop_scope="session")
async def notify_client(notify_worker, receiver: Receiver):
    receiver.status, receiver.fail_next = 200, 0
    async with httpx.AsyncClient(base_url=notify_worker.url, timeout=60) as http:
        yield http
