"""What the benchmarks share: a test body, and workerd's memory and CPU.

workerd's processes are found under the node process that runs Miniflare,
and read from /proc (no psutil on the machine).
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

MiB = 1 << 20
GiB = 1 << 30
PDF_HEADER = b"%PDF-1.7\n"


def make_body(path: Path, size: int) -> str:
    """Write ``size`` random bytes that start like a PDF; their SHA-256."""
    digest = hashlib.sha256()
    with open(path, "wb") as out:
        written = 0
        while written < size:
            piece = os.urandom(min(MiB, size - written))
            if written == 0:
                piece = (PDF_HEADER + piece)[: len(piece)]
            out.write(piece)
            digest.update(piece)
            written += len(piece)
    return digest.hexdigest()


# workerd processes: found under the node process that runs Miniflare


def _stat_fields(pid: int) -> list[str]:
    text = Path(f"/proc/{pid}/stat").read_text()
    return text.rsplit(")", 1)[1].split()  # fields from "state" (field 3) on


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if int(_stat_fields(int(entry))[1]) == pid:
                found.append(int(entry))
        except (OSError, IndexError, ValueError):
            continue
    return found


def workerd_pids(node_pid: int) -> list[int]:
    """The workerd processes started (at any depth) by ``node_pid``."""
    pending, found = [node_pid], []
    while pending:
        for child in _children(pending.pop()):
            pending.append(child)
            try:
                name = Path(f"/proc/{child}/comm").read_text().strip()
            except OSError:
                continue
            if name == "workerd":
                found.append(child)
    if not found:
        raise RuntimeError(f"no workerd process under pid {node_pid}")
    return found


def rss_bytes(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
    return total


def cpu_seconds(pids: list[int]) -> float:
    ticks = 0
    for pid in pids:
        try:
            fields = _stat_fields(pid)
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime + stime
    return ticks / os.sysconf("SC_CLK_TCK")


class RssSampler(threading.Thread):
    """Samples the summed RSS of some processes until stopped; keeps the peak."""

    def __init__(self, pids: list[int], interval: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.pids = pids
        self.interval = interval
        self.before = rss_bytes(pids)
        self.peak = self.after = self.before
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(self.interval):
            self.peak = max(self.peak, rss_bytes(self.pids))

    def stop(self) -> None:
        self._done.set()
        self.join()
        self.after = rss_bytes(self.pids)
        self.peak = max(self.peak, self.after)
