"""Unit tests for ``src/tokens.py`` (CPython; no Worker needed)."""

from __future__ import annotations

import re

import pytest

import tokens
from support.tokens import (
    EC_KEY,
    JWT_SECRET,
    RSA_KEY,
    b64url,
    default_claims,
    ec_key,
    encode,
    es256,
    hs256,
    rs256,
    rsa_key,
)
from tokens import InsufficientScope, InvalidToken

NOW = 1_700_000_000
SECRET = JWT_SECRET.encode()
# RFC 6750 §3: error_description is limited to these characters.
DESCRIPTION_CHARS = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e]+")


def claims_at(now: int = NOW, **overrides: object) -> dict:
    claims = {"sub": "user-1", "iat": now, "nbf": now, "exp": now + 600}
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def check(claims: dict, now: float = NOW, leeway: float = 60, **kwargs) -> None:
    tokens.check_claims(claims, now=now, leeway=leeway, **kwargs)


def code_of(fn, *args, **kwargs) -> str:
    with pytest.raises(InvalidToken) as info:
        fn(*args, **kwargs)
    assert DESCRIPTION_CHARS.fullmatch(info.value.reason)
    return info.value.code


# base64url


@pytest.mark.parametrize("data", [b"", b"a", b"ab", b"abc", b"abcd", bytes(range(256))])
def test_base64url_round_trips_without_padding(data: bytes):
    text = tokens.b64url_encode(data)

    assert "=" not in text
    assert tokens.b64url_decode(text) == data


@pytest.mark.parametrize(
    "text",
    [
        "YQ==",  # padding is not part of base64url in JWS
        "YQ=",
        "a",  # a length of 4n+1 cannot be produced by any input
        "ab+/",  # the standard alphabet
        "YW Jj",
        "YWJj\n",
        "YR",  # "a" with stray low bits: a second spelling of the same byte
        "YWJjZB",
        "é",
    ],
)
def test_base64url_rejects_non_canonical_or_foreign_text(text: str):
    with pytest.raises(ValueError):
        tokens.b64url_decode(text)


def test_base64url_uses_the_url_safe_alphabet():
    assert tokens.b64url_encode(b"\xfb\xff") == "-_8"
    assert tokens.b64url_decode("-_8") == b"\xfb\xff"


# decode


def test_decode_splits_a_token_into_header_claims_and_signature():
    token = hs256(claims_at())

    jwt = tokens.decode(token)

    assert jwt.header == {"alg": "HS256", "typ": "JWT"}
    assert jwt.claims["sub"] == "user-1"
    assert jwt.signing_input == token.rsplit(".", 1)[0].encode()
    assert len(jwt.signature) == 32
    assert jwt.alg == "HS256"
    assert jwt.kid is None


def test_decode_does_not_show_the_signature_in_repr():
    jwt = tokens.decode(hs256(claims_at()))

    assert "signature" not in repr(jwt)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "abc",
        "a.b",
        "a.b.c.d",
        "...",
        ".e30.",
        "e30..",
        "e30.e30",
        "e30.e30.e30.e30",
        "e30.e30.!!",
        "e30=.e30.",
        "bm90IGpzb24.e30.",  # header "not json"
        "e30.bm90IGpzb24.",  # claims "not json"
        "e30." + b64url(b"[1, 2]") + ".",  # claims must be an object
        "e30." + b64url(b'"sub"') + ".",
        b64url(b"null") + ".e30.",
        "e30." + b64url(b"\xff\xfe") + ".",  # not UTF-8
        "e30." + b64url(b'{"sub": "a", "sub": "b"}') + ".",  # duplicate member
        "e30." + b64url(b'{"exp": NaN}') + ".",
        "e30." + b64url(b'{"exp": Infinity}') + ".",
        "é.e30.",
        "e30.e30." + "A" * tokens.MAX_TOKEN_LENGTH,
    ],
)
def test_malformed_tokens_are_rejected(token: str):
    assert code_of(tokens.decode, token) == "token-malformed"


def test_a_crit_header_is_rejected_as_unknown_extension():
    token = encode({"alg": "HS256", "crit": ["exp"], "exp": 1}, claims_at())

    assert code_of(tokens.decode, token) == "token-malformed"


def test_a_non_string_kid_is_rejected():
    token = encode({"alg": "RS256", "kid": 7}, claims_at())

    assert code_of(tokens.decode, token) == "token-malformed"


