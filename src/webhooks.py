"""Fast.io webhooks: verify, record once, process after the response.

``POST /webhooks/fastio`` answers fast and does the work later:

1. settings (scheme, secrets, tolerance) are checked: 500 naming the setting;
2. the signature headers are parsed and their timestamp checked, before a
   byte of the body is read: 401;
3. the body is read with a 1 MiB cap (413), and its MAC compared with every
   configured secret, so an old secret keeps working during a rotation: 401;
4. only then is it parsed: a signed body that is not a JSON event is 400 and
   not recorded (the sender's bug, and a retry would not fix it);
5. the event is recorded once by id (202 for a new one, 200 for a duplicate)
   and processed after the response with ``ctx.waitUntil``.

Why ``waitUntil`` and not a Queue: the pinned offline runtime never calls a
Python queue consumer (only ``fetch`` reaches Python there), so work queued
locally would never run. The events table does a queue's job instead: a
failed event is retried by the next delivery of its id or by the poller.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import events
import pipeline
import signatures
import webcrypto
from config import Config
from ffi import headers_of, json_response
from problems import ConfigError, HTTPError

MAX_BODY_BYTES = 1024 * 1024


@dataclass(frozen=True)
class WebhookSettings:
    """How deliveries are verified: scheme, keys (several during rotation)."""

    scheme: str
    keys: tuple[bytes, ...]
    tolerance: int

    @classmethod
    def from_config(cls, config: Config) -> WebhookSettings:
        scheme = config.require("WEBHOOK_SCHEME")
        if scheme not in signatures.SCHEMES:
            raise ConfigError("WEBHOOK_SCHEME", "must be fastio or standard")
        secrets = config.items("WEBHOOK_SECRETS")
        if not secrets:
            raise ConfigError("WEBHOOK_SECRETS")
        try:
            keys = tuple(signatures.signing_key(s) for s in secrets)
        except ValueError:
            raise ConfigError(
                "WEBHOOK_SECRETS", "has a whsec_ entry that is not base64"
            ) from None
        tolerance = config.integer("WEBHOOK_TOLERANCE_SECONDS", minimum=1)
        return cls(scheme, keys, tolerance)


def unauthorized(reason: str) -> HTTPError:
    # The reason is one of signatures' fixed texts: it never quotes a header.
    return HTTPError(
        401,
        reason,
        code="invalid-signature",
        headers={"WWW-Authenticate": 'Signature realm="webhooks"'},
    )


async def receive(call) -> object:
    """``POST /webhooks/fastio``: one signed delivery."""
    settings = WebhookSettings.from_config(call.config)
    headers = headers_of(call.request)

    try:
        signed = signatures.parse(settings.scheme, headers)
        signatures.check_timestamp(signed.timestamp, time.time(), settings.tolerance)
    except signatures.SignatureError as exc:
        raise unauthorized(str(exc)) from None

    body = await read_capped(call.request, MAX_BODY_BYTES)
    call.log.set(bytes_in=len(body))
    message = signed.signed_content(body)
    macs = [await webcrypto.hmac_sha256(key, message) for key in settings.keys]
    if not signatures.matches(macs, signed.signatures):
        raise unauthorized("No matching signature.")

    try:
        payload = events.parse_body(body)
        event_id = events.event_id(payload, body, signed.message_id)
        event = events.from_payload(payload, event_id)
    except events.PayloadError as exc:
        raise HTTPError(400, str(exc), code="invalid-event") from None

    outcome = await pipeline.admit(call.env.DB, event, "webhook")
    call.log.set(event_id=event.id, event_type=event.type, outcome=outcome)
    if outcome == pipeline.DUPLICATE:
        return json_response({"id": event.id, "duplicate": True}, 200)

    work = pipeline.run(
        call.env, event, claimed=outcome == pipeline.RETRY, source="webhook"
    )
    call.wait_until(work)
    return json_response({"id": event.id, "duplicate": False}, 202)


async def read_capped(request: object, limit: int) -> bytes:
    """The whole body, refusing (413) one over ``limit`` bytes.

    A declared Content-Length is checked first; a chunked body is counted as
    it arrives, and reading stops before more than ``limit`` bytes are held.
    """
    too_large = HTTPError(
        413, f"Webhook bodies are limited to {limit} bytes.", limit=limit
    )
    declared = request.headers.get("content-length")
    if declared is not None:
        if not (declared.strip().isascii() and declared.strip().isdigit()):
            raise HTTPError(400, "Content-Length is not a number.")
        if int(declared) > limit:
            raise too_large

    stream = request.body
    if stream is None:
        return b""
    reader = stream.getReader()
    body = bytearray()
    while True:
        chunk = await reader.read()
        if chunk.done:
            break
        data = chunk.value.to_bytes()
        if len(body) + len(data) > limit:
            await reader.cancel()
            raise too_large
        body += data
    return bytes(body)
