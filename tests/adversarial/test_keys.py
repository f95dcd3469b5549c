"""K1-K6: the server substitutes keys, wrapped keys, documents or grants."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import time
from pathlib import Path
from typing import Any

import pytest

from client_sdk import ClientError, UnverifiedKeyError
from vault.errors import (
    KeyMismatchError,
    SecurityError,
    SignatureError,
    VaultError,
    WrongPassphrase,
)
from vault.grant import Grant, _grant_from_parts, make_dossier_grant
from vault.header import DocumentHeader
from vault.index import index_hash, seal_index
from vault.keys import Identity, PrivateIdentity
from vault.kinds import GrantKind, Rights
from vault.labels import DOCUMENT_HEADER_SIGNATURE, GRANT_SIGNATURE
from vault.metadata import DossierMetadata

from .harness import (
    PASSPHRASE,
    Person,
    RewritingTransport,
    World,
    assert_fail_closed,
    forge_version,
    rewrite_json,
    world,
)

__all__ = ["world"]


def forged_identity(person: Person, key_version: int = 1) -> bytes:
    """A well-formed, self-signed identity record for `person` with keys the operator holds."""
    user_id = bytes.fromhex(person.user_id)
    return PrivateIdentity.generate(user_id, person.name, key_version).public.encode()


def set_identity(w: World, username: str, record: bytes) -> None:
    w.db.execute("UPDATE users SET identity = ? WHERE username = ?", record, username)


def grant_count(w: World, dossier_id: str, recipient_id: str) -> int:
    return len(w.db.grants(dossier_id, recipient_id))


# -- K1 own-key substitution -----------------------------------------------------------------
def test_k1_server_rewrites_my_identity_record(world: World) -> None:
    carol = world.person("carol-k1")
    set_identity(world, "carol-k1", forged_identity(carol))
    with pytest.raises(KeyMismatchError, match="not yours") as refused:
        world.person("carol-k1", register=False, profile="carol-k1-laptop").client.login(
            "carol-k1", PASSPHRASE
        )
    assert_fail_closed(refused, "keys that are not yours")
    # The device that pinned its own keys refuses too, in the CLI.
    result = carol.run_cli("login", "carol-k1")
    assert_fail_closed(result, "KeyMismatchError.*not yours")


def test_k1_server_swaps_my_key_bundle_for_another_users(world: World) -> None:
    world.person("carol-k1b")
    world.person("dave-k1b")
    dave_bundle = world.db.one("SELECT passphrase_bundle FROM users WHERE username = 'dave-k1b'")
    world.db.execute(
        "UPDATE users SET passphrase_bundle = ? WHERE username = 'carol-k1b'", dave_bundle
    )
    with pytest.raises(WrongPassphrase):
        world.person("carol-k1b", register=False, profile="carol-k1b-laptop").client.login(
            "carol-k1b", PASSPHRASE
        )


def test_k1_server_shows_another_users_identity_and_bundle_as_mine(world: World) -> None:
    """The operator moves dave's whole key material (record and bundle) onto carol's account."""
    world.person("carol-k1c")
    world.person("dave-k1c")
    identity, bundle = world.db.one(
        "SELECT identity, passphrase_bundle FROM users WHERE username = 'dave-k1c'"
    )
    world.db.execute(
        "UPDATE users SET identity = ?, passphrase_bundle = ? WHERE username = 'carol-k1c'",
        identity,
        bundle,
    )
    laptop = world.person("carol-k1c", register=False, profile="carol-k1c-laptop")
    with pytest.raises((WrongPassphrase, KeyMismatchError)):
        laptop.client.login("carol-k1c", PASSPHRASE)
    assert laptop.client.profile.load_session() is None  # no session, no keys kept


def test_k1_login_answer_with_other_keys_is_refused_by_the_proxy_victim(world: World) -> None:
    """Same attack played on the wire: the login answer carries a forged record for me."""
    erin = world.person("erin-k1d")
    forged = forged_identity(erin)

    def swap(body: dict[str, Any]) -> dict[str, Any]:
        body["user"]["identity"] = base64.b64encode(forged).decode()
        return body

    proxy = RewritingTransport(rewrite_json("POST", r".*/auth/login", swap))
    with pytest.raises(KeyMismatchError) as refused:
        erin.device(proxy).login("erin-k1d", PASSPHRASE)
    assert_fail_closed(refused, "not yours")


def test_k1_a_login_refused_for_a_rewritten_identity_leaves_no_session(world: World) -> None:
    """The server publishes other keys for carol. Logging in on a new device fails with exit 3,
    and the device must not be logged in afterwards (no unlocked keys in its profile): the
    session is saved only after the K1 check."""
    carol = world.person("carol-k1e")
    set_identity(world, carol.name, forged_identity(carol))
    laptop = world.person(carol.name, register=False, profile="carol-k1e-laptop")
    assert_fail_closed(laptop.run_cli("login", carol.name), "KeyMismatchError")
    whoami = laptop.run_cli("whoami")
    assert whoami.returncode == 1 and "not logged in" in whoami.stderr, (
        "after a login refused for substituted keys, the device is logged in anyway (the "
        f"session and unlocked keys were saved before the check): {whoami.stdout!r}"
    )
    assert not (laptop.profile / "session.json").exists()


# -- K2 recipient key substitution, K6 recipient injection ----------------------------------
def test_k2_server_hands_out_its_own_key_for_a_pinned_contact(world: World) -> None:
    erin = world.person("erin-k2")
    dossier, _ = world.dossier_with(("brief.txt", b"hello"))
    world.anna.client.fingerprint("erin-k2")  # pinned on first sight
    set_identity(world, "erin-k2", forged_identity(erin))
    result = world.anna.run_cli("share", dossier, "erin-k2")
    assert_fail_closed(result, "UnverifiedKeyError.*keys of 'erin-k2' changed")
    assert grant_count(world, dossier, erin.user_id) == 0  # nothing wrapped for the operator
    with pytest.raises(UnverifiedKeyError):
        world.anna.client.share(dossier, "erin-k2")
    assert grant_count(world, dossier, erin.user_id) == 0


def test_k2_server_answers_with_another_users_record_on_first_contact(world: World) -> None:
    """Never seen before, so nothing is pinned: the operator answers with mallory's record."""
    frank = world.person("frank-k2")
    dossier, _ = world.dossier_with(("brief.txt", b"hello"))
    mallory_record = world.db.one("SELECT identity FROM users WHERE username = 'mallory'")
    set_identity(world, "frank-k2", mallory_record)
    result = world.anna.run_cli("share", dossier, "frank-k2")
    assert_fail_closed(result, "identity of 'mallory' for 'frank-k2'")
    assert grant_count(world, dossier, frank.user_id) == 0
    assert grant_count(world, dossier, world.mallory.user_id) == 0


