"""The key transparency log in the database: appending entries, signing checkpoints, reading
proofs and tiles (docs/format.md section 17; the pure tree code is vault.tlog).

An append runs inside the caller's write transaction, together with the record it logs (a new
account's identity record, an organisation's epoch, an operator statement): the entry, the
tree nodes it completes and the checkpoint of the new size commit with the record or not at
all. So a crash at any point leaves the tree of the last commit, whole, with its checkpoint,
and a record is never stored without its entry. Appends are serialised across processes and
replicas: on SQLite by the database's single write lock (the write transaction takes it
first), on PostgreSQL by a transaction-scoped advisory lock taken before the size is read.
Two appenders therefore never both extend the same size: the log cannot fork by accident.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, text
from sqlmodel import Session, col, select

from vault.checkpoint import Checkpoint, sign_checkpoint
from vault.errors import VaultError
from vault.identity import Identity
from vault.logentry import LogEntry, Namespace, make_operator_key, record_digest
from vault.tlog import (
    TILE_HEIGHT,
    TILE_WIDTH,
    Node,
    Tile,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    new_nodes,
    tree_hash,
)

from .models import Organisation, OrgKeyRecord, User
from .tlog_keys import LogKeys
from .tlog_models import OperatorStatementRow, TlogCheckpoint, TlogEntry, TlogNode

# pg_advisory_xact_lock(APPEND_LOCK): held by the one transaction appending ("klkt").
APPEND_LOCK = 0x6B6C6B74
OPERATOR_KEY_VERSION = 1
QUERY_CHUNK = 1000

logger = logging.getLogger("kluis.server")


@dataclass(frozen=True)
class Pending:
    """An entry to append and the subject it logs (see `subject_*`)."""

    subject: str
    entry: bytes


def subject_user(user_id: str, key_version: int) -> str:
    return f"user:{user_id}:{key_version}"


def subject_organisation(org_id: str, epoch: int) -> str:
    return f"org:{org_id}:{epoch}"


def subject_operator_key(signing_key: bytes) -> str:
    return f"operator-key:{signing_key.hex()}"


def subject_statement(statement: bytes) -> str:
    return f"statement:{record_digest(statement).hex()}"


def identity_subject(user_id: str, identity: bytes) -> str:
    """The subject of an account's identity record (VaultError if the record does not parse)."""
    return subject_user(user_id, Identity.decode(identity).key_version)


def identity_entry(keys: LogKeys, user_id: str, identity: bytes) -> Pending:
    """The entry of an account's identity record, labelled by its username."""
    record = Identity.decode(identity)
    label, _proof = keys.label(Namespace.USER, record.username)
    entry = LogEntry.identity(label, record.key_version, identity).encode()
    return Pending(subject_user(user_id, record.key_version), entry)


def organisation_entry(keys: LogKeys, org_id: str, name: str, epoch: int, record: bytes) -> Pending:
    """The entry of one epoch's OrgKeys record (opaque here: the client checks it), labelled by
    the organisation's name as the directory holds it."""
    label, _proof = keys.label(Namespace.ORGANISATION, name)
    entry = LogEntry.organisation(label, epoch, record).encode()
    return Pending(subject_organisation(org_id, epoch), entry)


def statement_entry(keys: LogKeys, name: str, statement: bytes) -> Pending:
    """The entry of an operator statement about the organisation called `name`."""
    label, _proof = keys.label(Namespace.ORGANISATION, name)
    return Pending(subject_statement(statement), LogEntry.verification(label, statement).encode())


def operator_key_entry(keys: LogKeys, now: int) -> Pending:
    """The entry publishing the operator key (kind 3: the whole OperatorKey record)."""
    record = make_operator_key(
        keys.operator_seed, origin=keys.origin, key_version=OPERATOR_KEY_VERSION, created_at=now
    )
    entry = LogEntry.operator_key(record).encode()
    return Pending(subject_operator_key(keys.operator_public_key), entry)


