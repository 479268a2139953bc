"""Storage read routes: list a folder, node details, download tokens, read, delete."""

from __future__ import annotations

import mimetypes
from typing import Any
from urllib.parse import quote

from aiohttp import web

from . import params
from .envelope import (
    NOT_FOUND,
    UNAUTHORIZED,
    UNKNOWN_ROUTE,
    ApiError,
    error_body,
    invalid,
    not_found,
    ok,
)
from .events import emit_file_event
from .state import EMU
from .store import iso

CONTEXTS = ("workspace", "share")


def node_view(node: dict[str, Any]) -> dict[str, Any]:
    """Render a stored file as a storage node."""
    mimetype = mimetypes.guess_type(node["name"])[0] or "application/octet-stream"
    return {
        "id": node["id"],
        "type": "file",
        "name": node["name"],
        "size": node["size"],
        "mimetype": mimetype,
        "parent": node["folder_id"],
        "folder_id": node["folder_id"],
        "instance_id": node["instance_id"],
        "profile_type": node["profile_type"],
        "version_id": node["version_id"],
        "upload_id": node["upload_id"],
        "hashes": {"sha256": node["sha256"]},
        "created": iso(node["created"]),
        "updated": iso(node["updated"]),
    }


def _context(request: web.Request) -> tuple[str, str] | None:
    """Return (profile_type, instance_id) from the path, or None for aliases."""
    ctx = request.match_info.get("ctx")
    if ctx is None:
        return None
    if ctx not in CONTEXTS:
        raise ApiError(404, UNKNOWN_ROUTE, "Unknown route")
    return ctx, params.instance_id(request.match_info["instance_id"], "instance_id")


def _node(request: web.Request, node_id: str | None = None) -> dict[str, Any]:
    """Load the node named in the path, checking it belongs to the instance."""
    emu = request.app[EMU]
    node = emu.store.get_file(node_id or request.match_info["node_id"])
    ctx = _context(request)
    if node is None or (ctx is not None and node["instance_id"] != ctx[1]):
        raise not_found("Storage node")
    return node


async def list_folder(request: web.Request) -> web.Response:
    """GET /current/{ctx}/{instance_id}/storage/{folder_id}/list/."""
    emu = request.app[EMU]
    ctx = _context(request)
    assert ctx is not None
    folder = request.match_info["folder_id"]
    page_size = params.int_param(request.query, "page_size", 100, 1, 500)
    offset = params.int_param(request.query, "cursor", 0, 0, None)
    rows = emu.store.list_files(ctx[1], folder)
    page = rows[offset : offset + page_size]
    more = offset + len(page) < len(rows)
    return ok(
        {
            "nodes": [node_view(n) for n in page],
            "pagination": {
                "total": len(rows),
                "page_size": page_size,
                "has_more": more,
                "next_cursor": str(offset + len(page)) if more else None,
            },
        }
    )


async def details(request: web.Request) -> web.Response:
    """GET .../storage/{node_id}/details/ (comma-separated ids give many)."""
    raw = request.match_info["node_id"]
    if "," not in raw:
        return ok({"format": "single", "node": node_view(_node(request))})
    nodes, errors, seen = [], [], set()
    for node_id in raw.split(","):
        if not node_id or node_id.lower() in seen:
            continue
        seen.add(node_id.lower())
        try:
            nodes.append(node_view(_node(request, node_id)))
        except ApiError as err:
            errors.append({"node_id": node_id, "code": err.code, "message": err.text})
    payload = {"format": "multi", "nodes": nodes, "errors": errors}
    if not nodes:
        # Sources say an all-failed bulk lookup is a 404 carrying the same shape.
        body = error_body(NOT_FOUND, "None of the storage nodes were found")
        body["response"] = payload
        return web.json_response(body, status=404)
    return ok(payload)


async def request_read(request: web.Request) -> web.Response:
    """GET|POST .../storage/{node_id}/requestread/: mint a download token."""
    emu = request.app[EMU]
    node = _node(request)
    token, expires = emu.store.new_read_token(node["id"])
    return ok({"token": token, "expires": iso(expires)})


async def read(request: web.Request) -> web.StreamResponse:
    """GET .../storage/{node_id}/read/?token=: stream the bytes."""
    emu = request.app[EMU]
    node = _node(request)
    token = request.query.get("token")
    if request.get("owner") is None and not (
        token and emu.store.token_allows(token, node["id"])
    ):
        raise ApiError(401, UNAUTHORIZED, "A valid read token or credential is needed")
    resp = web.FileResponse(emu.store.file_path(node["id"]))
    resp.content_type = node_view(node)["mimetype"]
    resp.headers["Content-Disposition"] = (
        f"attachment; filename*=UTF-8''{quote(node['name'])}"
    )
    resp.headers["ETag"] = f'"{node["sha256"]}"'
    return resp


async def delete(request: web.Request) -> web.Response:
    """DELETE .../storage/{node_id}/delete/: remove a file and announce it."""
    emu = request.app[EMU]
    node = _node(request)
    emu.store.delete_file(node["id"])
    emit_file_event(emu, "deleted", node, node["upload_id"])
    return ok({"id": node["id"], "deleted": True})


def require_instance(request: web.Request) -> tuple[str, str]:
    """Return the (profile_type, instance_id) of a context route."""
    ctx = _context(request)
    if ctx is None:
        raise invalid("instance_id", "required")
    return ctx
