"""The key transparency log as the routes use it: its keys and witnesses, catching up at start,
and the proofs a lookup answer carries (docs/api.md, "Key transparency").

Every proof in one answer is against one checkpoint, the newest, read in the same transaction
as the entries' indexes; nodes never change once written, so a proof against that size stays
valid however many entries are appended meanwhile.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Annotated

from fastapi import Depends, Query, Request
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from vault.errors import VaultError
from vault.logentry import LogEntry, Namespace

from . import tlog
from .config import Settings
from .db import open_session
from .models import MAX_INT, OrganisationDetail, OrgKeyRecord, User, UserPublic
from .problems import conflict
from .tlog_keys import LogKeys
from .tlog_models import (
    LogHead,
    LogProof,
    OperatorStatementRow,
    OrganisationKeys,
    OrganisationLookup,
    RecordProof,
    TlogEntry,
    UserLookup,
)
from .witnessing import Witness, cosign_latest


class TransparencyLog:
    def __init__(
        self, engine: Engine, keys: LogKeys, witnesses: list[Witness], timeout: float
    ) -> None:
        self.engine = engine
        self.keys = keys
        self.witnesses = witnesses
        self.timeout = timeout
        self._cosigning = threading.Lock()
        self._again = threading.Event()

    @classmethod
    def of(cls, settings: Settings, engine: Engine) -> TransparencyLog:
        witnesses = [Witness.parse(text) for text in settings.witnesses]
        return cls(engine, LogKeys.of(settings), witnesses, settings.witness_timeout_seconds)

    # -- writing -----------------------------------------------------------------------------------
    def open(self, now: int) -> int:
        """Append whatever the log lacks (its operator key; after the migration that introduced
        the log, every existing record), sign a checkpoint if there is none, ask the witnesses
        to cosign; return the log's size."""
        with open_session(self.engine, write=True) as session:
            n = tlog.append(session, self.keys, tlog.unlogged(session, self.keys, now), now)
            session.commit()
        self.cosign()
        return n

    def append(self, session: Session, pending: Iterable[tlog.Pending], now: int) -> int:
        """Append in the caller's write transaction (see `server.tlog.append`); call `cosign`
        after the commit."""
        return tlog.append(session, self.keys, pending, now)

    def cosign(self) -> int:
        """Ask the witnesses to cosign the newest checkpoint (outside any write transaction)."""
        return cosign_latest(self.engine, self.witnesses, self.timeout)

    def cosign_soon(self) -> None:
        """`cosign`, coalesced: while one round runs, further calls only ask for one more round
        after it, so a burst of appends (a thousand photos' commitments) costs the witnesses a
        few rounds rather than one each."""
        self._again.set()
        while self._again.is_set():
            if not self._cosigning.acquire(blocking=False):
                return  # the running round sees the flag and goes again
            try:
                self._again.clear()
                self.cosign()
            finally:
                self._cosigning.release()

    # -- reading -----------------------------------------------------------------------------------
    def head(self, session: Session, since: int | None) -> LogHead:
        """The newest checkpoint, with a consistency proof from `since` (409 `log_behind` if the
        caller names a larger tree than the newest checkpoint's)."""
        checkpoint = tlog.latest_checkpoint(session)
        if checkpoint is None:
            raise LookupError("the log has no checkpoint yet")
        old = since or 0
        if old > checkpoint.size:
            raise conflict(
                f"the log's newest checkpoint has {checkpoint.size} entries", code="log_behind"
            )
        return LogHead(
            checkpoint=checkpoint.note.decode("utf-8"),
            size=checkpoint.size,
            consistency=tlog.consistency(session, old, checkpoint.size),
        )

    def _proof(
        self, session: Session, subject: str, size: int, label: tuple[bytes, bytes] | None
    ) -> LogProof | None:
        index = tlog.entry_index(session, subject)
        if index is None or index >= size:
            return None
        return LogProof(
            index=index,
            inclusion=tlog.inclusion(session, index, size),
            label=label[0] if label else None,
            label_proof=label[1] if label else None,
        )

    def user_proof(self, session: Session, user: User, size: int) -> LogProof | None:
        """Where the account's identity record is in the tree of `size` entries (None: it is
        not logged, and no client will use its keys)."""
        try:
            subject = tlog.identity_subject(user.user_id, user.identity)
        except VaultError:
            return None
        label = self.keys.label(Namespace.USER, user.username)
        return self._proof(session, subject, size, label)

    def user_lookup(self, session: Session, user: User, since: int | None) -> UserLookup:
        head = self.head(session, since)
        proof = self.user_proof(session, user, head.size)
        return UserLookup(**dict(UserPublic.of(user)), log=proof, head=head)

    def organisation_lookup(
        self, session: Session, detail: OrganisationDetail, since: int | None
    ) -> OrganisationLookup:
        head = self.head(session, since)
        keys = self.organisation_keys(session, detail.org_id, detail.name, head.size)
        proofs = {r.record: r.log for r in keys.records}
        return OrganisationLookup(
            **dict(detail),
            record_proofs=[proofs.get(record) for record in detail.records],
            statements=keys.statements,
            head=head,
        )

    def organisation_keys(
        self, session: Session, org_id: str, name: str, size: int
    ) -> OrganisationKeys:
        """Every logged epoch record of the organisation and every operator statement about it,
        with their proofs in the tree of `size` entries."""
        label = self.keys.label(Namespace.ORGANISATION, name)
        records = []
        for epoch, record in session.exec(
            select(OrgKeyRecord.epoch, OrgKeyRecord.record)
            .where(col(OrgKeyRecord.org_id) == org_id)
            .order_by(col(OrgKeyRecord.epoch))
        ):
            subject = tlog.subject_organisation(org_id, epoch)
            proof = self._proof(session, subject, size, label)
            if proof is not None:
                records.append(RecordProof(record=record, log=proof))
        statements = []
        for statement in session.exec(
            select(OperatorStatementRow.statement)
            .where(col(OperatorStatementRow.org_id) == org_id)
            .order_by(col(OperatorStatementRow.created_at))
        ):
            proof = self._proof(session, tlog.subject_statement(statement), size, label)
            if proof is not None:
                statements.append(RecordProof(record=statement, log=proof))
        return OrganisationKeys(org_id=org_id, name=name, records=records, statements=statements)

    def operator_keys(self, session: Session, size: int) -> list[RecordProof]:
        """Every operator key the log published, with its proof (kind-3 entries hold the whole
        OperatorKey record: the record is the entry's tail)."""
        out = []
        for index, entry in session.exec(
            select(TlogEntry.index, TlogEntry.entry)
            .where(col(TlogEntry.subject).startswith("operator-key:"), col(TlogEntry.index) < size)
            .order_by(col(TlogEntry.index))
        ):
            record = LogEntry.decode(entry).record
            assert record is not None
            out.append(
                RecordProof(
                    record=record,
                    log=LogProof(
                        index=index,
                        inclusion=tlog.inclusion(session, index, size),
                        label=None,
                        label_proof=None,
                    ),
                )
            )
        return out


def logged_identity(log: TransparencyLog, user: User) -> list[tlog.Pending]:
    """The entry of an account's identity record; none if the record does not parse (no
    client uses keys it cannot read, nor keys without an entry)."""
    try:
        return [tlog.identity_entry(log.keys, user.user_id, user.identity)]
    except VaultError:
        return []


async def get_log(request: Request) -> TransparencyLog:
    log: TransparencyLog = request.app.state.log
    return log


LogDep = Annotated[TransparencyLog, Depends(get_log)]
# the size of the newest checkpoint the caller accepted, for a consistency proof from it
SinceParam = Annotated[int | None, Query(ge=0, le=MAX_INT)]
