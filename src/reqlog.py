"""The one structured log line each request writes."""

from __future__ import annotations

import json
import re
import time

# Values that look like credentials are masked wherever they end up in a log
# field (an error text can quote a header): JWTs, Bearer tokens, signatures.
_SECRETISH = re.compile(
    r"(eyJ[\w-]+\.[\w-]+\.[\w-]*|(?i:bearer)\s+\S+|v1[,=][A-Za-z0-9+/=]{16,}"
    r"|whsec_\S+|sha256=[0-9a-fA-F]{32,})"
)


def redact(text: str) -> str:
    """``text`` with anything token-shaped replaced by ``[redacted]``."""
    return _SECRETISH.sub("[redacted]", text)


class RequestLog:
    """Fields gathered while a request runs, written once at the end."""

    def __init__(self, request_id: str, method: str) -> None:
        self.started = time.time()  # perf_counter does not advance in workerd
        self.fields: dict[str, object] = {
            "request_id": request_id,
            "method": method,
            "route": None,
            "status": None,
            "bytes_in": 0,
        }

    def set(self, **fields: object) -> None:
        self.fields.update(fields)

    def line(self, status: int) -> str:
        fields = dict(self.fields)
        fields["status"] = status
        fields["ms"] = round((time.time() - self.started) * 1000, 1)
        fields["level"] = "error" if status >= 500 else "info"
        for key, value in fields.items():
            if isinstance(value, str):
                fields[key] = redact(value)
        return json.dumps(fields, separators=(",", ":"), sort_keys=False)
