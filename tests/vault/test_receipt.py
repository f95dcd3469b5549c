"""vault.receipt: an organisation's signed receipt of what it received (format 15)."""

from __future__ import annotations

import dataclasses
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vault import labels
from vault.errors import (
    IntegrityError,
    KeyMismatchError,
    MalformedError,
    SecurityError,
    SignatureError,
)
from vault.keys import PrivateIdentity
from vault.kinds import OrgKind
from vault.organisation import OrgChain, new_organisation, next_epoch, verify_chain
from vault.receipt import MAX_ENTRIES, Receipt, ReceiptEntry, make_receipt, verify_receipt

NOW = 1_800_000_000
ALICE = PrivateIdentity.generate(os.urandom(16), "alice")
BOB = PrivateIdentity.generate(os.urandom(16), "bob")
ORG_ID, DOSSIER = os.urandom(16), os.urandom(16)
ORG1, REC1 = new_organisation(
    ALICE, org_id=ORG_ID, name="img", kind=OrgKind.INSTITUTION, created_at=NOW
)
ORG2, REC2 = next_epoch(ALICE, ORG1, kind=OrgKind.INSTITUTION, created_at=NOW + 100)
CHAIN1 = verify_chain([REC1], author_of=lambda _u: ALICE.public)
CHAIN2 = verify_chain([REC1, REC2], author_of=lambda _u: ALICE.public)
ENTRIES = [ReceiptEntry(os.urandom(16), v, os.urandom(32), os.urandom(32)) for v in (1, 2, 1)]


def receipt(
    org: PrivateIdentity = ORG2, chain: OrgChain = CHAIN2, opened_at: int = NOW + 200
) -> bytes:
    return make_receipt(
        org,
        org_fingerprint=chain.fingerprint_id,
        member=BOB.public,
        dossier_id=DOSSIER,
        opened_at=opened_at,
        entries=ENTRIES,
    )


def test_a_receipt_verifies_and_lists_what_was_received_in_order() -> None:
    data = receipt()
    r = verify_receipt(data, dossier_id=DOSSIER, chain=CHAIN2)
    assert r.epoch == 2 and r.member_id == BOB.user_id and r.opened_at == NOW + 200
    assert list(r.entries) == sorted(ENTRIES)
    assert Receipt.decode(data).encode() == data


def test_an_old_receipt_still_verifies_after_a_rotation() -> None:
    data = receipt(ORG1, CHAIN1, opened_at=NOW + 50)
    assert verify_receipt(data, dossier_id=DOSSIER, chain=CHAIN2).epoch == 1


def test_a_receipt_signed_in_the_second_of_the_rotation_still_verifies() -> None:
    data = receipt(ORG1, CHAIN1, opened_at=NOW + 100)  # epoch 2's created_at
    assert verify_receipt(data, dossier_id=DOSSIER, chain=CHAIN2).epoch == 1


def test_a_former_member_cannot_sign_with_the_retired_key_after_the_rotation() -> None:
    with pytest.raises(KeyMismatchError, match="after it was replaced"):
        verify_receipt(receipt(ORG1, CHAIN1), dossier_id=DOSSIER, chain=CHAIN2)


def test_a_receipt_made_up_by_the_server_does_not_verify() -> None:
    """The server signs with a key of its own, naming the organisation's epoch."""
    r = Receipt.decode(receipt())
    fake = PrivateIdentity.generate(ORG_ID, "img", 2)
    forged = r.body() + fake.sign(labels.RECEIPT_SIGNATURE, r.body())
    with pytest.raises(SignatureError):
        verify_receipt(forged, dossier_id=DOSSIER, chain=CHAIN2)


@pytest.mark.parametrize(
    "change",
    [
        {"opened_at": NOW + 1},
        {"member_id": ALICE.user_id},
        {"entries": tuple(sorted(ENTRIES))[:2]},
        {"entries": (dataclasses.replace(sorted(ENTRIES)[0], payload_hash=bytes(32)),)},
    ],
    ids=["time", "member", "dropped-entry", "payload-hash"],
)
def test_an_altered_receipt_does_not_verify(change: dict[str, object]) -> None:
    r = Receipt.decode(receipt())
    altered = dataclasses.replace(r, **change).encode()  # type: ignore[arg-type]
    with pytest.raises(SignatureError):
        verify_receipt(altered, dossier_id=DOSSIER, chain=CHAIN2)


def test_a_receipt_of_another_dossier_or_organisation_is_refused() -> None:
    with pytest.raises(IntegrityError, match="another dossier"):
        verify_receipt(receipt(), dossier_id=os.urandom(16), chain=CHAIN2)
    _, rec = new_organisation(
        ALICE, org_id=os.urandom(16), name="img", kind=OrgKind.INSTITUTION, created_at=NOW
    )
    other_chain = verify_chain([rec], author_of=lambda _u: ALICE.public)
    with pytest.raises(IntegrityError, match="another organisation"):
        verify_receipt(receipt(), dossier_id=DOSSIER, chain=other_chain)


def test_a_receipt_signed_for_an_epoch_the_chain_lacks_is_refused() -> None:
    """The server withholds epoch 2 from the resident: receipts of epoch 2 cannot verify."""
    with pytest.raises(KeyMismatchError, match="does not have"):
        verify_receipt(receipt(), dossier_id=DOSSIER, chain=CHAIN1)


def test_making_a_receipt_checks_its_inputs() -> None:
    def make(entries: list[ReceiptEntry], **kw: object) -> bytes:
        args: dict[str, object] = {
            "org_fingerprint": CHAIN2.fingerprint_id,
            "member": BOB.public,
            "dossier_id": DOSSIER,
            "opened_at": NOW,
            **kw,
        }
        return make_receipt(ORG2, entries=entries, **args)  # type: ignore[arg-type]

    with pytest.raises(ValueError, match="1 to"):
        make([])
    with pytest.raises(ValueError, match="once"):
        make([ENTRIES[0], ENTRIES[0]])
    with pytest.raises(ValueError, match="version"):
        make([dataclasses.replace(ENTRIES[0], version=0)])
    with pytest.raises(ValueError, match="payload_hash"):
        make([dataclasses.replace(ENTRIES[0], payload_hash=b"x")])
    with pytest.raises(ValueError, match="dossier_id"):
        make(ENTRIES, dossier_id=b"x")
    with pytest.raises(ValueError, match="org_fingerprint"):
        make(ENTRIES, org_fingerprint=b"x")


def test_an_entry_count_beyond_the_limit_is_refused_before_reading() -> None:
    data = bytearray(receipt())
    count_at = 5 + 16 + 16 + 32 + 4 + 32 + 16 + 32 + 16 + 8
    data[count_at : count_at + 4] = (MAX_ENTRIES + 1).to_bytes(4, "big")
    with pytest.raises(MalformedError, match="entries"):
        Receipt.decode(bytes(data))
    data[count_at : count_at + 4] = (1000).to_bytes(4, "big")  # more than the bytes hold
    with pytest.raises(MalformedError, match="truncated"):
        Receipt.decode(bytes(data))


@settings(max_examples=150, deadline=None)
@given(position=st.integers(min_value=0), bit=st.integers(min_value=0, max_value=7))
def test_any_flipped_bit_is_refused(position: int, bit: int) -> None:
    data = bytearray(receipt())
    data[position % len(data)] ^= 1 << bit
    with pytest.raises(SecurityError):
        verify_receipt(bytes(data), dossier_id=DOSSIER, chain=CHAIN2)
