"""``POST /webhooks/fastio`` in real workerd: verification, exactly-once, actions."""

import asyncio
import base64
import json
import time

import httpx
import pytest

from support import rawhttp
from support.deliveries import (
    WEBHOOK_SECRET,
    file_event,
    find_file,
    signed,
    wait_for_event,
)
from support.files import PDF, sha256
from support.tokens import bearer

pytestmark = pytest.mark.asyncio(loop_scope="session")

PATH = "/webhooks/fastio"
MiB = 1024 * 1024
WHSEC = "whsec_" + base64.b64encode(b"standard-webhooks-test-key-32byte").decode()


async def post(client: httpx.AsyncClient, body: bytes, headers: dict) -> httpx.Response:
    return await client.post(PATH, content=body, headers=headers)


def assert_refused(response: httpx.Response, status: int = 401) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return response.json()


# -- accepted deliveries --------------------------------------------------------


async def test_signed_file_event_is_recorded_then_processed_after_202(client):
    event = file_event(name="q3-report.pdf", size=2048, sha256="ab" * 32)

    response = await post(client, *signed(event, WEBHOOK_SECRET))

    assert response.status_code == 202, response.text
    assert response.json() == {"id": event["id"], "duplicate": False}
    row = await wait_for_event(client, event["id"])
    assert row["status"] == "processed"
    assert row["attempts"] == 1
    assert row["source"] == "webhook"
    assert row["type"] == "workspace_storage_file_added"
    assert row["file_id"] == event["data"]["file_id"]
    assert row["processed_at"] >= row["received_at"]
    file = await find_file(client, event["data"]["file_id"])
    assert file["name"] == "q3-report.pdf"
    assert file["size"] == 2048
    assert file["sha256"] == "ab" * 32
    assert file["status"] == "active"
    assert file["uploader"] is None  # not uploaded through the Worker


async def test_update_then_delete_events_maintain_the_file_row(client):
    added = file_event(name="draft.txt", size=10)
    file_id = added["data"]["file_id"]
    updated = file_event(
        "workspace_storage_file_updated", file_id=file_id, name="final.txt", size=20
    )
    deleted = file_event("file.deleted", file_id=file_id, name="final.txt", size=20)
    deleted["created"] = updated["created"] + 1

    for event in (added, updated, deleted):
        assert (await post(client, *signed(event, WEBHOOK_SECRET))).status_code == 202
        await wait_for_event(client, event["id"])

    file = await find_file(client, file_id)
    assert file["name"] == "final.txt"
    assert file["size"] == 20
    assert file["status"] == "deleted"
    assert file["deleted_at"] is not None


async def test_an_older_event_arriving_late_does_not_undo_a_newer_one(client):
    added = file_event(name="x.txt", created=int(time.time()) - 60)
    deleted = file_event("file.deleted", file_id=added["data"]["file_id"])

    for event in (deleted, added):  # delivered out of order
        assert (await post(client, *signed(event, WEBHOOK_SECRET))).status_code == 202
        await wait_for_event(client, event["id"])

    assert (await find_file(client, added["data"]["file_id"]))["status"] == "deleted"


async def test_unknown_event_type_is_recorded_and_processed_without_file_row(client):
    event = {"id": "evt_member_1", "type": "workspace_member_added", "data": {}}

    response = await post(client, *signed(event, WEBHOOK_SECRET))

    assert response.status_code == 202
    row = await wait_for_event(client, "evt_member_1")
    assert row["status"] == "processed"
    assert row["file_id"] is None


async def test_event_without_id_is_keyed_by_the_body_hash(client):
    event = {"type": "file.uploaded", "data": {"file": {"id": "node_noid"}}}
    body = json.dumps(event).encode()

    response = await post(client, *signed(body, WEBHOOK_SECRET))

    assert response.status_code == 202
    assert response.json()["id"] == "sha256:" + sha256(body)


# -- exactly once -----------------------------------------------------------------


