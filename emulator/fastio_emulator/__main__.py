"""Command line: `python -m fastio_emulator` / `fastio-emulator`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

from aiohttp import web

from .config import (
    DEFAULT_MAX_CHUNK,
    DEFAULT_MAX_CHUNKS,
    DEFAULT_MAX_FILE,
    DEFAULT_MIN_CHUNK,
    WEBHOOK_SCHEMES,
    Config,
)
from .server import build_app


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Parse the command line."""
    p = argparse.ArgumentParser(
        prog="fastio-emulator", description="Local emulator of the Fast.io API."
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8788, help="0 picks a free port")
    p.add_argument("--data-dir", default=".emulator-data", type=Path)
    p.add_argument(
        "--api-key",
        action="append",
        dest="api_keys",
        help="accepted Bearer key (repeatable; default dev-fastio-key)",
    )
    p.add_argument("--rate-limit", type=int, default=0, help="requests per window")
    p.add_argument("--rate-window", type=float, default=60.0, help="seconds")
    p.add_argument("--assembly-delay", type=float, default=0.0, help="seconds")
    p.add_argument("--min-chunk-size", type=int, default=DEFAULT_MIN_CHUNK)
    p.add_argument("--max-chunk-size", type=int, default=DEFAULT_MAX_CHUNK)
    p.add_argument("--max-file-size", type=int, default=DEFAULT_MAX_FILE)
    p.add_argument("--max-chunks", type=int, default=DEFAULT_MAX_CHUNKS)
    p.add_argument("--webhook-url")
    p.add_argument("--webhook-scheme", choices=WEBHOOK_SCHEMES, default="fastio")
    p.add_argument("--webhook-secret")
    p.add_argument("--webhook-max-attempts", type=int, default=5)
    p.add_argument("--webhook-backoff", type=float, default=0.2, help="seconds")
    p.add_argument("--log-level", default="WARNING")
    return p.parse_args(argv)


def make_config(args: argparse.Namespace) -> Config:
    """Turn parsed arguments into a validated Config."""
    cfg = Config()
    cfg.update(
        {
            "api_keys": args.api_keys or ["dev-fastio-key"],
            "rate_limit": args.rate_limit,
            "rate_window": args.rate_window,
            "assembly_delay": args.assembly_delay,
            "min_chunk_size": args.min_chunk_size,
            "max_chunk_size": args.max_chunk_size,
            "max_file_size": args.max_file_size,
            "max_chunks": args.max_chunks,
            "webhook_url": args.webhook_url,
            "webhook_scheme": args.webhook_scheme,
            "webhook_secret": args.webhook_secret,
            "webhook_max_attempts": args.webhook_max_attempts,
            "webhook_backoff": args.webhook_backoff,
        }
    )
    return cfg


async def serve(args: argparse.Namespace, config: Config) -> None:
    """Run the server until SIGTERM or SIGINT."""
    args.data_dir.mkdir(parents=True, exist_ok=True)
    app = build_app(config, args.data_dir)
    # In-flight requests get a short grace period when the server stops.
    runner = web.AppRunner(
        app, access_log=None, handle_signals=False, shutdown_timeout=3.0
    )
    await runner.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        site = web.TCPSite(runner, args.host, args.port)
        try:
            await site.start()
        except OSError as exc:
            print(f"fastio-emulator: cannot listen: {exc}", file=sys.stderr)
            raise SystemExit(1) from None
        port = runner.addresses[0][1]
        host = f"[{args.host}]" if ":" in args.host else args.host
        print(f"fastio-emulator listening on http://{host}:{port}/current/", flush=True)
        await stop.wait()
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script."""
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr)
    try:
        config = make_config(args)
    except ValueError as exc:
        print(f"fastio-emulator: {exc}", file=sys.stderr)
        return 2
    asyncio.run(serve(args, config))
    return 0


if __name__ == "__main__":
    sys.exit(main())
