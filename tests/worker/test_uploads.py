"""``PUT /files/{name}`` against the emulator, in real workerd."""

import base64
import hashlib

import pytest

from support import rawhttp
from support.files import ELF, PDF, PNG, body, chunks, sha256
from support.tokens import bearer

pytestmark = pytest.mark.asyncio(loop_scope="session")

MiB = 1024 * 1024


def stored(fastio) -> list[dict]:
    return fastio.files()


def content_of(fastio, file_id: str) -> bytes:
    with fastio.control() as control:
        response = control.get(f"/_emulator/files/{file_id}/content")
        response.raise_for_status()
        return response.content


async def test_pdf_upload_is_stored_with_its_sha256(client, fastio):
    data = body(PDF, 3 * MiB + 123)

    response = await client.put("/files/report.pdf", content=data, headers=bearer())

    assert response.status_code == 201, response.text
    result = response.json()
    assert result["name"] == "report.pdf"
    assert result["size"] == len(data)
    assert result["type"] == "pdf"
    assert result["content_type"] == "application/pdf"
    assert result["sha256"] == sha256(data)
    digest = base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert response.headers["repr-digest"] == f"sha-256=:{digest}:"
    assert response.headers["location"] == f"/uploads/{result['upload_id']}"
    assert content_of(fastio, result["file_id"]) == data


async def test_chunked_body_is_streamed_and_stored(client, fastio):
    data = body(PNG, 2 * MiB + 7)

    response = await client.put("/files/a.png", content=chunks(data), headers=bearer())

    assert response.status_code == 201, response.text
    assert response.json()["type"] == "png"
    assert content_of(fastio, response.json()["file_id"]) == data


async def test_type_is_detected_when_the_client_sends_tiny_pieces(client, fastio):
    data = b"RIFF\x24\x00\x00\x00WEBPVP8 " + bytes(3000)

    async def dribble():
        for start in range(0, len(data), 5):
            yield data[start : start + 5]

    response = await client.put("/files/a.webp", content=dribble(), headers=bearer())

    assert response.status_code == 201, response.text
    assert response.json()["type"] == "webp"
    assert content_of(fastio, response.json()["file_id"]) == data


async def test_upload_record_is_readable_by_its_uploader_only(client, fastio):
    data = body(PDF, 2000)
    created = await client.put("/files/r.pdf", content=data, headers=bearer("alice"))
    location = created.headers["location"]

    mine = await client.get(location, headers=bearer("alice"))
    theirs = await client.get(location, headers=bearer("bob"))

    assert mine.status_code == 200
    assert mine.json()["sha256"] == sha256(data)
    assert theirs.status_code == 404


async def test_disallowed_type_is_415_and_nothing_reaches_fastio(client, fastio):
    response = await client.put(
        "/files/tool.pdf",
        content=body(ELF, 50_000),
        headers={**bearer(), "Content-Type": "application/pdf"},
    )

    assert response.status_code == 415
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detected_type"] == "unknown"
    assert stored(fastio) == []
    assert sessions(fastio) == []


async def test_declared_oversize_is_413_before_the_body_is_read(fastio, worker):
    big = 64 * MiB  # the test Worker's MAX_UPLOAD_BYTES is 8 MiB

    response = await rawhttp.request(
        worker.url, "PUT", "/files/big.pdf", bearer(), body(PDF, big), pause=0.001
    )

    assert response.status == 413
    assert response.json()["max_bytes"] == 8 * MiB
    assert response.sent_before_answer < MiB
    assert worker.log_for(response.headers["x-request-id"])["bytes_in"] == 0
    assert sessions(fastio) == []


async def test_undeclared_oversize_is_cut_off_in_flight(client, fastio):
    data = body(PDF, 9 * MiB)

    response = await client.put(
        "/files/big.pdf", content=chunks(data), headers=bearer()
    )

    assert response.status_code == 413
    assert stored(fastio) == []
    assert all(s["status"] != "stored" for s in sessions(fastio))


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("..%2Fx.pdf", "path separator"),
        ("a%2Fb.pdf", "path separator"),
        ("a%5Cb.pdf", "path separator"),
        ("bad%0Aname.pdf", "control character"),
        ("evil%E2%80%AEfdp.exe", "control character"),
        ("x" * 1000 + ".pdf", "longer than 255 bytes"),
        ("%20lead.pdf", "whitespace"),
    ],
)
async def test_bad_file_names_are_400(client, fastio, name, reason):
    response = await client.put(f"/files/{name}", content=PDF, headers=bearer())

    assert response.status_code == 400
    assert reason in response.json()["detail"]
    assert sessions(fastio) == []


async def test_empty_body_is_400(client, fastio):
    response = await client.put("/files/empty.txt", content=b"", headers=bearer())

    assert response.status_code == 400
    assert response.json()["type"].endswith("/empty-body")
    assert sessions(fastio) == []


async def test_matching_content_digest_is_accepted(client, fastio):
    data = body(PDF, MiB + 5)
    digest = base64.b64encode(hashlib.sha256(data).digest()).decode()

    response = await client.put(
        "/files/ok.pdf",
        content=data,
        headers={**bearer(), "Content-Digest": f"sha-512=:AAAA:, sha-256=:{digest}:"},
    )

    assert response.status_code == 201, response.text


@pytest.mark.parametrize("size", [100, 3 * MiB + 1])
async def test_content_digest_mismatch_is_400_and_nothing_is_stored(
    client, fastio, size
):
    data = body(PDF, size)
    wrong = base64.b64encode(hashlib.sha256(b"other").digest()).decode()

    response = await client.put(
        "/files/bad.pdf",
        content=data,
        headers={**bearer(), "Content-Digest": f"sha-256=:{wrong}:"},
    )

    assert response.status_code == 400
    assert response.json()["type"].endswith("/digest-mismatch")
    assert stored(fastio) == []
    assert sessions(fastio) == []  # the session was cancelled


@pytest.mark.parametrize(
    "value", ["sha-256=abc", "sha-256=:not base64!:", "sha-256=:AAAA:", ""]
)
async def test_malformed_content_digest_is_400(client, fastio, value):
    response = await client.put(
        "/files/x.pdf", content=PDF, headers={**bearer(), "Content-Digest": value}
    )

    assert response.status_code == 400
    assert response.json()["type"].endswith("/malformed-content-digest")
    assert sessions(fastio) == []


def sessions(fastio) -> list[dict]:
    with fastio.control() as control:
        response = control.get("/_emulator/sessions")
        response.raise_for_status()
        return response.json()["sessions"]


async def test_plain_text_is_detected(client, fastio):
    data = ("héllo wörld\n" * 1000).encode()

    response = await client.put("/files/notes.txt", content=data, headers=bearer())

    assert response.status_code == 201, response.text
    assert response.json()["type"] == "text"


async def test_missing_token_is_401_before_the_body_is_read(fastio, worker):
    response = await rawhttp.request(
        worker.url, "PUT", "/files/a.pdf", {}, body(PDF, 64 * MiB), pause=0.001
    )

    assert response.status == 401
    assert response.sent_before_answer < MiB
    assert worker.log_for(response.headers["x-request-id"])["bytes_in"] == 0
    assert sessions(fastio) == []
