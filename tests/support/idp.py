"""A local identity provider for tests: serves a JWKS the tests control.

Runs on its own thread (not the test event loop), so the Worker can fetch
keys while a test awaits the Worker's answer.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class IdentityProvider:
    """Serves ``/jwks.json`` and counts how often it was fetched."""

    def __init__(self) -> None:
        self.keys: list[dict] = []
        self.fetches = 0
        self.delay = 0.0
        self._server: ThreadingHTTPServer | None = None

    @property
    def jwks_url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/jwks.json"

    def start(self) -> None:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path != "/jwks.json":
                    self.send_error(404)
                    return
                provider.fetches += 1
                if provider.delay:
                    import time

                    time.sleep(provider.delay)
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
