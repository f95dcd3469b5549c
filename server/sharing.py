"""Adding and removing grants: the checks the server can make on the fields it sees (the
signed grant itself is opaque here and checked by the recipient), and the `share` / `revoke`
entries of the access log. Grants an owner gives to itself (its own copies of dossier keys)
are not shares and are not logged; nor are the grants of a key rotation, which re-wrap a new
epoch's key for those who hold the dossier already (checked here, so that no new share passes
as one). A share is one entry however many epoch keys it wraps; a document share, one entry
per version it gives.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete
from sqlmodel import Session, col, select

from vault.kinds import GrantKind

from . import accesslog
from .models import Document, Dossier, Grant, GrantCreate, User
from .org_grants import no_wider, organisation_ids
from .problems import conflict, invalid


def add_grants(
    session: Session,
    dossier: Dossier,
    granter_id: str,
    grants: Sequence[GrantCreate],
    now: int,
    *,
    rotation: bool = False,
) -> list[Grant]:
    """Check and store grants on `dossier`; log a `share` for each share to another user or
    organisation: one per recipient for dossier keys, one per version for a document. With
    `rotation`, the grants re-wrap a new epoch's key (`_check_rotation`) and are not logged."""
    if not grants:
        return []
    grant_ids = [g.grant_id for g in grants]
    if len(set(grant_ids)) != len(grant_ids):
        raise invalid("grants: a grant_id appears more than once")
    for g in grants:
        if (g.kind == GrantKind.DOSSIER) != (g.document_id is None):
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

    if rotation:
        _check_rotation(session, dossier, grants, now)

    taken = session.exec(select(Grant.grant_id).where(col(Grant.grant_id).in_(grant_ids))).first()
    if taken is not None:
        raise conflict("grants: a grant_id is already in use")

    rows = [Grant.of(g, dossier.dossier_id, granter_id, now) for g in grants]
    session.add_all(rows)
    session.flush()
    if rotation:
        return rows
    shares = dict.fromkeys(
        (g.recipient_id, g.document_id, g.number if g.kind == GrantKind.DOCUMENT else None)
        for g in rows
        if g.recipient_id != granter_id
    )
    accesslog.append_all(
        session,
        dossier.dossier_id,
        [
            accesslog.Event(
                at=now,
                actor_id=granter_id,
                action="share",
                document_id=document_id,
                version=version,
                subject_id=recipient_id,
            )
            for recipient_id, document_id, version in shares
        ],
    )
    return rows


def _check_rotation(
    session: Session, dossier: Dossier, grants: Sequence[GrantCreate], now: int
) -> None:
    """A rotation's grants are dossier keys of one new epoch (above every epoch the dossier's
    grants hold), among them the owner's own, and each other one copies a current (unexpired)
    dossier share of its recipient with no more rights and no later expiry. Anything else
    would be a share that the log does not show: 422."""
    if any(g.kind != GrantKind.DOSSIER for g in grants):
        raise invalid("grants: a rotation re-wraps dossier keys only (kind 1)")
    epochs = {g.number for g in grants}
    if len(epochs) != 1:
        raise invalid("grants: a rotation's grants are all for one epoch")
    [epoch] = epochs
    if dossier.owner_id not in {g.recipient_id for g in grants}:
        raise invalid("grants: a rotation holds the owner's own grant of the new epoch")
    held = session.exec(
        select(Grant).where(
            col(Grant.dossier_id) == dossier.dossier_id, col(Grant.kind) == GrantKind.DOSSIER
        )
    ).all()
    if any(o.number >= epoch for o in held):
        raise invalid("grants: a rotation's epoch must be above every epoch already granted")
    current = [o for o in held if o.expires_at == 0 or o.expires_at > now]
    for g in grants:
        if g.recipient_id == dossier.owner_id:
            continue
        if not any(o.recipient_id == g.recipient_id and no_wider(g, o) for o in current):
            raise invalid(
                "grants: a rotation re-wraps only current shares of the dossier, with no more "
                "rights and no later expiry; a new share is not a rotation"
            )


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