def relabelled(person: Person, username: str) -> bytes:
    """`person`'s own user id and keys, re-signed (by that accomplice) under another name."""
    keys = person.keys
    return PrivateIdentity.from_private_keys(
        keys.user_id, username, keys.key_version, keys.private_keys()
    ).public.encode()


def test_k2_a_pinned_contact_answered_with_a_previously_seen_account_is_refused(
    world: World,
) -> None:
    """anna pinned kim on first sight and once saw the operator's accomplice (say in a grantee
    listing, never verified). The operator answers 'kim' with the accomplice's user id and
    keys, re-signed under the name 'kim': that is a changed key for kim, not a known contact."""
    kim = world.person("kim-k2s")
    accomplice = world.person("mal-k2s")
    dossier, _ = world.dossier_with(("brief.txt", b"hello"))
    world.anna.client.fingerprint(kim.name)  # kim pinned on first sight
    world.anna.client.fingerprint(accomplice.name)  # the accomplice seen once
    set_identity(world, kim.name, relabelled(accomplice, kim.name))
    result = world.anna.run_cli("share", dossier, kim.name)
    assert_fail_closed(result, "UnverifiedKeyError.*'kim-k2s'.*different account")
    with pytest.raises(UnverifiedKeyError):
        world.anna.device().share(dossier, kim.name)
    assert grant_count(world, dossier, accomplice.user_id) == 0  # nothing for the accomplice
    assert grant_count(world, dossier, kim.user_id) == 0


