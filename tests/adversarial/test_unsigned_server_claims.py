"""Decisions the client takes on the server's word: each must rest on something signed.

The rest of this suite checks that forged *data* is refused when it is read. These tests look
at the places where the client *acts* (signs the dossier index, wraps a new dossier key,
writes a new version, keeps a session) and check that the malicious server cannot steer that
action with a field nobody signed: the `rights` column of a grant row, a grant row whose
signature was never checked, a revoke it pretends to carry out, a version it hides, the owner
of a dossier, a login answer the client refused.

Self-contained (its own server and people) so it does not depend on the shared harness.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import blake3
import httpx
import pytest

from client_sdk import Client
from client_sdk.localserver import LocalServer
from vault.grant import Grant, GrantKind, Rights, _grant_from_parts, make_dossier_grant
from vault.header import new_file_key, seal_header
from vault.index import DossierIndex, seal_index
from vault.keys import PrivateIdentity
from vault.metadata import DocumentMetadata, DossierMetadata
from vault.payload import age_file_key, encrypt_payload_bytes

PASSPHRASE = "unsigned claims passphrase"
KLUIS = str(Path(sys.executable).with_name("kluis"))


class Db:
    def __init__(self, path: Path) -> None:
        self.path = path

    def rows(self, sql: str, *args: Any) -> list[sqlite3.Row]:
        with closing(sqlite3.connect(self.path, timeout=30)) as conn:
            conn.row_factory = sqlite3.Row
            return list(conn.execute(sql, args))

    def value(self, sql: str, *args: Any) -> Any:
        [row] = self.rows(sql, *args)
        return row[0]

    def execute(self, sql: str, *args: Any) -> int:
        with closing(sqlite3.connect(self.path, timeout=30)) as conn, conn:
            return conn.execute(sql, args).rowcount

    def insert(self, table: str, row: dict[str, Any]) -> None:
        names = ", ".join(f'"{c}"' for c in row)
        marks = ", ".join("?" for _ in row)
        self.execute(f"INSERT INTO {table} ({names}) VALUES ({marks})", *row.values())  # noqa: S608


@dataclass
class User:
    name: str
    profile: Path
    client: Client
    server: LocalServer

    @property
    def user_id(self) -> str:
        return self.client.my_id

    @property
    def keys(self) -> PrivateIdentity:
        return self.client.me

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {
            **os.environ,
            "KLUIS_SERVER": self.server.url,
            "KLUIS_PROFILE": str(self.profile),
            "KLUIS_PASSPHRASE": PASSPHRASE,
            "COLUMNS": "200",
        }
        return subprocess.run(
            [KLUIS, *args],
            capture_output=True,
            text=True,
            env=env,
            stdin=subprocess.DEVNULL,
            timeout=120,
            check=False,
        )


@dataclass
class Stage:
    server: LocalServer
    db: Db
    root: Path
    anna: User  # owner
    bob: User  # read-only contractor
    mallory: User  # the operator's own account
    counter: int = 0

    def user(self, prefix: str) -> User:
        self.counter += 1
        name = f"{prefix}-{self.counter}"
        profile = self.root / f"profile-{name}"
        client = Client(self.server.url, str(profile))
        client.register(name, PASSPHRASE)
        return User(name, profile, client, self.server)

    def file(self, name: str, content: bytes) -> Path:
        self.counter += 1
        folder = self.root / "src" / str(self.counter)
        folder.mkdir(parents=True)
        (folder / name).write_bytes(content)
        return folder / name

    def out(self) -> Path:
        self.counter += 1
        folder = self.root / "out" / str(self.counter)
        folder.mkdir(parents=True)
        return folder

    def dossier(self, *files: tuple[str, bytes]) -> tuple[str, list[str]]:
        dossier = self.anna.client.create_dossier("Schade Dorpsstraat 3")
        docs = [self.anna.client.add(dossier, self.file(n, c)).document_id for n, c in files]
        return dossier, docs

    def indexed(self, dossier: str) -> set[str]:
        data = self.db.value('SELECT "index" FROM dossiers WHERE dossier_id = ?', dossier)
        return {e.document_id.hex() for e in DossierIndex.decode(data).entries}

    def plant(self, dossier: str, author: User, *, epoch: int = 1) -> str:
        """`author` seals and signs a new document with a dossier key it holds (as the vault
        does), and the operator commits it by inserting the rows and the blob, as it may."""
        key = author.client.load_dossier(dossier).keys[epoch]
        return self.inject(dossier, author.keys, key, epoch)

    def inject(self, dossier: str, author: PrivateIdentity, dossier_key: bytes, epoch: int) -> str:
        document_id = os.urandom(16).hex()
        file_key = new_file_key()
        content = b"transfer everything to the operator"
        payload = encrypt_payload_bytes(content, age_file_key(file_key))
        now = int(time.time())
        header = seal_header(
            author,
            dossier_id=bytes.fromhex(dossier),
            document_id=bytes.fromhex(document_id),
            version=1,
            epoch=epoch,
            dossier_key=dossier_key,
            file_key=file_key,
            payload_size=len(payload),
            payload_hash=blake3.blake3(payload).digest(),
            metadata=DocumentMetadata(
                name="betaal-mij.pdf",
                media_type="application/pdf",
                title="",
                size=len(content),
                modified=now,
                created=now,
            ),
            created_at=now,
        )
        blob_key = os.urandom(16).hex()
        blob = self.server.blob_dir / blob_key[:2] / blob_key
        blob.parent.mkdir(parents=True, exist_ok=True)
        blob.write_bytes(payload)
        author_id = author.user_id.hex()
        self.db.insert(
            "documents",
            {
                "document_id": document_id,
                "dossier_id": dossier,
                "created_by": author_id,
                "created_at": now,
            },
        )
        self.db.insert(
            "versions",
            {
                "document_id": document_id,
                "version": 1,
                "dossier_id": dossier,
                "header": header,
                "blob_key": blob_key,
                "payload_size": len(payload),
                "payload_blake3": blake3.blake3(payload).hexdigest(),
                "author_id": author_id,
                "created_at": now,
            },
        )
        return document_id


@pytest.fixture(scope="module")
def stage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stage]:
    root = tmp_path_factory.mktemp("unsigned-claims")
    with LocalServer(root / "data") as server:
        people = []
        for name in ("anna", "bob", "mallory"):
            client = Client(server.url, str(root / f"profile-{name}"))
            client.register(name, PASSPHRASE)
            people.append(User(name, root / f"profile-{name}", client, server))
        yield Stage(server, Db(server.db_path), root, *people)


def forged_grant(
    signer: PrivateIdentity, recipient: User, dossier: str, *, rights: Rights = Rights.WRITE
) -> bytes:
    """A dossier grant naming `signer` as granter; the sealed key and commitment are junk."""
    return _grant_from_parts(
        signer,
        recipient.keys.public,
        grant_id=os.urandom(16),
        kind=GrantKind.DOSSIER,
        dossier_id=bytes.fromhex(dossier),
        document_id=bytes(16),
        number=1,
        rights=rights,
        issued_at=int(time.time()),
        expires_at=0,
        counter=50,
        key_commitment=os.urandom(32),
        sealed_key=os.urandom(80),
    )


def file_grant_row(stage: Stage, dossier: str, grant: bytes, granter_id: str) -> None:
    g = Grant.decode(grant)
    stage.db.insert(
        "grants",
        {
            "grant_id": g.grant_id.hex(),
            "kind": int(g.kind),
            "document_id": None,
            "number": g.number,
            "recipient_id": g.recipient_id.hex(),
            "rights": int(g.rights),
            "expires_at": g.expires_at,
            "dossier_id": dossier,
            "granter_id": granter_id,
            "grant": grant,
            "created_at": int(time.time()),
        },
    )


def anna_impostor(stage: Stage) -> PrivateIdentity:
    """anna's user id and name with keys the operator made: a signature anna never made."""
    return PrivateIdentity.generate(bytes.fromhex(stage.anna.user_id), stage.anna.name)


