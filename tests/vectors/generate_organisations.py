"""Write the test vectors of docs/format.md sections 14-15 (organisation key chain, membership,
re-wrapped grant, receipt) into tests/vectors/, one JSON file per scenario.

Run by hand, never by the tests:  .venv/bin/python tests/vectors/generate_organisations.py
Every input is fixed (identities, ids, keys, times); sealed boxes use fixed ephemeral keys as in
generate_structures.py, so running it again writes the same bytes. Fields are described in
tests/vectors/README.md.
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path
from typing import Any

import nacl.bindings
import nacl.public

# Run as a script from the repository root: tests/vectors is on sys.path. The same fixed
# identities, seeds and file writer as the section 7-9 vectors.
from generate_structures import (  # type: ignore[import-not-found]
    ALICE,
    BOB,
    CAROL,
    MALLORY,
    flip,
    private_json,
    seed,
    write,
)

from vault import labels
from vault.grant import NO_DOCUMENT, Grant, _grant_from_parts
from vault.grant import dossier_key_commitment as commitment
from vault.keys import Identity, PrivateIdentity
from vault.kinds import GrantKind, OrgKind, Rights, Role
from vault.organisation import (
    Membership,
    OrgKeys,
    make_membership,
    new_organisation,
    next_epoch,
    verify_chain,
)
from vault.receipt import Receipt, ReceiptEntry, make_receipt

OUT = Path(__file__).resolve().parent
PREFIXES = ("organisation", "membership", "rewrap", "receipt")

ORG_ID = bytes.fromhex("0a9a0000000000000000000000000001")
OTHER_ORG_ID = bytes.fromhex("0a9a0000000000000000000000000002")
DOSSIER_ID = bytes.fromhex("d0551e00000000000000000000000001")
DOCUMENT_A = bytes.fromhex("d0c00000000000000000000000000a0a")
DOCUMENT_B = bytes.fromhex("d0c00000000000000000000000000b0b")
NOW = 1_717_171_717
ROTATED = NOW + 3600


IDENTITIES = {p.user_id: p.public for p in (ALICE, BOB, CAROL, MALLORY)}

# The organisation "ncg": Alice (admin) made epoch 1, Bob is a member; Alice removed Carol
# (epoch 2). Epoch 2's keys are signed by epoch 1's.
ORG1, RECORD1 = new_organisation(
    ALICE,
    org_id=ORG_ID,
    name="ncg",
    kind=OrgKind.INSTITUTION,
    created_at=NOW,
    private_keys=seed("organisations/ncg/1", 96),
)
ORG2, RECORD2 = next_epoch(
    ALICE, ORG1, kind=OrgKind.INSTITUTION, created_at=ROTATED, private_keys=seed("org/ncg/2", 96)
)
CHAIN = verify_chain([RECORD1, RECORD2], author_of=IDENTITIES.__getitem__)


def seal_to(box_key: bytes, message: bytes, name: str) -> bytes:
    """crypto_box_seal with a fixed ephemeral key (see generate_structures.py)."""
    ephemeral = nacl.public.PrivateKey(seed(f"organisations/ephemeral/{name}", 32))
    epk = bytes(ephemeral.public_key)
    nonce = hashlib.blake2b(epk + box_key, digest_size=24).digest()
    return epk + nacl.bindings.crypto_box(message, nonce, box_key, bytes(ephemeral))


def identities_json(*people: PrivateIdentity) -> list[str]:
    return [p.public.encode().hex() for p in people]


def pin_json(records: list[bytes], *, hashes: bool = True) -> dict[str, Any]:
    """The pin a device keeps after verifying `records` (without record hashes: as an earlier
    client kept it)."""
    pin = verify_chain(records, author_of=IDENTITIES.__getitem__).pin()
    out: dict[str, Any] = {
        "fingerprint": pin.fingerprint,
        "epoch": pin.epoch,
        "key_id": pin.key_id.hex(),
    }
    if hashes:
        out["record_hashes"] = [h.hex() for h in pin.record_hashes]
    return out


# -- section 14.1-14.2 and 14.4: the key chain ----------------------------------------------------
def record(
    author: PrivateIdentity = ALICE,
    org: PrivateIdentity = ORG2,
    previous: PrivateIdentity | None = ORG1,
    *,
    kind: OrgKind = OrgKind.INSTITUTION,
    created_at: int = ROTATED,
    **change: Any,
) -> bytes:
    """An OrgKeys record built from parts, `change`d before signing (every signature valid)."""
    unsigned = OrgKeys(
        kind=kind,
        identity=org.public,
        previous_key_id=previous.public.key_id if previous else bytes(32),
        author_id=author.user_id,
        author_key_id=author.public.key_id,
        created_at=created_at,
        author_signature=b"",
        succession_signature=None,
    )
    unsigned = dataclasses.replace(unsigned, **change)
    body = unsigned.body()
    signed = body + author.sign(labels.ORGANISATION_KEYS_SIGNATURE, body)
    if previous is None:
        return signed
    return signed + previous.sign(labels.ORGANISATION_SUCCESSION_SIGNATURE, signed)


def org_vectors() -> None:
    def vector(
        name: str,
        description: str,
        expect: str,
        records: list[bytes],
        *,
        authors: tuple[PrivateIdentity, ...] = (ALICE, BOB),
        expected_name: str | None = "ncg",
        pin: dict[str, Any] | None = None,
        memberships: list[bytes] | None = None,
    ) -> None:
        fields: dict[str, Any] = {
            "records": [r.hex() for r in records],
            "author_identities": identities_json(*authors),
            "org_id": ORG_ID.hex(),
            "org_name": expected_name,
            "pin": pin,
            "memberships": [m.hex() for m in memberships] if memberships is not None else None,
        }
        if expect == "success":
            chain = verify_chain(records, author_of=IDENTITIES.__getitem__)
            fields["fingerprint"] = chain.fingerprint
            fields["fingerprint_digest"] = chain.fingerprint_digest.hex()
            fields["epoch"] = chain.epoch
            fields["key_id"] = chain.current.key_id.hex()
        write(f"organisation-{name}", "organisation", description, expect, **fields)

    pinned = pin_json([RECORD1])
    pinned2 = pin_json([RECORD1, RECORD2])
    org3, record3 = next_epoch(
        ALICE, ORG2, kind=OrgKind.INSTITUTION, created_at=ROTATED + 60,
        private_keys=seed("org/ncg/3", 96),
    )  # fmt: skip
    # Bob, an admin of epoch 1 whom epoch 2 removed, re-signs epoch 2's keys as his own epoch 2
    # (dated later), with the epoch-1 key he kept: every signature verifies, the key id is the
    # real one, the record is not.
    twin = record(BOB, ORG2, ORG1, created_at=2**40)
    # A server's own organisation under the same id and name: new keys, no succession.
    swapped, swapped_record = new_organisation(
        ALICE,
        org_id=ORG_ID,
        name="ncg",
        kind=OrgKind.INSTITUTION,
        created_at=NOW,
        private_keys=seed("organisations/server-swap", 96),
    )
    fork, fork_record = next_epoch(
        ALICE, ORG1, kind=OrgKind.INSTITUTION, created_at=ROTATED, private_keys=seed("fork", 96)
    )
    other2 = PrivateIdentity.from_private_keys(OTHER_ORG_ID, "ncg", 2, ORG2.private_keys())
    renamed2 = PrivateIdentity.from_private_keys(ORG_ID, "ncg-nl", 2, ORG2.private_keys())
    epoch3 = PrivateIdentity.from_private_keys(ORG_ID, "ncg", 3, ORG2.private_keys())
    bob_member = make_membership(
        ALICE, ORG1, BOB.public, role=Role.MEMBER, issued_at=NOW, sealed_keys=bytes(144)
    )
    bob_admin = make_membership(
        ALICE, ORG1, BOB.public, role=Role.ADMIN, issued_at=NOW, sealed_keys=bytes(144)
    )
    by_bob = record(BOB)
    bad_identity = bytearray(RECORD1)
    bad_identity[-64 - 8 - 32 - 16 - 32 - 1] ^= 0x01  # last byte of the identity's signature
    cases: list[tuple[str, str, str, list[bytes], dict[str, Any]]] = [
        ("success-genesis", "epoch 1 alone, made by Alice", "success", [RECORD1], {}),
        ("success-two-epochs", "epoch 2 signed by Alice and by epoch 1's key", "success",
         [RECORD1, RECORD2], {"pin": pinned}),
        ("success-admin-rotates", "epoch 2 made by Bob, whom Alice made admin in epoch 1",
         "success", [RECORD1, by_bob], {"memberships": [bob_admin]}),
        ("wrong-magic", "magic KLOX", "MalformedError", [b"KLOX" + RECORD1[4:]], {}),
        ("wrong-version", "format version 2", "MalformedError",
         [RECORD1[:4] + b"\x02" + RECORD1[5:]], {}),
        ("kind-invalid", "kind 9, re-signed by the author", "MalformedError",
         [record(ALICE, ORG1, None, created_at=NOW, kind=9)], {}),  # type: ignore[arg-type]
        ("trailing-byte", "one byte after epoch 1", "MalformedError", [RECORD1 + b"\x00"], {}),
        ("truncated", "epoch 2 without its succession signature", "MalformedError",
         [RECORD1, RECORD2[:-64]], {}),
        ("identity-bad-signature", "the embedded identity record's self-signature broken",
         "SignatureError", [bytes(bad_identity)], {}),
        ("epoch-one-with-previous", "epoch 1 naming a previous key", "MalformedError",
         [record(ALICE, ORG1, None, created_at=NOW, previous_key_id=b"\x01" * 32)], {}),
        ("epoch-gap", "epochs 1 and 3", "IntegrityError",
         [RECORD1, record(org=epoch3, previous=ORG2)], {}),
        ("epoch-repeated", "epoch 1 twice", "IntegrityError", [RECORD1, RECORD1], {}),
        ("other-organisation", "epoch 2 of another organisation id, chained", "IntegrityError",
         [RECORD1, record(org=other2)], {}),
        ("renamed", "epoch 2 under another name, chained", "IntegrityError",
         [RECORD1, record(org=renamed2)], {}),
        ("previous-key-id-wrong", "epoch 2 names other previous keys, signed", "IntegrityError",
         [RECORD1, record(previous_key_id=b"\x02" * 32)], {}),
        ("succession-bad-signature", "epoch 2's succession made by a key not epoch 1's",
         "SignatureError", [RECORD1, record(previous=swapped, previous_key_id=ORG1.public.key_id)],
         {}),
        ("author-bad-signature", "author signature flipped", "SignatureError",
         [RECORD1[:-1] + bytes([RECORD1[-1] ^ 1])], {}),
        ("author-other-keys", "epoch 1 names Mallory's keys under Alice's id", "KeyMismatchError",
         [record(ALICE, ORG1, None, created_at=NOW, author_key_id=MALLORY.public.key_id)], {}),
        ("wrong-name", "the chain of ncg asked for as img", "KeyMismatchError", [RECORD1],
         {"expected_name": "img"}),
        ("pin-keys-swapped", "the server's own keys for a pinned organisation",
         "KeyMismatchError", [swapped_record], {"pin": pinned}),
        ("success-pin-without-record-hashes", "epochs 1-2, pinned at epoch 1 by a client that "
         "kept no record hashes", "success", [RECORD1, RECORD2],
         {"pin": pin_json([RECORD1], hashes=False)}),
        ("success-pin-epoch-three", "epochs 1-3, all of them seen before", "success",
         [RECORD1, RECORD2, record3], {"pin": pin_json([RECORD1, RECORD2, record3])}),
        ("pin-rollback", "epoch 1 only, after this device saw epoch 2", "RollbackError",
         [RECORD1], {"pin": pinned2}),
        ("pin-fork", "another epoch 2, also signed by epoch 1, after this device saw the first",
         "KeyMismatchError", [RECORD1, fork_record], {"pin": pinned2}),
        ("pin-fork-same-keys", "epoch 2's keys re-signed by Bob (removed) with epoch 1's key, "
         "after this device saw Alice's epoch 2", "KeyMismatchError", [RECORD1, twin],
         {"pin": pinned2}),
        ("pin-fork-below-pin", "epoch 2 re-signed by Bob under the real epoch 3, after this "
         "device saw epochs 1-3", "KeyMismatchError", [RECORD1, twin, record3],
         {"pin": pin_json([RECORD1, RECORD2, record3])}),
        ("author-not-admin", "epoch 2 made by Bob, a plain member of epoch 1", "IntegrityError",
         [RECORD1, by_bob], {"memberships": [bob_member]}),
    ]  # fmt: skip
    del swapped, fork, org3
    for name, description, expect, records, extra in cases:
        vector(name, description, expect, records, **extra)


# -- section 14.3: membership ---------------------------------------------------------------------
def membership(
    admin: PrivateIdentity = ALICE,
    org: PrivateIdentity = ORG2,
    member: PrivateIdentity = BOB,
    role: Role = Role.MEMBER,
    sealed: bytes | None = None,
    **change: Any,
) -> bytes:
    sealed = sealed or seal_to(member.public.box_key, org.private_keys(), f"{member.username}")
    data = make_membership(
        admin, org, member.public, role=role, issued_at=ROTATED, sealed_keys=sealed
    )
    if not change:
        return data
    changed = dataclasses.replace(Membership.decode(data), **change)
    body = changed.body()
    return body + admin.sign(labels.MEMBERSHIP_SIGNATURE, body)


def resigned(data: bytes, signer: PrivateIdentity = ALICE, **change: Any) -> bytes:
    body = dataclasses.replace(Membership.decode(data), **change).body()
    return body + signer.sign(labels.MEMBERSHIP_SIGNATURE, body)


def membership_vectors() -> None:
    good = membership()

    def vector(
        name: str,
        description: str,
        expect: str,
        data: bytes,
        member: PrivateIdentity = BOB,
        admin: PrivateIdentity = ALICE,
    ) -> None:
        fields: dict[str, Any] = {
            "membership": data.hex(),
            "records": [RECORD1.hex(), RECORD2.hex()],
            "author_identities": identities_json(ALICE),
            "epoch": 2,
            "member": private_json(member),
            "admin_identity": admin.public.encode().hex(),
        }
        if expect == "success":
            fields["role"] = Membership.decode(data).role
            fields["org_private_keys"] = ORG2.private_keys().hex()
        write(f"membership-{name}", "membership", description, expect, **fields)

    cases: list[tuple[str, str, str, bytes, dict[str, Any]]] = [
        ("success", "Alice gives Bob epoch 2's keys", "success", good, {}),
        ("success-admin", "Alice makes Carol an admin of epoch 2", "success",
         membership(member=CAROL, role=Role.ADMIN), {"member": CAROL}),
        ("wrong-magic", "magic KLOX", "MalformedError", b"KLOX" + good[4:], {}),
        ("wrong-version", "format version 2", "MalformedError", good[:4] + b"\x02" + good[5:], {}),
        ("trailing-byte", "one byte after the signature", "MalformedError", good + b"\x00", {}),
        ("truncated", "last byte missing", "MalformedError", good[:-1], {}),
        ("role-invalid", "role 3, re-signed", "MalformedError", resigned(good, role=3), {}),
        ("epoch-zero", "epoch 0, re-signed", "MalformedError", membership(epoch=0), {}),
        ("other-epoch", "says epoch 1, with epoch 2's key id, re-signed", "IntegrityError",
         membership(epoch=1), {}),
        ("other-organisation", "another organisation id, re-signed", "IntegrityError",
         membership(org_id=OTHER_ORG_ID), {}),
        ("org-key-id-wrong", "names epoch 1's key id, re-signed", "IntegrityError",
         membership(org_key_id=ORG1.public.key_id), {}),
        ("wrong-member", "addressed to Carol, opened by Bob", "KeyMismatchError",
         membership(member=CAROL), {}),
        ("wrong-admin", "signed by Mallory, who names herself, checked against Alice",
         "KeyMismatchError", membership(admin=MALLORY), {}),
        ("bad-signature", "issued_at changed, not re-signed", "SignatureError",
         Membership.decode(good).body()[:-152] + (1).to_bytes(8, "big")
         + Membership.decode(good).sealed_keys + Membership.decode(good).signature, {}),
        ("signed-by-other-key", "names Alice, signed by Mallory", "SignatureError",
         good[:-64] + MALLORY.sign(labels.MEMBERSHIP_SIGNATURE, good[:-64]), {}),
        ("tampered-sealed-keys", "one bit of sealed_keys flipped, re-signed", "IntegrityError",
         membership(sealed=flip(seal_to(BOB.public.box_key, ORG2.private_keys(), "bob"), 50)),
         {}),
        ("sealed-other-keys", "epoch 1's private keys sealed, re-signed", "KeyMismatchError",
         membership(sealed=seal_to(BOB.public.box_key, ORG1.private_keys(), "epoch1")), {}),
    ]  # fmt: skip
    for name, description, expect, data, extra in cases:
        vector(name, description, expect, data, **extra)


# -- section 14.5: re-wrapped grants --------------------------------------------------------------
DOSSIER_KEY = seed("organisations/dossier-key", 32)


def grant(
    granter: PrivateIdentity,
    recipient: PrivateIdentity,
    *,
    rights: Rights = Rights.READ,
    expires_at: int = ROTATED + 86_400,
    number: int = 1,
    key: bytes = DOSSIER_KEY,
    name: str = "grant",
) -> bytes:
    return _grant_from_parts(
        granter,
        recipient.public,
        grant_id=seed(f"organisations/grant-id/{name}", 16),
        kind=GrantKind.DOSSIER,
        dossier_id=DOSSIER_ID,
        document_id=NO_DOCUMENT,
        number=number,
        rights=rights,
        issued_at=NOW,
        expires_at=expires_at,
        counter=1,
        key_commitment=commitment(key, DOSSIER_ID, number),
        sealed_key=seal_to(recipient.public.box_key, key, name),
    )


def rewrap_vectors() -> None:
    original = grant(ALICE, ORG1, name="original")

    def vector(name: str, description: str, expect: str, rewrap: bytes) -> None:
        fields = {
            "original": original.hex(),
            "owner_identity": ALICE.public.encode().hex(),
            "rewrap": rewrap.hex(),
            "org_id": ORG_ID.hex(),
            "records": [RECORD1.hex(), RECORD2.hex()],
            "author_identities": identities_json(ALICE),
            "org_private": private_json(ORG2),
            "now": ROTATED,
        }
        if expect == "success":
            fields["key"] = DOSSIER_KEY.hex()
        write(f"rewrap-{name}", "rewrap", description, expect, **fields)

    cases = [
        ("success", "Alice's grant to epoch 1, re-wrapped by epoch 2 for itself", "success",
         grant(ORG2, ORG2, name="rewrap")),
        ("more-rights", "write where the original gives read", "IntegrityError",
         grant(ORG2, ORG2, rights=Rights.WRITE, name="rights")),
        ("later-expiry", "never expires where the original does", "IntegrityError",
         grant(ORG2, ORG2, expires_at=0, name="expiry")),
        ("other-epoch", "dossier epoch 2 where the original gives epoch 1", "IntegrityError",
         grant(ORG2, ORG2, number=2, name="number")),
        ("other-key", "another dossier key (and its commitment)", "IntegrityError",
         grant(ORG2, ORG2, key=seed("organisations/other-key", 32), name="key")),
        ("signed-by-old-epoch", "re-wrapped by epoch 1 (a former member) for epoch 2",
         "KeyMismatchError", grant(ORG1, ORG2, name="old")),
    ]  # fmt: skip
    for name, description, expect, data in cases:
        vector(name, description, expect, data)
    assert Grant.decode(original).recipient_id == ORG_ID


# -- section 15: receipts ------------------------------------------------------------------------
ENTRIES = (
    ReceiptEntry(DOCUMENT_A, 1, seed("payload/a", 32), seed("header/a", 32)),
    ReceiptEntry(DOCUMENT_B, 3, seed("payload/b", 32), seed("header/b", 32)),
)


def receipt(org: PrivateIdentity = ORG2, opened_at: int = ROTATED + 60, **change: Any) -> bytes:
    data = make_receipt(
        org,
        org_fingerprint=CHAIN.fingerprint_id,
        member=BOB.public,
        dossier_id=DOSSIER_ID,
        opened_at=opened_at,
        entries=ENTRIES,
        receipt_id=seed("organisations/receipt-id", 16),
    )
    if not change:
        return data
    changed = dataclasses.replace(Receipt.decode(data), **change)
    body = changed.body()
    return body + org.sign(labels.RECEIPT_SIGNATURE, body)


def receipt_vectors() -> None:
    good = receipt()

    def vector(name: str, description: str, expect: str, data: bytes, **extra: Any) -> None:
        fields: dict[str, Any] = {
            "receipt": data.hex(),
            "dossier_id": DOSSIER_ID.hex(),
            "records": [RECORD1.hex(), RECORD2.hex()],
            "author_identities": identities_json(ALICE),
            **extra,
        }
        if expect == "success":
            r = Receipt.decode(data)
            fields["epoch"] = r.epoch
            fields["opened_at"] = r.opened_at
            fields["entries"] = [
                {
                    "document_id": e.document_id.hex(),
                    "version": e.version,
                    "payload_hash": e.payload_hash.hex(),
                    "header_hash": e.header_hash.hex(),
                }
                for e in r.entries
            ]
        write(f"receipt-{name}", "receipt", description, expect, **fields)

    body = Receipt.decode(good).body()
    cases: list[tuple[str, str, str, bytes, dict[str, Any]]] = [
        ("success", "signed by epoch 2 for two document versions", "success", good, {}),
        ("success-before-rotation", "signed by epoch 1 before epoch 2 existed", "success",
         receipt(ORG1, opened_at=NOW + 60), {}),
        ("wrong-magic", "magic KLRX", "MalformedError", b"KLRX" + good[4:], {}),
        ("wrong-version", "format version 2", "MalformedError", good[:4] + b"\x02" + good[5:], {}),
        ("trailing-byte", "one byte after the signature", "MalformedError", good + b"\x00", {}),
        ("truncated", "last byte missing", "MalformedError", good[:-1], {}),
        ("no-entries", "zero entries, re-signed", "MalformedError", receipt(entries=()), {}),
        ("entries-unsorted", "entries in descending order, re-signed", "MalformedError",
         receipt(entries=ENTRIES[::-1]), {}),
        ("entries-duplicated", "the same version twice, re-signed", "MalformedError",
         receipt(entries=(ENTRIES[0], ENTRIES[0])), {}),
        ("version-zero", "an entry of version 0, re-signed", "MalformedError",
         receipt(entries=(dataclasses.replace(ENTRIES[0], version=0),)), {}),
        ("wrong-dossier", "checked as a receipt of another dossier", "IntegrityError", good,
         {"dossier_id": "d0551e00000000000000000000000002"}),
        ("other-organisation", "another organisation id, re-signed", "IntegrityError",
         receipt(org_id=OTHER_ORG_ID), {}),
        ("fingerprint-mismatch", "names another organisation fingerprint, re-signed",
         "KeyMismatchError", receipt(org_fingerprint=b"\x00" * 32), {}),
        ("unknown-epoch", "says epoch 3, re-signed", "KeyMismatchError", receipt(epoch=3), {}),
        ("key-id-mismatch", "epoch 2 with epoch 1's key id, re-signed", "KeyMismatchError",
         receipt(org_key_id=ORG1.public.key_id), {}),
        ("altered-entry", "a payload hash changed after signing", "SignatureError",
         flip(body, len(body) - 40) + Receipt.decode(good).signature, {}),
        ("altered-time", "opened_at changed after signing", "SignatureError",
         good[:5 + 16 + 16 + 32 + 4 + 32 + 16 + 32 + 16] + (1).to_bytes(8, "big")
         + good[5 + 16 + 16 + 32 + 4 + 32 + 16 + 32 + 16 + 8:], {}),
        ("signed-by-other-key", "signed by epoch 1's key, naming epoch 2", "SignatureError",
         body + ORG1.sign(labels.RECEIPT_SIGNATURE, body), {}),
        ("retired-key", "signed by epoch 1 after epoch 2 was made (a former member)",
         "KeyMismatchError", receipt(ORG1, opened_at=ROTATED + 5), {}),
    ]  # fmt: skip
    for name, description, expect, data, extra in cases:
        vector(name, description, expect, data, **extra)
    assert Identity.decode(ALICE.public.encode()) == ALICE.public


def main() -> None:
    for old in OUT.glob("*.json"):
        if old.name.split("-")[0] in PREFIXES:
            old.unlink()
    org_vectors()
    membership_vectors()
    rewrap_vectors()
    receipt_vectors()
    count = sum(1 for p in OUT.glob("*.json") if p.name.split("-")[0] in PREFIXES)
    print(f"wrote {count} organisation vector files to {OUT}")


if __name__ == "__main__":
    main()
