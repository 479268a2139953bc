"""Webhook signatures: parse the headers, check freshness, compare MACs.

Two schemes, chosen by configuration because Fast.io has published no
authoritative format (see docs on webhooks):

- ``fastio`` (Fast.io's tutorial): ``Fastio-Signature: t=<unix>,v1=<base64>``,
  HMAC-SHA256 over ``"<t>.<raw body>"``; several ``v1=`` values may appear.
- ``standard`` (the Standard Webhooks spec): ``webhook-id``,
  ``webhook-timestamp`` and ``webhook-signature`` (space-separated
  ``v1,<base64>``), HMAC-SHA256 over ``"<id>.<timestamp>.<raw body>"``.

A secret written ``whsec_<base64>`` means the base64-decoded bytes (the
Standard Webhooks form); any other secret is used as its UTF-8 bytes. This
module is pure Python so it runs, and is tested, in CPython.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

SCHEMES = ("fastio", "standard")
DEFAULT_TOLERANCE = 300  # seconds, in both directions (both specs say 5 min)
MAX_ID_LENGTH = 256

FASTIO_HEADER = "fastio-signature"
STANDARD_ID = "webhook-id"
STANDARD_TIMESTAMP = "webhook-timestamp"
STANDARD_SIGNATURE = "webhook-signature"


class SignatureError(Exception):
    """The delivery's signature is missing, malformed, stale or wrong."""


@dataclass(frozen=True)
class SignedHeaders:
    """What a delivery's headers claim: when, which MACs, and the signed prefix."""

    timestamp: int
    signatures: tuple[bytes, ...]
    message_id: str | None  # webhook-id: covered by the MAC (standard only)
    prefix: bytes  # what is signed before the raw body

    def signed_content(self, body: bytes) -> bytes:
        return self.prefix + body


def signing_key(secret: str) -> bytes:
    """The HMAC key a configured secret stands for."""
    if secret.startswith("whsec_"):
        try:
            return base64.b64decode(secret.removeprefix("whsec_"), validate=True)
        except binascii.Error:
            raise ValueError("a whsec_ secret is not valid base64") from None
    return secret.encode()


def parse(scheme: str, headers: Mapping[str, str]) -> SignedHeaders:
    """Read the signature headers (names lowercased) of one delivery."""
    if scheme == "fastio":
        return _parse_fastio(headers.get(FASTIO_HEADER, "").strip())
    if scheme == "standard":
        return _parse_standard(headers)
    raise ValueError(f"unknown webhook scheme {scheme!r}")


def _parse_fastio(value: str) -> SignedHeaders:
    if not value:
        raise SignatureError("Missing signature.")

    timestamp = None
    candidates = []
    for item in value.split(","):
        key, sep, text = item.strip().partition("=")
        if not sep or not text:
            raise SignatureError("Malformed signature header.")
        if key == "t":
            if timestamp is not None:
                raise SignatureError("Malformed signature header.")
            timestamp = _timestamp(text)
        elif key == "v1":
            candidates.append(_b64(text))
        # Other versions (v0=, v2=, ...) are not ours to judge: skipped.

    if timestamp is None:
        raise SignatureError("Malformed signature header.")
    if not candidates:
        raise SignatureError("No supported signature version.")
    return SignedHeaders(timestamp, tuple(candidates), None, f"{timestamp}.".encode())


def _parse_standard(headers: Mapping[str, str]) -> SignedHeaders:
    message_id = headers.get(STANDARD_ID, "").strip()
    stamp = headers.get(STANDARD_TIMESTAMP, "").strip()
    value = headers.get(STANDARD_SIGNATURE, "").strip()
    if not (message_id and stamp and value):
        raise SignatureError("Missing signature.")
    if len(message_id) > MAX_ID_LENGTH:
        raise SignatureError("Malformed signature header.")

    timestamp = _timestamp(stamp)
    candidates = []
    for item in value.split():
        version, sep, text = item.partition(",")
        if not sep or not text:
            raise SignatureError("Malformed signature header.")
        if version == "v1":
            candidates.append(_b64(text))
        # v1a (asymmetric) and future versions are skipped, as the spec asks.

    if not candidates:
        raise SignatureError("No supported signature version.")
    prefix = f"{message_id}.{timestamp}.".encode()
    return SignedHeaders(timestamp, tuple(candidates), message_id, prefix)


def _timestamp(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or len(text) > 12:
        raise SignatureError("Malformed signature header.")
    return int(text)


def _b64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error:
        raise SignatureError("Malformed signature header.") from None


def check_timestamp(timestamp: int, now: float, tolerance: int) -> None:
    """Refuse a delivery signed too long ago, or too far in the future."""
    if abs(now - timestamp) > tolerance:
        raise SignatureError("Timestamp outside the tolerance.")


def matches(expected: Iterable[bytes], candidates: Iterable[bytes]) -> bool:
    """Whether any candidate equals any expected MAC (constant time each)."""
    found = False
    candidates = tuple(candidates)
    for mac in expected:
        for candidate in candidates:
            # No early exit: the work done does not depend on where a match is.
            found |= hmac.compare_digest(mac, candidate)
    return found


def hmac_sha256(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def verify(
    scheme: str,
    headers: Mapping[str, str],
    body: bytes,
    keys: Iterable[bytes],
    *,
    now: float,
    tolerance: int = DEFAULT_TOLERANCE,
) -> SignedHeaders:
    """Check one delivery against every configured key (any may match).

    Headers are read first and the timestamp checked before any MAC is
    computed; a failure raises ``SignatureError`` with a terse reason that
    quotes no header value. Returns the parsed headers on success.
    """
    signed = parse(scheme, headers)
    check_timestamp(signed.timestamp, now, tolerance)
    message = signed.signed_content(body)
    if not matches((hmac_sha256(k, message) for k in keys), signed.signatures):
        raise SignatureError("No matching signature.")
    return signed


def sign(
    scheme: str, secret: str, body: bytes, *, now: int, message_id: str = ""
) -> dict[str, str]:
    """Signature headers for ``body``, as a sender would write them (tests, bench)."""
    key = signing_key(secret)
    if scheme == "fastio":
        mac = hmac_sha256(key, f"{now}.".encode() + body)
        return {"Fastio-Signature": f"t={now},v1={base64.b64encode(mac).decode()}"}
    if scheme == "standard":
        mac = hmac_sha256(key, f"{message_id}.{now}.".encode() + body)
        return {
            "webhook-id": message_id,
            "webhook-timestamp": str(now),
            "webhook-signature": f"v1,{base64.b64encode(mac).decode()}",
        }
    raise ValueError(f"unknown webhook scheme {scheme!r}")
