"""Receipts of submission (ontvangstbevestiging): an organisation's signed statement of what it
received in a dossier, and when.

Implements docs/format.md section 15. When a member of an organisation first opens documents
shared with it, the member's client signs, with the organisation's signing key of the current
epoch, the dossier id, each document version with its payload and header hashes, the time and
the organisation's fingerprint. The resident keeps it as proof; `verify_receipt` checks it
against the organisation's verified key chain. The statement and `verify_receipt` hold no
secret and live in `vault.receiptstatement`, which this module re-exports; here is the signing.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from . import labels
from .encoding import ID_SIZE, check_length, check_u64
from .keys import Identity, PrivateIdentity
from .orgchain import FINGERPRINT_ID_SIZE
from .receiptstatement import (
    FORMAT_VERSION,
    HASH_SIZE,
    KEY_ID_SIZE,
    MAX_ENTRIES,
    RECEIPT_MAGIC,
    SIGNATURE_SIZE,
    Receipt,
    ReceiptEntry,
    verify_receipt,
)

# The statement (`vault.receiptstatement`) is re-exported: `from vault.receipt import Receipt`.
__all__ = [
    "FORMAT_VERSION",
    "HASH_SIZE",
    "KEY_ID_SIZE",
    "MAX_ENTRIES",
    "RECEIPT_MAGIC",
    "SIGNATURE_SIZE",
    "Receipt",
    "ReceiptEntry",
    "make_receipt",
    "new_receipt_id",
    "verify_receipt",
]


def new_receipt_id() -> bytes:
    return secrets.token_bytes(ID_SIZE)


def make_receipt(
    org: PrivateIdentity,
    *,
    org_fingerprint: bytes,
    member: Identity,
    dossier_id: bytes,
    opened_at: int,
    entries: Iterable[ReceiptEntry],
    receipt_id: bytes | None = None,
) -> bytes:
    """Sign a receipt with the organisation keys of one epoch (`org`)."""
    receipt_id = new_receipt_id() if receipt_id is None else receipt_id
    check_length(receipt_id, ID_SIZE, "receipt_id")
    check_length(org_fingerprint, FINGERPRINT_ID_SIZE, "org_fingerprint")
    check_length(dossier_id, ID_SIZE, "dossier_id")
    check_u64(opened_at, "opened_at")
    ordered = tuple(sorted(entries))
    if not 1 <= len(ordered) <= MAX_ENTRIES:
        raise ValueError(f"a receipt lists 1 to {MAX_ENTRIES} document versions")
    for e in ordered:
        check_length(e.document_id, ID_SIZE, "document_id")
        check_u64(e.version, "version", 1)
        check_length(e.payload_hash, HASH_SIZE, "payload_hash")
        check_length(e.header_hash, HASH_SIZE, "header_hash")
    if len({(e.document_id, e.version) for e in ordered}) != len(ordered):
        raise ValueError("a receipt lists each document version once")
    unsigned = Receipt(
        receipt_id=receipt_id,
        org_id=org.user_id,
        org_fingerprint=org_fingerprint,
        epoch=org.key_version,
        org_key_id=org.public.key_id,
        member_id=member.user_id,
        member_key_id=member.key_id,
        dossier_id=dossier_id,
        opened_at=opened_at,
        entries=ordered,
        signature=b"",
    )
    body = unsigned.body()
    return body + org.sign(labels.RECEIPT_SIGNATURE, body)
