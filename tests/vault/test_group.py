"""vault.group: groups and conversations as organisations of kinds 5 and 6 (format 19.1, 19.2)."""

from __future__ import annotations

import dataclasses
import os

import pytest

from vault import labels
from vault.derive import derive
from vault.errors import IntegrityError, KeyMismatchError, MalformedError, SignatureError
from vault.group import (
    ArchiveKey,
    check_group,
    conversation_name,
    epoch_key,
    make_archive_key,
    open_archive_key,
    verify_archive_key,
)
from vault.keys import Identity, PrivateIdentity
from vault.kinds import OrgKind, Role
from vault.organisation import (
    Membership,
    Roster,
    make_membership,
    new_organisation,
    next_epoch,
    open_membership,
    verify_chain,
    verify_roster,
)

NOW = 1_800_000_000


def person(name: str) -> PrivateIdentity:
    return PrivateIdentity.generate(os.urandom(16), name)


ALICE, BOB, CAROL, DAVE = (person(n) for n in ("alice", "bob", "carol", "dave"))
PEOPLE = {p.user_id: p.public for p in (ALICE, BOB, CAROL, DAVE)}


def identity_of(user_id: bytes) -> Identity:
    try:
        return PEOPLE[user_id]
    except KeyError:
        raise KeyMismatchError("unknown") from None


GROUP_ID = os.urandom(16)
G1, GREC1 = new_organisation(
    ALICE, org_id=GROUP_ID, name="dorpsbelangen-zeerijp", kind=OrgKind.GROUP, created_at=NOW
)
G2, GREC2 = next_epoch(ALICE, G1, kind=OrgKind.GROUP, created_at=NOW + 100)
MEMBERSHIPS = [
    make_membership(ALICE, G1, BOB.public, role=Role.EDITOR, issued_at=NOW),
    make_membership(ALICE, G1, CAROL.public, role=Role.MEMBER, issued_at=NOW),
    make_membership(ALICE, G2, BOB.public, role=Role.EDITOR, issued_at=NOW + 100),
    make_membership(ALICE, G2, DAVE.public, role=Role.MEMBER, issued_at=NOW + 100),
]


def roster(records: list[bytes] | None = None, memberships: list[bytes] | None = None) -> Roster:
    chain = verify_chain(records or [GREC1, GREC2], author_of=identity_of)
    return verify_roster(
        chain, MEMBERSHIPS if memberships is None else memberships, identity_of=identity_of
    )


# -- kinds, names, roles ---------------------------------------------------------------------
def test_a_group_is_an_organisation_of_kind_group_with_editors() -> None:
    r = roster()
    check_group(r)
    assert r.chain.kind == OrgKind.GROUP
    assert r.role(BOB.user_id, 1) == Role.EDITOR
    assert r.role(CAROL.user_id, 1) == Role.MEMBER
    assert r.role(CAROL.user_id, 2) is None
    assert r.role(ALICE.user_id, 2) == Role.ADMIN


def test_an_editor_is_no_admin_and_cannot_add_members() -> None:
    by_editor = make_membership(BOB, G1, DAVE.public, role=Role.MEMBER, issued_at=NOW)
    r = roster(memberships=[*MEMBERSHIPS, by_editor])
    assert BOB.user_id not in r.admins(1)
    assert r.role(DAVE.user_id, 1) is None


def test_the_higher_role_counts_member_editor_admin() -> None:
    twice = [
        make_membership(ALICE, G1, BOB.public, role=Role.ADMIN, issued_at=NOW),
        make_membership(ALICE, G1, BOB.public, role=Role.EDITOR, issued_at=NOW),
        make_membership(ALICE, G1, CAROL.public, role=Role.EDITOR, issued_at=NOW),
        make_membership(ALICE, G1, CAROL.public, role=Role.MEMBER, issued_at=NOW),
    ]
    r = roster([GREC1], twice)
    assert r.role(BOB.user_id, 1) == Role.ADMIN
    assert r.role(CAROL.user_id, 1) == Role.EDITOR


