"""K6, S18 and K2/K5 for organisations, receipts and expiring shares, against a real server.

The operator rewrites the organisation's rows (key records, roster, memberships, grants,
receipts) in the server's SQLite database; the real client (SDK and `kluis` CLI) must fail
closed: exit 3 naming the check, nothing decrypted, no file written, nothing shared.

People: anna (resident, dossier owner), ada (admin of every organisation here), bert and cees
(members), mallory (the operator's accomplice account), each on a device of their own.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from client_sdk import Client
from client_sdk.errors import ClientError
from vault.errors import IntegrityError, SecurityError
from vault.grant import Grant, make_dossier_grant, open_grant
from vault.header import open_header
from vault.keys import PrivateIdentity
from vault.kinds import GrantKind, OrgKind, Rights
from vault.organisation import (
    Membership,
    OrgKeys,
    new_organisation,
    next_epoch,
    open_membership,
    verify_chain,
)
from vault.receipt import Receipt, ReceiptEntry, make_receipt

from .harness import Person, World, assert_fail_closed, opened, world

__all__ = ["world"]


@dataclass
class Org:
    name: str
    org_id: str
    fingerprint: str


@dataclass
class Cast:
    w: World
    ada: Person
    bert: Person
    cees: Person

    @property
    def anna(self) -> Person:
        return self.w.anna

    def organisation(self, name: str, *members: Person, verified: bool = True) -> Org:
        org = self.ada.client.create_organisation(name, "institution")
        for m in members:
            self.ada.client.add_member(name, m.name)
        if verified:  # what `python -m server admin verify-org` records
            self.w.db.execute(
                "UPDATE organisations SET verified_fingerprint = ? WHERE org_id = ?",
                org.fingerprint,
                org.org_id,
            )
        return Org(name, org.org_id, org.fingerprint)

    def shared(
        self, org: Org, *files: tuple[str, bytes], expires_in: int = 0
    ) -> tuple[str, list[str]]:
        dossier, ids = self.w.dossier_with(*files)
        expires_at = int(time.time()) + expires_in if expires_in else 0
        self.anna.client.share_with_organisation(dossier, org.name, expires_at=expires_at)
        return dossier, ids

    def records(self, org: Org) -> list[bytes]:
        return [
            r[0]
            for r in self.w.db.rows(
                "SELECT record FROM org_key_records WHERE org_id = ? ORDER BY epoch", org.org_id
            )
        ]

    def replace_records(self, org: Org, records: list[bytes]) -> None:
        self.w.db.execute("DELETE FROM org_key_records WHERE org_id = ?", org.org_id)
        for epoch, record in enumerate(records, start=1):
            self.w.db.insert(
                "org_key_records",
                {"org_id": org.org_id, "epoch": epoch, "record": record, "created_at": 0},
            )
        self.w.db.execute(
            "UPDATE organisations SET epoch = ? WHERE org_id = ?", len(records), org.org_id
        )

    def org_keys_of(self, member: Person, org: Org, epoch: int) -> PrivateIdentity:
        """The organisation's keys of one epoch, from the member's own membership."""
        data = self.w.db.one(
            "SELECT membership FROM org_memberships WHERE org_id = ? AND epoch = ? "
            "AND member_id = ?",
            org.org_id,
            epoch,
            member.user_id,
        )
        record = OrgKeys.decode(self.records(org)[epoch - 1])
        admin = Membership.decode(data).admin_id.hex()
        _, keys = open_membership(
            data, me=member.keys, admin=member.client.contact_by_id(admin).identity,
            org_keys=record,
        )  # fmt: skip
        return keys


@pytest.fixture(scope="module")
def cast(world: World) -> Iterator[Cast]:
    people = [world.person(n) for n in ("ada", "bert", "cees")]
    yield Cast(world, *people)
    for p in people:
        if p._client is not None:
            p._client.close()


def fresh(person: Person) -> Client:
    """The person's own profile, through a new client (nothing cached in memory)."""
    return Client(person.server.url, str(person.profile))


def out_path(w: World, name: str) -> Path:
    target = w.root / "out" / os.urandom(4).hex() / name
    target.parent.mkdir(parents=True)
    return target