# -- reading the tree ------------------------------------------------------------------------------
class NodeReader:
    """A vault.tlog `HashReader` over `tlog_nodes`, with nodes not yet written on top."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.pending: dict[Node, bytes] = {}

    def __call__(self, nodes: Sequence[Node]) -> list[bytes]:
        wanted = [n for n in nodes if n not in self.pending]
        got = dict(self.pending)
        by_level: dict[int, list[int]] = {}
        for level, index in wanted:
            by_level.setdefault(level, []).append(index)
        for level, indexes in by_level.items():  # one indexed lookup per level
            rows = self.session.exec(
                select(TlogNode.index, TlogNode.hash).where(
                    col(TlogNode.level) == level, col(TlogNode.index).in_(indexes)
                )
            ).all()
            got.update({(level, index): h for index, h in rows})
        missing = [n for n in nodes if n not in got]
        if missing:
            raise LookupError(f"the log has no node {missing[0]}")
        return [got[n] for n in nodes]


def size(session: Session) -> int:
    """How many entries the log holds (in the caller's transaction)."""
    last = session.exec(select(func.max(TlogEntry.index))).one()
    return 0 if last is None else int(last) + 1


def latest_checkpoint(session: Session) -> TlogCheckpoint | None:
    return session.exec(
        select(TlogCheckpoint).order_by(col(TlogCheckpoint.size).desc()).limit(1)
    ).first()


def consistency(session: Session, old_size: int, new_size: int) -> list[bytes]:
    return consistency_proof(old_size, new_size, NodeReader(session))


def inclusion(session: Session, index: int, tree_size: int) -> list[bytes]:
    return inclusion_proof(index, tree_size, NodeReader(session))


def entry_index(session: Session, subject: str) -> int | None:
    return session.exec(select(TlogEntry.index).where(col(TlogEntry.subject) == subject)).first()


def tile_bytes(session: Session, tile: Tile, tree_size: int) -> bytes | None:
    """A hash tile or entry bundle of the tree of `tree_size` entries; None if that tree does
    not have it (yet). Full tiles never change; a partial one is a prefix of its later self."""
    first = tile.index << TILE_HEIGHT
    if tile.level is None:
        if first + tile.width > tree_size:
            return None
        entries = session.exec(
            select(TlogEntry.entry)
            .where(col(TlogEntry.index) >= first, col(TlogEntry.index) < first + tile.width)
            .order_by(col(TlogEntry.index))
        ).all()
        return b"".join(len(e).to_bytes(2, "big") + e for e in entries)
    level = TILE_HEIGHT * tile.level
    if first + tile.width > tree_size >> level:
        return None
    hashes = session.exec(
        select(TlogNode.hash)
        .where(
            col(TlogNode.level) == level,
            col(TlogNode.index) >= first,
            col(TlogNode.index) < first + tile.width,
        )
        .order_by(col(TlogNode.index))
    ).all()
    assert len(hashes) == tile.width <= TILE_WIDTH
    return b"".join(hashes)


# -- appending -------------------------------------------------------------------------------------
def _lock(session: Session) -> None:
    """Serialise appends (see the module's docstring); the caller is in a write transaction."""
    if session.get_bind().dialect.name == "postgresql":
        session.connection().execute(
            text("SELECT pg_advisory_xact_lock(:key)"), {"key": APPEND_LOCK}
        )


def append(session: Session, keys: LogKeys, pending: Iterable[Pending], now: int) -> int:
    """Append the entries whose subject is not logged yet, in order, and sign a checkpoint of the
    new size; return the new size. Runs in the caller's write transaction and commits with it."""
    _lock(session)
    n = size(session)
    items = list(pending)
    subjects = [item.subject for item in items]
    logged: set[str] = set()
    for i in range(0, len(subjects), QUERY_CHUNK):  # within every database's parameter limit
        chunk = subjects[i : i + QUERY_CHUNK]
        logged.update(
            session.exec(select(TlogEntry.subject).where(col(TlogEntry.subject).in_(chunk))).all()
        )
    reader = NodeReader(session)
    start = n
    rows = []
    for item in items:
        if item.subject in logged:
            continue
        logged.add(item.subject)
        reader.pending.update(new_nodes(n, leaf_hash(item.entry), reader))
        rows.append(TlogEntry(index=n, entry=item.entry, subject=item.subject, created_at=now))
        n += 1
    session.add_all(rows)
    if n == start and latest_checkpoint(session) is not None:
        return n
    session.add_all(TlogNode(level=lv, index=ix, hash=h) for (lv, ix), h in reader.pending.items())
    root = tree_hash(n, reader)
    note = sign_checkpoint(Checkpoint(keys.origin, n, root), keys.signer)
    session.add(TlogCheckpoint(size=n, note=note, created_at=now))
    session.flush()
    return n


def unlogged(session: Session, keys: LogKeys, now: int) -> list[Pending]:
    """Everything the log should hold and does not: the operator key, every account's identity
    record, every organisation epoch, every operator statement (in that order, each by age).
    The first start after the migration that introduced the log appends them all."""
    out = [operator_key_entry(keys, now)]
    logged = set(session.exec(select(TlogEntry.subject)).all())
    for user_id, identity in session.exec(
        select(User.user_id, User.identity).order_by(col(User.created_at), col(User.user_id))
    ):
        try:
            if identity_subject(user_id, identity) not in logged:  # labels cost a VRF proof
                out.append(identity_entry(keys, user_id, identity))
        except VaultError as exc:  # an unreadable record: no client uses it
            logger.warning("account %s: its identity record is not logged (%s)", user_id, exc)
    for org_id, name, epoch, record in session.exec(
        select(OrgKeyRecord.org_id, Organisation.name, OrgKeyRecord.epoch, OrgKeyRecord.record)
        .join(Organisation, col(Organisation.org_id) == col(OrgKeyRecord.org_id))
        .order_by(col(OrgKeyRecord.created_at), col(OrgKeyRecord.org_id), col(OrgKeyRecord.epoch))
    ):
        if subject_organisation(org_id, epoch) not in logged:
            out.append(organisation_entry(keys, org_id, name, epoch, record))
    for name, statement in session.exec(
        select(Organisation.name, OperatorStatementRow.statement)
        .join(Organisation, col(Organisation.org_id) == col(OperatorStatementRow.org_id))
        .order_by(col(OperatorStatementRow.created_at))
    ):
        if subject_statement(statement) not in logged:
            out.append(statement_entry(keys, name, statement))
    return [p for p in out if p.subject not in logged]
