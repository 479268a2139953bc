"""Client authentication at the edge: Bearer JWTs and Cloudflare Access.

``authenticate`` runs for every non-public route before the handler, so a
request without a valid token costs the Worker its headers only. HS256 is
verified with JWT_SECRET, RS256 and ES256 with keys from JWKS_URL through
WebCrypto; ``tokens.py`` does the parsing and the claim checks.

Failures (RFC 6750 §3): 401 with a Bearer challenge, 403 for a missing scope,
503 when the JWKS cannot be fetched, 500 when the settings cannot work. The
token itself never reaches a log line or an error body.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field

from js import AbortSignal, crypto, fetch
from pyodide.ffi import JsException, to_js

import tokens
from ffi import js_object, json_response
from problems import ConfigError, HTTPError
from tokens import InsufficientScope, InvalidToken, PublicKey

REALM = "fastio-edge"
MIN_SECRET_BYTES = 32  # RFC 7518 §3.2: an HS256 key at least as long as the hash

# JWKS fetching. See _KeyCache for why waiting is done by polling.
FETCH_TIMEOUT_SECONDS = 5.0
REFETCH_GUARD_SECONDS = 30.0  # unknown kid: at most one refetch per window
STALE_IF_ERROR_SECONDS = 3600.0  # keys still used while the IdP is down
POLL_SECONDS = 0.02
MAX_JWKS_BYTES = 1024 * 1024

_IMPORT = {
    "RS256": {"name": "RSASSA-PKCS1-v1_5", "hash": "SHA-256"},
    "ES256": {"name": "ECDSA", "namedCurve": "P-256"},
}
_VERIFY = {
    "RS256": {"name": "RSASSA-PKCS1-v1_5"},
    "ES256": {"name": "ECDSA", "hash": "SHA-256"},
}


@dataclass(frozen=True)
class Principal:
    """Who is calling: the token's subject and how they proved it."""

    sub: str
    method: str
    claims: dict = field(default_factory=dict)


async def authenticate(call) -> Principal:
    """The caller's principal, or an ``HTTPError`` (401, 403, 500, 503)."""
    settings = _Settings.read(call.config)

    authorization = call.header("Authorization")
    if authorization is None:
        assertion = call.header("Cf-Access-Jwt-Assertion")
        if assertion and settings.access_aud:
            return await _guarded(_access(assertion, settings))
        # RFC 6750 §3.1: no error code when no credentials were sent.
        raise _challenge(401, "credentials-missing", "Bearer token required.")

    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        raise _challenge(
            401, "unsupported-scheme", "Authorization scheme must be Bearer."
        )
    return await _guarded(_bearer(token.strip(), settings))


async def whoami(call) -> object:
    """``GET /whoami``: the caller's subject, so clients can test a token."""
    return json_response({"sub": call.principal.sub, "method": call.principal.method})


# Settings


@dataclass(frozen=True)
class _Settings:
    secret: bytes | None
    jwks_url: str | None
    algorithms: frozenset[str]
    issuer: str | None
    audience: str | None
    leeway: int
    scope: str | None
    cache_seconds: int
    access_aud: str | None

    @classmethod
    def read(cls, config) -> _Settings:
        """Checked settings; a ``ConfigError`` names what cannot work."""
        secret = config.optional("JWT_SECRET")
        jwks_url = config.optional("JWKS_URL")
        if secret is None and jwks_url is None:
            raise ConfigError("JWT_SECRET", "is not set, nor is JWKS_URL")
        if secret is not None and len(secret.encode()) < MIN_SECRET_BYTES:
            raise ConfigError("JWT_SECRET", f"is shorter than {MIN_SECRET_BYTES} bytes")
        if jwks_url is not None and not jwks_url.startswith(("https://", "http://")):
            raise ConfigError("JWKS_URL", "must be an http(s) URL")

        configured = set(config.items("JWT_ALGORITHMS"))
        unknown = configured - tokens.SUPPORTED_ALGORITHMS
        if unknown:
            names = ", ".join(sorted(unknown))
            raise ConfigError("JWT_ALGORITHMS", f"lists unsupported {names}")
        # The allow-list narrowed to what the configured keys can verify, so
        # the default list works with only one of the two key sources set.
        usable = {"HS256"} if secret else set()
        if jwks_url:
            usable |= {"RS256", "ES256"}
        algorithms = frozenset(configured & usable)
        if not algorithms:
            raise ConfigError(
                "JWT_ALGORITHMS", "allows no algorithm the configured keys verify"
            )

        return cls(
            secret=secret.encode() if secret else None,
            jwks_url=jwks_url,
            algorithms=algorithms,
            issuer=config.optional("JWT_ISSUER"),
            audience=config.optional("JWT_AUDIENCE"),
            leeway=config.integer("JWT_LEEWAY_SECONDS"),
            scope=config.optional("JWT_REQUIRED_SCOPE"),
            cache_seconds=config.integer("JWKS_CACHE_SECONDS"),
            access_aud=config.optional("CF_ACCESS_AUD"),
        )


# Verification


