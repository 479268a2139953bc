import hashlib
import json

import pytest

import events
from events import PayloadError, event_id, from_payload, parse_body

EMULATOR_EVENT = {
    "id": "evt_abc",
    "type": "workspace_storage_file_added",
    "created": 1_760_000_000,
    "data": {
        "workspace_id": "1234567890123456789",
        "node_id": "node_1",
        "file_id": "node_1",
        "name": "report.pdf",
        "size": 1234,
        "sha256": "ab" * 32,
        "folder_id": "root",
        "version_id": "v1",
        "upload_id": "up_1",
    },
}


def test_emulator_event_becomes_a_file_event():
    event = from_payload(EMULATOR_EVENT, "evt_abc")

    assert event.type == "workspace_storage_file_added"
    assert event.file_action == "added"
    assert event.occurred_at == 1_760_000_000
    assert event.file == events.FileFacts(
        id="node_1",
        name="report.pdf",
        size=1234,
        sha256="ab" * 32,
        upload_id="up_1",
        workspace_id="1234567890123456789",
    )


@pytest.mark.parametrize(
    ("kind", "action"),
    [
        ("workspace_storage_file_updated", "updated"),
        ("workspace_storage_file_deleted", "deleted"),
        ("share_storage_file_added", "added"),
        ("file.uploaded", "added"),
        ("file.modified", "updated"),
        ("file.deleted", "deleted"),
        ("workspace_member_added", None),
    ],
)
def test_event_names_map_to_file_actions(kind, action):
    event = from_payload({**EMULATOR_EVENT, "type": kind}, "e")

    assert event.file_action == action
    assert (event.file is None) == (action is None)


def test_tutorial_style_event_with_nested_file_and_event_key():
    payload = {
        "id": "evt_9",
        "event": "file.uploaded",
        "timestamp": "1760000001",
        "data": {"file": {"id": "node_9", "name": "a.txt", "size": 3}},
    }

    event = from_payload(payload, "evt_9")

    assert event.type == "file.uploaded"
    assert event.occurred_at == 1_760_000_001
    assert event.file.id == "node_9"
    assert event.file.name == "a.txt"


def test_event_without_a_type_is_refused():
    with pytest.raises(PayloadError):
        from_payload({"id": "x", "data": {}}, "x")


def test_signed_webhook_id_wins_then_payload_id_then_body_hash():
    body = json.dumps(EMULATOR_EVENT).encode()

    assert event_id(EMULATOR_EVENT, body, "msg_1") == "msg_1"
    assert event_id(EMULATOR_EVENT, body, None) == "evt_abc"
    no_id = {"type": "x"}
    raw = b'{"type": "x"}'
    assert event_id(no_id, raw, None) == "sha256:" + hashlib.sha256(raw).hexdigest()


def test_webhook_and_poll_paths_give_the_same_id():
    body = json.dumps(EMULATOR_EVENT).encode()
    polled = {**EMULATOR_EVENT, "event": EMULATOR_EVENT["type"]}

    assert event_id(parse_body(body), body, None) == event_id(polled, None, None)


def test_numeric_payload_id_is_used_as_text_and_long_ids_are_hashed():
    assert event_id({"id": 42}, b"{}", None) == "42"
    long_id = "x" * 300
    assert event_id({"id": long_id}, b"{}", None).startswith("sha256:")
    assert event_id({"id": True}, b"{}", None).startswith("sha256:")


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b"\xff\xfe", b"", b"42"])
def test_bodies_that_are_not_json_objects_are_refused(body):
    with pytest.raises(PayloadError):
        parse_body(body)
