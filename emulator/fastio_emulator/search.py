"""A naive stand-in for semantic search: word overlap over names and text heads."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from aiohttp import web

from . import params
from .envelope import invalid, ok
from .state import EMU
from .storage import node_view, require_instance

WORD = re.compile(r"[a-z0-9]+")
HEAD_BYTES = 8192
SNIPPET_BEFORE = 60
SNIPPET_AFTER = 120


def text_head(path: Path) -> str | None:
    """Return the first few KB of a file if it looks like UTF-8 text."""
    try:
        with path.open("rb") as fh:
            data = fh.read(HEAD_BYTES)
    except OSError:
        return None
    if b"\x00" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the head is still text.
        if exc.start >= len(data) - 3:
            return data[: exc.start].decode("utf-8", errors="replace")
        return None


def score(query: str, name: str, content: str | None) -> tuple[float, str]:
    """Score a file against a query in [0, 1] and pick a snippet."""
    phrase = query.lower().strip()
    qwords = set(WORD.findall(phrase))
    if not qwords:
        return 0.0, ""
    lname = name.lower()
    total = 0.0
    if phrase in lname:
        total += 0.5
    total += 0.3 * len(qwords & set(WORD.findall(lname))) / len(qwords)
    snippet = ""
    if content:
        lower = content.lower()
        if phrase in lower:
            total += 0.3
        hits = qwords & set(WORD.findall(lower))
        total += 0.2 * len(hits) / len(qwords)
        at = lower.find(phrase)
        if at < 0 and hits:
            at = min(lower.find(w) for w in hits)
        if at >= 0:
            start = max(0, at - SNIPPET_BEFORE)
            snippet = " ".join(content[start : at + SNIPPET_AFTER].split())
    return round(min(total, 1.0), 4), snippet


async def search(request: web.Request) -> web.Response:
    """GET /current/{ctx}/{instance_id}/storage/search/?search=...: ranked hits."""
    emu = request.app[EMU]
    _profile, instance = require_instance(request)
    query = request.query.get("search", "")
    if not query.strip():
        raise invalid("search", "required")
    limit = params.int_param(request.query, "limit", 100, 1, 500)
    offset = params.int_param(request.query, "offset", 0, 0, None)
    hits: list[dict[str, Any]] = []
    for node in emu.store.list_files(instance):
        content = text_head(emu.store.file_path(node["id"]))
        relevance, snippet = score(query, node["name"], content)
        if relevance > 0:
            hit = node_view(node)
            hit["relevance_score"] = relevance
            hit["content_snippet"] = snippet
            hits.append(hit)
    hits.sort(key=lambda h: (-h["relevance_score"], h["name"]))
    page = hits[offset : offset + limit]
    return ok(
        {
            "results": page,
            "files": {h["id"]: h for h in page},
            "pagination": {
                "total": len(hits),
                "limit": limit,
                "offset": offset,
                "has_more": offset + len(page) < len(hits),
            },
        }
    )
