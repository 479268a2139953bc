"""tus benchmark: one large upload through the Worker, and the same chunks
sent straight to the emulator.

Starts its own emulator and Worker (in workerd, ``TUS_CHUNK_BYTES`` = 50 MiB),
writes a random body that starts like a PDF (1 GiB; ``--size`` in MiB), then:

  a. tus through the Worker: ``POST /uploads/direct`` for a signed URL, then
     one PATCH per 50 MiB chunk to that URL (the Worker turns each into a
     Fast.io chunk and, after the last, completes the session);
  b. the emulator's chunk API with no Worker: create a session, ``POST
     upload/{id}/chunk/?order=N&size=B`` (multipart field ``chunk``) per
     chunk, ``complete``, then ``details?wait=`` until ``stored``.

Both send every body from the file as it is read (httpx with a generator and
a known Content-Length; the multipart framing is written here), over one
keep-alive connection, and are timed from the first request until the file
is stored. For each it reports MiB/s, the ratio (a)/(b) (target >= 0.8),
and for (a) the peak growth of workerd's RSS (sampled every 50 ms) and
workerd's CPU seconds per GiB. The stored file's size and SHA-256 are checked
at the emulator.

Prints a Markdown table and writes the figures to ``bench/out/tus.json``.

    .venv/bin/python bench/tus.py [--size MIB] [--chunk MIB] [--runs N] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

from common import (  # noqa: E402
    GiB,
    MiB,
    RssSampler,
    cpu_seconds,
    make_body,
    workerd_pids,
)

from support import procs  # noqa: E402
from support.tokens import JWT_AUDIENCE, JWT_ISSUER, JWT_SECRET, bearer  # noqa: E402
from support.upload_keys import UPLOAD_URL_KEYS  # noqa: E402

OUT = ROOT / "bench" / "out" / "tus.json"
TARGET_RATIO = 0.8
TUS = {"Tus-Resumable": "1.0.0"}


@dataclass
class Run:
    """One measured upload and what the emulator stored."""

    path: str
    seconds: float
    mib_s: float
    requests: int
    verified: bool
    rss_before_mib: float | None = None
    rss_growth_mib: float | None = None
    cpu_s_per_gib: float | None = None


# -- the body ------------------------------------------------------------------


def read_range(path: Path, start: int, length: int) -> Iterator[bytes]:
    """``length`` bytes of ``path`` from ``start``, 1 MiB at a time."""
    with open(path, "rb") as source:
        source.seek(start)
        left = length
        while left:
            piece = source.read(min(MiB, left))
            if not piece:
                raise RuntimeError(f"{path} ended {left} bytes early")
            left -= len(piece)
            yield piece


# -- workerd processes, found under the node process that runs Miniflare ----


# -- the two uploads -------------------------------------------------------------


def worker_vars(emulator: procs.Emulator, size: int, chunk: int) -> dict[str, str]:
    return {
        "FASTIO_BASE_URL": emulator.base_url,
        "FASTIO_API_KEY": procs.TEST_API_KEY,
        "FASTIO_WORKSPACE_ID": procs.TEST_WORKSPACE_ID,
        "FASTIO_PROFILE_TYPE": "workspace",
        "FASTIO_FOLDER_ID": "root",
        "MAX_FILE_BYTES": str(size),
        "TUS_CHUNK_BYTES": str(chunk),
        "UPLOAD_URL_KEYS": UPLOAD_URL_KEYS,
        "ALLOWED_TYPES": "pdf",
        "JWT_SECRET": JWT_SECRET,
        "JWT_ALGORITHMS": "HS256",
        "JWT_ISSUER": JWT_ISSUER,
        "JWT_AUDIENCE": JWT_AUDIENCE,
        "UPSTREAM_TIMEOUT_SECONDS": "120",
    }


def tus_upload(
    http: httpx.Client, worker_url: str, body: Path, size: int
) -> tuple[str, int]:
    """(a) A signed tus URL, then one PATCH per chunk; file id and requests."""
    granted = http.post(
        f"{worker_url}/uploads/direct",
        json={"name": "bench.pdf", "size": size, "type": "application/pdf"},
        headers=bearer(),
    )
    if granted.status_code != 201:
        raise RuntimeError(f"/uploads/direct: {granted.status_code} {granted.text}")
    grant = granted.json()
    url, chunk = grant["upload_url"], grant["chunk_size"]

    offset, requests = 0, 1
    while offset < size:
        length = min(chunk, size - offset)
        response = http.patch(
            url,
            content=read_range(body, offset, length),
            headers={
                **TUS,
                "Content-Type": "application/offset+octet-stream",
                "Content-Length": str(length),
                "Upload-Offset": str(offset),
            },
        )
        requests += 1
        if response.status_code != 204:
            raise RuntimeError(
                f"PATCH at {offset}: {response.status_code} {response.text}"
            )
        offset = int(response.headers["upload-offset"])
    return response.headers["x-fastio-file-id"], requests


def direct_upload(
    http: httpx.Client, emulator: procs.Emulator, body: Path, size: int, chunk: int
) -> tuple[str, int]:
    """(b) The emulator's chunk API, as the Worker drives it; file id and
    requests."""
    api = emulator.base_url
    auth = {"Authorization": f"Bearer {procs.TEST_API_KEY}"}
    created = http.post(
        api + "upload/",
        data={
            "action": "create", "name": "bench.pdf", "size": str(size),
            "instance_id": procs.TEST_WORKSPACE_ID, "folder_id": "root",
            "profile_type": "workspace",
        },
        headers=auth,
    )  # fmt: skip
    session = _answer(created)["id"]
    requests = 1

    for order, offset in enumerate(range(0, size, chunk), start=1):
        length = min(chunk, size - offset)
        boundary = "bench-" + secrets.token_hex(12)
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="chunk"; '
            f'filename="chunk"\r\nContent-Type: application/octet-stream\r\n\r\n'
        ).encode()
        tail = f"\r\n--{boundary}--\r\n".encode()

        def multipart(head=head, tail=tail, offset=offset, length=length):
            yield head
            yield from read_range(body, offset, length)
            yield tail

        sent = http.post(
            f"{api}upload/{session}/chunk/",
            params={"order": order, "size": length},
            content=multipart(),
            headers={
                **auth,
                "Content-Type": f"multipart/form-data; boundary={boundary}",
                "Content-Length": str(len(head) + length + len(tail)),
            },
        )
        _answer(sent)
        requests += 1

    _answer(http.post(f"{api}upload/{session}/complete/", headers=auth))
    requests += 1
    while True:
        details = _answer(
            http.get(
                f"{api}upload/{session}/details/", params={"wait": 60}, headers=auth
            )
        )
        requests += 1
        state = details["session"]
        if state["status"] == "stored":
            return state["new_file_id"], requests
        if state["status"] not in ("ready", "uploading", "assembling"):
            raise RuntimeError(f"session {session} ended {state['status']}")


def _answer(response: httpx.Response) -> dict:
    if response.status_code != 200:
        raise RuntimeError(f"{response.request.url}: {response.status_code} "
                           f"{response.text[:300]}")  # fmt: skip
    return response.json()["response"]


def stored_correctly(emulator: procs.Emulator, file_id: str, size: int, sha256: str):
    for stored in emulator.files():
        if stored["id"] == file_id:
            return stored["size"] == size and stored["sha256"] == sha256
    return False


def measure(label, send, size, sha256, emulator, worker=None) -> Run:
    """Time ``send()``, sample workerd while it runs, check what was stored."""
    pids = workerd_pids(worker.proc.pid) if worker else []
    sampler = RssSampler(pids) if worker else None
    cpu_before = cpu_seconds(pids)
    if sampler:
        sampler.start()
    started = time.perf_counter()
    try:
        file_id, requests = send()
    finally:
        seconds = time.perf_counter() - started
        if sampler:
            sampler.stop()
    cpu_used = cpu_seconds(pids) - cpu_before

    run = Run(
        path=label,
        seconds=round(seconds, 2),
        mib_s=round(size / MiB / seconds, 1),
        requests=requests,
        verified=stored_correctly(emulator, file_id, size, sha256),
    )
    emulator.reset()  # frees the stored gigabytes before the next upload
    if sampler:
        run.rss_before_mib = round(sampler.before / MiB, 1)
        run.rss_growth_mib = round((sampler.peak - sampler.before) / MiB, 1)
        run.cpu_s_per_gib = round(cpu_used / (size / GiB), 2)
    return run


def warm_up(http: httpx.Client, worker: procs.Worker, work: Path) -> None:
    """One small tus upload: start-up costs stay out of the figures."""
    small = work / "warm-up.pdf"
    make_body(small, 2 * MiB)
    tus_upload(http, worker.url, small, 2 * MiB)


def run(args: argparse.Namespace, work: Path) -> dict:
    size, chunk = args.size * MiB, args.chunk * MiB
    body = work / "body.pdf"
    print(f"writing a {args.size} MiB body to {body} ...", file=sys.stderr)
    sha256 = make_body(body, size)

    started: list = []
    try:
        with open(work / "emulator.log", "w") as log:
            emulator = procs.start_emulator(
                work / "emulator-data",
                extra=["--max-file-size", str(max(size, GiB))],
                log=log,
            )
        started.append(emulator)
        worker = procs.start_worker(
            work / "wrangler-state",
            work / "worker.log",
            worker_vars(emulator, size, chunk),
        )
        started.append(worker)
        load_before = os.getloadavg()

        tus_runs, direct_runs = [], []
        with httpx.Client(timeout=300) as http:
            warm_up(http, worker, work)
            emulator.reset()
            for n in range(args.runs):
                print(
                    f"run {n + 1}/{args.runs}: a. tus via the Worker", file=sys.stderr
                )
                tus_runs.append(
                    measure(
                        "a. tus via the Worker (signed URL)",
                        lambda: tus_upload(http, worker.url, body, size),
                        size, sha256, emulator, worker,
                    )
                )  # fmt: skip
                print(
                    f"run {n + 1}/{args.runs}: b. emulator chunk API", file=sys.stderr
                )
                direct_runs.append(
                    measure(
                        "b. emulator chunk API, no Worker",
                        lambda: direct_upload(http, emulator, body, size, chunk),
                        size, sha256, emulator,
                    )
                )  # fmt: skip
    finally:
        for proc in reversed(started):
            procs.stop(proc.proc)

    tus_mib_s = statistics.median(r.mib_s for r in tus_runs)
    direct_mib_s = statistics.median(r.mib_s for r in direct_runs)
    ratio = round(tus_mib_s / direct_mib_s, 2)
    return {
        "body_bytes": size,
        "chunk_bytes": chunk,
        "body": "random bytes starting with %PDF-1.7 (detected as pdf)",
        "client": "httpx, one keep-alive connection, bodies streamed from the file",
        "cores": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "runs": [
            asdict(r) for pair in zip(tus_runs, direct_runs, strict=True) for r in pair
        ],
        "median_mib_s": {"tus_via_worker": tus_mib_s, "direct": direct_mib_s},
        "target": {
            "want": f"tus via the Worker >= {TARGET_RATIO} of direct",
            "got": ratio,
            "met": ratio >= TARGET_RATIO,
        },
        "rss_growth_mib_max": max(r.rss_growth_mib for r in tus_runs),
    }


# -- report ------------------------------------------------------------------------


def _fmt(value, suffix: str = "") -> str:
    return "n/a" if value is None else f"{value}{suffix}"


def markdown(result: dict) -> str:
    size = result["body_bytes"] / MiB
    chunk = result["chunk_bytes"] / MiB
    load = result["load_average_before"][0]
    lines = [
        f"tus upload of {size:g} MiB in {chunk:g} MiB chunks over loopback, "
        f"{result['cores']} cores (load average before: {load}); "
        f"client: {result['client']}.",
        "",
        "| path | MiB/s | seconds | requests | workerd RSS growth "
        "| workerd CPU s/GiB | stored bytes verified |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in result["runs"]:
        growth = None if r["rss_growth_mib"] is None else f"+{r['rss_growth_mib']}"
        lines.append(
            f"| {r['path']} | {r['mib_s']:.0f} | {r['seconds']} | {r['requests']} "
            f"| {_fmt(growth, ' MiB')} | {_fmt(r['cpu_s_per_gib'])} "
            f"| {'yes' if r['verified'] else 'NO'} |"
        )
    target = result["target"]
    lines += [
        "",
        "| target | want | got | met |",
        "|---|---|---|---|",
        f"| tus via the Worker / direct (median MiB/s) | >= {TARGET_RATIO} "
        f"| {target['got']} | {'yes' if target['met'] else 'no'} |",
    ]
    return "\n".join(lines)


def _interrupted(signum, frame):
    raise KeyboardInterrupt


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1024, help="body size, MiB")
    parser.add_argument("--chunk", type=int, default=50, help="chunk size, MiB")
    parser.add_argument("--runs", type=int, default=1, help="runs of each path")
    parser.add_argument("--keep", action="store_true", help="keep logs and state")
    args = parser.parse_args()
    # SIGTERM takes the same way out as Ctrl-C: every process is stopped.
    signal.signal(signal.SIGTERM, _interrupted)

    if args.keep:
        work = Path(tempfile.mkdtemp(prefix="bench-tus-"))
        print(f"work directory (kept): {work}", file=sys.stderr)
        result = run(args, work)
    else:
        with tempfile.TemporaryDirectory(prefix="bench-tus-") as tmp:
            result = run(args, Path(tmp))

    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    print(markdown(result))
    print(f"\nfigures: {OUT.relative_to(ROOT)}", file=sys.stderr)
    return 0 if all(r["verified"] for r in result["runs"]) else 1


if __name__ == "__main__":
    sys.exit(main())
