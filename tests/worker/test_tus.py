"""The tus 1.0 server (``/tus/`` and signed ``/tus/s/{token}``) in workerd."""

import asyncio
import base64
import hashlib

import httpx
import pytest

import signed_urls
from support import rawhttp
from support.files import ELF, PDF, body
from support.tokens import bearer
from support.upload_keys import UPLOAD_URL_KEYS

pytestmark = pytest.mark.asyncio(loop_scope="session")

MiB = 1024 * 1024
TUS = {"Tus-Resumable": "1.0.0"}
OCTETS = {"Content-Type": "application/offset+octet-stream"}


def metadata(**values: str) -> str:
    return ",".join(
        f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items()
    )


async def create(client, length: int, sub: str = "user-1", **meta: str) -> str:
    response = await client.post(
        "/tus/",
        headers={
            **bearer(sub),
            **TUS,
            "Upload-Length": str(length),
            "Upload-Metadata": metadata(filename="big.pdf", **meta),
        },
    )
    assert response.status_code == 201, response.text
    return response.headers["location"]


async def patch(client, url, data, offset, headers=None):
    return await client.patch(
        url,
        content=data,
        headers={**TUS, **OCTETS, "Upload-Offset": str(offset), **(headers or {})},
    )


def stored_bytes(fastio, file_id: str) -> bytes:
    with fastio.control() as control:
        response = control.get(f"/_emulator/files/{file_id}/content")
        response.raise_for_status()
        return response.content


async def test_options_lists_the_supported_protocol(client):
    response = await client.options("/tus/")

    assert response.status_code == 204
    assert response.headers["tus-version"] == "1.0.0"
    assert response.headers["tus-resumable"] == "1.0.0"
    extensions = response.headers["tus-extension"].split(",")
    assert set(extensions) == {
        "creation", "creation-with-upload", "checksum", "termination", "expiration"
    }  # fmt: skip
    assert response.headers["tus-max-size"] == str(2 * 1024 * MiB)
    assert response.headers["tus-checksum-algorithm"] == "sha1,sha256"


async def test_one_patch_with_the_whole_file_is_stored(client, fastio, worker):
    data = body(PDF, 3 * MiB + 12345)
    url = await create(client, len(data))

    head = await client.head(url, headers={**bearer(), **TUS})
    response = await patch(client, url, data, 0, bearer())

    assert head.status_code == 200
    assert head.headers["upload-offset"] == "0"
    assert head.headers["upload-length"] == str(len(data))
    assert head.headers["cache-control"] == "no-store"
    assert "upload-expires" in head.headers
    assert response.status_code == 204, response.text
    assert response.headers["upload-offset"] == str(len(data))
    file_id = response.headers["x-fastio-file-id"]
    assert stored_bytes(fastio, file_id) == data
    digest = base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert response.headers["repr-digest"] == f"sha-256=:{digest}:"
    line = worker.log_for(response.headers["x-request-id"])
    assert (line["route"], line["status"]) == ("/tus/{id}", 204)
    assert line["bytes_in"] == len(data)
    assert line["upstream_status"] == 200
    assert line["uploader"] == "user-1"


async def test_patch_ending_inside_a_chunk_keeps_the_last_whole_chunk(client, fastio):
    data = body(PDF, 3 * MiB + 100)
    url = await create(client, len(data))

    first = await patch(client, url, data[: 2 * MiB + 500_000], 0, bearer())
    head = await client.head(url, headers={**bearer(), **TUS})
    second = await patch(client, url, data[2 * MiB :], 2 * MiB, bearer())

    assert first.status_code == 204
    assert first.headers["upload-offset"] == str(2 * MiB)
    assert head.headers["upload-offset"] == str(2 * MiB)
    assert second.status_code == 204, second.text
    assert stored_bytes(fastio, second.headers["x-fastio-file-id"]) == data


async def test_patch_smaller_than_a_chunk_is_refused_not_looped(client, fastio):
    url = await create(client, 3 * MiB)
    head = await client.head(url, headers={**bearer(), **TUS})

    response = await patch(client, url, body(PDF, 512 * 1024), 0, bearer())

    assert head.headers["x-chunk-size"] == str(MiB)
    assert response.status_code == 400
    assert response.json()["type"].endswith("/patch-too-small")
    assert response.json()["chunk_size"] == MiB
    assert response.headers["upload-offset"] == "0"


async def test_last_piece_smaller_than_a_chunk_completes(client, fastio):
    data = body(PDF, MiB + 1000)
    url = await create(client, len(data))
    await patch(client, url, data[:MiB], 0, bearer())

    response = await patch(client, url, data[MiB:], MiB, bearer())

    assert response.status_code == 204, response.text
    assert stored_bytes(fastio, response.headers["x-fastio-file-id"]) == data


