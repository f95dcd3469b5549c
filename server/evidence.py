"""Document versions' evidence commitments in the key transparency log (docs/format.md
section 20, docs/api.md "Evidence").

A client sends a version's commitment (32 opaque bytes: a salted hash of the plaintext's hash,
which the server cannot check or link to any file) with the version's commit. It is appended to
the log in the commit's own transaction, so the commit answers at once with the entry's index,
the checkpoint signed for the new size and the inclusion proof: no extra round trip. The
witnesses cosign afterwards; `GET .../evidence` then serves the proof against the earliest
checkpoint covering the entry that carries their cosignatures.
"""

from __future__ import annotations

from sqlmodel import Session, SQLModel, col, select

from vault.logentry import LogEntry

from . import tlog
from .models import Blob, VersionPublic
from .tlog_models import TlogCheckpoint, TlogEntry

# A checkpoint's note has one signature line per signer: the log's, then the witnesses'.
SIGNATURE_LINE = "\n\u2014 ".encode()
SCAN_CHUNK = 200


class EvidenceProof(SQLModel):
    """Where a version's commitment is in the log: its entry, the entry's index and an
    inclusion proof against `checkpoint` (a signed note of `size` entries)."""

    entry: Blob
    index: int
    checkpoint: str
    size: int
    inclusion: list[Blob]


class VersionCommitted(VersionPublic):
    """A commit's answer: the version, and its evidence if the commit carried a commitment."""

    evidence: EvidenceProof | None


def subject_commitment(document_id: str, version: int) -> str:
    return f"commitment:{document_id}:{version}"


def commitment_entry(document_id: str, version: int, commitment: bytes) -> tlog.Pending:
    """The entry (kind 5) of a version's commitment (ValueError if it is not 32 bytes)."""
    entry = LogEntry.commitment(commitment).encode()
    return tlog.Pending(subject_commitment(document_id, version), entry)


def _proof(session: Session, entry: TlogEntry, checkpoint: TlogCheckpoint) -> EvidenceProof:
    return EvidenceProof(
        entry=entry.entry,
        index=entry.index,
        checkpoint=checkpoint.note.decode("utf-8"),
        size=checkpoint.size,
        inclusion=tlog.inclusion(session, entry.index, checkpoint.size),
    )


def proof_at_commit(session: Session, document_id: str, version: int) -> EvidenceProof | None:
    """The evidence right after the append, in the commit's transaction: against the checkpoint
    just signed (the log's signature only; the witnesses have not seen it yet)."""
    entry = _entry(session, document_id, version)
    checkpoint = tlog.latest_checkpoint(session)
    if entry is None or checkpoint is None:
        return None
    return _proof(session, entry, checkpoint)


def _entry(session: Session, document_id: str, version: int) -> TlogEntry | None:
    subject = subject_commitment(document_id, version)
    return session.exec(select(TlogEntry).where(col(TlogEntry.subject) == subject)).first()


def first_cosigned(session: Session, index: int) -> TlogCheckpoint | None:
    """The earliest checkpoint that covers entry `index` and carries cosignatures (the best time
    the witnesses vouch for), else the newest (which the client may still refuse)."""
    after = index
    while True:
        rows = session.exec(
            select(TlogCheckpoint)
            .where(col(TlogCheckpoint.size) > after)
            .order_by(col(TlogCheckpoint.size))
            .limit(SCAN_CHUNK)
        ).all()
        for row in rows:
            if row.note.count(SIGNATURE_LINE) > 1:
                return row
        if len(rows) < SCAN_CHUNK:
            return tlog.latest_checkpoint(session)
        after = rows[-1].size


def served_proof(session: Session, document_id: str, version: int) -> EvidenceProof | None:
    """The evidence of a committed version, against `first_cosigned` (None: not committed)."""
    entry = _entry(session, document_id, version)
    if entry is None:
        return None
    checkpoint = first_cosigned(session, entry.index)
    if checkpoint is None:
        return None
    return _proof(session, entry, checkpoint)
