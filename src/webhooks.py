"""Fast.io webhooks: verify, record once, process after the response."""

from __future__ import annotations

from problems import HTTPError


async def receive(call) -> object:
    raise HTTPError(501, "Webhook receiver not built yet.")
