"""Checks on client-supplied file names, before anything reaches Fast.io."""

from __future__ import annotations

import unicodedata

from problems import HTTPError

MAX_NAME_BYTES = 255  # the common file-system limit for one path component


def check_filename(name: str) -> str:
    """``name`` unchanged if it is a safe single file name; 400 otherwise."""
    if not name or not name.strip():
        raise _bad("the name is empty")
    if name in (".", ".."):
        raise _bad("'.' and '..' are not file names")
    if "/" in name or "\\" in name:
        raise _bad("the name contains a path separator")
    for char in name:
        category = unicodedata.category(char)
        # Cc: control characters (NUL, newline, DEL...); Cf: invisible format
        # characters such as U+202E, which can disguise an extension.
        if category in ("Cc", "Cf"):
            raise _bad(f"the name contains the control character U+{ord(char):04X}")
    if name != name.strip():
        raise _bad("the name starts or ends with whitespace")
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        raise _bad(f"the name is longer than {MAX_NAME_BYTES} bytes")
    return name


def _bad(reason: str) -> HTTPError:
    return HTTPError(400, f"Invalid file name: {reason}.", code="invalid-filename")
