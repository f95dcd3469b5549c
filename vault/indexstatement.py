"""The dossier index statement: the owner's signed list of a dossier's documents (docs/format.md
section 9), and its checks, without the dossier key.

`DossierIndex.decode` (alias `peek`) only parses. `verify_index` runs steps 1-4 of "Verifying"
(parse with order, duplicates and overlap; dossier and owner; signature; descent from the last
index this reader accepted, D12/D13: counter, predecessor, format version and every document
it listed). `compare_listing` and `withheld` compare a verified index with what the server
lists, so a client notices documents the server hides (D13). Nothing here holds or opens a
secret, so code that may not touch secret keys (the server, see the import contracts in
pyproject.toml) can use it; sealing an index and opening its metadata (step 5) are
`vault.index`, which re-exports this module.
"""

from __future__ import annotations

import hmac
import itertools
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Final

import blake3

from . import labels
from .encoding import ID_SIZE, SEALED_OVERHEAD, Reader, Writer, check_length, check_u64
from .errors import (
    DowngradeError,
    IntegrityError,
    KeyMismatchError,
    MalformedError,
    RollbackError,
    SignatureError,
)
from .headerstatement import VerifyingIdentity

INDEX_MAGIC: Final = b"KLIX"
FORMAT_VERSION: Final = 2  # written; names its predecessor
OLD_FORMAT_VERSION: Final = 1  # read only: no predecessor field (section 9, "Version 1")
KEY_ID_SIZE: Final = 32
HASH_SIZE: Final = 32
NO_PREDECESSOR: Final = bytes(HASH_SIZE)  # the predecessor of the first index (counter 1)
DOSSIER_KEY_SIZE: Final = 32
SIGNATURE_SIZE: Final = 64
METADATA_MAX: Final = 8192
ENTRY_SIZE: Final = ID_SIZE + 8 + HASH_SIZE
DELETION_SIZE: Final = ID_SIZE + 8 + 8
_ENTRY: Final = struct.Struct(f">{ID_SIZE}sQ{HASH_SIZE}s")  # an index may list 10,000s
WHAT: Final = "dossier index"


def index_hash(data: bytes) -> bytes:
    """BLAKE3 of a whole index: what a client may remember instead of the bytes."""
    return bytes(blake3.blake3(bytes(data)).digest())


@dataclass(frozen=True)
class IndexEntry:
    """A live document: its latest version and the BLAKE3 of that version's header."""

    document_id: bytes
    version: int
    header_hash: bytes

    def __post_init__(self) -> None:
        check_length(self.document_id, ID_SIZE, "document_id")
        check_u64(self.version, "an entry's version", 1)
        check_length(self.header_hash, HASH_SIZE, "header_hash")


@dataclass(frozen=True)
class IndexDeletion:
    """A deleted document: the last version that existed and when it was deleted."""

    document_id: bytes
    version: int
    deleted_at: int

    def __post_init__(self) -> None:
        check_length(self.document_id, ID_SIZE, "document_id")
        check_u64(self.version, "a deletion's version", 1)
        check_u64(self.deleted_at, "deleted_at")


def check_ordered(ids: list[bytes], what: str) -> None:
    if any(a >= b for a, b in itertools.pairwise(ids)):
        raise ValueError(f"{what} must be sorted by document_id, without duplicates")


