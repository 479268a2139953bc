"""The unauthenticated /_emulator/ control API used by tests."""

from __future__ import annotations

import json
import time
from typing import Any

from aiohttp import web

from . import __version__
from .state import EMU
from .store import iso
from .uploads import session_view


def _bad(text: str, status: int = 400) -> web.Response:
    return web.json_response({"error": text}, status=status)


async def _json(request: web.Request) -> dict[str, Any]:
    """Read a JSON object body (empty body means {})."""
    if not request.can_read_body:
        return {}
    try:
        data = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text="body is not JSON") from None
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(text="body must be a JSON object")
    return data


async def health(request: web.Request) -> web.Response:
    """GET /_emulator/health."""
    emu = request.app[EMU]
    return web.json_response(
        {
            "ok": True,
            "version": __version__,
            "uptime": round(time.time() - emu.started, 3),
        }
    )


async def reset(request: web.Request) -> web.Response:
    """POST /_emulator/reset: drop everything and restore start-up settings."""
    await request.app[EMU].reset()
    return web.json_response({"ok": True})


def _file_view(f: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": f["id"],
        "name": f["name"],
        "size": f["size"],
        "sha256": f["sha256"],
        "instance_id": f["instance_id"],
        "profile_type": f["profile_type"],
        "folder_id": f["folder_id"],
        "upload_id": f["upload_id"],
        "version_id": f["version_id"],
        "created": iso(f["created"]),
        "updated": iso(f["updated"]),
    }


async def files(request: web.Request) -> web.Response:
    """GET /_emulator/files: every stored file."""
    rows = request.app[EMU].store.list_files()
    return web.json_response({"files": [_file_view(f) for f in rows]})


async def file_content(request: web.Request) -> web.StreamResponse:
    """GET /_emulator/files/{id}/content: the stored bytes."""
    store = request.app[EMU].store
    node = store.get_file(request.match_info["file_id"])
    if node is None:
        return _bad("no such file", 404)
    return web.FileResponse(store.file_path(node["id"]))


def _session_full(request: web.Request, s: dict[str, Any]) -> dict[str, Any]:
    emu = request.app[EMU]
    view = session_view(emu, s)
    view["owner"] = s["owner"]
    view["chunk_details"] = [
        {"order": c["ord"], "size": c["size"], "sha256": c["sha256"]}
        for c in emu.store.chunks(s["id"])
    ]
    return view


async def sessions(request: web.Request) -> web.Response:
    """GET /_emulator/sessions: every upload session with its chunks."""
    rows = request.app[EMU].store.list_sessions()
    return web.json_response({"sessions": [_session_full(request, s) for s in rows]})


async def session(request: web.Request) -> web.Response:
    """GET /_emulator/sessions/{id}."""
    s = request.app[EMU].store.get_session(request.match_info["session_id"])
    if s is None:
        return _bad("no such session", 404)
    return web.json_response(_session_full(request, s))


async def add_fault(request: web.Request) -> web.Response:
    """POST /_emulator/faults: add a fault rule."""
    try:
        fault = request.app[EMU].faults.add(await _json(request))
    except ValueError as exc:
        return _bad(str(exc))
    return web.json_response(fault.describe(), status=201)


async def list_faults(request: web.Request) -> web.Response:
    """GET /_emulator/faults: active fault rules."""
    rules = request.app[EMU].faults.rules
    return web.json_response({"faults": [f.describe() for f in rules]})


async def clear_faults(request: web.Request) -> web.Response:
    """DELETE /_emulator/faults: remove every fault rule."""
    request.app[EMU].faults.clear()
    return web.json_response({"ok": True})


async def requests_log(request: web.Request) -> web.Response:
    """GET /_emulator/requests: recent API requests."""
    return web.json_response({"requests": request.app[EMU].reqlog.snapshot()})


async def clear_requests(request: web.Request) -> web.Response:
    """DELETE /_emulator/requests."""
    request.app[EMU].reqlog.clear()
    return web.json_response({"ok": True})


async def get_config(request: web.Request) -> web.Response:
    """GET /_emulator/config."""
    return web.json_response(request.app[EMU].config.public())


async def put_config(request: web.Request) -> web.Response:
    """PUT /_emulator/config: change settings at run time."""
    emu = request.app[EMU]
    try:
        emu.config.update(await _json(request))
    except ValueError as exc:
        return _bad(str(exc))
    # A new limit or window starts counting afresh.
    emu.limiter.reset()
    return web.json_response(emu.config.public())


async def webhooks(request: web.Request) -> web.Response:
    """GET /_emulator/webhooks: delivery records."""
    return web.json_response({"webhooks": request.app[EMU].webhooks.snapshot()})


async def redeliver(request: web.Request) -> web.Response:
    """POST /_emulator/webhooks/{event_id}/redeliver: send an event again."""
    emu = request.app[EMU]
    event_id = request.match_info["event_id"]
    raw = emu.store.event_body(event_id)
    if raw is None:
        return _bad("no such event", 404)
    if not emu.webhooks.enqueue(event_id, json.loads(raw)["type"]):
        return _bad("no webhook_url is configured", 409)
    return web.json_response({"queued": True, "id": event_id}, status=202)


async def events(request: web.Request) -> web.Response:
    """GET /_emulator/events: every recorded event, oldest first."""
    rows = request.app[EMU].store.events(0)
    return web.json_response({"events": [json.loads(body) for _s, body in rows]})


def add_routes(app: web.Application) -> None:
    """Register the control routes."""
    r = app.router
    r.add_get("/_emulator/health", health)
    r.add_post("/_emulator/reset", reset)
    r.add_get("/_emulator/files", files)
    r.add_get("/_emulator/files/{file_id}/content", file_content)
    r.add_get("/_emulator/sessions", sessions)
    r.add_get("/_emulator/sessions/{session_id}", session)
    r.add_post("/_emulator/faults", add_fault)
    r.add_get("/_emulator/faults", list_faults)
    r.add_delete("/_emulator/faults", clear_faults)
    r.add_get("/_emulator/requests", requests_log)
    r.add_delete("/_emulator/requests", clear_requests)
    r.add_get("/_emulator/config", get_config)
    r.add_put("/_emulator/config", put_config)
    r.add_get("/_emulator/webhooks", webhooks)
    r.add_post("/_emulator/webhooks/{event_id}/redeliver", redeliver)
    r.add_get("/_emulator/events", events)
