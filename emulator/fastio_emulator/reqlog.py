"""A bounded log of the API requests that reached the emulator."""

from __future__ import annotations

import collections
import itertools
import time
from typing import Any

MAX_ENTRIES = 2000


class RequestLog:
    """Keeps the most recent requests, never any credential values."""

    def __init__(self) -> None:
        self.entries: collections.deque[dict[str, Any]] = collections.deque(
            maxlen=MAX_ENTRIES
        )
        self._ids = itertools.count(1)

    def clear(self) -> None:
        """Forget every entry."""
        self.entries.clear()

    def add(self, **entry: Any) -> None:
        """Append one request record."""
        entry["id"] = next(self._ids)
        entry["time"] = time.time()
        self.entries.append(entry)

    def snapshot(self) -> list[dict[str, Any]]:
        """Return the entries, oldest first."""
        return list(self.entries)
