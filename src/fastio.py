"""Client for Fast.io's HTTP API (https://api.fast.io/current/).

Exceptions, all carrying the upstream HTTP status and Fast.io error code::

    FastioError                 any failure talking to Fast.io
    ├── FastioUnavailable       connection failed, or a 5xx answer
    ├── FastioTimeout           no answer within the configured time
    ├── FastioRateLimited       429; ``retry_after`` from x-ve-limit-expires
    ├── FastioAuthError         401/403: the gateway's own key is refused
    └── FastioRejected          any other error envelope (bad input, ...)
        └── FastioNotFound      1609 / 404

``http_error`` is the one place these become responses for our clients.
Idempotent calls are retried with backoff and jitter; a call whose body is a
stream is never retried (its bytes are gone).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from urllib.parse import urlencode

from js import AbortController, Uint8Array, crypto, fetch
from pyodide.ffi import JsException

from ffi import js_object
from problems import HTTPError

# Codes Fast.io documents (see docs/fastio-api.md for the whole list).
NOT_FOUND = 1609
SIZE_MISMATCH = 10522
HASH_MISMATCH = 10778
DEFAULT_RETRY_AFTER = 60  # what Fast.io's CLI waits when no expiry is given


class FastioError(Exception):
    """A failed call to Fast.io."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: int | None = None,
        error_code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.error_code = error_code


class FastioUnavailable(FastioError):
    """Fast.io could not be reached, or answered with a server error."""


class FastioTimeout(FastioError):
    """Fast.io did not answer in time."""


class FastioRateLimited(FastioError):
    """Fast.io's rate limit is exhausted until ``retry_after`` seconds pass."""

    def __init__(self, message: str, *, retry_after: int, **kw: object) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class FastioAuthError(FastioError):
    """Fast.io refused the gateway's API key: a deployment fault."""


class FastioRejected(FastioError):
    """Fast.io refused the request (invalid input, conflict, hash mismatch...)."""


class FastioNotFound(FastioRejected):
    """The session, chunk or file does not exist (any more)."""


def timed_out(seconds: float) -> FastioTimeout:
    return FastioTimeout(f"no progress within {seconds:g} s")


def unreachable(detail: object) -> FastioUnavailable:
    return FastioUnavailable(f"connection failed: {detail}")


def retry_after_from(headers: object, now: float | None = None) -> int:
    """Seconds until Fast.io's window resets, from ``x-ve-limit-expires``."""
    raw = headers.get("x-ve-limit-expires")
    try:
        expires = int(float(raw))
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER
    return max(1, expires - int(now if now is not None else time.time()))


def error_from_envelope(status: int, body: object, headers: object) -> FastioError:
    """The exception for a non-success answer (any status, parsed body or None)."""
    error = body.get("error") if isinstance(body, dict) else None
    error = error if isinstance(error, dict) else {}
    try:
        code = int(error.get("code")) if error.get("code") is not None else None
    except (TypeError, ValueError):
        code = None
    text = str(error.get("text") or f"HTTP {status}")
    kw = {"status": status, "code": code, "error_code": error.get("error_code")}

    if status == 429:
        return FastioRateLimited(text, retry_after=retry_after_from(headers), **kw)
    if status in (401, 403):
        return FastioAuthError(text, **kw)
    if status >= 500:
        return FastioUnavailable(text, **kw)
    if status == 404 or code == NOT_FOUND:
        return FastioNotFound(text, **kw)
    return FastioRejected(text, **kw)


def http_error(exc: FastioError) -> HTTPError:
    """What our client sees for a Fast.io failure.

    The gateway's own credential problems are never shown: they are a
    configuration fault (logged), and the client gets a plain 502.
    """
    upstream = {"upstream_status": exc.status, "upstream_code": exc.code}
    if isinstance(exc, FastioRateLimited):
        return HTTPError(
            429,
            "The storage service is rate limiting this gateway; retry later.",
            code="upstream-rate-limited",
            headers={"Retry-After": str(exc.retry_after)},
            **upstream,
        )
    if isinstance(exc, FastioTimeout):
        return HTTPError(504, "The storage service did not answer in time.",
                         code="upstream-timeout")  # fmt: skip
    if isinstance(exc, FastioAuthError):
        return HTTPError(502, "The storage service refused the gateway.",
                         code="upstream-misconfigured")  # fmt: skip
    if isinstance(exc, FastioUnavailable):
        return HTTPError(502, "The storage service is unavailable.",
                         code="upstream-unavailable", **upstream)  # fmt: skip
    return HTTPError(502, f"The storage service refused the request: {exc}",
                     code="upstream-rejected", **upstream)  # fmt: skip


