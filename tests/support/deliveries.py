"""Build signed webhook deliveries, and wait for the Worker to process them.

Shared by the Worker tests and ``bench/webhooks.py``.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time

import httpx

from signatures import sign
from support.tokens import bearer

WORKSPACE_ID = "1234567890123456789"
WEBHOOK_SECRET = "test-webhook-secret"  # the test Workers' WEBHOOK_SECRETS


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


def file_event(
    kind: str = "workspace_storage_file_added",
    *,
    event_id: str | None = None,
    file_id: str | None = None,
    name: str = "report.pdf",
    size: int = 1234,
    sha256: str | None = None,
    created: int | None = None,
    upload_id: str | None = None,
) -> dict:
    """An event shaped like the ones Fast.io's events API (and the emulator) send."""
    file_id = file_id or new_id("node")
    return {
        "id": event_id or new_id("evt"),
        "type": kind,
        "created": created if created is not None else int(time.time()),
        "data": {
            "workspace_id": WORKSPACE_ID,
            "node_id": file_id,
            "file_id": file_id,
            "name": name,
            "size": size,
            "sha256": sha256,
            "folder_id": "root",
            "upload_id": upload_id,
        },
    }


def signed(
    event: dict | bytes,
    secret: str,
    *,
    scheme: str = "fastio",
    now: int | None = None,
    message_id: str | None = None,
) -> tuple[bytes, dict[str, str]]:
    """The body and headers of one delivery of ``event``."""
    body = event if isinstance(event, bytes) else json.dumps(event).encode()
    if message_id is None and isinstance(event, dict):
        message_id = str(event.get("id", ""))
    stamp = int(time.time()) if now is None else now
    headers = {"Content-Type": "application/json"}
    headers.update(sign(scheme, secret, body, now=stamp, message_id=message_id or ""))
    return body, headers


async def recent_events(client: httpx.AsyncClient, **params: str) -> list[dict]:
    response = await client.get(
        "/events", params={"limit": "100", **params}, headers=bearer()
    )
    response.raise_for_status()
    return response.json()["events"]


async def wait_for_event(
    client: httpx.AsyncClient,
    event_id: str,
    statuses: tuple[str, ...] = ("processed", "failed"),
    timeout: float = 15.0,
) -> dict:
    """The event's row once its status is one of ``statuses``."""
    deadline = time.time() + timeout
    row = None
    while time.time() < deadline:
        for row in await recent_events(client):
            if row["id"] == event_id and row["status"] in statuses:
                return row
        await asyncio.sleep(0.1)
    raise AssertionError(f"event {event_id} not {statuses} in {timeout} s")


async def find_file(client: httpx.AsyncClient, file_id: str) -> dict | None:
    response = await client.get("/files", params={"limit": "100"}, headers=bearer())
    response.raise_for_status()
    for row in response.json()["files"]:
        if row["id"] == file_id:
            return row
    return None