def grants_to(stage: Stage, dossier: str, user: User) -> list[Grant]:
    rows = stage.db.rows(
        'SELECT "grant" FROM grants WHERE dossier_id = ? AND recipient_id = ?',
        dossier,
        user.user_id,
    )
    return [Grant.decode(r[0]) for r in rows]


# -- the owner adopts versions into her signed index: only from people she let write -----------
def test_owner_does_not_adopt_a_readers_version_because_the_rights_column_says_write(
    stage: Stage,
) -> None:
    """K4/K5. anna shares read-only with bob; her signed grant says READ. The operator flips
    the unsigned `rights` column of bob's row to 2 and bob (its accomplice, holding the dossier
    key) plants a document. anna's listing must not sign it into her index."""
    dossier, _ = stage.dossier(("rapport.pdf", b"the real report"))
    stage.anna.client.share(dossier, stage.bob.name)
    planted = stage.plant(dossier, stage.bob)
    stage.db.execute(
        "UPDATE grants SET rights = 2 WHERE dossier_id = ? AND recipient_id = ?",
        dossier,
        stage.bob.user_id,
    )
    assert [g.rights for g in grants_to(stage, dossier, stage.bob)] == [Rights.READ]
    listing = {d.document_id: d for d in stage.anna.client.documents(dossier)}
    assert listing[planted].author == stage.bob.name  # attributed to its verified signer
    assert planted not in stage.indexed(dossier), (
        "anna's client signed bob's planted document into her dossier index: it took bob's "
        "write right from the unsigned `rights` column, not from the grant anna signed"
    )
    assert not listing[planted].confirmed


