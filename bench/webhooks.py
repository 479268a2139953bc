"""Webhook benchmark: 1,000 signed deliveries, 20% duplicates, 50 at a time.

Starts its own emulator and Worker (``wrangler dev``), plus a local chat
channel that counts the notification each processed event sends, then
reports delivery latency, how many events were processed, lost (sent but
never processed) and processed twice (notified more than once). Both of the
last two must be 0.

    .venv/bin/python bench/webhooks.py [--deliveries 1000] [--duplicates 0.2]
                                       [--concurrency 50]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

from support import procs  # noqa: E402
from support.deliveries import WEBHOOK_SECRET, file_event, signed  # noqa: E402
from support.receiver import Receiver  # noqa: E402
from support.tokens import JWT_AUDIENCE, JWT_ISSUER, JWT_SECRET, bearer  # noqa: E402

SENDER_ATTEMPTS = 5


def worker_vars(emulator: procs.Emulator, notify_url: str) -> dict[str, str]:
    return {
        "FASTIO_BASE_URL": emulator.base_url,
        "FASTIO_API_KEY": procs.TEST_API_KEY,
        "FASTIO_WORKSPACE_ID": procs.TEST_WORKSPACE_ID,
        "JWT_SECRET": JWT_SECRET,
        "JWT_ISSUER": JWT_ISSUER,
        "JWT_AUDIENCE": JWT_AUDIENCE,
        "JWT_ALGORITHMS": "HS256",
        "WEBHOOK_SCHEME": "fastio",
        "WEBHOOK_SECRETS": WEBHOOK_SECRET,
        "NOTIFY_URL": notify_url,
        "UPSTREAM_TIMEOUT_SECONDS": "10",
    }


def plan(deliveries: int, duplicate_share: float, seed: int) -> list[dict]:
    """The events to send, in order: originals, with repeats mixed in."""
    rng = random.Random(seed)
    repeats = int(deliveries * duplicate_share)
    originals = [file_event(name=f"bench-{i}.bin") for i in range(deliveries - repeats)]
    order = list(originals)
    for _ in range(repeats):
        # A repeat lands somewhere after a random original: some race it.
        original = rng.randrange(len(originals))
        order.insert(rng.randrange(original + 1, len(order) + 1), originals[original])
    return order


async def send_all(url: str, order: list[dict], concurrency: int) -> dict:
    """Deliver every event, retrying a failed attempt as a webhook sender would
    (a connection error or a 5xx); the latency is that of each attempt."""
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []
    statuses: dict[str, int] = {}

    def count(outcome: str) -> None:
        statuses[outcome] = statuses.get(outcome, 0) + 1

    async def send(http: httpx.AsyncClient, event: dict) -> None:
        for attempt in range(SENDER_ATTEMPTS):
            if attempt:
                await asyncio.sleep(0.2 * 2**attempt)
            body, headers = signed(event, WEBHOOK_SECRET)
            async with gate:
                started = time.perf_counter()
                try:
                    response = await http.post(
                        "/webhooks/fastio", content=body, headers=headers
                    )
                except httpx.TransportError as exc:
                    count(type(exc).__name__)
                    continue
                finally:
                    latencies.append(time.perf_counter() - started)
            count(str(response.status_code))
            if response.status_code < 500:
                return

    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as http:
        started = time.perf_counter()
        await asyncio.gather(*(send(http, event) for event in order))
        elapsed = time.perf_counter() - started
    return {"latencies": latencies, "statuses": statuses, "elapsed": elapsed}


async def event_rows(http: httpx.AsyncClient, **filters: str) -> list[dict]:
    """Every event row (following the cursor), optionally filtered."""
    rows, cursor = [], None
    while True:
        params = {"limit": "100", **filters}
        if cursor:
            params["cursor"] = cursor
        page = (await http.get("/events", params=params, headers=bearer())).json()
        rows += page["events"]
        cursor = page["next_cursor"]
        if cursor is None:
            return rows


async def settle(url: str, wanted: set[str], timeout: float) -> dict[str, set[str]]:
    """Wait until every wanted event is processed or failed; ids by status."""
    deadline = time.time() + timeout
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        while True:
            by_status: dict[str, set[str]] = {}
            for row in await event_rows(http):
                if row["id"] in wanted:
                    by_status.setdefault(row["status"], set()).add(row["id"])
            settled = by_status.get("processed", set()) | by_status.get("failed", set())
            if wanted <= settled or time.time() > deadline:
                return by_status
            await asyncio.sleep(0.5)


async def poll(url: str) -> None:
    """What the Cron Trigger does in production: retry failed events."""
    async with httpx.AsyncClient(base_url=url, timeout=120) as http:
        response = await http.post("/admin/poll", headers=bearer())
        response.raise_for_status()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def bench(args: argparse.Namespace, work: Path) -> int:
    receiver = Receiver()
    receiver.start()
    emulator = procs.start_emulator(work / "emulator-data")
    worker = None
    try:
        worker = procs.start_worker(
            work / "wrangler-state",
            work / "worker.log",
            worker_vars(emulator, receiver.url),
        )
        order = plan(args.deliveries, args.duplicates, args.seed)
        wanted = {event["id"] for event in order}

        # One warm-up delivery, so start-up costs stay out of the figures.
        await send_all(worker.url, [file_event(name="warm-up.bin")], 1)
        sent = await send_all(worker.url, order, args.concurrency)
        drain_started = time.perf_counter()
        by_status = await settle(worker.url, wanted, timeout=120)
        drained = time.perf_counter() - drain_started
        failed_first = len(by_status.get("failed", ()))
        if failed_first:
            # An action failed after the 202: the sender will not redeliver,
            # so the next polling run retries it.
            await poll(worker.url)
            by_status = await settle(worker.url, wanted, timeout=60)
        done = by_status.get("processed", set())
    finally:
        if worker is not None:
            procs.stop(worker.proc)
        procs.stop(emulator.proc)
        receiver.stop()

    counts = receiver.per_event()
    twice = sum(1 for event_id in wanted if counts[event_id] > 1)
    lost = len(wanted - done)
    ms = [s * 1000 for s in sent["latencies"]]
    rows = [
        ("deliveries", f"{len(order)} ({len(order) - len(wanted)} duplicates)"),
        ("attempts (sender retries included)", str(len(ms))),
        ("concurrency", str(args.concurrency)),
        (
            "answers",
            ", ".join(f"{k} x{v}" for k, v in sorted(sent["statuses"].items())),
        ),
        ("latency p50", f"{percentile(ms, 0.50):.1f} ms"),
        ("latency p99", f"{percentile(ms, 0.99):.1f} ms"),
        ("latency mean", f"{statistics.fmean(ms):.1f} ms"),
        ("throughput", f"{len(order) / sent['elapsed']:.0f} deliveries/s"),
        ("drained after the last answer", f"{drained:.1f} s"),
        ("failed, then retried by a poll", str(failed_first)),
        ("events processed", f"{len(done)} of {len(wanted)}"),
        ("lost", str(lost)),
        ("processed twice", str(twice)),
    ]
    width = max(len(name) for name, _ in rows)
    print(f"{'measure':<{width}}  value")
    print(f"{'-' * width}  {'-' * 30}")
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    return 0 if lost == 0 and twice == 0 else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=1000)
    parser.add_argument("--duplicates", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep logs and state")
    args = parser.parse_args()
    if args.keep:
        work = Path(tempfile.mkdtemp(prefix="bench-webhooks-"))
        print(f"work directory (kept): {work}", file=sys.stderr)
        return asyncio.run(bench(args, work))
    with tempfile.TemporaryDirectory(prefix="bench-webhooks-") as work:
        return asyncio.run(bench(args, Path(work)))


if __name__ == "__main__":
    sys.exit(main())