# -- K6 / S18: a removed member ----------------------------------------------------------------
def test_s18_nothing_is_added_under_the_old_key_until_the_owner_syncs(cast: Cast) -> None:
    """bert is removed from ncg, which anna shares a dossier with. Her client refuses to add
    anything under the dossier key bert may hold (no hidden rotation inside `add`): nothing is
    uploaded until `sync` starts a new epoch; then the document goes in under it."""
    w = cast.w
    org = cast.organisation("ncg-s18-sync", cast.bert, cast.cees)
    dossier, _ = cast.shared(org, ("oud.pdf", b"before the removal"))
    cast.ada.client.remove_member(org.name, "bert")
    with pytest.raises(ClientError, match=r"Client\.sync"):
        cast.anna.client.add(dossier, w.file("nieuw.pdf", b"after the removal"))
    assert [d.name for d in cast.anna.client.documents(dossier)] == ["oud.pdf"]
    assert cast.anna.client.load_dossier(dossier).epoch == 1
    assert cast.anna.client.sync(dossier).epoch == 2
    assert cast.anna.client.sync(dossier).epoch == 0  # done: nothing more to rotate
    cast.anna.client.add(dossier, w.file("nieuw.pdf", b"after the removal"))
    assert cast.anna.client.load_dossier(dossier).epoch == 2


@pytest.mark.parametrize("extra", ["old-roster-row", "and-someone-elses-epoch-2-membership"])
def test_s18_k6_a_removed_member_cannot_open_a_document_added_afterwards(
    cast: Cast, extra: str
) -> None:
    """bert is removed from ncg; anna adds a document; the operator gives bert his roster row
    back (and, in the second case, files cees's epoch-2 membership under bert's id). bert's
    client gets every row again and still no key for the new document."""
    w = cast.w
    org = cast.organisation(f"ncg-s18-{extra[:3]}", cast.bert, cast.cees)
    dossier, [old] = cast.shared(org, ("oud.pdf", b"before the removal"))
    assert [d.name for d in opened(cast.bert.client, dossier)] == ["oud.pdf"]
    roster_row = w.db.dicts(
        "SELECT * FROM org_members WHERE org_id = ? AND user_id = ?", org.org_id, cast.bert.user_id
    )
    cast.ada.client.remove_member(org.name, "bert")
    cast.anna.client.sync(dossier)  # a new epoch: the removed member cannot read what follows
    new = cast.anna.client.add(dossier, w.file("nieuw.pdf", b"after the removal")).document_id
    assert cast.anna.client.load_dossier(dossier).epoch == 2  # anna followed the rotation

    w.db.insert("org_members", roster_row)
    if extra != "old-roster-row":
        [cees_row] = w.db.dicts(
            "SELECT * FROM org_memberships WHERE org_id = ? AND epoch = 2 AND member_id = ?",
            org.org_id, cast.cees.user_id,
        )  # fmt: skip
        w.db.insert("org_memberships", {**cees_row, "member_id": cast.bert.user_id})

    target = out_path(w, "nieuw.pdf")
    result = cast.bert.run_cli("get", new, "-o", str(target))
    assert_fail_closed(result, r"no dossier key for epoch 2|no key", output=target)
    with pytest.raises(SecurityError):
        opened(fresh(cast.bert), dossier)

    # Whatever bert kept: the organisation's epoch-1 keys and the dossier key they opened.
    org1 = cast.org_keys_of(cast.bert, org, 1)
    kept = {}
    for row in w.db.grants(dossier, org.org_id):
        grant = Grant.decode(row["grant"])
        if grant.recipient_key_id == org1.public.key_id and grant.kind == GrantKind.DOSSIER:
            kept[grant.number] = open_grant(
                row["grant"], me=org1, granter=cast.anna.keys.public, kind=GrantKind.DOSSIER,
                dossier_id=bytes.fromhex(dossier), number=grant.number, now=int(time.time()),
            ).key  # fmt: skip
    assert list(kept) == [1]
    author = cast.anna.keys.public

    def open_with_kept(document_id: str) -> object:
        return open_header(
            w.db.header(document_id),
            dossier_id=bytes.fromhex(dossier),
            document_id=bytes.fromhex(document_id),
            author=author,
            version=1,
            dossier_keys=kept,
        )

    with pytest.raises(IntegrityError, match="no dossier key for epoch 2"):
        open_with_kept(new)
    # What revocation cannot take back: the old document still opens with what bert kept.
    open_with_kept(old)
    # And the members who stayed read both.
    assert sorted(d.name for d in opened(fresh(cast.cees), dossier)) == ["nieuw.pdf", "oud.pdf"]