def test_the_editor_role_is_refused_outside_groups() -> None:
    org, rec = new_organisation(
        ALICE, org_id=os.urandom(16), name="ncg", kind=OrgKind.INSTITUTION, created_at=NOW
    )
    data = make_membership(ALICE, org, BOB.public, role=Role.EDITOR, issued_at=NOW)
    chain = verify_chain([rec], author_of=identity_of)
    with pytest.raises(MalformedError):
        open_membership(data, me=BOB, admin=ALICE.public, org_keys=chain.current)
    r = verify_roster(chain, [data], identity_of=identity_of)
    assert r.role(BOB.user_id, 1) is None


def test_an_unknown_role_is_still_refused_by_parsing() -> None:
    data = bytearray(MEMBERSHIPS[0])
    data[5 + 16 + 4 + 32 + 16 + 32] = 4
    with pytest.raises(MalformedError):
        Membership.decode(bytes(data))


def test_an_organisation_is_not_a_group() -> None:
    _, rec = new_organisation(
        ALICE, org_id=os.urandom(16), name="ncg", kind=OrgKind.INSTITUTION, created_at=NOW
    )
    chain = verify_chain([rec], author_of=identity_of)
    with pytest.raises(IntegrityError):
        check_group(verify_roster(chain, [], identity_of=identity_of))


def test_a_group_name_may_not_look_like_a_conversation() -> None:
    _, rec = new_organisation(
        ALICE, org_id=os.urandom(16), name="dm-straat", kind=OrgKind.GROUP, created_at=NOW
    )
    with pytest.raises(IntegrityError):
        check_group(roster([rec], []))


def conversation(
    name: str | None = None, members: tuple[PrivateIdentity, ...] = (BOB,), role: Role = Role.ADMIN
) -> Roster:
    cid = os.urandom(16)
    conv, rec = new_organisation(
        ALICE,
        org_id=cid,
        name=name or conversation_name(cid),
        kind=OrgKind.CONVERSATION,
        created_at=NOW,
    )
    ms = [make_membership(ALICE, conv, m.public, role=role, issued_at=NOW) for m in members]
    return roster([rec], ms)


def test_a_conversation_has_two_admins_and_a_name_from_its_id() -> None:
    r = conversation()
    check_group(r)
    assert r.chain.name == "dm-" + r.chain.org_id.hex()


@pytest.mark.parametrize(
    "wrong",
    [
        {"name": "dm-alice-bob"},
        {"members": ()},
        {"members": (BOB, CAROL)},
        {"role": Role.MEMBER},
    ],
)
def test_a_conversation_of_another_shape_is_refused(wrong: dict[str, object]) -> None:
    with pytest.raises(IntegrityError):
        check_group(conversation(**wrong))  # type: ignore[arg-type]


def test_conversation_names_are_made_from_ids_only() -> None:
    with pytest.raises(ValueError):
        conversation_name(b"short")


# -- the epoch key ---------------------------------------------------------------------------
def test_the_epoch_key_is_derived_from_the_epochs_committed_private_keys() -> None:
    expected = derive(
        G1.box_secret + G1.signing_seed, labels.GROUP_EPOCH_KEY, GROUP_ID + (1).to_bytes(8, "big")
    )
    assert epoch_key(G1) == expected
    assert epoch_key(G2) != epoch_key(G1)
    _, opened = open_membership(
        MEMBERSHIPS[0], me=BOB, admin=ALICE.public, org_keys=roster().chain.epoch_keys(1)
    )
    assert epoch_key(opened) == epoch_key(G1)


# -- archive keys ----------------------------------------------------------------------------
def archive(
    admin: PrivateIdentity = ALICE,
    member: PrivateIdentity = DAVE,
    epoch: int = 1,
    granted_in: int = 2,
    **overrides: object,
) -> bytes:
    return make_archive_key(
        admin,
        group_id=GROUP_ID,
        epoch=epoch,
        epoch_key_id=roster().chain.epoch_keys(epoch).key_id,
        granted_in=granted_in,
        member=member.public,
        key=epoch_key(G1),
        issued_at=NOW + 200,
        **overrides,  # type: ignore[arg-type]
    )