def test_k2_a_verified_accomplice_shown_under_another_name_is_neither_verified_nor_shared_with(
    world: World,
) -> None:
    """anna verified the accomplice's fingerprint once (a contractor she met). hank is a real
    user anna never looked up; the operator answers 'hank' with the accomplice's id and keys,
    re-signed as 'hank'. `kluis fingerprint hank` must not say "verified", and a share with
    hank must wrap nothing for the accomplice."""
    hank = world.person("hank-k2s")
    accomplice = world.person("mal-k2v")
    dossier, _ = world.dossier_with(("brief.txt", b"hello"))
    world.anna.client.verify_contact(accomplice.name, accomplice.keys.public.fingerprint)
    set_identity(world, hank.name, relabelled(accomplice, hank.name))
    shown = world.anna.run_cli("fingerprint", hank.name)
    assert_fail_closed(shown, "UnverifiedKeyError.*'mal-k2v'.*'hank-k2s'")
    assert "status: verified" not in shown.stdout
    assert_fail_closed(world.anna.run_cli("share", dossier, hank.name), "UnverifiedKeyError")
    assert grant_count(world, dossier, accomplice.user_id) == 0
    assert grant_count(world, dossier, hank.user_id) == 0


def test_k2_an_author_looked_up_by_id_is_not_shown_under_another_users_name(
    world: World,
) -> None:
    """Authors and granters are looked up by user id. The operator answers the id of a
    verified accomplice with its keys re-signed under another user's name ('ivan'): the
    device must not show the accomplice as a verified 'ivan'."""
    ivan = world.person("ivan-k2s")
    accomplice = world.person("mal-k2i")
    world.anna.client.verify_contact(accomplice.name, accomplice.keys.public.fingerprint)
    record = base64.b64encode(relabelled(accomplice, ivan.name)).decode()

    def as_ivan(body: dict[str, Any]) -> dict[str, Any]:
        body["identity"] = record
        return body

    proxy = RewritingTransport(
        rewrite_json("GET", rf".*/users/by-id/{accomplice.user_id}", as_ivan)
    )
    with pytest.raises(UnverifiedKeyError) as refused:
        world.anna.device(proxy).contact_by_id(accomplice.user_id)
    assert_fail_closed(refused, "'mal-k2i'.*'ivan-k2s'")
    assert proxy.sent("GET", rf".*/users/by-id/{accomplice.user_id}")  # the lie was told
    # Told the truth again, the device still knows the accomplice by its own name.
    contact = world.anna.device().contact_by_id(accomplice.user_id)
    assert (contact.identity.username, contact.verified) == (accomplice.name, True)


def test_k6_server_adds_a_new_key_version_for_a_pinned_contact(world: World) -> None:
    """The server publishes 'key version 2' for a contact: self-signed, but not by the
    contact's pinned key. Nothing may be wrapped to it until the user verifies it."""
    gina = world.person("gina-k6")
    dossier, [doc] = world.dossier_with(("brief.txt", b"hello"))
    world.anna.client.fingerprint("gina-k6")
    set_identity(world, "gina-k6", forged_identity(gina, key_version=2))
    for target in (dossier, doc):
        result = world.anna.run_cli("share", target, "gina-k6")
        assert_fail_closed(result, "keys of 'gina-k6' changed")
    assert grant_count(world, dossier, gina.user_id) == 0