def test_k6_a_former_member_cannot_slip_a_key_into_the_organisation(cast: Cast) -> None:
    """bert, removed, signs a grant with the epoch-1 key he kept, sealed to epoch 2 and
    dressed as a re-wrap, giving a dossier key of his choosing; the operator files it."""
    w = cast.w
    org = cast.organisation("ncg-slip", cast.bert, cast.cees)
    dossier, _ = cast.shared(org, ("a.pdf", b"a"))
    opened(cast.bert.client, dossier)
    org1 = cast.org_keys_of(cast.bert, org, 1)
    cast.ada.client.remove_member(org.name, "bert")
    epoch2 = OrgKeys.decode(cast.records(org)[1]).identity
    forged = make_dossier_grant(
        org1, epoch2, dossier_id=bytes.fromhex(dossier), epoch=1, dossier_key=os.urandom(32),
        rights=Rights.WRITE, counter=1, issued_at=int(time.time()),
    )  # fmt: skip
    w.db.insert("grants", grant_row(forged, dossier, org.org_id, cast.bert.user_id))
    with pytest.raises(SecurityError) as refused:
        opened(fresh(cast.cees), dossier)
    assert_fail_closed(refused, "not signed by the epoch it is addressed to")
    assert_fail_closed(cast.cees.run_cli("ls", dossier), "not signed by the epoch")


def grant_row(data: bytes, dossier: str, recipient: str, granter: str) -> dict[str, Any]:
    g = Grant.decode(data)
    return {
        "grant_id": g.grant_id.hex(),
        "kind": int(g.kind),
        "document_id": None,
        "number": g.number,
        "recipient_id": recipient,
        "rights": int(g.rights),
        "expires_at": g.expires_at,
        "dossier_id": dossier,
        "granter_id": granter,
        "grant": data,
        "created_at": int(time.time()),
    }


def test_k5_a_grant_to_the_organisation_from_someone_but_the_owner_is_refused(
    cast: Cast,
) -> None:
    """mallory files a grant of a key she chose to ncg, in anna's dossier."""
    w = cast.w
    org = cast.organisation("ncg-k5", cast.bert)
    dossier, _ = cast.shared(org, ("a.pdf", b"a"))
    identity = cast.anna.client.organisation(org.name).identity
    forged = make_dossier_grant(
        w.mallory.keys, identity, dossier_id=bytes.fromhex(dossier), epoch=1,
        dossier_key=os.urandom(32), rights=Rights.WRITE, counter=9, issued_at=int(time.time()),
    )  # fmt: skip
    w.db.insert("grants", grant_row(forged, dossier, org.org_id, w.mallory.user_id))
    assert_fail_closed(cast.bert.run_cli("ls", dossier), "not from the dossier's owner")
    inbox = cast.bert.run_cli("inbox", "--org", org.name)
    assert_fail_closed(inbox, "do not verify")
    assert "FAILED" in inbox.stdout and "verified" in inbox.stdout  # anna's own still listed


# -- K2/K6: the organisation's keys swapped, forged or rolled back ------------------------------
def swapped_records(cast: Cast, org: Org) -> tuple[list[bytes], str]:
    """The operator's own organisation under the same id and name: new keys, no succession."""
    genesis = OrgKeys.decode(cast.records(org)[0])
    _, record = new_organisation(
        cast.w.mallory.keys, org_id=bytes.fromhex(org.org_id), name=org.name,
        kind=genesis.kind, created_at=int(time.time()),
    )  # fmt: skip
    chain = verify_chain([record], author_of=lambda _u: cast.w.mallory.keys.public)
    return [record], chain.fingerprint


