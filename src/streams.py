"""Moving request bodies through the Worker without buffering them.

Measured in this runtime (README, "Benchmarks"): crossing the FFI per small
chunk or using a Python TransformStream costs 15x, and ``tee()`` buffers
without backpressure. So bodies are read 1 MiB at a time with a BYOB reader,
and written to native streams that ``fetch`` sends upstream.
"""

from __future__ import annotations

import contextlib

from js import AbortController, FixedLengthStream, IdentityTransformStream, Uint8Array
from pyodide.ffi import JsException

from ffi import js_object

CHUNK = 1024 * 1024


class ClientDisconnected(Exception):
    """The client's body ended in an error (connection lost mid-upload)."""


class BodyReader:
    """Reads a ReadableStream in pieces of at least ``CHUNK`` bytes."""

    def __init__(self, stream: object, chunk: int = CHUNK) -> None:
        self._reader = stream.getReader(js_object({"mode": "byob"}))
        self._chunk = chunk
        self.bytes_read = 0

    def start_read(self, at_least: int | None = None) -> object:
        """Begin the next read; a JS promise of ``{done, value}``.

        A fresh buffer per read: the previous one may still be queued in a
        writer, and a BYOB read takes ownership of the buffer it is given.
        """
        want = at_least or self._chunk
        return self._reader.readAtLeast(want, Uint8Array.new(max(want, self._chunk)))

    async def finish_read(self, pending: object) -> object | None:
        """The chunk (a JS Uint8Array) the read produced, or None at the end."""
        try:
            result = await pending
        except JsException as exc:
            raise ClientDisconnected(str(exc)) from exc
        if result.done:
            return None
        self.bytes_read += result.value.byteLength
        return result.value

    def cancel(self) -> None:
        with contextlib.suppress(JsException):
            self._reader.cancel()


class UpstreamBody:
    """The body of an outgoing request, fed chunk by chunk, safely abortable.

    workerd ends a chunked body with a normal terminator when a stream in the
    path errors, so a receiver would store a truncated file. Two things make
    an abort visible upstream: a FixedLengthStream (Content-Length known) that
    never reaches its length, and aborting the fetch's signal before the
    stream is errored. ``abort`` does both.
    """

    def __init__(self, length: int | None) -> None:
        if length is not None:
            stream = FixedLengthStream.new(length)
        else:
            stream = IdentityTransformStream.new()
        self.readable = stream.readable
        self._writer = stream.writable.getWriter()
        self._controller = AbortController.new()
        self.signal = self._controller.signal
        self.aborted = False

    def write(self, chunk: object) -> object:
        return self._writer.write(chunk)

    async def close(self) -> None:
        await self._writer.close()

    def abort(self, reason: str) -> None:
        if self.aborted:
            return
        self.aborted = True
        self._controller.abort()
        with contextlib.suppress(JsException):
            self._writer.abort(reason)
