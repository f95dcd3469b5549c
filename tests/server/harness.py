"""A small harness for the server tests: `Kluis` registers users, creates dossiers, uploads
and commits versions over the API, the way a client would.

The server never opens the structures it stores, so the "identity", "bundles", "index",
"grant" and "header" bytes here are arbitrary placeholders.
"""

from __future__ import annotations

import base64
import os
import secrets
import subprocess
import sys
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():  # starlette would like httpx2; httpx is what we have
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient as TestClient

from server.app import create_app
from server.config import Settings

API = "/api/v1"
REPO_ROOT = Path(__file__).resolve().parents[2]
START = 1_700_000_000  # in the past: real file times are later than fake ones


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def new_id() -> str:
    return secrets.token_hex(16)


class FakeClock:
    def __init__(self, now: int = START) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now

    def advance(self, seconds: int) -> None:
        self.now += seconds


@dataclass
class Account:
    user_id: str
    username: str
    auth_key: bytes
    recovery_key: bytes
    token: str = ""
    kdf: dict[str, Any] = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def kdf_params(salt: bytes | None = None) -> dict[str, Any]:
    return {
        "algorithm": "argon2id",
        "memory_kib": 65536,
        "iterations": 3,
        "parallelism": 1,
        "salt": b64(salt or os.urandom(16)),
    }


def registration(username: str, /, **overrides: Any) -> dict[str, Any]:
    body = {
        "user_id": new_id(),
        "username": username,
        "display_name": username.title(),
        "identity": b64(b"KLID" + os.urandom(40)),
        "kdf": kdf_params(),
        "passphrase_bundle": b64(b"KLKB-pass" + os.urandom(20)),
        "recovery_bundle": b64(b"KLKB-recovery" + os.urandom(20)),
        "auth_key": b64(os.urandom(32)),
        "recovery_auth_key": b64(os.urandom(32)),
    }
    body.update(overrides)
    return body


def grant_in(
    recipient_id: str,
    *,
    kind: int = 1,
    document_id: str | None = None,
    number: int = 1,
    rights: int = 1,
    expires_at: int = 0,
    grant_id: str | None = None,
) -> dict[str, Any]:
    return {
        "grant": b64(b"KLGR" + os.urandom(32)),
        "grant_id": grant_id or new_id(),
        "kind": kind,
        "document_id": document_id,
        "number": number,
        "recipient_id": recipient_id,
        "rights": rights,
        "expires_at": expires_at,
    }


class Kluis:
    """Drives the API the way a client would, with placeholder bytes."""

    def __init__(self, client: TestClient, clock: FakeClock) -> None:
        self.client = client
        self.clock = clock

    # -- raw calls -------------------------------------------------------------------------
    def get(self, path: str, who: Account | None = None, **kw: Any) -> Any:
        return self.client.get(API + path, headers=who.headers if who else {}, **kw)

    def post(self, path: str, who: Account | None = None, **kw: Any) -> Any:
        return self.client.post(API + path, headers=who.headers if who else {}, **kw)

    def put(self, path: str, who: Account | None = None, **kw: Any) -> Any:
        return self.client.put(API + path, headers=who.headers if who else {}, **kw)

    def delete(self, path: str, who: Account | None = None, **kw: Any) -> Any:
        return self.client.delete(API + path, headers=who.headers if who else {}, **kw)

    # -- accounts --------------------------------------------------------------------------
    def register(self, username: str, *, login: bool = True) -> Account:
        body = registration(username)
        response = self.post("/users", json=body)
        assert response.status_code == 201, response.text
        account = Account(
            user_id=body["user_id"],
            username=username,
            auth_key=base64.b64decode(body["auth_key"]),
            recovery_key=base64.b64decode(body["recovery_auth_key"]),
            kdf=body["kdf"],
        )
        if login:
            self.login(account)
        return account

    def login(self, account: Account) -> dict[str, Any]:
        response = self.post(
            "/auth/login", json={"username": account.username, "auth_key": b64(account.auth_key)}
        )
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        account.token = answer["token"]
        return answer

    # -- dossiers --------------------------------------------------------------------------
    def create_dossier(self, owner: Account, grants: Iterable[dict[str, Any]] = ()) -> str:
        dossier_id = new_id()
        body = {
            "dossier_id": dossier_id,
            "index": b64(b"KLIX" + os.urandom(64)),
            "grants": [grant_in(owner.user_id, rights=2), *grants],
        }
        response = self.post("/dossiers", owner, json=body)
        assert response.status_code == 201, response.text
        return dossier_id

    def share(self, owner: Account, dossier_id: str, *grants: dict[str, Any]) -> None:
        response = self.post(f"/dossiers/{dossier_id}/grants", owner, json={"grants": grants})
        assert response.status_code == 201, response.text

    # -- payloads --------------------------------------------------------------------------
    def upload(self, who: Account, data: bytes) -> dict[str, Any]:
        response = self.post("/uploads", who, content=data)
        assert response.status_code == 201, response.text
        answer: dict[str, Any] = response.json()
        return answer

    def commit(
        self,
        who: Account,
        dossier_id: str,
        document_id: str,
        version: int,
        data: bytes = b"payload",
        **overrides: Any,
    ) -> Any:
        upload = self.upload(who, data)
        body = {
            "version": version,
            "header": b64(b"KLDH" + os.urandom(100)),
            "upload_id": upload["upload_id"],
            "payload_size": upload["size"],
            "payload_blake3": upload["blake3"],
            **overrides,
        }
        return self.post(f"/dossiers/{dossier_id}/documents/{document_id}/versions", who, json=body)

    def add_document(
        self, who: Account, dossier_id: str, data: bytes = b"payload", versions: int = 1
    ) -> str:
        document_id = new_id()
        for version in range(1, versions + 1):
            response = self.commit(who, dossier_id, document_id, version, data)
            assert response.status_code == 201, response.text
        return document_id

    def log(self, who: Account, dossier_id: str) -> list[dict[str, Any]]:
        response = self.get(f"/dossiers/{dossier_id}/log", who)
        assert response.status_code == 200, response.text
        entries: list[dict[str, Any]] = response.json()
        return entries


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    assert body["status"] == status
    assert body["type"] == f"https://kluis.nl/problems/{code}"
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str)
    return body


def make_client(settings: Settings, clock: FakeClock, **kw: Any) -> TestClient:
    return TestClient(create_app(settings, clock=clock), **kw)


def run_server(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m server ARGS` to the end, with the KLUIS_* settings of `env` only."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KLUIS_")}
    return subprocess.run(
        [sys.executable, "-m", "server", *args],
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=REPO_ROOT,
    )