async def test_wrong_offset_is_409_with_the_real_offset(client, fastio):
    url = await create(client, 2 * MiB)

    response = await patch(client, url, body(PDF, MiB), 5, bearer())

    assert response.status_code == 409
    assert response.headers["upload-offset"] == "0"


async def test_checksum_mismatch_is_460_and_the_chunks_are_removed(client, fastio):
    data = body(PDF, 2 * MiB + 10)
    url = await create(client, len(data))
    wrong = base64.b64encode(hashlib.sha1(b"not it").digest()).decode()

    response = await patch(
        client, url, data, 0, {**bearer(), "Upload-Checksum": f"sha1 {wrong}"}
    )
    head = await client.head(url, headers={**bearer(), **TUS})

    assert response.status_code == 460
    assert head.headers["upload-offset"] == "0"
    assert fastio.files() == []


async def test_matching_checksum_is_accepted(client, fastio):
    data = body(PDF, MiB + 10)
    url = await create(client, len(data))
    good = base64.b64encode(hashlib.sha256(data).digest()).decode()

    response = await patch(
        client, url, data, 0, {**bearer(), "Upload-Checksum": f"sha256 {good}"}
    )

    assert response.status_code == 204, response.text
    assert response.headers["upload-offset"] == str(len(data))


async def test_declared_sha256_mismatch_removes_the_file(client, fastio):
    data = body(PDF, MiB + 10)
    url = await create(client, len(data), sha256=hashlib.sha256(b"x").hexdigest())

    response = await patch(client, url, data, 0, bearer())

    assert response.status_code == 460
    assert fastio.files() == []


async def test_declared_sha256_is_verified_across_several_patches(client, fastio):
    data = body(PDF, 2 * MiB + 10)
    url = await create(client, len(data), sha256=hashlib.sha256(data).hexdigest())

    first = await patch(client, url, data[:MiB], 0, bearer())
    last = await patch(client, url, data[MiB:], MiB, bearer())

    assert first.status_code == 204
    assert last.status_code == 204, last.text
    digest = base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert last.headers["repr-digest"] == f"sha-256=:{digest}:"
    assert stored_bytes(fastio, last.headers["x-fastio-file-id"]) == data


async def test_declared_sha256_mismatch_across_patches_removes_the_file(client, fastio):
    data = body(PDF, 2 * MiB + 10)
    url = await create(client, len(data), sha256=hashlib.sha256(b"x").hexdigest())

    await patch(client, url, data[:MiB], 0, bearer())
    last = await patch(client, url, data[MiB:], MiB, bearer())
    after = await client.head(url, headers={**bearer(), **TUS})

    assert last.status_code == 460
    assert fastio.files() == []
    assert after.status_code == 410


async def test_disallowed_type_in_first_chunk_is_415(client, fastio):
    url = await create(client, 2 * MiB)

    response = await patch(client, url, body(ELF, 2 * MiB), 0, bearer())

    assert response.status_code == 415
    assert fastio.files() == []
    with fastio.control() as control:
        chunks = control.get("/_emulator/sessions").json()["sessions"][0]["chunks"]
    assert chunks == {}


async def test_oversize_creation_is_413(client, fastio):
    response = await client.post(
        "/tus/",
        headers={**bearer(), **TUS, "Upload-Length": str(3 * 1024 * MiB),
                 "Upload-Metadata": metadata(filename="x.pdf")},
    )  # fmt: skip

    assert response.status_code == 413


async def test_unknown_upload_is_404(client):
    response = await client.head("/tus/nope", headers={**bearer(), **TUS})

    assert response.status_code == 404


async def test_someone_elses_upload_is_404(client, fastio):
    url = await create(client, MiB, sub="alice")

    response = await client.head(url, headers={**bearer("bob"), **TUS})

    assert response.status_code == 404


async def test_terminated_upload_is_gone(client, fastio):
    url = await create(client, 2 * MiB)
    await patch(client, url, body(PDF, MiB), 0, bearer())

    deleted = await client.delete(url, headers={**bearer(), **TUS})
    after = await client.head(url, headers={**bearer(), **TUS})

    assert deleted.status_code == 204
    assert after.status_code == 410
    with fastio.control() as control:
        assert control.get("/_emulator/sessions").json()["sessions"] == []


async def test_missing_tus_resumable_is_412(client, fastio):
    url = await create(client, MiB)

    response = await client.patch(
        url, content=b"x", headers={**bearer(), **OCTETS, "Upload-Offset": "0"}
    )

    assert response.status_code == 412
    assert response.headers["tus-version"] == "1.0.0"