def test_an_empty_signature_decodes_to_no_bytes():
    jwt = tokens.decode(encode({"alg": "none"}, claims_at()))

    assert jwt.signature == b""


# algorithms


ALL = {"HS256", "RS256", "ES256"}


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE", ""])
def test_alg_none_is_never_accepted_even_if_listed(alg: str):
    jwt = tokens.decode(encode({"alg": alg}, claims_at()))

    allowed = ALL | {alg}
    assert code_of(tokens.check_algorithm, jwt, allowed) == "algorithm-not-allowed"


@pytest.mark.parametrize(
    "header",
    [{"alg": "RS256"}, {"alg": "HS512"}, {"alg": None}, {"alg": 256}, {}],
)
def test_algorithms_outside_the_allow_list_are_rejected(header: dict):
    jwt = tokens.decode(encode(header, claims_at(), b"x" * 32))

    allowed = {"HS256", "HS512"}  # HS512 listed but unsupported
    assert code_of(tokens.check_algorithm, jwt, allowed) == "algorithm-not-allowed"


def test_an_allowed_algorithm_is_returned():
    jwt = tokens.decode(es256(claims_at()))

    assert tokens.check_algorithm(jwt, ALL) == "ES256"


@pytest.mark.parametrize(("alg", "length"), [("HS256", 31), ("ES256", 72)])
def test_signatures_of_the_wrong_length_are_rejected(alg: str, length: int):
    # A DER-encoded ECDSA signature (about 70 bytes) is not a JWS signature.
    jwt = tokens.decode(encode({"alg": alg}, claims_at(), b"\1" * length))

    assert code_of(tokens.check_algorithm, jwt, ALL) == "signature-mismatch"


# HS256


def test_hs256_with_the_shared_secret_verifies():
    tokens.verify_hs256(tokens.decode(hs256(claims_at())), SECRET)


def test_hs256_with_another_secret_is_a_signature_mismatch():
    jwt = tokens.decode(hs256(claims_at(), secret="another-secret-" * 3))

    assert code_of(tokens.verify_hs256, jwt, SECRET) == "signature-mismatch"


def test_hs256_with_a_tampered_payload_is_a_signature_mismatch():
    head, _, sig = hs256(claims_at()).split(".")
    payload = b64url(b'{"sub":"admin","exp":9999999999}')
    forged = f"{head}.{payload}.{sig}"

    jwt = tokens.decode(forged)
    assert code_of(tokens.verify_hs256, jwt, SECRET) == "signature-mismatch"


def test_hs256_signed_with_the_rsa_public_key_is_a_signature_mismatch():
    # The classic key confusion: the attacker uses the published key as the
    # HMAC secret; only JWT_SECRET ever verifies HS256.
    jwt = tokens.decode(hs256(claims_at(), secret=RSA_KEY.public_pem()))

    assert code_of(tokens.verify_hs256, jwt, SECRET) == "signature-mismatch"


# JWKS


def test_jwks_keys_keep_only_their_public_members():
    jwk = {**RSA_KEY.jwk(), "d": "private", "key_ops": ["verify"], "x5c": ["..."]}

    (key,) = tokens.parse_jwks({"keys": [jwk]})

    assert key.kid == "rsa-1"
    assert key.alg == "RS256"
    assert key.jwk == {"kty": "RSA", "n": jwk["n"], "e": jwk["e"]}


def test_jwks_ec_key_without_alg_is_an_es256_key():
    (key,) = tokens.parse_jwks({"keys": [EC_KEY.jwk(alg=None, use=None)]})

    assert key.alg == "ES256"
    assert set(key.jwk) == {"kty", "crv", "x", "y"}


@pytest.mark.parametrize(
    "jwk",
    [
        RSA_KEY.jwk(use="enc"),
        RSA_KEY.jwk(key_ops=["encrypt"]),
        RSA_KEY.jwk(key_ops="verify"),
        RSA_KEY.jwk(alg="ES256"),  # declared alg does not fit the key type
        RSA_KEY.jwk(alg="RS512"),
        RSA_KEY.jwk(alg="HS256"),
        RSA_KEY.jwk(kid=1),
        RSA_KEY.jwk(n="not base64url!"),
        RSA_KEY.jwk(e=None),
        rsa_key("small", bits=1024).jwk(),
        EC_KEY.jwk(crv="P-384"),
        EC_KEY.jwk(x="AAAA"),
        EC_KEY.jwk(alg="RS256"),
        {"kty": "oct", "k": b64url(SECRET), "kid": "hmac", "use": "sig"},
        {"kty": "OKP", "crv": "Ed25519", "x": b64url(b"\0" * 32)},
        "not a key",
    ],
)
def test_jwks_keys_that_must_not_verify_jwts_are_skipped(jwk: object):
    assert tokens.parse_jwks({"keys": [jwk]}) == ()


