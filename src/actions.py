"""What processing an event does: keep the files table, notify a channel.

The files update is a statement the pipeline runs in one transaction with
the event's claim; the notification either succeeds or raises
``ActionError``, and the pipeline marks the event failed with that text. A
later delivery runs both again: the files update is idempotent, so only a
notification that failed is ever sent again.
"""

from __future__ import annotations

import asyncio
import json

from js import AbortController, fetch
from pyodide.ffi import JsException

from config import Config
from events import Event
from ffi import js_object


class ActionError(Exception):
    """An action could not be completed; the event is marked failed."""


def file_update(event: Event, now: int) -> tuple[str, tuple] | None:
    """The statement that keeps the event's file row, if it is a file event.

    Idempotent: the same event applied twice leaves the same row, and an older
    event never overwrites a newer one, so running it for a delivery that then
    loses the claim is harmless. The uploader (and the SHA-256 when the event
    lacks it) is copied from ``uploads`` when the file came through the
    Worker, matched by the Fast.io file id or by the upload session id.
    """
    file = event.file
    if file is None or event.file_action is None:
        return None
    deleted = event.file_action == "deleted"
    sql = (
        "INSERT INTO files (id, workspace_id, name, size, sha256, uploader, status,"
        " last_event_id, last_event_at, created_at, updated_at, deleted_at)"
        " VALUES (?1, ?2, ?3, ?4,"
        " COALESCE(?5, (SELECT sha256 FROM uploads WHERE file_id = ?1 OR id = ?6"
        "  ORDER BY created_at DESC LIMIT 1)),"
        " (SELECT uploader FROM uploads WHERE file_id = ?1 OR id = ?6"
        "  ORDER BY created_at DESC LIMIT 1),"
        " ?7, ?8, ?9, ?10, ?10, ?11)"
        " ON CONFLICT (id) DO UPDATE SET"
        " workspace_id = COALESCE(excluded.workspace_id, files.workspace_id),"
        " name = COALESCE(excluded.name, files.name),"
        " size = COALESCE(excluded.size, files.size),"
        " sha256 = COALESCE(excluded.sha256, files.sha256),"
        " uploader = COALESCE(files.uploader, excluded.uploader),"
        " status = excluded.status, last_event_id = excluded.last_event_id,"
        " last_event_at = excluded.last_event_at,"
        " updated_at = excluded.updated_at, deleted_at = excluded.deleted_at"
        # Same second: a deletion is not undone by an add/update of that second.
        " WHERE excluded.last_event_at > files.last_event_at"
        " OR (excluded.last_event_at = files.last_event_at"
        "     AND NOT (files.status = 'deleted' AND excluded.status = 'active'))"
    )
    args = (
        file.id,
        file.workspace_id,
        file.name,
        file.size,
        file.sha256,
        file.upload_id,
        "deleted" if deleted else "active",
        event.id,
        event.occurred_at or now,
        now,
        now if deleted else None,
    )
    return sql, args


async def announce(config: Config, event: Event) -> None:
    """Tell the chat channel, when ``NOTIFY_URL`` is set."""
    notify_url = config.optional("NOTIFY_URL")
    if notify_url:
        timeout = config.number("UPSTREAM_TIMEOUT_SECONDS")
        await notify(notify_url, describe(event), timeout)

    # Known limitation: no AI summary action. Fast.io's workspace AI
    # (POST /current/workspace/{id}/ai/agent/) is not in the local emulator,
    # so it could not be built and tested against anything here.


def describe(event: Event) -> str:
    """One line for a chat channel."""
    file = event.file
    if file is None or event.file_action is None:
        return f"Fast.io event {event.type} (event {event.id})"
    name = file.name or file.id
    size = f" ({file.size:,} bytes)" if file.size is not None else ""
    return f"File {event.file_action}: {name}{size} (event {event.id})"


async def notify(url: str, text: str, timeout: float) -> None:
    """POST a Slack-compatible ``{"text": ...}`` message; any non-2xx fails."""
    controller = AbortController.new()
    init = {
        "method": "POST",
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps({"text": text}),
        "signal": controller.signal,
    }
    try:
        response = await asyncio.wait_for(_post(url, init), timeout)
    except TimeoutError:
        controller.abort()
        raise ActionError(f"notification timed out after {timeout:g} s") from None
    except JsException as exc:
        raise ActionError("notification failed: connection error") from exc
    if not 200 <= response.status < 300:
        raise ActionError(f"notification failed: HTTP {response.status}")


async def _post(url: str, init: dict) -> object:
    response = await fetch(url, js_object(init))
    await response.arrayBuffer()  # drain it, so the connection can be reused
    return response
