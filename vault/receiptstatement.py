"""The receipt statement: the signed, public part of a receipt (docs/format.md section 15).

A receipt of submission (ontvangstbevestiging) is an organisation's signed statement of what it
received in a dossier, and when. This module is the statement and its check: its fields in wire
order, parsing (`Receipt.decode`) and `verify_receipt` against the organisation's verified key
chain, in the documented order:

    1 parse                                         MalformedError
    2 the dossier and organisation asked for        IntegrityError
    3 the organisation fingerprint of the chain     KeyMismatchError
    4 an epoch of the chain, with its key id        KeyMismatchError
    5 signature of that epoch's key                 SignatureError
    6 not signed after that epoch was succeeded     KeyMismatchError

It holds no secret, so code that may not touch secret keys (the server, see the import contracts
in pyproject.toml) can check receipts with it; signing one is `vault.receipt.make_receipt`.
"""

from __future__ import annotations

import hmac
import itertools
from dataclasses import dataclass, field
from typing import Final

from . import labels
from .encoding import ID_SIZE, Reader, Writer, check_length
from .errors import IntegrityError, KeyMismatchError, MalformedError, SignatureError
from .orgchain import FINGERPRINT_ID_SIZE, OrgChain

RECEIPT_MAGIC: Final = b"KLRC"
FORMAT_VERSION: Final = 1
KEY_ID_SIZE: Final = 32
HASH_SIZE: Final = 32
SIGNATURE_SIZE: Final = 64
MAX_ENTRIES: Final = 100_000
WHAT: Final = "receipt"


@dataclass(frozen=True, order=True)
class ReceiptEntry:
    """One document version received: its payload's BLAKE3 and its header's hash."""

    document_id: bytes
    version: int
    payload_hash: bytes
    header_hash: bytes


@dataclass(frozen=True)
class Receipt:
    receipt_id: bytes
    org_id: bytes
    org_fingerprint: bytes  # the first 32 bytes of the organisation fingerprint digest
    epoch: int
    org_key_id: bytes
    member_id: bytes
    member_key_id: bytes
    dossier_id: bytes
    opened_at: int
    entries: tuple[ReceiptEntry, ...]
    signature: bytes = field(repr=False)

    def body(self) -> bytes:
        w = (
            Writer()
            .raw(RECEIPT_MAGIC)
            .u8(FORMAT_VERSION)
            .fixed(self.receipt_id, ID_SIZE)
            .fixed(self.org_id, ID_SIZE)
            .fixed(self.org_fingerprint, FINGERPRINT_ID_SIZE)
            .u32(self.epoch)
            .fixed(self.org_key_id, KEY_ID_SIZE)
            .fixed(self.member_id, ID_SIZE)
            .fixed(self.member_key_id, KEY_ID_SIZE)
            .fixed(self.dossier_id, ID_SIZE)
            .u64(self.opened_at)
            .u32(len(self.entries))
        )
        for e in self.entries:
            w.fixed(e.document_id, ID_SIZE).u64(e.version)
            w.fixed(e.payload_hash, HASH_SIZE).fixed(e.header_hash, HASH_SIZE)
        return w.getvalue()

    def encode(self) -> bytes:
        return self.body() + self.signature

    @classmethod
    def decode(cls, data: bytes) -> Receipt:
        r = Reader(data, WHAT)
        r.magic(RECEIPT_MAGIC)
        if r.u8() != FORMAT_VERSION:
            raise MalformedError(f"{WHAT}: unsupported format version")
        receipt_id, org_id = r.raw(ID_SIZE), r.raw(ID_SIZE)
        org_fingerprint = r.raw(FINGERPRINT_ID_SIZE)
        epoch, org_key_id = r.u32(), r.raw(KEY_ID_SIZE)
        member_id, member_key_id = r.raw(ID_SIZE), r.raw(KEY_ID_SIZE)
        dossier_id, opened_at = r.raw(ID_SIZE), r.u64()
        count = r.u32()
        if not 1 <= count <= MAX_ENTRIES:
            raise MalformedError(f"{WHAT}: {count} entries (1 to {MAX_ENTRIES} allowed)")
        if r.remaining() < count * (ID_SIZE + 8 + 2 * HASH_SIZE):
            raise MalformedError(f"{WHAT}: truncated")
        entries = tuple(
            ReceiptEntry(r.raw(ID_SIZE), r.u64(), r.raw(HASH_SIZE), r.raw(HASH_SIZE))
            for _ in range(count)
        )
        signature = r.raw(SIGNATURE_SIZE)
        r.end()
        if epoch < 1:
            raise MalformedError(f"{WHAT}: epoch must be at least 1")
        keys = [(e.document_id, e.version) for e in entries]
        if any(version < 1 for _, version in keys):
            raise MalformedError(f"{WHAT}: versions start at 1")
        if any(a >= b for a, b in itertools.pairwise(keys)):
            raise MalformedError(f"{WHAT}: entries not in strictly ascending order")
        return cls(
            receipt_id,
            org_id,
            org_fingerprint,
            epoch,
            org_key_id,
            member_id,
            member_key_id,
            dossier_id,
            opened_at,
            entries,
            signature,
        )


def verify_receipt(data: bytes, *, dossier_id: bytes, chain: OrgChain) -> Receipt:
    """Checks 1-6 of section 15 against the organisation's verified key chain."""
    check_length(dossier_id, ID_SIZE, "dossier_id")
    receipt = Receipt.decode(data)  # 1
    if receipt.dossier_id != dossier_id:  # 2
        raise IntegrityError(f"{WHAT}: is for another dossier")
    if receipt.org_id != chain.org_id:
        raise IntegrityError(f"{WHAT}: is from another organisation")
    if not hmac.compare_digest(receipt.org_fingerprint, chain.fingerprint_id):  # 3
        raise KeyMismatchError(f"{WHAT}: names another organisation fingerprint")
    if receipt.epoch > chain.epoch:  # 4
        raise KeyMismatchError(f"{WHAT}: signed with an epoch the organisation does not have")
    keys = chain.epoch_keys(receipt.epoch)
    if not hmac.compare_digest(receipt.org_key_id, keys.key_id):
        raise KeyMismatchError(f"{WHAT}: names other keys than the organisation's epoch")
    try:  # 5
        keys.identity.verify(labels.RECEIPT_SIGNATURE, receipt.body(), receipt.signature)
    except SignatureError as exc:
        raise SignatureError(f"{WHAT}: signature does not verify") from exc
    if receipt.epoch < chain.epoch:  # 6
        successor = chain.epoch_keys(receipt.epoch + 1)
        if receipt.opened_at > successor.created_at:
            raise KeyMismatchError(
                f"{WHAT}: signed with the key of epoch {receipt.epoch} after it was replaced"
            )
    return receipt
