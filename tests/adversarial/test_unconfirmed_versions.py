"""K4, K5, S18: a version written by someone who may not write is never served as the owner's.

A valid signature on a version says who wrote it, not that they were allowed to. A read-only
grantee, or a reader whose access was revoked (with the dossier key of the epoch they still
hold), signs a version of the owner's document with their own key, and the operator inserts it
as rows and a blob (`forge_version`). The owner, who sees every grant, adopts into her signed
index only versions by writers her own grants allow for the epoch the version names; everyone
else opens by default only the latest version the owner confirms (her index lists it, or she
signed it herself), and an unconfirmed one only when asked for it by number or with
`--unconfirmed`, labelled as such. What the forger wrote is never written to a file, exported,
or wrapped for anybody else by default.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from client_sdk import Client
from client_sdk.errors import UnconfirmedVersionError
from vault.grant import Grant, make_dossier_grant
from vault.header import DocumentHeader
from vault.kinds import GrantKind, Rights

from .harness import (
    EXIT_USER_ERROR,
    Person,
    World,
    assert_no_partial_files,
    forge_version,
    version_blob,
    world,
)

__all__ = ["world"]

REAL = b"anna's damage report, version 1: cracks in the rear wall since the piling works"
FORGED = b"the cracks were there before the works began (this text is not anna's)"
WRITER = b"erik's measurements, version 2: cracks 4 mm wide"


@dataclass
class Cast:
    """Residents besides the world's: carol reads anna's dossiers, dave is shared single
    documents, erik writes."""

    carol: Person
    dave: Person
    erik: Person


@pytest.fixture(scope="module")
def cast(world: World) -> Iterator[Cast]:
    people = Cast(world.person("carol"), world.person("dave"), world.person("erik"))
    yield people
    for person in (people.carol, people.dave, people.erik):
        if person._client is not None:
            person._client.close()


def forge(
    w: World,
    author: Person,
    dossier: str,
    doc: str,
    version: int,
    *,
    epoch: int = 1,
    key: bytes | None = None,
) -> None:
    """`author` signs `version` of `doc` with the dossier key of `epoch` it holds (or `key`, one
    it kept), and the operator inserts it."""
    forge_version(
        w,
        author.keys,
        dossier_id=dossier,
        document_id=doc,
        version=version,
        epoch=epoch,
        dossier_key=key or author.client.load_dossier(dossier).keys[epoch],
        content=FORGED,
        name="rapport.pdf",
    )


def readers_forgery(w: World, cast: Cast) -> tuple[str, str]:
    """anna's report (version 1), shared read-only with bob and carol; bob signs a version 2
    and the operator inserts it."""
    dossier, [doc] = w.dossier_with(("rapport.pdf", REAL))
    w.anna.client.share(dossier, w.bob.name)
    w.anna.client.share(dossier, cast.carol.name)
    forge(w, w.bob, dossier, doc, 2)
    assert w.db.indexed(dossier) == {doc: 1}
    return dossier, doc


def nothing_forged_written(directory: Path) -> None:
    """No file anywhere under `directory` holds the forger's text, nor a temporary file."""
    for path in directory.rglob("*"):
        if path.is_file():
            assert FORGED not in path.read_bytes(), f"{path} holds the forged version's text"
    if directory.exists():
        assert_no_partial_files(directory)


def refused_as_unconfirmed(result: subprocess.CompletedProcess[str], out: Path) -> None:
    """Exit 1 (no proof of an attack: a writer's version may await the owner), a message that
    says how to open it anyway, and no file."""
    assert result.returncode == EXIT_USER_ERROR, (result.returncode, result.stdout, result.stderr)
    assert "--unconfirmed" in result.stderr, result.stderr
    assert "SECURITY CHECK FAILED" not in result.stderr
    assert not out.exists(), f"{out} was written"
    assert_no_partial_files(out.parent)