@dataclass(frozen=True)
class DossierIndex:
    """The fields of a dossier index, in wire order. Holds no secret.

    `previous_hash` is the `index_hash` of the index this one was signed on top of (32 zero
    bytes for the first); None only in a format version 1 index, which has no such field."""

    dossier_id: bytes
    owner_id: bytes
    owner_key_id: bytes
    counter: int
    previous_hash: bytes | None
    epoch: int
    metadata: bytes = field(repr=False)  # sealed: nonce || ciphertext
    entries: tuple[IndexEntry, ...]
    deletions: tuple[IndexDeletion, ...]
    signature: bytes = field(repr=False)

    @cached_property
    def _live(self) -> dict[bytes, IndexEntry]:
        return {e.document_id: e for e in self.entries}

    @property
    def format_version(self) -> int:
        return OLD_FORMAT_VERSION if self.previous_hash is None else FORMAT_VERSION

    @cached_property
    def _deleted(self) -> dict[bytes, IndexDeletion]:
        return {d.document_id: d for d in self.deletions}

    def entry(self, document_id: bytes) -> IndexEntry | None:
        """The entry of a live document, or None if the index does not list it as live."""
        return self._live.get(document_id)

    def deletion(self, document_id: bytes) -> IndexDeletion | None:
        """The deletion record of a document, or None if the index records no deletion of it."""
        return self._deleted.get(document_id)

    def header_hash_of(self, document_id: bytes, version: int) -> bytes | None:
        """The header hash this index lists for exactly that document version, if any."""
        entry = self._live.get(document_id)
        return entry.header_hash if entry is not None and entry.version == version else None

    def body(self) -> bytes:
        """Every byte the signature covers."""
        w = (
            Writer()
            .raw(INDEX_MAGIC)
            .u8(self.format_version)
            .fixed(self.dossier_id, ID_SIZE)
            .fixed(self.owner_id, ID_SIZE)
            .fixed(self.owner_key_id, KEY_ID_SIZE)
            .u64(self.counter)
        )
        if self.previous_hash is not None:
            w.fixed(self.previous_hash, HASH_SIZE)
        w.u64(self.epoch).vbytes(self.metadata).u32(len(self.entries))
        for e in self.entries:
            w.fixed(e.document_id, ID_SIZE).u64(e.version).fixed(e.header_hash, HASH_SIZE)
        w.u32(len(self.deletions))
        for d in self.deletions:
            w.fixed(d.document_id, ID_SIZE).u64(d.version).u64(d.deleted_at)
        return w.getvalue()

    def encode(self) -> bytes:
        return self.body() + Writer().fixed(self.signature, SIGNATURE_SIZE).getvalue()

    @classmethod
    def decode(cls, data: bytes) -> DossierIndex:
        """Parse, with order, duplicates and overlap (step 1, `MalformedError`). Trusts nothing."""
        r = Reader(data, WHAT)
        r.magic(INDEX_MAGIC)
        version = r.u8()
        if version not in (FORMAT_VERSION, OLD_FORMAT_VERSION):
            raise MalformedError(f"{WHAT}: unsupported format version")
        dossier_id, owner_id, owner_key_id = r.raw(ID_SIZE), r.raw(ID_SIZE), r.raw(KEY_ID_SIZE)
        counter = r.u64()
        previous_hash = r.raw(HASH_SIZE) if version == FORMAT_VERSION else None
        epoch = r.u64()
        metadata = r.vbytes(METADATA_MAX)
        try:
            entries = tuple(
                IndexEntry(*fields)
                for fields in _ENTRY.iter_unpack(r.raw(_count(r, ENTRY_SIZE) * ENTRY_SIZE))
            )
            deletions = tuple(
                IndexDeletion(r.raw(ID_SIZE), r.u64(), r.u64())
                for _ in range(_count(r, DELETION_SIZE))
            )
            check_ordered([e.document_id for e in entries], "entries")
            check_ordered([d.document_id for d in deletions], "deletions")
        except ValueError as exc:
            raise MalformedError(f"{WHAT}: {exc}") from exc
        signature = r.raw(SIGNATURE_SIZE)
        r.end()
        # Counters and epochs start at 1 (sections 9 and 10).
        if counter < 1 or epoch < 1:
            raise MalformedError(f"{WHAT}: counter and epoch must be at least 1")
        if previous_hash is not None and (counter == 1) != (previous_hash == NO_PREDECESSOR):
            raise MalformedError(
                f"{WHAT}: the first index (counter 1), and only the first, names no predecessor"
            )
        if len(metadata) < SEALED_OVERHEAD:
            raise MalformedError(f"{WHAT}: metadata too short to be sealed")
        if {e.document_id for e in entries} & {d.document_id for d in deletions}:
            raise MalformedError(f"{WHAT}: a document is listed both live and deleted")
        return cls(
            dossier_id=dossier_id,
            owner_id=owner_id,
            owner_key_id=owner_key_id,
            counter=counter,
            previous_hash=previous_hash,
            epoch=epoch,
            metadata=metadata,
            entries=entries,
            deletions=deletions,
            signature=signature,
        )

    peek = decode


