"""``Content-Digest`` and ``Repr-Digest`` fields (RFC 9530) for SHA-256."""

from __future__ import annotations

import base64
import binascii
import re

from problems import HTTPError

# A Dictionary Structured Field (RFC 8941) of algorithm = :byte-sequence:.
_MEMBER = re.compile(r"^\s*([a-z][a-z0-9_.*-]*)\s*=\s*:([A-Za-z0-9+/=]*):\s*$")


def parse_content_digest(value: str | None) -> bytes | None:
    """The SHA-256 a client declared, or None when it declared none.

    Members for other algorithms are ignored (RFC 9530 lets a recipient skip
    algorithms it does not support); a malformed field, or a sha-256 value of
    the wrong length, is a 400.
    """
    if value is None:
        return None
    found = None
    for member in _split_members(value):
        match = _MEMBER.match(member)
        if not match:
            raise _malformed("it is not a list of algorithm=:base64: members")
        algorithm, encoded = match.groups()
        if algorithm != "sha-256":
            continue
        try:
            # RFC 8941 §3.3.5: parsers should not fail on missing padding.
            digest = base64.b64decode(
                encoded + "=" * (-len(encoded) % 4), validate=True
            )
        except binascii.Error:
            raise _malformed("the sha-256 value is not base64") from None
        if len(digest) != 32:
            raise _malformed("the sha-256 value is not 32 bytes")
        found = digest
    return found


def _split_members(value: str) -> list[str]:
    members = [m for m in value.split(",")]
    if not value.strip() or any(not m.strip() for m in members):
        raise _malformed("it is empty or has an empty member")
    return members


def repr_digest(sha256: bytes) -> str:
    return f"sha-256=:{base64.b64encode(sha256).decode()}:"


def _malformed(reason: str) -> HTTPError:
    return HTTPError(
        400, f"Malformed Content-Digest: {reason}.", code="malformed-content-digest"
    )
