"""Outbound webhook delivery: signing, retries with backoff, and a delivery record."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import time
from typing import Any

import aiohttp

from .state import Emulator

USER_AGENT = "fastio-emulator-webhooks/1"


def signing_key(secret: str) -> bytes:
    """Turn a configured secret into HMAC key bytes (whsec_ means base64)."""
    if secret.startswith("whsec_"):
        return base64.b64decode(secret.removeprefix("whsec_"))
    return secret.encode()


def _mac(key: bytes, message: bytes) -> str:
    """Base64 HMAC-SHA256."""
    return base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()


def sign(
    scheme: str, secret: str | None, event_id: str, body: bytes, now: int
) -> dict[str, str]:
    """Build the signature headers of one delivery attempt."""
    if scheme == "standard":
        headers = {"webhook-id": event_id, "webhook-timestamp": str(now)}
        if secret:
            msg = f"{event_id}.{now}.".encode() + body
            headers["webhook-signature"] = "v1," + _mac(signing_key(secret), msg)
        return headers
    if not secret:
        return {}
    mac = _mac(signing_key(secret), f"{now}.".encode() + body)
    return {"Fastio-Signature": f"t={now},v1={mac}"}


class Webhooks:
    """Sends stored events to the configured URL and remembers every attempt."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.records: dict[str, dict[str, Any]] = {}
        self.session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        """Open the HTTP client."""
        self.session = aiohttp.ClientSession()

    async def close(self) -> None:
        """Close the HTTP client."""
        if self.session is not None:
            await self.session.close()

    def clear(self) -> None:
        """Forget every delivery record."""
        self.records.clear()

    def snapshot(self) -> list[dict[str, Any]]:
        """Return every delivery record, oldest first."""
        return list(self.records.values())

    def enqueue(self, event_id: str, event_type: str) -> bool:
        """Start delivering an event in the background, if a URL is set."""
        url = self.emu.config.webhook_url
        if not url:
            return False
        rec = self.records.setdefault(
            event_id,
            {
                "id": event_id,
                "event": event_type,
                "attempts": 0,
                "last_status": None,
                "last_error": None,
                "delivered": False,
                "history": [],
            },
        )
        rec["url"] = url
        self.emu.spawn(self._deliver(event_id, url, rec))
        return True

    async def _deliver(self, event_id: str, url: str, rec: dict[str, Any]) -> None:
        """Post the event until a 2xx answer or the attempts run out."""
        cfg = self.emu.config
        raw = self.emu.store.event_body(event_id)
        if raw is None or self.session is None:
            return
        body = raw.encode()
        delay = cfg.webhook_backoff
        for attempt in range(cfg.webhook_max_attempts):
            if attempt:
                await asyncio.sleep(delay)
                delay *= 2
            status, error = await self._post(url, event_id, body)
            rec["attempts"] += 1
            rec["last_status"] = status
            rec["last_error"] = error
            rec["history"].append({"at": time.time(), "status": status, "error": error})
            if status is not None and 200 <= status < 300:
                rec["delivered"] = True
                return

    async def _post(
        self, url: str, event_id: str, body: bytes
    ) -> tuple[int | None, str | None]:
        """Make one signed attempt; return (status, error)."""
        cfg = self.emu.config
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
        headers.update(
            sign(
                cfg.webhook_scheme, cfg.webhook_secret, event_id, body, int(time.time())
            )
        )
        assert self.session is not None
        try:
            async with self.session.post(
                url,
                data=body,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=cfg.webhook_timeout),
            ) as resp:
                await resp.read()
                return resp.status, None
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            return None, f"{type(exc).__name__}: {exc}"
