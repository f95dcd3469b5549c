"""Grants addressed to organisations: whom they reach (the roster), the id namespace users and
organisations share, and the re-wrapped grants of a rotation. The routes of the organisations
themselves are server.routes.organisations.

A grant may be addressed to an organisation (its `recipient_id` is an `org_id`); every user in
the organisation's roster then has the access the grant gives, exactly as if it were addressed
to them. The roster is the server's own bookkeeping and decides access only: clients trust
nothing but the signed key chain and memberships (docs/format.md section 14), so a roster row
the operator adds back gives a removed member rows, never keys of a later epoch.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import BindParameter, ColumnElement, text
from sqlmodel import Session, col, or_, select

from vault.kinds import GrantKind

from .models import (
    Document,
    Dossier,
    Grant,
    GrantCreate,
    Organisation,
    OrgGrantIn,
    OrgMember,
    User,
)
from .problems import conflict, invalid

# pg_advisory_xact_lock(ID_LOCK, hashtext(id)): taken before a new user or organisation id is
# checked and inserted ("klid"; the two-key form never meets the migrations' one-key lock).
ID_LOCK = 0x6B6C6964


def addressed_to(user_id: str | BindParameter[str]) -> ColumnElement[bool]:
    """Grants addressed to this user or to one of its organisations: a condition with the
    roster as a subquery, so that an authorisation check is one round trip, not two."""
    orgs = select(OrgMember.org_id).where(col(OrgMember.user_id) == user_id)
    return or_(col(Grant.recipient_id) == user_id, col(Grant.recipient_id).in_(orgs))


def id_taken(session: Session, new_id: str) -> bool:
    """Whether `new_id` is already a user's or an organisation's: the two share one namespace,
    since a grant's `recipient_id` names either and `addressed_to` matches a user's own id.

    Call it in the write transaction that inserts the new user or organisation. On PostgreSQL
    it first takes a transaction lock on the id, so that a registration and an organisation
    creation racing for one id take turns and the second sees the first's row (READ COMMITTED)
    and answers 409; on SQLite the write transaction's lock orders them already."""
    if session.get_bind().dialect.name == "postgresql":
        lock = text("SELECT pg_advisory_xact_lock(:space, hashtext(:id))")
        session.connection().execute(lock, {"space": ID_LOCK, "id": new_id})
    return session.get(User, new_id) is not None or session.get(Organisation, new_id) is not None


def organisation_ids(session: Session, ids: set[str]) -> set[str]:
    """Which of `ids` are organisations (grants may be addressed to them)."""
    if not ids:
        return set()
    found = session.exec(select(Organisation.org_id).where(col(Organisation.org_id).in_(ids)))
    return set(found)


def no_wider(rewrap: GrantCreate, original: Grant) -> bool:
    """No more rights and no later expiry than `original` (expires_at 0 is never)."""
    if rewrap.rights > original.rights:
        return False
    if original.expires_at == 0:
        return True
    return rewrap.expires_at != 0 and rewrap.expires_at <= original.expires_at


def add_rewrapped_grants(
    session: Session, org: Organisation, uploader_id: str, grants: Sequence[OrgGrantIn], now: int
) -> None:
    """Store grants an admin re-wrapped for the organisation's new epoch. They extend nothing:
    each copies a current grant to the organisation in the same dossier, with the same kind,
    document_id and number, no more rights and no later expiry (format section 14.5, as
    clients check with `check_rewrap`); anything else is refused (422) before anything is
    stored. Not logged as shares (the resident's log records whom they shared with, not key
    rotations)."""
    if not grants:
        return
    ids = [g.grant_id for g in grants]
    if len(set(ids)) != len(ids):
        raise invalid("grants: a grant_id appears more than once")
    for g in grants:
        if g.recipient_id != org.org_id:
            raise invalid("grants: every re-wrapped grant is addressed to the organisation")
        if (g.kind == GrantKind.DOSSIER) != (g.document_id is None):
            raise invalid("grants: document_id must be null for kind 1 and set for kind 2")
    dossiers = {g.dossier_id for g in grants}
    current = session.exec(
        select(Grant).where(
            col(Grant.recipient_id) == org.org_id,
            col(Grant.dossier_id).in_(dossiers),
            # as server.deps.current_grant (which imports this module): not expired
            or_(col(Grant.expires_at) == 0, col(Grant.expires_at) > now),
        )
    ).all()
    originals: dict[tuple[str, int, str | None, int], list[Grant]] = {}
    for o in current:
        originals.setdefault((o.dossier_id, o.kind, o.document_id, o.number), []).append(o)
    if dossiers - {o.dossier_id for o in current}:
        raise invalid("grants: a dossier is not shared with the organisation by a current grant")
    for g in grants:
        copies = originals.get((g.dossier_id, g.kind, g.document_id, g.number), [])
        if not copies:
            raise invalid(
                "grants: a re-wrapped grant copies no current grant to the organisation "
                "(same dossier, kind, document_id and number)"
            )
        if not any(no_wider(g, o) for o in copies):
            raise invalid(
                "grants: a re-wrapped grant gives more rights or expires later than the grant "
                "it copies"
            )
    documents = {(g.dossier_id, g.document_id) for g in grants if g.document_id is not None}
    if documents:
        present = set(
            session.exec(
                select(Document.dossier_id, Document.document_id).where(
                    col(Document.document_id).in_({d for _, d in documents})
                )
            )
        )
        if documents - {(a, b) for a, b in present}:
            raise invalid("grants: a document_id is not a document of its dossier")
    if session.exec(select(Grant.grant_id).where(col(Grant.grant_id).in_(ids))).first():
        raise conflict("grants: a grant_id is already in use")
    session.add_all(Grant.of(g, g.dossier_id, uploader_id, now) for g in grants)


def dossier_owners(session: Session, dossier_ids: set[str]) -> dict[str, str]:
    if not dossier_ids:
        return {}
    rows = session.exec(
        select(Dossier.dossier_id, Dossier.owner_id).where(col(Dossier.dossier_id).in_(dossier_ids))
    )
    return dict(rows.all())
