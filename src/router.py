"""Path matching for the route table kept in ``entry.py``."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import unquote

from problems import HTTPError

_PARAM = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Route:
    """One method and path template, e.g. ``PUT /files/{name}``."""

    method: str
    template: str
    handler: Callable
    name: str = ""
    public: bool = False  # served without a JWT (health, preflight, webhooks)
    pattern: re.Pattern = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # A parameter matches one path segment; it is percent-decoded after
        # matching so an encoded "/" (%2F) cannot change which route matches.
        parts = _PARAM.split(self.template)
        regex = "".join(
            re.escape(part) if i % 2 == 0 else f"(?P<{part}>[^/]+)"
            for i, part in enumerate(parts)
        )
        object.__setattr__(self, "pattern", re.compile(f"^{regex}$"))
        if not self.name:
            object.__setattr__(self, "name", self.template)


def match(
    routes: Iterable[Route], method: str, path: str
) -> tuple[Route, dict[str, str]]:
    """The route for ``method path``; 404 if no template fits, 405 if only
    the method is wrong (with ``Allow`` listing what is)."""
    allowed: list[str] = []
    fallback = None
    for route in routes:
        found = route.pattern.match(path)
        if not found:
            continue
        params = {k: unquote(v) for k, v in found.groupdict().items()}
        if route.method == method:
            return route, params
        if method == "HEAD" and route.method == "GET" and fallback is None:
            fallback = (route, params)
        allowed.append(route.method)

    if fallback is not None:
        return fallback

    if not allowed:
        raise HTTPError(404, f"No route for {path}.")
    if "GET" in allowed and "HEAD" not in allowed:
        allowed.append("HEAD")
    if method != "OPTIONS":
        allowed.append("OPTIONS")  # entry.py answers OPTIONS on any known path
    allow = ", ".join(dict.fromkeys(allowed))
    raise HTTPError(
        405,
        f"{method} is not allowed on {path}; allowed: {allow}.",
        headers={"Allow": allow},
    )