class Fastio:
    """A Fast.io API client bound to one base URL and API key."""

    def __init__(
        self, base_url: str, api_key: str, *, timeout: float = 30, retries: int = 2
    ) -> None:
        self.base_url = base_url
        self._auth = f"Bearer {api_key}"
        self.timeout = timeout
        self.retries = retries
        # The last upstream HTTP status seen, for the request's log line.
        self.last_status: int | None = None

    @classmethod
    def from_config(cls, config) -> Fastio:
        return cls(
            config.fastio_base_url(),
            config.require("FASTIO_API_KEY"),
            timeout=config.number("UPSTREAM_TIMEOUT_SECONDS"),
            retries=config.integer("UPSTREAM_RETRIES"),
        )

    def url(self, path: str, query: dict | None = None) -> str:
        url = self.base_url + path.lstrip("/")
        return f"{url}?{urlencode(query)}" if query else url

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {"Authorization": self._auth, **(extra or {})}

    # -- one call ---------------------------------------------------------

    async def call(
        self,
        method: str,
        path: str,
        *,
        query: dict | None = None,
        form: dict | None = None,
        idempotent: bool = False,
        timeout: float | None = None,
    ) -> dict:
        """The ``response`` member of a successful envelope; raises otherwise."""
        attempts = 1 + (self.retries if idempotent else 0)
        for attempt in range(attempts):
            try:
                return await self._call_once(method, path, query, form, timeout)
            except (FastioUnavailable, FastioTimeout):
                if attempt + 1 >= attempts:
                    raise
            # Full jitter (AWS architecture blog, "Exponential Backoff and
            # Jitter"): spreads retries from many isolates apart.
            await asyncio.sleep(random.uniform(0, min(2.0, 0.2 * 2**attempt)))
        raise AssertionError("unreachable")

    async def _call_once(self, method, path, query, form, timeout) -> dict:
        init: dict = {"method": method, "headers": self.headers()}
        if form is not None:
            init["body"] = urlencode(form)
            init["headers"]["Content-Type"] = "application/x-www-form-urlencoded"
        return await self.send(self.url(path, query), init, timeout=timeout)

    async def send(self, url: str, init: dict, *, timeout: float | None = None):
        """Fetch ``url`` with ``init`` (may carry a ``signal``) and unwrap it."""
        controller = None
        if "signal" not in init:
            controller = AbortController.new()
            init["signal"] = controller.signal
        limit = timeout or self.timeout
        try:
            return await asyncio.wait_for(self._fetch_json(url, init), limit)
        except TimeoutError:
            if controller is not None:
                controller.abort()
            raise FastioTimeout(f"no answer within {limit:g} s") from None

    async def _fetch_json(self, url: str, init: dict) -> dict:
        try:
            response = await fetch(url, js_object(init))
            text = await response.text()
        except JsException as exc:
            raise FastioUnavailable(f"connection failed: {exc}") from exc
        return self.unwrap(response.status, text, response.headers)

    async def read(self, response_or_task: object) -> dict:
        """Unwrap a JS Response, or a finished task that fetched one."""
        try:
            response = response_or_task
            if isinstance(response, asyncio.Future):
                response = response.result()
            text = await response.text()
        except JsException as exc:
            raise FastioUnavailable(f"connection failed: {exc}") from exc
        return self.unwrap(response.status, text, response.headers)

    def unwrap(self, status: int, text: str, headers: object) -> dict:
        self.last_status = status
        try:
            body = json.loads(text) if text else None
        except ValueError:
            body = None
        ok = isinstance(body, dict) and body.get("result") in ("yes", True, "true")
        if 200 <= status < 300 and ok:
            response = body.get("response")
            return response if isinstance(response, dict) else {}
        if 200 <= status < 300:
            raise FastioUnavailable(f"unexpected answer (HTTP {status})", status=status)
        raise error_from_envelope(status, body, headers)

    # -- uploads -----------------------------------------------------------

    async def create_upload(
        self,
        *,
        name: str,
        size: int | None,
        instance_id: str,
        folder_id: str,
        profile_type: str,
        stream: bool = False,
        max_size: int | None = None,
    ) -> str:
        """Open an upload session; its id."""
        form = {
            "action": "create",
            "name": name,
            "instance_id": instance_id,
            "folder_id": folder_id,
            "profile_type": profile_type,
        }
        if size is not None:
            form["size"] = str(size)
        if stream:
            form["stream"] = "true"
        if max_size is not None:
            form["max_size"] = str(max_size)
        # Retrying a create can at worst leave an unused session behind,
        # which Fast.io expires; a lost upload would be worse.
        response = await self.call("POST", "upload/", form=form, idempotent=True)
        session_id = response.get("id")
        if not session_id:
            raise FastioUnavailable("upload session created without an id")
        return str(session_id)

    async def details(self, session_id: str, *, wait: int = 0) -> dict:
        """The session (status, new_file_id, chunks), long-polled up to ``wait``."""
        query = {"wait": str(wait)} if wait else None
        response = await self.call(
            "GET",
            f"upload/{session_id}/details/",
            query=query,
            idempotent=True,
            timeout=self.timeout + wait,
        )
        return session_of(response)

    async def cancel(self, session_id: str) -> None:
        """Cancel a session; a session already gone is not an error."""
        with contextlib.suppress(FastioNotFound):
            await self.call("DELETE", f"upload/{session_id}/", idempotent=True)

    async def sha256_of_file(
        self, profile_type: str, instance_id: str, node_id: str, size: int
    ) -> bytes:
        """Read a stored file back and hash it (the bytes never enter Python:
        the download is piped natively into a DigestStream)."""
        base = f"{profile_type}/{instance_id}/storage/{node_id}"
        grant = await self.call("GET", f"{base}/requestread/", idempotent=True)
        url = self.url(f"{base}/read/", {"token": str(grant.get("token", ""))})
        # Allow for the transfer itself: 16 MiB/s is a floor, not a promise.
        limit = self.timeout + size / (16 * 1024 * 1024)
        try:
            return await asyncio.wait_for(self._hash_download(url), limit)
        except TimeoutError:
            raise FastioTimeout(f"download not finished within {limit:g} s") from None

    async def _hash_download(self, url: str) -> bytes:
        try:
            response = await fetch(url, js_object({"headers": self.headers()}))
            if response.status != 200:
                text = await response.text()
                self.unwrap(response.status, text, response.headers)
                raise FastioUnavailable(f"download answered {response.status}")
            digest = crypto.DigestStream.new("SHA-256")
            await response.body.pipeTo(digest)
            return Uint8Array.new(await digest.digest).to_bytes()
        except JsException as exc:
            raise FastioUnavailable(f"download failed: {exc}") from exc

    # -- events and search -------------------------------------------------

    async def search_events(self, query: dict) -> dict:
        """A page of ``GET /current/events/search/`` (limit/offset/after)."""
        return await self.call("GET", "events/search/", query=query, idempotent=True)

    async def search_storage(
        self, profile_type: str, instance_id: str, text: str, limit: int
    ) -> dict:
        """Semantic search over a workspace's (or share's) files."""
        return await self.call(
            "GET",
            f"{profile_type}/{instance_id}/storage/search/",
            query={"search": text, "limit": str(limit)},
            idempotent=True,
        )


def session_of(response: dict) -> dict:
    """The session object of a details/stream answer, with its chunks map."""
    session = response.get("session")
    session = dict(session) if isinstance(session, dict) else dict(response)
    chunks = session.get("chunks", response.get("chunks")) or {}
    session["chunks"] = chunks if isinstance(chunks, dict) else {}
    return session


STORED = "stored"
FAILED = ("assembly_failed", "store_failed")
