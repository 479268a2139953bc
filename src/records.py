"""Read API over the D1 records: files, events, and Fast.io search.

Every route here needs a JWT (checked by ``entry.py``); any authenticated
caller sees the whole workspace's records.
"""

from __future__ import annotations

from urllib.parse import parse_qs

import d1
import inbox
import paging
from fastio import Fastio, FastioError, http_error
from ffi import json_response
from polling import poll_events

MAX_QUERY_LENGTH = 500

FILE_COLUMNS = (
    "f.seq, f.id, f.workspace_id, f.name, f.size, f.sha256,"
    # The upload row can land after the event: join it at read time too.
    " COALESCE(f.uploader, (SELECT u.uploader FROM uploads u WHERE u.file_id = f.id"
    "  ORDER BY u.created_at DESC LIMIT 1)) AS uploader,"
    " f.status, f.last_event_id, f.created_at, f.updated_at, f.deleted_at"
)
EVENT_COLUMNS = (
    "seq, id, type, source, status, attempts, error, file_id, occurred_at,"
    " received_at, updated_at, processed_at"
)


def _query(call) -> dict[str, str]:
    """Query parameters, the first value of each (blank values kept)."""
    parsed = parse_qs(call.url.query, keep_blank_values=True)
    return {name: values[0] for name, values in parsed.items()}


def _page(kind: str, rows: list[dict], limit: int) -> tuple[list[dict], str | None]:
    """Trim the one extra row fetched; the cursor if there is more."""
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = paging.encode_cursor(kind, rows[-1]["seq"]) if more else None
    for row in rows:
        row.pop("seq")
    return rows, cursor


async def list_files(call) -> object:
    """``GET /files?limit=&cursor=``: files, newest first (by first sighting)."""
    query = _query(call)
    limit = paging.parse_limit(query.get("limit"))
    after = paging.decode_cursor("files", query.get("cursor"))

    rows = await d1.rows(
        call.env.DB,
        f"SELECT {FILE_COLUMNS} FROM files f WHERE (?1 IS NULL OR f.seq < ?1)"
        " ORDER BY f.seq DESC LIMIT ?2",
        after,
        limit + 1,
    )
    files, cursor = _page("files", rows, limit)
    return json_response({"files": files, "next_cursor": cursor})


async def list_events(call) -> object:
    """``GET /events?status=&limit=&cursor=``: events, newest first."""
    query = _query(call)
    limit = paging.parse_limit(query.get("limit"))
    after = paging.decode_cursor("events", query.get("cursor"))
    status = query.get("status") or None
    if status is not None and status not in inbox.STATUSES:
        raise paging.bad_request(
            f"status must be one of {', '.join(inbox.STATUSES)}.", "status"
        )

    rows = await d1.rows(
        call.env.DB,
        f"SELECT {EVENT_COLUMNS} FROM events WHERE (?1 IS NULL OR seq < ?1)"
        " AND (?2 IS NULL OR status = ?2) ORDER BY seq DESC LIMIT ?3",
        after,
        status,
        limit + 1,
    )
    found, cursor = _page("events", rows, limit)
    return json_response({"events": found, "next_cursor": cursor})


async def search(call) -> object:
    """``GET /search?q=``: Fast.io's semantic search over the workspace."""
    query = _query(call)
    text = (query.get("q") or "").strip()
    if not text:
        raise paging.bad_request("q is required.", "q")
    if len(text) > MAX_QUERY_LENGTH:
        raise paging.bad_request(f"q is limited to {MAX_QUERY_LENGTH} characters.", "q")
    limit = paging.parse_limit(query.get("limit"))

    config = call.config
    workspace = config.workspace_id()
    client = Fastio.from_config(config)
    try:
        found = await client.search_storage(
            config.profile_type(), workspace, text, limit
        )
    except FastioError as exc:
        call.log.set(upstream_status=exc.status)
        raise http_error(exc) from exc

    hits = found.get("results")
    if not isinstance(hits, list):
        hits = list((found.get("files") or {}).values())
    return json_response({"query": text, "hits": hits})


async def poll_now(call) -> object:
    """``POST /admin/poll``: one polling run now (offline, no cron reaches
    Python; in production the Cron Trigger runs the same function)."""
    try:
        summary = await poll_events(call.env)
    except FastioError as exc:
        call.log.set(upstream_status=exc.status)
        raise http_error(exc) from exc
    return json_response(summary)
