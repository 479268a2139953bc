"""The polling fallback: read Fast.io's events API and feed the same pipeline.

Webhooks can be lost (an outage longer than the sender's retries, a
subscription withdrawn), so a Cron Trigger calls ``poll_events`` in
production, and ``POST /admin/poll`` calls it offline, where no cron reaches
Python. Events come from ``GET /current/events/search/`` oldest first, after
a cursor (the last event id read) kept in D1; each is admitted by the same id
its webhook would carry, so an event seen both ways is processed once.

Each run also retries failed events (up to ``MAX_ATTEMPTS``) and takes over
claims whose worker died (older than the inbox lease).
"""

from __future__ import annotations

import json
import time

import d1
import events
import inbox
import pipeline
from config import Config
from fastio import Fastio, FastioRejected

PAGE_SIZE = 100
# Fast.io allows about 5 events-search calls per 3 s; a run stays under it.
MAX_PAGES = 4
MAX_ATTEMPTS = 5
RETRIES_PER_RUN = 20


async def poll_events(env: object) -> dict:
    """One polling run; a summary of what it saw and did."""
    config = Config(env)
    workspace = config.workspace_id()
    client = Fastio.from_config(config)
    db = env.DB
    summary = {"fetched": 0, "new": 0, "duplicate": 0, "retried": 0, "skipped": 0}
    summary.update(processed=0, failed=0)

    stored = cursor = await load_cursor(db, workspace)
    for _ in range(MAX_PAGES):
        page, cursor_known = await _page(client, workspace, cursor)
        if not cursor_known:
            # Fast.io no longer knows our cursor (history expired, or another
            # account): read again from the start; known ids are duplicates.
            cursor = None
        items = [item for item in page.get("events") or [] if isinstance(item, dict)]
        summary["fetched"] += len(items)
        for item in items:
            await _take(env, item, summary)

        last = str(items[-1].get("id") or "") if items else ""
        if last:
            if not await save_cursor(db, workspace, stored, last):
                break  # another poller moved the cursor: it carries on
            stored = cursor = last
        if not (page.get("pagination") or {}).get("has_more"):
            break

    await _retry_stalled(env, summary)
    return summary


async def _page(client: Fastio, workspace: str, cursor: str | None):
    query = {"workspace_id": workspace, "limit": str(PAGE_SIZE)}
    if cursor:
        query["after"] = cursor
    try:
        page = await client.search_events(query)
        return page, True
    except FastioRejected:
        if not cursor:
            raise
    query.pop("after")
    page = await client.search_events(query)
    return page, False


async def _take(env: object, item: dict, summary: dict) -> None:
    """Admit one event from the events API and process it now if it is ours."""
    payload = dict(item)
    if "type" in payload:
        payload.pop("event", None)  # the events API's alias of "type"
    try:
        event = events.from_payload(payload, events.event_id(payload, None, None))
    except events.PayloadError:
        summary["skipped"] += 1
        return

    outcome = await pipeline.admit(env.DB, event, "poll")
    if outcome == pipeline.DUPLICATE:
        summary["duplicate"] += 1
        return
    summary["new" if outcome == pipeline.NEW else "retried"] += 1
    result = await pipeline.run(
        env, event, claimed=outcome == pipeline.RETRY, source="poll"
    )
    if result in ("processed", "failed"):
        summary[result] += 1


async def _retry_stalled(env: object, summary: dict) -> None:
    """Failed events under the attempt cap, and claims older than the lease."""
    db = env.DB
    now = int(time.time())
    for row in await inbox.retryable(db, now, RETRIES_PER_RUN, MAX_ATTEMPTS):
        try:
            event = events.from_payload(json.loads(row["payload"]), row["id"])
        except (ValueError, events.PayloadError):
            continue
        if not await inbox.reclaim(db, event.id, now):
            continue
        summary["retried"] += 1
        result = await pipeline.run(env, event, claimed=True, source="retry")
        if result in ("processed", "failed"):
            summary[result] += 1


async def load_cursor(db: object, feed: str) -> str | None:
    row = await d1.first(db, "SELECT cursor FROM poll_cursors WHERE name = ?", feed)
    return None if row is None else row["cursor"]


async def save_cursor(db: object, feed: str, old: str | None, new: str) -> bool:
    """Move the cursor from ``old`` to ``new``; False if it was not at ``old``."""
    changes = await d1.run(
        db,
        "INSERT INTO poll_cursors (name, cursor, updated_at) VALUES (?, ?, ?)"
        " ON CONFLICT (name) DO UPDATE SET cursor = excluded.cursor,"
        " updated_at = excluded.updated_at WHERE poll_cursors.cursor IS ?",
        feed,
        new,
        int(time.time()),
        old,
    )
    return changes == 1