@pytest.mark.parametrize("document", [[], {}, {"keys": {}}, {"keys": "x"}, None])
def test_a_document_that_is_not_a_jwk_set_is_an_error(document: object):
    with pytest.raises(ValueError):
        tokens.parse_jwks(document)


KEYS = tokens.parse_jwks({"keys": [RSA_KEY.jwk(), EC_KEY.jwk()]})


def test_find_key_by_kid_and_algorithm():
    assert tokens.find_key(KEYS, "RS256", "rsa-1").kid == "rsa-1"
    assert tokens.find_key(KEYS, "ES256", "ec-1").kid == "ec-1"


def test_find_key_with_an_unknown_kid_is_none_so_the_caller_may_refetch():
    assert tokens.find_key(KEYS, "RS256", "rsa-2") is None


def test_a_kid_naming_a_key_of_another_type_is_a_mismatch():
    assert code_of(tokens.find_key, KEYS, "ES256", "rsa-1") == "key-mismatch"
    assert code_of(tokens.find_key, KEYS, "RS256", "ec-1") == "key-mismatch"


def test_a_token_without_kid_uses_the_only_key_of_its_algorithm():
    assert tokens.find_key(KEYS, "RS256", None).kid == "rsa-1"


def test_a_token_without_kid_is_refused_when_several_keys_could_verify_it():
    keys = (*KEYS, *tokens.parse_jwks({"keys": [rsa_key("rsa-2").jwk()]}))

    assert code_of(tokens.find_key, keys, "RS256", None) == "unknown-key"
    assert code_of(tokens.find_key, (), "RS256", None) == "unknown-key"


def test_token_headers_name_the_key_they_were_signed_with():
    assert tokens.decode(rs256(claims_at())).kid == "rsa-1"
    assert tokens.decode(es256(claims_at(), key=ec_key("ec-9"))).kid == "ec-9"


# time claims


def test_exp_is_required():
    assert code_of(check, claims_at(exp=None)) == "claim-missing"


@pytest.mark.parametrize("name", ["exp", "nbf", "iat"])
@pytest.mark.parametrize("value", ["1700000000", True, [1], {"t": 1}])
def test_time_claims_must_be_numbers(name: str, value: object):
    assert code_of(check, claims_at(**{name: value})) == "claim-invalid"


def test_fractional_time_claims_are_numbers_too():
    check(claims_at(iat=NOW - 0.5, nbf=NOW - 0.5, exp=NOW + 0.5), leeway=0)


@pytest.mark.parametrize(
    ("exp", "leeway", "valid"),
    [
        (NOW + 1, 0, True),
        (NOW, 0, False),  # RFC 7519 §4.1.4: valid only before exp
        (NOW - 59, 60, True),
        (NOW - 60, 60, False),
        (NOW - 61, 60, False),
    ],
)
def test_exp_with_leeway(exp: int, leeway: int, valid: bool):
    claims = claims_at(exp=exp, nbf=None, iat=None)

    if valid:
        check(claims, leeway=leeway)
    else:
        assert code_of(check, claims, leeway=leeway) == "token-expired"


@pytest.mark.parametrize(
    ("nbf", "leeway", "valid"),
    [
        (NOW, 0, True),  # valid from nbf on, inclusive
        (NOW + 1, 0, False),
        (NOW + 60, 60, True),
        (NOW + 61, 60, False),
    ],
)
def test_nbf_with_leeway(nbf: int, leeway: int, valid: bool):
    claims = claims_at(nbf=nbf, iat=None)

    if valid:
        check(claims, leeway=leeway)
    else:
        assert code_of(check, claims, leeway=leeway) == "token-not-yet-valid"


@pytest.mark.parametrize(
    ("iat", "leeway", "valid"),
    [
        (NOW, 0, True),
        (NOW + 1, 0, False),
        (NOW + 60, 60, True),
        (NOW + 61, 60, False),
        (NOW - 86400 * 365, 60, True),  # age alone is exp's business
    ],
)
def test_iat_in_the_future_beyond_leeway_is_rejected(
    iat: int, leeway: int, valid: bool
):
    claims = claims_at(iat=iat, nbf=None)

    if valid:
        check(claims, leeway=leeway)
    else:
        assert code_of(check, claims, leeway=leeway) == "token-issued-in-future"


