"""Mint JWTs for tests: HS256 with the shared secret, RS256 and ES256 with
keys generated once per test session and published through the test JWKS.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

JWT_SECRET = "test-hs256-secret-that-is-long-enough-0123456789"
JWT_ISSUER = "https://issuer.test"
JWT_AUDIENCE = "fastio-edge"
ACCESS_AUD = "4714c1358e65fe4b408ad6d432a5f878f08194bdb4752441fd56faefa9b2b6f2"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _segment(value: dict) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def default_claims(sub: str = "user-1", **overrides: object) -> dict:
    """Claims the test Worker accepts; an override of None drops the claim."""
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


def encode(header: dict, claims: dict, signature: bytes = b"") -> str:
    """A compact JWT with any header and signature (for forged tokens)."""
    return f"{_segment(header)}.{_segment(claims)}.{b64url(signature)}"


def hs256(
    claims: dict, secret: str | bytes = JWT_SECRET, header: dict | None = None
) -> str:
    head = {"alg": "HS256", "typ": "JWT", **(header or {})}
    key = secret.encode() if isinstance(secret, str) else secret
    signing_input = f"{_segment(head)}.{_segment(claims)}"
    mac = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(mac)}"


def bearer(sub: str = "user-1", **overrides: object) -> dict[str, str]:
    """An Authorization header with a valid HS256 token for ``sub``."""
    return {"Authorization": f"Bearer {hs256(default_claims(sub, **overrides))}"}


@dataclass(frozen=True)
class SigningKey:
    """A private key with its ``kid``; signs JWTs and exports its public JWK."""

    kid: str
    alg: str  # RS256 or ES256
    private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

    def sign(self, claims: dict, header: dict | None = None) -> str:
        head = {"alg": self.alg, "typ": "JWT", "kid": self.kid, **(header or {})}
        head = {k: v for k, v in head.items() if v is not None}
        signing_input = f"{_segment(head)}.{_segment(claims)}".encode()
        return f"{signing_input.decode()}.{b64url(self.signature(signing_input))}"

    def signature(self, data: bytes) -> bytes:
        if self.alg == "RS256":
            return self.private.sign(data, padding.PKCS1v15(), hashes.SHA256())
        # JWS wants the raw r||s pair, 32 bytes each (RFC 7518 §3.4), not DER.
        r, s = decode_dss_signature(self.private.sign(data, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    def jwk(self, **extra: object) -> dict:
        """The public key as a JWK (``extra`` overrides members, None drops)."""
        numbers = self.private.public_key().public_numbers()
        if self.alg == "RS256":
            jwk = {
                "kty": "RSA",
                "n": b64url(_unsigned(numbers.n)),
                "e": b64url(_unsigned(numbers.e)),
            }
        else:
            jwk = {
                "kty": "EC",
                "crv": "P-256",
                "x": b64url(numbers.x.to_bytes(32, "big")),
                "y": b64url(numbers.y.to_bytes(32, "big")),
            }
        jwk.update({"kid": self.kid, "alg": self.alg, "use": "sig"})
        jwk.update(extra)
        return {k: v for k, v in jwk.items() if v is not None}

    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo,
        )


def _unsigned(value: int) -> bytes:
    return value.to_bytes((value.bit_length() + 7) // 8, "big")


def rsa_key(kid: str, bits: int = 2048) -> SigningKey:
    private = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return SigningKey(kid, "RS256", private)


def ec_key(kid: str) -> SigningKey:
    return SigningKey(kid, "ES256", ec.generate_private_key(ec.SECP256R1()))


# The identity provider's keys for the whole test session.
RSA_KEY = rsa_key("rsa-1")
EC_KEY = ec_key("ec-1")


def default_jwks() -> list[dict]:
    """The JWKS the test identity provider serves by default."""
    return [RSA_KEY.jwk(), EC_KEY.jwk()]


def rs256(claims: dict, key: SigningKey = RSA_KEY, header: dict | None = None) -> str:
    return key.sign(claims, header)


def es256(claims: dict, key: SigningKey = EC_KEY, header: dict | None = None) -> str:
    return key.sign(claims, header)