async def _bearer(token: str, settings: _Settings) -> Principal:
    jwt = tokens.decode(token)
    alg = tokens.check_algorithm(jwt, settings.algorithms)
    if alg == "HS256":
        # Only ever the shared secret: JWKS material never verifies an HMAC,
        # so a token "signed" with a published public key cannot pass.
        tokens.verify_hs256(jwt, settings.secret)
    else:
        await _verify_with_jwks(jwt, alg, settings)

    tokens.check_claims(
        jwt.claims,
        now=time.time(),
        leeway=settings.leeway,
        issuer=settings.issuer,
        audience=settings.audience,
    )
    sub = tokens.subject(jwt.claims)
    if settings.scope:
        tokens.require_scope(jwt.claims, settings.scope)
    return Principal(sub, "bearer", jwt.claims)


async def _access(assertion: str, settings: _Settings) -> Principal:
    """A Cloudflare Access assertion: RS256 from JWKS_URL, ``aud`` = CF_ACCESS_AUD.

    JWT_ISSUER, JWT_AUDIENCE and JWT_REQUIRED_SCOPE describe client tokens and
    are not applied: Access has already applied its policy, and its tokens
    carry its team domain as issuer and no scope.
    """
    if not settings.jwks_url:
        raise ConfigError("JWKS_URL", "is not set but CF_ACCESS_AUD is")
    jwt = tokens.decode(assertion)
    alg = tokens.check_algorithm(jwt, {"RS256"})
    await _verify_with_jwks(jwt, alg, settings)
    tokens.check_claims(
        jwt.claims,
        now=time.time(),
        leeway=settings.leeway,
        audience=settings.access_aud,
    )
    # Users carry email; service tokens have an empty sub and a common_name.
    sub = tokens.subject(jwt.claims, "email", "sub", "common_name")
    return Principal(sub, "access", jwt.claims)


async def _verify_with_jwks(jwt: tokens.Jwt, alg: str, settings: _Settings) -> None:
    key = await _KEYS.key_for(settings, alg, jwt.kid)
    crypto_key = await _KEYS.crypto_key(key)
    try:
        ok = await crypto.subtle.verify(
            js_object(_VERIFY[alg]),
            crypto_key,
            to_js(jwt.signature),
            to_js(jwt.signing_input),
        )
    except JsException:
        ok = False
    if not ok:
        raise InvalidToken("signature-mismatch", "signature mismatch")


async def _guarded(verification) -> Principal:
    """Turn token failures into Bearer challenges."""
    try:
        return await verification
    except InvalidToken as err:
        raise _challenge(401, err.code, f"Invalid token: {err.reason}.", err) from err
    except InsufficientScope as err:
        raise _challenge(
            403, err.code, f"The token lacks the {err.scope!r} scope.", err
        ) from err


def _challenge(
    status: int, code: str, detail: str, err: Exception | None = None
) -> HTTPError:
    # error_description holds only our fixed reasons: they never contain a
    # quote or backslash, so no escaping is needed (RFC 6750 §3).
    params = [f'realm="{REALM}"']
    if isinstance(err, InvalidToken):
        params += ['error="invalid_token"', f'error_description="{err.reason}"']
    elif isinstance(err, InsufficientScope):
        params += [
            'error="insufficient_scope"',
            f'error_description="{err.reason}"',
            f'scope="{err.scope}"',
        ]
    return HTTPError(
        status,
        detail,
        code=code,
        headers={"WWW-Authenticate": "Bearer " + ", ".join(params)},
    )


# The JWKS cache


class _JwksUnavailable(Exception):
    """The JWKS could not be fetched or read; the reason names how."""


