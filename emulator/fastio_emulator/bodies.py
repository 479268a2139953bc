"""Streaming request bodies to temp files while hashing, never whole in memory."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import IO, Any, TypeVar

from aiohttp import BodyPartReader, web

from .envelope import TOO_LARGE, ApiError, invalid

PIECE = 64 * 1024
# A client that stops sending mid-body without closing is treated as gone.
IDLE_TIMEOUT = 120.0
FIELD_LIMIT = 64 * 1024
HASH_ALGOS = ("md5", "sha1", "sha256", "sha384")

T = TypeVar("T")


class BodyIncomplete(Exception):
    """The body ended early, the connection dropped, or the framing was broken."""


def too_large(limit: int, what: str) -> ApiError:
    """Build the error for a body over its limit."""
    return ApiError(413, TOO_LARGE, f"{what} exceeds the limit of {limit} bytes")


@dataclass
class Received:
    """A body that arrived in full and sits in a temp file."""

    path: Path
    size: int
    digests: dict[str, str] = field(default_factory=dict)


class Sink:
    """A temp file that hashes and counts what is written and enforces a limit."""

    def __init__(
        self, path: Path, limit: int | None, what: str, algos: set[str]
    ) -> None:
        self.path = path
        self.limit = limit
        self.what = what
        self.size = 0
        self.hashers = {a: hashlib.new(a) for a in {"sha256", *algos}}
        self.fh: IO[bytes] | None = path.open("wb")

    def write(self, data: bytes) -> None:
        """Append one piece, failing as soon as the limit is passed."""
        self.size += len(data)
        if self.limit is not None and self.size > self.limit:
            raise too_large(self.limit, self.what)
        assert self.fh is not None
        self.fh.write(data)
        for h in self.hashers.values():
            h.update(data)

    def finish(self) -> Received:
        """Close the file and report what arrived."""
        self._close()
        digests = {a: h.hexdigest() for a, h in self.hashers.items()}
        return Received(self.path, self.size, digests)

    def discard(self) -> None:
        """Close and delete the temp file."""
        self._close()
        self.path.unlink(missing_ok=True)

    def _close(self) -> None:
        if self.fh is not None:
            self.fh.close()
            self.fh = None


async def _read(call: Callable[[], Awaitable[T]]) -> T:
    """Await one read with an idle timeout, mapping transport failures."""
    try:
        async with asyncio.timeout(IDLE_TIMEOUT):
            return await call()
    except (ApiError, asyncio.CancelledError):
        raise
    except Exception as exc:
        raise BodyIncomplete(str(exc) or type(exc).__name__) from exc


async def read_raw(request: web.Request, sink: Sink) -> Received:
    """Stream a raw (octet-stream) body into sink."""
    try:
        while True:
            data = await _read(partial(request.content.read, PIECE))
            if not data:
                break
            sink.write(data)
        # aiohttp raises on a short Content-Length body; this is a second check.
        declared = request.content_length
        if declared is not None and declared != sink.size:
            raise BodyIncomplete("body shorter than its Content-Length")
    except BaseException:
        sink.discard()
        raise
    return sink.finish()


@dataclass
class Form:
    """A parsed multipart form: small text fields plus at most one file part."""

    fields: dict[str, str] = field(default_factory=dict)
    file: Received | None = None


async def read_multipart(request: web.Request, file_field: str, make_sink: Any) -> Form:
    """Parse a multipart body fully, streaming file_field to a sink.

    The whole body, including the closing boundary, must arrive before the
    file counts as received, so a truncated upload never looks complete.
    """
    form = Form()
    sink: Sink | None = None
    try:
        try:
            reader = await request.multipart()
        except (AssertionError, ValueError, KeyError) as exc:
            raise invalid("body", "not a multipart/form-data body") from exc
        while True:
            part = await _read(reader.next)
            if part is None:
                break
            if not isinstance(part, BodyPartReader):
                raise invalid("body", "nested multipart is not supported")
            name = part.name or ""
            if name == file_field and sink is None:
                sink = make_sink()
                while True:
                    data = await _read(partial(part.read_chunk, PIECE))
                    if not data:
                        break
                    sink.write(data)
            else:
                form.fields[name] = await _read_field(part)
        if sink is not None:
            form.file = sink.finish()
    except BaseException:
        if sink is not None:
            sink.discard()
        raise
    return form


async def _read_field(part: BodyPartReader) -> str:
    """Read a small text field, refusing oversized values."""
    buf = bytearray()
    while True:
        data = await _read(partial(part.read_chunk, PIECE))
        if not data:
            break
        buf += data
        if len(buf) > FIELD_LIMIT:
            raise invalid(part.name or "field", "value too long")
    return buf.decode("utf-8", errors="replace")


def hash_file(path: Path, algo: str) -> str:
    """Hash a file on disk in pieces."""
    h = hashlib.new(algo)
    with path.open("rb") as fh:
        while data := fh.read(1024 * 1024):
            h.update(data)
    return h.hexdigest()


def check_hash(received: Received, expected: str | None, algo: str | None) -> bool:
    """Tell whether a received body matches a client-supplied hash (if any)."""
    if not expected:
        return True
    algo = (algo or "sha256").lower()
    digest = received.digests.get(algo) or hash_file(received.path, algo)
    received.digests[algo] = digest
    return digest == expected.strip().lower()


def validate_algo(expected: str | None, algo: str | None) -> None:
    """Reject an unsupported hash algorithm or a malformed digest."""
    if not expected and not algo:
        return
    name = (algo or "sha256").lower()
    if name not in HASH_ALGOS:
        raise invalid("hash_algo", f"must be one of {', '.join(HASH_ALGOS)}")
    if not expected:
        raise invalid("hash", "required when hash_algo is given")
    want = hashlib.new(name).digest_size * 2
    value = expected.strip().lower()
    if len(value) != want or any(c not in "0123456789abcdef" for c in value):
        raise invalid("hash", f"must be {want} hex digits for {name}")