@pytest.mark.parametrize("operator_record", ["follows-the-swap", "unchanged"])
def test_k6_a_verified_organisations_keys_swapped_by_the_server_are_detected(
    cast: Cast, operator_record: str
) -> None:
    w = cast.w
    org = cast.organisation(f"ncg-swap-{operator_record[:3]}", cast.bert)
    dossier, _ = cast.shared(org, ("a.pdf", b"a"))  # anna's device pinned ncg
    opened(cast.bert.client, dossier)  # and so did bert's
    records, fingerprint = swapped_records(cast, org)
    cast.replace_records(org, records)
    if operator_record == "follows-the-swap":
        w.db.execute(
            "UPDATE organisations SET verified_fingerprint = ? WHERE org_id = ?",
            fingerprint, org.org_id,
        )  # fmt: skip
    second, _ = w.dossier_with(("b.pdf", b"b"))
    before = len(w.db.grants(second))
    result = cast.anna.run_cli("share", second, f"@{org.name}")
    assert_fail_closed(result, "keys changed without a signature|marked verified")
    assert len(w.db.grants(second)) == before  # nothing was wrapped for the operator's keys
    assert_fail_closed(cast.anna.run_cli("org", "show", org.name), "without a signature|marked")
    assert_fail_closed(cast.bert.run_cli("ls", dossier), "without a signature|marked verified")
    if operator_record == "unchanged":  # a device that never saw ncg trusts the record
        newcomer = cast.w.person(f"newcomer-{os.urandom(2).hex()}")
        assert_fail_closed(newcomer.run_cli("org", "show", org.name), "marked verified")


def test_k6_an_epoch_not_signed_by_the_previous_key_is_refused(cast: Cast) -> None:
    """The operator appends an epoch 2 of its own, authored by mallory."""
    org = cast.organisation("ncg-append", cast.bert)
    dossier, _ = cast.shared(org, ("a.pdf", b"a"))
    stranger = PrivateIdentity.generate(bytes.fromhex(org.org_id), org.name, 1)
    _, epoch2 = next_epoch(cast.w.mallory.keys, stranger, kind=OrgKind.INSTITUTION,
                           created_at=int(time.time()))  # fmt: skip
    cast.replace_records(org, [*cast.records(org), epoch2])
    second, _ = cast.w.dossier_with(("b.pdf", b"b"))
    assert_fail_closed(cast.anna.run_cli("share", second, f"@{org.name}"), "does not follow")
    assert_fail_closed(cast.bert.run_cli("ls", dossier), "does not follow")


def test_k6_a_plain_member_cannot_start_an_epoch_even_with_the_servers_help(cast: Cast) -> None:
    """bert holds the organisation's keys and signs an epoch 2 with them; the server files it
    and makes him admin in its roster."""
    w = cast.w
    org = cast.organisation("ncg-coup", cast.bert)
    cast.shared(org, ("a.pdf", b"a"))
    org1 = cast.org_keys_of(cast.bert, org, 1)
    _, epoch2 = next_epoch(cast.bert.keys, org1, kind=OrgKind.INSTITUTION,
                           created_at=int(time.time()))  # fmt: skip
    cast.replace_records(org, [*cast.records(org), epoch2])
    w.db.execute("UPDATE org_members SET role = 2 WHERE org_id = ?", org.org_id)
    second, _ = w.dossier_with(("b.pdf", b"b"))
    assert_fail_closed(cast.anna.run_cli("share", second, f"@{org.name}"), "not an administrator")


def test_d12_an_organisation_rolled_back_to_an_earlier_epoch_is_refused(cast: Cast) -> None:
    org = cast.organisation("ncg-rollback", cast.bert, cast.cees)
    dossier, _ = cast.shared(org, ("a.pdf", b"a"))
    cast.ada.client.remove_member(org.name, "cees")
    cast.anna.client.sync(dossier)  # anna sees epoch 2
    cast.anna.client.add(dossier, cast.w.file("b.pdf", b"b"))
    cast.replace_records(org, cast.records(org)[:1])
    assert_fail_closed(cast.anna.run_cli("org", "show", org.name), "has seen epoch 2")


# -- receipts -----------------------------------------------------------------------------------
def opened_by_bert(cast: Cast, name: str) -> tuple[Org, str, list[str]]:
    org = cast.organisation(name, cast.bert)
    dossier, ids = cast.shared(org, ("rapport.pdf", b"rapport"), ("foto.jpg", b"foto"))
    opened(cast.bert.client, dossier)
    return org, dossier, ids


def receipt_rows(w: World, dossier: str) -> list[dict[str, Any]]:
    return w.db.dicts("SELECT * FROM receipts WHERE dossier_id = ?", dossier)


