"""File type detection from the first bytes (magic numbers).

The client's ``Content-Type`` is never trusted: the type is what the bytes
say. Detection needs at most ``SNIFF_BYTES`` bytes, so the Worker copies only
that much of the first chunk into Python.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

SNIFF_BYTES = 4096


@dataclass(frozen=True)
class FileType:
    """A detectable type: its short name (used in ALLOWED_TYPES) and MIME type."""

    name: str
    mime: str
    test: Callable[[bytes], bool]


def _at(offset: int, magic: bytes) -> Callable[[bytes], bool]:
    return lambda head: head[offset : offset + len(magic)] == magic


def _ftyp(brands: tuple[bytes, ...]) -> Callable[[bytes], bool]:
    # ISO base media files start with a box: 4-byte size, then "ftyp" and the
    # major brand.
    return lambda head: head[4:8] == b"ftyp" and head[8:12] in brands


def _is_text(head: bytes) -> bool:
    """UTF-8 (or ASCII) with no control characters but tab, LF, CR, FF."""
    if not head:
        return False
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut off by the end of the sample is fine.
        if exc.start < len(head) - 3 or exc.reason != "unexpected end of data":
            return False
        text = head[: exc.start].decode("utf-8")
    return not any((ord(c) < 32 and c not in "\t\n\r\f") or c == "\x7f" for c in text)


MP4_BRANDS = (b"isom", b"iso2", b"mp41", b"mp42", b"avc1", b"M4V ", b"dash", b"iso5")

# Order matters only where one signature is a prefix of another's container
# (RIFF: WebP vs WAV); text comes last because it is the weakest test.
TYPES = (
    FileType("png", "image/png", _at(0, b"\x89PNG\r\n\x1a\n")),
    FileType("jpeg", "image/jpeg", _at(0, b"\xff\xd8\xff")),
    FileType("gif", "image/gif", lambda h: h[:6] in (b"GIF87a", b"GIF89a")),
    FileType("webp", "image/webp", lambda h: h[:4] == b"RIFF" and h[8:12] == b"WEBP"),
    # "BM", file size, then 4 reserved bytes that are zero: text may start "BM".
    FileType("bmp", "image/bmp", lambda h: h[:2] == b"BM" and h[6:10] == bytes(4)),
    FileType("tiff", "image/tiff", lambda h: h[:4] in (b"II*\0", b"MM\0*")),
    FileType("heic", "image/heic", _ftyp((b"heic", b"heix", b"mif1"))),
    FileType("avif", "image/avif", _ftyp((b"avif", b"avis"))),
    FileType("pdf", "application/pdf", _at(0, b"%PDF-")),
    FileType("zip", "application/zip", lambda h: h[:4] in (b"PK\3\4", b"PK\5\6")),
    FileType("gzip", "application/gzip", _at(0, b"\x1f\x8b")),
    FileType("7z", "application/x-7z-compressed", _at(0, b"7z\xbc\xaf\x27\x1c")),
    FileType("mp4", "video/mp4", _ftyp(MP4_BRANDS)),
    FileType("mov", "video/quicktime", _ftyp((b"qt  ",))),
    FileType("webm", "video/webm", _at(0, b"\x1a\x45\xdf\xa3")),
    FileType(
        "mp3",
        "audio/mpeg",
        lambda h: h[:3] == b"ID3" or h[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"),
    ),
    FileType("wav", "audio/wav", lambda h: h[:4] == b"RIFF" and h[8:12] == b"WAVE"),
    FileType("ogg", "audio/ogg", _at(0, b"OggS")),
    FileType("flac", "audio/flac", _at(0, b"fLaC")),
    FileType("text", "text/plain; charset=utf-8", _is_text),
)
BY_NAME = {t.name: t for t in TYPES}


def detect(head: bytes) -> FileType | None:
    """The type of a file whose first bytes are ``head``; None if unknown."""
    head = head[:SNIFF_BYTES]
    for file_type in TYPES:
        if file_type.test(head):
            return file_type
    return None


def unknown_names(names: list[str]) -> list[str]:
    """Names in ``names`` that are not detectable types (a config error)."""
    return [name for name in names if name not in BY_NAME]
