import base64
import hashlib
import hmac
import json
from types import SimpleNamespace

import pytest

import reqlog
from reqlog import RequestLog, redact

JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    ".eyJzdWIiOiJ1c2VyLTEiLCJleHAiOjE3MDAwMDAwMDB9"
    ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
)
UNSIGNED_JWT = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."
SIGNATURE = base64.b64encode(hmac.new(b"k", b"m", hashlib.sha256).digest()).decode()
WHSEC = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
HEX_SIGNATURE = hmac.new(b"k", b"m", hashlib.sha256).hexdigest()


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (f"token {JWT} rejected", JWT),
        (f"token {UNSIGNED_JWT} rejected", UNSIGNED_JWT),
        ("Authorization: Bearer abc.def-ghi_jkl", "abc.def-ghi_jkl"),
        ("Authorization: Bearer   spaced-out-token", "spaced-out-token"),
        (f"Fastio-Signature: t=1700000000,v1={SIGNATURE}", SIGNATURE),
        (f"webhook-signature: v1,{SIGNATURE}", SIGNATURE),
        (f"secret {WHSEC} is wrong", WHSEC),
        (f"X-Hub-Signature-256: sha256={HEX_SIGNATURE}", HEX_SIGNATURE),
    ],
)
def test_credentials_are_redacted(text, secret):
    masked = redact(text)

    assert secret not in masked
    assert "[redacted]" in masked


def test_text_around_a_secret_is_kept():
    masked = redact(f"upstream said 401 for Bearer {JWT} (expired)")

    assert masked == "upstream said 401 for [redacted] (expired)"


def test_fastio_signature_keeps_its_timestamp():
    assert redact(f"t=1700000000,v1={SIGNATURE}") == "t=1700000000,[redacted]"


def test_every_standard_webhooks_signature_is_redacted():
    other = base64.b64encode(b"x" * 32).decode()

    masked = redact(f"v1,{SIGNATURE} v1,{other}")

    assert masked == "[redacted] [redacted]"


def test_lowercase_bearer_token_is_redacted():
    # The auth scheme is case-insensitive (RFC 9110, section 11.1), so a
    # quoted header can spell it any way.
    masked = redact("authorization: bearer abc.def-ghi_jkl")

    assert "abc.def-ghi_jkl" not in masked


@pytest.mark.parametrize(
    "text",
    [
        "PUT /files/report.pdf",
        "File type exe is not accepted here; accepted: pdf, png.",
        "upload session 5xz8gzomqqsfd5b0rnoa stored",
        "api v1 is deprecated",
        "v1=short",
        "sha256=abc",
        "eyJust a word",
    ],
)
def test_ordinary_text_is_left_alone(text):
    assert redact(text) == text


def parse(line: str) -> dict:
    assert "\n" not in line
    return json.loads(line)


def test_line_is_one_json_object_with_status_and_ms():
    log = RequestLog("req-1", "PUT")
    log.set(route="/files/{name}", bytes_in=1234)

    fields = parse(log.line(201))

    assert fields["request_id"] == "req-1"
    assert fields["method"] == "PUT"
    assert fields["route"] == "/files/{name}"
    assert fields["status"] == 201
    assert fields["bytes_in"] == 1234
    assert fields["level"] == "info"
    assert isinstance(fields["ms"], int | float)
    assert fields["ms"] >= 0


def test_line_starts_with_the_defaults():
    fields = parse(RequestLog("r", "GET").line(404))

    assert fields["route"] is None
    assert fields["bytes_in"] == 0
    assert fields["status"] == 404


def test_ms_is_the_elapsed_wall_time(monkeypatch):
    clock = iter([1000.0, 1001.2345])
    monkeypatch.setattr(reqlog, "time", SimpleNamespace(time=lambda: next(clock)))

    fields = parse(RequestLog("r", "GET").line(200))

    assert fields["ms"] == 1234.5


@pytest.mark.parametrize("status", [200, 201, 404, 413, 499])
def test_success_and_client_errors_are_info_level(status):
    assert parse(RequestLog("r", "GET").line(status))["level"] == "info"


@pytest.mark.parametrize("status", [500, 502, 504])
def test_server_errors_are_error_level(status):
    assert parse(RequestLog("r", "GET").line(status))["level"] == "error"


def test_string_fields_are_redacted_in_the_line():
    log = RequestLog("r", "POST")
    log.set(error=f"JWKS fetch failed; header was Bearer {JWT}", uploader="alice")

    line = log.line(502)

    assert JWT not in line
    assert parse(line)["error"] == "JWKS fetch failed; header was [redacted]"
    assert parse(line)["uploader"] == "alice"


def test_writing_the_line_does_not_change_the_fields():
    log = RequestLog("r", "GET")
    log.set(error=f"Bearer {JWT}")

    log.line(500)

    assert log.fields["status"] is None
    assert JWT in log.fields["error"]


def test_non_ascii_text_survives_as_json():
    log = RequestLog("r", "PUT")
    log.set(name="東京.txt")

    assert parse(log.line(201))["name"] == "東京.txt"