# -- K3 wrapped-key replacement --------------------------------------------------------------
def test_k3_server_swaps_a_wrapped_key_between_dossiers(world: World) -> None:
    one, _ = world.dossier_with(("a.txt", b"a"))
    two, _ = world.dossier_with(("b.txt", b"b"))
    world.anna.client.share(one, "bob")
    world.anna.client.share(two, "bob")
    other = world.db.one(
        'SELECT "grant" FROM grants WHERE dossier_id = ? AND recipient_id = ?',
        two,
        world.bob.user_id,
    )
    world.db.execute(
        'UPDATE grants SET "grant" = ? WHERE dossier_id = ? AND recipient_id = ?',
        other,
        one,
        world.bob.user_id,
    )
    with pytest.raises(SecurityError) as refused:
        world.bob.client.documents(one)
    assert_fail_closed(refused, "another dossier")
    assert_fail_closed(world.bob.run_cli("ls", one), "IntegrityError.*another dossier")


def test_k3_a_wrapped_key_moved_to_another_users_row_is_refused(world: World) -> None:
    """D7 between users: bob's grant bytes filed as carol's."""
    carol = world.person("carol-k3u")
    dossier, _ = world.dossier_with(("a.txt", b"a"))
    world.anna.client.share(dossier, "bob")
    world.anna.client.share(dossier, carol.name)
    bobs = world.db.one(
        'SELECT "grant" FROM grants WHERE dossier_id = ? AND recipient_id = ?',
        dossier,
        world.bob.user_id,
    )
    world.db.execute(
        'UPDATE grants SET "grant" = ? WHERE dossier_id = ? AND recipient_id = ?',
        bobs,
        dossier,
        carol.user_id,
    )
    assert_fail_closed(carol.run_cli("ls", dossier), "KeyMismatchError.*addressed to someone else")


def test_k3_a_document_grant_for_another_document_never_opens_it(
    world: World, tmp_path: Path
) -> None:
    dossier, [a, b] = world.dossier_with(("a.txt", b"secret A"), ("b.txt", b"secret B"))
    world.anna.client.share(a, "bob")
    world.anna.client.share(b, "bob")
    grant_a = world.db.one(
        'SELECT "grant" FROM grants WHERE document_id = ? AND recipient_id = ?',
        a,
        world.bob.user_id,
    )
    world.db.execute(
        'UPDATE grants SET "grant" = ? WHERE document_id = ? AND recipient_id = ?',
        grant_a,
        b,
        world.bob.user_id,
    )
    out = tmp_path / "b.txt"
    result = world.bob.run_cli("get", b, "-o", str(out))
    assert_fail_closed(result, "IntegrityError.*another dossier, document", output=out)
    with pytest.raises(SecurityError) as refused:
        world.bob.client.get(b, out)
    assert_fail_closed(refused, "another dossier, document", output=out)
    assert dossier


def test_k3_server_says_no_key_exists_and_the_client_makes_none(world: World) -> None:
    dossier, _ = world.dossier_with(("a.txt", b"a"))
    world.db.execute("DELETE FROM grants WHERE dossier_id = ?", dossier)
    with pytest.raises(KeyMismatchError, match="current key") as refused:
        world.anna.client.add(dossier, world.file("new.txt", b"new"))
    assert_fail_closed(refused, "current key")
    assert world.db.one("SELECT count(*) FROM grants WHERE dossier_id = ?", dossier) == 0
    assert world.db.one("SELECT count(*) FROM versions WHERE dossier_id = ?", dossier) == 1


def test_k3_a_share_with_every_key_withheld_is_not_reported_as_done(world: World) -> None:
    """The server withholds all of anna's own grants for her dossier (says no key exists). The
    client must not invent a key, and must not tell anna the share succeeded either: it
    wrapped nothing, so bob got nothing."""
    dossier, _ = world.dossier_with(("a.txt", b"a"))
    world.db.execute("DELETE FROM grants WHERE dossier_id = ?", dossier)
    result = world.anna.run_cli("share", dossier, world.bob.name)
    assert world.db.one("SELECT count(*) FROM grants WHERE dossier_id = ?", dossier) == 0
    assert_fail_closed(result, "KeyMismatchError.*nothing was shared")


