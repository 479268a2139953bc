"""Errors that end a request, and their RFC 9457 problem+json bodies.

Every module raises ``HTTPError`` (or a subclass) for a failure the client
should see; ``entry.py`` turns it into a response in one place. This module is
pure Python so it can be unit-tested in CPython.
"""

from __future__ import annotations

from http import HTTPStatus

PROBLEM_TYPE_BASE = "https://fastio-edge.dev/problems/"
# Fixed here rather than taken from http.HTTPStatus, whose phrases changed in
# Python 3.13 (413 became "Content Too Large"): titles and the problem types
# derived from them must not depend on which runtime serves the request.
PHRASES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    410: "Gone",
    412: "Precondition Failed",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    423: "Locked",
    429: "Too Many Requests",
    460: "Checksum Mismatch",  # tus 1.0, checksum extension
    500: "Internal Server Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def status_phrase(status: int) -> str:
    if status in PHRASES:
        return PHRASES[status]
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


class HTTPError(Exception):
    """A failure with an HTTP status, rendered as application/problem+json."""

    def __init__(
        self,
        status: int,
        detail: str | None = None,
        *,
        code: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: object,
    ) -> None:
        self.status = status
        self.title = status_phrase(status)
        self.detail = detail or self.title
        # A short machine-readable name for the failure; it becomes the
        # problem "type" so clients can branch on it without parsing text.
        self.code = code or self.title.lower().replace(" ", "-")
        self.headers = dict(headers or {})
        self.extra = extra
        super().__init__(f"{status} {self.detail}")

    def body(self, instance: str | None = None) -> dict[str, object]:
        """The problem document (RFC 9457 members plus extension members)."""
        doc: dict[str, object] = {
            "type": PROBLEM_TYPE_BASE + self.code,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            doc["instance"] = instance
        doc.update(self.extra)
        return doc


class ConfigError(HTTPError):
    """A setting the route needs is missing or invalid (a deployment fault)."""

    def __init__(self, setting: str, why: str = "is not set") -> None:
        super().__init__(
            500,
            f"Server misconfigured: setting {setting} {why}.",
            code="misconfigured",
            setting=setting,
        )
        self.setting = setting
