"""Server settings, read from the environment (prefix `KLUIS_`) or passed to `create_app`.

Everything has a safe default for a single-machine deployment: SQLite and blob files under
`data_dir`. The server secret (used only for the fake prelogin salts of unknown users) is
generated on first start and kept in `data_dir/server-secret` (mode 0600) unless it is given.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import time
from functools import cached_property
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

GIB = 1 << 30
MIB = 1 << 20

SECRET_FILE = "server-secret"  # noqa: S105  (a file name)
SECRET_BYTES = 32
MIN_SECRET_LENGTH = 32
# Values people copy from examples; refusing them is cheap insurance.
WEAK_SECRETS = frozenset(
    {"changeme", "change-me", "change_me", "secret", "default", "password", "kluis", "test"}
)


class ConfigurationError(ValueError):
    """A setting is missing or unusable; the message says which and what to do."""


class InsecureSecretError(ConfigurationError):
    """The configured server secret is a placeholder or too short to be a secret."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KLUIS_", extra="ignore", frozen=True)

    data_dir: Path = Path("./data")
    # Default: sqlite:///<data_dir>/kluis.db. PostgreSQL: postgresql+psycopg://user:pw@host/db
    # (postgresql:// and postgres:// are read as that too).
    database_url: str | None = None
    # Database connections per server process kept open (up to 48 are opened under load).
    database_pool_size: int = Field(default=10, ge=1)
    blob_dir: Path | None = None  # default: <data_dir>/blobs

    max_upload_bytes: int = Field(default=2 * GIB, ge=1)
    # Per user: the sum of everything they uploaded (committed versions and pending uploads).
    storage_quota_bytes: int = Field(default=20 * GIB, ge=1)
    # JSON bodies are read whole; this bounds them (the largest is an index of 16 MiB, base64).
    max_json_bytes: int = Field(default=32 * MIB, ge=1024)
    session_ttl_seconds: int = Field(default=12 * 3600, ge=1)
    server_secret: SecretStr | None = None

    # Failed logins (and recovery attempts) without a device token, per fixed window. The
    # per-account window is short so that a stranger hammering a name keeps new devices out for
    # minutes, not hours; a device that logged in before is not held back by it (ratelimit.py).
    login_account_max_failures: int = Field(default=10, ge=1)
    login_account_window_seconds: int = Field(default=300, ge=1)
    login_address_max_failures: int = Field(default=100, ge=1)
    login_address_window_seconds: int = Field(default=300, ge=1)
    # Consecutive failures for one account from one address, or with one device token: the
    # first few are free, then each failure makes the next attempt wait, twice as long each
    # time, up to the maximum; failures are forgotten after the reset time without one.
    login_backoff_free_failures: int = Field(default=5, ge=0)
    login_backoff_base_seconds: int = Field(default=1, ge=1)
    login_backoff_max_seconds: int = Field(default=900, ge=1)
    login_backoff_reset_seconds: int = Field(default=24 * 3600, ge=1)
    # How long a device token (handed out at each login, replaced at the next) stays valid.
    device_token_ttl_seconds: int = Field(default=180 * 24 * 3600, ge=1)

    # Group messages one user may post per fixed window, in all groups together (429 beyond).
    message_post_max: int = Field(default=120, ge=1)
    message_post_window_seconds: int = Field(default=60, ge=1)
    # An idle live-event stream sends a comment this often (proxies keep it open; a closed one
    # is noticed) and then re-checks that its user is still a member.
    events_keepalive_seconds: float = Field(default=15, gt=0)

    upload_grace_seconds: int = Field(default=3600, ge=0)
    # How often each server process runs cleanup itself (0: never; then run
    # `python -m server cleanup` from a timer). Safe to run from every replica at once.
    cleanup_interval_seconds: int = Field(default=900, ge=0)

    # Addresses of reverse proxies whose X-Forwarded-For header is believed (for example
    # "127.0.0.1" behind a local TLS proxy). Unset, the header is ignored: anyone could
    # otherwise claim a fresh address for every guess and dodge the per-address login limit.
    forwarded_allow_ips: str | None = None

    # Origins (scheme://host[:port], exactly) of pages that may call the API from a browser:
    # `kluis web` serves the web app from the user's own computer against this server
    # (web/README.md, "Code delivery"). Comma-separated; empty: no CORS headers at all. `*`
    # and anything that is not an origin are refused at start.
    web_origins: str = ""

    # Where payloads live: files under blob_dir, or an S3-compatible object store (MinIO,
    # AWS S3, ...). The endpoint is host[:port]; the bucket must exist. Parts of 8 MiB (S3's
    # minimum is 5 MiB) keep a large upload's memory small.
    blob_backend: Literal["filesystem", "s3"] = "filesystem"
    s3_endpoint: str | None = None
    s3_bucket: str | None = None
    s3_access_key: str | None = None
    s3_secret_key: SecretStr | None = None
    s3_secure: bool = True
    s3_region: str | None = None
    s3_part_size: int = Field(default=8 * MIB, ge=5 * MIB)

    # One JSON line per request on stderr (method, route template, status, duration).
    access_log: bool = True

    # The key transparency log (docs/format.md section 17): its origin is "<log_host>/log";
    # the log's, the VRF's and the operator's Ed25519 seeds (64 hex digits each) are generated
    # into data_dir on first start unless given (server/tlog_keys.py). Witnesses are
    # "<add-checkpoint URL> <verifier key>", each asked to cosign every new checkpoint.
    log_host: str = "localhost"
    log_key: SecretStr | None = None
    vrf_key: SecretStr | None = None
    operator_key: SecretStr | None = None
    witnesses: list[str] = []
    witness_timeout_seconds: float = Field(default=5.0, gt=0)

    # E-mail notifications (docs/deployment.md "Notifications"): with no smtp_host none are
    # offered and no address is stored. Mails link to public_url (where residents open Kluis).
    # Each event waits notify_delay_seconds, so that a burst of them makes one mail; every
    # process polls the queue every notify_poll_seconds and sends at most notify_batch_size
    # mails over one SMTP connection at a time.
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str | None = None
    smtp_starttls: bool = True
    smtp_timeout_seconds: float = Field(default=30.0, gt=0)
    public_url: str | None = None
    notify_delay_seconds: int = Field(default=60, ge=0)
    notify_poll_seconds: float = Field(default=5.0, gt=0)
    notify_batch_size: int = Field(default=200, ge=1, le=10_000)

    # The directory's map (docs/deployment.md "The map's tile server"): an upstream tile URL
    # template with {z}, {x} and {y}, fetched by Kluis and served from its own origin, the
    # newest `tile_cache_tiles` tiles kept in memory per process. Unset: no map, the list alone.
    tile_url: str | None = None
    tile_cache_tiles: int = Field(default=4096, ge=1, le=1_000_000)
    tile_timeout_seconds: float = Field(default=10.0, gt=0)

    @field_validator("tile_url")
    @classmethod
    def _tile_template(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        placeholders = all(f"{{{p}}}" in value for p in "zxy")
        if parts.scheme not in ("http", "https") or not parts.hostname or not placeholders:
            raise ValueError(
                "tile_url: an http(s) URL with {z}, {x} and {y}, like https://tiles.example/{z}/{x}/{y}.png"
            )
        try:
            value.format(z=0, x=0, y=0)
        except (KeyError, IndexError, ValueError):
            raise ValueError("tile_url: only {z}, {x} and {y} may stand in braces") from None
        return value

    @model_validator(mode="after")
    def _sensible_smtp(self) -> Settings:
        check_smtp(self)
        return self

    @property
    def notifications_offered(self) -> bool:
        return self.smtp_host is not None

    @field_validator("web_origins")
    @classmethod
    def _exact_origins(cls, value: str) -> str:
        return ",".join(web_origin(item) for item in value.split(",") if item.strip())

    @property
    def web_origin_list(self) -> tuple[str, ...]:
        return tuple(item for item in self.web_origins.split(",") if item)

    @property
    def db_url(self) -> str:
        if not self.database_url:
            return f"sqlite:///{(self.data_dir / 'kluis.db').as_posix()}"
        for alias in ("postgresql://", "postgres://"):
            if self.database_url.startswith(alias):
                return "postgresql+psycopg://" + self.database_url[len(alias) :]
        return self.database_url

    @property
    def blob_path(self) -> Path:
        return self.blob_dir if self.blob_dir is not None else self.data_dir / "blobs"

    @cached_property
    def secret_key(self) -> bytes:
        """The server secret as bytes; generated into `data_dir` on first use if not set."""
        if self.server_secret is not None:
            value = self.server_secret.get_secret_value()
            check_secret(value)
            return value.encode("utf-8")
        return load_or_create_secret(self.data_dir / SECRET_FILE)


def web_origin(text: str) -> str:
    """One origin of KLUIS_WEB_ORIGINS in the form a browser sends it (lower case), or a
    ValueError: `*`, `null`, a path, a query, user information or another scheme are refused."""
    item = text.strip()
    if "*" in item:
        raise ValueError("web_origins: `*` is refused; name each origin (https://host[:port])")
    parts = urlsplit(item)
    try:
        port = parts.port
    except ValueError:
        port = None
        parts = parts._replace(netloc="")
    if (
        parts.scheme.lower() not in ("http", "https")
        or not parts.hostname
        or parts.username is not None
        or parts.password is not None
        or parts.path
        or parts.query
        or parts.fragment
        or item.endswith(("?", "#"))
    ):
        raise ValueError(f"web_origins: {item!r} is not an origin (scheme://host[:port])")
    host = parts.hostname
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme.lower()}://{host.lower()}" + (f":{port}" if port is not None else "")