def test_k3_proxy_says_no_grants_exist_and_nothing_new_is_keyed_or_signed(world: World) -> None:
    """The same lie told on the wire, to every request: no key is made, nothing is signed."""
    dossier, [doc] = world.dossier_with(("a.txt", b"a"))
    proxy = RewritingTransport(rewrite_json("GET", r".*/dossiers/[0-9a-f]+/grants", lambda _: []))
    device = world.anna.device(proxy)
    with pytest.raises(KeyMismatchError) as refused:
        device.add(dossier, world.file("new.txt", b"new"))
    assert_fail_closed(refused, "current key")
    with pytest.raises(SecurityError):
        device.update(doc, world.file("a.txt", b"a, second version"))
    with contextlib.suppress(SecurityError, ClientError):
        device.share(dossier, "bob")  # there is nothing to share: no key is invented for bob
    assert proxy.sent("PUT", r".*/index") == []
    assert proxy.sent("POST", r".*/versions") == []
    for request, body in zip(proxy.seen, proxy.bodies, strict=True):
        if re.fullmatch(r"POST .*/grants", request):
            assert json.loads(body)["grants"] == [], "a key was wrapped though none was held"
    assert grant_count(world, dossier, world.bob.user_id) == 0


# -- K4 file injection -----------------------------------------------------------------------
def resigned_by(header_bytes: bytes, signer: PrivateIdentity) -> bytes:
    header = DocumentHeader.decode(header_bytes)
    forged = DocumentHeader(
        **{
            **header.__dict__,
            "author_id": signer.user_id,
            "author_key_id": signer.public.key_id,
            "signature": b"",
        }
    )
    return forged.body() + signer.sign(DOCUMENT_HEADER_SIGNATURE, forged.body())


def test_k4_a_version_re_signed_by_someone_else_is_refused(world: World, tmp_path: Path) -> None:
    dossier, [doc] = world.dossier_with(("rapport.pdf", b"the real report"))
    bob = world.bob.keys
    world.db.execute(
        "UPDATE versions SET header = ?, author_id = ? WHERE document_id = ?",
        resigned_by(world.db.header(doc), bob),
        world.bob.user_id,
        doc,
    )
    out = tmp_path / "r.pdf"
    assert_fail_closed(world.anna.run_cli("ls", dossier), "header differs")
    assert_fail_closed(world.anna.run_cli("get", doc, "-o", str(out)), "header differs", output=out)


def test_k4_a_version_whose_author_field_was_changed_is_refused(world: World) -> None:
    dossier, [doc] = world.dossier_with(("foto.jpg", os.urandom(1000)))
    world.db.execute(
        "UPDATE versions SET author_id = ? WHERE document_id = ?", world.bob.user_id, doc
    )
    assert_fail_closed(world.anna.run_cli("ls", dossier), "KeyMismatchError.*author")


def test_k4_an_injected_version_with_a_forged_signature_is_refused(
    world: World, tmp_path: Path
) -> None:
    """A version 2 the owner never wrote, 'signed' by her with a signature the operator made up."""
    dossier, [doc] = world.dossier_with(("rapport.pdf", b"the real report"))
    header = bytearray(world.db.header(doc))
    header[-64:] = os.urandom(64)
    world.db.execute(
        "INSERT INTO versions (document_id, version, payload_size, payload_blake3, dossier_id, "
        "header, blob_key, author_id, created_at) SELECT document_id, 2, payload_size, "
        "payload_blake3, dossier_id, ?, blob_key, author_id, created_at FROM versions "
        "WHERE document_id = ? AND version = 1",
        bytes(header),
        doc,
    )
    out = tmp_path / "r.pdf"
    assert_fail_closed(world.anna.run_cli("get", doc, "-o", str(out)), "version", output=out)
    assert_fail_closed(world.anna.run_cli("ls", dossier), "Error")


