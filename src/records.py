"""Read API over the D1 records: files, events, and Fast.io search."""

from __future__ import annotations

from problems import HTTPError


async def list_files(call) -> object:
    raise HTTPError(501, "Not built yet.")


async def list_events(call) -> object:
    raise HTTPError(501, "Not built yet.")


async def search(call) -> object:
    raise HTTPError(501, "Not built yet.")


async def poll_now(call) -> object:
    raise HTTPError(501, "Not built yet.")
