"""The tus server against real tus clients, used as their users would use them.

tus-js-client (Node, through ``tests/clients/tus_upload.mjs``) and tuspy
upload files to the Worker in real workerd; every test compares what the
emulator stored with the source file, byte for byte or by SHA-256.

The Worker keeps only whole chunks of its own chunk size (1 MiB here): a PATCH
that ends inside one leaves the offset at the chunk before it, so a client's
chunk size must be at least the server's.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sys
from pathlib import Path
from typing import BinaryIO

import httpx
import pytest

from support.files import PDF
from support.procs import ROOT, Emulator, Worker
from support.tokens import bearer, default_claims, hs256

pytestmark = pytest.mark.asyncio(loop_scope="session")

MiB = 1024 * 1024
GiB = 1024 * MiB
TUS_UPLOAD = ROOT / "tests" / "clients" / "tus_upload.mjs"


def write_pdf(path: Path, size: int) -> bytes:
    """``size`` random bytes that start like a PDF, written to ``path``."""
    data = PDF + os.urandom(size - len(PDF))
    path.write_bytes(data)
    return data


def token(sub: str = "user-1") -> str:
    return hs256(default_claims(sub))


async def tus_js(file: Path, *args: str, timeout: float = 60) -> dict:
    """Run tus-js-client on ``file``; the JSON report it prints."""
    proc = await asyncio.create_subprocess_exec(
        "node", str(TUS_UPLOAD), str(file), *args,
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert out, f"tus_upload.mjs printed nothing (exit {proc.returncode}): {err!r}"
    report = json.loads(out.decode().strip().splitlines()[-1])
    assert proc.returncode == 0, report
    return report


async def grant(client: httpx.AsyncClient, size: int) -> dict:
    """A signed upload URL from ``POST /uploads/direct``."""
    response = await client.post(
        "/uploads/direct",
        json={"name": "client.pdf", "size": size, "type": "application/pdf"},
        headers=bearer(),
    )
    assert response.status_code == 201, response.text
    return response.json()


def stored(fastio: Emulator, file_id: str) -> bytes:
    with fastio.control() as control:
        response = control.get(f"/_emulator/files/{file_id}/content")
        response.raise_for_status()
        return response.content


def patches(report: dict) -> list[dict]:
    return [r for r in report["responses"] if r["method"] == "PATCH"]


# -- tus-js-client -----------------------------------------------------------


async def test_tus_js_client_sends_a_whole_file_in_one_patch_to_a_signed_url(
    client, fastio, tmp_path
):
    data = write_pdf(tmp_path / "one.pdf", 5 * MiB + 123)
    upload = await grant(client, len(data))

    report = await tus_js(tmp_path / "one.pdf", "--upload-url", upload["upload_url"])

    assert report["outcome"] == "success", report
    assert [(r["method"], r["status"]) for r in report["responses"]] == [
        ("HEAD", 200),
        ("PATCH", 204),
    ]
    assert report["offset"] == len(data)
    assert stored(fastio, report["file_id"]) == data


async def test_tus_js_client_with_unaligned_chunks_through_creation_with_a_jwt(
    worker, fastio, tmp_path
):
    data = write_pdf(tmp_path / "chunks.pdf", 5 * MiB + 7)

    report = await tus_js(
        tmp_path / "chunks.pdf",
        "--endpoint", f"{worker.url}/tus/",
        "--token", token(),
        "--chunk-size", str(3 * MiB // 2),
    )  # fmt: skip

    # Each 1.5 MiB PATCH keeps its first whole 1 MiB chunk; the client goes on
    # from the offset it is given, and the last PATCH carries the rest.
    assert report["outcome"] == "success", report
    assert report["responses"][0]["method"] == "POST"
    assert report["responses"][0]["status"] == 201
    assert [(r["status"], r["offset"]) for r in patches(report)] == [
        (204, MiB), (204, 2 * MiB), (204, 3 * MiB), (204, 4 * MiB),
        (204, len(data)),
    ]  # fmt: skip
    assert report["url"].startswith(f"{worker.url}/tus/")
    assert stored(fastio, report["file_id"]) == data


async def test_tus_js_client_aborted_mid_patch_resumes_at_a_signed_url(
    client, fastio, tmp_path
):
    file = tmp_path / "resume.pdf"
    data = write_pdf(file, 40 * MiB + 5)
    upload = await grant(client, len(data))

    first = await tus_js(
        file, "--upload-url", upload["upload_url"], "--abort-after", str(12 * MiB)
    )
    second = await tus_js(file, "--upload-url", upload["upload_url"])

    # The one PATCH was cut: no answer to it ever came.
    assert first["outcome"] == "aborted", first
    assert [r["method"] for r in first["responses"]] == ["HEAD"]
    head = second["responses"][0]
    assert head["method"] == "HEAD"
    assert head["status"] == 200
    assert head["offset"] < len(data)
    assert head["offset"] % MiB == 0  # whole chunks only
    assert second["outcome"] == "success", second
    assert stored(fastio, second["file_id"]) == data


async def test_tus_js_client_finds_its_stored_url_and_resumes_after_an_abort(
    worker, fastio, tmp_path
):
    file = tmp_path / "stored-url.pdf"
    data = write_pdf(file, 40 * MiB + 1)
    store = tmp_path / "tus-urls.json"
    common = ["--endpoint", f"{worker.url}/tus/", "--token", token(),
              "--url-store", str(store), "--chunk-size", str(16 * MiB)]  # fmt: skip

    first = await tus_js(file, *common, "--abort-after", str(MiB))
    second = await tus_js(file, *common)

    assert first["outcome"] == "aborted", first
    assert [r["method"] for r in first["responses"]] == ["POST"]  # PATCH cut
    assert second["resumed_from"] == first["url"]
    assert second["url"] == first["url"]
    assert second["responses"][0]["method"] == "HEAD"
    assert "POST" not in [r["method"] for r in second["responses"]]
    assert second["outcome"] == "success", second
    assert stored(fastio, second["file_id"]) == data


# -- tuspy -------------------------------------------------------------------


def tuspy_uploader(worker: Worker, stream: BinaryIO, **options):
    """A tuspy Uploader for ``/tus/`` with a JWT. It is given an open file:
    with ``file_path`` tuspy opens the file for every request and never
    closes it."""
    from tusclient import client as tus

    session = tus.TusClient(f"{worker.url}/tus/", headers=bearer())
    name = Path(stream.name).name
    return session.uploader(file_stream=stream, metadata={"filename": name}, **options)


async def test_tuspy_uploads_part_then_a_new_uploader_finishes_it(
    worker, fastio, tmp_path
):
    file = tmp_path / "tuspy.pdf"
    data = write_pdf(file, 6 * MiB + 11)

    with open(file, "rb") as stream:
        first = tuspy_uploader(worker, stream, chunk_size=3 * MiB // 2)
        # tuspy stops once its offset reaches stop_at, so stop at a server
        # chunk boundary: a stop inside a chunk would repeat the same short
        # PATCH forever.
        await asyncio.to_thread(first.upload, stop_at=3 * MiB)
    with open(file, "rb") as stream:
        second = tuspy_uploader(worker, stream, url=first.url, chunk_size=3 * MiB // 2)
        await asyncio.to_thread(second.upload)

    assert first.offset == 3 * MiB
    assert second.offset == len(data)
    file_id = second.request.response_headers["x-fastio-file-id"]
    assert stored(fastio, file_id) == data


TUSPY_CHILD = """
import sys
from tusclient import client
endpoint, auth, path, url = sys.argv[1:]
tus = client.TusClient(endpoint, headers={"Authorization": auth})
tus.uploader(file_path=path, url=url).upload()
"""


async def test_tuspy_resumes_after_its_process_is_killed_mid_patch(
    worker, fastio, tmp_path
):
    file = tmp_path / "killed.pdf"
    data = write_pdf(file, 24 * MiB + 3)
    with open(file, "rb") as stream:
        url = await asyncio.to_thread(tuspy_uploader(worker, stream).create_url)
    session_id = url.rstrip("/").rsplit("/", 1)[-1]

    # Another process sends the whole file in one PATCH and is killed once
    # the emulator holds two chunks of it: the connection dies mid-body.
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", TUSPY_CHILD,
        f"{worker.url}/tus/", bearer()["Authorization"], str(file), url,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    arrived = await chunks_arrived(fastio, session_id, at_least=2, proc=child)
    child.kill()
    await child.wait()
    # Until the Worker sees the dead connection, the upload stays locked
    # (423): tuspy retries only when told to.
    with open(file, "rb") as stream:
        resumed = tuspy_uploader(
            worker, stream, url=url, chunk_size=4 * MiB, retries=5, retry_delay=1
        )
        resumed_at = resumed.offset
        await asyncio.to_thread(resumed.upload)

    assert arrived >= 2
    assert 2 * MiB <= resumed_at < len(data)
    assert resumed.offset == len(data)
    file_id = resumed.request.response_headers["x-fastio-file-id"]
    assert stored(fastio, file_id) == data


async def chunks_arrived(
    fastio: Emulator, session_id: str, *, at_least: int, proc, timeout: float = 30
) -> int:
    """Wait until the emulator holds ``at_least`` chunks of a session."""
    async with httpx.AsyncClient(base_url=fastio.root_url, timeout=10) as control:
        for _ in range(int(timeout / 0.02)):
            response = await control.get(f"/_emulator/sessions/{session_id}")
            count = len(response.json().get("chunk_details", []))
            if count >= at_least:
                return count
            if proc.returncode is not None:
                raise AssertionError(f"the uploader ended first: {proc.returncode}")
            await asyncio.sleep(0.02)
    raise AssertionError(f"{at_least} chunks did not arrive within {timeout} s")


# -- a large file ------------------------------------------------------------


@pytest.mark.slow
async def test_tus_js_client_uploads_1_gib_in_50_mib_patches(
    make_worker, fastio, tmp_path
):
    big = make_worker(TUS_CHUNK_BYTES=str(50 * MiB), UPSTREAM_TIMEOUT_SECONDS="60")
    file = tmp_path / "big.pdf"
    size = GiB  # the emulator's default per-file limit, exactly
    digest = hashlib.sha256()
    with open(file, "wb") as out:
        for n in range(size // MiB):
            piece = os.urandom(MiB)
            if n == 0:
                piece = PDF + piece[len(PDF) :]
            out.write(piece)
            digest.update(piece)

    try:
        async with httpx.AsyncClient(base_url=big.url, timeout=60) as http:
            upload = await grant(http, size)
        report = await tus_js(
            file,
            "--upload-url", upload["upload_url"],
            "--chunk-size", str(50 * MiB),
            timeout=240,
        )  # fmt: skip
    finally:
        file.unlink()

    assert upload["chunk_size"] == 50 * MiB
    assert report["outcome"] == "success", report
    assert len(patches(report)) == 21  # 20 of 50 MiB, then 24 MiB
    assert all(r["status"] == 204 for r in patches(report))
    [stored_file] = [f for f in fastio.files() if f["id"] == report["file_id"]]
    assert stored_file["size"] == size
    assert stored_file["sha256"] == digest.hexdigest()
