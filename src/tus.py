"""Resumable uploads: a tus 1.0 server over Fast.io chunked sessions.

Protocol: https://tus.io/protocols/resumable-upload (core plus the creation,
creation-with-upload, checksum, termination and expiration extensions).

Each tus upload is one Fast.io chunked session; the tus id is the session id.
A PATCH body of any length is cut, as it streams, into Fast.io chunks of the
upload's chunk size, each sent as its own multipart request without
buffering. A chunk the PATCH body ends in the middle of is aborted (Fast.io
never stores it) and the offset stays at the last whole chunk, so a client
that sends the whole file in one PATCH and one that sends small PATCHes both
work. The offset is always read back from Fast.io's ``chunks`` map: Fast.io,
not the Worker, is the record of what arrived.

Two ways in: ``/tus/{id}`` with the user's JWT, and ``/tus/s/{token}``, the
signed upload URL that ``POST /uploads/direct`` hands out (no JWT needed).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import math
import secrets
import time
from dataclasses import dataclass
from email.utils import formatdate

from js import Uint8Array, crypto
from pyodide.ffi import JsException, to_js

import d1
import signed_urls
import sniff
from auth import Principal
from call import Call
from fastio import (
    Fastio,
    FastioError,
    FastioNotFound,
    http_error,
    timed_out,
    unreachable,
)
from ffi import json_response, make_response
from filenames import check_filename
from problems import HTTPError
from streams import (
    CHUNK,
    BodyReader,
    ClientDisconnected,
    UpstreamAnswered,
    UpstreamRequest,
    UpstreamStalled,
)
from uploads import allowed_types, save_upload, wait_stored

TUS_VERSION = "1.0.0"
EXTENSIONS = "creation,creation-with-upload,checksum,termination,expiration"
CHECKSUMS = {"sha1": "SHA-1", "sha256": "SHA-256"}
MIN_CHUNK = 1_000_000  # Fast.io: chunks are 1 MB to 100 MB, the last may be less
MAX_CHUNK = 100_000_000
MAX_CHUNKS = 500  # below Fast.io's smallest published per-session chunk limit
LOCK_SECONDS = 120  # a PATCH refreshes its lock after every chunk
JWT_UPLOAD_TTL = 24 * 3600


def tus_headers(**extra: str) -> dict[str, str]:
    return {"Tus-Resumable": TUS_VERSION, "Cache-Control": "no-store", **extra}


# -- configuration and policy ----------------------------------------------


def max_file_bytes(call: Call) -> int:
    return call.config.integer("MAX_FILE_BYTES", minimum=1)


def chunk_size_for(call: Call, length: int) -> int:
    """The configured chunk size, grown when the file needs more than
    MAX_CHUNKS chunks, always within Fast.io's 1 MB to 100 MB."""
    configured = call.config.integer("TUS_CHUNK_BYTES", minimum=MIN_CHUNK)
    needed = math.ceil(length / MAX_CHUNKS)
    size = min(max(configured, needed, MIN_CHUNK), MAX_CHUNK)
    if length > size * MAX_CHUNKS:
        raise HTTPError(413, "The file needs more chunks than Fast.io allows.")
    return size


def check_policy(call: Call, name: str, length: int, declared_type: str | None):
    check_filename(name)
    limit = max_file_bytes(call)
    if length > limit:
        raise HTTPError(
            413,
            f"The file is larger than the {limit}-byte limit.",
            code="too-large",
            max_bytes=limit,
        )
    if length == 0:
        raise HTTPError(
            400, "Upload-Length is 0: there is no file to store.", code="empty-body"
        )
    allowed = allowed_types(call.config)
    if declared_type:
        known = _type_named(declared_type)
        if known is not None and known.name not in allowed:
            raise HTTPError(
                415,
                f"File type {known.name} is not accepted here.",
                code="unsupported-type",
                detected_type=known.name,
            )


def _type_named(value: str) -> sniff.FileType | None:
    value = value.split(";")[0].strip().lower()
    for file_type in sniff.TYPES:
        if value in (file_type.name, file_type.mime.split(";")[0]):
            return file_type
    return None


