"""K6, S18, G27: a fork of an organisation's key chain, against a real server (issue 13, attack 3).

An admin is removed (a new epoch without them) but still holds the keys of the epoch before. With
the operator's help they sign an epoch of their own on top of that older epoch, or re-sign the
real next epoch's keys under their own name, and the server shows that chain to devices that had
already verified the real successor. Such a device remembers the hash of every epoch record it
verified (format 14.2, check 7), so any other record for one of those epochs is a fork: exit 3
naming the organisation and the epoch, nothing wrapped, nothing opened.

A device that has only seen the epoch before the fork cannot tell on its own which successor is
the real one; that case needs the key transparency log (S22) and is not tested here.

People: anna (resident), ada (admin who removes), bert (admin who is removed and forks), cees
(member, or second admin), mallory (the operator's accomplice account).
"""

from __future__ import annotations

import dataclasses
import os
import re
import time
from dataclasses import dataclass

import pytest

from vault import labels
from vault.errors import KeyMismatchError, SecurityError
from vault.keys import Identity, PrivateIdentity
from vault.kinds import OrgKind, Role
from vault.organisation import Membership, OrgKeys, make_membership, next_epoch
from vault.receipt import Receipt, make_receipt

from .harness import Person, assert_fail_closed, opened, world
from .test_organisations import Cast, Org, cast, fresh, out_path

__all__ = ["cast", "world"]

FORK = "key chain has forked at epoch 2"


@dataclass
class Removed:
    """ncg-like organisation: ada and bert admins, cees a member; bert removed in epoch 2."""

    org: Org
    dossier: str
    bert1: PrivateIdentity  # epoch 1's keys, which bert kept
    real: list[bytes]  # the real records, epoch 1 first


def removed_admin(cast: Cast, name: str, *, second_admin: bool = False) -> Removed:
    org = cast.organisation(name)
    cast.ada.client.add_member(name, "cees", admin=second_admin)
    cast.ada.client.add_member(name, "bert", admin=True)
    dossier, _ = cast.shared(org, ("oud.pdf", b"before the removal"))
    opened(cast.bert.client, dossier)  # bert reads (and leaves a receipt) while a member
    bert1 = cast.org_keys_of(cast.bert, org, 1)
    cast.ada.client.remove_member(name, "bert")
    # anna's device learns of epoch 2 the ordinary way: it follows the rotation on its next add.
    cast.anna.client.sync(dossier)
    cast.anna.client.add(dossier, cast.w.file("nieuw.pdf", b"after the removal"))
    assert cast.anna.client.organisation(name).epoch == 2
    return Removed(org, dossier, bert1, cast.records(org))


def resigned(
    identity: Identity, author: PrivateIdentity, previous: PrivateIdentity, created_at: int
) -> bytes:
    """An epoch record for keys someone else made (`identity`, public only), signed by `author`
    and by the previous epoch's keys: every signature in it verifies."""
    unsigned = OrgKeys(
        kind=OrgKind.INSTITUTION,
        identity=identity,
        previous_key_id=previous.public.key_id,
        author_id=author.user_id,
        author_key_id=author.public.key_id,
        created_at=created_at,
        author_signature=b"",
        succession_signature=None,
    )
    body = unsigned.body()
    signed = body + author.sign(labels.ORGANISATION_KEYS_SIGNATURE, body)
    return signed + previous.sign(labels.ORGANISATION_SUCCESSION_SIGNATURE, signed)


def file_memberships(cast: Cast, org: Org, epoch: int, statements: list[bytes]) -> None:
    """The operator replaces an epoch's memberships (and its own roster) with `statements`."""
    w = cast.w
    w.db.execute("DELETE FROM org_memberships WHERE org_id = ? AND epoch = ?", org.org_id, epoch)
    for data in statements:
        m = Membership.decode(data)
        w.db.insert(
            "org_memberships",
            {"org_id": org.org_id, "epoch": epoch, "member_id": m.member_id.hex(),
             "role": int(m.role), "membership": data, "created_at": 0},
        )  # fmt: skip


def forked_epoch(
    cast: Cast, org: Org, author: Person, previous: PrivateIdentity, *, admin: Person | None = None
) -> tuple[PrivateIdentity, bytes, list[bytes]]:
    """A successor of `previous` with fresh keys, signed by `author`, who seals its keys to cees
    (and makes `admin`, if given, an admin of it)."""
    new, record = next_epoch(
        author.keys, previous, kind=OrgKind.INSTITUTION, created_at=int(time.time())
    )
    statements = [
        make_membership(author.keys, new, author.keys.public, role=Role.ADMIN, issued_at=1)
    ]
    if author is not cast.cees:
        statements.append(
            make_membership(author.keys, new, cast.cees.keys.public, role=Role.MEMBER, issued_at=1)
        )
    if admin is not None:
        statements.append(
            make_membership(author.keys, new, admin.keys.public, role=Role.ADMIN, issued_at=1)
        )
    return new, record, statements


