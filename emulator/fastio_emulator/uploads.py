"""The /current/upload/ routes: sessions, chunks, streams, completion, details."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from aiohttp import web

from . import params
from .bodies import (
    HASH_ALGOS,
    Form,
    Received,
    Sink,
    check_hash,
    read_multipart,
    read_raw,
    validate_algo,
)
from .config import SINGLE_CALL_MAX, WAIT_CAP
from .envelope import (
    CONFLICT,
    HASH_MISMATCH,
    SIZE_MISMATCH,
    TOO_LARGE,
    WRONG_SESSION_MODE,
    ApiError,
    invalid,
    not_found,
    ok,
)
from .events import emit_file_event
from .state import EMU, Emulator
from .store import iso

TERMINAL = ("stored", "assembly_failed", "store_failed")
OPEN = ("ready", "uploading")


# Views ---------------------------------------------------------------------


def session_view(emu: Emulator, s: dict[str, Any]) -> dict[str, Any]:
    """Render a session as the API shows it, with its `chunks` map."""
    chunks = {str(c["ord"]): c["size"] for c in emu.store.chunks(s["id"])}
    return {
        "id": s["id"],
        "action": s["action"],
        "name": s["name"],
        "size": s["size"],
        "stream": bool(s["stream"]),
        "max_size": s["max_size"],
        "instance_id": s["instance_id"],
        "profile_type": s["profile_type"],
        "folder_id": s["folder_id"],
        "file_id": s["file_id"],
        "status": s["status"],
        "status_message": s["status_message"],
        "new_file_id": s["new_file_id"],
        "bytes_received": s["bytes_received"],
        "created": iso(s["created"]),
        "updated": iso(s["updated"]),
        "chunks": chunks,
    }


def _session_answer(emu: Emulator, sid: str) -> web.Response:
    """Answer with a session; `chunks` also sits at the top level."""
    s = emu.store.get_session(sid)
    if s is None:
        raise not_found("Upload session")
    view = session_view(emu, s)
    return ok({"session": view, "chunks": view["chunks"]})


def _session(request: web.Request) -> dict[str, Any]:
    """Load the caller's session named in the path, or fail with 1609."""
    emu = request.app[EMU]
    s = emu.store.get_session(request.match_info["upload_id"], request["owner"])
    if s is None:
        raise not_found("Upload session")
    return s


def _bad_state(s: dict[str, Any]) -> ApiError:
    """The error for a call the session's status does not allow."""
    return ApiError(
        409,
        CONFLICT,
        f"Upload session is not in a valid state for this call (status {s['status']})",
    )


def _wrong_mode(stream: bool) -> ApiError:
    """The error for a chunked call on a stream session or the reverse."""
    if stream:
        text = "Stream sessions finalize themselves; chunk and complete do not apply"
    else:
        text = "This is a chunked session; use chunk and complete, not stream"
    return ApiError(406, WRONG_SESSION_MODE, text)


def _size_mismatch(text: str) -> ApiError:
    return ApiError(400, SIZE_MISMATCH, text)


def _hash_mismatch() -> ApiError:
    return ApiError(406, HASH_MISMATCH, "The data does not match the supplied hash")


# Storing -------------------------------------------------------------------


def commit_file(
    emu: Emulator, s: dict[str, Any], received: Received, fail_with: str | None
) -> None:
    """Turn received bytes into a stored file and mark the session stored."""
    if fail_with:
        received.path.unlink(missing_ok=True)
        emu.store.update_session(
            s["id"], status=fail_with, status_message="injected fault"
        )
        emu.notifier.notify()
        return
    sha = received.digests["sha256"]
    if s["action"] == "update":
        if emu.store.get_file(s["file_id"]) is None:
            received.path.unlink(missing_ok=True)
            emu.store.update_session(
                s["id"], status="store_failed", status_message="target file is gone"
            )
            emu.notifier.notify()
            return
        node = emu.store.replace_file(
            s["file_id"], received.path, received.size, sha, s["id"]
        )
        action = "updated"
    else:
        node = emu.store.add_file(
            received.path,
            owner=s["owner"],
            name=s["name"],
            size=received.size,
            sha256=sha,
            instance_id=s["instance_id"],
            profile_type=s["profile_type"],
            folder_id=s["folder_id"],
            upload_id=s["id"],
        )
        action = "added"
    emu.store.update_session(
        s["id"], status="stored", status_message="", new_file_id=node["id"]
    )
    emit_file_event(emu, action, node, s["id"])


