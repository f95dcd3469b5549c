"""Organisations (the directory, members, rotation, grants to them) and receipts on dossiers.

Everything an organisation publishes is signed by its keys and checked by clients; the server
keeps a roster for access control and enforces roles as defence in depth: only an admin in the
roster adds members or rotates keys, and only a current member files receipts.
"""

from __future__ import annotations

from fastapi import BackgroundTasks, status
from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from vault.kinds import OrgKind, Role

from .. import notifications, org_grants
from ..db import writes
from ..deps import (
    CurrentUser,
    DossierAccessDep,
    HubDep,
    NowDep,
    SessionDep,
    SettingsDep,
    current_grant,
)
from ..models import (
    Dossier,
    DossierPublic,
    Grant,
    GrantPublic,
    MemberAdd,
    MembershipIn,
    MembershipPublic,
    Organisation,
    OrganisationCreate,
    OrganisationDetail,
    OrganisationPublic,
    OrgCase,
    OrgGrantPublic,
    OrgKeyRecord,
    OrgMember,
    OrgMembership,
    Receipt,
    ReceiptCreate,
    ReceiptPublic,
    Rotation,
    User,
)
from ..notification_models import Topic
from ..problems import conflict, forbidden, invalid, not_found
from ..tlog import organisation_entry
from ..tlog_models import OrganisationLookup
from ..tlog_service import LogDep, SinceParam
from .router import resource_router

router = resource_router("organisations")


def _role(session: Session, org_id: str, user_id: str) -> int | None:
    row = session.get(OrgMember, (org_id, user_id))
    return row.role if row else None


def _detail(session: Session, org: Organisation, user_id: str) -> OrganisationDetail:
    records = session.exec(
        select(OrgKeyRecord.record)
        .where(col(OrgKeyRecord.org_id) == org.org_id)
        .order_by(col(OrgKeyRecord.epoch))
    ).all()
    memberships = session.exec(
        select(OrgMembership)
        .where(col(OrgMembership.org_id) == org.org_id)
        .order_by(col(OrgMembership.epoch), col(OrgMembership.member_id))
    ).all()
    public = OrganisationPublic.of(org, _role(session, org.org_id, user_id))
    return OrganisationDetail(
        **public.model_dump(),
        records=list(records),
        memberships=[
            MembershipPublic(
                epoch=m.epoch, member_id=m.member_id, role=m.role, membership=m.membership
            )
            for m in memberships
        ],
    )


def _member_count(session: Session, org_id: str) -> int:
    rows = session.exec(select(OrgMember.user_id).where(col(OrgMember.org_id) == org_id)).all()
    return len(rows)


def _organisation(session: Session, org_id: str) -> Organisation:
    org = session.get(Organisation, org_id)
    if org is None:
        raise not_found("no such organisation")
    return org


def _visible(session: Session, org: Organisation | None, user: User) -> Organisation:
    """`org` if the caller may see it: a conversation (who talks with whom) only to its
    members, anything else to everyone (the directory); else 404, as for none."""
    if org is None or (
        org.kind == OrgKind.CONVERSATION and _role(session, org.org_id, user.user_id) is None
    ):
        raise not_found("no such organisation")
    return org


def _membership(org_id: str, epoch: int, m: MembershipIn, now: int) -> OrgMembership:
    return OrgMembership(
        org_id=org_id,
        epoch=epoch,
        member_id=m.member_id,
        role=m.role,
        membership=m.membership,
        created_at=now,
    )


def _check_roles(org: Organisation, roles: list[int]) -> None:
    """What format section 19.1 allows: editors only in a group; in a conversation, admins
    only (its two members are both admins)."""
    if Role.EDITOR in roles and org.kind != OrgKind.GROUP:
        raise invalid("role 3 (editor) exists only in a group")
    if org.kind == OrgKind.CONVERSATION and any(r != Role.ADMIN for r in roles):
        raise invalid("both members of a conversation are admins (role 2)")


def _require_admin(session: Session, org: Organisation, user: User) -> None:
    if _role(session, org.org_id, user.user_id) != Role.ADMIN:
        raise forbidden("only an administrator of the organisation may do this")


@router.post("/organisations", status_code=status.HTTP_201_CREATED)
@writes
def create_organisation(
    body: OrganisationCreate,
    user: CurrentUser,
    session: SessionDep,
    now: NowDep,
    log: LogDep,
    background: BackgroundTasks,
) -> OrganisationDetail:
    org = Organisation(
        org_id=body.org_id,
        name=body.name,
        kind=body.kind,
        epoch=1,
        created_by=user.user_id,
        created_at=now,
    )
    if org_grants.id_taken(session, body.org_id):  # ids of users and organisations never meet
        raise conflict("that organisation id is taken")
    if session.exec(select(Organisation).where(col(Organisation.name) == body.name)).first():
        raise conflict("that organisation name is taken")
    session.add(org)
    session.flush()
    session.add(OrgKeyRecord(org_id=org.org_id, epoch=1, record=body.record, created_at=now))
    session.add(OrgMember(org_id=org.org_id, user_id=user.user_id, role=Role.ADMIN, added_at=now))
    creator = MembershipIn(member_id=user.user_id, role=Role.ADMIN, membership=body.membership)
    session.add(_membership(org.org_id, 1, creator, now))
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise conflict("that organisation name or id is taken") from None
    log.append(session, [organisation_entry(log.keys, org.org_id, org.name, 1, body.record)], now)
    detail = _detail(session, org, user.user_id)
    session.commit()
    background.add_task(log.cosign)  # after the write lock is given back
    return detail


