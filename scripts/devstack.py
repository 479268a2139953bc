"""Run the local stack for development: emulator + Worker, until Ctrl-C."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from support import procs, tokens  # noqa: E402

DEV_API_KEY = "dev-fastio-key"


def read_dev_vars(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            name, value = line.split("=", 1)
            values[name.strip()] = value.strip().strip('"')
    return values


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8787, help="Worker port")
    parser.add_argument("--emulator-port", type=int, default=8788)
    args = parser.parse_args()

    state = ROOT / ".wrangler" / "state"
    emulator = procs.start_emulator(
        ROOT / ".emulator-data",
        api_key=DEV_API_KEY,
        extra=["--port", str(args.emulator_port)],
        log=sys.stderr,
    )
    try:
        worker = procs.start_worker(
            state,
            ROOT / ".wrangler" / "dev.log",
            {
                "FASTIO_BASE_URL": emulator.base_url,
                "FASTIO_API_KEY": DEV_API_KEY,
                "FASTIO_WORKSPACE_ID": procs.TEST_WORKSPACE_ID,
                "ALLOWED_ORIGINS": f"http://127.0.0.1:{args.port}",
            },
            port=args.port,
            wrangler_dev=True,
        )
    except Exception:
        procs.stop(emulator.proc)
        raise

    secret = read_dev_vars(ROOT / ".dev.vars").get("JWT_SECRET", "")
    token = tokens.hs256(
        tokens.default_claims(
            "dev-user", iss=None, aud=None, exp=int(time.time()) + 86400
        ),
        secret,
    )
    print(
        f"""
fastio-edge is running.
  Worker:    {worker.url}      (health: {worker.url}/healthz)
  Emulator:  {emulator.base_url}   (files: {emulator.root_url}/_emulator/files)
  Logs:      {worker.log_path}

A token for 24 h (HS256, JWT_SECRET from .dev.vars):
  export TOKEN={token}
Upload a file:
  curl -sS -T ./some.pdf -H 'Expect:' -H "Authorization: Bearer $TOKEN" \\
    {worker.url}/files/some.pdf

Ctrl-C stops both.""",
        flush=True,
    )

    def shutdown(*_: object) -> None:
        procs.stop(worker.proc)
        procs.stop(emulator.proc)
        sys.exit(0)

    signal.signal(signal.SIGINT, shutdown)
    signal.signal(signal.SIGTERM, shutdown)
    while worker.proc.poll() is None and emulator.proc.poll() is None:
        time.sleep(0.5)
    print("a process exited; stopping", file=sys.stderr)
    shutdown()
    return 1


if __name__ == "__main__":
    sys.exit(main())