def bert_forks(cast: Cast, r: Removed, how: str) -> None:
    """bert (removed in epoch 2) and the operator serve a chain of bert's making."""
    org, bert = r.org, cast.bert
    if how == "new-keys":  # bert's own epoch 2 on top of epoch 1, sealed to cees and mallory
        _, record, statements = forked_epoch(cast, org, bert, r.bert1, admin=cast.w.mallory)
        cast.replace_records(org, [r.real[0], record])
        file_memberships(cast, org, 2, statements)
    elif how == "same-keys":  # the real epoch 2's keys, re-signed as bert's epoch 2
        real2 = OrgKeys.decode(r.real[1]).identity
        cast.replace_records(org, [r.real[0], resigned(real2, bert.keys, r.bert1, 2**40)])
    else:  # two epochs of bert's: the fork is as long as he likes
        new2, record2, statements2 = forked_epoch(cast, org, bert, r.bert1)
        _, record3, statements3 = forked_epoch(cast, org, bert, new2, admin=cast.w.mallory)
        cast.replace_records(org, [r.real[0], record2, record3])
        file_memberships(cast, org, 2, statements2)
        file_memberships(cast, org, 3, statements3)
    cast.w.db.execute(  # the server's roster agrees (clients ignore it)
        "INSERT OR REPLACE INTO org_members (org_id, user_id, role, added_at) VALUES (?, ?, 2, 0)",
        org.org_id, bert.user_id,
    )  # fmt: skip


def restore(cast: Cast, r: Removed, memberships: list[dict[str, object]]) -> None:
    cast.replace_records(r.org, r.real)
    cast.w.db.execute("DELETE FROM org_memberships WHERE org_id = ?", r.org.org_id)
    cast.w.db.insert("org_memberships", memberships)


def memberships_of(cast: Cast, org: Org) -> list[dict[str, object]]:
    return cast.w.db.dicts("SELECT * FROM org_memberships WHERE org_id = ?", org.org_id)


# -- (a) the removed admin's fork, shown to the resident -------------------------------------------
@pytest.mark.parametrize("how", ["new-keys", "same-keys", "two-epochs"])
def test_k6_a_removed_admins_fork_is_refused_by_a_device_that_saw_the_real_successor(
    cast: Cast, how: str
) -> None:
    """bert, removed in epoch 2, signs an epoch 2 of his own on top of epoch 1 (fresh keys; or
    the real epoch 2's keys under his name; or two epochs); the operator serves it to anna,
    whose device verified ada's epoch 2. Sharing with @org exits 3 and wraps nothing."""
    w = cast.w
    r = removed_admin(cast, f"ncg-fork-{how}")
    real_memberships = memberships_of(cast, r.org)
    pinned = cast.anna.client.profile.organisation_pin(r.org.org_id)
    bert_forks(cast, r, how)

    second, _ = w.dossier_with(("b.pdf", b"b"))
    before = w.db.grants(second)
    result = cast.anna.run_cli("share", second, f"@{r.org.name}")
    assert_fail_closed(result, FORK)
    assert r.org.name in result.stderr
    assert w.db.grants(second) == before  # nothing wrapped, for bert's keys or any other
    assert_fail_closed(cast.anna.run_cli("org", "show", r.org.name), FORK)
    with pytest.raises(SecurityError) as refused:
        fresh(cast.anna).share_with_organisation(second, r.org.name)
    assert_fail_closed(refused, FORK)
    assert w.db.grants(second) == before
    # The fork did not move the device's memory: the real chain is still accepted.
    assert cast.anna.client.profile.organisation_pin(r.org.org_id) == pinned
    restore(cast, r, real_memberships)
    assert cast.anna.ok("share", second, f"@{r.org.name}")
    assert len(w.db.grants(second, r.org.org_id)) == 1