def test_owner_does_not_adopt_a_version_on_a_forged_write_grant(stage: Stage) -> None:
    """K5. The operator files a WRITE grant to bob that names anna as granter but carries a
    signature anna never made. anna's client must not count bob as a writer because of it."""
    dossier, _ = stage.dossier(("rapport.pdf", b"the real report"))
    stage.anna.client.share(dossier, stage.bob.name)  # read only
    planted = stage.plant(dossier, stage.bob)
    forged = forged_grant(anna_impostor(stage), stage.bob, dossier)
    file_grant_row(stage, dossier, forged, stage.anna.user_id)
    stage.anna.client.documents(dossier)
    assert planted not in stage.indexed(dossier), (
        "anna's client signed a planted document into her index on the strength of a grant "
        "row whose signature it never verified"
    )


# -- revocation: the new epoch key goes only to people anna really shares with ---------------
def test_revoke_does_not_wrap_the_new_key_for_a_grantee_the_server_made_up(stage: Stage) -> None:
    """S18/K5. The operator files a grant to its own account (mallory) naming anna as granter,
    signed with keys that are not anna's. When anna next revokes someone, the rotation must
    not give mallory the new dossier key: otherwise the server's own account reads every
    document written afterwards."""
    carol = stage.user("carol")
    dossier, _ = stage.dossier(("voor.txt", b"before the revoke"))
    stage.anna.client.share(dossier, carol.name)
    file_grant_row(
        stage,
        dossier,
        forged_grant(anna_impostor(stage), stage.mallory, dossier),
        stage.anna.user_id,
    )
    epoch = stage.anna.client.revoke(dossier, carol.name)
    assert epoch == 2
    anna_key = stage.anna.keys.public.key_id
    real = [
        g.number for g in grants_to(stage, dossier, stage.mallory) if g.granter_key_id == anna_key
    ]
    # The operator removes its forged row again; mallory keeps whatever anna really signed.
    stage.db.execute(
        "DELETE FROM grants WHERE dossier_id = ? AND recipient_id = ? AND granter_id = ? AND "
        "number = 1",
        dossier,
        stage.mallory.user_id,
        stage.anna.user_id,
    )
    later = stage.anna.client.add(dossier, stage.file("na.txt", b"written after the revoke"))
    try:
        stage.mallory.client.get(later.document_id, stage.out() / "na.txt")
        readable = True
    except Exception:
        readable = False
    assert real == [], (
        f"anna's rotation wrapped epoch(s) {real} for mallory (the server's own account) "
        "because of a grant row whose signature it never verified"
        + ("; mallory reads documents added after the revoke" if readable else "")
    )
    assert not readable