def test_k4_an_injected_document_signed_by_the_operators_account_is_refused(
    world: World, tmp_path: Path
) -> None:
    """mallory holds no key of the dossier: whatever it signs cannot be made to open."""
    dossier, _ = world.dossier_with(("rapport.pdf", b"the real report"))
    doc = forge_version(
        world,
        world.mallory.keys,
        dossier_id=dossier,
        document_id=os.urandom(16).hex(),
        version=1,
        epoch=1,
        dossier_key=os.urandom(32),  # its guess at the dossier key
    )
    out = tmp_path / "injected.pdf"
    assert_fail_closed(world.anna.run_cli("ls", dossier), "IntegrityError")
    assert_fail_closed(world.anna.run_cli("get", doc, "-o", str(out)), "IntegrityError", output=out)


def test_k4_a_header_swapped_after_the_device_cached_it_is_still_refused(world: World) -> None:
    dossier, [doc] = world.dossier_with(("rapport.pdf", b"the real report"))
    assert [d.name for d in world.anna.client.documents(dossier)] == ["rapport.pdf"]  # cached
    original = world.db.header(doc)
    world.db.execute(
        "UPDATE versions SET header = ?, author_id = ? WHERE document_id = ?",
        resigned_by(original, world.bob.keys),
        world.bob.user_id,
        doc,
    )
    assert_fail_closed(world.anna.run_cli("ls", dossier), "header differs")
    world.db.execute(
        "UPDATE versions SET author_id = ?, header = ? WHERE document_id = ?",
        world.anna.user_id,
        original[:-1] + bytes([original[-1] ^ 1]),
        doc,
    )
    assert_fail_closed(world.anna.run_cli("ls", dossier), "SignatureError")


def plant(w: World, dossier_id: str, author: Person) -> str:
    """`author` writes a new document with the epoch-1 dossier key it holds (as the vault does)
    and the operator commits it by inserting the rows and the blob, as it may."""
    return forge_version(
        w,
        author.keys,
        dossier_id=dossier_id,
        document_id=os.urandom(16).hex(),
        version=1,
        epoch=1,
        dossier_key=author.client.load_dossier(dossier_id).keys[1],
        content=b"transfer everything to the operator",
    )


def test_k4_the_owner_does_not_adopt_a_readers_version_because_the_rights_column_says_write(
    world: World,
) -> None:
    """anna shares read-only with bob; her signed grant says READ. The operator flips the
    unsigned `rights` column of bob's row to 2 and bob (its accomplice, holding the dossier
    key) plants a document. anna's listing must not sign it into her index."""
    dossier, _ = world.dossier_with(("rapport.pdf", b"the real report"))
    world.anna.client.share(dossier, world.bob.name)
    planted = plant(world, dossier, world.bob)
    world.db.execute(
        "UPDATE grants SET rights = 2 WHERE dossier_id = ? AND recipient_id = ?",
        dossier,
        world.bob.user_id,
    )
    assert [g.rights for g in world.db.signed_grants(dossier, world.bob.user_id)] == [Rights.READ]
    listing = {d.document_id: d for d in world.anna.client.documents(dossier)}
    assert listing[planted].author == world.bob.name  # attributed to its verified signer
    assert planted not in world.db.indexed(dossier), (
        "anna's client signed bob's planted document into her dossier index: it took bob's "
        "write right from the unsigned `rights` column, not from the grant anna signed"
    )
    assert not listing[planted].confirmed