def _concat(paths: list[Path], dest: Path) -> Received:
    """Concatenate chunk files into dest, hashing as it goes (runs in a thread)."""
    sink = Sink(dest, None, "file", set())
    try:
        for p in paths:
            with p.open("rb") as fh:
                while data := fh.read(1024 * 1024):
                    sink.write(data)
    except BaseException:
        sink.discard()
        raise
    return sink.finish()


async def assemble(emu: Emulator, sid: str, fail_with: str | None) -> None:
    """Build the stored file from a completed session's chunks, in the background."""
    tmp: Path | None = None
    try:
        if emu.config.assembly_delay:
            await asyncio.sleep(emu.config.assembly_delay)
        s = emu.store.get_session(sid)
        if s is None:
            return
        if fail_with == "assembly_failed":
            raise RuntimeError("injected fault")
        paths = [emu.store.chunk_path(sid, c["ord"]) for c in emu.store.chunks(sid)]
        tmp = emu.store.tmp_path()
        received = await asyncio.to_thread(_concat, paths, tmp)
        s = emu.store.get_session(sid)
        if s is None:
            received.path.unlink(missing_ok=True)
            return
        if received.size != s["size"]:
            raise RuntimeError("assembled size differs from the declared size")
        commit_file(emu, s, received, fail_with)
        emu.store.drop_chunk_bytes(sid)
    except asyncio.CancelledError:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        raise
    except Exception as exc:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        if emu.store.get_session(sid) is not None:
            emu.store.update_session(
                sid, status="assembly_failed", status_message=str(exc)
            )
    emu.notifier.notify()


# Create --------------------------------------------------------------------


async def _read_create_form(request: web.Request) -> Form:
    """Read the create call's fields from query, urlencoded or multipart body."""
    emu = request.app[EMU]
    if request.content_type == "multipart/form-data":

        def make_sink() -> Sink:
            algos = {a for a in HASH_ALGOS if a == request.query.get("hash_algo")}
            return Sink(emu.store.tmp_path(), SINGLE_CALL_MAX, "chunk", algos)

        form = await read_multipart(request, "chunk", make_sink)
    else:
        form = Form()
        if request.can_read_body:
            post = await request.post()
            form.fields.update({k: str(v) for k, v in post.items()})
    for key, value in request.query.items():
        form.fields.setdefault(key, value)
    return form


def _size_field(raw: str | None, name: str, required: bool) -> int | None:
    """Parse a non-negative byte count."""
    if raw is None or raw == "":
        if required:
            raise invalid(name, "required")
        return None
    try:
        value = int(raw)
    except ValueError:
        raise invalid(name, "must be a non-negative integer") from None
    if value < 0:
        raise invalid(name, "must be a non-negative integer")
    return value


