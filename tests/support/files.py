"""Sample file bodies with real magic numbers, for upload tests."""

from __future__ import annotations

import hashlib
import os

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(13)
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
ELF = b"\x7fELF\x02\x01\x01" + bytes(9)


def body(magic: bytes, size: int, seed: int = 0) -> bytes:
    """``size`` bytes that start with ``magic`` (random after it)."""
    rest = size - len(magic)
    return magic + (os.urandom(rest) if seed == 0 else bytes(rest))


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def chunks(data: bytes, size: int = 256 * 1024):
    """``data`` as an async iterator, so httpx sends it chunked."""
    for start in range(0, len(data), size):
        yield data[start : start + size]
