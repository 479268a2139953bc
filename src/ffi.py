"""Small helpers at the Python/JavaScript boundary (Pyodide FFI)."""

from __future__ import annotations

import json

from js import Headers, Object, Response
from pyodide.ffi import to_js

from problems import HTTPError


def js_object(value: dict) -> object:
    """A plain JS object from a dict (a bare dict would become a JS Map)."""
    return to_js(value, dict_converter=Object.fromEntries)


def headers_of(request_or_response: object) -> dict[str, str]:
    """All headers, names lowercased, as a Python dict."""
    return {k.lower(): v for k, v in request_or_response.headers.entries()}


def make_response(
    body: object = None, status: int = 200, headers: dict[str, str] | None = None
) -> object:
    """A JS ``Response``; ``body`` may be str, bytes, a JS stream or None."""
    js_headers = Headers.new(to_js(list((headers or {}).items())))
    if isinstance(body, bytes | bytearray):
        body = to_js(body)
    return Response.new(body, js_object({"status": status, "headers": js_headers}))


def json_response(
    data: object, status: int = 200, headers: dict[str, str] | None = None
) -> object:
    all_headers = {"Content-Type": "application/json"}
    all_headers.update(headers or {})
    return make_response(json.dumps(data), status, all_headers)


def problem_response(err: HTTPError, instance: str | None = None) -> object:
    headers = {"Content-Type": "application/problem+json"}
    headers.update(err.headers)
    return make_response(json.dumps(err.body(instance)), err.status, headers)
