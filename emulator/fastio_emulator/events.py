"""Storage events: recording them, searching them, and long-polling for them."""

from __future__ import annotations

import json
import time
from typing import Any

from aiohttp import web

from .config import WAIT_CAP
from .envelope import invalid, ok
from .params import int_param, wait_param
from .state import EMU, Emulator
from .store import new_id

# How many recent events a poll without `lastactivity` returns.
RECENT = 50


def emit_file_event(
    emu: Emulator, action: str, node: dict[str, Any], upload_id: str | None
) -> dict[str, Any]:
    """Record a file added/updated/deleted event and hand it to webhooks."""
    prefix = "share" if node["profile_type"] == "share" else "workspace"
    event = {
        "id": "evt_" + new_id(24),
        "type": f"{prefix}_storage_file_{action}",
        "created": int(time.time()),
        "data": {
            f"{prefix}_id": node["instance_id"],
            "node_id": node["id"],
            "file_id": node["id"],
            "name": node["name"],
            "size": node["size"],
            "sha256": node["sha256"],
            "folder_id": node["folder_id"],
            "version_id": node["version_id"],
            "upload_id": upload_id,
        },
    }
    emu.store.add_event(event, entity_id=node["instance_id"])
    emu.notifier.notify()
    if emu.webhooks is not None:
        emu.webhooks.enqueue(event["id"], event["type"])
    return event


def _decode(rows: list[tuple[int, str]]) -> list[dict[str, Any]]:
    """Turn stored event bodies into API objects (with `event` as an alias)."""
    out = []
    for _seq, body in rows:
        event = json.loads(body)
        event["event"] = event["type"]
        out.append(event)
    return out


async def search(request: web.Request) -> web.Response:
    """GET /current/events/search/: events oldest first, filtered and paged."""
    emu = request.app[EMU]
    q = request.query
    entity = q.get("workspace_id") or q.get("share_id") or None
    limit = int_param(q, "limit", 100, 1, 500)
    offset = int_param(q, "offset", 0, 0, None)
    after_seq = 0
    if q.get("after"):
        seq = emu.store.event_seq(q["after"])
        if seq is None:
            raise invalid("after", "unknown event id")
        after_seq = seq
    rows = emu.store.events(after_seq, entity, q.get("event") or None)
    page = rows[offset : offset + limit]
    return ok(
        {
            "events": _decode(page),
            "pagination": {
                "total": len(rows),
                "limit": limit,
                "offset": offset,
                "has_more": offset + len(page) < len(rows),
            },
        }
    )


async def poll(request: web.Request) -> web.Response:
    """GET /current/activity/poll/{entity_id}/: wait for activity after a cursor."""
    emu = request.app[EMU]
    entity = request.match_info["entity_id"]
    wait = wait_param(request.query, WAIT_CAP)
    raw = request.query.get("lastactivity")
    if raw is None or raw == "":
        rows = emu.store.events(0, entity)[-RECENT:]
        cursor = rows[-1][0] if rows else emu.store.last_event_seq()
        return _poll_answer(rows, cursor)
    try:
        last = int(raw)
    except ValueError:
        raise invalid("lastactivity", "must be a value returned by a poll") from None

    def fresh() -> bool:
        return bool(emu.store.events(last, entity))

    await emu.notifier.wait_until(fresh, wait)
    rows = emu.store.events(last, entity)
    return _poll_answer(rows, rows[-1][0] if rows else last)


def _poll_answer(rows: list[tuple[int, str]], cursor: int) -> web.Response:
    """Build an activity poll answer."""
    return ok(
        {"updated": bool(rows), "lastactivity": str(cursor), "activity": _decode(rows)}
    )