def test_a_member_opening_a_dossier_leaves_a_verified_receipt(cast: Cast) -> None:
    org, dossier, ids = opened_by_bert(cast, "ncg-receipt")
    [view] = cast.anna.client.receipts(dossier)
    assert view.ok and view.member == "bert" and view.organisation == org.name
    assert sorted(e["document_id"] for e in view.entries) == sorted(ids)
    opened(cast.bert.client, dossier)  # opened again: nothing new to receipt
    assert len(receipt_rows(cast.w, dossier)) == 1


def flip(data: bytes, position: int) -> bytes:
    out = bytearray(data)
    out[position] ^= 1
    return bytes(out)


@pytest.mark.parametrize(
    "how", ["made-up", "altered-entry", "altered-time", "from-another-dossier", "garbage"]
)
def test_a_forged_or_altered_receipt_fails_verification(cast: Cast, how: str) -> None:
    w = cast.w
    org, dossier, ids = opened_by_bert(cast, f"ncg-forge-{how}")
    [genuine] = receipt_rows(w, dossier)
    data = genuine["receipt"]
    if how == "made-up":  # the operator signs with keys of its own under ncg's name
        fake = PrivateIdentity.generate(bytes.fromhex(org.org_id), org.name, 1)
        forged = make_receipt(
            fake, org_fingerprint=Receipt.decode(data).org_fingerprint,
            member=cast.bert.keys.public, dossier_id=bytes.fromhex(dossier),
            opened_at=int(time.time()) - 86_400,
            entries=[ReceiptEntry(bytes.fromhex(ids[0]), 1, os.urandom(32), os.urandom(32))],
        )  # fmt: skip
        w.db.insert("receipts", {**genuine, "receipt_id": os.urandom(16).hex(), "receipt": forged})
    elif how == "altered-entry":
        w.db.execute("UPDATE receipts SET receipt = ? WHERE receipt_id = ?",
                     flip(data, len(data) - 64 - 40), genuine["receipt_id"])  # fmt: skip
    elif how == "altered-time":
        w.db.execute("UPDATE receipts SET receipt = ? WHERE receipt_id = ?",
                     flip(data, 5 + 16 + 16 + 32 + 4 + 32 + 16 + 32 + 16 + 7),
                     genuine["receipt_id"])  # fmt: skip
    elif how == "from-another-dossier":
        other, _ = opened_by_bert(cast, f"ncg-forge-other-{os.urandom(2).hex()}")[1:]
        [theirs] = receipt_rows(w, other)
        w.db.insert("receipts", {**theirs, "receipt_id": os.urandom(16).hex(),
                                 "dossier_id": dossier})  # fmt: skip
    else:
        w.db.insert("receipts", {**genuine, "receipt_id": os.urandom(16).hex(),
                                 "receipt": b"KLRC\x01" + os.urandom(40)})  # fmt: skip
    result = cast.anna.run_cli("receipts", dossier)
    assert_fail_closed(result, "receipt")
    assert "FAILED" in result.stdout
    views = cast.anna.client.receipts(dossier)
    failed = [v for v in views if not v.ok]
    assert len(failed) == 1, [v.status for v in views]
    expected = {
        "made-up": "signature does not verify|names other keys",
        "altered-entry": "signature does not verify",
        "altered-time": "signature does not verify",
        "from-another-dossier": "another dossier",
        "garbage": "truncated|entries",
    }[how]
    assert re.search(expected, failed[0].status), failed[0].status


def test_a_removed_member_cannot_sign_receipts_with_the_retired_key(cast: Cast) -> None:
    w = cast.w
    org, dossier, _ = opened_by_bert(cast, "ncg-retired")
    [genuine] = receipt_rows(w, dossier)
    org1 = cast.org_keys_of(cast.bert, org, 1)
    cast.ada.client.remove_member(org.name, "bert")
    time.sleep(1.1)
    late = make_receipt(
        org1, org_fingerprint=Receipt.decode(genuine["receipt"]).org_fingerprint,
        member=cast.bert.keys.public, dossier_id=bytes.fromhex(dossier),
        opened_at=int(time.time()), entries=Receipt.decode(genuine["receipt"]).entries,
    )  # fmt: skip
    w.db.insert("receipts", {**genuine, "receipt_id": os.urandom(16).hex(), "receipt": late})
    statuses = sorted(v.status for v in cast.anna.client.receipts(dossier))
    assert statuses[0].startswith("FAILED") and "after it was replaced" in statuses[0]
    assert statuses[1] == "verified"  # bert's genuine receipt from before stays valid