async def test_creation_with_upload(client, fastio):
    data = body(PDF, MiB + 99)
    response = await client.post(
        "/tus/",
        content=data,
        headers={**bearer(), **TUS, **OCTETS, "Upload-Length": str(len(data)),
                 "Upload-Metadata": metadata(filename="c.pdf")},
    )  # fmt: skip

    assert response.status_code == 201, response.text
    assert response.headers["upload-offset"] == str(len(data))
    assert stored_bytes(fastio, response.headers["x-fastio-file-id"]) == data


async def test_racing_patches_one_wins_and_bytes_are_intact(client, fastio, worker):
    data = body(PDF, 6 * MiB)
    url = await create(client, len(data))

    async def slow_patch():
        return await rawhttp.request(
            worker.url, "PATCH", url, {**bearer(), **TUS, **OCTETS,
                                       "Upload-Offset": "0"},
            data, pause=0.01,
        )  # fmt: skip

    first, second = await asyncio.gather(slow_patch(), slow_patch())

    statuses = sorted([first.status, second.status])
    assert statuses in ([204, 409], [204, 423]), statuses
    winner = first if first.status == 204 else second
    file_id = winner.headers["x-fastio-file-id"]
    assert stored_bytes(fastio, file_id) == data


async def test_dropped_patch_then_resume_completes_with_the_right_bytes(
    client, fastio, worker
):
    data = body(PDF, 5 * MiB + 3)
    url = await create(client, len(data))

    await rawhttp.request(
        worker.url, "PATCH", url,
        {**bearer(), **TUS, **OCTETS, "Upload-Offset": "0"},
        data, disconnect_after=3 * MiB + 4096,
    )  # fmt: skip
    await asyncio.sleep(1)
    head = await client.head(url, headers={**bearer(), **TUS})
    offset = int(head.headers["upload-offset"])
    resumed = await patch(client, url, data[offset:], offset, bearer())

    assert offset == 3 * MiB
    assert resumed.status_code == 204, resumed.text
    assert stored_bytes(fastio, resumed.headers["x-fastio-file-id"]) == data


# -- signed upload URLs --------------------------------------------------------


async def direct(client, size: int, **extra) -> dict:
    response = await client.post(
        "/uploads/direct",
        json={"name": "big.pdf", "size": size, "type": "application/pdf", **extra},
        headers=bearer(),
    )
    assert response.status_code == 201, response.text
    return response.json()


async def test_signed_url_uploads_without_a_jwt(client, fastio):
    data = body(PDF, 2 * MiB + 1)
    grant = await direct(client, len(data))
    path = httpx.URL(grant["upload_url"]).path

    head = await client.head(path, headers=TUS)
    response = await patch(client, path, data, 0)

    assert grant["chunk_size"] == MiB
    assert head.status_code == 200
    assert head.headers["upload-offset"] == "0"
    assert response.status_code == 204, response.text
    assert stored_bytes(fastio, response.headers["x-fastio-file-id"]) == data


async def test_forged_signed_url_is_401(client, fastio):
    grant = await direct(client, MiB)
    path = httpx.URL(grant["upload_url"]).path
    forged = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")

    response = await client.head(forged, headers=TUS)

    assert response.status_code == 401


async def test_signed_url_for_another_session_is_401(client, fastio):
    first = await direct(client, MiB)
    second = await direct(client, MiB)
    version, kid, _, signature = (
        httpx.URL(first["upload_url"]).path.split("/")[-1].split(".")
    )
    other_payload = httpx.URL(second["upload_url"]).path.split("/")[-1].split(".")[2]

    response = await client.head(
        f"/tus/s/{version}.{kid}.{other_payload}.{signature}", headers=TUS
    )

    assert response.status_code == 401


async def test_expired_signed_url_is_401(client, fastio):
    grant = await direct(client, MiB)
    token = httpx.URL(grant["upload_url"]).path.split("/")[-1]
    keys = signed_urls.parse_keys(UPLOAD_URL_KEYS)
    claims = signed_urls.verify(token, keys)

    # The same grant, validly signed, but expired a while ago.
    expired = signed_urls.sign(
        signed_urls.UploadGrant(claims.session_id, claims.uploader, claims.size, 1),
        keys,
    )
    response = await patch(client, f"/tus/s/{expired}", body(PDF, 100), 0)

    assert response.status_code == 401
    assert "expired" in response.json()["detail"]
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_direct_rejects_oversize_and_bad_type(client, fastio):
    big = await client.post(
        "/uploads/direct", json={"name": "a.pdf", "size": 3 * 1024 * MiB},
        headers=bearer(),
    )  # fmt: skip
    exe = await client.post(
        "/uploads/direct",
        json={"name": "a.exe", "size": MiB, "type": "image/svg+xml"},
        headers=bearer(),
    )
    bad = await client.post("/uploads/direct", content=b"{", headers=bearer())

    assert big.status_code == 413
    assert exe.status_code == 201  # unknown declared types are checked on bytes
    assert bad.status_code == 400
