"""Client authentication against the real Worker in workerd (wrangler dev).

Most tests use the session Worker; a test that needs other settings, or a
JWKS cache of its own (the cache lives per isolate), asks ``make_worker``
for one with its own JWKS URL so the identity provider counts its fetches
alone.
"""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest

from support import procs, rawhttp
from support.tokens import (
    ACCESS_AUD,
    RSA_KEY,
    b64url,
    default_claims,
    default_jwks,
    ec_key,
    encode,
    es256,
    hs256,
    rs256,
    rsa_key,
)

pytestmark = [pytest.mark.workerd, pytest.mark.asyncio(loop_scope="session")]

CHALLENGE = 'Bearer realm="fastio-edge"'
PROBLEM = "https://fastio-edge.dev/problems/"

# Published beside the real keys; neither may ever verify a token.
ENC_KEY = rsa_key("rsa-enc")
OCT_SECRET = "a-secret-published-as-an-oct-jwk-0123456789"
DECOYS = [
    ENC_KEY.jwk(use="enc"),
    {"kty": "oct", "kid": "oct-1", "k": b64url(OCT_SECRET.encode()), "use": "sig"},
]


@pytest.fixture(scope="module", autouse=True)
def published_keys(idp):
    idp.keys = default_jwks() + DECOYS
    yield
    idp.keys = default_jwks()


@pytest.fixture
def restore_idp(idp):
    """Put the identity provider back as it was after a test that breaks it."""
    yield idp
    idp.keys = default_jwks() + DECOYS
    idp.status = 200
    idp.body = None
    idp.delay = 0.0


async def whoami(http: httpx.AsyncClient, token: str | None = None, **headers):
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return await http.get("/whoami", headers=headers)


