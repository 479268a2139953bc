"""``PUT /files/{name}``: a streamed upload, inspected in flight.

The body goes from the client to a Fast.io stream session without ever being
held whole: it is read 1 MiB at a time, its type is decided from the first
bytes before Fast.io sees any, its size is capped as it flows, and SHA-256 is
computed by ``crypto.DigestStream``. The last piece is held back until the
digest is known, so a ``Content-Digest`` mismatch can still abort the upload
before Fast.io receives a complete body.
"""

from __future__ import annotations

import contextlib
import time

from js import Uint8Array, crypto
from pyodide.ffi import JsException

import d1
import digests
import sniff
from call import Call
from config import Config
from fastio import (
    FAILED,
    HASH_MISMATCH,
    STORED,
    Fastio,
    FastioError,
    http_error,
    session_of,
    timed_out,
    unreachable,
)
from ffi import json_response
from filenames import check_filename
from problems import ConfigError, HTTPError
from streams import (
    BodyReader,
    ClientDisconnected,
    UpstreamAnswered,
    UpstreamRequest,
    UpstreamStalled,
)


class UploadAborted(Exception):
    """The upload stopped before its body was complete; ``error`` says why."""

    def __init__(self, error: HTTPError) -> None:
        super().__init__(error.detail)
        self.error = error


def allowed_types(config: Config) -> set[str]:
    names = config.items("ALLOWED_TYPES")
    unknown = sniff.unknown_names(names)
    if unknown:
        raise ConfigError("ALLOWED_TYPES", f"names unknown types: {unknown}")
    return set(names)


def declared_length(call: Call) -> int | None:
    """Content-Length when the client sent one; None for a chunked body."""
    raw = call.header("Content-Length")
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit()):
        raise HTTPError(400, "Content-Length is not a number.")
    return int(raw)


async def put_file(call: Call) -> object:
    """Stream the request body into Fast.io as a new file named ``name``."""
    config = call.config
    name = check_filename(call.params["name"])
    max_bytes = config.integer("MAX_UPLOAD_BYTES", minimum=1)
    allowed = allowed_types(config)
    expected = digests.parse_content_digest(call.header("Content-Digest"))
    length = declared_length(call)
    fastio = Fastio.from_config(config)
    workspace = config.workspace_id()
    too_large = HTTPError(
        413,
        f"The file is larger than the {max_bytes}-byte limit.",
        code="too-large",
        max_bytes=max_bytes,
    )

    # Guards that need no body: a declared size over the cap is refused
    # before a byte is read.
    if length is not None and length > max_bytes:
        raise too_large
    if length == 0 or call.request.body is None:
        raise _empty()

    reader = BodyReader(call.request.body)
    call.log.set(file_name_length=len(name))
    try:
        # Enough for type detection, and no more than the whole body.
        want = min(length, sniff.SNIFF_BYTES) if length else sniff.SNIFF_BYTES
        first = await reader.finish_read(reader.start_read(want))
    except ClientDisconnected:
        raise _client_gone() from None
    if first is None:
        raise _empty()

    head = first.subarray(0, sniff.SNIFF_BYTES).to_bytes()
    file_type = sniff.detect(head)
    if file_type is None or file_type.name not in allowed:
        reader.cancel()
        found = file_type.name if file_type else "unknown"
        raise HTTPError(
            415,
            f"File type {found} is not accepted here; accepted: "
            f"{', '.join(sorted(allowed))}.",
            code="unsupported-type",
            detected_type=found,
        )
    call.log.set(detected_type=file_type.name)

    try:
        session_id = await fastio.create_upload(
            name=name,
            size=length,
            instance_id=workspace,
            folder_id=config.require("FASTIO_FOLDER_ID"),
            profile_type=config.profile_type(),
            stream=True,
            max_size=length or max_bytes,
        )
    except FastioError as exc:
        reader.cancel()
        call.log.set(upstream_status=exc.status)
        raise http_error(exc) from exc

    upload = StreamUpload(fastio, session_id, reader, length, max_bytes, expected)
    try:
        session = await upload.run(first)
    except UploadAborted as stop:
        await upload.cleanup()
        if stop.error.status == 413:
            raise too_large from None
        raise stop.error from None
    finally:
        call.log.set(bytes_in=reader.bytes_read, upstream_status=fastio.last_status)

    file_id = str(session.get("new_file_id"))
    record = {
        "upload_id": session_id,
        "file_id": file_id,
        "name": name,
        "size": reader.bytes_read,
        "type": file_type.name,
        "content_type": file_type.mime,
        "sha256": upload.sha256.hex(),
    }
    await save_upload(call, record, route="stream")
    return json_response(
        record,
        201,
        {
            "Location": f"/uploads/{session_id}",
            "Repr-Digest": digests.repr_digest(upload.sha256),
            "X-Fastio-File-Id": file_id,
        },
    )