# What Kluis takes for an e-mail address: one local part and a domain with a dot, no spaces,
# no angle brackets, no line breaks (an address goes into a mail header) and at most 254
# characters (RFC 5321). Stricter than RFC 5322 on purpose: odd but valid forms are refused.
MAIL_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")
MAX_MAIL_ADDRESS = 254
HOST_NAME = re.compile(r"[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]+\]")
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]"})


def mail_address(text: str) -> str:
    """`text` as an e-mail address Kluis sends to, or a ValueError saying why not."""
    if len(text) > MAX_MAIL_ADDRESS or not MAIL_ADDRESS.fullmatch(text):
        raise ValueError("not an e-mail address (name@example.nl)")
    return text


def check_smtp(settings: Settings) -> None:
    """Refuse SMTP settings that cannot work or would leak: settings without a host, a host
    that is a URL, a sender that is no address, a user without a password (or the reverse), a
    password sent in the clear to another machine, and no public URL for the links in mails."""
    named = [
        name
        for name in ("smtp_user", "smtp_password", "smtp_from", "public_url")
        if getattr(settings, name) is not None
    ]
    if settings.smtp_host is None:
        if [n for n in named if n != "public_url"]:
            raise ValueError(f"{', '.join(named)} set without smtp_host: set KLUIS_SMTP_HOST too")
        return
    if not HOST_NAME.fullmatch(settings.smtp_host):
        raise ValueError("smtp_host: a host name or address only (no scheme, port or path)")
    if settings.smtp_from is None:
        raise ValueError("smtp_host is set but smtp_from is not: mails need a sender address")
    try:
        mail_address(settings.smtp_from)
    except ValueError as exc:
        raise ValueError(f"smtp_from: {exc}") from None
    if (settings.smtp_user is None) != (settings.smtp_password is None):
        raise ValueError("smtp_user and smtp_password go together: set both or neither")
    if (
        settings.smtp_password is not None
        and not settings.smtp_starttls
        and settings.smtp_host.lower() not in LOOPBACK_HOSTS
    ):
        raise ValueError(
            "smtp_password without smtp_starttls would cross the network in the clear; "
            "turn KLUIS_SMTP_STARTTLS on"
        )
    if settings.public_url is None:
        raise ValueError("smtp_host is set but public_url is not: mails link to Kluis there")
    parts = urlsplit(settings.public_url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ValueError("public_url: an http(s) address of the Kluis site, like https://kluis.nl")
    if parts.scheme == "http" and parts.hostname not in ("localhost", "127.0.0.1", "::1"):
        raise ValueError("public_url: https, unless Kluis runs on this machine only")


def check_secret(value: str) -> None:
    stripped = value.strip()
    if stripped.lower() in WEAK_SECRETS or len(set(stripped)) < 8:
        raise InsecureSecretError(
            "KLUIS_SERVER_SECRET is a placeholder value; set a long random value "
            "(for example `python -c 'import secrets; print(secrets.token_hex(32))'`) "
            "or unset it to let the server generate one in the data directory"
        )
    if len(stripped) < MIN_SECRET_LENGTH:
        raise InsecureSecretError(
            f"KLUIS_SERVER_SECRET is too short ({len(stripped)} characters); "
            f"use at least {MIN_SECRET_LENGTH} random characters"
        )


def load_or_create_secret(path: Path) -> bytes:
    """Read the secret file, or create it with 32 random bytes (mode 0600, never replaced)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        data = path.read_bytes()
        for _ in range(50):  # another process may be writing it right now
            if len(data) >= SECRET_BYTES:
                break
            time.sleep(0.02)
            data = path.read_bytes()
        if len(data) < SECRET_BYTES:
            raise InsecureSecretError(
                f"{path} holds {len(data)} bytes; a server secret needs {SECRET_BYTES}. "
                "Delete the file to generate a new one."
            ) from None
        return data
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(secrets.token_bytes(SECRET_BYTES))
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        raise
    return path.read_bytes()