# -- the upload record (D1) ------------------------------------------------


@dataclass
class TusUpload:
    """One resumable upload: a Fast.io session plus what tus needs to know."""

    id: str
    uploader: str
    name: str
    length: int
    chunk_size: int
    metadata: str
    sha256: str | None
    expires_at: int
    status: str
    file_id: str | None

    @classmethod
    def from_row(cls, row: dict) -> TusUpload:
        return cls(**{k: row[k] for k in cls.__dataclass_fields__})


async def load_upload(call: Call, upload_id: str) -> TusUpload:
    row = await d1.first(
        call.env.DB, "SELECT * FROM tus_uploads WHERE id = ?", upload_id
    )
    if row is None:
        raise HTTPError(404, "No such upload.", headers=tus_headers())
    upload = TusUpload.from_row(row)
    if upload.status == "terminated":
        raise HTTPError(410, "The upload was terminated.", headers=tus_headers())
    if upload.status != "completed" and upload.expires_at <= time.time():
        raise HTTPError(410, "The upload has expired.", headers=tus_headers())
    return upload


async def open_upload(
    call: Call,
    *,
    name: str,
    length: int,
    declared_type: str | None,
    sha256: str | None,
    metadata: str,
    ttl: int,
) -> TusUpload:
    """Check policy, open a Fast.io chunked session and record it."""
    check_policy(call, name, length, declared_type)
    chunk_size = chunk_size_for(call, length)
    fastio = Fastio.from_config(call.config)
    try:
        session_id = await fastio.create_upload(
            name=name,
            size=length,
            instance_id=call.config.workspace_id(),
            folder_id=call.config.require("FASTIO_FOLDER_ID"),
            profile_type=call.config.profile_type(),
        )
    except FastioError as exc:
        call.log.set(upstream_status=exc.status)
        raise http_error(exc) from exc

    upload = TusUpload(
        session_id,
        call.principal.sub,
        name,
        length,
        chunk_size,
        metadata,
        sha256,
        int(time.time()) + ttl,
        "open",
        None,
    )
    await d1.run(
        call.env.DB,
        "INSERT INTO tus_uploads (id, uploader, name, length, chunk_size, metadata,"
        " sha256, expires_at, status, created_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
        upload.id,
        upload.uploader,
        upload.name,
        upload.length,
        upload.chunk_size,
        upload.metadata,
        upload.sha256,
        upload.expires_at,
        "open",
        int(time.time()),
    )
    return upload


# -- tus headers -------------------------------------------------------------