def test_a_server_that_ignores_the_revoke_does_not_get_the_new_key_to_the_revoked_user(
    stage: Stage,
) -> None:
    """S18. The server answers anna's DELETE of carol's grants with 204 but keeps them. The
    rotation that follows must still leave carol out: the new epoch key is never wrapped for
    her, so she cannot read documents added after the revoke."""
    carol = stage.user("carol")
    dossier, _ = stage.dossier(("voor.txt", b"before the revoke"))
    stage.anna.client.share(dossier, carol.name)

    def pretend(request: httpx.Request) -> httpx.Response | None:
        if request.method == "DELETE" and request.url.path.endswith("/grants"):
            return httpx.Response(204)  # "done", and nothing was deleted
        return None

    proxy = _Proxy(pretend)
    owner = Client(stage.server.url, str(stage.anna.profile), transport=proxy)
    with owner:
        owner.revoke(dossier, carol.name)
    epochs = sorted(g.number for g in grants_to(stage, dossier, carol))
    later = stage.anna.client.add(dossier, stage.file("na.txt", b"written after the revoke"))
    out = stage.out()
    try:
        carol.client.get(later.document_id, out / "na.txt")
        read = True
    except Exception:
        read = False
    assert epochs == [1], (
        f"the revoked user holds grants for epochs {epochs}: the rotation wrapped the new key "
        "for everyone the server still listed, the user being revoked included"
        + ("; she reads a document added after the revoke" if read else "")
    )
    assert not read


class _Proxy(httpx.BaseTransport):
    def __init__(self, intercept: Any) -> None:
        self.intercept = intercept
        self.inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        answer = self.intercept(request)
        return answer if answer is not None else self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def test_a_revoked_writer_cannot_write_again_with_the_grant_rows_given_back(stage: Stage) -> None:
    """S18. anna gives carol write access, then revokes it (epoch 2). The operator copies
    carol's old rows back: an epoch-1 WRITE grant that anna really signed. carol writes a new
    document with the epoch-1 key. anna's client must not sign it into her index: a write
    grant for a key epoch that revocation ended gives no right to write now."""
    carol = stage.user("carol")
    dossier, _ = stage.dossier(("voor.txt", b"before the revoke"))
    stage.anna.client.share(dossier, carol.name, write=True)
    old_key = carol.client.load_dossier(dossier).keys[1]
    rows = [
        dict(r)
        for r in stage.db.rows(
            "SELECT * FROM grants WHERE dossier_id = ? AND recipient_id = ?", dossier, carol.user_id
        )
    ]
    stage.anna.client.revoke(dossier, carol.name)
    for row in rows:
        stage.db.insert("grants", row)
    planted = stage.inject(dossier, carol.keys, old_key, 1)
    listing = {d.document_id: d for d in stage.anna.client.documents(dossier)}
    assert listing[planted].author == carol.name
    assert planted not in stage.indexed(dossier), (
        "anna's client signed a document written after the revoke by the revoked writer into "
        "her index: her old (epoch 1) write grant, re-added by the server, still counted"
    )


# -- D12: writing a new version on top of a version the server hides ---------------------------
def test_update_on_top_of_a_hidden_version_is_refused(stage: Stage) -> None:
    """D12. anna has seen version 2 of a document; the server deletes it, so version 1 looks
    latest. `kluis update` must refuse (the owner's signed index and this device both know
    version 2), not write a new "version 2" over the one the server hid."""
    _, [doc] = stage.dossier(("rapport.pdf", b"version 1"))
    stage.anna.client.update(doc, stage.file("rapport.pdf", b"version 2"))
    stage.db.execute("DELETE FROM versions WHERE document_id = ? AND version = 2", doc)
    result = stage.anna.cli("update", doc, str(stage.file("rapport.pdf", b"version 3")))
    assert result.returncode == 3, (
        f"exit {result.returncode}: the client wrote a new version on top of a rolled-back "
        f"document\nstdout: {result.stdout}\nstderr: {result.stderr}"
    )
    committed = stage.db.value("SELECT count(*) FROM versions WHERE document_id = ?", doc)
    assert committed == 1, (
        "the client uploaded and committed a new version 2 over the hidden one before it "
        f"noticed anything ({result.stderr.strip()})"
    )
    assert "RollbackError" in result.stderr, result.stderr