class StreamUpload:
    """One body pumped into one Fast.io stream session."""

    def __init__(
        self,
        fastio: Fastio,
        session_id: str,
        reader: BodyReader,
        length: int | None,
        cap: int,
        expected: bytes | None,
    ) -> None:
        self.fastio = fastio
        self.session_id = session_id
        self.reader = reader
        self.length = length
        self.cap = cap
        self.expected = expected
        self.sha256 = b""
        self.upstream: UpstreamRequest | None = None

    async def run(self, first: object) -> dict:
        """Send every byte, then wait for Fast.io to store the file."""
        query = {}
        if self.expected is not None:
            # Fast.io checks it too: a second line of defence.
            query = {"hash": self.expected.hex(), "hash_algo": "sha256"}
        self.upstream = UpstreamRequest(
            self.fastio.url(f"upload/{self.session_id}/stream/", query),
            self.fastio.headers({"Content-Type": "application/octet-stream"}),
            self.length,
            self.fastio.timeout,
        )
        try:
            await self._pump(first, crypto.DigestStream.new("SHA-256"))
            response = await self.upstream.finish()
            session = session_of(await self.fastio.read(response))
        except UpstreamStalled:
            raise UploadAborted(http_error(timed_out(self.fastio.timeout))) from None
        except UpstreamAnswered:
            raise UploadAborted(await self._early_error()) from None
        except JsException as exc:
            raise UploadAborted(http_error(unreachable(exc))) from exc
        except FastioError as exc:
            raise UploadAborted(self._map(exc)) from exc

        if session.get("status") != STORED or not session.get("new_file_id"):
            session = await self._wait_stored(session)
        return session

    async def _pump(self, first: object, digest: object) -> None:
        digest_writer = digest.getWriter()
        held = first
        total = first.byteLength
        self._check_size(total)
        pending = self.reader.start_read()
        while True:
            try:
                chunk = await self.reader.finish_read(pending)
            except ClientDisconnected:
                self.upstream.abort("client disconnected")
                raise UploadAborted(_client_gone()) from None
            if chunk is None:
                break
            total += chunk.byteLength
            self._check_size(total)
            pending = self.reader.start_read()
            await self.upstream.send(held, digest_writer.write(held))
            self.reader.recycle(held)
            held = chunk

        # The whole body has been read; ``held`` is its last piece and Fast.io
        # has not seen it, so a digest mismatch still stops the upload.
        await digest_writer.write(held)
        await digest_writer.close()
        self.sha256 = Uint8Array.new(await digest.digest).to_bytes()
        if self.expected is not None and self.sha256 != self.expected:
            self.upstream.abort("digest mismatch")
            raise UploadAborted(_digest_mismatch())
        await self.upstream.send(held)

    def _check_size(self, total: int) -> None:
        if total > self.cap:
            self.upstream.abort("size cap")
            raise UploadAborted(HTTPError(413))

    async def _early_error(self) -> HTTPError:
        """Why Fast.io answered (or hung up) before the body ended."""
        try:
            await self.fastio.read(self.upstream.response)
        except FastioError as exc:
            return self._map(exc)
        return http_error(unreachable("answered before the body ended"))

    def _map(self, exc: FastioError) -> HTTPError:
        if exc.code == HASH_MISMATCH:
            return _digest_mismatch()
        if exc.status == 413:
            return HTTPError(413)
        return http_error(exc)

    async def _wait_stored(self, session: dict) -> dict:
        try:
            return await wait_stored(self.fastio, self.session_id, session)
        except HTTPError as err:
            raise UploadAborted(err) from None

    async def cleanup(self) -> None:
        """After an abort: drop the upstream body, cancel the session."""
        if self.upstream is not None:
            self.upstream.abort("upload aborted")
            if not self.upstream.response.done():
                self.upstream.response.cancel()
        self.reader.cancel()
        with contextlib.suppress(FastioError):
            await self.fastio.cancel(self.session_id)


