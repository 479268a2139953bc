"""Fast.io's JSON envelope: success and error bodies, and the error codes used."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

API_VERSION = "1.0"

# Codes the public sources name; the rest are the emulator's own choices
# (each is listed in emulator/README.md).
INVALID_INPUT = 1605
NOT_FOUND = 1609
RATE_LIMITED = 1671
UNKNOWN_ROUTE = 9992
SIZE_MISMATCH = 10522
HASH_MISMATCH = 10778
CONFLICT = 10779
# Chosen here: the sources give only the HTTP status (406) or nothing.
UNAUTHORIZED = 1650
WRONG_SESSION_MODE = 10523
TOO_LARGE = 10524
SERVER_ERROR = 1000

_ERROR_NAMES = {
    INVALID_INPUT: "INVALID_INPUT",
    NOT_FOUND: "NOT_FOUND",
    RATE_LIMITED: "RATE_LIMITED",
    UNKNOWN_ROUTE: "ROUTE_NOT_FOUND",
    SIZE_MISMATCH: "UPLOAD_SIZE_MISMATCH",
    HASH_MISMATCH: "UPLOAD_HASH_MISMATCH",
    CONFLICT: "CONFLICT",
    UNAUTHORIZED: "AUTH_INVALID",
    WRONG_SESSION_MODE: "UPLOAD_WRONG_MODE",
    TOO_LARGE: "UPLOAD_TOO_LARGE",
    SERVER_ERROR: "SERVER_ERROR",
}


@dataclass(eq=False)
class ApiError(Exception):
    """An API failure that becomes an error envelope with an HTTP status."""

    status: int
    code: int
    text: str
    params: list[dict[str, str]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.text}"


def invalid(param: str, reason: str) -> ApiError:
    """Build a 1605 error that names the offending parameter."""
    return ApiError(
        400,
        INVALID_INPUT,
        f"Invalid value for '{param}': {reason}",
        params=[{"name": param, "reason": reason}],
    )


def not_found(what: str) -> ApiError:
    """Build a 1609 error for a missing object."""
    return ApiError(404, NOT_FOUND, f"{what} was not found")


def ok(payload: dict[str, Any], status: int = 200) -> web.Response:
    """Wrap a payload in the success envelope."""
    body = {"result": "yes", "response": payload, "current_api_version": API_VERSION}
    return web.json_response(body, status=status)


def error_body(
    code: int, text: str, params: list[dict[str, str]] | None = None
) -> dict[str, Any]:
    """Build the failure envelope as a dict."""
    err: dict[str, Any] = {
        "code": code,
        "text": text,
        "error_code": _ERROR_NAMES.get(code, "ERROR"),
    }
    if params:
        err["params"] = params
    return {"result": "no", "error": err, "current_api_version": API_VERSION}


def fail(
    status: int,
    code: int,
    text: str,
    params: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    """Build a failure envelope response."""
    return web.json_response(
        error_body(code, text, params), status=status, headers=headers
    )


def from_error(err: ApiError) -> web.Response:
    """Turn an ApiError into its response."""
    headers = dict(err.headers)
    close = headers.pop("Connection", "").lower() == "close"
    resp = fail(err.status, err.code, err.text, err.params, headers)
    if close:
        # The rest of the body is unwanted; do not keep the connection.
        resp.force_close()
    return resp
