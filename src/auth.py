"""Client authentication at the edge (placeholder until the JWT module lands)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ffi import json_response
from problems import HTTPError


@dataclass(frozen=True)
class Principal:
    """Who is calling: the token's subject and how they proved it."""

    sub: str
    method: str
    claims: dict = field(default_factory=dict)


async def authenticate(call) -> Principal:
    raise HTTPError(
        401, "Authentication required.", headers={"WWW-Authenticate": "Bearer"}
    )


async def whoami(call) -> object:
    """``GET /whoami``: the caller's subject, so clients can test a token."""
    return json_response({"sub": call.principal.sub, "method": call.principal.method})