def _validate_create(emu: Emulator, f: dict[str, str]) -> dict[str, Any]:
    """Check the create fields; return the session columns they define."""
    action = f.get("action")
    if action not in ("create", "update"):
        raise invalid("action", "must be 'create' or 'update'")
    name = params.file_name(f.get("name"))
    stream = params.bool_param(f, "stream")
    size = _size_field(f.get("size"), "size", required=not stream)
    max_size = _size_field(f.get("max_size"), "max_size", required=False)
    limit = emu.config.max_file_size
    if max_size is not None:
        if not stream:
            raise invalid("max_size", "only allowed with stream=true")
        if max_size == 0:
            raise invalid("max_size", "must be at least 1")
        if max_size > limit:
            raise ApiError(
                413, TOO_LARGE, f"max_size exceeds the plan limit of {limit}"
            )
        if size and size > max_size:
            raise invalid("size", "larger than max_size")
    if size is not None and size > limit:
        raise ApiError(413, TOO_LARGE, f"size exceeds the plan limit of {limit}")
    cols: dict[str, Any] = {
        "action": action,
        "name": name,
        "size": size,
        "stream": int(stream),
        "max_size": max_size,
        "instance_id": params.instance_id(f.get("instance_id")),
        "file_id": None,
    }
    if action == "update":
        file_id = f.get("file_id")
        if not file_id:
            raise invalid("file_id", "required when action=update")
        node = emu.store.get_file(file_id)
        if node is None:
            raise not_found("File")
        cols.update(
            file_id=file_id,
            profile_type=node["profile_type"],
            folder_id=node["folder_id"],
        )
    else:
        profile = f.get("profile_type")
        if profile not in ("workspace", "share"):
            raise invalid("profile_type", "must be 'workspace' or 'share'")
        cols.update(
            profile_type=profile, folder_id=params.folder_id(f.get("folder_id"))
        )
    return cols


async def create(request: web.Request) -> web.Response:
    """POST /current/upload/: open a session, or store a small file at once."""
    emu = request.app[EMU]
    form = await _read_create_form(request)
    received = form.file
    try:
        f = form.fields
        cols = _validate_create(emu, f)
        if received is not None:
            if cols["stream"]:
                raise invalid("chunk", "not allowed on a stream session")
            if received.size != cols["size"]:
                raise _size_mismatch(
                    f"Declared size {cols['size']} but received {received.size} bytes"
                )
            validate_algo(f.get("hash"), f.get("hash_algo"))
            if not check_hash(received, f.get("hash"), f.get("hash_algo")):
                raise _hash_mismatch()
    except BaseException:
        if received is not None:
            received.path.unlink(missing_ok=True)
        raise
    s = emu.store.create_session(owner=request["owner"], **cols)
    if received is None:
        return ok({"id": s["id"]})
    emu.store.update_session(s["id"], bytes_received=received.size)
    commit_file(emu, s, received, request.get("fail_with"))
    s = emu.store.get_session(s["id"]) or s
    return ok({"id": s["id"], "new_file_id": s["new_file_id"], "status": s["status"]})


# Chunks --------------------------------------------------------------------


def _order(raw: str | None, emu: Emulator) -> int:
    """Parse a chunk order (1-based, at most max_chunks)."""
    return params.int_param(
        {"order": raw or ""}, "order", None, 1, emu.config.max_chunks
    )


async def put_chunk(request: web.Request) -> web.Response:
    """POST /current/upload/{id}/chunk/?order=N&size=B: store one chunk."""
    emu = request.app[EMU]
    s = _session(request)
    if s["stream"]:
        raise _wrong_mode(True)
    if s["status"] not in OPEN:
        raise _bad_state(s)
    q = request.query
    if q.get("order"):
        _order(q["order"], emu)
    algo = q.get("hash_algo")

    def make_sink() -> Sink:
        algos = {algo} if algo in HASH_ALGOS else set()
        return Sink(emu.store.tmp_path(), emu.config.max_chunk_size, "chunk", algos)

    if request.content_type != "multipart/form-data":
        raise invalid("chunk", "send the bytes as multipart/form-data field 'chunk'")
    form = await read_multipart(request, "chunk", make_sink)
    received = form.file
    try:
        f = {**form.fields, **q}
        if received is None:
            raise invalid("chunk", "required multipart file field")
        order = _order(f.get("order"), emu)
        if received.size == 0:
            raise invalid("chunk", "empty chunk")
        declared = _size_field(f.get("size"), "size", required=False)
        if declared is not None and declared != received.size:
            raise _size_mismatch(
                f"Chunk {order} declared {declared} bytes but {received.size} arrived"
            )
        validate_algo(f.get("hash"), f.get("hash_algo"))
        if not check_hash(received, f.get("hash"), f.get("hash_algo")):
            raise _hash_mismatch()
        # The session may have been cancelled or completed while bytes arrived.
        s = _session(request)
        if s["status"] not in OPEN:
            raise _bad_state(s)
    except BaseException:
        if received is not None:
            received.path.unlink(missing_ok=True)
        raise
    sha = received.digests["sha256"]
    emu.store.put_chunk(s["id"], order, received.size, sha, received.path)
    total = sum(c["size"] for c in emu.store.chunks(s["id"]))
    emu.store.update_session(s["id"], status="uploading", bytes_received=total)
    emu.notifier.notify()
    return ok({"chunk": {"order": order, "size": received.size, "sha256": sha}})