def _count(r: Reader, item_size: int) -> int:
    count = r.u32()
    # Refuse a count the remaining bytes cannot hold before looping over it.
    if count * item_size > r.remaining():
        raise MalformedError(f"{WHAT}: truncated (count exceeds the data)")
    return count


def verify_index(
    data: bytes,
    *,
    dossier_id: bytes,
    owner: VerifyingIdentity,
    highest_seen: int = 0,
    previous: bytes | None = None,
    previous_hash: bytes | None = None,
) -> DossierIndex:
    """Steps 1-4 of section 9: everything but the metadata, which needs the dossier key.

    What the reader remembers of the last index it accepted for this dossier, if anything:
    `previous`, its bytes (every check of step 4), or, from a memory written before format
    version 2, only its counter `highest_seen` and `previous_hash` (its `index_hash`; checks
    4a, 4b and 4d). With `previous`, `highest_seen` is its counter and may be left out.
    """
    check_length(dossier_id, ID_SIZE, "dossier_id")
    index = DossierIndex.decode(data)  # 1
    if index.dossier_id != dossier_id:  # 2
        raise IntegrityError(f"{WHAT}: belongs to another dossier")
    if index.owner_id != owner.user_id or index.owner_key_id != owner.key_id:
        raise KeyMismatchError(f"{WHAT}: owner is not the expected identity")
    try:  # 3
        # Fully parsed, so the signed body is the received bytes before the signature.
        signed = bytes(data[: len(data) - SIGNATURE_SIZE])
        owner.verify(labels.DOSSIER_INDEX_SIGNATURE, signed, index.signature)
    except SignatureError as exc:
        raise SignatureError(f"{WHAT}: signature does not verify") from exc
    last: DossierIndex | None = None  # 4
    if previous is not None:
        if bytes(previous) == bytes(data):
            return index  # the index accepted before, again
        try:
            last = DossierIndex.decode(previous)
        except MalformedError as exc:
            raise ValueError(
                "previous (the last index this reader accepted) does not parse: its memory is "
                "damaged"
            ) from exc
        if highest_seen not in (0, last.counter):
            raise ValueError("highest_seen is not the counter of previous")
        highest_seen, previous_hash = last.counter, index_hash(previous)
    check_descent(index, data, highest_seen=highest_seen, previous_hash=previous_hash, last=last)
    return index


def check_descent(
    index: DossierIndex,
    data: bytes,
    *,
    highest_seen: int,
    previous_hash: bytes | None,
    last: DossierIndex | None,
) -> None:
    """Step 4 of section 9: `index` (whose bytes are `data`) may follow the last index this
    reader accepted: `last` itself when the reader kept it, else only its counter and hash.

    a. an older counter is a rollback; b. the same counter must be the same bytes;
    c. a format version 1 index after a version 2 one is a downgrade; d. the next counter
    must name the last index as its predecessor; e. the epoch is no older than `last`'s,
    every document `last` listed is still listed at no lower version, or recorded as deleted
    at no lower version, and every deletion `last` recorded is still recorded. A fork that
    drops nothing passes e; one that drops a document, a version, a deletion or a key
    rotation does not (D12, D13, S18)."""
    if index.counter < highest_seen:  # a
        raise RollbackError(f"{WHAT}: counter {index.counter} is older than {highest_seen}")
    if index.counter == highest_seen:  # b
        if previous_hash is not None and not hmac.compare_digest(
            index_hash(data), bytes(previous_hash)
        ):
            lost = _lost(last, index) if last is not None else []
            raise RollbackError(
                f"{WHAT}: differs from the index seen with the same counter"
                + (f"; {_describe(lost)}" if lost else "")
            )
        return
    if last is not None and last.previous_hash is not None and index.previous_hash is None:  # c
        raise DowngradeError(
            f"{WHAT}: counter {index.counter} is in format version 1, but this device accepted "
            f"a version 2 index of this dossier (counter {last.counter}): a downgrade"
        )
    lost = _lost(last, index) if last is not None else []  # e
    forked = (  # d
        previous_hash is not None
        and index.previous_hash is not None
        and index.counter == highest_seen + 1
        and not hmac.compare_digest(index.previous_hash, bytes(previous_hash))
    )
    if forked:
        raise RollbackError(
            f"{WHAT}: counter {index.counter} was not signed on top of the index this device "
            f"accepted (counter {highest_seen}), it names another predecessor: a fork"
            + (f"; {_describe(lost)}" if lost else "")
        )
    if lost:
        raise RollbackError(
            f"{WHAT}: counter {index.counter} does not keep what the index this device accepted "
            f"(counter {highest_seen}) listed: {_describe(lost)}"
        )