async def wait_stored(fastio: Fastio, session_id: str, session: dict) -> dict:
    """Long-poll a session until Fast.io has stored the file; its final state."""
    deadline = time.time() + fastio.timeout
    while True:
        status = session.get("status")
        if status == STORED and session.get("new_file_id"):
            return session
        if status in FAILED:
            message = session.get("status_message") or status
            raise HTTPError(
                502,
                f"The storage service could not store the file: {message}.",
                code="upstream-store-failed",
            )
        remaining = int(deadline - time.time())
        if remaining <= 0:
            raise http_error(timed_out(fastio.timeout))
        try:
            session = await fastio.details(session_id, wait=remaining)
        except FastioError as exc:
            raise http_error(exc) from exc


async def save_upload(call: Call, record: dict, route: str) -> None:
    """Remember who uploaded what; the webhook pipeline reads it back.

    The file is already stored at Fast.io when this runs, so a failure here
    is logged and does not fail the upload: a client told "500" would upload
    the same file again.
    """
    db = getattr(call.env, "DB", None)
    if db is None:
        raise ConfigError("DB", "binding is missing")
    try:
        await _insert_upload(db, call, record, route)
    except d1.D1Error as exc:
        call.log.set(record_error=str(exc))


async def _insert_upload(db, call: Call, record: dict, route: str) -> None:
    await d1.run(
        db,
        "INSERT OR REPLACE INTO uploads (id, file_id, name, size, content_type,"
        " sha256, uploader, route, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        record["upload_id"],
        record["file_id"],
        record["name"],
        record["size"],
        record["content_type"],
        record["sha256"],
        call.principal.sub if call.principal else None,
        route,
        int(time.time()),
    )


def _empty() -> HTTPError:
    return HTTPError(400, "The body is empty: there is no file to store.",
                     code="empty-body")  # fmt: skip


def _client_gone() -> HTTPError:
    return HTTPError(400, "The client's body ended before it was complete.",
                     code="client-disconnected")  # fmt: skip


def _digest_mismatch() -> HTTPError:
    return HTTPError(400, "The body does not match its Content-Digest.",
                     code="digest-mismatch")  # fmt: skip


async def get_upload(call: Call) -> object:
    """``GET /uploads/{id}``: an upload's record, for the user who made it."""
    row = await d1.first(
        call.env.DB,
        "SELECT * FROM uploads WHERE id = ? AND uploader = ?",
        call.params["id"],
        call.principal.sub,
    )
    if row is None:
        raise HTTPError(404, "No such upload.")
    return json_response(
        {
            "upload_id": row["id"],
            "file_id": row["file_id"],
            "name": row["name"],
            "size": row["size"],
            "content_type": row["content_type"],
            "sha256": row["sha256"],
            "route": row["route"],
            "created_at": row["created_at"],
        }
    )
