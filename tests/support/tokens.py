"""Mint JWTs for tests (HS256 here; RS256/ES256 keys live beside it)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

JWT_SECRET = "test-hs256-secret-that-is-long-enough-0123456789"
JWT_ISSUER = "https://issuer.test"
JWT_AUDIENCE = "fastio-edge"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def default_claims(sub: str = "user-1", **overrides: object) -> dict:
    now = int(time.time())
    claims = {
        "sub": sub,
        "iss": JWT_ISSUER,
        "aud": JWT_AUDIENCE,
        "iat": now,
        "nbf": now,
        "exp": now + 600,
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def hs256(claims: dict, secret: str = JWT_SECRET, header: dict | None = None) -> str:
    head = {"alg": "HS256", "typ": "JWT", **(header or {})}
    signing_input = (
        f"{b64url(json.dumps(head).encode())}.{b64url(json.dumps(claims).encode())}"
    )
    mac = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(mac)}"


def bearer(sub: str = "user-1", **overrides: object) -> dict[str, str]:
    """An Authorization header with a valid HS256 token for ``sub``."""
    return {"Authorization": f"Bearer {hs256(default_claims(sub, **overrides))}"}
