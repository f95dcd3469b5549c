"""K1-K5: the server substitutes keys, wrapped keys, documents or grants."""

from __future__ import annotations

import os

import pytest

from client_sdk import Client, UnverifiedKeyError
from vault.errors import KeyMismatchError, SecurityError, WrongPassphrase
from vault.grant import Rights, _grant_from_parts
from vault.header import DocumentHeader
from vault.keys import PrivateIdentity
from vault.labels import DOCUMENT_HEADER_SIGNATURE

from .harness import PASSPHRASE, World, assert_no_plaintext_left, world

__all__ = ["world"]


def fresh_user(w: World, name: str) -> Client:
    client = w.client(name)
    client.register(name, PASSPHRASE)
    return client


def test_k1_server_rewrites_my_identity_record(world: World) -> None:
    carol = fresh_user(world, "carol-k1")
    forged = PrivateIdentity.generate(bytes.fromhex(carol.my_id), "carol-k1").public
    world.db.execute("UPDATE users SET identity = ? WHERE username = 'carol-k1'", forged.encode())
    with pytest.raises(KeyMismatchError, match="not yours"):
        world.client("carol-k1-laptop").login("carol-k1", PASSPHRASE)


def test_k1_server_swaps_my_key_bundle_for_another_users(world: World) -> None:
    fresh_user(world, "carol-k1b")
    fresh_user(world, "dave-k1b")
    dave_bundle = world.db.one("SELECT passphrase_bundle FROM users WHERE username = 'dave-k1b'")
    world.db.execute(
        "UPDATE users SET passphrase_bundle = ? WHERE username = 'carol-k1b'", dave_bundle
    )
    with pytest.raises(WrongPassphrase):
        world.client("carol-k1b-laptop").login("carol-k1b", PASSPHRASE)


def test_k2_server_hands_out_its_own_key_for_a_pinned_contact(world: World) -> None:
    erin = fresh_user(world, "erin-k2")
    dossier, _ = world.dossier_with(("brief.txt", b"hello"))
    world.anna.fingerprint("erin-k2")  # pinned on first sight
    forged = PrivateIdentity.generate(bytes.fromhex(erin.my_id), "erin-k2").public
    world.db.execute("UPDATE users SET identity = ? WHERE username = 'erin-k2'", forged.encode())
    result = world.cli("anna").run("share", dossier, "erin-k2")
    assert result.returncode == 3, result.stderr
    assert "keys of 'erin-k2' changed" in result.stderr
    grants = world.db.one(
        "SELECT count(*) FROM grants WHERE recipient_id = ? AND dossier_id = ?",
        erin.my_id,
        dossier,
    )
    assert grants == 0  # nothing was wrapped for the operator's key
    with pytest.raises(UnverifiedKeyError):
        world.anna.share(dossier, "erin-k2")


def test_k3_server_swaps_a_wrapped_key_between_dossiers(world: World) -> None:
    one, _ = world.dossier_with(("a.txt", b"a"))
    two, _ = world.dossier_with(("b.txt", b"b"))
    world.anna.share(one, "bob")
    world.anna.share(two, "bob")
    other = world.db.one(
        'SELECT "grant" FROM grants WHERE dossier_id = ? AND recipient_id = ?', two, world.bob.my_id
    )
    world.db.execute(
        'UPDATE grants SET "grant" = ? WHERE dossier_id = ? AND recipient_id = ?',
        other,
        one,
        world.bob.my_id,
    )
    with pytest.raises(SecurityError, match=r"another|target|dossier"):
        world.bob.documents(one)


def test_k3_server_says_no_key_exists_and_the_client_makes_none(world: World) -> None:
    dossier, _ = world.dossier_with(("a.txt", b"a"))
    world.db.execute("DELETE FROM grants WHERE dossier_id = ?", dossier)
    path = world.root / "src" / "new.txt"
    path.write_text("new")
    with pytest.raises(KeyMismatchError, match="current key"):
        world.anna.add(dossier, path)
    assert world.db.one("SELECT count(*) FROM grants WHERE dossier_id = ?", dossier) == 0
    assert world.db.one("SELECT count(*) FROM versions WHERE dossier_id = ?", dossier) == 1


