"""Dossiers: creation, listing, the signed index, grants, the access log and `GET /shared`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Response, status
from sqlalchemy import bindparam, update
from sqlmodel import Session, col, or_, select

from .. import accesslog, notifications, sharing
from ..db import writes
from ..deps import (
    CurrentUser,
    DossierAccess,
    DossierAccessDep,
    NowDep,
    SessionDep,
    SettingsDep,
    current_grant,
    dossier_read,
)
from ..models import (
    ID_PATTERN,
    Dossier,
    DossierCreate,
    DossierPublic,
    Grant,
    GrantPublic,
    GrantsCreate,
    IndexUpdate,
    LogEntryPublic,
    User,
)
from ..org_grants import addressed_to
from ..problems import conflict
from .router import resource_router

router = resource_router("dossiers")

IdQuery = Annotated[str, Query(pattern=ID_PATTERN)]


@router.post("/dossiers", status_code=status.HTTP_201_CREATED)
@writes
def create_dossier(
    body: DossierCreate,
    user: CurrentUser,
    session: SessionDep,
    now: NowDep,
    settings: SettingsDep,
) -> DossierPublic:
    if session.get(Dossier, body.dossier_id) is not None:
        raise conflict("that dossier id is already taken")
    dossier = Dossier(
        dossier_id=body.dossier_id,
        owner_id=user.user_id,
        index_data=body.index,
        index_counter=body.counter,
        created_at=now,
    )
    session.add(dossier)
    session.flush()
    rows = sharing.add_grants(session, dossier, user.user_id, body.grants, now)
    notifications.announce_shares(session, rows, user.user_id, now, settings)
    session.commit()
    return DossierPublic.of(dossier, user)


@router.get("/dossiers")
def list_dossiers(user: CurrentUser, session: SessionDep, now: NowDep) -> list[DossierPublic]:
    shared = select(Grant.dossier_id).where(addressed_to(user.user_id), current_grant(now))
    rows = session.exec(
        select(Dossier, User)
        .join(User, col(User.user_id) == col(Dossier.owner_id))
        .where(or_(col(Dossier.owner_id) == user.user_id, col(Dossier.dossier_id).in_(shared)))
        .order_by(col(Dossier.created_at), col(Dossier.dossier_id))
    ).all()
    return [DossierPublic.of(dossier, owner) for dossier, owner in rows]


@router.get("/dossiers/{dossier_id}")
async def get_dossier(access: DossierAccessDep) -> DossierPublic:
    # Everything is in `access` already: no database, so no worker thread of its own.
    return DossierPublic.of(access.dossier, access.owner)


@router.put("/dossiers/{dossier_id}/index", status_code=status.HTTP_204_NO_CONTENT)
@writes
def put_index(body: IndexUpdate, access: DossierAccessDep, session: SessionDep) -> Response:
    access.require_owner()
    changed = session.connection().execute(
        update(Dossier)
        .where(
            col(Dossier.dossier_id) == access.dossier.dossier_id,
            col(Dossier.index_counter) < body.counter,
        )
        .values(index_data=body.index, index_counter=body.counter)
    )
    if not changed.rowcount:
        raise conflict(
            "the index counter must be greater than the stored one", "counter_not_increasing"
        )
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# Built once (clients read the grants with every dossier they open): the owner sees every
# grant; anyone else their own and those to their organisations.
DOSSIER_GRANTS = (
    select(Grant)
    .where(col(Grant.dossier_id) == bindparam("dossier_id"))
    .order_by(col(Grant.created_at), col(Grant.grant_id))
)
DOSSIER_GRANTS_TO_CALLER = DOSSIER_GRANTS.where(addressed_to(bindparam("user_id")))


def visible_grants(session: Session, access: DossierAccess) -> list[GrantPublic]:
    query = DOSSIER_GRANTS if access.is_owner else DOSSIER_GRANTS_TO_CALLER
    params = {"dossier_id": access.dossier.dossier_id, "user_id": access.user.user_id}
    return [GrantPublic.of(g) for g in session.exec(query, params=params).all()]


@router.get("/dossiers/{dossier_id}/grants")
async def list_grants(
    grants: Annotated[list[GrantPublic], Depends(dossier_read(visible_grants))],
) -> list[GrantPublic]:
    return grants  # read with the access check, in its worker-thread call


@router.post("/dossiers/{dossier_id}/grants", status_code=status.HTTP_201_CREATED)
@writes
def add_grants(
    body: GrantsCreate,
    access: DossierAccessDep,
    session: SessionDep,
    now: NowDep,
    settings: SettingsDep,
) -> list[GrantPublic]:
    access.require_owner()
    rows = sharing.add_grants(
        session, access.dossier, access.user.user_id, body.grants, now, rotation=body.rotation
    )
    if not body.rotation:  # a new epoch's key for those who had the old one is no news
        notifications.announce_shares(session, rows, access.user.user_id, now, settings)
    session.commit()
    return [GrantPublic.of(g) for g in rows]


@router.delete("/dossiers/{dossier_id}/grants", status_code=status.HTTP_204_NO_CONTENT)
@writes
def revoke_grants(
    access: DossierAccessDep,
    session: SessionDep,
    now: NowDep,
    recipient_id: IdQuery,
    document_id: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
) -> Response:
    access.require_owner()
    sharing.revoke_grants(
        session, access.dossier, access.user.user_id, recipient_id, document_id, now
    )
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/dossiers/{dossier_id}/log")
def get_log(access: DossierAccessDep, session: SessionDep) -> list[LogEntryPublic]:
    return accesslog.entries(session, access.dossier.dossier_id)


@router.get("/shared")
def shared_with_me(user: CurrentUser, session: SessionDep, now: NowDep) -> list[GrantPublic]:
    rows = session.exec(
        select(Grant)
        .where(
            col(Grant.recipient_id) == user.user_id,
            col(Grant.granter_id) != user.user_id,
            current_grant(now),
        )
        .order_by(col(Grant.created_at).desc(), col(Grant.grant_id))
    ).all()
    return [GrantPublic.of(g) for g in rows]
