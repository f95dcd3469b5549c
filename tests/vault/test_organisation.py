"""vault.organisation: the key chain, memberships, roles and re-wrapped grants (format 14)."""

from __future__ import annotations

import dataclasses
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vault import labels, orgkeys
from vault.errors import (
    IntegrityError,
    KeyMismatchError,
    MalformedError,
    RollbackError,
    SecurityError,
    SignatureError,
)
from vault.grant import Grant, make_dossier_grant, new_dossier_key, open_grant
from vault.keys import Identity, PrivateIdentity
from vault.kinds import GrantKind, OrgKind, Rights, Role
from vault.organisation import (
    Membership,
    OrgKeys,
    check_pin,
    check_rewrap,
    make_membership,
    new_organisation,
    next_epoch,
    open_membership,
    record_hash,
    verify_chain,
    verify_membership,
    verify_roster,
)

NOW = 1_800_000_000


def person(name: str) -> PrivateIdentity:
    return PrivateIdentity.generate(os.urandom(16), name)


ALICE, BOB, CAROL, DAVE = (person(n) for n in ("alice", "bob", "carol", "dave"))
PEOPLE = {p.user_id: p.public for p in (ALICE, BOB, CAROL, DAVE)}
ORG_ID = os.urandom(16)
ORG1, REC1 = new_organisation(
    ALICE, org_id=ORG_ID, name="gemeente-mg", kind=OrgKind.MUNICIPALITY, created_at=NOW
)
ORG2, REC2 = next_epoch(ALICE, ORG1, kind=OrgKind.MUNICIPALITY, created_at=NOW + 10)


def identity_of(user_id: bytes) -> Identity:
    return PEOPLE[user_id]


# -- the key record -------------------------------------------------------------------------
def test_a_new_organisation_is_its_own_identity_record() -> None:
    record = OrgKeys.decode(REC1)
    assert record.org_id == ORG_ID and record.epoch == 1 and record.name == "gemeente-mg"
    assert record.identity == ORG1.public
    assert record.kind == OrgKind.MUNICIPALITY
    assert record.succession_signature is None
    assert OrgKeys.decode(REC1).encode() == REC1
    assert OrgKeys.decode(REC2).encode() == REC2


def test_fresh_keys_every_time() -> None:
    again, _ = new_organisation(
        ALICE, org_id=ORG_ID, name="gemeente-mg", kind=OrgKind.MUNICIPALITY, created_at=NOW
    )
    assert again.private_keys() != ORG1.private_keys()
    assert ORG2.private_keys() != ORG1.private_keys()


def test_the_fingerprint_survives_rotation_and_names_the_organisation() -> None:
    one = verify_chain([REC1], author_of=identity_of)
    two = verify_chain([REC1, REC2], author_of=identity_of)
    assert one.fingerprint == two.fingerprint
    assert one.fingerprint != ORG1.public.fingerprint  # not a user fingerprint
    assert two.current.key_id == ORG2.public.key_id != ORG1.public.key_id
    _, rec = new_organisation(
        ALICE, org_id=ORG_ID, name="gemeente-mg", kind=OrgKind.INSTITUTION, created_at=NOW,
        private_keys=ORG1.private_keys(),
    )  # fmt: skip
    assert verify_chain([rec], author_of=identity_of).fingerprint != one.fingerprint


def test_the_public_module_computes_the_same_fingerprint_from_the_first_record() -> None:
    """`vault.orgkeys` (what the server may import) parses a record and computes the fingerprint
    exactly as the verified chain does; only an epoch-1 record has one."""
    chain = verify_chain([REC1, REC2], author_of=identity_of)
    assert orgkeys.organisation_fingerprint(orgkeys.OrgKeys.decode(REC1)) == chain.fingerprint
    with pytest.raises(ValueError, match="epoch-1"):
        orgkeys.organisation_fingerprint(orgkeys.OrgKeys.decode(REC2))


def test_bad_names_and_ids_are_refused_when_making() -> None:
    with pytest.raises(MalformedError):
        new_organisation(ALICE, org_id=ORG_ID, name="NCG!", kind=OrgKind.INSTITUTION, created_at=1)
    with pytest.raises(ValueError, match="org_id"):
        new_organisation(ALICE, org_id=b"short", name="ncg", kind=OrgKind.INSTITUTION, created_at=1)


