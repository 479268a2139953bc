"""A chat-channel stand-in: counts the notification POSTs the Worker sends.

Runs on its own thread (not the test event loop), so the Worker can post to
it while a test awaits the Worker. Its answers can be made to fail, to test
an action that fails and is retried.
"""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

EVENT_ID = re.compile(r"\(event ([^)]+)\)")


class Receiver:
    """Accepts ``POST /notify`` with ``{"text": ...}``, answering ``status``."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.status = 200
        self.fail_next = 0  # answer 500 to this many requests first
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/notify"

    def per_event(self) -> Counter:
        """How many notifications named each event id."""
        with self._lock:
            found = (EVENT_ID.search(text) for text in self.messages)
            return Counter(m.group(1) for m in found if m)

    def count(self, event_id: str) -> int:
        return self.per_event()[event_id]

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: the Worker reuses sockets

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver._lock:
                    if receiver.fail_next > 0:
                        receiver.fail_next -= 1
                        status = 500
                    else:
                        status = receiver.status
                    if status < 300:
                        receiver.messages.append(json.loads(body)["text"])
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 256  # the default 5 resets bursts of posts

        self._server = Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
