"""A malicious server for tests: rewrite its database rows and blob files, or its answers.

Every adversarial test does a real flow with the real client against a real server process
(`python -m server`, the class behind the `live_server` fixture), then plays the operator who
controls that server, then uses the client again and checks that it fails closed: a security
error (exit status 3 in the CLI) naming what failed, no plaintext output file, and no
`.kluis-*.part` temporary file left behind.

The operator's tools:

- `Db`: the server's SQLite database, read and rewritten directly (as whoever owns the disk can);
- `blob_path` / `version_blob`: the payload files of document versions;
- `RewritingTransport`: a proxy in front of the server that may change any answer, JSON or
  binary, or answer a request itself without passing it on (a DELETE it only pretends to
  carry out), and records every request the client made (to prove what was *not* sent);
- `forge_version`: a document version written with somebody else's keys and inserted as
  rows and a blob, the way an operator with an accomplice account would inject it.

Residents are `Person`s: a profile directory (one device), an SDK `Client` on it, and
`run_cli(...)` for the real `kluis` command line on the same profile.
"""

from __future__ import annotations

import io
import json
import os
import re
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from client_sdk import Client, DocumentInfo
from client_sdk.localserver import LocalServer
from vault.errors import SecurityError
from vault.grant import Grant
from vault.header import new_file_key, seal_header
from vault.index import DossierIndex
from vault.keys import PrivateIdentity
from vault.metadata import DocumentMetadata
from vault.payload import age_file_key, encrypt_payload

PASSPHRASE = "adversarial test passphrase"
KLUIS = str(Path(sys.executable).with_name("kluis"))
EXIT_SECURITY = 3
EXIT_USER_ERROR = 1