# -- K1: a refused login leaves no session --------------------------------------------------------
def test_a_login_refused_for_a_rewritten_identity_leaves_no_session(stage: Stage) -> None:
    """K1. The server publishes other keys for carol. Logging in on a new device fails with
    exit 3, and the device must not be logged in afterwards (no unlocked keys in its profile)."""
    carol = stage.user("carol")
    forged = PrivateIdentity.generate(bytes.fromhex(carol.user_id), carol.name).public
    stage.db.execute(
        "UPDATE users SET identity = ? WHERE user_id = ?", forged.encode(), carol.user_id
    )
    laptop = User(carol.name, stage.root / f"laptop-{carol.name}", carol.client, stage.server)
    login = laptop.cli("login", carol.name)
    assert login.returncode == 3, login.stderr
    assert "KeyMismatchError" in login.stderr
    whoami = laptop.cli("whoami")
    assert whoami.returncode == 1 and "not logged in" in whoami.stderr, (
        "after a login refused for substituted keys, the device is logged in anyway (the "
        f"session and unlocked keys were saved before the check): {whoami.stdout!r}"
    )
    assert not (laptop.profile / "session.json").exists()


# -- K3: nothing to share is not a successful share ----------------------------------------------
def test_a_share_with_every_key_withheld_is_not_reported_as_done(stage: Stage) -> None:
    """K3. The server withholds all of anna's own grants for her dossier (says no key exists).
    The client must not invent a key, and must not tell anna the share succeeded either: it
    wrapped nothing, so bob got nothing."""
    dossier, _ = stage.dossier(("a.txt", b"a"))
    stage.db.execute("DELETE FROM grants WHERE dossier_id = ?", dossier)
    result = stage.anna.cli("share", dossier, stage.bob.name)
    assert stage.db.value("SELECT count(*) FROM grants WHERE dossier_id = ?", dossier) == 0
    assert result.returncode == 3, (
        f"exit {result.returncode}: a share of zero keys was reported as done: {result.stdout}"
    )
    assert "KeyMismatchError" in result.stderr


# -- K4: the owner of a dossier this device has seen cannot be replaced --------------------------
def test_the_owner_of_a_dossier_cannot_be_swapped_after_it_was_seen(stage: Stage) -> None:
    """K4/D7. bob has opened anna's dossier. The operator replaces it, under the same id, by
    one its own account (mallory) owns: mallory's signed index, mallory's grant to bob. bob's
    device must notice that the dossier anna shared now has another owner."""
    dossier, _ = stage.dossier(("rapport.pdf", b"the real report"))
    stage.anna.client.share(dossier, stage.bob.name)
    assert [d.name for d in stage.bob.client.documents(dossier)] == ["rapport.pdf"]
    seen = stage.db.value("SELECT index_counter FROM dossiers WHERE dossier_id = ?", dossier)
    key = os.urandom(32)
    did = bytes.fromhex(dossier)
    mallory = stage.mallory.keys
    index = seal_index(
        mallory,
        dossier_id=did,
        counter=seen + 1,
        epoch=1,
        dossier_key=key,
        metadata=DossierMetadata(title="Schade Dorpsstraat 3", created=int(time.time())),
        entries=(),
    )
    grant = make_dossier_grant(
        mallory,
        stage.bob.keys.public,
        dossier_id=did,
        epoch=1,
        dossier_key=key,
        rights=Rights.READ,
        counter=1,
        issued_at=int(time.time()),
    )
    stage.db.execute("DELETE FROM grants WHERE dossier_id = ?", dossier)
    stage.db.execute("DELETE FROM versions WHERE dossier_id = ?", dossier)
    stage.db.execute("DELETE FROM documents WHERE dossier_id = ?", dossier)
    stage.db.execute(
        'UPDATE dossiers SET owner_id = ?, "index" = ?, index_counter = ? WHERE dossier_id = ?',
        stage.mallory.user_id,
        index,
        seen + 1,
        dossier,
    )
    file_grant_row(stage, dossier, grant, stage.mallory.user_id)
    result = stage.bob.cli("ls", dossier)
    assert result.returncode == 3, (
        "bob's device accepted a new owner (the server's own account) for a dossier it had "
        f"already opened as anna's:\n{result.stdout}{result.stderr}"
    )