def test_nbf_and_iat_are_optional():
    check(claims_at(nbf=None, iat=None))


# issuer and audience


def test_issuer_must_match_exactly_when_configured():
    check(claims_at(iss="https://issuer.test"), issuer="https://issuer.test")
    for iss in ("https://issuer.test/", "https://evil.test", None, ["x"]):
        claims = claims_at(iss=iss)
        assert code_of(check, claims, issuer="https://issuer.test") == (
            "issuer-mismatch"
        )


def test_issuer_is_not_checked_when_not_configured():
    check(claims_at(iss="https://anyone.test"))


@pytest.mark.parametrize(
    "aud", ["fastio-edge", ["fastio-edge"], ["other", "fastio-edge"]]
)
def test_audience_may_be_a_string_or_a_list(aud: object):
    check(claims_at(aud=aud), audience="fastio-edge")


@pytest.mark.parametrize(
    "aud", [None, "other", ["other"], [], "fastio-edge-2", ["fastio"], 1, {"a": 1}]
)
def test_wrong_or_missing_audience_is_rejected(aud: object):
    claims = claims_at(aud=aud)

    assert code_of(check, claims, audience="fastio-edge") == "audience-mismatch"


def test_audience_is_not_checked_when_not_configured():
    check(claims_at(aud="anything"))


def test_time_is_checked_before_issuer_and_audience():
    claims = claims_at(exp=NOW - 3600, iss="x", aud="y")

    assert code_of(check, claims, issuer="a", audience="b") == "token-expired"


# subject


def test_subject_is_the_sub_claim():
    assert tokens.subject({"sub": "user-1"}) == "user-1"


@pytest.mark.parametrize("claims", [{}, {"sub": ""}, {"sub": None}])
def test_a_missing_subject_is_rejected(claims: dict):
    assert code_of(tokens.subject, claims) == "claim-missing"


@pytest.mark.parametrize(
    "sub", [7, ["user"], {"id": 1}, "x" * 256, "user\n1", "user\x001"]
)
def test_an_unusable_subject_is_rejected(sub: object):
    assert code_of(tokens.subject, {"sub": sub}) == "claim-invalid"


def test_subject_takes_the_first_claim_present():
    names = ("email", "sub", "common_name")

    assert tokens.subject({"email": "a@x.test", "sub": "u"}, *names) == "a@x.test"
    assert tokens.subject({"email": "", "sub": "u"}, *names) == "u"
    assert tokens.subject({"sub": "", "common_name": "svc"}, *names) == "svc"


# scope


def test_scopes_come_from_scope_and_scp():
    claims = {"scope": "read  upload\tadmin", "scp": ["files", 7, "write"]}

    assert tokens.scopes(claims) == {"read", "upload", "admin", "files", "write"}
    assert tokens.scopes({"scp": "a b"}) == {"a", "b"}
    assert tokens.scopes({}) == frozenset()


@pytest.mark.parametrize(
    "claims", [{"scope": "read upload"}, {"scp": ["upload"]}, {"scope": "upload"}]
)
def test_required_scope_present(claims: dict):
    tokens.require_scope(claims, "upload")


@pytest.mark.parametrize(
    "claims",
    [{}, {"scope": "read"}, {"scope": "uploader"}, {"scp": ["Upload"]}, {"scope": 1}],
)
def test_required_scope_missing_is_insufficient_scope(claims: dict):
    with pytest.raises(InsufficientScope) as info:
        tokens.require_scope(claims, "upload")

    assert info.value.code == "insufficient-scope"
    assert info.value.scope == "upload"


# whole tokens, end to end in Python


def test_a_valid_hs256_token_passes_every_check():
    jwt = tokens.decode(hs256(default_claims(scope="upload")))

    assert tokens.check_algorithm(jwt, ALL) == "HS256"
    tokens.verify_hs256(jwt, SECRET)
    tokens.check_claims(
        jwt.claims,
        now=jwt.claims["iat"],
        leeway=60,
        issuer="https://issuer.test",
        audience="fastio-edge",
    )
    assert tokens.subject(jwt.claims) == "user-1"
    tokens.require_scope(jwt.claims, "upload")