# -- the chain ------------------------------------------------------------------------------
def test_an_empty_chain_is_refused() -> None:
    with pytest.raises(IntegrityError, match="empty"):
        verify_chain([], author_of=identity_of)


def test_a_chain_out_of_order_is_refused() -> None:
    with pytest.raises(IntegrityError, match="where epoch 1 belongs"):
        verify_chain([REC2, REC1], author_of=identity_of)


def test_an_epoch_not_signed_by_the_previous_key_is_refused() -> None:
    """K6: the server makes its own epoch 2 and signs it as a registered admin would."""
    stranger = PrivateIdentity.generate(ORG_ID, "gemeente-mg", 1)
    _, forged = next_epoch(ALICE, stranger, kind=OrgKind.MUNICIPALITY, created_at=NOW + 20)
    with pytest.raises(IntegrityError, match="does not follow"):
        verify_chain([REC1, forged], author_of=identity_of)


def test_an_unknown_or_changed_author_is_refused() -> None:
    def nobody(_user_id: bytes) -> Identity:
        raise KeyMismatchError("unknown user")

    with pytest.raises(KeyMismatchError):
        verify_chain([REC1], author_of=nobody)
    with pytest.raises(KeyMismatchError, match="author"):
        verify_chain([REC1], author_of=lambda _u: BOB.public)


def test_an_author_signature_by_someone_else_is_refused() -> None:
    record = OrgKeys.decode(REC1)
    forged = record.body() + BOB.sign(labels.ORGANISATION_KEYS_SIGNATURE, record.body())
    with pytest.raises(SignatureError, match="author"):
        verify_chain([forged], author_of=identity_of)


def test_a_succession_signed_with_the_wrong_label_is_refused() -> None:
    record = OrgKeys.decode(REC2)
    wrong = record.signed_by_author() + ORG1.sign(labels.GRANT_SIGNATURE, record.signed_by_author())
    with pytest.raises(SignatureError, match="epoch 1"):
        verify_chain([REC1, wrong], author_of=identity_of)


def test_the_pin_catches_swaps_rollbacks_and_forks() -> None:
    seen = verify_chain([REC1, REC2], author_of=identity_of).pin()
    verify_chain([REC1, REC2], author_of=identity_of, pin=seen)
    with pytest.raises(RollbackError):
        verify_chain([REC1], author_of=identity_of, pin=seen)
    _, fork = next_epoch(ALICE, ORG1, kind=OrgKind.MUNICIPALITY, created_at=NOW + 10)
    with pytest.raises(KeyMismatchError, match="forked at epoch 2"):
        verify_chain([REC1, fork], author_of=identity_of, pin=seen)
    _, swapped = new_organisation(
        ALICE, org_id=ORG_ID, name="gemeente-mg", kind=OrgKind.MUNICIPALITY, created_at=NOW
    )
    with pytest.raises(KeyMismatchError, match="without a signature"):
        verify_chain([swapped], author_of=identity_of, pin=seen)


def test_a_longer_chain_than_pinned_is_accepted() -> None:
    pin = verify_chain([REC1], author_of=identity_of).pin()
    check_pin(verify_chain([REC1, REC2], author_of=identity_of), pin)


def resigned(
    identity: Identity, author: PrivateIdentity, previous: PrivateIdentity, created_at: int
) -> bytes:
    """A record for `identity` (someone else's keys, public only), every signature valid."""
    unsigned = OrgKeys(
        kind=OrgKind.MUNICIPALITY,
        identity=identity,
        previous_key_id=previous.public.key_id,
        author_id=author.user_id,
        author_key_id=author.public.key_id,
        created_at=created_at,
        author_signature=b"",
        succession_signature=None,
    )
    signed = unsigned.body() + author.sign(labels.ORGANISATION_KEYS_SIGNATURE, unsigned.body())
    return signed + previous.sign(labels.ORGANISATION_SUCCESSION_SIGNATURE, signed)


