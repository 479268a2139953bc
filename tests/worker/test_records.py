"""The read API (``/files``, ``/events``, ``/search``) and the polling fallback."""

import asyncio

import httpx
import pytest

from support.deliveries import (
    WEBHOOK_SECRET,
    file_event,
    find_file,
    recent_events,
    signed,
    wait_for_event,
)
from support.tokens import bearer

pytestmark = pytest.mark.asyncio(loop_scope="session")


def assert_problem(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return response.json()


async def deliver(client: httpx.AsyncClient, event: dict) -> None:
    body, headers = signed(event, WEBHOOK_SECRET)
    response = await client.post("/webhooks/fastio", content=body, headers=headers)
    assert response.status_code in (200, 202), response.text
    await wait_for_event(client, event["id"])


def add_fault(fastio, **spec) -> None:
    with fastio.control() as control:
        control.post("/_emulator/faults", json=spec).raise_for_status()


# -- authentication -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/files"),
        ("GET", "/events"),
        ("GET", "/search?q=x"),
        ("POST", "/admin/poll"),
    ],
)
async def test_read_routes_need_a_token(client, method, path):
    response = await client.request(method, path)

    assert_problem(response, 401)


# -- /files ------------------------------------------------------------------------


async def test_files_are_listed_newest_first_in_pages_with_an_opaque_cursor(client):
    made = [file_event(name=f"page-{i}.txt") for i in range(5)]
    for event in made:
        await deliver(client, event)
    ours = [e["data"]["file_id"] for e in reversed(made)]

    seen, cursor = [], None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        response = await client.get("/files", params=params, headers=bearer())
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["files"]) <= 2
        seen += [f["id"] for f in page["files"]]
        cursor = page["next_cursor"]
        if cursor is None or all(i in seen for i in ours):
            break

    assert [i for i in seen if i in ours] == ours
    assert len(seen) == len(set(seen))


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"cursor": "eyJrIjoiZXZlbnRzIiwicyI6MX0"}, "cursor"),  # an events cursor
    ],
)
async def test_bad_files_parameters_are_400(client, params, parameter):
    response = await client.get("/files", params=params, headers=bearer())

    assert assert_problem(response, 400)["parameter"] == parameter


# -- /events -----------------------------------------------------------------------


async def test_events_can_be_filtered_by_status(client):
    event = file_event()
    await deliver(client, event)

    processed = await recent_events(client, status="processed")
    failed = await recent_events(client, status="failed")

    assert event["id"] in [e["id"] for e in processed]
    assert all(e["status"] == "processed" for e in processed)
    assert all(e["status"] == "failed" for e in failed)


@pytest.mark.parametrize("status", ["done", "PROCESSED", "processed,failed"])
async def test_unknown_event_status_is_400(client, status):
    response = await client.get("/events", params={"status": status}, headers=bearer())

    assert assert_problem(response, 400)["parameter"] == "status"


async def test_events_page_through_with_a_cursor(client):
    for _ in range(3):
        await deliver(client, file_event())

    first = (await client.get("/events?limit=2", headers=bearer())).json()
    second = (
        await client.get(
            "/events",
            params={"limit": "2", "cursor": first["next_cursor"]},
            headers=bearer(),
        )
    ).json()

    assert len(first["events"]) == 2
    assert first["next_cursor"]
    ids = [e["id"] for e in first["events"] + second["events"]]
    assert len(ids) == len(set(ids))


# -- /search -----------------------------------------------------------------------


async def test_search_returns_fastio_hits(client, fastio):
    fastio.upload("budget-2026.txt", b"the quarterly budget forecast\n")
    fastio.upload("holiday.txt", b"beach and sunshine\n")

    response = await client.get("/search", params={"q": "budget"}, headers=bearer())

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["query"] == "budget"
    names = [hit["name"] for hit in body["hits"]]
    assert names == ["budget-2026.txt"]
    assert body["hits"][0]["relevance_score"] > 0


@pytest.mark.parametrize("params", [{}, {"q": ""}, {"q": "   "}, {"q": "x" * 501}])
async def test_search_without_a_usable_query_is_400(client, params):
    response = await client.get("/search", params=params, headers=bearer())

    assert assert_problem(response, 400)["parameter"] == "q"


async def test_search_rate_limited_upstream_is_429_with_retry_after(client, fastio):
    add_fault(fastio, match="storage/search", kind="rate_limit", times=5)

    response = await client.get("/search", params={"q": "budget"}, headers=bearer())

    assert_problem(response, 429)
    assert 1 <= int(response.headers["retry-after"]) <= 3600


async def test_search_upstream_failure_is_502(client, fastio):
    add_fault(fastio, match="storage/search", kind="status", status=500, times=5)

    response = await client.get("/search", params={"q": "budget"}, headers=bearer())

    assert_problem(response, 502)


# -- polling fallback ----------------------------------------------------------------


async def poll(client: httpx.AsyncClient) -> dict:
    response = await client.post("/admin/poll", headers=bearer())
    assert response.status_code == 200, response.text
    return response.json()


async def test_poll_records_and_processes_events_no_webhook_delivered(client, fastio):
    file_id = fastio.upload("polled.txt", b"found by polling\n")

    summary = await poll(client)
    again = await poll(client)

    assert summary["new"] >= 1
    assert summary["processed"] >= 1
    assert again["new"] == 0
    file = await find_file(client, file_id)
    assert file["name"] == "polled.txt"
    rows = [e for e in await recent_events(client) if e["file_id"] == file_id]
    assert len(rows) == 1
    assert rows[0]["source"] == "poll"
    assert rows[0]["status"] == "processed"
    assert rows[0]["attempts"] == 1


async def test_poll_after_webhook_processes_the_event_once(
    notify_client, notify_worker, fastio, receiver
):
    with fastio.control() as control:
        control.put(
            "/_emulator/config",
            json={
                "webhook_url": notify_worker.url + "/webhooks/fastio",
                "webhook_scheme": "fastio",
                "webhook_secret": WEBHOOK_SECRET,
            },
        ).raise_for_status()
    file_id = fastio.upload("both-ways.txt", b"webhook and poll\n")
    event = await _processed_event_for(notify_client, file_id)

    summary = await poll(notify_client)
    await asyncio.sleep(0.5)

    assert summary["duplicate"] >= 1
    rows = [e for e in await recent_events(notify_client) if e["file_id"] == file_id]
    assert [(r["id"], r["source"], r["attempts"]) for r in rows] == [
        (event["id"], "webhook", 1)
    ]
    assert receiver.count(event["id"]) == 1


async def test_poll_upstream_rate_limit_is_429(client, fastio):
    add_fault(fastio, match="events/search", kind="rate_limit", times=5)

    response = await client.post("/admin/poll", headers=bearer())

    assert_problem(response, 429)
    assert int(response.headers["retry-after"]) >= 1


async def _processed_event_for(client: httpx.AsyncClient, file_id: str) -> dict:
    for _ in range(150):
        for row in await recent_events(client, status="processed"):
            if row["file_id"] == file_id:
                return row
        await asyncio.sleep(0.1)
    raise AssertionError(f"no processed event for file {file_id}")