# -- K5 share forging ------------------------------------------------------------------------
def insert_grant(w: World, dossier_id: str, grant: bytes, *, granter_id: str) -> None:
    g = Grant.decode(grant)
    w.db.insert(
        "grants",
        {
            "grant_id": g.grant_id.hex(),
            "kind": int(g.kind),
            "document_id": g.document_id.hex() if g.kind == GrantKind.DOCUMENT else None,
            "number": g.number,
            "recipient_id": g.recipient_id.hex(),
            "rights": int(g.rights),
            "expires_at": g.expires_at,
            "dossier_id": dossier_id,
            "granter_id": granter_id,
            "grant": grant,
            "created_at": 1,
        },
    )


def forged_dossier_grant(
    signer: PrivateIdentity, claimed: Identity | None, recipient: Identity, dossier_id: str
) -> bytes:
    """A dossier grant signed by `signer`, claiming (if `claimed`) to come from `claimed`."""
    body_grant = _grant_from_parts(
        signer,
        recipient,
        grant_id=os.urandom(16),
        kind=GrantKind.DOSSIER,
        dossier_id=bytes.fromhex(dossier_id),
        document_id=bytes(16),
        number=1,
        rights=Rights.WRITE,
        issued_at=1,
        expires_at=0,
        counter=99,
        key_commitment=os.urandom(32),
        sealed_key=os.urandom(80),
    )
    if claimed is None:
        return body_grant
    g = Grant.decode(body_grant)
    lying = Grant(
        **{
            **g.__dict__,
            "granter_id": claimed.user_id,
            "granter_key_id": claimed.key_id,
            "signature": b"",
        }
    )
    return lying.body() + signer.sign(GRANT_SIGNATURE, lying.body())


def anna_impostor(w: World) -> PrivateIdentity:
    """anna's user id and name with keys the operator made: a signature anna never made."""
    return PrivateIdentity.generate(bytes.fromhex(w.anna.user_id), w.anna.name)


def test_k5_a_grant_claiming_to_come_from_the_owner_but_signed_by_another(world: World) -> None:
    dossier, _ = world.dossier_with(("a.txt", b"a"))
    grant = forged_dossier_grant(anna_impostor(world), None, world.bob.keys.public, dossier)
    insert_grant(world, dossier, grant, granter_id=world.anna.user_id)
    with pytest.raises(KeyMismatchError, match="granter"):
        world.bob.client.documents(dossier)


@pytest.mark.parametrize("claims_owner_keys", [True, False], ids=["owner-keys", "own-keys"])
def test_k5_a_grant_re_signed_by_another_registered_user(
    world: World, claims_owner_keys: bool
) -> None:
    """mallory, a real account, signs a grant for the victim and the operator files it as the
    owner's: either naming anna as granter (the signature cannot be hers) or honestly naming
    mallory (who is not the owner)."""
    victim = world.person(f"hank-k5-{int(claims_owner_keys)}")
    dossier, _ = world.dossier_with(("a.txt", b"a"))
    claimed = world.anna.keys.public if claims_owner_keys else None
    grant = forged_dossier_grant(world.mallory.keys, claimed, victim.keys.public, dossier)
    insert_grant(world, dossier, grant, granter_id=world.anna.user_id)
    with pytest.raises(SecurityError) as refused:
        victim.client.documents(dossier)
    expected = SignatureError if claims_owner_keys else KeyMismatchError
    assert_fail_closed(refused, "grant", error=expected)
    assert_fail_closed(victim.run_cli("ls", dossier), "grant")


def test_k5_the_owner_does_not_adopt_a_version_on_a_forged_write_grant(world: World) -> None:
    """The operator files a WRITE grant to bob that names anna as granter but carries a
    signature anna never made. anna's client must not count bob as a writer because of it."""
    dossier, _ = world.dossier_with(("rapport.pdf", b"the real report"))
    world.anna.client.share(dossier, world.bob.name)  # read only
    planted = plant(world, dossier, world.bob)
    forged = forged_dossier_grant(anna_impostor(world), None, world.bob.keys.public, dossier)
    insert_grant(world, dossier, forged, granter_id=world.anna.user_id)
    world.anna.client.documents(dossier)
    assert planted not in world.db.indexed(dossier), (
        "anna's client signed a planted document into her index on the strength of a grant "
        "row whose signature it never verified"
    )


