"""Injected faults: which requests they hit, what they do, how often."""

from __future__ import annotations

import itertools
import re
from dataclasses import asdict, dataclass
from typing import Any

KINDS = ("delay", "status", "rate_limit", "drop", "assembly_failed", "store_failed")


@dataclass
class Fault:
    """One fault rule; `times` 0 means it applies until cleared."""

    id: int
    match: str
    kind: str
    seconds: float = 0.0
    status: int = 503
    after_bytes: int = 0
    times: int = 1
    hits: int = 0

    def matches(self, line: str) -> bool:
        """Match "METHOD /path" by regex, or by substring if not a valid regex."""
        try:
            return re.search(self.match, line) is not None
        except re.error:
            return self.match in line

    def describe(self) -> dict[str, Any]:
        """Return the rule as JSON data."""
        data = asdict(self)
        data["remaining"] = None if self.times == 0 else self.times - self.hits
        return data


class Faults:
    """The active fault rules, first match wins."""

    def __init__(self) -> None:
        self.rules: list[Fault] = []
        self._ids = itertools.count(1)

    def clear(self) -> None:
        """Remove every rule."""
        self.rules.clear()

    def add(self, spec: dict[str, Any]) -> Fault:
        """Validate a JSON spec and add it as a rule."""
        match = spec.get("match")
        kind = spec.get("kind")
        if not isinstance(match, str) or not match:
            raise ValueError("match must be a non-empty string")
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}")
        fault = Fault(id=next(self._ids), match=match, kind=kind)
        fault.seconds = _number(spec, "seconds", 0.0, float)
        fault.status = int(_number(spec, "status", 503, int))
        fault.after_bytes = int(_number(spec, "after_bytes", 0, int))
        fault.times = int(_number(spec, "times", 1, int))
        if kind == "status" and not 400 <= fault.status <= 599:
            raise ValueError("status must be an HTTP error status (400-599)")
        self.rules.append(fault)
        return fault

    def take(self, line: str, kinds: tuple[str, ...]) -> Fault | None:
        """Consume one use of the first rule of the given kinds matching line."""
        for fault in self.rules:
            if fault.kind in kinds and fault.matches(line):
                fault.hits += 1
                if fault.times and fault.hits >= fault.times:
                    self.rules.remove(fault)
                return fault
        return None


def _number(spec: dict[str, Any], key: str, default: Any, kind: type) -> Any:
    """Read a non-negative number from a spec."""
    value = spec.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{key} must be a number")
    if value < 0:
        raise ValueError(f"{key} must be >= 0")
    if kind is int and int(value) != value:
        raise ValueError(f"{key} must be an integer")
    return kind(value)
