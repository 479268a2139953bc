"""Run-time settings of the emulator, changeable through the control API."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

MIB = 1024 * 1024

# Published figures: chunks are "1 MB to 100 MB", single calls up to 4 MiB,
# 1 GB files on the free/agent plan, up to 550 chunks per session.
DEFAULT_MIN_CHUNK = 1_000_000
DEFAULT_MAX_CHUNK = 100_000_000
DEFAULT_MAX_FILE = 1024 * MIB
DEFAULT_MAX_CHUNKS = 550
SINGLE_CALL_MAX = 4 * MIB
WAIT_CAP = 590

WEBHOOK_SCHEMES = ("fastio", "standard")


@dataclass
class Config:
    """Every tunable the emulator reads while serving."""

    api_keys: list[str] = field(default_factory=lambda: ["dev-fastio-key"])
    rate_limit: int = 0
    rate_window: float = 60.0
    assembly_delay: float = 0.0
    min_chunk_size: int = DEFAULT_MIN_CHUNK
    max_chunk_size: int = DEFAULT_MAX_CHUNK
    max_file_size: int = DEFAULT_MAX_FILE
    max_chunks: int = DEFAULT_MAX_CHUNKS
    webhook_url: str | None = None
    webhook_scheme: str = "fastio"
    webhook_secret: str | None = None
    webhook_max_attempts: int = 5
    webhook_backoff: float = 0.2
    webhook_timeout: float = 5.0

    def copy(self) -> Config:
        """Return an independent copy (used to restore settings on reset)."""
        return dataclasses.replace(self, api_keys=list(self.api_keys))

    def public(self) -> dict[str, Any]:
        """Describe the settings without revealing the webhook secret."""
        data = dataclasses.asdict(self)
        data.pop("webhook_secret")
        data.pop("api_keys")
        data["webhook_secret_set"] = bool(self.webhook_secret)
        data["api_key_count"] = len(self.api_keys)
        return data

    def update(self, changes: dict[str, Any]) -> None:
        """Apply a JSON patch of settings, validating every field first."""
        staged = self.copy()
        for key, value in changes.items():
            _apply(staged, key, value)
        for f in dataclasses.fields(self):
            setattr(self, f.name, getattr(staged, f.name))


_NUMBERS = {
    "rate_limit": (int, 0),
    "rate_window": (float, 0.001),
    "assembly_delay": (float, 0.0),
    "min_chunk_size": (int, 0),
    "max_chunk_size": (int, 1),
    "max_file_size": (int, 0),
    "max_chunks": (int, 1),
    "webhook_max_attempts": (int, 1),
    "webhook_backoff": (float, 0.0),
    "webhook_timeout": (float, 0.01),
}


def _apply(cfg: Config, key: str, value: Any) -> None:
    """Set one field on cfg, raising ValueError for bad names or values."""
    if key in _NUMBERS:
        kind, minimum = _NUMBERS[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{key} must be a number")
        if kind is int and int(value) != value:
            raise ValueError(f"{key} must be an integer")
        if value < minimum:
            raise ValueError(f"{key} must be >= {minimum}")
        setattr(cfg, key, kind(value))
    elif key == "webhook_scheme":
        if value not in WEBHOOK_SCHEMES:
            raise ValueError(f"webhook_scheme must be one of {WEBHOOK_SCHEMES}")
        cfg.webhook_scheme = value
    elif key in ("webhook_url", "webhook_secret"):
        if value is not None and not isinstance(value, str):
            raise ValueError(f"{key} must be a string or null")
        setattr(cfg, key, value or None)
    elif key == "api_keys":
        if not isinstance(value, list) or not all(
            isinstance(k, str) and k for k in value
        ):
            raise ValueError("api_keys must be a list of non-empty strings")
        cfg.api_keys = list(value)
    else:
        raise ValueError(f"unknown setting {key!r}")
