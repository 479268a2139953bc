"""Settings read from the Worker's environment (vars and secrets).

Each setting is read when a route first needs it and checked then, so a
missing or malformed one fails the request that needs it with a 500 that names
the setting (never its value), and routes that do not need it keep working.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from problems import ConfigError

DEFAULT_FASTIO_BASE_URL = "https://api.fast.io/current/"
MiB = 1024 * 1024


@dataclass(frozen=True)
class Setting:
    """One documented setting: its name, default and whether it is a secret."""

    name: str
    default: str | None
    secret: bool
    doc: str


# The single list of settings; README's configuration table mirrors it and a
# unit test checks that the two agree.
SETTINGS = (
    Setting(
        "FASTIO_BASE_URL",
        DEFAULT_FASTIO_BASE_URL,
        False,
        "Fast.io API base URL; point it at the emulator for local work.",
    ),
    Setting(
        "FASTIO_WORKSPACE_ID",
        None,
        False,
        "19-digit Fast.io workspace (or share) id that receives uploads.",
    ),
    Setting(
        "FASTIO_PROFILE_TYPE",
        "workspace",
        False,
        "`workspace` or `share`: what FASTIO_WORKSPACE_ID names.",
    ),
    Setting(
        "FASTIO_FOLDER_ID", "root", False, "Folder id inside the workspace, or `root`."
    ),
    Setting(
        "FASTIO_API_KEY",
        None,
        True,
        "Fast.io API key (Bearer credential). Never sent to clients.",
    ),
    Setting(
        "MAX_UPLOAD_BYTES",
        str(100 * MiB),
        False,
        "Largest body accepted by `PUT /files/{name}` (413 beyond).",
    ),
    Setting(
        "MAX_FILE_BYTES",
        str(1024 * MiB),
        False,
        "Largest file accepted by the resumable (tus) and signed-URL routes.",
    ),
    Setting(
        "TUS_CHUNK_BYTES",
        str(50 * MiB),
        False,
        "Fast.io chunk size for resumable uploads (1 MB to 100 MB); grown "
        "automatically when a file would need more than 500 chunks.",
    ),
    Setting(
        "UPLOAD_URL_KEYS",
        None,
        True,
        "Keys that sign upload URLs, `kid:secret,kid:secret`; the first signs, "
        "all verify (rotate by putting a new key first).",
    ),
    Setting(
        "UPLOAD_URL_TTL_SECONDS",
        "3600",
        False,
        "How long a signed upload URL works.",
    ),
    Setting(
        "ALLOWED_TYPES",
        "png,jpeg,gif,webp,pdf,zip,mp4,text",
        False,
        "Comma list of file types accepted, detected from the first bytes.",
    ),
    Setting(
        "ALLOWED_ORIGINS",
        "",
        False,
        "CORS: comma list of exact origins, or `*` (no credentials).",
    ),
    Setting("CORS_MAX_AGE", "600", False, "CORS preflight cache, seconds."),
    Setting("JWT_SECRET", None, True, "HS256 shared secret for client JWTs."),
    Setting(
        "JWKS_URL",
        None,
        False,
        "JWKS URL for RS256/ES256 client JWTs (fetched and cached).",
    ),
    Setting(
        "JWT_ALGORITHMS",
        "HS256,RS256,ES256",
        False,
        "Allow-list of JWT algorithms; `none` is never accepted.",
    ),
    Setting("JWT_ISSUER", None, False, "Required `iss` claim, when set."),
    Setting("JWT_AUDIENCE", None, False, "Required `aud` claim, when set."),
    Setting(
        "JWT_LEEWAY_SECONDS",
        "60",
        False,
        "Clock skew allowed for `exp`, `nbf` and `iat`.",
    ),
    Setting(
        "JWT_REQUIRED_SCOPE",
        None,
        False,
        "A scope every token must carry in `scope`/`scp` (403 otherwise).",
    ),
    Setting("JWKS_CACHE_SECONDS", "300", False, "How long a fetched JWKS is used."),
    Setting(
        "CF_ACCESS_AUD",
        None,
        False,
        "Accept Cloudflare Access `Cf-Access-Jwt-Assertion` with this `aud` "
        "(keys from JWKS_URL).",
    ),
    Setting(
        "UPSTREAM_TIMEOUT_SECONDS",
        "30",
        False,
        "Time allowed for a Fast.io call before the client gets 504.",
    ),
    Setting(
        "UPSTREAM_RETRIES",
        "2",
        False,
        "Retries of idempotent Fast.io calls (never of a streamed body).",
    ),
    Setting(
        "WEBHOOK_SCHEME",
        "fastio",
        False,
        "Webhook signatures: `fastio` (`Fastio-Signature: t=,v1=`) or `standard` "
        "(Standard Webhooks `webhook-id`/`-timestamp`/`-signature`).",
    ),
    Setting(
        "WEBHOOK_SECRETS",
        None,
        True,
        "Comma list of webhook signing secrets (`whsec_<base64>` or plain); "
        "any may match, so list new and old during a rotation.",
    ),
    Setting(
        "WEBHOOK_TOLERANCE_SECONDS",
        "300",
        False,
        "How far a webhook timestamp may be from now, either way.",
    ),
    Setting(
        "NOTIFY_URL",
        None,
        True,
        "Slack-compatible incoming-webhook URL told of each event (off if unset).",
    ),
)

_BY_NAME = {s.name: s for s in SETTINGS}


class Config:
    """Typed, validated access to the Worker's ``env``."""

    def __init__(self, env: object) -> None:
        self._env = env

    def raw(self, name: str) -> str | None:
        """The setting as a string, its default when unset; '' counts as unset."""
        value = getattr(self._env, name, None)
        if value is not None and not isinstance(value, str):
            value = str(value)
        if value is None or value.strip() == "":
            return _BY_NAME[name].default if name in _BY_NAME else None
        return value.strip()

    def require(self, name: str) -> str:
        value = self.raw(name)
        if value is None:
            raise ConfigError(name)
        return value

    def optional(self, name: str) -> str | None:
        return self.raw(name)

    def integer(self, name: str, *, minimum: int = 0) -> int:
        text = self.require(name)
        try:
            value = int(text)
        except ValueError:
            raise ConfigError(name, "is not an integer") from None
        if value < minimum:
            raise ConfigError(name, f"must be at least {minimum}")
        return value

    def number(self, name: str) -> float:
        text = self.require(name)
        try:
            value = float(text)
        except ValueError:
            raise ConfigError(name, "is not a number") from None
        if not math.isfinite(value) or value <= 0:
            raise ConfigError(name, "must be a positive number")
        return value

    def flag(self, name: str) -> bool:
        text = (self.raw(name) or "false").lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        raise ConfigError(name, "must be true or false")

    def items(self, name: str) -> list[str]:
        text = self.raw(name) or ""
        return [part.strip() for part in text.split(",") if part.strip()]

    def fastio_base_url(self) -> str:
        url = self.require("FASTIO_BASE_URL")
        if not url.startswith(("https://", "http://")):
            raise ConfigError("FASTIO_BASE_URL", "must be an http(s) URL")
        return url if url.endswith("/") else url + "/"

    def workspace_id(self) -> str:
        value = self.require("FASTIO_WORKSPACE_ID")
        if not re.fullmatch(r"[0-9]{19}", value):
            raise ConfigError("FASTIO_WORKSPACE_ID", "must be a 19-digit id")
        return value

    def profile_type(self) -> str:
        value = self.require("FASTIO_PROFILE_TYPE")
        if value not in ("workspace", "share"):
            raise ConfigError("FASTIO_PROFILE_TYPE", "must be workspace or share")
        return value