@router.get("/organisations")
def list_organisations(user: CurrentUser, session: SessionDep) -> list[OrganisationPublic]:
    """The directory: every organisation and group, verified or not, with the caller's role,
    and the caller's own conversations."""
    mine = dict(
        session.exec(
            select(OrgMember.org_id, OrgMember.role).where(col(OrgMember.user_id) == user.user_id)
        ).all()
    )
    orgs = session.exec(select(Organisation).order_by(col(Organisation.name))).all()
    return [
        OrganisationPublic.of(o, mine.get(o.org_id))
        for o in orgs
        if o.kind != OrgKind.CONVERSATION or o.org_id in mine
    ]


@router.get("/organisations/by-name/{name}")
def organisation_by_name(
    name: str, user: CurrentUser, session: SessionDep, log: LogDep, since: SinceParam = None
) -> OrganisationLookup:
    """The organisation, every epoch record and operator statement with its place in the key
    transparency log (docs/api.md)."""
    org = session.exec(select(Organisation).where(col(Organisation.name) == name)).first()
    org = _visible(session, org, user)
    return log.organisation_lookup(session, _detail(session, org, user.user_id), since)


@router.get("/organisations/{org_id}")
def get_organisation(
    org_id: str, user: CurrentUser, session: SessionDep, log: LogDep, since: SinceParam = None
) -> OrganisationLookup:
    org = _visible(session, session.get(Organisation, org_id), user)
    return log.organisation_lookup(session, _detail(session, org, user.user_id), since)


@router.post("/organisations/{org_id}/members", status_code=status.HTTP_201_CREATED)
@writes
def add_member(
    org_id: str, body: MemberAdd, user: CurrentUser, session: SessionDep, now: NowDep
) -> OrganisationDetail:
    org = _organisation(session, org_id)
    _require_admin(session, org, user)
    _check_roles(org, [body.role])
    if org.kind == OrgKind.CONVERSATION and _member_count(session, org_id) >= 2:
        raise invalid("a conversation has exactly two members")
    if body.epoch != org.epoch:
        raise conflict(f"memberships are for the current epoch {org.epoch}", "version_conflict")
    if session.get(User, body.member_id) is None:
        raise invalid("member_id is not a user")
    if session.get(OrgMember, (org_id, body.member_id)) is not None:
        raise conflict("already a member")
    session.add(OrgMember(org_id=org_id, user_id=body.member_id, role=body.role, added_at=now))
    session.merge(_membership(org_id, body.epoch, body, now))
    session.flush()
    detail = _detail(session, org, user.user_id)
    session.commit()
    return detail


@router.post("/organisations/{org_id}/rotate")
@writes
def rotate(
    org_id: str,
    body: Rotation,
    user: CurrentUser,
    session: SessionDep,
    now: NowDep,
    log: LogDep,
    hub: HubDep,
    background: BackgroundTasks,
) -> OrganisationDetail:
    """Remove a member: the next epoch, the remaining members' memberships of it, and every
    grant to the organisation re-wrapped for it, in one transaction."""
    org = _organisation(session, org_id)
    _require_admin(session, org, user)
    _check_roles(org, [m.role for m in body.memberships])
    if body.epoch != org.epoch + 1:
        raise conflict(f"the next epoch is {org.epoch + 1}", "version_conflict")
    roster = {
        m.user_id: m
        for m in session.exec(select(OrgMember).where(col(OrgMember.org_id) == org_id)).all()
    }
    if body.removed_id not in roster:
        raise not_found("that user is not a member")
    if body.removed_id == user.user_id:
        raise invalid("an administrator cannot remove themselves")
    remaining = {m.member_id for m in body.memberships}
    if len(remaining) != len(body.memberships):
        raise invalid("memberships: a member appears more than once")
    if body.removed_id in remaining or not remaining <= set(roster):
        raise invalid("memberships: only the remaining members get the new epoch's keys")
    if user.user_id not in remaining:
        raise invalid("memberships: the rotating administrator keeps a membership")
    session.connection().execute(
        update(Organisation)
        .where(col(Organisation.org_id) == org_id, col(Organisation.epoch) == org.epoch)
        .values(epoch=body.epoch)
    )
    session.add(OrgKeyRecord(org_id=org_id, epoch=body.epoch, record=body.record, created_at=now))
    session.connection().execute(
        delete(OrgMember).where(
            col(OrgMember.org_id) == org_id, col(OrgMember.user_id).not_in(remaining)
        )
    )
    for m in body.memberships:
        roster[m.member_id].role = m.role
        session.add(roster[m.member_id])
        session.add(_membership(org_id, body.epoch, m, now))
    org_grants.add_rewrapped_grants(session, org, user.user_id, body.grants, now)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise conflict("the organisation changed meanwhile", "version_conflict") from None
    org.epoch = body.epoch
    entry = organisation_entry(log.keys, org_id, org.name, body.epoch, body.record)
    log.append(session, [entry], now)
    hub.publish(session, org_id, "epoch", body.epoch)  # live streams re-check their member
    detail = _detail(session, org, user.user_id)
    session.commit()
    background.add_task(log.cosign)  # after the write lock is given back
    return detail


