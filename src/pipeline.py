"""One event from arrival to done: admit it once, claim it, act, record how.

Webhook deliveries and the polling fallback both come through here, so the
same event id is processed once whichever path sees it first. Local D1 costs
5 to 25 ms a statement, so the path is kept to three: admit; claim plus the
files update (one transaction); processed or failed.
"""

from __future__ import annotations

import json
import time

import actions
import d1
import inbox
from config import Config
from events import Event
from reqlog import redact

NEW = "new"  # recorded by this call: run it with claimed=False
RETRY = "retry"  # a failed (or lost) event re-claimed: run it with claimed=True
DUPLICATE = "duplicate"  # known and processed, or being processed: nothing to do


async def admit(db: object, event: Event, source: str) -> str:
    """Record ``event`` unless known; NEW, RETRY or DUPLICATE."""
    status = await inbox.admit(db, event, source, int(time.time()))
    if status is None:
        return DUPLICATE
    return NEW if status == "received" else RETRY


async def run(env: object, event: Event, *, claimed: bool, source: str) -> str:
    """Process an admitted event; 'processed', 'failed' or 'skipped'.

    Never raises: a failure is written to the event row (and one log line),
    because this usually runs after the response, where nobody would see it.
    """
    db = env.DB
    started = time.time()
    now = int(started)
    owned = claimed  # whether this call holds the event's claim
    outcome, error = "processed", None
    try:
        owned = await _claim_and_update_files(db, event, now, claimed=claimed)
        if not owned:
            return "skipped"  # another delivery took it first
        await actions.announce(Config(env), event)
    except actions.ActionError as exc:
        outcome, error = "failed", redact(str(exc))
    except Exception as exc:
        outcome, error = "failed", redact(f"{type(exc).__name__}: {exc}")

    try:
        if not owned:
            # The transaction with the claim failed, so nothing was claimed:
            # claim now, only to put the failure on record.
            owned = await d1.run(db, *_flat(inbox.claim(event.id, now))) == 1
        if error is None:
            await inbox.finish(db, event.id, int(time.time()))
        elif owned:
            await inbox.fail(db, event.id, error, int(time.time()))
    except Exception as exc:
        # The claim stays "processing" and is taken over after the lease.
        outcome, error = "unrecorded", redact(f"{type(exc).__name__}: {exc}")

    fields = {
        "event_id": event.id,
        "event_type": event.type,
        "source": source,
        "outcome": outcome,
        "ms": round((time.time() - started) * 1000, 1),
        "level": "info" if error is None else "error",
    }
    if error is not None:
        fields["error"] = error
    print(json.dumps(fields, separators=(",", ":")))
    return outcome


async def _claim_and_update_files(
    db: object, event: Event, now: int, *, claimed: bool
) -> bool:
    """Claim (unless already claimed) and update the files row, atomically."""
    statements = [] if claimed else [inbox.claim(event.id, now)]
    update = actions.file_update(event, now)
    if update is not None:
        statements.append(update)
    if not statements:
        return True
    changes = await d1.batch(db, statements)
    return claimed or changes[0] == 1


def _flat(statement: tuple[str, tuple]) -> tuple:
    sql, args = statement
    return (sql, *args)