# -- expiring shares ------------------------------------------------------------------------------
def test_an_expired_share_with_an_organisation_stops_working_on_server_and_client(
    cast: Cast,
) -> None:
    w = cast.w
    org = cast.organisation("ncg-expiry", cast.bert)
    dossier, [doc] = cast.shared(org, ("a.pdf", b"a"), expires_in=4)
    expires_at = Grant.decode(w.db.grants(dossier, org.org_id)[0]["grant"]).expires_at
    assert [d.name for d in opened(fresh(cast.bert), dossier)] == ["a.pdf"]
    time.sleep(max(0.0, expires_at - time.time()) + 1.1)
    refused = cast.bert.run_cli("ls", dossier)
    assert refused.returncode == 1 and "no dossier" in refused.stderr  # the server: expired
    # The operator extends the share in its own column; the signed expiry still says no.
    w.db.execute("UPDATE grants SET expires_at = 0 WHERE dossier_id = ?", dossier)
    target = out_path(w, "a.pdf")
    assert_fail_closed(cast.bert.run_cli("get", doc, "-o", str(target)), "no key", output=target)
    inbox = fresh(cast.bert).inbox(org.name)
    assert [i for i in inbox if i.dossier_id == dossier] == []  # an expired grant is not listed


def test_a_rewrap_keeps_the_expiry_of_the_original(cast: Cast) -> None:
    w = cast.w
    org = cast.organisation("ncg-expiry-rewrap", cast.bert, cast.cees)
    dossier, _ = cast.shared(org, ("a.pdf", b"a"), expires_in=3600)
    expires = Grant.decode(w.db.grants(dossier, org.org_id)[0]["grant"]).expires_at
    cast.ada.client.remove_member(org.name, "cees")
    rewraps = [
        Grant.decode(r["grant"])
        for r in w.db.grants(dossier, org.org_id)
        if Grant.decode(r["grant"]).granter_id == bytes.fromhex(org.org_id)
    ]
    assert [g.expires_at for g in rewraps] == [expires]
    assert [d.name for d in opened(fresh(cast.bert), dossier)] == ["a.pdf"]


def test_the_server_cannot_strip_the_expiry_from_a_rewrap(cast: Cast) -> None:
    """A re-wrap that never expires, next to an original that does, is refused by members:
    not even a holder of the organisation's key (here its admin) can stretch a share."""
    w = cast.w
    org = cast.organisation("ncg-expiry-strip", cast.bert)
    dossier, _ = cast.shared(org, ("a.pdf", b"a"), expires_in=3600)
    ada = cast.ada.client
    current = ada.organisation(org.name)
    original = Grant.decode(w.db.grants(dossier, org.org_id)[0]["grant"])
    key = ada.keyring.open_organisation_grant(original.encode(), current, cast.anna.keys.public, [])
    assert key is not None
    forever = make_dossier_grant(
        current.current_keys(), current.identity, dossier_id=original.dossier_id, epoch=1,
        dossier_key=key[1], rights=Rights.READ, counter=1, issued_at=int(time.time()),
    )  # fmt: skip
    w.db.insert("grants", grant_row(forever, dossier, org.org_id, cast.ada.user_id))
    assert_fail_closed(cast.bert.run_cli("ls", dossier), "expires later than the original")


def test_the_unsigned_roster_gives_a_stranger_rows_but_no_keys(cast: Cast) -> None:
    """The operator puts mallory in ncg's roster: she sees the rows, opens nothing."""
    w = cast.w
    org = cast.organisation("ncg-stranger", cast.bert)
    dossier, [doc] = cast.shared(org, ("a.pdf", b"a"))
    w.db.insert("org_members", {"org_id": org.org_id, "user_id": w.mallory.user_id,
                                "role": 2, "added_at": 0})  # fmt: skip
    target = out_path(w, "a.pdf")
    assert_fail_closed(w.mallory.run_cli("get", doc, "-o", str(target)), "no key", output=target)
    with pytest.raises(SecurityError):
        opened(fresh(w.mallory), dossier)