# -- the operator's database and blobs -------------------------------------------------------
class Db:
    """Direct access to the server's SQLite database, as an operator who owns it has."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def rows(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        with closing(sqlite3.connect(self.path, timeout=30)) as conn:
            return list(conn.execute(sql, args))

    def dicts(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        with closing(sqlite3.connect(self.path, timeout=30)) as conn:
            conn.row_factory = sqlite3.Row
            return [dict(row) for row in conn.execute(sql, args)]

    def one(self, sql: str, *args: Any) -> Any:
        [row] = self.rows(sql, *args)
        return row[0] if len(row) == 1 else row

    def execute(self, sql: str, *args: Any) -> int:
        with closing(sqlite3.connect(self.path, timeout=30)) as conn, conn:
            return conn.execute(sql, args).rowcount

    def insert(self, table: str, rows: dict[str, Any] | list[dict[str, Any]]) -> None:
        """Insert one row (a dict) or several (a list of dicts) into `table`."""
        for row in [rows] if isinstance(rows, dict) else rows:
            names = ", ".join(f'"{name}"' for name in row)
            marks = ", ".join("?" for _ in row)
            sql = f'INSERT INTO "{table}" ({names}) VALUES ({marks})'  # noqa: S608
            self.execute(sql, *row.values())

    def grants(self, dossier_id: str, recipient_id: str | None = None) -> list[dict[str, Any]]:
        if recipient_id is None:
            return self.dicts("SELECT * FROM grants WHERE dossier_id = ?", dossier_id)
        return self.dicts(
            "SELECT * FROM grants WHERE dossier_id = ? AND recipient_id = ?",
            dossier_id,
            recipient_id,
        )

    def signed_grants(self, dossier_id: str, recipient_id: str) -> list[Grant]:
        """The grants filed for `recipient_id`, as signed (not the row's columns)."""
        return [Grant.decode(row["grant"]) for row in self.grants(dossier_id, recipient_id)]

    def header(self, document_id: str, version: int = 1) -> bytes:
        data: bytes = self.one(
            "SELECT header FROM versions WHERE document_id = ? AND version = ?",
            document_id,
            version,
        )
        return data

    def set_header(self, document_id: str, header: bytes, version: int = 1) -> None:
        self.execute(
            "UPDATE versions SET header = ? WHERE document_id = ? AND version = ?",
            header,
            document_id,
            version,
        )

    def index(self, dossier_id: str) -> bytes:
        data: bytes = self.one('SELECT "index" FROM dossiers WHERE dossier_id = ?', dossier_id)
        return data

    def indexed(self, dossier_id: str) -> dict[str, int]:
        """The documents (and versions) the owner's signed index of the dossier lists."""
        entries = DossierIndex.decode(self.index(dossier_id)).entries
        return {e.document_id.hex(): e.version for e in entries}


def opened(client: Client, dossier_id: str) -> list[DocumentInfo]:
    """List a dossier and sign the receipts it calls for, as `kluis ls` does: the listing
    itself writes nothing (`Client.acknowledge`)."""
    infos = client.documents(dossier_id)
    client.acknowledge(dossier_id, infos)
    return infos


def blob_path(server: LocalServer | Path, blob_key: str) -> Path:
    """Where the server (or a blob directory) keeps the blob with this key (server/blobstore.py)."""
    root = server.blob_dir if isinstance(server, LocalServer) else Path(server)
    return root / blob_key[:2] / blob_key


def version_blob(server: LocalServer, db: Db, document_id: str, version: int = 1) -> Path:
    key = db.one(
        "SELECT blob_key FROM versions WHERE document_id = ? AND version = ?", document_id, version
    )
    return blob_path(server, key)


def stored_bytes(server: LocalServer) -> list[bytes]:
    """Everything the server has on disk: database (with WAL and journal) and every blob."""
    return [p.read_bytes() for p in server.data_dir.rglob("*") if p.is_file()]


# -- the operator's proxy ----------------------------------------------------------------------
Rewrite = Callable[[httpx.Request, httpx.Response], httpx.Response | None]
Answer = Callable[[httpx.Request], httpx.Response | None]


def unchanged(_request: httpx.Request, _response: httpx.Response) -> None:
    return None


def passed_on(_request: httpx.Request) -> None:
    return None


@dataclass
class RewritingTransport(httpx.BaseTransport):
    """A proxy in front of the real server that may change any answer it gives.

    `answer(request)` runs first and may answer in the server's place (the request then never
    reaches it), or return None to pass the request on. `rewrite(request, response)` sees the
    complete answer (already read) and returns a new response, or None to pass it on
    unchanged. `seen` records "METHOD /path" of every request and `bodies` their bodies, so a
    test can show what the client did not send.
    """

    rewrite: Rewrite = unchanged
    answer: Answer = passed_on
    seen: list[str] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    inner: httpx.BaseTransport = field(default_factory=httpx.HTTPTransport)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(f"{request.method} {request.url.path}")
        self.bodies.append(request.read())
        own = self.answer(request)
        if own is not None:
            return own
        response = self.inner.handle_request(request)
        response.read()
        return self.rewrite(request, response) or response

    def close(self) -> None:
        self.inner.close()

    def sent(self, method: str, path_pattern: str) -> list[str]:
        """The requests matching `method` and the regular expression `path_pattern`."""
        return [s for s in self.seen if re.fullmatch(f"{method} {path_pattern}", s)]


def json_answer(response: httpx.Response, body: Any) -> httpx.Response:
    return httpx.Response(
        response.status_code,
        headers={"content-type": "application/json"},
        content=json.dumps(body).encode(),
    )


def binary_answer(response: httpx.Response, content: bytes) -> httpx.Response:
    return httpx.Response(
        response.status_code,
        headers={"content-type": "application/octet-stream"},
        content=content,
    )


def rewrite_json(
    method: str, path_pattern: str, change: Callable[[Any], Any]
) -> Callable[[httpx.Request, httpx.Response], httpx.Response | None]:
    """A rewrite that passes `change(body)` for JSON answers to matching requests."""

    def rewrite(request: httpx.Request, response: httpx.Response) -> httpx.Response | None:
        if request.method == method and re.fullmatch(path_pattern, request.url.path):
            return json_answer(response, change(response.json()))
        return None

    return rewrite


def rewrite_bytes(
    method: str, path_pattern: str, change: Callable[[bytes], bytes]
) -> Callable[[httpx.Request, httpx.Response], httpx.Response | None]:
    """A rewrite that passes `change(body)` for binary answers to matching requests."""

    def rewrite(request: httpx.Request, response: httpx.Response) -> httpx.Response | None:
        if request.method == method and re.fullmatch(path_pattern, request.url.path):
            return binary_answer(response, change(response.content))
        return None

    return rewrite


# -- residents ---------------------------------------------------------------------------------
@dataclass
class Person:
    """One user on one device: a profile directory, an SDK client and the `kluis` CLI on it."""

    name: str
    server: LocalServer
    profile: Path
    passphrase: str = PASSPHRASE
    _client: Client | None = field(default=None, repr=False)

    @property
    def client(self) -> Client:
        if self._client is None:
            self._client = Client(self.server.url, str(self.profile))
        return self._client

    def device(self, transport: httpx.BaseTransport | None = None) -> Client:
        """A new SDK client on this profile, optionally behind a rewriting proxy."""
        return Client(self.server.url, str(self.profile), transport=transport)

    @property
    def user_id(self) -> str:
        return self.client.my_id

    @property
    def keys(self) -> PrivateIdentity:
        return self.client.me

    def register(self) -> Person:
        self.client.register(self.name, self.passphrase)
        return self

    def run_cli(
        self, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        full_env = {
            **os.environ,
            "KLUIS_SERVER": self.server.url,
            "KLUIS_PROFILE": str(self.profile),
            "KLUIS_PASSPHRASE": self.passphrase,
            "COLUMNS": "200",
            **(env or {}),
        }
        return subprocess.run(
            [KLUIS, *args],
            capture_output=True,
            text=True,
            env=full_env,
            stdin=subprocess.DEVNULL,
            timeout=120,
            check=False,
        )

    def ok(self, *args: str) -> str:
        result = self.run_cli(*args)
        assert result.returncode == 0, (args, result.stdout, result.stderr)
        return result.stdout


@dataclass
class World:
    """A server with a resident (anna), a contractor (bob) and the operator's accomplice
    (mallory, an ordinary registered account the operator controls)."""

    server: LocalServer
    db: Db
    root: Path
    anna: Person
    bob: Person
    mallory: Person

    def person(self, name: str, *, register: bool = True, profile: str | None = None) -> Person:
        """Another user (registered now), or another device of a user (`profile`)."""
        person = Person(name, self.server, self.root / f"profile-{profile or name}")
        return person.register() if register else person

    def file(self, name: str, content: bytes) -> Path:
        path = self.root / "src" / os.urandom(4).hex() / name
        path.parent.mkdir(parents=True)
        path.write_bytes(content)
        return path

    def dossier_with(self, *files: tuple[str, bytes]) -> tuple[str, list[str]]:
        """A fresh dossier of anna's holding `files`; returns its id and the document ids."""
        dossier = self.anna.client.create_dossier("Schade Hoofdstraat 12")
        paths = [self.file(name, content) for name, content in files]
        ids = [info.document_id for info in self.anna.client.add_many(dossier, paths)]
        return dossier, ids


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("adversarial")
    with LocalServer(root / "data") as server:
        people = [Person(n, server, root / f"profile-{n}").register() for n in ("anna", "bob")]
        mallory = Person("mallory", server, root / "profile-mallory").register()
        yield World(server, Db(server.db_path), root, *people, mallory)
        for person in (*people, mallory):
            if person._client is not None:
                person._client.close()


# -- what the operator can inject -------------------------------------------------------------
def forge_version(
    w: World,
    author: PrivateIdentity,
    *,
    dossier_id: str,
    document_id: str,
    version: int,
    epoch: int,
    dossier_key: bytes,
    content: bytes = b"injected by the operator",
    name: str = "injected.pdf",
) -> str:
    """Write a version as `author` would (encrypted, signed) and insert it as rows and a blob."""
    file_key = new_file_key()
    payload = io.BytesIO()
    digest = encrypt_payload(io.BytesIO(content), payload, age_file_key(file_key))
    header = seal_header(
        author,
        dossier_id=bytes.fromhex(dossier_id),
        document_id=bytes.fromhex(document_id),
        version=version,
        epoch=epoch,
        dossier_key=dossier_key,
        file_key=file_key,
        payload_size=digest.size,
        payload_hash=digest.blake3,
        metadata=DocumentMetadata(
            name=name,
            media_type="application/pdf",
            title="",
            size=len(content),
            modified=int(time.time()),
            created=int(time.time()),
        ),
        created_at=int(time.time()),
    )
    blob_key = os.urandom(16).hex()
    path = blob_path(w.server, blob_key)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(payload.getvalue())
    now = int(time.time())
    if not w.db.rows("SELECT 1 FROM documents WHERE document_id = ?", document_id):
        w.db.insert(
            "documents",
            {
                "document_id": document_id,
                "dossier_id": dossier_id,
                "created_by": author.user_id.hex(),
                "created_at": now,
            },
        )
    w.db.insert(
        "versions",
        {
            "document_id": document_id,
            "version": version,
            "payload_size": digest.size,
            "payload_blake3": digest.blake3.hex(),
            "dossier_id": dossier_id,
            "header": header,
            "blob_key": blob_key,
            "author_id": author.user_id.hex(),
            "created_at": now,
        },
    )
    return document_id


# -- what failing closed looks like ------------------------------------------------------------
def assert_no_partial_files(directory: Path) -> None:
    leftovers = [p.name for p in directory.iterdir() if p.name.startswith(".kluis-")]
    assert leftovers == [], f"temporary plaintext left behind: {leftovers}"


def assert_fail_closed(
    outcome: subprocess.CompletedProcess[str] | BaseException | pytest.ExceptionInfo[Any],
    check: str,
    *,
    output: Path | None = None,
    error: type[BaseException] = SecurityError,
) -> None:
    """The client refused: exit status 3 (CLI) or a `SecurityError` subclass (SDK) whose
    message matches the regular expression `check` (case-insensitive; the error's class name
    counts as part of the message), and `output`, if given, was not written, nor any
    `.kluis-*.part` file next to it."""
    if isinstance(outcome, pytest.ExceptionInfo):
        outcome = outcome.value
    if isinstance(outcome, subprocess.CompletedProcess):
        assert outcome.returncode == EXIT_SECURITY, (
            f"expected exit status 3, got {outcome.returncode}\n"
            f"stdout: {outcome.stdout}\nstderr: {outcome.stderr}"
        )
        message = outcome.stderr
        assert "SECURITY CHECK FAILED" in message, message
    else:
        assert isinstance(outcome, error), f"expected {error.__name__}, got {outcome!r}"
        message = f"{type(outcome).__name__}: {outcome}"
    assert re.search(check, message, re.IGNORECASE), f"{check!r} not in {message!r}"
    if output is not None:
        assert not output.exists(), f"{output} was written"
        if output.parent.exists():
            assert_no_partial_files(output.parent)
