"""The command itself: bad options, SIGINT, and data surviving a restart."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from emu_helpers import TLS, create_fields, read_ready_line


@contextmanager
def running(data_dir: Path, *extra: str) -> Iterator[str]:
    """Run an emulator with its own data dir; stop it with SIGINT."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fastio_emulator",
            "--port",
            "0",
            "--data-dir",
            str(data_dir),
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        line = read_ready_line(proc)
        yield line.removeprefix("fastio-emulator listening on ").removesuffix(
            "current/"
        )
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            code = proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise
        finally:
            assert proc.stdout is not None
            proc.stdout.close()
    assert code == 0


def test_bad_option_exits_2(tmp_path: Path):
    result = subprocess.run(
        [sys.executable, "-m", "fastio_emulator", "--rate-limit", "-1"],
        capture_output=True,
        timeout=30,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 2
    assert b"rate_limit" in result.stderr
    assert result.stdout == b""


def test_files_survive_restart(tmp_path: Path):
    auth = {"Authorization": "Bearer k1"}
    fields = create_fields(name="keep.txt", size=4)
    with running(tmp_path, "--api-key", "k1") as base:
        resp = httpx.post(
            f"{base}current/upload/",
            data=fields,
            files={"chunk": ("keep.txt", b"keep")},
            headers=auth,
            verify=TLS,
        )
        assert resp.json()["result"] == "yes"
    with running(tmp_path, "--api-key", "k2") as base:
        files = httpx.get(f"{base}_emulator/files", verify=TLS).json()["files"]
        assert [f["name"] for f in files] == ["keep.txt"]
        # Only the keys given on this run are accepted.
        old = httpx.get(f"{base}current/upload/limits/", headers=auth, verify=TLS)
        assert old.status_code == 401


def test_help():
    result = subprocess.run(
        [sys.executable, "-m", "fastio_emulator", "--help"],
        capture_output=True,
        timeout=30,
        check=True,
    )
    for option in (
        "--host",
        "--port",
        "--data-dir",
        "--api-key",
        "--rate-limit",
        "--rate-window",
        "--assembly-delay",
        "--min-chunk-size",
        "--webhook-url",
        "--webhook-scheme",
        "--webhook-secret",
    ):
        assert option in result.stdout.decode()
