"""``GET /healthz``: what is running, for probes and for humans."""

from __future__ import annotations

import sys

import pyodide

from ffi import json_response

VERSION = "0.1.0"


async def healthz(call) -> object:
    """Product version and the Python and Pyodide versions the Worker runs on."""
    return json_response(
        {
            "status": "ok",
            "version": VERSION,
            "python": ".".join(str(part) for part in sys.version_info[:3]),
            "pyodide": pyodide.__version__,
        },
        headers={"Cache-Control": "no-store"},
    )