async def test_duplicate_delivery_is_200_and_not_processed_again(
    notify_client, receiver
):
    event = file_event()
    body, headers = signed(event, WEBHOOK_SECRET)

    first = await post(notify_client, body, headers)
    await wait_for_event(notify_client, event["id"])
    again = await post(notify_client, *signed(event, WEBHOOK_SECRET))

    assert first.status_code == 202
    assert again.status_code == 200
    assert again.json() == {"id": event["id"], "duplicate": True}
    await asyncio.sleep(0.5)  # room for a wrongly scheduled second run
    row = await wait_for_event(notify_client, event["id"])
    assert row["attempts"] == 1
    assert receiver.count(event["id"]) == 1


async def test_concurrent_duplicate_deliveries_are_processed_once(
    notify_client, receiver
):
    event = file_event()
    body, headers = signed(event, WEBHOOK_SECRET)

    responses = await asyncio.gather(
        *(post(notify_client, body, headers) for _ in range(12))
    )

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 11 + [202]
    row = await wait_for_event(notify_client, event["id"])
    await asyncio.sleep(0.5)
    assert row["status"] == "processed"
    assert row["attempts"] == 1
    assert receiver.count(event["id"]) == 1


async def test_failed_action_marks_the_event_failed_and_a_redelivery_retries_it(
    notify_client, receiver
):
    event = file_event(name="retry-me.pdf")
    receiver.fail_next = 1  # the chat channel answers 500 once

    first = await post(notify_client, *signed(event, WEBHOOK_SECRET))
    failed = await wait_for_event(notify_client, event["id"], ("failed",))
    again = await post(notify_client, *signed(event, WEBHOOK_SECRET))
    done = await wait_for_event(notify_client, event["id"], ("processed",))
    third = await post(notify_client, *signed(event, WEBHOOK_SECRET))

    assert first.status_code == 202
    assert failed["error"] == "notification failed: HTTP 500"
    assert failed["attempts"] == 1
    assert again.status_code == 202
    assert again.json()["duplicate"] is False
    assert done["attempts"] == 2
    assert done["error"] is None
    assert third.status_code == 200
    assert receiver.count(event["id"]) == 1
    file = await find_file(notify_client, event["data"]["file_id"])
    assert file["name"] == "retry-me.pdf"


# -- refused deliveries -----------------------------------------------------------


async def test_tampered_body_is_401(client):
    event = file_event()
    body, headers = signed(event, WEBHOOK_SECRET)

    response = await post(client, body.replace(b"report", b"rep0rt"), headers)

    problem = assert_refused(response)
    assert problem["detail"] == "No matching signature."
    assert response.headers["www-authenticate"].startswith("Signature")


async def test_wrong_secret_is_401(client):
    response = await post(client, *signed(file_event(), "not-the-secret"))

    assert assert_refused(response)["detail"] == "No matching signature."


@pytest.mark.parametrize("skew", [-301, -3600, 301, 3600])
async def test_stale_and_future_timestamps_are_401(client, skew):
    now = int(time.time()) + skew

    response = await post(client, *signed(file_event(), WEBHOOK_SECRET, now=now))

    assert "tolerance" in assert_refused(response)["detail"]


@pytest.mark.parametrize(
    ("value", "detail"),
    [
        (None, "Missing signature."),
        ("", "Missing signature."),
        ("t=abc,v1=xyz", "Malformed signature header."),
        ("v1=c2ln", "Malformed signature header."),
        ("sha256=0123abcd", "Malformed signature header."),
        ("garbage", "Malformed signature header."),
    ],
)
async def test_missing_empty_and_malformed_signature_headers_are_401(
    client, value, detail
):
    body, headers = signed(file_event(), WEBHOOK_SECRET)
    del headers["Fastio-Signature"]
    if value is not None:
        headers["Fastio-Signature"] = value

    response = await post(client, body, headers)

    assert assert_refused(response)["detail"] == detail


async def test_unknown_signature_version_is_401(client):
    body, headers = signed(file_event(), WEBHOOK_SECRET)
    headers["Fastio-Signature"] = headers["Fastio-Signature"].replace("v1=", "v2=")

    response = await post(client, body, headers)

    assert assert_refused(response)["detail"] == "No supported signature version."


async def test_signature_values_never_reach_the_log(client, worker):
    body, headers = signed(file_event(), "not-the-secret")
    mac = headers["Fastio-Signature"].split("v1=")[1]

    response = await post(client, body, headers)

    line = worker.log_for(response.headers["x-request-id"])
    assert line["status"] == 401
    assert mac not in worker.log_text()
    assert WEBHOOK_SECRET not in worker.log_text()


