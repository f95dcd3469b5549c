"""Signed statements about organisations that come from someone without the right to make them.

A valid signature proves who signed, not that they were allowed to (issue 13, attacks 4-6):

- a receipt signed by an organisation counts only if the dossier's owner shared the documents
  it lists with that organisation, by a grant in force at the receipt's time;
- a share listed in an organisation's inbox counts only if the owner's signed grant names the
  organisation (its id and one of its epoch keys) and its key opens with the organisation's keys;
- `Client.share(target, "@name")` refuses an organisation nobody verified, as
  `share_with_organisation` does: one path to a grant to an organisation.

Real server process; the operator rewrites rows with the harness's `Db`, helped by an
accomplice organisation whose keys it holds (mallory is its only admin, and the operator
records its fingerprint as verified, as `kluis server admin verify-org` would).
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass

import pytest

from client_sdk.sharing import UnverifiedOrganisation
from vault.errors import SecurityError
from vault.grant import make_dossier_grant
from vault.header import DocumentHeader, header_hash
from vault.keys import PrivateIdentity
from vault.kinds import Rights
from vault.receipt import Receipt, ReceiptEntry, make_receipt

from .harness import Person, World, assert_fail_closed, opened
from .test_organisations import Cast, Org, cast, fresh, grant_row, world

__all__ = ["cast", "world"]

DAY = 86_400


# -- the accomplice organisation ----------------------------------------------------------------
@dataclass
class Accomplice:
    org: Org
    keys: PrivateIdentity  # its current epoch's private keys (mallory holds them)
    fingerprint_id: bytes

    def receipt(
        self,
        w: World,
        dossier: str,
        entries: list[ReceiptEntry],
        opened_at: int | None = None,
    ) -> str:
        """Sign a receipt over `entries` and file it in the dossier, as the operator can."""
        data = make_receipt(
            self.keys,
            org_fingerprint=self.fingerprint_id,
            member=w.mallory.keys.public,
            dossier_id=bytes.fromhex(dossier),
            opened_at=int(time.time()) if opened_at is None else opened_at,
            entries=entries,
        )
        receipt_id = Receipt.decode(data).receipt_id.hex()
        w.db.insert(
            "receipts",
            {
                "receipt_id": receipt_id,
                "dossier_id": dossier,
                "org_id": self.org.org_id,
                "submitted_by": w.mallory.user_id,
                "receipt": data,
                "created_at": int(time.time()),
            },
        )
        return receipt_id


def accomplice(w: World, name: str) -> Accomplice:
    """An organisation mallory made, marked verified by the operator."""
    made = w.mallory.client.create_organisation(name, "institution")
    w.db.execute(
        "UPDATE organisations SET verified_fingerprint = ? WHERE org_id = ?",
        made.fingerprint,
        made.org_id,
    )
    org = w.mallory.client.organisation(name)
    return Accomplice(
        Org(name, org.org_id, org.fingerprint), org.current_keys(), org.chain.fingerprint_id
    )


def real_entries(w: World, *documents: str, version: int = 1) -> list[ReceiptEntry]:
    """The true payload and header hashes of document versions, read from the server's rows."""
    out = []
    for document_id in documents:
        header = w.db.header(document_id, version)
        out.append(
            ReceiptEntry(
                bytes.fromhex(document_id),
                version,
                DocumentHeader.decode(header).payload_hash,
                header_hash(header),
            )
        )
    return out


def status_of(person: Person, dossier: str, receipt_id: str) -> str:
    [view] = [v for v in fresh(person).receipts(dossier) if v.receipt_id == receipt_id]
    assert not view.ok or view.status == "verified"
    return view.status


def refused_receipt(person: Person, dossier: str, receipt_id: str, reason: str) -> None:
    """The receipt is listed as FAILED for `reason`, and `kluis receipts` exits 3."""
    status = status_of(person, dossier, receipt_id)
    assert status.startswith("FAILED") and re.search(reason, status), status
    result = person.run_cli("receipts", dossier)
    assert_fail_closed(result, "receipt")
    assert "FAILED" in result.stdout
    listed = person.run_cli("receipts", dossier, "--json")
    assert listed.returncode == 3
    [row] = [r for r in json.loads(listed.stdout) if r["receipt_id"] == receipt_id]
    assert row["status"] == status


