"""Worker entry: the route table and the one handler both runtimes call.

Today's Python Workers runtime calls ``Default.fetch``; the offline runtime
pinned for development (workerd 1.20241106, see README) has no ``workers``
module and calls the module-level ``on_fetch``. Both land in ``handle``.
"""

from __future__ import annotations

import traceback
import uuid
from urllib.parse import urlsplit

import auth
import health
import polling
import records
import tus
import uploads
import webhooks
from call import Call
from config import Config
from cors import cors_headers
from ffi import make_response, problem_response
from problems import HTTPError
from reqlog import RequestLog, redact
from router import Route, match

# The route table: every path the Worker serves. Public routes skip the JWT
# check (webhooks carry their own signature).
ROUTES = (
    Route("GET", "/healthz", health.healthz, public=True),
    Route("GET", "/whoami", auth.whoami),
    Route("PUT", "/files/{name}", uploads.put_file),
    Route("GET", "/uploads/{id}", uploads.get_upload),
    Route("POST", "/uploads/direct", tus.direct),
    # tus 1.0: OPTIONS is public by the protocol; a signed URL is its own
    # credential, checked by the handler.
    Route("OPTIONS", "/tus/", tus.options, public=True),
    Route("POST", "/tus/", tus.create),
    Route("OPTIONS", "/tus/{id}", tus.options, public=True),
    Route("HEAD", "/tus/{id}", tus.head),
    Route("PATCH", "/tus/{id}", tus.patch),
    Route("DELETE", "/tus/{id}", tus.delete),
    Route("OPTIONS", "/tus/s/{token}", tus.options, public=True),
    Route("HEAD", "/tus/s/{token}", tus.signed_head, public=True),
    Route("PATCH", "/tus/s/{token}", tus.signed_patch, public=True),
    Route("DELETE", "/tus/s/{token}", tus.signed_delete, public=True),
    Route("POST", "/webhooks/fastio", webhooks.receive, public=True),
    Route("GET", "/files", records.list_files),
    Route("GET", "/events", records.list_events),
    Route("GET", "/search", records.search),
    Route("POST", "/admin/poll", records.poll_now),
)


async def handle(request, env, ctx) -> object:
    """Route one request, turn failures into problem+json, log one line."""
    request_id = request.headers.get("cf-ray") or uuid.uuid4().hex[:16]
    log = RequestLog(request_id, request.method)
    config = Config(env)
    url = urlsplit(request.url)
    call = Call(request, env, ctx, config, url, log)

    try:
        response = await _dispatch(call)
    except HTTPError as err:
        response = problem_response(err, instance=url.path)
        if err.status >= 500:
            log.set(error=err.detail)
    except Exception as exc:  # the last line of defence: never a bare 500
        log.set(error=redact(f"{type(exc).__name__}: {exc}"))
        print(redact(traceback.format_exc()))
        response = problem_response(HTTPError(500), instance=url.path)

    _add_cors(call, response)
    response.headers.set("X-Request-Id", request_id)
    print(log.line(response.status))
    return response


async def _dispatch(call: Call) -> object:
    method = call.request.method
    if method == "OPTIONS" and call.header("Access-Control-Request-Method"):
        call.log.set(route="preflight")
        return make_response(None, 204)

    try:
        route, params = match(ROUTES, method, call.url.path)
    except HTTPError as err:
        if method == "OPTIONS" and err.status == 405:
            # RFC 9110 §9.3.7: OPTIONS on a known path says what it allows.
            call.log.set(route="options")
            allow = err.headers["Allow"] + ", OPTIONS"
            return make_response(None, 204, {"Allow": allow})
        raise
    call.log.set(route=route.name)
    call.params = params
    if not route.public:
        # Before anything reads the body: a request without a valid token
        # costs the Worker its headers only.
        call.principal = await auth.authenticate(call)
        call.log.set(uploader=call.principal.sub)
    return await route.handler(call)


def _add_cors(call: Call, response) -> None:
    try:
        allowed = call.config.items("ALLOWED_ORIGINS")
        max_age = call.config.integer("CORS_MAX_AGE")
    except HTTPError:
        allowed, max_age = [], 0
    preflight = call.log.fields.get("route") == "preflight"
    for name, value in cors_headers(
        call.header("Origin"), allowed, preflight=preflight, max_age=max_age
    ).items():
        response.headers.set(name, value)


async def on_fetch(request, env, ctx):
    """Module-level handler for the offline runtime (no ``workers`` module)."""
    return await handle(request, env, ctx)


async def on_scheduled(controller, env, ctx):
    """Cron Trigger: the webhook polling fallback. The offline runtime never
    calls this (only fetch reaches Python there); ``POST /admin/poll`` runs
    the same function."""
    await polling.poll_events(env)


try:
    from workers import WorkerEntrypoint
except ImportError:  # workerd 1.20241106 (local development and tests)
    WorkerEntrypoint = None

if WorkerEntrypoint is not None:

    class Default(WorkerEntrypoint):
        """Entry point for today's Python Workers runtime."""

        async def fetch(self, request):
            return await handle(request, self.env, self.ctx)

        async def scheduled(self, controller, env=None, ctx=None):
            await polling.poll_events(self.env if env is None else env)
