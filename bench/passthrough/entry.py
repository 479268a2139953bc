"""Baseline Worker for bench/uploads.py: the body straight to Fast.io.

``PUT /stream/{session_id}`` hands ``request.body`` untouched to ``fetch``
towards that (already created) Fast.io stream session: no inspection, no
hashing, no size cap, no Python in the data path. It is what the inspected
upload in ``src/`` is compared with; it is never deployed.
"""

from js import Object, Response, fetch
from pyodide.ffi import to_js


def js_object(value: dict) -> object:
    return to_js(value, dict_converter=Object.fromEntries)


async def on_fetch(request, env, ctx):
    path = "/" + request.url.split("://", 1)[1].split("/", 1)[1]
    if path == "/healthz":
        return Response.new("ok")
    if not path.startswith("/stream/") or request.method != "PUT":
        return Response.new("not found", js_object({"status": 404}))

    session_id = path.removeprefix("/stream/")
    url = f"{env.FASTIO_BASE_URL}upload/{session_id}/stream/"
    headers = {
        "Authorization": f"Bearer {env.FASTIO_API_KEY}",
        "Content-Type": "application/octet-stream",
    }
    return await fetch(
        url,
        js_object({"method": "POST", "body": request.body, "headers": headers}),
    )
