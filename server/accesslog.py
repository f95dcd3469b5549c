"""The per-dossier access log and its hash chain (docs/api.md, "Access log").

The chain's rule (`vault.logchain`, docs/format.md section 16) is shared with the client,
which checks it.

Appends to one dossier are serialised by locking the dossier row (`SELECT ... FOR NO KEY
UPDATE` on PostgreSQL; on SQLite the request already holds the database write lock), so two
appends never read the same head. The primary key (dossier_id, seq) is the backstop: a
duplicate fails the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sqlmodel import Session, col, select

from vault.logchain import GENESIS_HASH, Action, entry_hash

from .models import Dossier, LogEntry, LogEntryPublic


@dataclass(frozen=True)
class Event:
    """What happened, before it gets its place (seq) and its links in the chain."""

    at: int
    actor_id: str
    action: Action
    document_id: str | None = None
    version: int | None = None
    subject_id: str | None = None


def append(session: Session, dossier_id: str, event: Event) -> LogEntry:
    """Add one entry at the head of the dossier's log, in the caller's transaction."""
    return append_all(session, dossier_id, [event])[0]


def append_all(session: Session, dossier_id: str, events: Sequence[Event]) -> list[LogEntry]:
    """Add entries in order at the head of the dossier's log, in the caller's transaction."""
    if not events:
        return []
    session.exec(
        select(Dossier.dossier_id)
        .where(col(Dossier.dossier_id) == dossier_id)
        .with_for_update(key_share=True)
    ).one()
    head = session.exec(
        select(LogEntry.seq, LogEntry.hash)
        .where(col(LogEntry.dossier_id) == dossier_id)
        .order_by(col(LogEntry.seq).desc())
        .limit(1)
    ).first()
    seq, prev_hash = head if head else (0, GENESIS_HASH)
    added = []
    for event in events:
        seq += 1
        fields: dict[str, Any] = {"seq": seq, **asdict(event)}
        entry_hash_hex = entry_hash(prev_hash, fields)
        added.append(
            LogEntry(dossier_id=dossier_id, prev_hash=prev_hash, hash=entry_hash_hex, **fields)
        )
        prev_hash = entry_hash_hex
    session.add_all(added)
    session.flush()
    return added


def entries(session: Session, dossier_id: str) -> list[LogEntryPublic]:
    rows = session.exec(
        select(LogEntry).where(col(LogEntry.dossier_id) == dossier_id).order_by(col(LogEntry.seq))
    ).all()
    return [LogEntryPublic.model_validate(row, from_attributes=True) for row in rows]