def parse_metadata(raw: str | None) -> dict[str, str]:
    """``Upload-Metadata``: comma-separated ``key base64value`` pairs."""
    values: dict[str, str] = {}
    for pair in (raw or "").split(","):
        pair = pair.strip()
        if not pair:
            continue
        key, _, encoded = pair.partition(" ")
        try:
            values[key] = base64.b64decode(encoded.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise HTTPError(
                400,
                f"Upload-Metadata value of {key!r} is not base64.",
                headers=tus_headers(),
            ) from None
    return values


def declared_sha256(value: str | None) -> str | None:
    """A whole-file SHA-256 given as hex or base64; normalised to hex."""
    if not value:
        return None
    value = value.strip()
    if len(value) == 64:
        with contextlib.suppress(ValueError):
            return bytes.fromhex(value).hex()
    with contextlib.suppress(binascii.Error, ValueError):
        raw = base64.b64decode(value, validate=True)
        if len(raw) == 32:
            return raw.hex()
    raise HTTPError(400, "The declared sha256 is neither 64 hex digits nor base64.")


def parse_checksum(value: str | None) -> tuple[str, bytes] | None:
    """``Upload-Checksum: <algorithm> <base64 digest>``."""
    if value is None:
        return None
    algorithm, _, encoded = value.strip().partition(" ")
    if algorithm not in CHECKSUMS:
        raise HTTPError(
            400,
            f"Checksum algorithm {algorithm!r} is not supported.",
            headers=tus_headers(),
        )
    try:
        return algorithm, base64.b64decode(encoded.strip(), validate=True)
    except binascii.Error:
        raise HTTPError(
            400, "Upload-Checksum is not base64.", headers=tus_headers()
        ) from None


def require_tus(call: Call) -> None:
    if call.header("Tus-Resumable") != TUS_VERSION:
        raise HTTPError(
            412,
            f"Tus-Resumable {TUS_VERSION} is required.",
            headers={"Tus-Version": TUS_VERSION, **tus_headers()},
        )


def _length_header(call: Call, name: str) -> int:
    raw = call.header(name)
    if raw is None or not (raw.isascii() and raw.isdigit()):
        raise HTTPError(
            400, f"{name} must be a non-negative integer.", headers=tus_headers()
        )
    return int(raw)


def expires_header(upload: TusUpload) -> str:
    return formatdate(upload.expires_at, usegmt=True)


# -- routes ------------------------------------------------------------------


async def options(call: Call) -> object:
    """``OPTIONS /tus/...``: what this server supports (no auth, per tus)."""
    return make_response(
        None,
        204,
        tus_headers(
            **{
                "Tus-Version": TUS_VERSION,
                "Tus-Extension": EXTENSIONS,
                "Tus-Max-Size": str(max_file_bytes(call)),
                "Tus-Checksum-Algorithm": ",".join(CHECKSUMS),
            }
        ),
    )


async def create(call: Call) -> object:
    """``POST /tus/``: creation (and creation-with-upload) for JWT holders."""
    require_tus(call)
    if call.header("Upload-Defer-Length") is not None:
        raise HTTPError(
            400, "Upload-Defer-Length is not supported.", headers=tus_headers()
        )
    length = _length_header(call, "Upload-Length")
    raw_metadata = call.header("Upload-Metadata") or ""
    metadata = parse_metadata(raw_metadata)
    name = metadata.get("filename") or metadata.get("name") or ""
    upload = await open_upload(
        call,
        name=name,
        length=length,
        declared_type=metadata.get("filetype") or metadata.get("type"),
        sha256=declared_sha256(metadata.get("sha256")),
        metadata=raw_metadata,
        ttl=JWT_UPLOAD_TTL,
    )
    headers = tus_headers(
        Location=f"/tus/{upload.id}",
        **{
            "Upload-Expires": expires_header(upload),
            "X-Chunk-Size": str(upload.chunk_size),
        },
    )
    if call.header("Content-Type") == "application/offset+octet-stream":
        offset, extra = await receive(call, upload, 0)
        headers.update(extra, **{"Upload-Offset": str(offset)})
    return make_response(None, 201, headers)


async def direct(call: Call) -> object:
    """``POST /uploads/direct``: a signed tus URL for one large file."""
    declared = call.header("Content-Length")
    if (
        declared is None
        or not (declared.isascii() and declared.isdigit())
        or int(declared) > 16 * 1024
    ):
        raise HTTPError(413, "Send a small JSON body with Content-Length.")
    try:
        spec = json.loads(await call.request.text())
        name, size = spec["name"], spec["size"]
        if not isinstance(name, str) or not isinstance(size, int) or size < 0:
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise HTTPError(
            400,
            'The body must be JSON: {"name": str, "size": int, "type"?: str, '
            '"sha256"?: hex}.',
            code="invalid-request",
        ) from None
    keys = signed_urls.parse_keys(call.config.optional("UPLOAD_URL_KEYS"))
    ttl = call.config.integer("UPLOAD_URL_TTL_SECONDS", minimum=60)
    sha256 = declared_sha256(spec.get("sha256"))
    metadata = f"filename {base64.b64encode(name.encode()).decode()}"
    upload = await open_upload(
        call,
        name=name,
        length=size,
        declared_type=spec.get("type"),
        sha256=sha256,
        metadata=metadata,
        ttl=ttl,
    )
    grant = signed_urls.UploadGrant(upload.id, upload.uploader, size, upload.expires_at)
    token = signed_urls.sign(grant, keys)
    origin = f"{call.url.scheme}://{call.url.netloc}"
    return json_response(
        {
            "upload_url": f"{origin}/tus/s/{token}",
            "upload_id": upload.id,
            "chunk_size": upload.chunk_size,
            "max_request_bytes": upload.chunk_size,
            "expires_at": upload.expires_at,
            "size": size,
        },
        201,
        {"Location": f"/tus/s/{token}"},
    )


async def _owned(call: Call) -> TusUpload:
    """The upload named in a JWT route, if the caller made it (404 if not)."""
    upload = await load_upload(call, call.params["id"])
    if upload.uploader != call.principal.sub:
        raise HTTPError(404, "No such upload.", headers=tus_headers())
    return upload


async def _granted(call: Call) -> TusUpload:
    """The upload a signed URL names; the token must match it exactly."""
    keys = signed_urls.parse_keys(call.config.optional("UPLOAD_URL_KEYS"))
    grant = signed_urls.verify(call.params["token"], keys)
    call.principal = Principal(grant.uploader, "upload-url")
    call.log.set(uploader=grant.uploader)
    upload = await load_upload(call, grant.session_id)
    if upload.uploader != grant.uploader or upload.length != grant.size:
        raise signed_urls._invalid("token does not match the upload")
    return upload


async def head(call: Call) -> object:
    return await _head(call, await _owned(call))


async def signed_head(call: Call) -> object:
    return await _head(call, await _granted(call))


async def patch(call: Call) -> object:
    return await _patch(call, await _owned(call))


async def signed_patch(call: Call) -> object:
    return await _patch(call, await _granted(call))


async def delete(call: Call) -> object:
    return await _delete(call, await _owned(call))


async def signed_delete(call: Call) -> object:
    return await _delete(call, await _granted(call))


async def _head(call: Call, upload: TusUpload) -> object:
    offset = await current_offset(call, upload)
    headers = tus_headers(
        **{
            "Upload-Offset": str(offset),
            "Upload-Length": str(upload.length),
            "Upload-Expires": expires_header(upload),
            "X-Chunk-Size": str(upload.chunk_size),
        }
    )
    if upload.metadata:
        headers["Upload-Metadata"] = upload.metadata
    if upload.file_id:
        headers["X-Fastio-File-Id"] = upload.file_id
    return make_response(None, 200, headers)


async def _patch(call: Call, upload: TusUpload) -> object:
    require_tus(call)
    if call.header("Content-Type") != "application/offset+octet-stream":
        raise HTTPError(
            415,
            "PATCH bodies must be application/offset+octet-stream.",
            headers=tus_headers(),
        )
    offset = _length_header(call, "Upload-Offset")
    new_offset, extra = await receive(call, upload, offset)
    headers = tus_headers(
        **{
            "Upload-Offset": str(new_offset),
            "Upload-Expires": expires_header(upload),
        },
        **extra,
    )
    return make_response(None, 204, headers)


async def _delete(call: Call, upload: TusUpload) -> object:
    require_tus(call)
    fastio = Fastio.from_config(call.config)
    try:
        await fastio.cancel(upload.id)
    except FastioError as exc:
        raise http_error(exc) from exc
    await d1.run(
        call.env.DB,
        "UPDATE tus_uploads SET status = 'terminated' WHERE id = ?",
        upload.id,
    )
    return make_response(None, 204, tus_headers())


# -- offsets, locks ----------------------------------------------------------


def offset_from_chunks(chunks: dict, chunk_size: int, length: int) -> int:
    """Bytes that arrived as whole chunks 1..k, in order, at Fast.io."""
    offset = 0
    order = 1
    while offset < length:
        size = chunks.get(str(order), chunks.get(order))
        expected = min(chunk_size, length - offset)
        if size is None or int(size) != expected:
            break
        offset += expected
        order += 1
    return offset


async def current_offset(call: Call, upload: TusUpload) -> int:
    if upload.status == "completed":
        return upload.length
    fastio = Fastio.from_config(call.config)
    try:
        session = await fastio.details(upload.id)
    except FastioNotFound:
        raise HTTPError(
            410, "The upload no longer exists at Fast.io.", headers=tus_headers()
        ) from None
    except FastioError as exc:
        raise http_error(exc) from exc
    if session.get("status") == "stored":
        return upload.length
    return offset_from_chunks(session["chunks"], upload.chunk_size, upload.length)


async def acquire_lock(call: Call, upload: TusUpload) -> str:
    """One PATCH at a time per upload: a second gets 409 (or 423)."""
    token = secrets.token_hex(8)
    now = int(time.time())
    changed = await d1.run(
        call.env.DB,
        "UPDATE tus_uploads SET lock_token = ?, lock_expires = ? WHERE id = ?"
        " AND (lock_token IS NULL OR lock_expires < ?)",
        token,
        now + LOCK_SECONDS,
        upload.id,
        now,
    )
    if changed != 1:
        raise HTTPError(
            423,
            "Another request is writing to this upload; retry after it ends.",
            code="upload-locked",
            headers=tus_headers(**{"Retry-After": "5"}),
        )
    return token


async def refresh_lock(call: Call, upload: TusUpload, token: str) -> None:
    await d1.run(
        call.env.DB,
        "UPDATE tus_uploads SET lock_expires = ? WHERE id = ? AND lock_token = ?",
        int(time.time()) + LOCK_SECONDS,
        upload.id,
        token,
    )


async def release_lock(call: Call, upload: TusUpload, token: str) -> None:
    await d1.run(
        call.env.DB,
        "UPDATE tus_uploads SET lock_token = NULL WHERE id = ? AND lock_token = ?",
        upload.id,
        token,
    )


# -- receiving a PATCH body ----------------------------------------------------


async def receive(call: Call, upload: TusUpload, offset: int) -> tuple[int, dict]:
    """Take a PATCH body starting at ``offset``; the new offset and headers."""
    checksum = parse_checksum(call.header("Upload-Checksum"))
    token = await acquire_lock(call, upload)
    try:
        actual = await current_offset(call, upload)
        if offset != actual:
            raise HTTPError(
                409,
                f"Upload-Offset {offset} does not match the upload's {actual}.",
                code="offset-mismatch",
                headers=tus_headers(**{"Upload-Offset": str(actual)}),
            )
        if offset == upload.length:
            return offset, _done_headers(upload)
        if call.request.body is None:
            return offset, {}
        receiver = ChunkReceiver(call, upload, offset, checksum, token)
        return await receiver.run()
    finally:
        await release_lock(call, upload, token)


class ChunkReceiver:
    """Cuts one PATCH body into Fast.io chunks as it streams."""

    def __init__(self, call, upload, offset, checksum, lock_token) -> None:
        self.call = call
        self.upload = upload
        self.start = offset
        self.offset = offset
        self.checksum = checksum
        self.lock_token = lock_token
        self.fastio = Fastio.from_config(call.config)
        # Reads no larger than a chunk, so a dropped connection loses at most
        # the chunk it was inside.
        self.reader = BodyReader(call.request.body, min(CHUNK, upload.chunk_size))
        self.sent_orders: list[int] = []
        self.leftover = None  # bytes read but not yet sent (JS Uint8Array)
        self.pending = None  # the read started ahead of need
        self.digest = None
        self.whole = None

    async def run(self) -> tuple[int, dict]:
        if self.checksum is not None:
            self.digest = crypto.DigestStream.new(CHECKSUMS[self.checksum[0]])
            self.digest_writer = self.digest.getWriter()
        if self.start == 0:
            # Seen from its first byte: this PATCH can hash the whole file.
            self.whole = crypto.DigestStream.new("SHA-256")
            self.whole_writer = self.whole.getWriter()

        ended = False
        try:
            while self.offset < self.upload.length and not ended:
                ended = not await self._send_chunk()
                if not ended:
                    await refresh_lock(self.call, self.upload, self.lock_token)
            if self.offset == self.upload.length and await self._more_body():
                raise HTTPError(
                    400, "The body goes past Upload-Length.", headers=tus_headers()
                )
        except ClientDisconnected:
            # The client is gone; whole chunks stay, the cut one was dropped.
            self.call.log.set(client_disconnected=True)
            return self.offset, {}
        finally:
            self.call.log.set(
                bytes_in=self.reader.bytes_read, upstream_status=self.fastio.last_status
            )

        if self.offset == self.start and self.reader.bytes_read > 0:
            # A client whose PATCHes are smaller than one chunk would resend
            # the same bytes forever, each answered with no progress.
            size = self.upload.chunk_size
            raise HTTPError(
                400,
                f"A PATCH must carry at least one whole chunk ({size} bytes) or "
                f"reach the end of the upload; this one ended after "
                f"{self.reader.bytes_read} bytes.",
                code="patch-too-small",
                chunk_size=size,
                headers=tus_headers(
                    **{"Upload-Offset": str(self.start), "X-Chunk-Size": str(size)}
                ),
            )
        if self.checksum is not None:
            await self._verify_checksum()
        extra: dict[str, str] = {}
        if self.offset == self.upload.length:
            extra = await self._complete()
        return self.offset, extra

    async def _next_bytes(self):
        if self.leftover is not None:
            data, self.leftover = self.leftover, None
            return data
        pending, self.pending = self.pending, None
        data = await self.reader.finish_read(pending or self.reader.start_read())
        if data is not None:
            # Read ahead: the next piece arrives while this one goes upstream.
            self.pending = self.reader.start_read()
            writes = []
            if self.digest is not None:
                writes.append(self.digest_writer.write(data))
            if self.whole is not None:
                writes.append(self.whole_writer.write(data))
            for write in writes:
                await write
        return data

    async def _more_body(self) -> bool:
        return await self._next_bytes() is not None

    async def _send_chunk(self) -> bool:
        """Send the next whole chunk; False when the body ended before it."""
        order = self.offset // self.upload.chunk_size + 1
        size = min(self.upload.chunk_size, self.upload.length - self.offset)

        first = await self._next_bytes()
        if first is None:
            return False
        if self.offset == 0:
            self._check_type(first)
        boundary = "fastio-edge-" + secrets.token_hex(12)
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="chunk"; '
            f'filename="chunk"\r\nContent-Type: application/octet-stream\r\n\r\n'
        ).encode()
        tail = f"\r\n--{boundary}--\r\n".encode()
        upstream = UpstreamRequest(
            self.fastio.url(
                f"upload/{self.upload.id}/chunk/", {"order": order, "size": size}
            ),
            self.fastio.headers(
                {"Content-Type": f"multipart/form-data; boundary={boundary}"}
            ),
            len(head) + size + len(tail),
            self.fastio.timeout,
        )
        try:
            await upstream.send(to_js(head))
            remaining = size
            data = first
            while True:
                if data is None:
                    upstream.abort("body ended inside a chunk")
                    return False
                split = data.byteLength > remaining
                if split:
                    self.leftover = data.subarray(remaining)
                    data = data.subarray(0, remaining)
                await upstream.send(data)
                if not split:
                    self.reader.recycle(data)  # every byte of its buffer is sent
                remaining -= data.byteLength
                if remaining == 0:
                    break
                data = await self._next_bytes()
            await upstream.send(to_js(tail))
            response = await upstream.finish()
            await self.fastio.read(response)
        except ClientDisconnected:
            upstream.abort("client disconnected")
            raise
        except UpstreamStalled:
            raise http_error(timed_out(self.fastio.timeout)) from None
        except UpstreamAnswered:
            raise await self._upstream_error(upstream) from None
        except JsException as exc:
            raise http_error(unreachable(exc)) from exc
        except FastioError as exc:
            raise http_error(exc) from exc
        finally:
            if not upstream.aborted and upstream.response.done() is False:
                upstream.abort("chunk not finished")

        self.sent_orders.append(order)
        self.offset += size
        return True

    def _check_type(self, first) -> None:
        head = first.subarray(0, sniff.SNIFF_BYTES).to_bytes()
        file_type = sniff.detect(head)
        allowed = allowed_types(self.call.config)
        if file_type is None or file_type.name not in allowed:
            found = file_type.name if file_type else "unknown"
            raise HTTPError(
                415,
                f"File type {found} is not accepted here.",
                code="unsupported-type",
                detected_type=found,
                headers=tus_headers(),
            )
        self.file_type = file_type

    async def _upstream_error(self, upstream: UpstreamRequest) -> HTTPError:
        try:
            await self.fastio.read(upstream.response)
        except FastioError as exc:
            return http_error(exc)
        return http_error(unreachable("answered before the chunk ended"))

    async def _verify_checksum(self) -> None:
        """tus checksum extension: the PATCH body's digest, else 460."""
        if self.leftover is not None:
            await self._more_body()  # hash whatever was read past the last chunk
        await self.digest_writer.close()
        actual = Uint8Array.new(await self.digest.digest).to_bytes()
        if actual == self.checksum[1]:
            return
        # The chunks this PATCH stored are not trusted: remove them, so the
        # offset goes back to where the PATCH began.
        for order in self.sent_orders:
            with contextlib.suppress(FastioError):
                await self.fastio.call(
                    "DELETE",
                    f"upload/{self.upload.id}/chunk/",
                    query={"order": str(order)},
                    idempotent=True,
                )
        self.offset = self.start
        raise HTTPError(
            460,
            "The body does not match Upload-Checksum.",
            code="checksum-mismatch",
            headers=tus_headers(**{"Upload-Offset": str(self.start)}),
        )

    async def _complete(self) -> dict[str, str]:
        """Every byte is at Fast.io: assemble, wait for storage, record it."""
        try:
            await self.fastio.call(
                "POST", f"upload/{self.upload.id}/complete/", idempotent=True
            )
            session = await self.fastio.details(self.upload.id)
        except FastioError as exc:
            raise http_error(exc) from exc
        session = await wait_stored(self.fastio, self.upload.id, session)
        file_id = str(session["new_file_id"])

        sha256 = None
        if self.whole is not None:
            await self.whole_writer.close()
            sha256 = Uint8Array.new(await self.whole.digest).to_bytes().hex()
        elif self.upload.sha256:
            # The file came in several PATCHes and a digest cannot be carried
            # between requests, so a declared SHA-256 is checked by reading
            # the stored file back from Fast.io.
            sha256 = await self._stored_sha256(file_id)
        if self.upload.sha256 and sha256 != self.upload.sha256:
            await self._discard(file_id)
            raise HTTPError(
                460,
                "The file does not match its declared sha256; it was removed.",
                code="checksum-mismatch",
                headers=tus_headers(),
            )

        await d1.run(
            self.call.env.DB,
            "UPDATE tus_uploads SET status = 'completed', file_id = ? WHERE id = ?",
            file_id,
            self.upload.id,
        )
        file_type = getattr(self, "file_type", None)
        await save_upload(
            self.call,
            {
                "upload_id": self.upload.id,
                "file_id": file_id,
                "name": self.upload.name,
                "size": self.upload.length,
                "content_type": file_type.mime if file_type else None,
                "sha256": sha256,
            },
            route="tus",
        )
        self.upload.file_id = file_id
        headers = _done_headers(self.upload)
        if sha256:
            headers["Repr-Digest"] = (
                f"sha-256=:{base64.b64encode(bytes.fromhex(sha256)).decode()}:"
            )
        return headers

    async def _stored_sha256(self, file_id: str) -> str:
        config = self.call.config
        try:
            digest = await self.fastio.sha256_of_file(
                config.profile_type(),
                config.workspace_id(),
                file_id,
                self.upload.length,
            )
        except FastioError as exc:
            raise http_error(exc) from exc
        return digest.hex()

    async def _discard(self, file_id: str) -> None:
        await d1.run(
            self.call.env.DB,
            "UPDATE tus_uploads SET status = 'terminated' WHERE id = ?",
            self.upload.id,
        )
        config = self.call.config
        path = f"{config.profile_type()}/{config.workspace_id()}/storage/{file_id}"
        with contextlib.suppress(FastioError):
            await self.fastio.call("DELETE", f"{path}/delete/", idempotent=True)


def _done_headers(upload: TusUpload) -> dict[str, str]:
    return {"X-Fastio-File-Id": upload.file_id} if upload.file_id else {}