def test_an_admin_gives_a_new_member_an_earlier_epoch_key() -> None:
    key = open_archive_key(archive(), me=DAVE, admin=ALICE.public, roster=roster())
    assert key == epoch_key(G1)
    verify_archive_key(archive(), admin=ALICE.public, roster=roster())


def test_the_archive_key_is_sealed_to_that_member_alone() -> None:
    with pytest.raises(KeyMismatchError):
        open_archive_key(archive(), me=BOB, admin=ALICE.public, roster=roster())


def test_an_archive_key_from_someone_without_the_right_is_refused() -> None:
    by_editor = archive(admin=BOB)
    verify = verify_archive_key
    with pytest.raises(IntegrityError):
        verify(by_editor, admin=BOB.public, roster=roster())
    with pytest.raises(IntegrityError):
        open_archive_key(by_editor, me=DAVE, admin=BOB.public, roster=roster())


def test_an_archive_key_for_a_non_member_is_refused() -> None:
    with pytest.raises(IntegrityError):
        open_archive_key(archive(member=CAROL), me=CAROL, admin=ALICE.public, roster=roster())


def test_an_archive_key_must_name_an_earlier_epoch() -> None:
    with pytest.raises(MalformedError):
        archive(epoch=2, granted_in=2)
    data = bytearray(archive())
    data[5 + 16 + 4 + 32 : 5 + 16 + 4 + 32 + 4] = (1).to_bytes(4, "big")
    with pytest.raises(MalformedError):
        ArchiveKey.decode(bytes(data))


def test_an_archive_key_of_another_group_or_epoch_key_is_refused() -> None:
    swapped = make_archive_key(
        ALICE,
        group_id=os.urandom(16),
        epoch=1,
        epoch_key_id=roster().chain.epoch_keys(1).key_id,
        granted_in=2,
        member=DAVE.public,
        key=epoch_key(G1),
        issued_at=NOW,
    )
    with pytest.raises(IntegrityError):
        open_archive_key(swapped, me=DAVE, admin=ALICE.public, roster=roster())
    wrong_keys = make_archive_key(
        ALICE,
        group_id=GROUP_ID,
        epoch=1,
        epoch_key_id=roster().chain.epoch_keys(2).key_id,
        granted_in=2,
        member=DAVE.public,
        key=epoch_key(G1),
        issued_at=NOW,
    )
    with pytest.raises(IntegrityError):
        open_archive_key(wrong_keys, me=DAVE, admin=ALICE.public, roster=roster())
    with pytest.raises(IntegrityError):
        open_archive_key(archive(granted_in=3), me=DAVE, admin=ALICE.public, roster=roster())


def test_an_archive_key_names_its_signer() -> None:
    with pytest.raises(KeyMismatchError):
        open_archive_key(archive(), me=DAVE, admin=BOB.public, roster=roster())


@pytest.mark.parametrize("position", [0, 4, 5, 30, 100, 200, -65, -1])
def test_a_flipped_byte_is_refused(position: int) -> None:
    data = bytearray(archive())
    data[position] ^= 0x01
    with pytest.raises((MalformedError, IntegrityError, KeyMismatchError, SignatureError)):
        open_archive_key(bytes(data), me=DAVE, admin=ALICE.public, roster=roster())


def test_truncated_and_trailing_bytes_are_refused() -> None:
    data = archive()
    for broken in (data[:-1], data + b"\x00", b""):
        with pytest.raises(MalformedError):
            open_archive_key(broken, me=DAVE, admin=ALICE.public, roster=roster())


def test_a_signature_under_another_label_is_refused() -> None:
    data = archive()
    decoded = ArchiveKey.decode(data)
    body = decoded.body()
    forged = body + ALICE.sign(labels.MEMBERSHIP_SIGNATURE, body)
    with pytest.raises(SignatureError):
        open_archive_key(forged, me=DAVE, admin=ALICE.public, roster=roster())


def test_a_sealed_key_that_does_not_open_is_refused() -> None:
    data = archive(sealed_key=bytes(80))
    with pytest.raises(IntegrityError):
        open_archive_key(data, me=DAVE, admin=ALICE.public, roster=roster())
    assert dataclasses.is_dataclass(ArchiveKey.decode(data))