# -- attack 4: a receipt from an organisation that was never given the dossier ------------------
@pytest.mark.parametrize(
    "how", ["never-shared", "its-grant-from-another-dossier", "a-persons-grant-refiled"]
)
def test_a_receipt_from_an_organisation_never_given_the_dossier_is_not_verified(
    cast: Cast, how: str
) -> None:
    """The accomplice signs, with its own genuine keys, a receipt over the dossier's real
    header and payload hashes. It holds no grant from anna for this dossier; the operator may
    file one of anna's grants from elsewhere under its id, which says nothing."""
    w = cast.w
    acc = accomplice(w, f"acc-{how[:12]}-{os.urandom(2).hex()}")
    dossier, ids = w.dossier_with(("rapport.pdf", b"rapport"), ("foto.jpg", b"foto"))
    if how == "its-grant-from-another-dossier":
        other, _ = w.dossier_with(("x.pdf", b"x"))
        cast.anna.client.share_with_organisation(other, acc.org.name)
        [row] = w.db.grants(other, acc.org.org_id)
        w.db.insert("grants", {**row, "grant_id": os.urandom(16).hex(), "dossier_id": dossier})
    elif how == "a-persons-grant-refiled":
        cast.anna.client.share(dossier, "bob")
        [row] = w.db.grants(dossier, w.bob.user_id)
        w.db.insert(
            "grants",
            {**row, "grant_id": os.urandom(16).hex(), "recipient_id": acc.org.org_id},
        )
    forged = acc.receipt(w, dossier, real_entries(w, *ids))
    refused_receipt(cast.anna, dossier, forged, "not shared|no grant")
    views = fresh(cast.anna).receipts(dossier)
    assert [v.ok for v in views] == [False]


@pytest.mark.parametrize("when", ["before-the-share", "after-it-expired"])
def test_a_receipt_dated_outside_the_share_is_not_verified(cast: Cast, when: str) -> None:
    """The accomplice was given the dossier, but dates its receipt a day before the share,
    or a day after the share's signed expiry."""
    w = cast.w
    acc = accomplice(w, f"acc-{when[:6]}-{os.urandom(2).hex()}")
    dossier, ids = w.dossier_with(("rapport.pdf", b"rapport"))
    expires_at = int(time.time()) + 3600 if when == "after-it-expired" else 0
    cast.anna.client.share_with_organisation(dossier, acc.org.name, expires_at=expires_at)
    opened_at = int(time.time()) - DAY if when == "before-the-share" else expires_at + DAY
    forged = acc.receipt(w, dossier, real_entries(w, *ids), opened_at=opened_at)
    genuine = acc.receipt(w, dossier, real_entries(w, *ids))  # now: within the share
    refused_receipt(cast.anna, dossier, forged, "no share|not in force|before|expired")
    assert status_of(cast.anna, dossier, genuine) == "verified"


def test_a_receipt_for_documents_beyond_a_document_share_is_not_verified(cast: Cast) -> None:
    """anna shares one document with the accomplice; it signs for that one and another."""
    w = cast.w
    acc = accomplice(w, f"acc-doc-{os.urandom(2).hex()}")
    dossier, [shared, private] = w.dossier_with(("brief.pdf", b"brief"), ("prive.pdf", b"p"))
    cast.anna.client.share_with_organisation(shared, acc.org.name)
    too_much = acc.receipt(w, dossier, real_entries(w, shared, private))
    just_that = acc.receipt(w, dossier, real_entries(w, shared))
    refused_receipt(cast.anna, dossier, too_much, f"{private[:8]}.*not shared")
    assert status_of(cast.anna, dossier, just_that) == "verified"


def test_a_receipt_dated_after_a_revoke_is_not_verified_even_with_the_old_rows_back(
    cast: Cast,
) -> None:
    """The accomplice had the dossier and left a genuine receipt; anna revokes it and adds a
    document; the operator gives its old grant rows back and it signs for the new document.
    anna's device, and a second device of anna's that never saw the revoke, refuse it (the
    dossier's next epoch began without a grant to the accomplice); the genuine receipt from
    before the revoke stays verified on the device that revoked."""
    w = cast.w
    acc = accomplice(w, f"acc-revoked-{os.urandom(2).hex()}")
    dossier, _ = w.dossier_with(("oud.pdf", b"before the revoke"))
    cast.anna.client.share_with_organisation(dossier, acc.org.name)
    opened(w.mallory.client, dossier)  # mallory's client signs a genuine receipt
    [genuine] = [r["receipt_id"] for r in w.db.dicts(
        "SELECT receipt_id FROM receipts WHERE dossier_id = ?", dossier)]  # fmt: skip
    rows = w.db.grants(dossier, acc.org.org_id)
    assert rows
    cast.anna.client.revoke(dossier, f"@{acc.org.name}")
    assert w.db.grants(dossier, acc.org.org_id) == []
    assert status_of(cast.anna, dossier, genuine) == "verified"
    time.sleep(1.1)
    new = cast.anna.client.add(dossier, w.file("nieuw.pdf", b"after the revoke")).document_id
    w.db.insert("grants", rows)  # the operator gives the old rows back
    forged = acc.receipt(w, dossier, real_entries(w, new), opened_at=int(time.time()) + 600)
    refused_receipt(cast.anna, dossier, forged, "no share|not in force|revoked|epoch")
    laptop = w.person("anna", register=False, profile=f"anna-laptop-{os.urandom(2).hex()}")
    laptop.client.login("anna", laptop.passphrase)
    refused_receipt(laptop, dossier, forged, "no share|not in force|revoked|epoch")
    assert status_of(laptop, dossier, genuine) == "verified"  # the rows it was made under