# -- (b) two different successors of one epoch -----------------------------------------------------
@pytest.mark.parametrize("how", ["new-keys", "same-keys"])
def test_k6_two_successors_of_one_epoch_are_a_fork(cast: Cast, how: str) -> None:
    """cees, still an admin, signs a second epoch 2 on top of epoch 1 after ada's; a device
    that verified ada's refuses it, whoever signed it: one epoch cannot have two successors."""
    w = cast.w
    r = removed_admin(cast, f"ncg-twins-{how}", second_admin=True)
    cees1 = cast.org_keys_of(cast.cees, r.org, 1)
    if how == "new-keys":
        _, record, statements = forked_epoch(cast, r.org, cast.cees, cees1)
        cast.replace_records(r.org, [r.real[0], record])
        file_memberships(cast, r.org, 2, statements)
    else:
        real2 = OrgKeys.decode(r.real[1]).identity
        cast.replace_records(
            r.org, [r.real[0], resigned(real2, cast.cees.keys, cees1, int(time.time()))]
        )
    second, _ = w.dossier_with(("b.pdf", b"b"))
    before = w.db.grants(second)
    with pytest.raises(KeyMismatchError) as refused:
        fresh(cast.anna).share_with_organisation(second, r.org.name)
    assert_fail_closed(refused, rf"{r.org.name}: its {FORK}")
    assert w.db.grants(second) == before
    assert_fail_closed(cast.anna.run_cli("org", "show", r.org.name), FORK)
    # ada's own device, which made the real epoch 2, refuses the twin too.
    assert_fail_closed(cast.ada.run_cli("org", "show", r.org.name), FORK)


# -- an earlier epoch rewritten under the pinned one -----------------------------------------------
def test_k6_g27_an_earlier_epoch_rewritten_under_the_pinned_one_is_a_fork(cast: Cast) -> None:
    """The device saw epochs 1-3 (bert removed in 2, cees in 3). bert re-signs the real epoch
    2's keys as his own epoch 2, dated far in the future, and signs ada in as its admin, so the
    real epoch 3 still links. That would move epoch 1's retirement past today and make the
    receipt he signs now with his kept epoch-1 key look timely. The device refuses the chain,
    so that receipt (and every other) is FAILED, exit 3."""
    w = cast.w
    r = removed_admin(cast, "ncg-history")
    [genuine] = w.db.dicts("SELECT * FROM receipts WHERE dossier_id = ?", r.dossier)
    cast.ada.client.remove_member(r.org.name, "cees")
    cast.anna.client.sync(r.dossier)
    cast.anna.client.add(r.dossier, w.file("derde.pdf", b"epoch 3"))
    assert cast.anna.client.organisation(r.org.name).epoch == 3
    real = cast.records(r.org)
    real2 = OrgKeys.decode(real[1]).identity
    cast.replace_records(r.org, [real[0], resigned(real2, cast.bert.keys, r.bert1, 2**40), real[2]])
    unsealed = make_membership(  # bert cannot seal epoch 2's keys; verifying does not unseal
        cast.bert.keys, PrivateIdentity.generate(real2.user_id, real2.username, 2),
        cast.ada.keys.public, role=Role.ADMIN, issued_at=1, sealed_keys=bytes(144),
    )  # fmt: skip
    body = dataclasses.replace(Membership.decode(unsealed), org_key_id=real2.key_id).body()
    admin_ada = body + cast.bert.keys.sign(labels.MEMBERSHIP_SIGNATURE, body)
    w.db.execute(
        "DELETE FROM org_memberships WHERE org_id = ? AND epoch = 2 AND member_id = ?",
        r.org.org_id, cast.ada.user_id,
    )  # fmt: skip
    w.db.insert(
        "org_memberships",
        {"org_id": r.org.org_id, "epoch": 2, "member_id": cast.ada.user_id, "role": 2,
         "membership": admin_ada, "created_at": 0},
    )  # fmt: skip
    old = Receipt.decode(genuine["receipt"])
    late = make_receipt(
        r.bert1, org_fingerprint=old.org_fingerprint, member=cast.bert.keys.public,
        dossier_id=bytes.fromhex(r.dossier), opened_at=int(time.time()), entries=old.entries,
    )  # fmt: skip
    w.db.insert("receipts", {**genuine, "receipt_id": os.urandom(16).hex(), "receipt": late})

    result = cast.anna.run_cli("receipts", r.dossier)
    assert_fail_closed(result, "receipt")
    assert result.stdout.count("FAILED") == 2, result.stdout  # bert's late one too
    views = fresh(cast.anna).receipts(r.dossier)
    assert len(views) == 2 and not any(v.ok for v in views), [v.status for v in views]
    assert all(re.search(FORK, v.status) for v in views), [v.status for v in views]
    assert_fail_closed(cast.anna.run_cli("org", "show", r.org.name), FORK)


