"""Adding and removing grants: the checks the server can make on the fields it sees (the
signed grant itself is opaque here and checked by the recipient), and the `share` / `revoke`
entries of the access log. Grants an owner gives to itself (its own copies of dossier keys)
are not shares and are not logged.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete
from sqlmodel import Session, col, select

from . import accesslog
from .models import (
    GRANT_KIND_DOCUMENT,
    GRANT_KIND_DOSSIER,
    Document,
    Dossier,
    Grant,
    GrantCreate,
    User,
)
from .organisations import organisation_ids
from .problems import conflict, invalid


def add_grants(
    session: Session, dossier: Dossier, granter_id: str, grants: Sequence[GrantCreate], now: int
) -> list[Grant]:
    """Check and store grants on `dossier`; log a `share` for each one to another user."""
    if not grants:
        return []
    grant_ids = [g.grant_id for g in grants]
    if len(set(grant_ids)) != len(grant_ids):
        raise invalid("grants: a grant_id appears more than once")
    for g in grants:
        if (g.kind == GRANT_KIND_DOSSIER) != (g.document_id is None):
            raise invalid("grants: document_id must be null for kind 1 and set for kind 2")

    recipients = {g.recipient_id for g in grants}
    known = set(session.exec(select(User.user_id).where(col(User.user_id).in_(recipients))))
    known |= organisation_ids(session, recipients - known)
    if recipients - known:
        raise invalid("grants: a recipient_id is not a user or an organisation")

    documents = {g.document_id for g in grants if g.document_id is not None}
    if documents:
        present = set(
            session.exec(
                select(Document.document_id).where(
                    col(Document.dossier_id) == dossier.dossier_id,
                    col(Document.document_id).in_(documents),
                )
            )
        )
        if documents - present:
            raise invalid("grants: a document_id is not a document of this dossier")

    taken = session.exec(select(Grant.grant_id).where(col(Grant.grant_id).in_(grant_ids))).first()
    if taken is not None:
        raise conflict("grants: a grant_id is already in use")

    rows = [Grant.of(g, dossier.dossier_id, granter_id, now) for g in grants]
    session.add_all(rows)
    session.flush()
    accesslog.append_all(
        session,
        dossier.dossier_id,
        [
            accesslog.Event(
                at=now,
                actor_id=granter_id,
                action="share",
                document_id=g.document_id,
                version=g.number if g.kind == GRANT_KIND_DOCUMENT else None,
                subject_id=g.recipient_id,
            )
            for g in rows
            if g.recipient_id != granter_id
        ],
    )
    return rows


def revoke_grants(
    session: Session,
    dossier: Dossier,
    actor_id: str,
    recipient_id: str,
    document_id: str | None,
    now: int,
) -> int:
    """Delete the recipient's grants on the dossier (all of them), or on one document.

    A write in flight on one of these grants holds it locked (`DossierAccess.confirmed`, FOR
    SHARE on PostgreSQL), so the DELETE waits until that write has committed, and any write
    confirmed after it sees the grant gone: once the revoke commits, no write on the grant
    does. Nothing here may lock a row such a write goes on to lock (the dossier row, which the
    access log locks) before the DELETE, or the two could deadlock."""
    if recipient_id == dossier.owner_id:
        raise invalid("the owner's own grants cannot be revoked")
    where = [col(Grant.dossier_id) == dossier.dossier_id, col(Grant.recipient_id) == recipient_id]
    if document_id is not None:
        where.append(col(Grant.document_id) == document_id)
    removed = session.connection().execute(delete(Grant).where(*where)).rowcount or 0
    if removed:
        accesslog.append(
            session,
            dossier.dossier_id,
            accesslog.Event(
                at=now,
                actor_id=actor_id,
                action="revoke",
                document_id=document_id,
                subject_id=recipient_id,
            ),
        )
    return int(removed)
