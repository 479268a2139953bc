"""Fixed-window request counting with Fast.io's x-ve-limit-* headers."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass


@dataclass
class Window:
    """One caller's count in the current window."""

    started: float
    used: int = 0


class RateLimiter:
    """Counts requests per caller in fixed windows of rate_window seconds."""

    def __init__(self) -> None:
        self.windows: dict[str, Window] = {}

    def reset(self) -> None:
        """Forget every caller's count."""
        self.windows.clear()

    def hit(
        self, caller: str, limit: int, window: float
    ) -> tuple[bool, dict[str, str]]:
        """Count one request; return (allowed, headers to send)."""
        now = time.time()
        w = self.windows.get(caller)
        if w is None or now >= w.started + window:
            w = self.windows[caller] = Window(started=now)
        allowed = w.used < limit
        if allowed:
            w.used += 1
        return allowed, limit_headers(limit - w.used, limit, w.started + window)


def limit_headers(avail: int, limit: int, expires: float) -> dict[str, str]:
    """Build the three x-ve-limit-* headers."""
    return {
        "x-ve-limit-avail": str(max(avail, 0)),
        "x-ve-limit-max": str(limit),
        "x-ve-limit-expires": str(math.ceil(expires)),
    }