def assert_rejected(
    response: httpx.Response,
    code: str,
    *,
    status: int = 401,
    description: str | None = None,
    token: str | None = None,
) -> dict:
    """A problem+json failure with the Bearer challenge RFC 6750 asks for."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == PROBLEM + code
    assert body["status"] == status
    if description is None:
        assert response.headers["www-authenticate"] == CHALLENGE
    else:
        assert response.headers["www-authenticate"] == (
            f'{CHALLENGE}, error="invalid_token", error_description="{description}"'
        )
    if token is not None:
        assert token not in response.text
        assert token.rsplit(".", 1)[-1] not in response.text
    return body


# No usable credentials: a challenge without an error code (RFC 6750 §3.1)


async def test_a_request_without_credentials_is_challenged(client):
    response = await whoami(client)

    body = assert_rejected(response, "credentials-missing")
    assert body["detail"] == "Bearer token required."


async def test_basic_credentials_are_challenged_for_bearer(client):
    response = await whoami(client, Authorization="Basic dXNlcjpwYXNzd29yZA==")

    assert_rejected(response, "unsupported-scheme")


async def test_an_access_assertion_is_ignored_unless_access_is_configured(client):
    assertion = rs256(default_claims(aud=[ACCESS_AUD], email="a@example.test"))

    response = await whoami(client, **{"Cf-Access-Jwt-Assertion": assertion})

    assert_rejected(response, "credentials-missing")


FIFTY_MIB = 50 * 1024 * 1024


async def test_a_huge_upload_without_a_token_is_refused_before_any_byte_is_sent(
    worker,
):
    # The client announces 50 MiB and waits for "100 Continue" (as curl
    # does); the 401 can only arrive if the Worker answers without reading.
    ray = f"huge-expect-{time.time()}"
    host, port = worker.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        (
            "PUT /files/big.bin HTTP/1.1\r\n"
            f"Host: {host}\r\nContent-Length: {FIFTY_MIB}\r\n"
            f"Expect: 100-continue\r\nCF-Ray: {ray}\r\n\r\n"
        ).encode()
    )
    await writer.drain()
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=10)
        status, *fields = head.decode().strip().split("\r\n")
        headers = dict(field.split(": ", 1) for field in fields)
        headers = {name.lower(): value for name, value in headers.items()}
        body = await reader.readexactly(int(headers["content-length"]))
    finally:
        writer.close()

    assert status.startswith("HTTP/1.1 401 ")
    assert headers["www-authenticate"] == CHALLENGE
    assert json.loads(body)["type"] == PROBLEM + "credentials-missing"
    line = worker.log_for(ray)
    assert (line["status"], line["bytes_in"]) == (401, 0)


@pytest.mark.parametrize("chunked", [False, True])
async def test_a_streamed_50_mib_body_without_a_token_is_never_read(worker, chunked):
    ray = f"huge-stream-{time.time()}-{chunked}"

    response = await rawhttp.request(
        worker.url,
        "PUT",
        "/files/big.bin",
        {"CF-Ray": ray},
        bytes(FIFTY_MIB),
        chunked=chunked,
        pause=0.001,
    )

    assert response.status == 401
    assert response.headers["www-authenticate"] == CHALLENGE
    assert response.json()["type"] == PROBLEM + "credentials-missing"
    assert response.sent_before_answer < 1024 * 1024
    line = worker.log_for(ray)
    assert (line["status"], line["bytes_in"]) == (401, 0)


# Bad tokens: 401, error="invalid_token", a terse reason


@pytest.mark.parametrize(
    "token",
    [
        "not-a-jwt",
        "a.b",
        "a.b.c.d",
        "e30.e30.!!",  # signature is not base64url
        "e30=.e30.c2ln",  # padded
        "bm90IGpzb24.e30.c2ln",  # header is "not json"
        "e30.WzEsMl0.c2ln",  # claims are [1,2]
    ],
)
async def test_malformed_tokens_are_rejected(client, token: str):
    response = await whoami(client, token)

    assert_rejected(response, "token-malformed", description="malformed token")


async def test_an_empty_bearer_token_is_malformed(client):
    response = await whoami(client, Authorization="Bearer")

    assert_rejected(response, "token-malformed", description="malformed token")


@pytest.mark.parametrize(
    ("claims", "code", "description"),
    [
        ({"exp": -120}, "token-expired", "token expired"),
        ({"nbf": 300}, "token-not-yet-valid", "token not yet valid"),
        ({"iat": 300}, "token-issued-in-future", "token issued in the future"),
        ({"iss": "https://evil.test"}, "issuer-mismatch", "wrong issuer"),
        ({"aud": "someone-else"}, "audience-mismatch", "wrong audience"),
        ({"aud": ["a", "b"]}, "audience-mismatch", "wrong audience"),
        ({"sub": None}, "claim-missing", "sub claim missing"),
        ({"exp": None}, "claim-missing", "exp claim missing"),
    ],
)
async def test_tokens_failing_a_claim_check_are_rejected(
    client, claims: dict, code: str, description: str
):
    now = int(time.time())
    for name in ("exp", "nbf", "iat"):
        if claims.get(name) is not None:
            claims = {**claims, name: now + claims[name]}
    token = rs256(default_claims(**claims))

    response = await whoami(client, token)

    assert_rejected(response, code, description=description, token=token)


async def test_the_leeway_accepts_a_token_expired_within_it(client):
    token = hs256(default_claims(exp=int(time.time()) - 30))

    response = await whoami(client, token)

    assert response.status_code == 200


async def test_an_hs256_token_with_a_wrong_signature_is_rejected(client):
    token = hs256(default_claims(), secret="another-secret-of-the-same-kind-012345")

    response = await whoami(client, token)

    assert_rejected(
        response, "signature-mismatch", description="signature mismatch", token=token
    )


@pytest.mark.parametrize("alg", ["RS256", "ES256"])
async def test_a_jwks_token_signed_by_another_key_is_rejected(client, alg: str):
    # Same kid as a published key, but signed by a key the IdP never had.
    impostor = rsa_key("rsa-1") if alg == "RS256" else ec_key("ec-1")
    token = impostor.sign(default_claims())

    response = await whoami(client, token)

    assert_rejected(
        response, "signature-mismatch", description="signature mismatch", token=token
    )


async def test_a_tampered_payload_breaks_the_signature(client):
    head, _, sig = es256(default_claims()).split(".")
    claims = b64url(json.dumps(default_claims(sub="admin")).encode())

    response = await whoami(client, f"{head}.{claims}.{sig}")

    assert_rejected(response, "signature-mismatch", description="signature mismatch")


@pytest.mark.parametrize("signature", [b"", b"anything"])
async def test_alg_none_is_rejected(client, signature: bytes):
    token = encode({"alg": "none", "typ": "JWT"}, default_claims(), signature)

    response = await whoami(client, token)

    assert_rejected(
        response, "algorithm-not-allowed", description="algorithm not allowed"
    )


@pytest.mark.parametrize("alg", ["HS512", "RS384", "PS256", "EdDSA"])
async def test_algorithms_outside_the_allow_list_are_rejected(client, alg: str):
    token = encode({"alg": alg, "kid": "rsa-1"}, default_claims(), b"\1" * 64)

    response = await whoami(client, token)

    assert_rejected(
        response, "algorithm-not-allowed", description="algorithm not allowed"
    )


@pytest.mark.parametrize(
    "secret",
    [RSA_KEY.public_pem(), json.dumps(RSA_KEY.jwk()).encode(), OCT_SECRET.encode()],
    ids=["rsa-pem", "rsa-jwk", "oct-jwk"],
)
@pytest.mark.parametrize("kid", [None, "rsa-1", "oct-1"])
async def test_hs256_signed_with_published_key_material_is_rejected(
    client, secret: bytes, kid: str | None
):
    # Key confusion: HS256 is only ever checked against JWT_SECRET.
    token = hs256(default_claims(), secret=secret, header={"kid": kid})

    response = await whoami(client, token)

    assert_rejected(
        response, "signature-mismatch", description="signature mismatch", token=token
    )


async def test_a_kid_naming_a_key_of_another_type_is_rejected(client):
    token = es256(default_claims(), header={"kid": RSA_KEY.kid})

    response = await whoami(client, token)

    assert_rejected(
        response, "key-mismatch", description="key does not match algorithm"
    )


async def test_a_key_published_for_encryption_never_verifies(client):
    token = ENC_KEY.sign(default_claims())

    response = await whoami(client, token)

    assert_rejected(response, "unknown-key", description="unknown key")


# Good tokens


@pytest.mark.parametrize(
    ("mint", "sub"),
    [(hs256, "hs-user"), (rs256, "rs-user"), (es256, "es-user")],
    ids=["HS256", "RS256", "ES256"],
)
async def test_valid_tokens_are_accepted(client, mint, sub: str):
    response = await whoami(client, mint(default_claims(sub)))

    assert response.status_code == 200
    assert response.json() == {"sub": sub, "method": "bearer"}


async def test_the_bearer_scheme_name_is_case_insensitive(client):
    response = await whoami(client, Authorization=f"bearer {hs256(default_claims())}")

    assert response.status_code == 200


async def test_the_subject_is_logged_as_the_uploader(client, worker):
    response = await whoami(client, rs256(default_claims("logged-user")))

    line = worker.log_for(response.headers["x-request-id"])
    assert line["uploader"] == "logged-user"


async def test_no_token_ever_reaches_the_log(client, worker):
    tokens = [
        hs256(default_claims("log-1")),
        rs256(default_claims("log-2")),
        es256(default_claims("log-3", exp=int(time.time()) - 3600)),
        hs256(default_claims("log-4"), secret="wrong-secret-wrong-secret-wrong-secret"),
        rs256(default_claims("log-5"), header={"kid": "no-such-kid"}),
        "eyJhbGciOiJIUzI1NiJ9.not-a-token-but-looks-like-one.xyz",
    ]
    ids = []
    for token in tokens:
        response = await whoami(client, token)
        ids.append(response.headers["x-request-id"])
    for request_id in ids:
        worker.log_for(request_id)

    log = worker.log_text()
    for token in tokens:
        # The claims and signature parts are unique to each token; the
        # header part is shared by every token of its kind.
        assert token not in log
        for part in token.split(".")[1:]:
            assert part not in log


# Scope (RFC 6750 §3.1: 403 insufficient_scope)


@pytest.fixture(scope="module")
def scoped(make_worker) -> procs.Worker:
    return make_worker(JWT_REQUIRED_SCOPE="upload")


@pytest.mark.parametrize(
    "claims", [{"scope": "read upload"}, {"scp": ["upload", "read"]}]
)
async def test_a_token_with_the_required_scope_is_accepted(scoped, claims: dict):
    async with httpx.AsyncClient(base_url=scoped.url) as http:
        response = await whoami(http, hs256(default_claims(**claims)))

    assert response.status_code == 200


@pytest.mark.parametrize("claims", [{}, {"scope": "read uploads"}, {"scp": ["read"]}])
async def test_a_token_without_the_required_scope_is_forbidden(scoped, claims: dict):
    token = es256(default_claims(**claims))
    async with httpx.AsyncClient(base_url=scoped.url) as http:
        response = await whoami(http, token)

    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == PROBLEM + "insufficient-scope"
    assert response.headers["www-authenticate"] == (
        f'{CHALLENGE}, error="insufficient_scope", '
        'error_description="insufficient scope", scope="upload"'
    )
    assert token not in response.text


async def test_an_invalid_token_is_401_even_when_the_scope_is_missing(scoped):
    token = hs256(default_claims(exp=int(time.time()) - 3600))
    async with httpx.AsyncClient(base_url=scoped.url) as http:
        response = await whoami(http, token)

    assert_rejected(response, "token-expired", description="token expired")


# Cloudflare Access


@pytest.fixture(scope="module")
def access(make_worker) -> procs.Worker:
    return make_worker(CF_ACCESS_AUD=ACCESS_AUD)


def access_claims(**overrides: object) -> dict:
    claims = default_claims(
        sub="7335d417-61da-459d-899c-0a01c76a2f94",
        iss="https://team.cloudflareaccess.com",
        aud=[ACCESS_AUD],
        email="ada@example.test",
    )
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


async def access_whoami(worker: procs.Worker, assertion: str, **headers):
    headers["Cf-Access-Jwt-Assertion"] = assertion
    async with httpx.AsyncClient(base_url=worker.url) as http:
        return await http.get("/whoami", headers=headers)


async def test_an_access_assertion_is_accepted_with_the_email_as_subject(access):
    response = await access_whoami(access, rs256(access_claims()))

    assert response.status_code == 200
    assert response.json() == {"sub": "ada@example.test", "method": "access"}


async def test_an_access_service_token_uses_its_common_name(access):
    claims = access_claims(email=None, sub="", common_name="ci.access")

    response = await access_whoami(access, rs256(claims))

    assert response.json() == {"sub": "ci.access", "method": "access"}


async def test_an_access_assertion_for_another_application_is_rejected(access):
    assertion = rs256(access_claims(aud=["another-application-aud"]))

    response = await access_whoami(access, assertion)

    assert_rejected(response, "audience-mismatch", description="wrong audience")


@pytest.mark.parametrize("mint", [es256, hs256], ids=["ES256", "HS256"])
async def test_an_access_assertion_must_be_rs256(access, mint):
    response = await access_whoami(access, mint(access_claims()))

    assert_rejected(
        response, "algorithm-not-allowed", description="algorithm not allowed"
    )


async def test_a_bearer_token_takes_precedence_over_an_access_assertion(access):
    bearer = f"Bearer {hs256(default_claims('bearer-user'))}"

    response = await access_whoami(access, rs256(access_claims()), Authorization=bearer)

    assert response.json() == {"sub": "bearer-user", "method": "bearer"}


# Configuration that cannot work: 500 naming the setting, never its value


async def test_no_key_source_configured_is_a_500_naming_the_setting(make_worker):
    broken = make_worker(JWT_SECRET="", JWKS_URL="")

    async with httpx.AsyncClient(base_url=broken.url) as http:
        response = await whoami(http, hs256(default_claims()))
        health = await http.get("/healthz")

    assert response.status_code == 500
    body = response.json()
    assert body["type"] == PROBLEM + "misconfigured"
    assert body["setting"] == "JWT_SECRET"
    assert "JWKS_URL" in body["detail"]
    assert health.status_code == 200


async def test_a_short_jwt_secret_is_a_500_that_does_not_show_it(make_worker):
    broken = make_worker(JWT_SECRET="too-short-secret")

    async with httpx.AsyncClient(base_url=broken.url) as http:
        response = await whoami(http, hs256(default_claims(), "too-short-secret"))

    assert response.status_code == 500
    assert response.json()["setting"] == "JWT_SECRET"
    assert "too-short-secret" not in response.text


# The JWKS cache (per isolate, so each test has a Worker of its own)


async def test_an_unknown_kid_refetches_once_then_is_rejected(make_worker, idp):
    own = make_worker(JWKS_URL=idp.url("unknown-kid"))
    stranger = rsa_key("rsa-stranger")

    async with httpx.AsyncClient(base_url=own.url) as http:
        assert (await whoami(http, rs256(default_claims()))).status_code == 200
        assert idp.fetches_of("unknown-kid") == 1

        first = await whoami(http, stranger.sign(default_claims()))
        assert_rejected(first, "unknown-key", description="unknown key")
        assert idp.fetches_of("unknown-kid") == 2

        # Within the guard window neither the same kid nor a flood of new
        # ones makes the Worker fetch again.
        again = await whoami(http, stranger.sign(default_claims()))
        flood = await asyncio.gather(
            *(whoami(http, rsa_key(f"r{i}").sign(default_claims())) for i in range(3))
        )
    assert_rejected(again, "unknown-key", description="unknown key")
    for response in flood:
        assert_rejected(response, "unknown-key", description="unknown key")
    assert idp.fetches_of("unknown-kid") == 2


async def test_a_rotated_key_is_accepted_after_one_refetch(make_worker, restore_idp):
    idp = restore_idp
    idp.keys = [RSA_KEY.jwk()]
    own = make_worker(JWKS_URL=idp.url("rotation"))
    rotated = rsa_key("rsa-2")

    async with httpx.AsyncClient(base_url=own.url) as http:
        assert (await whoami(http, rs256(default_claims()))).status_code == 200
        assert idp.fetches_of("rotation") == 1

        idp.keys = [RSA_KEY.jwk(), rotated.jwk()]
        first = await whoami(http, rotated.sign(default_claims("rotated")))
        second = await whoami(http, rotated.sign(default_claims("rotated")))
        old = await whoami(http, rs256(default_claims()))

    assert first.status_code == 200
    assert first.json()["sub"] == "rotated"
    assert second.status_code == 200
    assert old.status_code == 200
    assert idp.fetches_of("rotation") == 2


async def test_concurrent_requests_on_a_cold_cache_share_one_fetch(
    make_worker, restore_idp
):
    idp = restore_idp
    own = make_worker(JWKS_URL=idp.url("concurrent"))
    idp.delay = 1.0

    async with httpx.AsyncClient(base_url=own.url) as http:
        responses = await asyncio.gather(
            *(whoami(http, es256(default_claims(f"c{i}"))) for i in range(6))
        )

    assert [r.status_code for r in responses] == [200] * 6
    assert idp.fetches_of("concurrent") == 1
    # They really overlapped: each one waited out the slow fetch.
    for response in responses:
        assert own.log_for(response.headers["x-request-id"])["ms"] >= 800


async def test_a_jwks_that_cannot_be_fetched_is_a_503_naming_it(
    make_worker, restore_idp
):
    idp = restore_idp
    own = make_worker(JWKS_URL=idp.url("down"))
    token = rs256(default_claims())
    failures = [
        (503, None, "the server answered 503"),
        (404, None, "the server answered 404"),
        (200, b"<html>not json</html>", "the document is not JSON"),
        (200, b'{"keys": "none"}', "the document is not a JWK Set"),
    ]

    async with httpx.AsyncClient(base_url=own.url) as http:
        for status, body, reason in failures:
            idp.status, idp.body = status, body
            failed = await whoami(http, token)

            assert failed.status_code == 503
            assert failed.headers["content-type"] == "application/problem+json"
            assert "www-authenticate" not in failed.headers
            assert failed.headers["retry-after"] == "30"
            problem = failed.json()
            assert problem["type"] == PROBLEM + "jwks-unavailable"
            assert problem["detail"] == (
                f"Signing keys from JWKS_URL are unavailable: {reason}."
            )

        hs = await whoami(http, hs256(default_claims()))
        idp.status, idp.body = 200, None
        recovered = await whoami(http, token)

    assert hs.status_code == 200  # HS256 never needs the JWKS
    assert recovered.status_code == 200
    assert idp.fetches_of("down") == len(failures) + 1


async def test_an_unreachable_jwks_is_a_503(make_worker):
    own = make_worker(JWKS_URL=f"http://127.0.0.1:{procs.free_port()}/jwks.json")

    async with httpx.AsyncClient(base_url=own.url) as http:
        response = await whoami(http, es256(default_claims()))

    assert response.status_code == 503
    assert response.json()["detail"] == (
        "Signing keys from JWKS_URL are unavailable: the fetch failed."
    )
