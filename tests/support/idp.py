"""A local identity provider for tests: serves a JWKS the tests control.

Runs on its own thread (not the test event loop), so the Worker can fetch
keys while a test awaits the Worker's answer. Any path ending in
``/jwks.json`` serves the same keys, so a test can give a Worker a JWKS URL of
its own (``idp.url("rotation")``) and count that Worker's fetches alone.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


class IdentityProvider:
    """Serves ``/jwks.json`` and counts how often it was fetched."""

    def __init__(self) -> None:
        self.keys: list[dict] = []
        self.fetches = 0
        self.fetched_paths: list[str] = []
        self.delay = 0.0
        self.status = 200  # anything else is answered with an error page
        self.body: bytes | None = None  # served instead of the JWKS when set
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def jwks_url(self) -> str:
        return self.url()

    def url(self, name: str = "") -> str:
        """A JWKS URL; each ``name`` is counted apart by ``fetches_of``."""
        assert self._server is not None
        host, port = self._server.server_address[:2]
        prefix = f"/{name}" if name else ""
        return f"http://{host}:{port}{prefix}/jwks.json"

    def fetches_of(self, name: str) -> int:
        path = urlsplit(self.url(name)).path
        with self._lock:
            return self.fetched_paths.count(path)

    def start(self) -> None:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                if not path.endswith("/jwks.json"):
                    self.send_error(404)
                    return
                with provider._lock:
                    provider.fetches += 1
                    provider.fetched_paths.append(path)
                if provider.delay:
                    time.sleep(provider.delay)
                if provider.status != 200:
                    self.send_error(provider.status)
                    return
                body = provider.body
                if body is None:
                    body = json.dumps({"keys": provider.keys}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