def _chunk_info(c: dict[str, Any]) -> dict[str, Any]:
    return {
        "order": c["ord"],
        "size": c["size"],
        "sha256": c["sha256"],
        "received": iso(c["received"]),
    }


async def get_chunk(request: web.Request) -> web.Response:
    """GET /current/upload/{id}/chunk/[?order=N]: one chunk or the chunk map."""
    emu = request.app[EMU]
    s = _session(request)
    chunks = emu.store.chunks(s["id"])
    if not request.query.get("order"):
        return ok({"chunks": {str(c["ord"]): c["size"] for c in chunks}})
    order = _order(request.query["order"], emu)
    for c in chunks:
        if c["ord"] == order:
            return ok({"chunk": _chunk_info(c)})
    raise not_found(f"Chunk {order}")


async def delete_chunk(request: web.Request) -> web.Response:
    """DELETE /current/upload/{id}/chunk/?order=N: drop one chunk."""
    emu = request.app[EMU]
    s = _session(request)
    if s["stream"]:
        raise _wrong_mode(True)
    if s["status"] not in OPEN:
        raise _bad_state(s)
    order = _order(request.query.get("order"), emu)
    if not emu.store.delete_chunk(s["id"], order):
        raise not_found(f"Chunk {order}")
    chunks = emu.store.chunks(s["id"])
    emu.store.update_session(s["id"], bytes_received=sum(c["size"] for c in chunks))
    emu.notifier.notify()
    return ok({"chunks": {str(c["ord"]): c["size"] for c in chunks}})


# Complete, stream ----------------------------------------------------------


async def complete(request: web.Request) -> web.Response:
    """POST /current/upload/{id}/complete/: check chunks, then assemble."""
    emu = request.app[EMU]
    s = _session(request)
    if s["stream"]:
        raise _wrong_mode(True)
    if s["status"] not in OPEN:
        raise _bad_state(s)
    chunks = emu.store.chunks(s["id"])
    orders = [c["ord"] for c in chunks]
    if orders != list(range(1, len(orders) + 1)):
        missing = sorted(set(range(1, max(orders, default=0) + 1)) - set(orders))
        raise _size_mismatch(f"Chunks are not contiguous; missing orders {missing}")
    total = sum(c["size"] for c in chunks)
    if total != s["size"]:
        raise _size_mismatch(
            f"Chunks total {total} bytes but the session declared {s['size']}"
        )
    minimum = emu.config.min_chunk_size
    for c in chunks[:-1]:
        if c["size"] < minimum:
            raise invalid(
                f"chunk {c['ord']}",
                f"only the last chunk may be smaller than {minimum} bytes",
            )
    emu.store.update_session(s["id"], status="assembling", status_message="")
    emu.notifier.notify()
    emu.spawn(assemble(emu, s["id"], request.get("fail_with")))
    return _session_answer(emu, s["id"])


