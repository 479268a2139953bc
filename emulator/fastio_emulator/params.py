"""Parsing and validating request parameters into 1605 errors."""

from __future__ import annotations

import re
from collections.abc import Mapping

from .envelope import invalid

INSTANCE_ID = re.compile(r"^\d{19}$")
OPAQUE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def int_param(
    q: Mapping[str, str], name: str, default: int | None, low: int, high: int | None
) -> int:
    """Read an integer within [low, high], or the default when absent."""
    raw = q.get(name)
    if raw is None or raw == "":
        if default is None:
            raise invalid(name, "required")
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid(name, "must be an integer") from None
    if value < low or (high is not None and value > high):
        bounds = f">= {low}" if high is None else f"between {low} and {high}"
        raise invalid(name, f"must be {bounds}")
    return value


def wait_param(q: Mapping[str, str], cap: float) -> float:
    """Read a long-poll `wait` in seconds, capped."""
    raw = q.get("wait")
    if raw is None or raw == "":
        return 0.0
    try:
        value = float(raw)
    except ValueError:
        raise invalid("wait", "must be a number of seconds") from None
    if value < 0:
        raise invalid("wait", "must be >= 0")
    return min(value, cap)


def bool_param(q: Mapping[str, str], name: str) -> bool:
    """Read a true/false flag."""
    raw = (q.get(name) or "").strip().lower()
    if raw in ("", "false", "0", "no"):
        return False
    if raw in ("true", "1", "yes"):
        return True
    raise invalid(name, "must be true or false")


def instance_id(value: str | None, name: str = "instance_id") -> str:
    """Check a 19-digit workspace or share id."""
    if not value:
        raise invalid(name, "required")
    if not INSTANCE_ID.match(value):
        raise invalid(name, "must be a 19-digit workspace or share id")
    return value


def folder_id(value: str | None) -> str:
    """Check a folder id (`root` or an opaque id)."""
    if not value:
        raise invalid("folder_id", "required (a folder id or 'root')")
    if not OPAQUE_ID.match(value):
        raise invalid("folder_id", "must be 'root' or a folder id")
    return value


def file_name(value: str | None) -> str:
    """Check a file name."""
    if value is None or value.strip() == "":
        raise invalid("name", "required")
    if len(value) > 255:
        raise invalid("name", "at most 255 characters")
    if value in (".", "..") or any(c in value for c in "/\\\x00"):
        raise invalid("name", "must not contain '/', '\\' or NUL")
    return value
