"""Grants (format section 8): making them, and the seven checks a recipient makes, in order."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from typing import Any

import nacl.public
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vault import labels
from vault.derive import derive
from vault.errors import (
    ExpiredError,
    IntegrityError,
    KeyMismatchError,
    MalformedError,
    SecurityError,
    SignatureError,
    VaultError,
)
from vault.grant import (
    NO_DOCUMENT,
    Grant,
    OpenedGrant,
    _grant_from_parts,
    dossier_key_commitment,
    make_document_grant,
    make_dossier_grant,
    new_dossier_key,
    open_grant,
    verify_grant,
)
from vault.header import _seal_header_from_parts, file_key_commitment, open_header
from vault.keys import PrivateIdentity
from vault.kinds import GrantKind, Rights
from vault.metadata import DocumentMetadata


def seed(name: str, size: int) -> bytes:
    return hashlib.shake_256(f"kluis/tests/grant/{name}".encode()).digest(size)


def person(name: str, user_id: bytes | None = None) -> PrivateIdentity:
    return PrivateIdentity.from_private_keys(
        user_id or seed(f"user/{name}", 16), name, 1, seed(f"keys/{name}", 96)
    )


ALICE = person("alice")  # owner and granter
BOB = person("bob")  # recipient
CAROL = person("carol")
MALLORY = person("mallory")
BOB_NEW_KEYS = PrivateIdentity.from_private_keys(BOB.user_id, "bob", 2, seed("bob-2", 96))
ALICE_NEW_KEYS = PrivateIdentity.from_private_keys(ALICE.user_id, "alice", 2, seed("al-2", 96))
DOSSIER = seed("dossier", 16)
OTHER_DOSSIER = seed("other-dossier", 16)
DOC_A = seed("doc-a", 16)
DOC_B = seed("doc-b", 16)
EPOCH = 2  # not 1, so that flipping its low bit never makes the invalid 0
VERSION = 2
COUNTER = 3
DOSSIER_KEY = seed("dossier-key", 32)
FILE_KEY = seed("file-key", 32)
NOW = 1_700_000_000


def dossier_grant(**change: Any) -> bytes:
    args: dict[str, Any] = {
        "dossier_id": DOSSIER,
        "epoch": EPOCH,
        "dossier_key": DOSSIER_KEY,
        "rights": Rights.WRITE,
        "counter": COUNTER,
        "issued_at": NOW - 10,
    }
    granter = change.pop("granter", ALICE)
    recipient = change.pop("recipient", BOB.public)
    args.update(change)
    return make_dossier_grant(granter, recipient, **args)


def document_grant(**change: Any) -> bytes:
    args: dict[str, Any] = {
        "dossier_id": DOSSIER,
        "document_id": DOC_A,
        "version": VERSION,
        "file_key": FILE_KEY,
        "rights": Rights.READ,
        "counter": COUNTER,
        "issued_at": NOW - 10,
        "expires_at": NOW + 3600,
    }
    granter = change.pop("granter", ALICE)
    recipient = change.pop("recipient", BOB.public)
    args.update(change)
    return make_document_grant(granter, recipient, **args)


DOSSIER_GRANT = dossier_grant()
DOCUMENT_GRANT = document_grant()


def open_dossier(data: bytes, **change: Any) -> OpenedGrant:
    args: dict[str, Any] = {
        "me": BOB,
        "granter": ALICE.public,
        "kind": GrantKind.DOSSIER,
        "dossier_id": DOSSIER,
        "number": EPOCH,
        "now": NOW,
    }
    args.update(change)
    return open_grant(data, **args)


def open_document(data: bytes, **change: Any) -> OpenedGrant:
    args: dict[str, Any] = {
        "me": BOB,
        "granter": ALICE.public,
        "kind": GrantKind.DOCUMENT,
        "dossier_id": DOSSIER,
        "document_id": DOC_A,
        "number": VERSION,
        "now": NOW,
    }
    args.update(change)
    return open_grant(data, **args)


def resign(grant: Grant, granter: PrivateIdentity = ALICE, **change: Any) -> bytes:
    changed = dataclasses.replace(grant, **change)
    return changed.body() + granter.sign(labels.GRANT_SIGNATURE, changed.body())


def flip(data: bytes, index: int, mask: int = 0x01) -> bytes:
    out = bytearray(data)
    out[index] ^= mask
    return bytes(out)


# -- happy paths -------------------------------------------------------------------------------


def test_dossier_grant_opens_for_its_recipient() -> None:
    opened = open_dossier(DOSSIER_GRANT)
    assert opened.key == DOSSIER_KEY
    g = opened.grant
    assert (g.kind, g.dossier_id, g.document_id, g.number) == (
        GrantKind.DOSSIER,
        DOSSIER,
        NO_DOCUMENT,
        EPOCH,
    )
    assert g.rights is Rights.WRITE and g.counter == COUNTER and g.expires_at == 0
    assert (g.granter_id, g.granter_key_id) == (ALICE.user_id, ALICE.public.key_id)
    assert (g.recipient_id, g.recipient_key_id) == (BOB.user_id, BOB.public.key_id)
    assert g.key_commitment == dossier_key_commitment(DOSSIER_KEY, DOSSIER, EPOCH)


def test_document_grant_opens_for_its_recipient() -> None:
    opened = open_document(DOCUMENT_GRANT)
    assert opened.key == FILE_KEY
    assert opened.grant.rights is Rights.READ and opened.grant.kind is GrantKind.DOCUMENT
    assert opened.grant.key_commitment == file_key_commitment(FILE_KEY, DOSSIER, DOC_A, VERSION)


def test_owner_grants_the_dossier_key_to_itself() -> None:
    own = dossier_grant(recipient=ALICE.public)
    assert open_dossier(own, me=ALICE).key == DOSSIER_KEY


def test_layout_and_round_trip() -> None:
    grant = Grant.decode(DOCUMENT_GRANT)
    assert Grant.peek(DOCUMENT_GRANT) == grant
    assert grant.encode() == DOCUMENT_GRANT
    assert len(DOCUMENT_GRANT) == 359
    assert DOCUMENT_GRANT[:5] == b"KLGR\x01"


def test_grants_are_randomised() -> None:
    a, b = Grant.decode(dossier_grant()), Grant.decode(dossier_grant())
    assert a.grant_id != b.grant_id and a.sealed_key != b.sealed_key
    assert open_dossier(a.encode()).key == open_dossier(b.encode()).key


def test_expiry_in_the_future_or_never() -> None:
    assert open_document(DOCUMENT_GRANT, now=NOW + 3599).key == FILE_KEY
    assert open_dossier(DOSSIER_GRANT, now=2**64 - 1).key == DOSSIER_KEY


def test_keys_from_grants_open_the_header() -> None:
    header = _seal_header_from_parts(
        ALICE,
        dossier_id=DOSSIER,
        document_id=DOC_A,
        version=VERSION,
        epoch=EPOCH,
        dossier_key=DOSSIER_KEY,
        file_key=FILE_KEY,
        payload_size=100,
        payload_hash=bytes(32),
        metadata=DocumentMetadata("a.txt", "text/plain", "", 10, 0, 0),
        created_at=NOW,
        wrap_nonce=bytes(24),
        metadata_nonce=bytes(range(24)),
    )
    common: dict[str, Any] = {"dossier_id": DOSSIER, "document_id": DOC_A, "author": ALICE.public}
    by_dossier = open_header(
        header, dossier_keys={EPOCH: open_dossier(DOSSIER_GRANT).key}, **common
    )
    by_document = open_header(header, file_key=open_document(DOCUMENT_GRANT).key, **common)
    assert by_dossier.metadata == by_document.metadata


def test_commitments() -> None:
    assert dossier_key_commitment(DOSSIER_KEY, DOSSIER, EPOCH) == derive(
        DOSSIER_KEY, labels.DOSSIER_KEY_COMMITMENT, DOSSIER + EPOCH.to_bytes(8, "big")
    )
    assert dossier_key_commitment(DOSSIER_KEY, DOSSIER, 1) != dossier_key_commitment(
        DOSSIER_KEY, DOSSIER, 2
    )
    assert len({new_dossier_key() for _ in range(8)}) == 8


# -- every byte is protected -------------------------------------------------------------------


def layout(kind: GrantKind) -> list[tuple[str, int, type[SecurityError]]]:
    # A dossier grant's document_id must be zero (parse); a document grant's is its target.
    document_error = MalformedError if kind == GrantKind.DOSSIER else IntegrityError
    return [
        ("magic", 4, MalformedError),
        ("format version", 1, MalformedError),
        ("grant_id", 16, SignatureError),
        ("kind", 1, MalformedError),  # 1 <-> 0 / 3 and 2 <-> 3 / 0: never a valid kind
        ("dossier_id", 16, IntegrityError),  # step 2
        ("document_id", 16, document_error),
        ("number", 8, IntegrityError),  # step 2
        ("rights", 1, MalformedError),
        ("granter_id", 16, KeyMismatchError),  # step 4
        ("granter_key_id", 32, KeyMismatchError),
        ("recipient_id", 16, KeyMismatchError),  # step 3
        ("recipient_key_id", 32, KeyMismatchError),
        ("issued_at", 8, SignatureError),
        ("expires_at", 8, SignatureError),
        ("counter", 8, SignatureError),
        ("key_commitment", 32, SignatureError),
        ("sealed_key", 80, SignatureError),
        ("signature", 64, SignatureError),
    ]


CASES: list[tuple[bytes, GrantKind, Callable[..., OpenedGrant]]] = [
    (DOSSIER_GRANT, GrantKind.DOSSIER, open_dossier),
    (DOCUMENT_GRANT, GrantKind.DOCUMENT, open_document),
]


@pytest.mark.parametrize(("data", "kind", "opener"), CASES, ids=["dossier", "document"])
@pytest.mark.parametrize("mask", [0x01, 0x04, 0x80])
def test_every_byte_flipped_fails_with_the_error_of_its_check(
    data: bytes, kind: GrantKind, opener: Callable[..., OpenedGrant], mask: int
) -> None:
    errors = [(name, error) for name, size, error in layout(kind) for _ in range(size)]
    assert len(errors) == len(data)
    for offset, (name, error) in enumerate(errors):
        flipped = flip(data, offset, mask)
        if name in ("kind", "rights") and flipped[offset] in (1, 2):
            error = SignatureError if name == "rights" else IntegrityError
        with pytest.raises(error) as caught:
            opener(flipped)
        assert type(caught.value) is error, (offset, name, caught.value)


@pytest.mark.parametrize(("data", "kind", "opener"), CASES, ids=["dossier", "document"])
def test_every_truncation_and_trailing_byte_is_malformed(
    data: bytes, kind: GrantKind, opener: Callable[..., OpenedGrant]
) -> None:
    for length in range(len(data)):
        with pytest.raises(MalformedError):
            opener(data[:length])
    with pytest.raises(MalformedError, match="trailing"):
        opener(data + b"\x00")


@pytest.mark.parametrize("prefix", [b"KLGX\x01", b"KLDH\x01", b"KLGR\x00", b"KLGR\x02"])
def test_wrong_magic_or_version(prefix: bytes) -> None:
    with pytest.raises(MalformedError):
        open_dossier(prefix + DOSSIER_GRANT[5:])


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"kind": 0}, "kind"),
        ({"kind": 3}, "kind"),
        ({"rights": 0}, "rights"),
        ({"rights": 3}, "rights"),
        ({"document_id": DOC_A}, "zero"),  # a dossier grant naming a document
        ({"number": 0}, "at least 1"),
        ({"counter": 0}, "counter"),
    ],
)
def test_parse_rules_hold_even_if_signed(change: dict[str, Any], match: str) -> None:
    with pytest.raises(MalformedError, match=match):
        open_dossier(resign(Grant.decode(DOSSIER_GRANT), **change))


def test_document_grant_with_a_zero_document_id_is_malformed() -> None:
    data = resign(Grant.decode(DOCUMENT_GRANT), document_id=NO_DOCUMENT)
    with pytest.raises(MalformedError, match="zero"):
        open_document(data)


# -- step 2: the target ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ask",
    [
        {"document_id": DOC_B},
        {"number": VERSION + 1},
        {"number": 1},
        {"dossier_id": OTHER_DOSSIER},
    ],
)
def test_document_grant_never_opens_another_target(ask: dict[str, Any]) -> None:
    with pytest.raises(IntegrityError) as caught:
        open_document(DOCUMENT_GRANT, **ask)
    assert type(caught.value) is IntegrityError


@pytest.mark.parametrize("ask", [{"number": EPOCH + 1}, {"dossier_id": OTHER_DOSSIER}])
def test_dossier_grant_never_opens_another_target(ask: dict[str, Any]) -> None:
    with pytest.raises(IntegrityError):
        open_dossier(DOSSIER_GRANT, **ask)


def test_grant_kinds_are_not_interchangeable() -> None:
    with pytest.raises(IntegrityError):
        open_document(DOSSIER_GRANT, number=EPOCH)
    with pytest.raises(IntegrityError):
        open_dossier(DOCUMENT_GRANT, number=VERSION)


# -- steps 3-5: who it is for and from ---------------------------------------------------------


def test_grant_for_someone_else() -> None:
    with pytest.raises(KeyMismatchError, match="someone else"):
        open_dossier(DOSSIER_GRANT, me=CAROL)


def test_grant_for_my_old_keys() -> None:
    with pytest.raises(KeyMismatchError):
        open_dossier(DOSSIER_GRANT, me=BOB_NEW_KEYS)


def test_grant_from_another_granter_than_expected() -> None:
    with pytest.raises(KeyMismatchError, match="granter"):
        open_dossier(DOSSIER_GRANT, granter=CAROL.public)
    with pytest.raises(KeyMismatchError, match="granter"):
        open_dossier(DOSSIER_GRANT, granter=ALICE_NEW_KEYS.public)


def test_forgery_naming_alice_but_signed_by_mallory() -> None:
    forged = resign(Grant.decode(DOSSIER_GRANT), granter=MALLORY)
    with pytest.raises(SignatureError, match="grant: signature does not verify"):
        open_dossier(forged)


def test_grant_made_by_mallory_in_his_own_name() -> None:
    by_mallory = dossier_grant(granter=MALLORY)
    assert open_dossier(by_mallory, granter=MALLORY.public).key == DOSSIER_KEY
    with pytest.raises(KeyMismatchError):
        open_dossier(by_mallory)


def test_signature_uses_the_grant_label() -> None:
    grant = Grant.decode(DOSSIER_GRANT)
    wrong = grant.body() + ALICE.sign(labels.DOSSIER_INDEX_SIGNATURE, grant.body())
    with pytest.raises(SignatureError):
        open_dossier(wrong)


def test_order_recipient_before_granter_before_signature_before_expiry() -> None:
    bad_signature = flip(document_grant(expires_at=NOW - 1, issued_at=NOW - 20), 358)
    with pytest.raises(KeyMismatchError, match="someone else"):
        open_document(bad_signature, me=CAROL, granter=CAROL.public)
    with pytest.raises(KeyMismatchError, match="granter"):
        open_document(bad_signature, granter=CAROL.public)
    with pytest.raises(SignatureError):
        open_document(bad_signature)
    with pytest.raises(IntegrityError):  # target (2) comes before recipient (3)
        open_document(bad_signature, me=CAROL, document_id=DOC_B)


# -- step 6: expiry -------------------------------------------------------------------------------


@pytest.mark.parametrize("now", [NOW + 3600, NOW + 3601, 2**64 - 1])
def test_expired(now: int) -> None:
    with pytest.raises(ExpiredError):
        open_document(DOCUMENT_GRANT, now=now)


def test_expiry_is_checked_before_unsealing() -> None:
    grant = Grant.decode(document_grant(expires_at=NOW))
    with pytest.raises(ExpiredError):
        open_document(resign(grant, sealed_key=bytes(80)))


# -- step 7: unseal and commitment ----------------------------------------------------------------


def test_tampered_sealed_key_resigned_by_granter() -> None:
    grant = Grant.decode(DOSSIER_GRANT)
    for offset in (0, 31, 32, 60, 79):
        tampered = resign(grant, sealed_key=flip(grant.sealed_key, offset))
        with pytest.raises(IntegrityError, match="does not open"):
            open_dossier(tampered)


def test_sealed_key_for_someone_else_resigned() -> None:
    sealed_to_carol = nacl.public.SealedBox(nacl.public.PublicKey(CAROL.public.box_key))
    grant = Grant.decode(DOSSIER_GRANT)
    tampered = resign(grant, sealed_key=bytes(sealed_to_carol.encrypt(DOSSIER_KEY)))
    with pytest.raises(IntegrityError, match="does not open"):
        open_dossier(tampered)


def seal_to_bob(key: bytes) -> bytes:
    return bytes(nacl.public.SealedBox(nacl.public.PublicKey(BOB.public.box_key)).encrypt(key))


def test_sealed_key_that_does_not_match_the_commitment() -> None:
    grant = Grant.decode(DOSSIER_GRANT)
    tampered = resign(grant, sealed_key=seal_to_bob(seed("other-key", 32)))
    with pytest.raises(IntegrityError, match="commitment"):
        open_dossier(tampered)


def test_commitment_of_another_epoch_or_kind() -> None:
    other_epoch = dossier_key_commitment(DOSSIER_KEY, DOSSIER, EPOCH + 1)
    with pytest.raises(IntegrityError, match="commitment"):
        open_dossier(resign(Grant.decode(DOSSIER_GRANT), key_commitment=other_epoch))
    # A document grant whose commitment is the dossier-key kind: the two never collide.
    as_dossier = dossier_key_commitment(FILE_KEY, DOSSIER, VERSION)
    with pytest.raises(IntegrityError, match="commitment"):
        open_document(resign(Grant.decode(DOCUMENT_GRANT), key_commitment=as_dossier))


def test_granter_cannot_give_the_file_key_of_a_as_if_for_b() -> None:
    # A signed grant for document B carrying A's file key and A's commitment.
    data = _grant_from_parts(
        ALICE,
        BOB.public,
        grant_id=seed("gid", 16),
        kind=GrantKind.DOCUMENT,
        dossier_id=DOSSIER,
        document_id=DOC_B,
        number=VERSION,
        rights=Rights.READ,
        issued_at=NOW,
        expires_at=0,
        counter=1,
        key_commitment=file_key_commitment(FILE_KEY, DOSSIER, DOC_A, VERSION),
        sealed_key=seal_to_bob(FILE_KEY),
    )
    with pytest.raises(IntegrityError, match="commitment"):
        open_document(data, document_id=DOC_B)


# -- caller errors -------------------------------------------------------------------------------


def test_open_arguments_must_describe_one_target() -> None:
    with pytest.raises(ValueError):
        open_dossier(DOSSIER_GRANT, document_id=DOC_A)
    with pytest.raises(ValueError):
        open_document(DOCUMENT_GRANT, document_id=None)
    with pytest.raises(ValueError):
        open_dossier(DOSSIER_GRANT, kind=3)
    with pytest.raises(ValueError):
        open_dossier(DOSSIER_GRANT, dossier_id=DOSSIER.hex())


@pytest.mark.parametrize(
    "change",
    [
        {"dossier_id": DOSSIER[:8]},
        {"epoch": 0},
        {"dossier_key": DOSSIER_KEY[:31]},
        {"rights": 1},
        {"counter": 0},
        {"issued_at": -1},
        {"expires_at": NOW - 10},  # equal to issued_at
        {"expires_at": 5},
    ],
)
def test_making_refuses_invalid_input(change: dict[str, Any]) -> None:
    with pytest.raises((TypeError, ValueError)):
        dossier_grant(**change)


@pytest.mark.parametrize(
    "change", [{"document_id": b""}, {"version": 0}, {"file_key": b"k"}, {"version": 2**64}]
)
def test_making_a_document_grant_refuses_invalid_input(change: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        document_grant(**change)


# -- property tests --------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_raise_only_malformed(data: bytes) -> None:
    with pytest.raises(MalformedError):
        Grant.decode(data)


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=354, max_size=354))
def test_random_bodies_with_a_valid_magic_raise_only_vault_errors(tail: bytes) -> None:
    with pytest.raises(SecurityError):
        open_document(b"KLGR\x01" + tail)


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(["dossier", "document"]),
    st.lists(st.tuples(st.integers(0, 358), st.integers(1, 255)), min_size=1, max_size=4),
)
def test_mutated_grants_never_open(which: str, changes: list[tuple[int, int]]) -> None:
    data = bytearray(DOSSIER_GRANT if which == "dossier" else DOCUMENT_GRANT)
    for at, mask in changes:
        data[at] ^= mask
    opener = open_dossier if which == "dossier" else open_document
    if bytes(data) in (DOSSIER_GRANT, DOCUMENT_GRANT):
        return
    try:
        opener(bytes(data))
    except SecurityError:
        return
    except VaultError as exc:  # pragma: no cover - would be a wrong error class
        pytest.fail(f"unexpected {type(exc).__name__}: {exc}")
    pytest.fail("a mutated grant opened")


# -- verify_grant: what the granter itself reads back from the server ---------------------------


def test_verify_grant_returns_what_the_granter_signed() -> None:
    for data in (DOSSIER_GRANT, DOCUMENT_GRANT):
        grant = verify_grant(data, granter=ALICE.public, dossier_id=DOSSIER)
        assert grant == Grant.decode(data)


def test_verify_grant_refuses_another_granter_or_other_keys() -> None:
    with pytest.raises(KeyMismatchError, match="granter"):
        verify_grant(DOSSIER_GRANT, granter=CAROL.public, dossier_id=DOSSIER)
    with pytest.raises(KeyMismatchError, match="granter"):
        verify_grant(DOSSIER_GRANT, granter=ALICE_NEW_KEYS.public, dossier_id=DOSSIER)


def test_verify_grant_refuses_a_forgery_in_the_granters_name() -> None:
    forged = resign(Grant.decode(DOSSIER_GRANT), granter=MALLORY)
    with pytest.raises(SignatureError, match="does not verify"):
        verify_grant(forged, granter=ALICE.public, dossier_id=DOSSIER)


def test_verify_grant_refuses_changed_rights_or_expiry() -> None:
    grant = Grant.decode(DOSSIER_GRANT)
    for change in ({"rights": Rights.READ}, {"expires_at": NOW + 1}):
        altered = dataclasses.replace(grant, **change).body() + grant.signature
        with pytest.raises(SignatureError):
            verify_grant(altered, granter=ALICE.public, dossier_id=DOSSIER)


def test_verify_grant_refuses_a_grant_for_another_dossier() -> None:
    with pytest.raises(IntegrityError, match="another dossier"):
        verify_grant(DOSSIER_GRANT, granter=ALICE.public, dossier_id=bytes(16))


@pytest.mark.parametrize("cut", [0, 5, 100, len(DOSSIER_GRANT) - 1])
def test_verify_grant_refuses_truncated_grants(cut: int) -> None:
    with pytest.raises(MalformedError):
        verify_grant(DOSSIER_GRANT[:cut], granter=ALICE.public, dossier_id=DOSSIER)


def test_verify_grant_refuses_a_dossier_id_of_the_wrong_size() -> None:
    with pytest.raises(ValueError, match="dossier_id"):
        verify_grant(DOSSIER_GRANT, granter=ALICE.public, dossier_id=DOSSIER[:8])
