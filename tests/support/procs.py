"""Start and stop the local stack (emulator, Worker) as real processes.

Used by the pytest session fixtures, the dev script and the benchmarks, so all
three run the same thing the same way.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
WRANGLER = ROOT / "node_modules" / ".bin" / "wrangler"
TEST_WORKSPACE_ID = "1234567890123456789"
TEST_API_KEY = "test-fastio-key"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop(proc: subprocess.Popen) -> None:
    """Stop a process and its children (started in their own group)."""
    if proc.stdout is not None:
        proc.stdout.close()
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@dataclass
class Emulator:
    """A running Fast.io emulator."""

    proc: subprocess.Popen
    base_url: str  # ends in /current/
    root_url: str
    data_dir: Path

    def control(self) -> httpx.Client:
        return httpx.Client(base_url=self.root_url, timeout=30)

    def reset(self) -> None:
        with self.control() as client:
            client.post("/_emulator/reset").raise_for_status()

    def upload(self, name: str, data: bytes) -> str:
        """Store a file through the emulator's own single-call upload; its id."""
        fields = {
            "name": name,
            "size": str(len(data)),
            "action": "create",
            "instance_id": TEST_WORKSPACE_ID,
            "folder_id": "root",
            "profile_type": "workspace",
        }
        response = httpx.post(
            self.base_url + "upload/",
            data=fields,
            files={"chunk": (name, data, "application/octet-stream")},
            headers={"Authorization": f"Bearer {TEST_API_KEY}"},
            timeout=30,
        )
        response.raise_for_status()
        session = response.json()["response"]
        return session.get("new_file_id") or session["session"]["new_file_id"]

    def files(self) -> list[dict]:
        with self.control() as client:
            response = client.get("/_emulator/files")
            response.raise_for_status()
            return response.json()["files"]


def start_emulator(
    data_dir: Path, *, api_key: str = TEST_API_KEY, extra: list[str] = (), log=None
) -> Emulator:
    data_dir.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable, "-m", "fastio_emulator",
        "--host", "127.0.0.1", "--port", "0",
        "--data-dir", str(data_dir), "--api-key", api_key, *extra,
    ]  # fmt: skip
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=log or subprocess.DEVNULL,
        text=True,
        start_new_session=True,
        cwd=ROOT,
    )
    deadline = time.time() + 30
    while time.time() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if "listening on" in line:
            base_url = line.split("listening on", 1)[1].strip()
            root_url = base_url.split("/current/")[0]
            return Emulator(proc, base_url, root_url, data_dir)
    stop(proc)
    raise RuntimeError(f"emulator did not start: {' '.join(cmd)}")


@dataclass
class Worker:
    """A running Worker (in workerd) and its log file."""

    proc: subprocess.Popen
    url: str
    log_path: Path
    vars: dict[str, str] = field(default_factory=dict)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def log_lines(self) -> list[dict]:
        """The Worker's structured request lines (one JSON object each)."""
        lines = []
        for raw in self.log_text().splitlines():
            raw = raw.strip()
            if raw.startswith("{") and '"request_id"' in raw:
                try:
                    lines.append(json.loads(raw))
                except ValueError:
                    continue
        return lines

    def log_for(self, request_id: str, timeout: float = 5.0) -> dict:
        """The log line of one request (it is written as the response ends)."""
        deadline = time.time() + timeout
        while True:
            for line in self.log_lines():
                if line.get("request_id") == request_id:
                    return line
            if time.time() > deadline:
                raise AssertionError(f"no log line for request {request_id}")
            time.sleep(0.05)


_TEMPLATES: dict[Path, Path] = {}


def _migrated_state(persist_dir: Path, log) -> None:
    """Give ``persist_dir`` a D1 database with every migration applied.

    ``wrangler d1 migrations apply`` takes seconds; within one process the
    first result is kept as a template and copied for every later Worker.
    """
    if persist_dir.exists():
        # An existing state (scripts/dev): apply whatever is new to it.
        apply_migrations(persist_dir, log)
        return
    template = _TEMPLATES.get(persist_dir.parent)
    if template is None:
        template = persist_dir.parent / "d1-template"
        if not template.exists():
            apply_migrations(template, log)
        _TEMPLATES[persist_dir.parent] = template
    shutil.copytree(template, persist_dir)


def apply_migrations(persist_dir: Path, log) -> None:
    subprocess.run(
        [str(WRANGLER), "d1", "migrations", "apply", "fastio-edge", "--local",
         "--persist-to", str(persist_dir)],
        cwd=ROOT, check=True, stdout=log, stderr=subprocess.STDOUT,
        env=_wrangler_env(), stdin=subprocess.DEVNULL,
    )  # fmt: skip


def _wrangler_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        WRANGLER_SEND_METRICS="false",
        CI="true",  # no interactive prompts, no update checks
        NO_COLOR="1",
        FORCE_COLOR="0",
    )
    return env


def start_worker(
    persist_dir: Path,
    log_path: Path,
    variables: dict[str, str],
    *,
    port: int | None = None,
    wrangler_dev: bool = False,
    src: Path | None = None,
    assets: str | None = None,
) -> Worker:
    """Apply D1 migrations, then run the Worker in workerd.

    Tests and benchmarks use Miniflare's API directly (scripts/worker.mjs):
    no proxy and no file watcher in the data path. ``wrangler_dev`` runs
    ``wrangler dev`` instead, which reloads on edits (for scripts/dev).
    ``src`` runs another folder of modules (a benchmark's baseline Worker);
    ``assets`` serves a folder of static files beside the Worker.
    """
    port = port or free_port()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "a") as log:
        _migrated_state(persist_dir, log)
        if wrangler_dev:
            cmd = [
                str(WRANGLER), "dev", "--ip", "127.0.0.1", "--port", str(port),
                "--inspector-port", str(free_port()),
                "--persist-to", str(persist_dir),
                "--show-interactive-dev-session=false", "--log-level", "log",
            ]  # fmt: skip
            for name, value in variables.items():
                cmd += ["--var", f"{name}:{value}"]
        else:
            config = tomllib.loads((ROOT / "wrangler.toml").read_text())
            options = {
                "port": port,
                "persist": str(persist_dir),
                "databaseId": config["d1_databases"][0]["database_id"],
                "vars": variables,
            }
            if src is not None:
                options["src"] = str(src)
            if assets is not None:
                options["assets"] = assets
            cmd = ["node", str(ROOT / "scripts" / "worker.mjs"), json.dumps(options)]
        proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=_wrangler_env(),
        )

    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline and proc.poll() is None:
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return Worker(proc, url, log_path, dict(variables))
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    stop(proc)
    raise RuntimeError(f"worker did not start; log:\n{log_path.read_text()[-3000:]}")
