"""The dossier index: the owner's signed list of a dossier's documents.

Implements docs/format.md section 9. `verify_index` runs steps 1-4 of "Verifying" (parse with
order, duplicates and overlap; dossier and owner; signature; descent from the last index this
reader accepted, D12/D13: counter, predecessor, format version and every document it listed) and
`open_index` adds step 5 (the metadata decrypts under the dossier key of the index's epoch).

Format version 2 names the hash of its predecessor; version 1 (without it) is still read, but not
after a version 2 index of the same dossier (`DowngradeError`), and never written except by the
test-vector helper `_seal_index_from_parts`.
`compare_listing` and `withheld` are pure functions that compare a verified index with what
the server lists, so a client notices documents the server hides (D13).

`DossierIndex.decode` (alias `peek`) only parses. The index itself, steps 1-4 and the listing
comparisons hold no secret and live in `vault.indexstatement`, which the server may import and
this module re-exports; here are sealing an index and opening its metadata.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from . import labels
from .derive import derive
from .encoding import ID_SIZE, check_length, check_u64, u64
from .errors import IntegrityError
from .headerstatement import SigningIdentity, VerifyingIdentity
from .indexstatement import (
    DELETION_SIZE,
    DOSSIER_KEY_SIZE,
    ENTRY_SIZE,
    FORMAT_VERSION,
    HASH_SIZE,
    INDEX_MAGIC,
    KEY_ID_SIZE,
    METADATA_MAX,
    NO_PREDECESSOR,
    OLD_FORMAT_VERSION,
    SIGNATURE_SIZE,
    WHAT,
    DossierIndex,
    IndexDeletion,
    IndexEntry,
    ListingComparison,
    check_descent,
    check_ordered,
    compare_listing,
    index_hash,
    verify_index,
    withheld,
)
from .metadata import (
    DossierMetadata,
    new_nonce,
    open_dossier_metadata,
    seal_aead,
)

# The statement (`vault.indexstatement`) is re-exported: `from vault.index import verify_index`.
__all__ = [
    "DELETION_SIZE",
    "DOSSIER_KEY_SIZE",
    "ENTRY_SIZE",
    "FORMAT_VERSION",
    "HASH_SIZE",
    "INDEX_MAGIC",
    "KEY_ID_SIZE",
    "METADATA_MAX",
    "NO_PREDECESSOR",
    "OLD_FORMAT_VERSION",
    "SIGNATURE_SIZE",
    "WHAT",
    "DossierIndex",
    "IndexDeletion",
    "IndexEntry",
    "ListingComparison",
    "OpenedIndex",
    "check_descent",
    "compare_listing",
    "index_hash",
    "open_index",
    "seal_index",
    "verify_index",
    "withheld",
]


def _dossier_metadata_key(dossier_key: bytes, dossier_id: bytes, epoch: int) -> bytes:
    return derive(dossier_key, labels.DOSSIER_METADATA_KEY, dossier_id + u64(epoch))


def _metadata_ad(dossier_id: bytes, epoch: int) -> bytes:
    return labels.DOSSIER_METADATA + b"\x00" + dossier_id + u64(epoch)


@dataclass(frozen=True)
class OpenedIndex:
    """An index that passed steps 1-5, and its decrypted metadata."""

    index: DossierIndex
    metadata: DossierMetadata


def seal_index(
    owner: SigningIdentity,
    *,
    dossier_id: bytes,
    counter: int,
    epoch: int,
    dossier_key: bytes,
    metadata: DossierMetadata,
    entries: Iterable[IndexEntry],
    deletions: Iterable[IndexDeletion] = (),
    previous_hash: bytes | None = None,
) -> bytes:
    """Write and sign a dossier index. Entries and deletions are sorted here.

    `previous_hash`: the `index_hash` of the index this one is signed on top of, which must be
    the newest the signer verified; required for every index but the first (counter 1)."""
    return _seal_index_from_parts(
        owner,
        dossier_id=dossier_id,
        counter=counter,
        epoch=epoch,
        dossier_key=dossier_key,
        metadata=metadata,
        entries=entries,
        deletions=deletions,
        previous_hash=previous_hash,
        metadata_nonce=new_nonce(),
    )


def _seal_index_from_parts(
    owner: SigningIdentity,
    *,
    dossier_id: bytes,
    counter: int,
    epoch: int,
    dossier_key: bytes,
    metadata: DossierMetadata,
    entries: Iterable[IndexEntry],
    deletions: Iterable[IndexDeletion],
    metadata_nonce: bytes,
    previous_hash: bytes | None = None,
    format_version: int = FORMAT_VERSION,
) -> bytes:
    """`seal_index` with its nonce given, so that test vectors are reproducible; only the test
    vectors and tests write `format_version` 1 (which has no predecessor field)."""
    check_length(dossier_id, ID_SIZE, "dossier_id")
    check_length(dossier_key, DOSSIER_KEY_SIZE, "dossier_key")
    check_u64(counter, "counter", 1)
    check_u64(epoch, "epoch", 1)
    if not isinstance(metadata, DossierMetadata):
        raise TypeError("metadata must be a DossierMetadata")
    predecessor: bytes | None
    if format_version == OLD_FORMAT_VERSION:
        if previous_hash is not None:
            raise ValueError("a format version 1 index names no predecessor")
        predecessor = None
    elif format_version == FORMAT_VERSION:
        if counter == 1:
            if previous_hash not in (None, NO_PREDECESSOR):
                raise ValueError("the first index (counter 1) names no predecessor")
            predecessor = NO_PREDECESSOR
        else:
            if previous_hash is None:
                raise ValueError("an index after the first names the hash of its predecessor")
            check_length(previous_hash, HASH_SIZE, "previous_hash")
            if previous_hash == NO_PREDECESSOR:
                raise ValueError("an index after the first names the hash of its predecessor")
            predecessor = bytes(previous_hash)
    else:
        raise ValueError(f"unknown index format version {format_version}")
    live = tuple(sorted(entries, key=lambda e: e.document_id))
    gone = tuple(sorted(deletions, key=lambda d: d.document_id))
    check_ordered([e.document_id for e in live], "entries")
    check_ordered([d.document_id for d in gone], "deletions")
    if {e.document_id for e in live} & {d.document_id for d in gone}:
        raise ValueError("a document cannot be both live and deleted")
    sealed = seal_aead(
        _dossier_metadata_key(dossier_key, dossier_id, epoch),
        metadata_nonce,
        metadata.encode(),
        _metadata_ad(dossier_id, epoch),
    )
    if len(sealed) > METADATA_MAX:
        # A 1024-character title of 4-byte characters does not fit in 4096 sealed bytes.
        raise ValueError("dossier metadata is too large to seal (title too long once encoded)")
    owner_key_id = owner.public.key_id
    unsigned = DossierIndex(
        dossier_id,
        owner.user_id,
        owner_key_id,
        counter,
        predecessor,
        epoch,
        sealed,
        live,
        gone,
        b"",
    )
    body = unsigned.body()
    return body + owner.sign(labels.DOSSIER_INDEX_SIGNATURE, body)


def open_index(
    data: bytes,
    *,
    dossier_id: bytes,
    owner: VerifyingIdentity,
    dossier_keys: Mapping[int, bytes],
    highest_seen: int = 0,
    previous: bytes | None = None,
    previous_hash: bytes | None = None,
) -> OpenedIndex:
    """Steps 1-5 of section 9; `dossier_keys` maps epochs to dossier keys."""
    index = verify_index(
        data,
        dossier_id=dossier_id,
        owner=owner,
        highest_seen=highest_seen,
        previous=previous,
        previous_hash=previous_hash,
    )
    dossier_key = dossier_keys.get(index.epoch)  # 5
    if dossier_key is None:
        raise IntegrityError(f"{WHAT}: no dossier key for epoch {index.epoch}")
    check_length(dossier_key, DOSSIER_KEY_SIZE, "dossier key")
    metadata = open_dossier_metadata(
        _dossier_metadata_key(dossier_key, index.dossier_id, index.epoch),
        index.metadata,
        _metadata_ad(index.dossier_id, index.epoch),
    )
    return OpenedIndex(index, metadata)