def test_only_the_owner_checks_receipts(cast: Cast) -> None:
    """A grantee cannot see the owner's grants, so it cannot tell a receipt's right: it is told
    so (a user error), not shown receipts as verified."""
    w = cast.w
    org = cast.organisation(f"ncg-grantee-{os.urandom(2).hex()}", cast.bert)
    dossier, _ = cast.shared(org, ("a.pdf", b"a"))
    cast.anna.client.share(dossier, "bob")
    opened(cast.bert.client, dossier)  # a genuine receipt
    result = w.bob.run_cli("receipts", dossier)
    assert result.returncode == 1 and "owner" in result.stderr, result
    assert fresh(cast.anna).receipts(dossier)[0].ok


def test_receipts_are_not_judged_without_the_owners_own_grant_of_an_epoch(cast: Cast) -> None:
    """When each epoch began is read from anna's own grants; the operator withholds her grant
    of epoch 1 (after a revoke made epoch 2): no receipt is judged, the command exits 3."""
    w = cast.w
    org = cast.organisation(f"ncg-epochs-{os.urandom(2).hex()}", cast.bert)
    dossier, _ = cast.shared(org, ("a.pdf", b"a"))
    cast.anna.client.share(dossier, "bob")
    opened(cast.bert.client, dossier)
    cast.anna.client.revoke(dossier, "bob")
    assert [v.ok for v in fresh(cast.anna).receipts(dossier)] == [True]
    w.db.execute(
        "DELETE FROM grants WHERE dossier_id = ? AND recipient_id = ? AND number = 1",
        dossier,
        cast.anna.user_id,
    )
    with pytest.raises(SecurityError, match="epoch 1"):
        fresh(cast.anna).receipts(dossier)
    assert_fail_closed(cast.anna.run_cli("receipts", dossier), "withholds your own grant")


# -- attack 5: an inbox entry that was never shared with the organisation -------------------------
@pytest.mark.parametrize(
    "how", ["a-persons-grant", "another-organisations-grant", "signed-by-a-claimed-owner"]
)
def test_an_inbox_entry_not_sealed_to_the_organisation_is_failed(cast: Cast, how: str) -> None:
    """The operator re-files a grant with ncg as its recipient: anna's grant to bob, anna's
    grant to another organisation, or a grant mallory signed while the server names her the
    dossier's owner (bert's device knows it is anna's)."""
    w = cast.w
    org = cast.organisation(f"ncg-inbox-{how[:10]}-{os.urandom(2).hex()}", cast.bert)
    shared, _ = cast.shared(org, ("echt.pdf", b"really shared"))
    dossier, _ = w.dossier_with(("geheim.pdf", b"never shared with ncg"))
    if how == "a-persons-grant":
        cast.anna.client.share(dossier, "bob")
        [row] = w.db.grants(dossier, w.bob.user_id)
    elif how == "another-organisations-grant":
        other = cast.organisation(f"other-{os.urandom(2).hex()}", cast.cees)
        cast.anna.client.share_with_organisation(dossier, other.name)
        [row] = w.db.grants(dossier, other.org_id)
    else:
        cast.anna.client.share(dossier, "bert")
        opened(cast.bert.client, dossier)  # bert's device pins anna as the owner
        identity = cast.anna.client.organisation(org.name).identity
        forged = make_dossier_grant(
            w.mallory.keys, identity, dossier_id=bytes.fromhex(dossier), epoch=1,
            dossier_key=os.urandom(32), rights=Rights.WRITE, counter=1,
            issued_at=int(time.time()),
        )  # fmt: skip
        row = grant_row(forged, dossier, org.org_id, w.mallory.user_id)
        w.db.execute(
            "UPDATE dossiers SET owner_id = ? WHERE dossier_id = ?", w.mallory.user_id, dossier
        )
    w.db.insert("grants", {**row, "grant_id": os.urandom(16).hex(), "recipient_id": org.org_id})
    items = [i for i in fresh(cast.bert).inbox(org.name) if i.dossier_id == dossier]
    assert [i.ok for i in items] == [False], items
    assert re.search("addressed to|not .*organisation|owner|not sealed", items[0].status), items[
        0
    ].status
    result = cast.bert.run_cli("inbox", "--org", org.name)
    assert_fail_closed(result, "do not verify")
    rows = [line for line in result.stdout.splitlines() if dossier[:12] in line]
    assert rows and all("FAILED" in line for line in rows), result.stdout
    genuine = [i for i in fresh(cast.bert).inbox(org.name) if i.dossier_id == shared]
    assert [i.status for i in genuine] == ["verified"]