class _KeyCache:
    """The JWKS of JWKS_URL, kept per isolate and shared by its requests.

    Measured in workerd 1.20241106 (two overlapping requests, the first one
    fetching from a server that answers after 1 s): the second request
    fails with "The script will never generate a response" when it awaits
    the first one's fetch promise, an ``asyncio.Task`` that wraps that fetch,
    or a plain ``asyncio.Future`` the first request resolves with the parsed
    keys; even ``asyncio.wait_for(shield(future), 5)`` waited the whole 5 s
    and then failed the same way ("Cross Request Promise Resolve"). A wake-up
    scheduled by one request never runs in another. What works: the waiting
    request sleeps on its own timers and looks at module state. So requests
    share the parsed keys, never pending I/O. A request that needs keys while
    another one fetches polls every 20 ms for that fetch's result (or its
    failure) and fetches itself only when the fetch seems lost (older than
    the fetch timeout: the fetching request was cancelled).

    Imported ``CryptoKey`` objects are not I/O objects and can be shared; a
    key imported by one request verified a signature in another.
    """

    def __init__(self) -> None:
        self._reset(None)

    def _reset(self, url: str | None) -> None:
        self.url = url
        self.keys: tuple[PublicKey, ...] = ()
        self.fetched_at: float | None = None  # last successful fetch
        self.failed_at: float | None = None  # last failed fetch
        self.failure = ""
        self.retry_at = 0.0  # no TTL refresh before this (after a failure)
        self.kid_refetch_at = float("-inf")
        self.in_flight_since: float | None = None
        self.crypto_keys: dict[PublicKey, object] = {}

    async def key_for(self, settings: _Settings, alg: str, kid: str | None):
        """The key for ``kid``: from the cache, else after one refetch."""
        if settings.jwks_url != self.url:
            self._reset(settings.jwks_url)

        now = time.time()
        refreshed = False
        if self.fetched_at is None:
            refreshed = await self._refresh()
        elif now - self.fetched_at >= settings.cache_seconds and now >= self.retry_at:
            # On failure the old keys stay in use for a while: an IdP outage
            # should not lock out every client whose token it already signed.
            stale_ok = now - self.fetched_at < (
                settings.cache_seconds + STALE_IF_ERROR_SECONDS
            )
            refreshed = await self._refresh(keep_stale=stale_ok)

        key = tokens.find_key(self.keys, alg, kid)
        if key is None and not refreshed and self._fetching():
            # A refetch is under way (maybe for this very kid): use its result.
            refreshed = await self._refresh()
            key = tokens.find_key(self.keys, alg, kid)
        guard_open = time.time() - self.kid_refetch_at >= REFETCH_GUARD_SECONDS
        if key is None and not refreshed and guard_open:
            # An unknown kid may be a rotated key: fetch once more, but at most
            # once per window, so random kids cannot cause a fetch storm.
            self.kid_refetch_at = time.time()
            await self._refresh()
            key = tokens.find_key(self.keys, alg, kid)
        if key is None:
            raise InvalidToken("unknown-key", "unknown key")
        return key

    async def crypto_key(self, key: PublicKey) -> object:
        """The WebCrypto key for ``key``, imported once per fetched JWKS."""
        cached = self.crypto_keys.get(key)
        if cached is not None:
            return cached
        try:
            imported = await crypto.subtle.importKey(
                "jwk",
                js_object(key.jwk),
                js_object(_IMPORT[key.alg]),
                False,
                to_js(["verify"]),
            )
        except JsException as exc:
            raise _unavailable("a key could not be imported") from exc
        self.crypto_keys[key] = imported
        return imported

    async def _refresh(self, *, keep_stale: bool = False) -> bool:
        """Fetch the JWKS (or wait for the fetch under way); True if new keys
        arrived, False if stale ones are kept; 503 if there are none to use."""
        started = time.time()
        await self._wait()
        if self.fetched_at is not None and self.fetched_at >= started:
            return True  # another request fetched while this one waited
        if self.failed_at is not None and self.failed_at >= started:
            return self._fail(keep_stale)  # ... or failed: share that too

        self.in_flight_since = time.time()
        try:
            keys = await _fetch_jwks(self.url)
        except _JwksUnavailable as exc:
            self.failed_at = time.time()
            self.failure = str(exc)
            return self._fail(keep_stale)
        finally:
            self.in_flight_since = None

        self.keys = keys
        self.fetched_at = time.time()
        self.crypto_keys = {}
        return True

    async def _wait(self) -> None:
        # Polling on this request's own timers: see the class docstring.
        while self._fetching():
            await asyncio.sleep(POLL_SECONDS)

    def _fetching(self) -> bool:
        since = self.in_flight_since
        return since is not None and time.time() - since < FETCH_TIMEOUT_SECONDS + 1

    def _fail(self, keep_stale: bool) -> bool:
        if keep_stale and self.keys:
            self.retry_at = time.time() + REFETCH_GUARD_SECONDS
            return False
        raise _unavailable(self.failure)


def _unavailable(reason: str) -> HTTPError:
    return HTTPError(
        503,
        f"Signing keys from JWKS_URL are unavailable: {reason}.",
        code="jwks-unavailable",
        headers={"Retry-After": str(int(REFETCH_GUARD_SECONDS))},
    )


async def _fetch_jwks(url: str) -> tuple[PublicKey, ...]:
    """The usable keys of the JWKS at ``url``; ``_JwksUnavailable`` otherwise."""
    options = js_object(
        {
            "headers": js_object({"Accept": "application/json"}),
            "signal": AbortSignal.timeout(int(FETCH_TIMEOUT_SECONDS * 1000)),
        }
    )
    try:
        response = await fetch(url, options)
        if response.status != 200:
            raise _JwksUnavailable(f"the server answered {response.status}")
        length = response.headers.get("Content-Length")
        if (
            length is not None
            and length.isascii()
            and length.isdigit()
            and int(length) > MAX_JWKS_BYTES
        ):
            raise _JwksUnavailable("the document is too large")
        text = await response.text()
    except JsException as exc:
        timed_out = "timeout" in str(exc).lower() or "abort" in str(exc).lower()
        reason = "the fetch timed out" if timed_out else "the fetch failed"
        raise _JwksUnavailable(reason) from exc

    if len(text) > MAX_JWKS_BYTES:
        raise _JwksUnavailable("the document is too large")
    try:
        document = json.loads(text)
    except ValueError:
        raise _JwksUnavailable("the document is not JSON") from None
    try:
        return tokens.parse_jwks(document)
    except ValueError:
        raise _JwksUnavailable("the document is not a JWK Set") from None


_KEYS = _KeyCache()