def test_the_pin_remembers_every_epoch_record_it_verified() -> None:
    pin = verify_chain([REC1, REC2], author_of=identity_of).pin()
    assert pin.record_hashes == (record_hash(REC1), record_hash(REC2))
    assert pin.epoch == 2 and pin.key_id == ORG2.public.key_id


@pytest.mark.parametrize("author", ["removed-admin", "same-author-later-date"])
def test_the_same_keys_re_signed_for_a_pinned_epoch_are_a_fork(author: str) -> None:
    """Bob (an admin of epoch 1, removed in epoch 2) re-signs epoch 2's keys as his own epoch 2,
    or epoch 2's record comes back with another date: the key id is the pinned one, the record
    is not."""
    seen = verify_chain([REC1, REC2], author_of=identity_of).pin()
    signer, date = (BOB, NOW + 10) if author == "removed-admin" else (ALICE, 2**40)
    twin = resigned(ORG2.public, signer, ORG1, date)
    chain = verify_chain([REC1, twin], author_of=identity_of)  # every signature verifies
    assert chain.current.key_id == seen.key_id
    with pytest.raises(KeyMismatchError, match="gemeente-mg: its key chain has forked at epoch 2"):
        check_pin(chain, seen)
    # A pin kept before record hashes were (key id only) cannot tell: the limit the hashes lift.
    check_pin(chain, dataclasses.replace(seen, record_hashes=()))


def test_an_epoch_below_the_pinned_one_rewritten_is_a_fork() -> None:
    org3, rec3 = next_epoch(ALICE, ORG2, kind=OrgKind.MUNICIPALITY, created_at=NOW + 20)
    seen = verify_chain([REC1, REC2, rec3], author_of=identity_of).pin()
    twin = resigned(ORG2.public, BOB, ORG1, 2**40)
    chain = verify_chain([REC1, twin, rec3], author_of=identity_of)
    assert chain.current.key_id == seen.key_id == org3.public.key_id
    with pytest.raises(KeyMismatchError, match="forked at epoch 2"):
        check_pin(chain, seen)
    with pytest.raises(KeyMismatchError, match="forked at epoch 1"):
        check_pin(verify_chain([resigned_genesis(), REC2, rec3], author_of=identity_of), seen)
    check_pin(verify_chain([REC1, REC2, rec3], author_of=identity_of), seen)


def resigned_genesis() -> bytes:
    """Epoch 1's keys under another author: the fingerprint (over the keys) is unchanged."""
    unsigned = dataclasses.replace(
        OrgKeys.decode(REC1), author_id=BOB.user_id, author_key_id=BOB.public.key_id
    )
    return unsigned.body() + BOB.sign(labels.ORGANISATION_KEYS_SIGNATURE, unsigned.body())


def test_a_pin_must_hold_one_record_hash_per_epoch() -> None:
    seen = verify_chain([REC1, REC2], author_of=identity_of).pin()
    with pytest.raises(ValueError, match="one record hash per epoch"):
        dataclasses.replace(seen, record_hashes=seen.record_hashes[:1])
    with pytest.raises(ValueError, match="wrong size"):
        dataclasses.replace(seen, record_hashes=(b"x", b"y"))
    with pytest.raises(ValueError, match="epoch"):
        dataclasses.replace(seen, epoch=0, record_hashes=())


def test_the_answer_must_be_the_organisation_asked_for() -> None:
    with pytest.raises(IntegrityError, match="another organisation"):
        verify_chain([REC1], author_of=identity_of, org_id=os.urandom(16))
    with pytest.raises(KeyMismatchError):
        verify_chain([REC1], author_of=identity_of, name="img")


@settings(max_examples=150, deadline=None)
@given(position=st.integers(min_value=0), bit=st.integers(min_value=0, max_value=7))
def test_any_flipped_bit_in_a_record_is_refused(position: int, bit: int) -> None:
    data = bytearray(REC2)
    data[position % len(data)] ^= 1 << bit
    with pytest.raises(SecurityError):
        verify_chain([REC1, bytes(data)], author_of=identity_of)