async def test_signed_body_that_is_not_json_is_400_and_not_recorded(client):
    body = b"this is not json"

    response = await post(client, *signed(body, WEBHOOK_SECRET))

    assert assert_refused(response, 400)["detail"] == "Body is not JSON."
    events = (await client.get("/events", headers=bearer())).json()["events"]
    assert all(e["id"] != "sha256:" + sha256(body) for e in events)


async def test_declared_oversized_body_is_413_before_it_is_read(worker):
    big = b"{" + b" " * (4 * MiB) + b"}"
    _, headers = signed(big, WEBHOOK_SECRET)

    # A bare client: the Worker answers early and stops reading, which
    # httpx (still writing) would see as a reset connection.
    response = await rawhttp.request(
        worker.url, "POST", PATH, headers, big, pause=0.001
    )

    assert response.status == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["limit"] == MiB
    assert response.sent_before_answer < len(big)


async def test_chunked_oversized_body_is_413_once_the_cap_is_passed(worker):
    big = b"{" + b" " * (4 * MiB) + b"}"
    _, headers = signed(big, WEBHOOK_SECRET)

    response = await rawhttp.request(
        worker.url, "POST", PATH, headers, big, chunked=True, pause=0.001
    )

    assert response.status == 413
    assert response.json()["limit"] == MiB


async def test_body_of_exactly_one_mib_is_accepted(client):
    event = file_event()
    raw = json.dumps(event).encode()
    body = raw[:-1] + b" " * (MiB - len(raw)) + b"}"
    assert len(body) == MiB

    response = await post(client, *signed(body, WEBHOOK_SECRET))

    assert response.status_code == 202, response.text
    assert (await wait_for_event(client, event["id"]))["status"] == "processed"


async def test_missing_secrets_setting_is_500_naming_it(make_worker):
    worker = make_worker(WEBHOOK_SECRETS="")

    async with httpx.AsyncClient(base_url=worker.url) as http:
        response = await post(http, *signed(file_event(), WEBHOOK_SECRET))

    problem = assert_refused(response, 500)
    assert problem["setting"] == "WEBHOOK_SECRETS"
    assert "WEBHOOK_SECRETS" in problem["detail"]


# -- secret rotation and the standard scheme -------------------------------------


async def test_old_secret_is_accepted_while_listed_and_refused_once_removed(
    make_worker,
):
    during = make_worker(WEBHOOK_SECRETS="new-secret,old-secret")
    after = make_worker(WEBHOOK_SECRETS="new-secret")

    async with httpx.AsyncClient(base_url=during.url) as http:
        old = await post(http, *signed(file_event(), "old-secret"))
        new = await post(http, *signed(file_event(), "new-secret"))
    async with httpx.AsyncClient(base_url=after.url) as http:
        old_after = await post(http, *signed(file_event(), "old-secret"))
        new_after = await post(http, *signed(file_event(), "new-secret"))

    assert (old.status_code, new.status_code) == (202, 202)
    assert assert_refused(old_after)["detail"] == "No matching signature."
    assert new_after.status_code == 202


@pytest.fixture(scope="module")
def standard_worker(make_worker):
    return make_worker(WEBHOOK_SCHEME="standard", WEBHOOK_SECRETS=WHSEC)


async def test_standard_scheme_uses_the_signed_webhook_id(standard_worker):
    event = file_event()
    body, headers = signed(event, WHSEC, scheme="standard", message_id="msg_std_1")

    async with httpx.AsyncClient(base_url=standard_worker.url) as http:
        first = await post(http, body, headers)
        again = await post(http, body, headers)
        row = await wait_for_event(http, "msg_std_1")

    assert first.status_code == 202
    assert first.json()["id"] == "msg_std_1"
    assert again.status_code == 200
    assert row["status"] == "processed"


