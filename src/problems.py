"""Errors that end a request, and their RFC 9457 problem+json bodies.

Every module raises ``HTTPError`` (or a subclass) for a failure the client
should see; ``entry.py`` turns it into a response in one place. This module is
pure Python so it can be unit-tested in CPython.
"""

from __future__ import annotations

from http import HTTPStatus

PROBLEM_TYPE_BASE = "https://fastio-edge.dev/problems/"
# Statuses outside the IANA registry that a protocol here defines.
EXTRA_PHRASES = {460: "Checksum Mismatch"}  # tus 1.0, checksum extension


def status_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return EXTRA_PHRASES.get(status, "Error")


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