def test_k4_a_version_re_signed_by_someone_else_is_refused(world: World) -> None:
    dossier, [doc] = world.dossier_with(("rapport.pdf", b"the real report"))
    header = DocumentHeader.decode(
        world.db.one("SELECT header FROM versions WHERE document_id = ?", doc)
    )
    bob = world.bob.me
    forged = DocumentHeader(
        **{
            **header.__dict__,
            "author_id": bob.user_id,
            "author_key_id": bob.public.key_id,
            "signature": b"",
        }
    )
    signed = forged.body() + bob.sign(DOCUMENT_HEADER_SIGNATURE, forged.body())
    world.db.execute(
        "UPDATE versions SET header = ?, author_id = ? WHERE document_id = ?",
        signed,
        bob.user_id.hex(),
        doc,
    )
    out = world.root / "k4"
    out.mkdir()
    for args in (("ls", dossier), ("get", doc, "-o", str(out / "r.pdf"))):
        result = world.cli("anna").run(*args)
        assert result.returncode == 3, result.stderr
        assert "header differs" in result.stderr
    assert not (out / "r.pdf").exists()
    assert_no_plaintext_left(out)


def test_k4_a_version_whose_author_field_was_changed_is_refused(world: World) -> None:
    dossier, [doc] = world.dossier_with(("foto.jpg", os.urandom(1000)))
    world.db.execute(
        "UPDATE versions SET author_id = ? WHERE document_id = ?", world.bob.my_id, doc
    )
    result = world.cli("anna").run("ls", dossier)
    assert result.returncode == 3
    assert "author" in result.stderr


def test_k5_a_grant_claiming_to_come_from_the_owner_but_signed_by_another(world: World) -> None:
    dossier, _ = world.dossier_with(("a.txt", b"a"))
    mallory = PrivateIdentity.generate(bytes.fromhex(world.anna.my_id), "anna")  # not anna's keys
    forged = _grant_from_parts(
        mallory,
        world.bob.me.public,
        grant_id=os.urandom(16),
        kind=1,  # type: ignore[arg-type]
        dossier_id=bytes.fromhex(dossier),
        document_id=bytes(16),
        number=1,
        rights=Rights.READ,
        issued_at=1,
        expires_at=0,
        counter=99,
        key_commitment=bytes(32),
        sealed_key=bytes(80),
    )
    world.db.execute(
        "INSERT INTO grants (grant_id, kind, document_id, number, recipient_id, rights, "
        'expires_at, dossier_id, granter_id, "grant", created_at) '
        "VALUES (?, 1, NULL, 1, ?, 1, 0, ?, ?, ?, 1)",
        os.urandom(16).hex(),
        world.bob.my_id,
        dossier,
        world.anna.my_id,
        forged,
    )
    with pytest.raises(KeyMismatchError, match="granter"):
        world.bob.documents(dossier)


def test_k4_a_header_swapped_after_the_device_cached_it_is_still_refused(world: World) -> None:
    dossier, [doc] = world.dossier_with(("rapport.pdf", b"the real report"))
    assert [d.name for d in world.anna.documents(dossier)] == ["rapport.pdf"]  # now cached
    header = DocumentHeader.decode(
        world.db.one("SELECT header FROM versions WHERE document_id = ?", doc)
    )
    bob = world.bob.me
    forged = DocumentHeader(
        **{
            **header.__dict__,
            "author_id": bob.user_id,
            "author_key_id": bob.public.key_id,
            "signature": b"",
        }
    )
    world.db.execute(
        "UPDATE versions SET header = ?, author_id = ? WHERE document_id = ?",
        forged.body() + bob.sign(DOCUMENT_HEADER_SIGNATURE, forged.body()),
        bob.user_id.hex(),
        doc,
    )
    result = world.cli("anna").run("ls", dossier)
    assert result.returncode == 3, result.stderr
    world.db.execute(
        "UPDATE versions SET author_id = ?, header = ? WHERE document_id = ?",
        world.anna.my_id,
        header.encode()[:-1] + bytes([header.encode()[-1] ^ 1]),
        doc,
    )
    assert world.cli("anna").run("ls", dossier).returncode == 3
