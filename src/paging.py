"""Query parameters of the read API: page size and opaque cursors.

A cursor is the ``seq`` of the last row a page showed, tagged with the list
it belongs to and base64url-encoded, so clients treat it as opaque and a
cursor from one list is refused by another. Pure Python (CPython-tested).
"""

from __future__ import annotations

import base64
import binascii
import json

from problems import HTTPError

DEFAULT_LIMIT = 50
MAX_LIMIT = 100


def bad_request(detail: str, parameter: str) -> HTTPError:
    return HTTPError(400, detail, code="invalid-parameter", parameter=parameter)


def parse_limit(text: str | None) -> int:
    """``limit``: 1..100, 50 when absent."""
    if text is None or text == "":
        return DEFAULT_LIMIT
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_LIMIT:
        raise bad_request(f"limit must be an integer from 1 to {MAX_LIMIT}.", "limit")
    return int(text)


def encode_cursor(kind: str, seq: int) -> str:
    raw = json.dumps({"k": kind, "s": seq}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(kind: str, text: str | None) -> int | None:
    """The ``seq`` to continue after; None for the first page."""
    if text is None or text == "":
        return None
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        data = json.loads(raw)
    except (binascii.Error, ValueError):
        data = None
    if not isinstance(data, dict) or data.get("k") != kind:
        raise bad_request("cursor is not valid for this list.", "cursor")
    seq = data.get("s")
    if type(seq) is not int or seq < 1:
        raise bad_request("cursor is not valid for this list.", "cursor")
    return seq
