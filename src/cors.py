"""CORS headers for configured origins (Fetch standard, "CORS protocol")."""

from __future__ import annotations

ALLOW_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
ALLOW_HEADERS = (
    "Authorization, Content-Type, Content-Digest, Want-Repr-Digest, "
    "Tus-Resumable, Upload-Length, Upload-Offset, Upload-Metadata, "
    "Upload-Checksum, Upload-Defer-Length, Upload-Concat, "
    "X-HTTP-Method-Override, X-Requested-With"
)
EXPOSE_HEADERS = (
    "Location, Repr-Digest, Retry-After, X-Request-Id, X-Fastio-File-Id, "
    "Tus-Resumable, Tus-Version, Tus-Extension, Tus-Max-Size, "
    "Tus-Checksum-Algorithm, Upload-Offset, Upload-Length, Upload-Metadata, "
    "Upload-Expires, X-Chunk-Size"
)


def is_allowed_origin(origin: str | None, allowed: list[str]) -> bool:
    """Exact match against the list; ``*`` admits every origin."""
    if not origin:
        return False
    return "*" in allowed or origin in allowed


def cors_headers(
    origin: str | None, allowed: list[str], *, preflight: bool, max_age: int
) -> dict[str, str]:
    """Headers to add to a response; empty for a disallowed or absent origin.

    With ``*`` configured the answer is the literal ``*`` and credentials are
    never allowed; with an exact list the origin is echoed, so the answer
    varies by ``Origin`` and caches must key on it.
    """
    headers = {"Vary": "Origin"}
    if not is_allowed_origin(origin, allowed):
        return headers

    wildcard = "*" in allowed
    headers["Access-Control-Allow-Origin"] = "*" if wildcard else str(origin)
    if not wildcard:
        # Cookies are never used, but an Authorization header sent with
        # credentials mode "include" (as some upload widgets do) needs this.
        headers["Access-Control-Allow-Credentials"] = "true"
    if preflight:
        headers["Access-Control-Allow-Methods"] = ALLOW_METHODS
        headers["Access-Control-Allow-Headers"] = ALLOW_HEADERS
        headers["Access-Control-Max-Age"] = str(max_age)
    else:
        headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
    return headers
