"""The README's dev command: emulator and Worker wired together, until Ctrl-C."""

import contextlib
import os
import re
import signal
import subprocess
import time

import httpx
import pytest

from support import procs
from support.files import PDF, body

pytestmark = pytest.mark.slow


def test_dev_command_serves_the_worker_and_the_emulator_and_stops_on_ctrl_c():
    port, emulator_port = procs.free_port(), procs.free_port()
    dev = subprocess.Popen(
        [
            "bash",
            "scripts/dev",
            "--port",
            str(port),
            "--emulator-port",
            str(emulator_port),
        ],
        cwd=procs.ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        banner = _read_until(dev, "Ctrl-C stops both.", timeout=180)
        token = re.search(r"export TOKEN=(\S+)", banner).group(1)
        worker = f"http://127.0.0.1:{port}"

        health = httpx.get(f"{worker}/healthz", timeout=10)
        page = httpx.get(f"{worker}/", timeout=10)
        upload = httpx.put(
            f"{worker}/files/dev-check.pdf",
            content=body(PDF, 5000),
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        stored = httpx.get(f"http://127.0.0.1:{emulator_port}/_emulator/files")

        assert health.status_code == 200
        assert "text/html" in page.headers["content-type"]
        assert upload.status_code == 201, upload.text
        assert upload.json()["file_id"] in {f["id"] for f in stored.json()["files"]}
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(dev.pid, signal.SIGINT)
        dev.wait(timeout=30)
        dev.stdout.close()

    time.sleep(0.5)
    for url in (
        f"http://127.0.0.1:{port}/healthz",
        f"http://127.0.0.1:{emulator_port}/_emulator/health",
    ):
        with pytest.raises(httpx.ConnectError):
            httpx.get(url, timeout=2)


def _read_until(proc: subprocess.Popen, marker: str, timeout: float) -> str:
    deadline, seen = time.time() + timeout, []
    while time.time() < deadline:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            break
        seen.append(line)
        if marker in line:
            return "".join(seen)
    raise AssertionError("dev command did not start:\n" + "".join(seen)[-3000:])
