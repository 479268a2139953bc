"""Fast.io events as this Worker understands them, whichever way they came.

A webhook body and an entry of ``GET /current/events/search/`` carry the same
event object (``id``, ``type``, ``created``, ``data``), so both paths build the
same ``Event`` with the same id: that is what makes exactly-once processing
hold across the webhook and the polling fallback. Pure Python (CPython-tested).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

MAX_ID_LENGTH = 256

# Event names and what they mean for the files table. Fast.io's events API
# uses the first names; its webhook tutorial uses the dotted ones.
FILE_ACTIONS = {
    "workspace_storage_file_added": "added",
    "workspace_storage_file_updated": "updated",
    "workspace_storage_file_deleted": "deleted",
    "share_storage_file_added": "added",
    "share_storage_file_updated": "updated",
    "share_storage_file_deleted": "deleted",
    "file.uploaded": "added",
    "file.modified": "updated",
    "file.deleted": "deleted",
}


class PayloadError(ValueError):
    """A body that is not a JSON object naming an event type."""


@dataclass(frozen=True)
class FileFacts:
    """What an event says about one stored file."""

    id: str
    name: str | None = None
    size: int | None = None
    sha256: str | None = None
    upload_id: str | None = None
    workspace_id: str | None = None


@dataclass(frozen=True)
class Event:
    """One Fast.io event, normalised."""

    id: str
    type: str
    occurred_at: int | None
    payload: dict
    file: FileFacts | None = None

    @property
    def file_action(self) -> str | None:
        return FILE_ACTIONS.get(self.type)


def parse_body(body: bytes) -> dict:
    """The JSON object a webhook body carries."""
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise PayloadError("Body is not JSON.") from None
    if not isinstance(payload, dict):
        raise PayloadError("Body is not a JSON object.")
    return payload


def event_id(payload: dict, body: bytes | None, message_id: str | None) -> str:
    """The id that makes a delivery a duplicate of another.

    In order: the signed ``webhook-id`` (Standard Webhooks), the payload's
    ``id``, else the SHA-256 of the body. An id too long to index is replaced
    by its hash, the same way on every path.
    """
    for candidate in (message_id, payload.get("id")):
        if isinstance(candidate, bool) or candidate is None:
            continue
        if isinstance(candidate, str | int) and str(candidate).strip():
            return _bounded(str(candidate).strip())
    if body is None:
        body = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    return "sha256:" + hashlib.sha256(body).hexdigest()


def _bounded(text: str) -> str:
    if len(text) <= MAX_ID_LENGTH:
        return text
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def from_payload(payload: dict, event_id: str) -> Event:
    """Build an ``Event`` from a webhook body or an events-search entry."""
    kind = _first_str(payload, "type", "event", "event_type", "action")
    if kind is None:
        raise PayloadError("Event has no type.")

    occurred = _first_int(payload, "created", "created_at", "timestamp", "time")
    file = _file_facts(payload) if kind in FILE_ACTIONS else None
    return Event(event_id, kind, occurred, payload, file)


def _file_facts(payload: dict) -> FileFacts | None:
    """Find the file an event is about: ``data``, ``data.file``, ``file``..."""
    data = payload.get("data") if isinstance(payload.get("data"), dict) else {}
    places = [data.get("file"), data.get("node"), data, payload.get("file")]
    for place in places:
        if not isinstance(place, dict):
            continue
        file_id = _first_str(place, "file_id", "node_id", "id")
        if place is data:  # an event's own data: its "id" is not the file's
            file_id = _first_str(place, "file_id", "node_id")
        if file_id is None:
            continue
        return FileFacts(
            id=file_id,
            name=_first_str(place, "name", "filename"),
            size=_first_int(place, "size", "bytes"),
            sha256=_first_str(place, "sha256", "hash"),
            upload_id=_first_str(place, "upload_id") or _first_str(data, "upload_id"),
            workspace_id=_first_str(data, "workspace_id", "share_id", "instance_id"),
        )
    return None


def _first_str(obj: dict, *names: str) -> str | None:
    for name in names:
        value = obj.get(name)
        if isinstance(value, bool):
            continue
        if isinstance(value, str) and value.strip():
            return value.strip()
        if isinstance(value, int):
            return str(value)
    return None


def _first_int(obj: dict, *names: str) -> int | None:
    for name in names:
        value = obj.get(name)
        if isinstance(value, bool):
            continue
        if isinstance(value, int):
            return value
        if isinstance(value, float):
            return int(value)
        if isinstance(value, str) and value.isascii() and value.isdigit():
            return int(value)
    return None