# -- a reader's version of the owner's document ------------------------------------------------
def test_k4_a_readers_version_is_not_opened_as_the_latest(
    world: World, cast: Cast, tmp_path: Path
) -> None:
    _, doc = readers_forgery(world, cast)
    out = tmp_path / "rapport.pdf"
    result = cast.carol.run_cli("get", doc, "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert out.read_bytes() == REAL, "carol was given bob's version as anna's document"
    assert "version 1, by anna" in result.stdout
    assert "version 2" in result.stderr and "unconfirmed" in result.stderr.lower()
    nothing_forged_written(tmp_path)
    # The SDK: the latest confirmed version, and the newer unconfirmed one named.
    info, path = cast.carol.client.get(doc, tmp_path / "sdk.pdf")
    assert (info.version, info.author, info.confirmed) == (1, "anna", True)
    assert (info.unconfirmed_version, info.unconfirmed_author) == (2, "bob")
    assert path.read_bytes() == REAL
    # Nothing unconfirmed is remembered as seen.
    assert cast.carol.client.profile.versions_seen()[doc] == 1


def test_k4_a_readers_version_asked_for_by_number_needs_unconfirmed_and_is_labelled(
    world: World, cast: Cast, tmp_path: Path
) -> None:
    _, doc = readers_forgery(world, cast)
    out = tmp_path / "v2.pdf"
    refused_as_unconfirmed(cast.carol.run_cli("get", doc, "--version", "2", "-o", str(out)), out)
    nothing_forged_written(tmp_path)

    result = cast.carol.run_cli("get", doc, "--version", "2", "--unconfirmed", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert out.read_bytes() == FORGED  # asked for explicitly: given, and labelled
    assert "by bob" in result.stdout and "UNCONFIRMED" in result.stdout
    assert "version 2, by bob, signature verified)" not in result.stdout
    with pytest.raises(UnconfirmedVersionError, match="unconfirmed"):
        cast.carol.client.get(doc, tmp_path / "sdk.pdf", version=2)
    info, _ = cast.carol.client.get(doc, tmp_path / "sdk.pdf", version=2, unconfirmed=True)
    assert (info.version, info.author, info.confirmed) == (2, "bob", False)
    # Opening it on request does not make it the version this device has seen.
    assert doc not in cast.carol.client.profile.versions_seen()


def test_s18_a_revoked_readers_version_with_the_old_epoch_key_is_not_opened(
    world: World, cast: Cast, tmp_path: Path
) -> None:
    """bob keeps the epoch-1 key after anna revokes him, and writes version 2 with it."""
    dossier, [doc] = world.dossier_with(("rapport.pdf", REAL))
    world.anna.client.share(dossier, world.bob.name)
    world.anna.client.share(dossier, cast.carol.name)
    old_key = world.bob.client.load_dossier(dossier).keys[1]
    assert world.anna.client.revoke(dossier, world.bob.name) == 2
    forge(world, world.bob, dossier, doc, 2, epoch=1, key=old_key)
    out = tmp_path / "rapport.pdf"
    result = cast.carol.run_cli("get", doc, "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert out.read_bytes() == REAL
    nothing_forged_written(tmp_path)
    listing = json.loads(world.anna.ok("ls", dossier, "--json"))
    assert [(r["version"], r["newer_unconfirmed_version"]) for r in listing] == [(1, 2)]
    assert world.db.indexed(dossier) == {doc: 1}, "anna adopted a revoked reader's version"


def test_k4_the_owner_does_not_adopt_a_readers_version_and_says_why(
    world: World, cast: Cast, tmp_path: Path
) -> None:
    dossier, doc = readers_forgery(world, cast)
    result = world.anna.run_cli("ls", dossier)
    assert result.returncode == 0, result.stderr
    assert world.db.indexed(dossier) == {doc: 1}, "anna signed bob's version into her index"
    said = " ".join((result.stdout + result.stderr).split())
    assert "version 2 by bob" in said and "no write right" in said, said
    [row] = json.loads(world.anna.ok("ls", dossier, "--json"))
    assert (row["version"], row["author"], row["newer_unconfirmed_version"]) == (1, "anna", 2)
    assert "bob holds no write right" in row["not_adopted_because"]
    out = tmp_path / "rapport.pdf"
    fetched = world.anna.run_cli("get", doc, "-o", str(out))
    assert fetched.returncode == 0, fetched.stderr
    assert out.read_bytes() == REAL
    assert "no write right" in fetched.stderr
    nothing_forged_written(tmp_path)


# -- what passes a document on: export and single-document shares ------------------------------
def test_k4_an_export_holds_only_confirmed_versions(
    world: World, cast: Cast, tmp_path: Path
) -> None:
    dossier, doc = readers_forgery(world, cast)
    planted = os.urandom(16).hex()
    forge(world, world.bob, dossier, planted, 1)  # a whole new document by the reader
    out = tmp_path / "export"
    result = cast.carol.run_cli(
        "export", dossier, "-o", str(out), env={"KLUIS_EXPORT_PASSPHRASE": "export passphrase"}
    )
    assert result.returncode == 0, result.stderr
    manifest = json.loads((out / "manifest.json").read_text())["documents"]
    assert [(m["document_id"], m["version"], m["author"]) for m in manifest] == [
        (doc, 1, "anna")
    ], "the export holds a version anna never confirmed"
    exported = (out / "rapport.v1.pdf.age").read_bytes()
    assert exported.endswith(version_blob(world.server, world.db, doc, 1).read_bytes())
    assert sorted(p.name for p in out.iterdir()) == [
        "README.txt",
        "kluis-identity.age",
        "manifest.json",
        "open.sh",
        "rapport.v1.pdf.age",
    ]
    assert "Left out 1 unconfirmed document" in result.stderr


def test_k4_a_single_document_share_wraps_only_confirmed_versions(
    world: World, cast: Cast, tmp_path: Path
) -> None:
    dossier, doc = readers_forgery(world, cast)
    result = world.anna.run_cli("share", doc, cast.dave.name)
    assert result.returncode == 0, result.stderr
    numbers = [
        g.number
        for g in world.db.signed_grants(dossier, cast.dave.user_id)
        if g.kind == GrantKind.DOCUMENT
    ]
    assert numbers == [1], "anna wrapped the key of bob's version for dave"
    assert "version 2" in result.stderr
    out = tmp_path / "rapport.pdf"
    fetched = cast.dave.run_cli("get", doc, "-o", str(out))
    assert fetched.returncode == 0, fetched.stderr
    assert out.read_bytes() == REAL
    nothing_forged_written(tmp_path)


# -- documents and older versions that only a non-owner signed -----------------------------------
def test_k4_a_document_with_only_unconfirmed_versions_is_opened_only_when_asked(
    world: World, cast: Cast, tmp_path: Path
) -> None:
    dossier, _ = readers_forgery(world, cast)
    planted = os.urandom(16).hex()
    forge(world, world.bob, dossier, planted, 1)
    rows = {r["id"]: r for r in json.loads(cast.carol.ok("ls", dossier, "--json"))}
    assert (rows[planted]["author"], rows[planted]["confirmed_by_owner"]) == ("bob", False)
    listed = cast.carol.ok("ls", dossier)
    [line] = [ln for ln in listed.splitlines() if ln.startswith(planted[:12])]
    assert "UNCONFIRMED" in line
    out = tmp_path / "planted.pdf"
    refused_as_unconfirmed(cast.carol.run_cli("get", planted, "-o", str(out)), out)
    nothing_forged_written(tmp_path)
    result = cast.carol.run_cli("get", planted, "--unconfirmed", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert "UNCONFIRMED" in result.stdout and out.read_bytes() == FORGED
    assert planted not in world.db.indexed(dossier)


def test_k4_an_older_version_replaced_by_a_readers_is_not_opened_by_number(
    world: World, cast: Cast, tmp_path: Path
) -> None:
    """anna's index lists only her latest version (2); the operator replaces her version 1 with
    one bob signed. Asked for version 1, carol gets nothing unless she asks for it unconfirmed."""
    dossier, [doc] = world.dossier_with(("rapport.pdf", REAL))
    world.anna.client.update(doc, world.file("rapport.pdf", b"anna's version 2"))
    world.anna.client.share(dossier, world.bob.name)
    world.anna.client.share(dossier, cast.carol.name)
    world.db.execute("DELETE FROM versions WHERE document_id = ? AND version = 1", doc)
    forge(world, world.bob, dossier, doc, 1)
    out = tmp_path / "v1.pdf"
    refused_as_unconfirmed(cast.carol.run_cli("get", doc, "--version", "1", "-o", str(out)), out)
    nothing_forged_written(tmp_path)
    latest = tmp_path / "latest.pdf"
    assert cast.carol.run_cli("get", doc, "-o", str(latest)).returncode == 0
    assert latest.read_bytes() == b"anna's version 2"


# -- the owner's adoption: which writers, which epoch, until when ---------------------------------
def test_k5_a_writers_version_is_adopted_by_the_owner_and_then_opened_by_readers(
    world: World, cast: Cast, tmp_path: Path
) -> None:
    dossier, [doc] = world.dossier_with(("rapport.pdf", REAL))
    world.anna.client.share(dossier, cast.erik.name, write=True)
    world.anna.client.share(dossier, cast.carol.name)
    updated = cast.erik.run_cli("update", doc, str(world.file("rapport.pdf", WRITER)))
    assert updated.returncode == 0, updated.stderr
    out = tmp_path / "rapport.pdf"
    # Not yet adopted: carol opens anna's version and is told a newer one awaits the owner.
    before = cast.carol.run_cli("get", doc, "-o", str(out))
    assert before.returncode == 0, before.stderr
    assert out.read_bytes() == REAL and "version 2" in before.stderr
    listed = json.loads(world.anna.ok("ls", dossier, "--json"))
    assert [(r["version"], r["author"], r["confirmed_by_owner"]) for r in listed] == [
        (2, "erik", True)
    ]
    assert world.db.indexed(dossier) == {doc: 2}
    after = cast.carol.run_cli("get", doc, "-o", str(out), "--force")
    assert after.returncode == 0, after.stderr
    assert out.read_bytes() == WRITER and "version 2, by erik" in after.stdout
    assert "unconfirmed" not in (after.stdout + after.stderr).lower()


def test_k5_a_writers_new_document_is_opened_by_readers_only_after_adoption(
    world: World, cast: Cast, tmp_path: Path
) -> None:
    dossier = world.anna.client.create_dossier("Schade Kerkstraat 3")
    world.anna.client.share(dossier, cast.erik.name, write=True)
    world.anna.client.share(dossier, cast.carol.name)
    doc = cast.erik.client.add(dossier, world.file("meting.txt", WRITER)).document_id
    out = tmp_path / "meting.txt"
    refused_as_unconfirmed(cast.carol.run_cli("get", doc, "-o", str(out)), out)
    world.anna.client.sync(dossier)  # the owner adopts it
    assert world.db.indexed(dossier) == {doc: 1}
    assert cast.carol.run_cli("get", doc, "-o", str(out)).returncode == 0
    assert out.read_bytes() == WRITER


def test_issue14_the_owners_reads_write_nothing_and_sync_adopts_what_they_named(
    world: World, cast: Cast, tmp_path: Path
) -> None:
    """Reads don't write: the owner's listing, download and revocation plan name the version
    her grants allow (`adoptable_version`) and sign no index; the named step `sync` adopts
    exactly it, and says so."""
    dossier, [doc] = world.dossier_with(("rapport.pdf", REAL))
    world.anna.client.share(dossier, cast.erik.name, write=True)
    updated = cast.erik.run_cli("update", doc, str(world.file("rapport.pdf", WRITER)))
    assert updated.returncode == 0, updated.stderr
    anna = world.anna.client
    counter = anna.load_dossier(dossier).index.counter
    [row] = anna.documents(dossier)
    assert (row.version, row.unconfirmed_version, row.adoptable_version) == (1, 2, 2)
    assert row.not_adopted_because == ""
    info, path = anna.get(doc, tmp_path / "r.pdf")
    assert (info.version, info.adoptable_version, path.read_bytes()) == (1, 2, REAL)
    assert anna.revocation(dossier, cast.erik.name).dossier_grant is not None
    assert world.db.indexed(dossier) == {doc: 1}, "a read signed erik's version in"
    assert anna.load_dossier(dossier).index.counter == counter, "a read signed a new index"
    synced = anna.sync(dossier)
    assert [(i.document_id, i.version, i.author, i.confirmed) for i in synced.adopted] == [
        (doc, 2, cast.erik.name, True)
    ]
    assert synced.epoch == 0
    assert world.db.indexed(dossier) == {doc: 2}
    assert anna.sync(dossier).adopted == ()  # done: nothing more to adopt
    # The CLI's listing takes the step visibly, as `kluis ls` always adopted.
    forge(world, cast.erik, dossier, doc, 3)
    listed = world.anna.run_cli("ls", dossier)
    assert listed.returncode == 0, listed.stderr
    assert "Adopted version 3 of rapport.pdf" in " ".join(listed.stderr.split())
    assert world.db.indexed(dossier) == {doc: 3}


def owner_signed_write_grant(
    w: World, dossier: str, recipient: Person, epoch: int, *, expires_at: int = 0
) -> None:
    """A write grant for one epoch that anna's own keys sign (as her device would), filed."""
    d = w.anna.client.load_dossier(dossier)
    grant = make_dossier_grant(
        w.anna.keys,
        recipient.keys.public,
        dossier_id=bytes.fromhex(dossier),
        epoch=epoch,
        dossier_key=d.keys[epoch],
        rights=Rights.WRITE,
        counter=1000 + epoch,
        issued_at=int(time.time()) - 7200,
        expires_at=expires_at,
    )
    w.db.insert(
        "grants",
        {
            "grant_id": Grant.decode(grant).grant_id.hex(),
            "kind": int(GrantKind.DOSSIER),
            "document_id": None,
            "number": epoch,
            "recipient_id": recipient.user_id,
            "rights": int(Rights.WRITE),
            "expires_at": expires_at,
            "dossier_id": dossier,
            "granter_id": w.anna.user_id,
            "grant": grant,
            "created_at": int(time.time()),
        },
    )


def test_k5_a_version_naming_an_epoch_its_author_could_only_read_in_is_not_adopted(
    world: World, cast: Cast
) -> None:
    """erik may read in epoch 1 and write only from epoch 2 (anna's signed grants say so). A
    version he signs naming epoch 1 is not one anna's grants let him write."""
    mallory_reads = world.person("mallory-epoch")
    dossier, [doc] = world.dossier_with(("rapport.pdf", REAL))
    world.anna.client.share(dossier, cast.erik.name)
    world.anna.client.share(dossier, mallory_reads.name)
    assert world.anna.client.revoke(dossier, mallory_reads.name) == 2
    owner_signed_write_grant(world, dossier, cast.erik, 2)
    forge(world, cast.erik, dossier, doc, 2, epoch=1)
    assert world.anna.client.sync(dossier).adopted == ()
    [row] = world.anna.client.documents(dossier)
    assert world.db.indexed(dossier) == {doc: 1}, "anna adopted a version of an epoch erik read"
    assert (row.version, row.unconfirmed_version) == (1, 2)
    assert "epoch 1" in row.not_adopted_because
    # The same writer's version naming the epoch his write grant is for is adopted.
    forge(world, cast.erik, dossier, doc, 3, epoch=2)
    world.anna.client.sync(dossier)
    [row] = world.anna.client.documents(dossier)
    assert (row.version, row.author, row.confirmed) == (3, "erik", True)
    assert world.db.indexed(dossier) == {doc: 3}


def test_k5_a_version_by_a_writer_whose_signed_grant_expired_is_not_adopted(
    world: World, cast: Cast
) -> None:
    """frank's write grant, signed by anna, ended an hour ago; the operator inserts a version
    he signed (the server itself would refuse his write)."""
    frank = world.person("frank-expired")
    dossier, [doc] = world.dossier_with(("rapport.pdf", REAL))
    world.anna.client.share(dossier, frank.name)  # read, so frank holds the epoch-1 key
    owner_signed_write_grant(world, dossier, frank, 1, expires_at=int(time.time()) - 3600)
    forge(world, frank, dossier, doc, 2, epoch=1)
    world.anna.client.sync(dossier)
    [row] = world.anna.client.documents(dossier)
    assert world.db.indexed(dossier) == {doc: 1}
    assert (row.version, row.unconfirmed_version, row.unconfirmed_author) == (1, 2, frank.name)
    assert "no write right" in row.not_adopted_because


def test_k4_a_version_the_server_relabels_as_the_owners_is_not_confirmed(
    world: World, cast: Cast, tmp_path: Path
) -> None:
    """The operator names anna as the author of bob's version 2: the header's signature then
    fails under anna's key, and the listing and get stop (exit 3) instead of picking another."""
    dossier, doc = readers_forgery(world, cast)
    world.db.execute(
        "UPDATE versions SET author_id = ? WHERE document_id = ? AND version = 2",
        world.anna.user_id,
        doc,
    )
    assert DocumentHeader.decode(world.db.header(doc, 2)).author_id.hex() == world.bob.user_id
    out = tmp_path / "rapport.pdf"
    result = cast.carol.run_cli("get", doc, "--version", "2", "--unconfirmed", "-o", str(out))
    assert result.returncode == 3, result.stderr
    assert not out.exists()
    assert cast.carol.run_cli("ls", dossier).returncode == 3


def test_a_new_device_of_a_reader_opens_only_confirmed_versions_too(
    world: World, cast: Cast, tmp_path: Path
) -> None:
    """Nothing here depends on what a device saw before: a fresh profile of carol's, logging
    in after the forgery, opens anna's version."""
    _, doc = readers_forgery(world, cast)
    laptop = world.person(cast.carol.name, register=False, profile="carol-laptop")
    with Client(world.server.url, str(laptop.profile)) as fresh:
        fresh.login(cast.carol.name, laptop.passphrase)
    out = tmp_path / "rapport.pdf"
    result = laptop.run_cli("get", doc, "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert out.read_bytes() == REAL