def _lost(last: DossierIndex, index: DossierIndex) -> list[str]:
    """What `index` lost of `last`: each as a phrase naming the document (short id), or the
    key epoch (epochs only rise: an older one is from before a rotation, S18)."""
    lost: list[str] = []
    if index.epoch < last.epoch:
        lost.append(
            f"its key epoch {index.epoch} is older than epoch {last.epoch} (from before a key "
            "rotation, whose old key a revoked party may hold)"
        )
    for e in last.entries:
        name = f"document {e.document_id.hex()[:8]}"
        live = index.entry(e.document_id)
        gone = index.deletion(e.document_id)
        if live is not None:
            if live.version < e.version:
                lost.append(f"{name} is back at version {live.version} from {e.version}")
        elif gone is None:
            lost.append(f"{name} (version {e.version}) is missing without a signed deletion")
        elif gone.version < e.version:
            lost.append(
                f"{name} is recorded as deleted at version {gone.version}, this device saw "
                f"version {e.version}"
            )
    for d in last.deletions:
        name = f"document {d.document_id.hex()[:8]}"
        gone = index.deletion(d.document_id)
        if index.entry(d.document_id) is not None:
            lost.append(f"{name}, deleted at version {d.version}, is listed as live again")
        elif gone is None or gone.version < d.version:
            lost.append(f"{name} was deleted at version {d.version}; that record is gone")
    return lost


def _describe(lost: list[str], shown: int = 3) -> str:
    more = len(lost) - shown
    return "; ".join(lost[:shown]) + (f"; and {more} more" if more > 0 else "")


# -- comparing with what the server lists (D13) ---------------------------------------------


@dataclass(frozen=True)
class ListingComparison:
    """How a server's document listing differs from a verified index."""

    withheld: tuple[IndexEntry, ...]  # live in the index, missing from the listing
    behind: tuple[IndexEntry, ...]  # listed, but older than the index's latest version
    unindexed: tuple[bytes, ...]  # listed, but in neither list (newer than this index)
    deleted: tuple[IndexDeletion, ...]  # listed, but the index says deleted

    @property
    def hides_something(self) -> bool:
        """True if the server keeps back documents or versions the owner signed for."""
        return bool(self.withheld or self.behind)


def withheld(index: DossierIndex, present_document_ids: Iterable[bytes]) -> tuple[IndexEntry, ...]:
    """The index's live documents that the server's listing left out (threat D13)."""
    present = set(present_document_ids)
    return tuple(e for e in index.entries if e.document_id not in present)


def compare_listing(index: DossierIndex, listing: Mapping[bytes, int]) -> ListingComparison:
    """Compare `listing` (document_id -> latest version the server offers) with the index."""
    live = {e.document_id for e in index.entries}
    gone = {d.document_id for d in index.deletions}
    return ListingComparison(
        withheld=withheld(index, listing),
        behind=tuple(
            e
            for e in index.entries
            if e.document_id in listing and listing[e.document_id] < e.version
        ),
        unindexed=tuple(sorted(i for i in listing if i not in live and i not in gone)),
        deleted=tuple(d for d in index.deletions if d.document_id in listing),
    )
