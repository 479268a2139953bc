"""The events table: admit an event once, claim it, mark how it ended.

Every transition is one conditional statement, and what it changed (or
returned) says whether this caller made it; D1 runs statements one at a time,
so two racing deliveries can never both insert, or both claim, one event.

    received --claim--> processing --> processed   (final)
                                  \\--> failed --reclaim--> processing ...
"""

from __future__ import annotations

import json

import d1
from events import Event

STATUSES = ("received", "processing", "processed", "failed")

# A claim older than this is presumed lost (the isolate died mid-work) and
# may be taken over. Work after a response gets 30 s in production, so a live
# claim never looks this old.
LEASE_SECONDS = 120
ERROR_TEXT_MAX = 500

# The condition under which a known event may be taken again: it failed, or
# its claim was lost. A processed event, or one being worked on, never is.
_RECLAIMABLE = (
    "(events.status = 'failed' OR (events.status IN ('received', 'processing')"
    " AND events.updated_at < ?))"
)


async def admit(db: object, event: Event, source: str, now: int) -> str | None:
    """Record a new event ('received'), or re-claim a known one that may be
    taken again ('processing'); None for a duplicate. One statement."""
    rows = await d1.rows(
        db,
        "INSERT INTO events (id, type, source, status, attempts, file_id,"
        " occurred_at, payload, received_at, updated_at)"
        " VALUES (?, ?, ?, 'received', 0, ?, ?, ?, ?, ?)"
        " ON CONFLICT (id) DO UPDATE SET status = 'processing',"
        " attempts = events.attempts + 1, updated_at = excluded.updated_at"
        f" WHERE {_RECLAIMABLE} RETURNING status",
        event.id,
        event.type,
        source,
        event.file.id if event.file else None,
        event.occurred_at,
        json.dumps(event.payload, separators=(",", ":")),
        now,
        now,
        now - LEASE_SECONDS,
    )
    return rows[0]["status"] if rows else None


def claim(event_id: str, now: int) -> tuple[str, tuple]:
    """The statement that takes a freshly recorded event for processing."""
    return (
        "UPDATE events SET status = 'processing', attempts = attempts + 1,"
        " updated_at = ? WHERE id = ? AND status = 'received'",
        (now, event_id),
    )


async def reclaim(db: object, event_id: str, now: int) -> bool:
    """Take a failed event, or one whose claim was lost, for another attempt."""
    changes = await d1.run(
        db,
        "UPDATE events SET status = 'processing', attempts = attempts + 1,"
        f" updated_at = ? WHERE id = ? AND {_RECLAIMABLE}",
        now,
        event_id,
        now - LEASE_SECONDS,
    )
    return changes == 1


async def finish(db: object, event_id: str, now: int) -> None:
    await d1.run(
        db,
        "UPDATE events SET status = 'processed', error = NULL, updated_at = ?,"
        " processed_at = ? WHERE id = ? AND status = 'processing'",
        now,
        now,
        event_id,
    )


async def fail(db: object, event_id: str, error: str, now: int) -> None:
    await d1.run(
        db,
        "UPDATE events SET status = 'failed', error = ?, updated_at = ?"
        " WHERE id = ? AND status = 'processing'",
        error[:ERROR_TEXT_MAX],
        now,
        event_id,
    )


async def retryable(db: object, now: int, limit: int, max_attempts: int) -> list:
    """Events to try again: failed ones under the attempt cap, and lost claims."""
    return await d1.rows(
        db,
        "SELECT id, payload FROM events WHERE (status = 'failed' AND attempts < ?)"
        " OR (status IN ('received', 'processing') AND updated_at < ?)"
        " ORDER BY seq LIMIT ?",
        max_attempts,
        now - LEASE_SECONDS,
        limit,
    )