# -- memberships ---------------------------------------------------------------------------
def test_a_member_opens_exactly_the_epochs_keys() -> None:
    data = make_membership(ALICE, ORG2, BOB.public, role=Role.MEMBER, issued_at=NOW)
    membership, org = open_membership(
        data, me=BOB, admin=ALICE.public, org_keys=OrgKeys.decode(REC2)
    )
    assert org.private_keys() == ORG2.private_keys()
    assert org.public == ORG2.public
    assert membership.role == Role.MEMBER and Membership.decode(data).encode() == data


def test_a_membership_of_an_old_epoch_does_not_open_the_new_one() -> None:
    """S18: a removed member's old membership names epoch 1 and never yields epoch 2."""
    old = make_membership(ALICE, ORG1, BOB.public, role=Role.MEMBER, issued_at=NOW)
    with pytest.raises(IntegrityError, match="another organisation or epoch"):
        open_membership(old, me=BOB, admin=ALICE.public, org_keys=OrgKeys.decode(REC2))


def test_someone_elses_membership_does_not_open() -> None:
    data = make_membership(ALICE, ORG2, CAROL.public, role=Role.MEMBER, issued_at=NOW)
    with pytest.raises(KeyMismatchError, match="someone else"):
        open_membership(data, me=BOB, admin=ALICE.public, org_keys=OrgKeys.decode(REC2))


def test_a_membership_from_another_admin_than_trusted_is_refused() -> None:
    data = make_membership(CAROL, ORG2, BOB.public, role=Role.MEMBER, issued_at=NOW)
    with pytest.raises(KeyMismatchError, match="administrator"):
        verify_membership(data, admin=ALICE.public, org_keys=OrgKeys.decode(REC2))


def test_a_membership_with_a_changed_role_does_not_verify() -> None:
    data = make_membership(ALICE, ORG2, BOB.public, role=Role.MEMBER, issued_at=NOW)
    altered = dataclasses.replace(Membership.decode(data), role=Role.ADMIN).encode()
    with pytest.raises(SignatureError):
        verify_membership(altered, admin=ALICE.public, org_keys=OrgKeys.decode(REC2))


def test_a_membership_needs_a_role_value() -> None:
    with pytest.raises(TypeError):
        make_membership(ALICE, ORG2, BOB.public, role=2, issued_at=NOW)  # type: ignore[arg-type]


# -- roles ---------------------------------------------------------------------------------
def test_admins_are_the_author_and_whom_admins_made_admin() -> None:
    c = verify_chain([REC1], author_of=identity_of)
    statements = [
        make_membership(ALICE, ORG1, ALICE.public, role=Role.ADMIN, issued_at=NOW),
        make_membership(ALICE, ORG1, BOB.public, role=Role.ADMIN, issued_at=NOW),
        make_membership(BOB, ORG1, CAROL.public, role=Role.MEMBER, issued_at=NOW),  # by Bob
    ]
    roster = verify_roster(c, statements[::-1], identity_of=identity_of)  # order does not matter
    assert roster.role(ALICE.user_id) == Role.ADMIN
    assert roster.role(BOB.user_id) == Role.ADMIN
    assert roster.role(CAROL.user_id) == Role.MEMBER
    assert roster.role(DAVE.user_id) is None
    assert set(roster.current()) == {ALICE.user_id, BOB.user_id, CAROL.user_id}


def test_a_member_cannot_add_members_or_make_admins() -> None:
    c = verify_chain([REC1], author_of=identity_of)
    statements = [
        make_membership(ALICE, ORG1, BOB.public, role=Role.MEMBER, issued_at=NOW),
        make_membership(BOB, ORG1, CAROL.public, role=Role.ADMIN, issued_at=NOW),
        make_membership(CAROL, ORG1, DAVE.public, role=Role.MEMBER, issued_at=NOW),
    ]
    roster = verify_roster(c, statements, identity_of=identity_of)
    assert roster.role(BOB.user_id) == Role.MEMBER
    assert roster.role(CAROL.user_id) is None and roster.role(DAVE.user_id) is None