async def test_standard_scheme_refuses_changed_id_other_versions_and_fastio(
    standard_worker,
):
    event = file_event()
    body, headers = signed(event, WHSEC, scheme="standard")
    changed = {**headers, "webhook-id": "msg_other"}
    v2_only = {**headers, "webhook-signature": "v2,c2lnbmF0dXJl"}
    fastio_style = signed(event, WHSEC, scheme="fastio")[1]

    async with httpx.AsyncClient(base_url=standard_worker.url) as http:
        results = [
            await post(http, body, changed),
            await post(http, body, v2_only),
            await post(http, body, fastio_style),
            await post(http, *signed(event, WHSEC, scheme="standard", now=1)),
        ]

    details = [assert_refused(r)["detail"] for r in results]
    assert details == [
        "No matching signature.",
        "No supported signature version.",
        "Missing signature.",
        "Timestamp outside the tolerance.",
    ]


# -- end to end: the emulator's signed webhooks ------------------------------------


def emulator_webhooks(fastio, url: str, scheme: str, secret: str) -> None:
    with fastio.control() as control:
        response = control.put(
            "/_emulator/config",
            json={
                "webhook_url": url + PATH,
                "webhook_scheme": scheme,
                "webhook_secret": secret,
            },
        )
        response.raise_for_status()


async def test_emulator_upload_reaches_files_through_a_signed_webhook(
    notify_client, notify_worker, fastio, receiver
):
    emulator_webhooks(fastio, notify_worker.url, "fastio", WEBHOOK_SECRET)
    data = b"quarterly numbers\n" * 100

    file_id = fastio.upload("numbers.txt", data)

    event = await _event_for(notify_client, file_id)
    assert event["source"] == "webhook"
    file = await find_file(notify_client, file_id)
    assert file["name"] == "numbers.txt"
    assert file["size"] == len(data)
    assert file["sha256"] == sha256(data)
    assert receiver.count(event["id"]) == 1


async def test_emulator_redelivery_is_a_duplicate(
    notify_client, notify_worker, fastio, receiver
):
    emulator_webhooks(fastio, notify_worker.url, "fastio", WEBHOOK_SECRET)
    file_id = fastio.upload("twice.txt", b"hello twice\n")
    event = await _event_for(notify_client, file_id)

    with fastio.control() as control:
        control.post(f"/_emulator/webhooks/{event['id']}/redeliver").raise_for_status()
        await asyncio.sleep(1.0)
        record = control.get("/_emulator/webhooks").json()

    deliveries = [r for r in _records(record) if r["id"] == event["id"]]
    assert deliveries and deliveries[0]["delivered"]
    assert deliveries[0]["attempts"] >= 2
    assert receiver.count(event["id"]) == 1


async def test_emulator_standard_scheme_webhook_reaches_files(standard_worker, fastio):
    emulator_webhooks(fastio, standard_worker.url, "standard", WHSEC)

    file_id = fastio.upload("standard.txt", b"standard webhooks\n")

    async with httpx.AsyncClient(base_url=standard_worker.url) as http:
        event = await _event_for(http, file_id)
        file = await find_file(http, file_id)
    assert event["status"] == "processed"
    assert file["name"] == "standard.txt"


async def test_upload_through_the_worker_carries_its_uploader_into_files(
    notify_client, notify_worker, fastio
):
    emulator_webhooks(fastio, notify_worker.url, "fastio", WEBHOOK_SECRET)
    data = PDF + b"0" * 5000

    response = await notify_client.put(
        "/files/via-worker.pdf", content=data, headers=bearer("alice")
    )

    assert response.status_code == 201, response.text
    file_id = response.json()["file_id"]
    await _event_for(notify_client, file_id)
    file = await find_file(notify_client, file_id)
    assert file["uploader"] == "alice"
    assert file["sha256"] == sha256(data)


async def _event_for(client: httpx.AsyncClient, file_id: str) -> dict:
    """Wait for the processed event about ``file_id``."""
    deadline = time.time() + 15
    while time.time() < deadline:
        response = await client.get("/events", headers=bearer())
        for row in response.json()["events"]:
            if row["file_id"] == file_id and row["status"] == "processed":
                return row
        await asyncio.sleep(0.1)
    raise AssertionError(f"no processed event for file {file_id}")


def _records(answer) -> list[dict]:
    if isinstance(answer, dict):
        for key in ("webhooks", "deliveries", "records"):
            if isinstance(answer.get(key), list):
                return answer[key]
    return answer if isinstance(answer, list) else []
