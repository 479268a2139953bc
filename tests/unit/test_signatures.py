import base64
import hashlib
import hmac

import pytest

import signatures
from signatures import SignatureError, sign, signing_key, verify

NOW = 1_760_000_000
BODY = b'{"id":"evt_1","type":"workspace_storage_file_added"}'
SECRET = "plain-secret"
WHSEC = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()


def lower(headers: dict[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def fastio_headers(body: bytes = BODY, secret: str = SECRET, t: int = NOW) -> dict:
    return lower(sign("fastio", secret, body, now=t))


def standard_headers(
    body: bytes = BODY, secret: str = WHSEC, t: int = NOW, msg_id: str = "msg_1"
) -> dict:
    return lower(sign("standard", secret, body, now=t, message_id=msg_id))


# -- fastio scheme --------------------------------------------------------------


def test_fastio_signature_is_hmac_of_timestamp_dot_body():
    header = fastio_headers()["fastio-signature"]

    expected = hmac.new(SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256)
    assert header == f"t={NOW},v1={base64.b64encode(expected.digest()).decode()}"


def test_fastio_valid_delivery_verifies():
    signed = verify("fastio", fastio_headers(), BODY, [signing_key(SECRET)], now=NOW)

    assert signed.timestamp == NOW
    assert signed.message_id is None


def test_fastio_tampered_body_is_refused():
    headers = fastio_headers()

    with pytest.raises(SignatureError, match="No matching signature"):
        verify("fastio", headers, BODY + b" ", [signing_key(SECRET)], now=NOW)


def test_fastio_wrong_secret_is_refused():
    with pytest.raises(SignatureError, match="No matching signature"):
        verify("fastio", fastio_headers(), BODY, [signing_key("other")], now=NOW)


def test_fastio_any_of_several_v1_values_may_match():
    good = fastio_headers()["fastio-signature"].split(",")[1]
    bogus = "v1=" + base64.b64encode(b"x" * 32).decode()
    headers = {"fastio-signature": f"t={NOW},{bogus},v0=abc=,{good}"}

    verify("fastio", headers, BODY, [signing_key(SECRET)], now=NOW)


def test_any_configured_secret_may_match_during_rotation():
    keys = [signing_key("new"), signing_key(SECRET)]

    verify("fastio", fastio_headers(secret=SECRET), BODY, keys, now=NOW)
    verify("fastio", fastio_headers(secret="new"), BODY, keys, now=NOW)
    with pytest.raises(SignatureError):
        verify("fastio", fastio_headers(secret=SECRET), BODY, keys[:1], now=NOW)


@pytest.mark.parametrize("skew", [-301, 301, -10_000])
def test_timestamps_beyond_the_tolerance_are_refused_both_ways(skew):
    headers = fastio_headers(t=NOW + skew)

    with pytest.raises(SignatureError, match="tolerance"):
        verify("fastio", headers, BODY, [signing_key(SECRET)], now=NOW)


@pytest.mark.parametrize("skew", [-300, 0, 300])
def test_timestamps_within_the_tolerance_pass(skew):
    headers = fastio_headers(t=NOW + skew)

    verify("fastio", headers, BODY, [signing_key(SECRET)], now=NOW)


def test_tolerance_is_configurable():
    headers = fastio_headers(t=NOW - 30)

    with pytest.raises(SignatureError, match="tolerance"):
        verify("fastio", headers, BODY, [signing_key(SECRET)], now=NOW, tolerance=10)


@pytest.mark.parametrize("headers", [{}, {"fastio-signature": ""}, {"x": "y"}])
def test_missing_or_empty_fastio_header_is_missing(headers):
    with pytest.raises(SignatureError, match="Missing signature"):
        signatures.parse("fastio", headers)


@pytest.mark.parametrize(
    "value",
    [
        "garbage",
        "v1=abcd",  # no timestamp
        "t=,v1=abcd",
        "t=abc,v1=abcd",
        "t=-5,v1=abcd",
        "t=1,t=2,v1=abcd",
        f"t={NOW},v1=",
        f"t={NOW},v1=not*base64",
        f"t={NOW},,v1=abcd",
        "t=1234567890123,v1=abcd",
    ],
)
def test_malformed_fastio_header_is_refused(value):
    with pytest.raises(SignatureError, match="Malformed"):
        signatures.parse("fastio", {"fastio-signature": value})


def test_fastio_header_with_only_unknown_versions_is_refused():
    with pytest.raises(SignatureError, match="No supported signature version"):
        signatures.parse("fastio", {"fastio-signature": f"t={NOW},v2=abcd"})


# -- standard scheme ------------------------------------------------------------


def test_whsec_secret_is_base64_decoded():
    assert signing_key(WHSEC) == b"0123456789abcdef0123456789abcdef"
    assert signing_key("plain") == b"plain"
    with pytest.raises(ValueError):
        signing_key("whsec_not*base64")


def test_standard_signature_covers_id_timestamp_and_body():
    headers = standard_headers()
    key = signing_key(WHSEC)

    expected = hmac.new(key, f"msg_1.{NOW}.".encode() + BODY, hashlib.sha256)
    assert headers["webhook-signature"] == (
        "v1," + base64.b64encode(expected.digest()).decode()
    )
    signed = verify("standard", headers, BODY, [key], now=NOW)
    assert signed.message_id == "msg_1"


def test_standard_changed_id_is_refused():
    headers = {**standard_headers(), "webhook-id": "msg_2"}

    with pytest.raises(SignatureError, match="No matching signature"):
        verify("standard", headers, BODY, [signing_key(WHSEC)], now=NOW)


def test_standard_accepts_a_space_separated_list_and_skips_other_versions():
    good = standard_headers()["webhook-signature"]
    headers = {
        **standard_headers(),
        "webhook-signature": f"v1a,c29tZXRoaW5n v2,abcd {good}",
    }

    verify("standard", headers, BODY, [signing_key(WHSEC)], now=NOW)


def test_standard_only_unknown_versions_is_refused():
    headers = {**standard_headers(), "webhook-signature": "v2,abcd"}

    with pytest.raises(SignatureError, match="No supported signature version"):
        signatures.parse("standard", headers)


@pytest.mark.parametrize(
    "missing", ["webhook-id", "webhook-timestamp", "webhook-signature"]
)
def test_standard_each_header_is_required(missing):
    headers = standard_headers()
    headers[missing] = ""

    with pytest.raises(SignatureError, match="Missing signature"):
        signatures.parse("standard", headers)


@pytest.mark.parametrize("value", ["v1", "v1,", "nocomma", "v1,not*base64"])
def test_standard_malformed_signature_is_refused(value):
    headers = {**standard_headers(), "webhook-signature": value}

    with pytest.raises(SignatureError, match="Malformed"):
        signatures.parse("standard", headers)


def test_standard_malformed_timestamp_is_refused():
    headers = {**standard_headers(), "webhook-timestamp": "yesterday"}

    with pytest.raises(SignatureError, match="Malformed"):
        signatures.parse("standard", headers)


def test_standard_stale_timestamp_is_refused():
    headers = standard_headers(t=NOW - 301)

    with pytest.raises(SignatureError, match="tolerance"):
        verify("standard", headers, BODY, [signing_key(WHSEC)], now=NOW)


# -- comparison -----------------------------------------------------------------


def test_matches_compares_every_pair():
    a, b, c = b"a" * 32, b"b" * 32, b"c" * 32

    assert signatures.matches([a, b], [c, b])
    assert not signatures.matches([a], [b, c])
    assert not signatures.matches([], [a])
    assert not signatures.matches([a], [a[:16]])


def test_failure_messages_never_quote_the_header():
    value = f"t={NOW},v1=" + base64.b64encode(b"z" * 32).decode()
    try:
        verify("fastio", {"fastio-signature": value}, BODY, [b"k"], now=NOW)
    except SignatureError as exc:
        assert value.split("v1=")[1] not in str(exc)
        assert str(NOW) not in str(exc)
    else:
        pytest.fail("expected a SignatureError")


def test_unknown_scheme_is_a_programming_error():
    with pytest.raises(ValueError):
        signatures.parse("hmac-md5", {})
