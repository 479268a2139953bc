"""Request pipeline: logging, injected faults, rate limiting, auth, error envelopes."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from .bodies import PIECE, BodyIncomplete
from .envelope import (
    INVALID_INPUT,
    RATE_LIMITED,
    SERVER_ERROR,
    TOO_LARGE,
    UNAUTHORIZED,
    UNKNOWN_ROUTE,
    ApiError,
    fail,
    from_error,
)
from .faults import KINDS
from .ratelimit import limit_headers
from .state import EMU

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
log = logging.getLogger("fastio_emulator")

CONTROL = "/_emulator"
API = "/current/"


def _is_control(request: web.Request) -> bool:
    return request.path == CONTROL or request.path.startswith(CONTROL + "/")


def _is_api(request: web.Request) -> bool:
    return request.path.startswith(API) or request.path == API.rstrip("/")


def _bearer(request: web.Request) -> str | None:
    """Return the Bearer credential, if any."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


@web.middleware
async def request_log(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Record every non-control request (never credential values)."""
    if _is_control(request):
        return await handler(request)
    status: int | str = "error"
    try:
        resp = await handler(request)
        status = "dropped" if request.get("dropped") else resp.status
        return resp
    finally:
        query = {k: ("***" if k == "token" else v) for k, v in request.query.items()}
        request.app[EMU].reqlog.add(
            method=request.method,
            path=request.path,
            query=query,
            status=status,
            bytes_received=getattr(request.content, "total_bytes", 0),
            content_length=request.content_length,
            auth_present="Authorization" in request.headers,
            fault=request.get("fault"),
        )


async def _drop(request: web.Request, after_bytes: int) -> web.StreamResponse:
    """Read some of the body, then abort the TCP connection without answering."""
    remaining = after_bytes
    try:
        while remaining > 0:
            data = await request.content.read(min(PIECE, remaining))
            if not data:
                break
            remaining -= len(data)
    except Exception:  # the client may already be gone; the drop happens anyway
        pass
    if request.transport is not None:
        request.transport.abort()
    request["dropped"] = True
    # Nothing reaches the client: the transport is gone.
    return web.Response(status=500)


@web.middleware
async def faults(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Apply the first injected fault whose pattern matches the request."""
    if _is_control(request):
        return await handler(request)
    emu = request.app[EMU]
    fault = emu.faults.take(f"{request.method} {request.path}", KINDS)
    if fault is None:
        return await handler(request)
    request["fault"] = fault.kind
    if fault.kind == "delay":
        await asyncio.sleep(fault.seconds)
    elif fault.kind == "status":
        return fail(fault.status, SERVER_ERROR, "Injected fault")
    elif fault.kind == "rate_limit":
        expires = time.time() + fault.seconds
        headers = limit_headers(0, emu.config.rate_limit, expires)
        return fail(429, RATE_LIMITED, "Rate limit exceeded", headers=headers)
    elif fault.kind == "drop":
        return await _drop(request, fault.after_bytes)
    else:
        # assembly_failed / store_failed: the upload handlers act on this.
        request["fail_with"] = fault.kind
    return await handler(request)


@web.middleware
async def rate_limit(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Count API requests per caller; answer 429 past the limit."""
    emu = request.app[EMU]
    limit = emu.config.rate_limit
    if not _is_api(request) or limit <= 0:
        return await handler(request)
    key = _bearer(request)
    caller = emu.owner_of(key) if key else f"ip:{request.remote}"
    allowed, headers = emu.limiter.hit(caller, limit, emu.config.rate_window)
    if not allowed:
        return fail(429, RATE_LIMITED, "Rate limit exceeded", headers=headers)
    resp = await handler(request)
    if not resp.prepared:
        resp.headers.update(headers)
    return resp


def _token_read(request: web.Request) -> bool:
    """A storage read carrying a download token needs no Bearer credential."""
    return (
        request.method in ("GET", "HEAD")
        and bool(request.query.get("token"))
        and request.path.rstrip("/").endswith("/read")
    )


@web.middleware
async def auth(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Require a known Bearer key on every /current/ route."""
    if not _is_api(request):
        return await handler(request)
    emu = request.app[EMU]
    key = _bearer(request)
    if key is not None and key in emu.config.api_keys:
        request["owner"] = emu.owner_of(key)
    elif not _token_read(request):
        text = "Authentication required" if key is None else "Invalid credentials"
        return fail(
            401, UNAUTHORIZED, text, headers={"WWW-Authenticate": 'Bearer realm="api"'}
        )
    return await handler(request)


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn exceptions into Fast.io error envelopes (plain JSON for control)."""
    try:
        return await handler(request)
    except ApiError as err:
        return from_error(err)
    except BodyIncomplete as exc:
        return fail(400, INVALID_INPUT, f"Request body incomplete: {exc}")
    except (web.HTTPNotFound, web.HTTPMethodNotAllowed):
        if _is_control(request):
            return web.json_response({"error": "not found"}, status=404)
        return fail(404, UNKNOWN_ROUTE, "Unknown route")
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = TOO_LARGE if exc.status == 413 else INVALID_INPUT
        return fail(exc.status, code, exc.reason)
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return fail(500, SERVER_ERROR, "Internal emulator error")


PIPELINE = [request_log, faults, rate_limit, auth, errors]