async def stream(request: web.Request) -> web.StreamResponse:
    """POST /current/upload/{id}/stream/: take the whole file as a raw body."""
    emu = request.app[EMU]
    s = _session(request)
    if not s["stream"]:
        raise _wrong_mode(False)
    if s["status"] != "ready":
        raise _bad_state(s)
    q = request.query
    validate_algo(q.get("hash"), q.get("hash_algo"))
    cap = s["max_size"] or emu.config.max_file_size
    declared = s["size"] or None
    limit = min(cap, declared) if declared else cap
    algo = (q.get("hash_algo") or "sha256").lower()
    sink = Sink(emu.store.tmp_path(), limit, "stream", {algo} & set(HASH_ALGOS))
    emu.store.update_session(s["id"], status="uploading", bytes_received=0)
    emu.notifier.notify()
    try:
        received = await read_raw(request, sink)
        if declared and received.size != declared:
            received.path.unlink(missing_ok=True)
            raise _size_mismatch(
                f"Declared size {declared} but received {received.size} bytes"
            )
        if not check_hash(received, q.get("hash"), q.get("hash_algo")):
            received.path.unlink(missing_ok=True)
            raise _hash_mismatch()
    except ApiError as err:
        _reopen(emu, s["id"], sink.size)
        if err.code == TOO_LARGE and declared and limit == declared:
            err = _size_mismatch(f"More than the declared {declared} bytes arrived")
        if err.status == 413 or err.code == SIZE_MISMATCH:
            # Stop reading the rest of an oversized body.
            err.headers["Connection"] = "close"
        raise err from None
    except BaseException:
        _reopen(emu, s["id"], sink.size)
        raise
    current = emu.store.get_session(s["id"])
    if current is None:
        received.path.unlink(missing_ok=True)
        raise not_found("Upload session")
    emu.store.update_session(s["id"], bytes_received=received.size)
    commit_file(emu, current, received, request.get("fail_with"))
    return _session_answer(emu, s["id"])


def _reopen(emu: Emulator, sid: str, got: int) -> None:
    """Put a failed stream session back to ready so the client may retry."""
    if emu.store.get_session(sid) is not None:
        emu.store.update_session(sid, status="ready", bytes_received=got)
        emu.notifier.notify()


# Details, list, cancel, limits ---------------------------------------------


async def details(request: web.Request) -> web.Response:
    """GET /current/upload/{id}/details/?wait=S: session state, long-polled."""
    emu = request.app[EMU]
    wait = params.wait_param(request.query, WAIT_CAP)
    s = _session(request)
    start = s["status"]
    if wait and start not in TERMINAL:

        def changed() -> bool:
            now = emu.store.get_session(s["id"])
            return now is None or now["status"] != start

        await emu.notifier.wait_until(changed, wait)
    return _session_answer(emu, _session(request)["id"])


async def list_sessions(request: web.Request) -> web.Response:
    """GET /current/upload/details/: the caller's sessions."""
    emu = request.app[EMU]
    rows = emu.store.list_sessions(request["owner"])
    return ok({"sessions": [session_view(emu, s) for s in rows]})


async def cancel(request: web.Request) -> web.Response:
    """DELETE /current/upload/{id}/: cancel (or reap) a session."""
    emu = request.app[EMU]
    s = _session(request)
    emu.store.delete_session(s["id"])
    emu.notifier.notify()
    return ok({"id": s["id"], "cancelled": True})


async def cancel_all(request: web.Request) -> web.Response:
    """DELETE /current/upload/: cancel every session of the caller."""
    emu = request.app[EMU]
    rows = emu.store.list_sessions(request["owner"])
    for s in rows:
        emu.store.delete_session(s["id"])
    emu.notifier.notify()
    return ok({"cancelled": len(rows)})


async def limits(request: web.Request) -> web.Response:
    """GET /current/upload/limits/: the limits this emulator enforces."""
    cfg = request.app[EMU].config
    return ok(
        {
            "limits": {
                "chunk_size_min": cfg.min_chunk_size,
                "chunk_size_max": cfg.max_chunk_size,
                "max_file_size": cfg.max_file_size,
                "max_chunks": cfg.max_chunks,
                "single_call_max_size": SINGLE_CALL_MAX,
                "max_chunks_in_flight": 3,
            }
        }
    )


async def algos(request: web.Request) -> web.Response:
    """GET /current/upload/algos/: supported integrity hash algorithms."""
    return ok({"algos": list(HASH_ALGOS)})
