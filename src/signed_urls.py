"""Upload tokens: what makes a Worker URL an upload credential for one file.

Fast.io has no presigned URLs and every upload call needs the API key, so the
Worker signs its own. A token binds one Fast.io session, its uploader, the
file size and an expiry, and nothing else; it is HMAC-SHA256 over those with
a key named by a key id, so keys rotate by adding a new first key:

    v1.<kid>.<base64url(JSON claims)>.<base64url(HMAC)>
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from dataclasses import dataclass

from problems import ConfigError, HTTPError

VERSION = "v1"


@dataclass(frozen=True)
class UploadGrant:
    """What a valid token allows: one session, for one uploader, until exp."""

    session_id: str
    uploader: str
    size: int
    expires_at: int


def parse_keys(raw: str | None) -> list[tuple[str, bytes]]:
    """``kid:secret,kid:secret`` from UPLOAD_URL_KEYS; the first one signs."""
    keys = []
    for item in (raw or "").split(","):
        kid, sep, secret = item.strip().partition(":")
        if not item.strip():
            continue
        if not sep or not kid.isalnum() or len(secret) < 16:
            raise ConfigError(
                "UPLOAD_URL_KEYS", "must be kid:secret pairs (secret >= 16 chars)"
            )
        keys.append((kid, secret.encode()))
    if not keys:
        raise ConfigError("UPLOAD_URL_KEYS")
    return keys


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(grant: UploadGrant, keys: list[tuple[str, bytes]]) -> str:
    kid, secret = keys[0]
    claims = {
        "sid": grant.session_id,
        "sub": grant.uploader,
        "size": grant.size,
        "exp": grant.expires_at,
    }
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = f"{VERSION}.{kid}.{payload}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(mac)}"


def verify(
    token: str, keys: list[tuple[str, bytes]], now: float | None = None
) -> UploadGrant:
    """The grant a token carries; 401 for anything forged, unknown or expired."""
    parts = token.split(".")
    if len(parts) != 4 or parts[0] != VERSION:
        raise _invalid("malformed upload token")
    _, kid, payload, signature = parts
    secret = dict(keys).get(kid)
    if secret is None:
        raise _invalid("unknown upload token key")
    expected = hmac.new(
        secret, f"{VERSION}.{kid}.{payload}".encode(), hashlib.sha256
    ).digest()
    try:
        given = _unb64(signature)
        claims = json.loads(_unb64(payload))
    except (binascii.Error, ValueError):
        raise _invalid("malformed upload token") from None
    if not hmac.compare_digest(given, expected):
        raise _invalid("upload token signature mismatch")
    try:
        grant = UploadGrant(
            str(claims["sid"]), str(claims["sub"]), int(claims["size"]),
            int(claims["exp"]),
        )  # fmt: skip
    except (KeyError, TypeError, ValueError):
        raise _invalid("malformed upload token") from None
    if grant.expires_at <= (now if now is not None else time.time()):
        raise _invalid("upload token expired")
    return grant


def _invalid(reason: str) -> HTTPError:
    return HTTPError(
        401,
        f"Invalid upload URL: {reason}.",
        code="invalid-upload-token",
        headers={
            "WWW-Authenticate": 'Bearer realm="fastio-edge", error="invalid_token"'
        },
    )