def test_garbage_and_tampered_memberships_give_nobody_anything() -> None:
    c = verify_chain([REC1], author_of=identity_of)
    good = make_membership(ALICE, ORG1, BOB.public, role=Role.MEMBER, issued_at=NOW)
    promoted = dataclasses.replace(Membership.decode(good), role=Role.ADMIN).encode()
    roster = verify_roster(c, [b"junk", promoted], identity_of=identity_of)
    assert roster.role(BOB.user_id) is None


def test_a_member_cannot_start_an_epoch() -> None:
    statements = [make_membership(ALICE, ORG1, BOB.public, role=Role.MEMBER, issued_at=NOW)]
    _, by_bob = next_epoch(BOB, ORG1, kind=OrgKind.MUNICIPALITY, created_at=NOW + 10)
    c = verify_chain([REC1, by_bob], author_of=identity_of)  # the signatures are fine
    with pytest.raises(IntegrityError, match="not an administrator"):
        verify_roster(c, statements, identity_of=identity_of)


def test_an_admin_can_start_an_epoch() -> None:
    statements = [make_membership(ALICE, ORG1, BOB.public, role=Role.ADMIN, issued_at=NOW)]
    _, by_bob = next_epoch(BOB, ORG1, kind=OrgKind.MUNICIPALITY, created_at=NOW + 10)
    c = verify_chain([REC1, by_bob], author_of=identity_of)
    roster = verify_roster(c, statements, identity_of=identity_of)
    assert roster.role(BOB.user_id) == Role.ADMIN  # the author of epoch 2
    assert roster.role(ALICE.user_id, 1) == Role.ADMIN
    assert roster.role(ALICE.user_id) is None  # no membership in epoch 2 yet


# -- re-wrapped grants ----------------------------------------------------------------------
DOSSIER = os.urandom(16)
KEY = new_dossier_key()


def dossier_grant(
    granter: PrivateIdentity, recipient: Identity, rights: Rights = Rights.READ, expires: int = 0
) -> Grant:
    return Grant.decode(
        make_dossier_grant(
            granter, recipient, dossier_id=DOSSIER, epoch=1, dossier_key=KEY, rights=rights,
            counter=1, issued_at=NOW, expires_at=expires,
        )
    )  # fmt: skip


def test_a_faithful_rewrap_opens_as_the_new_epoch() -> None:
    original = dossier_grant(ALICE, ORG1.public, expires=NOW + 100)
    rewrap = dossier_grant(ORG2, ORG2.public, expires=NOW + 100)
    check_rewrap(rewrap, original, org_id=ORG_ID)
    opened = open_grant(
        rewrap.encode(), me=ORG2, granter=ORG2.public, kind=GrantKind.DOSSIER,
        dossier_id=DOSSIER, number=1, now=NOW,
    )  # fmt: skip
    assert opened.key == KEY


@pytest.mark.parametrize(
    ("rewrap_args", "error", "match"),
    [
        ({"rights": Rights.WRITE}, IntegrityError, "more rights"),
        ({"expires": 0}, IntegrityError, "expires later"),
        ({"expires": NOW + 101}, IntegrityError, "expires later"),
    ],
)
def test_a_rewrap_never_gives_more_than_the_original(
    rewrap_args: dict[str, object], error: type[Exception], match: str
) -> None:
    original = dossier_grant(ALICE, ORG1.public, expires=NOW + 100)
    rewrap = dossier_grant(ORG2, ORG2.public, **rewrap_args)  # type: ignore[arg-type]
    with pytest.raises(error, match=match):
        check_rewrap(rewrap, original, org_id=ORG_ID)


def test_a_rewrap_by_a_former_epoch_is_refused() -> None:
    original = dossier_grant(ALICE, ORG1.public)
    with pytest.raises(KeyMismatchError, match="epoch it is addressed to"):
        check_rewrap(dossier_grant(ORG1, ORG2.public), original, org_id=ORG_ID)


def test_a_rewrap_of_a_grant_to_someone_else_is_refused() -> None:
    original = dossier_grant(ALICE, BOB.public)
    with pytest.raises(IntegrityError, match="not a grant to this organisation"):
        check_rewrap(dossier_grant(ORG2, ORG2.public), original, org_id=ORG_ID)
