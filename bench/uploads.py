"""Streamed-upload benchmark: one big PDF through the Worker, three ways.

Starts its own emulator, the Worker (``src/``) and a bare pass-through Worker
(``bench/passthrough/``), both in workerd, then sends the same body (1 GiB;
5 GiB with ``--big``) with curl:

  a. through the Worker with full inspection: ``PUT /files/{name}``;
  b. through the pass-through Worker: ``request.body`` handed to ``fetch``;
  c. straight to the emulator's stream endpoint, no Worker;
  a2. (a) once more: the first big upload grows the isolate's heap once, so
      (a) shows a fresh Worker and (a2) a warm one.

For each it reports MiB/s (wall time), the ratio to (b) and (c), the peak
growth of workerd's RSS (sampled every 50 ms) and workerd's CPU seconds per
GiB. Each upload's bytes are checked at the emulator (size and SHA-256). Then
two 100 MiB requests that must be refused before their body is read: one
without a token, one declaring a Content-Length over the cap.

Prints a Markdown table and writes the figures to ``bench/out/uploads.json``.

    .venv/bin/python bench/uploads.py [--big | --size-mib N] [--keep]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

from common import (  # noqa: E402
    PDF_HEADER,
    GiB,
    MiB,
    RssSampler,
    cpu_seconds,
    make_body,
    workerd_pids,
)

from support import procs, rawhttp  # noqa: E402
from support.tokens import JWT_AUDIENCE, JWT_ISSUER, JWT_SECRET, bearer  # noqa: E402

CAP = 6 * GiB  # MAX_UPLOAD_BYTES for the run: above the biggest body
REFUSED_BODY = 100 * MiB
OUT = ROOT / "bench" / "out" / "uploads.json"
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
LABELS = {
    "a": "a. Worker, full inspection (`PUT /files/{name}`)",
    "b": "b. Worker, plain pass-through (`request.body` to `fetch`)",
    "c": "c. emulator stream endpoint, no Worker",
    "a2": "a2. a again, in the same (now warm) isolate",
}
TARGETS = {
    "inspected_vs_passthrough_min": 0.8,
    "rss_growth_max_mib": 32,
    "refusal_read_max_bytes": MiB,
}


@dataclass
class Upload:
    """One measured upload and what the emulator stored."""

    path: str
    status: int
    seconds: float
    mib_s: float
    verified: bool
    rss_before_mib: float | None = None
    rss_growth_mib: float | None = None  # peak during the upload minus before
    rss_kept_mib: float | None = None  # still held once the answer came
    cpu_s_per_gib: float | None = None
    vs_passthrough: float | None = None
    vs_direct: float | None = None
    note: str = ""


@dataclass
class Refusal:
    """An early refusal: how much of its body was sent and read."""

    case: str
    status: int
    sent_before_answer: int
    worker_bytes_in: int | None
    expected_status: int
    log: dict = field(default_factory=dict)


# The body


# Processes


def worker_vars(emulator: procs.Emulator) -> dict[str, str]:
    return {
        "FASTIO_BASE_URL": emulator.base_url,
        "FASTIO_API_KEY": procs.TEST_API_KEY,
        "FASTIO_WORKSPACE_ID": procs.TEST_WORKSPACE_ID,
        "FASTIO_PROFILE_TYPE": "workspace",
        "FASTIO_FOLDER_ID": "root",
        "MAX_UPLOAD_BYTES": str(CAP),
        "ALLOWED_TYPES": "pdf",
        "JWT_SECRET": JWT_SECRET,
        "JWT_ALGORITHMS": "HS256",
        "JWT_ISSUER": JWT_ISSUER,
        "JWT_AUDIENCE": JWT_AUDIENCE,
        "UPSTREAM_TIMEOUT_SECONDS": "120",
    }


def start_passthrough(work: Path, emulator: procs.Emulator) -> procs.Worker:
    """The baseline Worker, run by the same runner as the real one."""
    return procs.start_worker(
        work / "passthrough-state",
        work / "passthrough.log",
        {"FASTIO_BASE_URL": emulator.base_url, "FASTIO_API_KEY": procs.TEST_API_KEY},
        src=ROOT / "bench" / "passthrough",
    )


def create_stream_session(emulator: procs.Emulator, name: str, size: int) -> str:
    response = httpx.post(
        emulator.base_url + "upload/",
        data={
            "action": "create",
            "name": name,
            "size": str(size),
            "instance_id": procs.TEST_WORKSPACE_ID,
            "folder_id": "root",
            "profile_type": "workspace",
            "stream": "true",
        },
        headers={"Authorization": f"Bearer {procs.TEST_API_KEY}"},
        timeout=30,
    )
    response.raise_for_status()
    return response.json()["response"]["id"]


# Measuring


def curl(
    method: str, url: str, body: Path, headers: dict[str, str], work: Path
) -> tuple[int, bytes, dict[str, str], float]:
    """Send ``body`` with curl; status, answer, headers and wall seconds."""
    answer, head = work / "curl-answer", work / "curl-headers"
    cmd = ["curl", "-sS", "-T", str(body), "-H", "Expect:", "-X", method]
    cmd += ["-o", str(answer), "-D", str(head), "-w", "%{http_code}", url]
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"curl failed ({done.returncode}): {done.stderr.strip()}")
    got = {}
    for line in head.read_text(errors="replace").splitlines()[1:]:
        name, _, value = line.partition(":")
        got[name.strip().lower()] = value.strip()
    return int(done.stdout), answer.read_bytes(), got, seconds


def stored_correctly(
    emulator: procs.Emulator, file_id: str | None, size: int, sha256: str
) -> bool:
    for stored in emulator.files():
        if stored["id"] == file_id:
            return stored["size"] == size and stored["sha256"] == sha256
    return False


def measure(
    label: str,
    send,
    size: int,
    sha256: str,
    emulator: procs.Emulator,
    worker: procs.Worker | None,
) -> Upload:
    """Run ``send()`` (which returns status and stored file id) and measure it."""
    pids = workerd_pids(worker.proc.pid) if worker else []
    sampler = RssSampler(pids) if worker else None
    cpu_before = cpu_seconds(pids)
    if sampler:
        sampler.start()
    try:
        status, file_id, seconds = send()
    finally:
        if sampler:
            sampler.stop()
    cpu_used = cpu_seconds(pids) - cpu_before

    verified = status in (200, 201) and stored_correctly(
        emulator, file_id, size, sha256
    )
    emulator.reset()  # frees the stored gigabytes before the next upload
    upload = Upload(
        path=label,
        status=status,
        seconds=round(seconds, 3),
        mib_s=round(size / MiB / seconds, 1),
        verified=verified,
    )
    if sampler:
        upload.rss_before_mib = round(sampler.before / MiB, 1)
        upload.rss_growth_mib = round((sampler.peak - sampler.before) / MiB, 1)
        upload.rss_kept_mib = round((sampler.after - sampler.before) / MiB, 1)
        upload.cpu_s_per_gib = round(cpu_used / (size / GiB), 2)
    return upload


def warm_up(worker, passthrough, emulator, work: Path) -> None:
    """One small upload through each Worker: start-up costs stay out."""
    small = work / "warm-up.pdf"
    make_body(small, 256 * 1024)
    status, answer, _, _ = curl(
        "PUT", f"{worker.url}/files/warm-up.pdf", small, bearer(), work
    )
    if status != 201:
        raise RuntimeError(f"warm-up through the Worker: {status} {answer[:300]!r}")
    session = create_stream_session(emulator, "warm-up.pdf", small.stat().st_size)
    status, answer, _, _ = curl(
        "PUT", f"{passthrough.url}/stream/{session}", small, {}, work
    )
    if status != 200:
        raise RuntimeError(f"warm-up through the pass-through: {status} {answer!r}")
    emulator.reset()


def refusals(worker: procs.Worker) -> list[Refusal]:
    """Two requests that must be answered before their body is read."""
    body = PDF_HEADER + os.urandom(REFUSED_BODY - len(PDF_HEADER))
    cases = [
        ("no token", {}, None, 401),
        ("Content-Length over the cap", bearer(), CAP + 1, 413),
    ]
    results = []
    for case, headers, declared, expected in cases:
        answer = asyncio.run(
            rawhttp.request(
                worker.url,
                "PUT",
                "/files/refused.pdf",
                headers,
                body,
                declared_length=declared,
            )
        )
        line = worker.log_for(answer.headers.get("x-request-id", ""))
        results.append(
            Refusal(
                case=case,
                status=answer.status,
                sent_before_answer=answer.sent_before_answer,
                worker_bytes_in=line.get("bytes_in"),
                expected_status=expected,
                log=line,
            )
        )
    return results


def run(args: argparse.Namespace, work: Path) -> dict:
    size = 5 * GiB if args.big else args.size_mib * MiB
    body = work / "body.pdf"
    print(f"writing a {size / GiB:g} GiB body to {body} ...", file=sys.stderr)
    sha256 = make_body(body, size)

    started: list[procs.Worker | procs.Emulator] = []
    try:
        with open(work / "emulator.log", "w") as log:
            emulator = procs.start_emulator(
                work / "emulator-data",
                extra=["--max-file-size", str(CAP)],
                log=log,
            )
        started.append(emulator)
        worker = procs.start_worker(
            work / "wrangler-state", work / "worker.log", worker_vars(emulator)
        )
        started.append(worker)
        passthrough = start_passthrough(work, emulator)
        started.append(passthrough)
        warm_up(worker, passthrough, emulator, work)
        load_before = os.getloadavg()

        def inspected():
            status, answer, _, seconds = curl(
                "PUT", f"{worker.url}/files/bench.pdf", body, bearer(), work
            )
            file_id = json.loads(answer).get("file_id") if status == 201 else None
            return status, file_id, seconds

        def plain():
            session = create_stream_session(emulator, "bench.pdf", size)
            status, answer, _, seconds = curl(
                "PUT", f"{passthrough.url}/stream/{session}", body, {}, work
            )
            return status, _new_file_id(status, answer), seconds

        def direct():
            session = create_stream_session(emulator, "bench.pdf", size)
            status, answer, _, seconds = curl(
                "POST",
                # No trailing "/": curl -T would append the file's name.
                f"{emulator.base_url}upload/{session}/stream",
                body,
                {
                    "Authorization": f"Bearer {procs.TEST_API_KEY}",
                    "Content-Type": "application/octet-stream",
                },
                work,
            )
            return status, _new_file_id(status, answer), seconds

        runs = [
            ("a", inspected, worker, "includes JWT check, session create, D1 record"),
            ("b", plain, passthrough, "session created beforehand, not timed"),
            ("c", direct, None, "session created beforehand, not timed"),
            ("a2", inspected, worker, "a again: the isolate has grown its heap"),
        ]
        measured = {}
        for key, send, measured_worker, note in runs:
            print(f"{LABELS[key]} ...", file=sys.stderr)
            measured[key] = measure(
                LABELS[key], send, size, sha256, emulator, measured_worker
            )
            measured[key].note = note
        for upload in measured.values():
            upload.vs_passthrough = round(upload.mib_s / measured["b"].mib_s, 2)
            upload.vs_direct = round(upload.mib_s / measured["c"].mib_s, 2)

        print("early refusals ...", file=sys.stderr)
        refused = refusals(worker)
    finally:
        # A second Ctrl-C must not cut the clean-up short.
        handlers = {sig: signal.signal(sig, signal.SIG_IGN) for sig in STOP_SIGNALS}
        for proc in reversed(started):
            procs.stop(proc.proc)
        for sig, handler in handlers.items():
            signal.signal(sig, handler)

    return {
        "body_bytes": size,
        "body": "random bytes starting with %PDF-1.7 (detected as pdf)",
        "client": "curl -T file -H 'Expect:' (Content-Length known)",
        "cores": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "uploads": [asdict(u) for u in measured.values()],
        "refusals": [
            {k: v for k, v in asdict(r).items() if k != "log"} for r in refused
        ],
        "targets": targets(measured["a"], refused),
    }


def _new_file_id(status: int, answer: bytes) -> str | None:
    if status != 200:
        return None
    return json.loads(answer)["response"]["session"].get("new_file_id")


def targets(a: Upload, refused: list[Refusal]) -> dict:
    read = [r.worker_bytes_in for r in refused]
    return {
        "inspected_vs_passthrough": {
            "want": f">= {TARGETS['inspected_vs_passthrough_min']}",
            "got": a.vs_passthrough,
            "met": a.vs_passthrough >= TARGETS["inspected_vs_passthrough_min"],
        },
        "inspected_rss_growth_mib": {
            "want": f"<= {TARGETS['rss_growth_max_mib']}",
            "got": a.rss_growth_mib,
            "met": a.rss_growth_mib <= TARGETS["rss_growth_max_mib"],
        },
        "refusals_bytes_read": {
            "want": f"< {TARGETS['refusal_read_max_bytes']}",
            "got": read,
            "met": all(
                n is not None and n < TARGETS["refusal_read_max_bytes"] for n in read
            ),
        },
    }


# Report


def _fmt(value, suffix: str = "") -> str:
    return "n/a" if value is None else f"{value}{suffix}"


def markdown(result: dict) -> str:
    size = result["body_bytes"] / GiB
    lines = [
        f"Streamed upload of a {size:g} GiB PDF over loopback, {result['cores']} "
        f"cores (load average before: {result['load_average_before'][0]}); "
        f"client: {result['client']}.",
        "",
        "| path | MiB/s | of pass-through | of direct "
        "| workerd RSS growth: peak (after) | workerd CPU s/GiB "
        "| stored bytes verified |",
        "|---|---|---|---|---|---|---|",
    ]
    for u in result["uploads"]:
        growth = None
        if u["rss_growth_mib"] is not None:
            growth = f"+{u['rss_growth_mib']} MiB ({u['rss_kept_mib']:+})"
        lines.append(
            f"| {u['path']} | {u['mib_s']:.0f} | {u['vs_passthrough']:.2f} "
            f"| {u['vs_direct']:.2f} | {_fmt(growth)} "
            f"| {_fmt(u['cpu_s_per_gib'])} | {'yes' if u['verified'] else 'NO'} |"
        )
    lines += [
        "",
        f"| early refusal ({REFUSED_BODY // MiB} MiB body) | status "
        "| body bytes sent before the answer | body bytes the Worker read "
        "(log `bytes_in`) |",
        "|---|---|---|---|",
    ]
    for r in result["refusals"]:
        lines.append(
            f"| {r['case']} | {r['status']} | {r['sent_before_answer']:,} "
            f"| {_fmt(r['worker_bytes_in'])} |"
        )
    lines += [
        "",
        "Bytes sent before the answer include what the loopback socket buffers "
        "took in while nothing read them; the Worker's own count is `bytes_in`.",
        "",
        "| target | want | got | met |",
        "|---|---|---|---|",
    ]
    for name, t in result["targets"].items():
        lines.append(
            f"| {name} | {t['want']} | {t['got']} | {'yes' if t['met'] else 'no'} |"
        )
    return "\n".join(lines)


def correct(result: dict) -> bool:
    """Every upload stored right, every refusal with the expected status."""
    uploads_ok = all(u["verified"] for u in result["uploads"])
    refusals_ok = all(r["status"] == r["expected_status"] for r in result["refusals"])
    return uploads_ok and refusals_ok


def _interrupted(signum, frame):
    raise KeyboardInterrupt


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--big", action="store_true", help="5 GiB instead of 1 GiB")
    parser.add_argument(
        "--size-mib", type=int, default=1024, help="body size (a quick check)"
    )
    parser.add_argument("--keep", action="store_true", help="keep logs and state")
    args = parser.parse_args()
    # SIGTERM takes the same way out as Ctrl-C: every process is stopped.
    signal.signal(signal.SIGTERM, _interrupted)

    try:
        if args.keep:
            work = Path(tempfile.mkdtemp(prefix="bench-uploads-"))
            print(f"work directory (kept): {work}", file=sys.stderr)
            result = run(args, work)
        else:
            with tempfile.TemporaryDirectory(prefix="bench-uploads-") as tmp:
                result = run(args, Path(tmp))
    except KeyboardInterrupt:
        print("interrupted; every process it started is stopped", file=sys.stderr)
        return 130

    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    print(markdown(result))
    print(f"\n(figures also in {OUT.relative_to(ROOT)})", file=sys.stderr)
    if not correct(result):
        print(
            "FAILED: an upload was stored wrong or a refusal was wrong", file=sys.stderr
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