def test_a_member_who_joined_after_a_rotation_sees_the_share_through_its_rewrap(
    cast: Cast,
) -> None:
    """dave joins ncg after a removal: he holds only epoch 2's keys. anna's original grant
    (sealed to epoch 1) is verified through its re-wrap for epoch 2; without the re-wrap (the
    operator withholds it) it opens with nothing dave holds, and is listed as FAILED."""
    w = cast.w
    name = f"ncg-late-{os.urandom(2).hex()}"
    org = cast.organisation(name, cast.bert, cast.cees)
    dossier, _ = cast.shared(org, ("a.pdf", b"a"))
    cast.ada.client.remove_member(name, "cees")
    dave = w.person(f"dave-{os.urandom(2).hex()}")
    cast.ada.client.add_member(name, dave.name)
    [item] = [i for i in fresh(dave).inbox(name) if i.dossier_id == dossier]
    assert item.status == "verified" and item.sender == "anna"
    w.db.execute(
        "DELETE FROM grants WHERE dossier_id = ? AND granter_id != ?", dossier, cast.anna.user_id
    )
    [item] = [i for i in fresh(dave).inbox(name) if i.dossier_id == dossier]
    assert item.status.startswith("FAILED") and "epoch" in item.status, item.status
    assert_fail_closed(dave.run_cli("inbox", "--org", name), "do not verify")


def test_a_personal_share_signed_by_someone_but_the_owner_is_failed(cast: Cast) -> None:
    """The same mistake in the personal inbox: mallory signs a grant of anna's dossier to bob
    (a key of her choosing) and the operator files it. bob's device knows the dossier as
    anna's: `kluis inbox` lists it as FAILED and `kluis shared` refuses, both exit 3."""
    w = cast.w
    dossier, _ = w.dossier_with(("a.pdf", b"a"))
    cast.anna.client.share(dossier, "bob")
    opened(fresh(w.bob), dossier)  # bob's device pins anna as the owner
    forged = make_dossier_grant(
        w.mallory.keys, w.bob.keys.public, dossier_id=bytes.fromhex(dossier), epoch=1,
        dossier_key=os.urandom(32), rights=Rights.WRITE, counter=7, issued_at=int(time.time()),
    )  # fmt: skip
    w.db.insert("grants", grant_row(forged, dossier, w.bob.user_id, w.mallory.user_id))
    items = [i for i in fresh(w.bob).inbox() if i.dossier_id == dossier]
    assert sorted(i.status.split(":")[0] for i in items) == ["FAILED", "verified"], items
    [failed] = [i for i in items if not i.ok]
    assert "owner" in failed.status and failed.rights == "write"
    assert_fail_closed(w.bob.run_cli("inbox"), "do not verify")
    assert_fail_closed(w.bob.run_cli("shared"), "owner")


# -- attack 6: `Client.share` with "@name" skips the organisation check ---------------------------
@pytest.mark.parametrize("what", ["dossier", "dossier-with-write", "document"])
def test_the_sdk_share_refuses_an_unverified_organisation(cast: Cast, what: str) -> None:
    """A program using the SDK shares with "@name" directly: the same check as
    `share_with_organisation`, and nothing is filed."""
    w = cast.w
    org = cast.organisation(f"unverified-{what[:8]}-{os.urandom(2).hex()}", verified=False)
    dossier, [doc] = w.dossier_with(("a.pdf", b"a"))
    target = doc if what == "document" else dossier
    before = len(w.db.grants(dossier))
    with pytest.raises(UnverifiedOrganisation, match="not verified"):
        fresh(cast.anna).share(target, f"@{org.name}", write=what == "dossier-with-write")
    with pytest.raises(UnverifiedOrganisation, match="not verified"):
        fresh(cast.anna).share_with_organisation(target, org.name)
    assert len(w.db.grants(dossier)) == before  # no grant was filed
    result = fresh(cast.anna).share(target, f"@{org.name}", allow_unverified=True)
    assert result.grants == 1 and not result.recipient_verified
    assert [g.recipient_id.hex() for g in w.db.signed_grants(dossier, org.org_id)] == [org.org_id]


def test_the_sdk_share_with_a_verified_organisation_works(cast: Cast) -> None:
    w = cast.w
    org = cast.organisation(f"verified-sdk-{os.urandom(2).hex()}", cast.bert)
    dossier, _ = w.dossier_with(("a.pdf", b"a"))
    result = fresh(cast.anna).share(dossier, f"@{org.name}")
    assert result.recipient_verified and result.grants == 1
    assert [d.name for d in opened(fresh(cast.bert), dossier)] == ["a.pdf"]
