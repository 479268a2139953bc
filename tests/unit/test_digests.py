import base64
import hashlib

import pytest

from digests import parse_content_digest, repr_digest
from problems import HTTPError

BODY = b'{"hello": "world"}'
SHA256 = hashlib.sha256(BODY).digest()
SHA512 = hashlib.sha512(BODY).digest()


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def malformed(value: str) -> HTTPError:
    with pytest.raises(HTTPError) as info:
        parse_content_digest(value)
    return info.value


def test_rfc_9530_example_value_is_parsed():
    # RFC 9530, section 2: the sha-256 example for this very body.
    value = "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"

    assert parse_content_digest(value) == SHA256


def test_no_field_means_no_declared_digest():
    assert parse_content_digest(None) is None


def test_sha256_is_found_among_several_members():
    value = f"sha-512=:{b64(SHA512)}:, sha-256=:{b64(SHA256)}:"

    assert parse_content_digest(value) == SHA256


@pytest.mark.parametrize(
    "value",
    [
        f"sha-512=:{b64(SHA512)}:",
        "md5=:XrY7u+Ae7tCTyyK7j1rNww==:",
        "unixsum=:AAAA:",
        f"sha-512=:{b64(SHA512)}:,md5=:XrY7u+Ae7tCTyyK7j1rNww==:",
    ],
)
def test_only_unknown_algorithms_means_no_declared_digest(value):
    assert parse_content_digest(value) is None


def test_unknown_algorithm_with_a_value_of_any_length_is_ignored():
    value = f"crc32c=:AAAAAA==:, sha-256=:{b64(SHA256)}:"

    assert parse_content_digest(value) == SHA256


def test_whitespace_around_members_is_allowed():
    value = f"  sha-512=:{b64(SHA512)}:  ,   sha-256=:{b64(SHA256)}:  "

    assert parse_content_digest(value) == SHA256


def test_duplicate_key_takes_the_last_value():
    # RFC 8941, section 4.2.2: a later member with the same key overwrites.
    other = hashlib.sha256(b"other").digest()
    value = f"sha-256=:{b64(other)}:, sha-256=:{b64(SHA256)}:"

    assert parse_content_digest(value) == SHA256


def test_sha256_without_base64_padding_is_accepted():
    # RFC 8941, section 4.2.7: parsers SHOULD NOT fail when "=" padding is
    # missing from a Byte Sequence.
    unpadded = b64(SHA256).rstrip("=")

    assert parse_content_digest(f"sha-256=:{unpadded}:") == SHA256


@pytest.mark.parametrize(
    "value",
    [
        "",
        "   ",
        ",",
        f"sha-256=:{b64(SHA256)}:,",
        f",sha-256=:{b64(SHA256)}:",
        f"sha-256=:{b64(SHA256)}:,,md5=:AAAA:",
        "sha-256",
        f"sha-256={b64(SHA256)}",
        f'sha-256="{b64(SHA256)}"',
        f"sha-256=:{b64(SHA256)}",
        f"sha-256={b64(SHA256)}:",
        f"SHA-256=:{b64(SHA256)}:",  # RFC 8941 keys are lowercase
        f"256sha=:{b64(SHA256)}:",
        f"sha-256 :{b64(SHA256)}:",
        "sha-256=?1",
        "md5=1",  # an unknown algorithm must still be a byte sequence
    ],
)
def test_malformed_field_is_400(value):
    error = malformed(value)

    assert error.status == 400
    assert error.code == "malformed-content-digest"
    assert error.body()["type"].endswith("/malformed-content-digest")


@pytest.mark.parametrize("encoded", ["not*base64", "ab$d", "a", "abc", "=abc", "YW Jj"])
def test_sha256_value_that_is_not_base64_is_400(encoded):
    error = malformed(f"sha-256=:{encoded}:")

    assert error.code == "malformed-content-digest"


@pytest.mark.parametrize(
    "raw", [b"", SHA256[:31], SHA256 + b"\x00", hashlib.sha1(BODY).digest(), SHA512]
)
def test_sha256_value_of_the_wrong_length_is_400(raw):
    error = malformed(f"sha-256=:{b64(raw)}:")

    assert error.status == 400
    assert error.code == "malformed-content-digest"
    assert "32 bytes" in error.detail


def test_a_malformed_member_fails_the_field_even_next_to_a_good_one():
    error = malformed(f"sha-256=:{b64(SHA256)}:, sha-512")

    assert error.code == "malformed-content-digest"


def test_repr_digest_is_a_structured_field_the_parser_reads_back():
    field = repr_digest(SHA256)

    assert field == f"sha-256=:{b64(SHA256)}:"
    assert parse_content_digest(field) == SHA256
