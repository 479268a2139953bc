"""Builds the aiohttp application: routes, middlewares, start-up and shutdown."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from . import control, events, search, storage, uploads
from .config import Config
from .middleware import PIPELINE
from .state import EMU, Emulator
from .webhooks import Webhooks

UP = "/current/upload/{upload_id}"
CTX = "/current/{ctx:workspace|share}/{instance_id}/storage"
ALIAS = "/current/storage/{node_id}"

ROUTES = [
    ("POST", "/current/upload/", uploads.create),
    ("DELETE", "/current/upload/", uploads.cancel_all),
    ("GET", "/current/upload/details/", uploads.list_sessions),
    ("GET", "/current/upload/limits/", uploads.limits),
    ("GET", "/current/upload/algos/", uploads.algos),
    ("DELETE", f"{UP}/", uploads.cancel),
    ("GET", f"{UP}/details/", uploads.details),
    ("POST", f"{UP}/chunk/", uploads.put_chunk),
    ("GET", f"{UP}/chunk/", uploads.get_chunk),
    ("DELETE", f"{UP}/chunk/", uploads.delete_chunk),
    ("POST", f"{UP}/complete/", uploads.complete),
    ("POST", f"{UP}/stream/", uploads.stream),
    ("GET", "/current/events/search/", events.search),
    ("GET", "/current/activity/poll/{entity_id}/", events.poll),
    ("GET", f"{CTX}/search/", search.search),
    ("GET", f"{CTX}/{{folder_id}}/list/", storage.list_folder),
    ("GET", f"{CTX}/{{node_id}}/details/", storage.details),
    ("GET", f"{CTX}/{{node_id}}/requestread/", storage.request_read),
    ("POST", f"{CTX}/{{node_id}}/requestread/", storage.request_read),
    ("GET", f"{CTX}/{{node_id}}/read/", storage.read),
    ("DELETE", f"{CTX}/{{node_id}}/delete/", storage.delete),
    ("DELETE", f"{CTX}/{{node_id}}/", storage.delete),
    # Emulator-only shorthands without the workspace/share prefix.
    ("GET", f"{ALIAS}/details/", storage.details),
    ("GET", f"{ALIAS}/requestread/", storage.request_read),
    ("POST", f"{ALIAS}/requestread/", storage.request_read),
    ("GET", f"{ALIAS}/read/", storage.read),
    ("DELETE", f"{ALIAS}/", storage.delete),
]


def add_api_routes(app: web.Application) -> None:
    """Register every API route with and without its trailing slash."""
    for method, path, handler in ROUTES:
        for variant in (path, path.rstrip("/")):
            if method == "GET":
                app.router.add_get(variant, handler)
            else:
                app.router.add_route(method, variant, handler)


def build_app(config: Config, data_dir: Path) -> web.Application:
    """Create the application with its state, routes and lifecycle hooks."""
    app = web.Application(middlewares=PIPELINE)
    emu = Emulator(config, data_dir)
    app[EMU] = emu
    add_api_routes(app)
    control.add_routes(app)

    async def start(app: web.Application) -> None:
        emu.webhooks = Webhooks(emu)
        await emu.webhooks.start()

    async def release_pollers(app: web.Application) -> None:
        # Long-polls answer at once instead of holding up the shutdown.
        emu.notifier.close()

    async def stop(app: web.Application) -> None:
        await emu.cancel_tasks()
        if emu.webhooks is not None:
            await emu.webhooks.close()
        emu.store.close()

    app.on_startup.append(start)
    app.on_shutdown.append(release_pollers)
    app.on_cleanup.append(stop)
    return app
