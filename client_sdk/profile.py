"""The local profile: what this device remembers between commands.

A profile is a directory (platformdirs' user data dir by default, `--profile DIR` or
`KLUIS_PROFILE` to choose another) holding two JSON files:

- ``session.json`` (mode 0600): the server address, the session token and, while logged in,
  the unlocked private keys. Like an SSH key, it is protected by the device; `kluis logout`
  deletes it.
- ``trust.json``: everything this device has *learned* and must not forget, because a lying
  server could otherwise make it forget: the pinned fingerprint of every user seen (trust on
  first use, K2), the highest KDF parameters used per account (L14), the highest dossier index
  counter and document version seen (D12), and the last access-log entry seen per dossier.
  It keeps, per server, the key transparency log this device pinned (its key, VRF key and the
  witness policy), the newest checkpoint it accepted and how far it audited the log
  (client_sdk/keylog.py): a server must not make the device forget a checkpoint it saw.
  It also keeps, per account, the device token the last login handed out: it marks this
  device as one that logged in before, which the server's login limits do not hold back for
  failures made elsewhere (S21). It outlives `kluis logout`; it is no key to anything.
- ``indexes/<dossier id>.klix``: the last dossier index this device verified, byte for byte
  (56 bytes a document), so that a newer one is accepted only if it descends from it (D12, D13;
  docs/format.md section 9, step 4). Like ``trust.json``, it must not be lost.

Every write goes to a temporary file in the same directory and is renamed into place, so a
crash never leaves a half-written profile.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs

from .errors import DamagedProfile

SESSION_FILE = "session.json"
TRUST_FILE = "trust.json"
PRIVATE_MODE = 0o600
ORGANISATIONS = "organisations"  # trust.json section: org id -> its pinned key chain
MESSAGE_STATES = "message_states"  # group id -> the last accepted message chain state
ACCEPTED_GROUPS = "accepted_groups"  # group id -> true once the user accepted the invitation
REVOKED_SHARES = "revoked_shares"  # dossier id -> my grants to organisations I revoked
KEY_LOGS = "key_logs"  # server address -> its pinned log, newest checkpoint, audit state


def default_profile_dir() -> Path:
    return Path(platformdirs.user_data_dir("kluis", appauthor=False))


def _write_atomic(path: Path, data: dict[str, Any], mode: int) -> None:
    # dumps, not dump: only dumps uses the C encoder (caches hold 10,000s of entries).
    _write_bytes_atomic(path, json.dumps(data, separators=(",", ":")).encode(), mode)


def _write_bytes_atomic(path: Path, data: bytes, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open(encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        return {}
    except (ValueError, UnicodeDecodeError) as exc:
        raise DamagedProfile(f"{path} is damaged: it is not valid JSON") from exc
    if not isinstance(data, dict):
        raise DamagedProfile(f"{path} is damaged: expected a JSON object")
    return data


@dataclass
class Session:
    server: str
    username: str
    user_id: str
    token: str
    expires_at: int
    key_version: int
    private_keys: bytes

    def to_json(self) -> dict[str, Any]:
        return {
            "server": self.server,
            "username": self.username,
            "user_id": self.user_id,
            "token": self.token,
            "expires_at": self.expires_at,
            "key_version": self.key_version,
            "private_keys": base64.b64encode(self.private_keys).decode(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Session:
        return cls(
            server=str(data["server"]),
            username=str(data["username"]),
            user_id=str(data["user_id"]),
            token=str(data["token"]),
            expires_at=int(data["expires_at"]),
            key_version=int(data["key_version"]),
            private_keys=base64.b64decode(data["private_keys"]),
        )


class Profile:
    """One device's memory. Reads are fresh from disk; every change is written at once."""

    def __init__(self, directory: Path | str | None = None) -> None:
        self.dir = Path(directory) if directory else default_profile_dir()
        self._cache: tuple[tuple[int, int], dict[str, Any]] | None = None

    # -- session ---------------------------------------------------------------------------
    def load_session(self) -> Session | None:
        path = self.dir / SESSION_FILE
        data = _read(path)
        if not data:
            return None
        try:
            return Session.from_json(data)
        except (KeyError, TypeError, ValueError) as exc:
            raise DamagedProfile(f"{path} is damaged: log in again") from exc

    def save_session(self, session: Session) -> None:
        _write_atomic(self.dir / SESSION_FILE, session.to_json(), PRIVATE_MODE)

    def clear_session(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.dir / SESSION_FILE).unlink()

    # -- trust memory ------------------------------------------------------------------------
    def _trust(self) -> dict[str, Any]:
        """The trust memory, re-read only when the file changed (a dossier of 10,000 documents
        asks for it 10,000 times in one listing)."""
        path = self.dir / TRUST_FILE
        try:
            st = path.stat()
        except FileNotFoundError:
            return {}
        stamp = (st.st_mtime_ns, st.st_size)
        if self._cache is None or self._cache[0] != stamp:
            self._cache = (stamp, _read(path))
        return self._cache[1]

    def _write_trust(self, trust: dict[str, Any]) -> None:
        self._cache = None  # re-read after every write, so a failed write leaves no stale copy
        _write_atomic(self.dir / TRUST_FILE, trust, PRIVATE_MODE)

    def _update(self, section: str, key: str, value: Any) -> None:
        if self._section(section).get(key) == value:  # also refuses a damaged section
            return  # unchanged: no write (a listing of 10,000 documents asks many times)
        trust = self._trust()
        trust.setdefault(section, {})[key] = value
        self._write_trust(trust)

    def _section(self, section: str) -> dict[str, Any]:
        value = self._trust().get(section, {})
        if not isinstance(value, dict):
            raise DamagedProfile(
                f"{self.dir / TRUST_FILE} is damaged: {section!r} is not an object"
            )
        return value

    def _get(self, section: str, key: str) -> Any:
        return self._section(section).get(key)

    def pin(self, user_id: str) -> dict[str, Any] | None:
        value = self._get("pins", user_id)
        return dict(value) if isinstance(value, dict) else None

    def pins(self) -> dict[str, dict[str, Any]]:
        """Every person this device pinned: user id -> pin."""
        return {u: dict(v) for u, v in self._section("pins").items() if isinstance(v, dict)}

    def pins_for_username(self, username: str) -> list[tuple[str, dict[str, Any]]]:
        """Every pin held under `username`: at most one, except in a profile written before
        `kluis verify` began taking a name away from the account that held it before."""
        return [
            (user_id, dict(value))
            for user_id, value in self._section("pins").items()
            if isinstance(value, dict) and value.get("username") == username
        ]

    def save_pin(
        self, user_id: str, *, username: str, key_id: str, fingerprint: str, verified: bool
    ) -> None:
        self._update(
            "pins",
            user_id,
            {
                "username": username,
                "key_id": key_id,
                "fingerprint": fingerprint,
                "verified": verified,
            },
        )

    def kdf_floor(self, username: str) -> tuple[int, int] | None:
        value = self._get("kdf", username)
        return (int(value[0]), int(value[1])) if value else None

    def raise_kdf_floor(self, username: str, memory_kib: int, iterations: int) -> None:
        old = self.kdf_floor(username) or (0, 0)
        self._update("kdf", username, [max(old[0], memory_kib), max(old[1], iterations)])

    def device_token(self, username: str) -> str | None:
        value = self._get("device_tokens", username)
        return value if isinstance(value, str) and value else None

    def save_device_token(self, username: str, token: str) -> None:
        self._update("device_tokens", username, token)

    def index_seen(self, dossier_id: str) -> tuple[int, str] | None:
        value = self._get("indexes", dossier_id)
        return (int(value[0]), str(value[1])) if value else None

    def save_index_seen(self, dossier_id: str, counter: int, index_hash: str) -> None:
        self._update("indexes", dossier_id, [counter, index_hash])

    def _index_file(self, dossier_id: str) -> Path:
        return self.dir / "indexes" / f"{dossier_id}.klix"

    def last_index(self, dossier_id: str) -> bytes | None:
        """The last index of the dossier this device verified, or None. A profile written before
        this memory existed has only `index_seen` (its counter and hash)."""
        try:
            return self._index_file(dossier_id).read_bytes()
        except FileNotFoundError:
            return None

    def save_last_index(self, dossier_id: str, data: bytes, counter: int, index_hash: str) -> None:
        """Remember a verified index: its bytes, then its counter and hash in ``trust.json``."""
        _write_bytes_atomic(self._index_file(dossier_id), data, PRIVATE_MODE)
        self.save_index_seen(dossier_id, counter, index_hash)

    def dossier_owner(self, dossier_id: str) -> str | None:
        value = self._get("owners", dossier_id)
        return str(value) if value else None

    def save_dossier_owner(self, dossier_id: str, owner_id: str) -> None:
        self._update("owners", dossier_id, owner_id)

    def versions_seen(self) -> dict[str, int]:
        """The highest version this device has seen of every document (read once per listing)."""
        return {doc: int(v) for doc, v in self._section("versions").items()}

    def save_versions_seen(self, versions: dict[str, int]) -> None:
        seen = self._section("versions")  # refuses to write into a damaged section
        higher = {d: v for d, v in versions.items() if v > int(seen.get(d, 0))}
        if not higher:
            return
        trust = self._trust()
        trust.setdefault("versions", {}).update(higher)
        self._write_trust(trust)

    # -- headers verified before (a cache: losing it costs time, never safety) ----------------
    def _headers_file(self, dossier_id: str) -> Path:
        return self.dir / "verified" / f"{dossier_id}.json"

    def verified_headers(self, dossier_id: str) -> dict[str, Any]:
        try:
            return _read(self._headers_file(dossier_id))
        except ValueError:
            return {}

    def save_verified_headers(self, dossier_id: str, entries: dict[str, Any]) -> None:
        _write_atomic(self._headers_file(dossier_id), entries, PRIVATE_MODE)

    # -- organisations this device pinned (client_sdk/directory.py) -----------------------------
    def organisation_pin(self, org_id: str) -> dict[str, Any] | None:
        value = self._get(ORGANISATIONS, org_id)
        return dict(value) if isinstance(value, dict) else None

    def organisation_pin_named(self, name: str) -> tuple[str, dict[str, Any]] | None:
        """The organisation pinned under `name`, if any: (its id, its pin)."""
        for org_id, value in self._section(ORGANISATIONS).items():
            if isinstance(value, dict) and value.get("name") == name:
                return org_id, dict(value)
        return None

    def save_organisation_pin(self, org_id: str, pin: dict[str, Any]) -> None:
        self._update(ORGANISATIONS, org_id, pin)

    # -- shares with organisations I revoked, for their receipts (client_sdk/receipts.py) ------
    def revoked_shares(self, dossier_id: str) -> list[dict[str, Any]]:
        value = self._get(REVOKED_SHARES, dossier_id)
        return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []

    def save_revoked_shares(self, dossier_id: str, shares: list[dict[str, Any]]) -> None:
        self._update(REVOKED_SHARES, dossier_id, shares)

    def log_head(self, dossier_id: str) -> tuple[int, str] | None:
        value = self._get("logs", dossier_id)
        return (int(value[0]), str(value[1])) if value else None

    def save_log_head(self, dossier_id: str, seq: int, entry_hash: str) -> None:
        self._update("logs", dossier_id, [seq, entry_hash])

    # -- groups (client_sdk/groups.py, client_sdk/messages.py) ---------------------------------
    def message_state(self, group_id: str) -> Any:
        """The last message chain state this device accepted (format section 19.4), as the
        JSON object `vault.messagelog.state_to_json` wrote; None before the first read."""
        return self._get(MESSAGE_STATES, group_id)

    def save_message_state(self, group_id: str, state: dict[str, Any]) -> None:
        self._update(MESSAGE_STATES, group_id, state)

    def group_accepted(self, group_id: str) -> bool:
        """Whether the user accepted the invitation to this group on this device."""
        return self._get(ACCEPTED_GROUPS, group_id) is True

    def accept_group(self, group_id: str) -> None:
        self._update(ACCEPTED_GROUPS, group_id, True)

    # -- the key transparency log of each server (client_sdk/keylog.py) -----------------------
    def key_log(self, server: str) -> dict[str, Any] | None:
        """The log parameters pinned for `server`, the newest checkpoint accepted from it and
        how far this device audited it."""
        value = self._get(KEY_LOGS, server)
        return dict(value) if isinstance(value, dict) else None

    def save_key_log(self, server: str, state: dict[str, Any]) -> None:
        self._update(KEY_LOGS, server, state)
