"""A malicious server for tests: rewrite its database rows and blob files, or its answers.

Every adversarial test does a real flow with the real client against a real server process,
then plays the operator who controls that server, then uses the client again and checks that
it fails closed: a security error (exit status 3 in the CLI) naming what failed, and no
plaintext or half-written file left behind.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from client_sdk import Client
from client_sdk.localserver import LocalServer
from vault.errors import SecurityError

from ..client_sdk.cli_runner import Person

PASSPHRASE = "adversarial test passphrase"


class Db:
    """Direct access to the server's SQLite database, as an operator who owns it has."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def rows(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        with closing(sqlite3.connect(self.path, timeout=30)) as conn:
            return list(conn.execute(sql, args))

    def one(self, sql: str, *args: Any) -> Any:
        [row] = self.rows(sql, *args)
        return row[0] if len(row) == 1 else row

    def execute(self, sql: str, *args: Any) -> int:
        with closing(sqlite3.connect(self.path, timeout=30)) as conn, conn:
            return conn.execute(sql, args).rowcount


def blob_path(server: LocalServer, blob_key: str) -> Path:
    return server.data_dir / "blobs" / blob_key[:2] / blob_key


def version_blob(server: LocalServer, db: Db, document_id: str, version: int = 1) -> Path:
    key = db.one(
        "SELECT blob_key FROM versions WHERE document_id = ? AND version = ?", document_id, version
    )
    return blob_path(server, key)


Rewrite = Callable[[httpx.Request, httpx.Response], httpx.Response]


@dataclass
class RewritingTransport(httpx.BaseTransport):
    """A proxy in front of the real server that may change any answer it gives."""

    rewrite: Rewrite
    seen: list[str] = field(default_factory=list)
    inner: httpx.BaseTransport = field(default_factory=httpx.HTTPTransport)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(f"{request.method} {request.url.path}")
        response = self.inner.handle_request(request)
        response.read()
        return self.rewrite(request, response)


def json_answer(response: httpx.Response, body: Any) -> httpx.Response:
    return httpx.Response(
        response.status_code,
        headers={"content-type": "application/json"},
        content=json.dumps(body).encode(),
    )


@dataclass
class World:
    """A server with a resident (anna) and a contractor (bob), each on their own device."""

    server: LocalServer
    db: Db
    root: Path
    anna: Client
    bob: Client

    def client(self, name: str, transport: httpx.BaseTransport | None = None) -> Client:
        return Client(self.server.url, str(self.root / f"profile-{name}"), transport=transport)

    def cli(self, name: str) -> Person:
        return Person(self.server.url, self.root / f"profile-{name}", PASSPHRASE)

    def dossier_with(self, *files: tuple[str, bytes]) -> tuple[str, list[str]]:
        """A fresh dossier of anna's holding `files`; returns its id and the document ids."""
        dossier = self.anna.create_dossier("Schade Hoofdstraat 12")
        ids = []
        for name, content in files:
            path = self.root / "src" / name
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(content)
            ids.append(self.anna.add(dossier, path).document_id)
        return dossier, ids


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("adversarial")
    with LocalServer(root / "data") as server:
        anna = Client(server.url, str(root / "profile-anna"))
        anna.register("anna", PASSPHRASE)
        bob = Client(server.url, str(root / "profile-bob"))
        bob.register("bob", PASSPHRASE)
        yield World(server, Db(server.data_dir / "kluis.db"), root, anna, bob)


def assert_no_plaintext_left(directory: Path) -> None:
    leftovers = [p.name for p in directory.iterdir() if p.name.startswith(".kluis-")]
    assert leftovers == [], f"temporary plaintext left behind: {leftovers}"


def assert_security_failure(exc: BaseException, *words: str) -> None:
    assert isinstance(exc, SecurityError), f"expected a security failure, got {exc!r}"
    for word in words:
        assert word in str(exc).lower(), f"{word!r} not in {exc}"