@router.get("/organisations/{org_id}/grants")
def organisation_grants(
    org_id: str, user: CurrentUser, session: SessionDep, now: NowDep
) -> list[OrgGrantPublic]:
    """Every current grant addressed to the organisation (members only), newest first."""
    org = _organisation(session, org_id)
    if _role(session, org.org_id, user.user_id) is None:
        raise forbidden("only members of the organisation see what was shared with it")
    rows = session.exec(
        select(Grant)
        .where(col(Grant.recipient_id) == org_id, current_grant(now))
        .order_by(col(Grant.created_at).desc(), col(Grant.grant_id))
    ).all()
    owners = org_grants.dossier_owners(session, {g.dossier_id for g in rows})
    return [OrgGrantPublic.of_grant(g, owners[g.dossier_id]) for g in rows]


@router.get("/organisations/{org_id}/inbox")
def organisation_inbox(
    org_id: str, user: CurrentUser, session: SessionDep, now: NowDep
) -> list[OrgCase]:
    """The organisation's inbox in one call (members only): every dossier with a current grant
    to it, newest share first, with the dossier's owner, index and those grants. Without it a
    member's client would fetch each dossier and each owner separately: a round trip per case."""
    org = _organisation(session, org_id)
    if _role(session, org.org_id, user.user_id) is None:
        raise forbidden("only members of the organisation see what was shared with it")
    grants = session.exec(
        select(Grant)
        .where(col(Grant.recipient_id) == org_id, current_grant(now))
        .order_by(col(Grant.created_at).desc(), col(Grant.grant_id))
    ).all()
    by_dossier: dict[str, list[GrantPublic]] = {}
    for g in grants:
        by_dossier.setdefault(g.dossier_id, []).append(GrantPublic.of(g))
    dossiers = {
        d.dossier_id: (d, owner)
        for d, owner in session.exec(
            select(Dossier, User)
            .join(User, col(User.user_id) == col(Dossier.owner_id))
            .where(col(Dossier.dossier_id).in_(list(by_dossier)))
        ).all()
    }
    return [
        OrgCase(dossier=DossierPublic.of(*dossiers[d]), grants=rows)
        for d, rows in by_dossier.items()
    ]


@router.post("/dossiers/{dossier_id}/receipts", status_code=status.HTTP_201_CREATED)
@writes
def add_receipt(
    body: ReceiptCreate,
    access: DossierAccessDep,
    session: SessionDep,
    now: NowDep,
    settings: SettingsDep,
) -> ReceiptPublic:
    """A member files the receipt its client signed for the organisation."""
    if _role(session, body.org_id, access.user.user_id) is None:
        raise forbidden("only a member of the organisation files its receipts")
    shared = session.exec(
        select(Grant.grant_id).where(
            col(Grant.dossier_id) == access.dossier.dossier_id,
            col(Grant.recipient_id) == body.org_id,
            current_grant(now),
        )
    ).first()
    if shared is None:
        raise forbidden("this dossier is not shared with that organisation")
    if session.get(Receipt, body.receipt_id) is not None:
        raise conflict("that receipt id is taken")
    row = Receipt(
        receipt_id=body.receipt_id,
        dossier_id=access.dossier.dossier_id,
        org_id=body.org_id,
        submitted_by=access.user.user_id,
        receipt=body.receipt,
        created_at=now,
    )
    session.add(row)
    notifications.enqueue(session, [access.dossier.owner_id], Topic.RECEIPT, now, settings)
    session.commit()
    return ReceiptPublic.of(row)


@router.get("/dossiers/{dossier_id}/receipts")
def list_receipts(access: DossierAccessDep, session: SessionDep) -> list[ReceiptPublic]:
    rows = session.exec(
        select(Receipt)
        .where(col(Receipt.dossier_id) == access.dossier.dossier_id)
        .order_by(col(Receipt.created_at), col(Receipt.receipt_id))
    ).all()
    return [ReceiptPublic.of(r) for r in rows]