# -- (c) the honest case ---------------------------------------------------------------------------
def test_k6_a_device_that_saw_epoch_2_accepts_the_real_epoch_3(cast: Cast) -> None:
    """After bert's removal anna's device knows epochs 1-2; ada later removes cees (epoch 3).
    anna shares with the organisation: accepted, sealed to epoch 3, remembered. A pin written
    before record hashes were kept (key id only) is checked as before and then completed."""
    w = cast.w
    r = removed_admin(cast, "ncg-honest")
    pin = cast.anna.client.profile.organisation_pin(r.org.org_id)
    assert len(pin["record_hashes"]) == 2
    older = {k: v for k, v in pin.items() if k != "record_hashes"}
    cast.anna.client.profile.save_organisation_pin(r.org.org_id, older)
    cast.ada.client.remove_member(r.org.name, "cees")

    second, _ = w.dossier_with(("b.pdf", b"b"))
    cast.anna.ok("share", second, f"@{r.org.name}")
    [grant] = w.db.signed_grants(second, r.org.org_id)
    assert grant.recipient_key_id == OrgKeys.decode(cast.records(r.org)[2]).key_id
    pin = cast.anna.client.profile.organisation_pin(r.org.org_id)
    assert pin["epoch"] == 3 and len(pin["record_hashes"]) == 3
    # The completed pin now holds epoch 2 too: bert's re-signed epoch 2 is refused.
    real = cast.records(r.org)
    real2 = OrgKeys.decode(real[1]).identity
    cast.replace_records(r.org, [real[0], resigned(real2, cast.bert.keys, r.bert1, 2**40), real[2]])
    assert_fail_closed(cast.anna.run_cli("org", "show", r.org.name), FORK)


# -- (d) a member's and an admin's devices ---------------------------------------------------------
@pytest.mark.parametrize("how", ["new-keys", "same-keys"])
def test_k6_a_members_device_refuses_the_fork_when_opening_organisation_grants(
    cast: Cast, how: str
) -> None:
    """cees stayed a member and his device saw epoch 2; bert's fork (in which bert even seals
    his own epoch 2's keys to cees) is refused by the inbox, by a listing and by a download;
    ada's device refuses to add anyone to the forked organisation."""
    w = cast.w
    r = removed_admin(cast, f"ncg-member-{how}")
    [doc] = [d.document_id for d in opened(fresh(cast.cees), r.dossier) if d.name == "oud.pdf"]
    bert_forks(cast, r, how)

    inbox = cast.cees.run_cli("inbox", "--org", r.org.name)
    assert_fail_closed(inbox, FORK)
    assert_fail_closed(cast.cees.run_cli("ls", r.dossier), FORK)
    target = out_path(w, "oud.pdf")
    assert_fail_closed(cast.cees.run_cli("get", doc, "-o", str(target)), FORK, output=target)
    with pytest.raises(SecurityError) as refused:
        fresh(cast.cees).inbox(r.org.name)
    assert_fail_closed(refused, FORK)

    rows = len(memberships_of(cast, r.org))
    assert_fail_closed(cast.ada.run_cli("org", "add-member", r.org.name, "mallory"), FORK)
    assert len(memberships_of(cast, r.org)) == rows  # nothing sealed to anyone


# -- after the known epochs: only an admin of the epoch before makes the next -------------------
def test_k6_g27_a_removed_admin_cannot_extend_the_real_chain_with_a_members_keys(
    cast: Cast,
) -> None:
    """cees, a plain member of epoch 2, hands its keys to bert (removed in epoch 2), who signs an
    epoch 3 on top of the real epoch 2 with them; the operator files it and lists bert as admin.
    The succession signature verifies, but bert is no admin of epoch 2: refused, nothing
    wrapped, and the device still knows only the real epochs."""
    w = cast.w
    r = removed_admin(cast, "ncg-extend")
    cees2 = cast.org_keys_of(cast.cees, r.org, 2)
    _, record3, statements = forked_epoch(cast, r.org, cast.bert, cees2, admin=w.mallory)
    cast.replace_records(r.org, [*r.real, record3])
    file_memberships(cast, r.org, 3, statements)
    w.db.execute(
        "INSERT OR REPLACE INTO org_members (org_id, user_id, role, added_at) VALUES (?, ?, 2, 0)",
        r.org.org_id, cast.bert.user_id,
    )  # fmt: skip
    second, _ = w.dossier_with(("b.pdf", b"b"))
    before = w.db.grants(second)
    result = cast.anna.run_cli("share", second, f"@{r.org.name}")
    assert_fail_closed(result, "epoch 3 was made by .* not an administrator in epoch 2")
    assert w.db.grants(second) == before
    assert cast.anna.client.profile.organisation_pin(r.org.org_id)["epoch"] == 2
    assert_fail_closed(cast.cees.run_cli("inbox", "--org", r.org.name), "not an administrator")
