import base64

import pytest

from paging import MAX_LIMIT, decode_cursor, encode_cursor, parse_limit
from problems import HTTPError


def test_limit_defaults_and_bounds():
    assert parse_limit(None) == 50
    assert parse_limit("") == 50
    assert parse_limit("1") == 1
    assert parse_limit(str(MAX_LIMIT)) == MAX_LIMIT


@pytest.mark.parametrize("text", ["0", "101", "-1", "ten", "1.5", " 5"])
def test_bad_limit_is_400(text):
    with pytest.raises(HTTPError) as info:
        parse_limit(text)

    assert info.value.status == 400
    assert info.value.extra["parameter"] == "limit"


def test_cursor_round_trips_and_is_opaque():
    cursor = encode_cursor("files", 17)

    assert "17" not in cursor
    assert decode_cursor("files", cursor) == 17
    assert decode_cursor("files", None) is None
    assert decode_cursor("files", "") is None


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "!!!",
        b64(b"not json"),
        b64(b"[1]"),
        b64(b'{"k":"files","s":0}'),
        b64(b'{"k":"files","s":"3"}'),
        b64(b'{"k":"files","s":true}'),
        encode_cursor("events", 3),  # another list's cursor
    ],
)
def test_bad_cursor_is_400(cursor):
    with pytest.raises(HTTPError) as info:
        decode_cursor("files", cursor)

    assert info.value.status == 400
    assert info.value.extra["parameter"] == "cursor"