def test_k5_a_rotation_wraps_no_key_for_a_grantee_the_server_made_up(
    world: World, tmp_path: Path
) -> None:
    """S18 too. The operator files a grant to its own account (mallory) naming anna as granter,
    signed with keys that are not anna's. When anna next revokes someone, the rotation must
    not give mallory the new dossier key: otherwise the server's own account reads every
    document written afterwards."""
    carol = world.person("carol-k5r")
    dossier, _ = world.dossier_with(("voor.txt", b"before the revoke"))
    world.anna.client.share(dossier, carol.name)
    forged = forged_dossier_grant(anna_impostor(world), None, world.mallory.keys.public, dossier)
    insert_grant(world, dossier, forged, granter_id=world.anna.user_id)
    assert world.anna.client.revoke(dossier, carol.name) == 2
    anna_key = world.anna.keys.public.key_id
    wrapped = [
        g.number
        for g in world.db.signed_grants(dossier, world.mallory.user_id)
        if g.granter_key_id == anna_key
    ]
    assert wrapped == [], (
        f"anna's rotation wrapped epoch(s) {wrapped} for mallory (the server's own account) "
        "because of a grant row whose signature it never verified"
    )
    # The operator removes its forged row again; mallory keeps whatever anna really signed.
    world.db.execute("DELETE FROM grants WHERE grant_id = ?", Grant.decode(forged).grant_id.hex())
    later = world.anna.client.add(dossier, world.file("na.txt", b"written after the revoke"))
    out = tmp_path / "na.txt"
    with pytest.raises(VaultError):  # the server's refusal or the client's, but no plaintext
        world.mallory.client.get(later.document_id, out)
    assert not out.exists(), "mallory reads a document added after the revoke"


def test_k4_the_owner_of_a_dossier_cannot_be_swapped_after_it_was_seen(world: World) -> None:
    """D7 too. bob has opened anna's dossier. The operator replaces it, under the same id, by
    one its own account (mallory) owns: mallory's signed index, mallory's grant to bob. bob's
    device pinned the owner per dossier and must notice that it now has another owner."""
    dossier, _ = world.dossier_with(("rapport.pdf", b"the real report"))
    world.anna.client.share(dossier, world.bob.name)
    assert [d.name for d in world.bob.client.documents(dossier)] == ["rapport.pdf"]
    seen = world.db.one("SELECT index_counter FROM dossiers WHERE dossier_id = ?", dossier)
    key, did, now = os.urandom(32), bytes.fromhex(dossier), int(time.time())
    index = seal_index(
        world.mallory.keys,
        dossier_id=did,
        counter=seen + 1,
        epoch=1,
        dossier_key=key,
        metadata=DossierMetadata(title="Schade Hoofdstraat 12", created=now),
        entries=(),
        previous_hash=index_hash(world.db.index(dossier)),
    )
    grant = make_dossier_grant(
        world.mallory.keys,
        world.bob.keys.public,
        dossier_id=did,
        epoch=1,
        dossier_key=key,
        rights=Rights.READ,
        counter=1,
        issued_at=now,
    )
    for table in ("grants", "versions", "documents"):
        world.db.execute(f"DELETE FROM {table} WHERE dossier_id = ?", dossier)  # noqa: S608
    world.db.execute(
        'UPDATE dossiers SET owner_id = ?, "index" = ?, index_counter = ? WHERE dossier_id = ?',
        world.mallory.user_id,
        index,
        seen + 1,
        dossier,
    )
    insert_grant(world, dossier, grant, granter_id=world.mallory.user_id)
    assert_fail_closed(world.bob.run_cli("ls", dossier), "KeyMismatchError.*owner")
    with pytest.raises(KeyMismatchError) as refused:
        world.bob.client.documents(dossier)
    assert_fail_closed(refused, "owner")
