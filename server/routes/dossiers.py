"""Dossiers: creation, listing, the signed index, grants, the access log and `GET /shared`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from sqlalchemy import update
from sqlmodel import col, or_, select

from .. import accesslog, sharing
from ..db import writes
from ..deps import CurrentUser, DossierAccessDep, NowDep, SessionDep, current_grant
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
from ..organisations import recipient_ids
from ..problems import conflict

router = APIRouter(tags=["dossiers"])

IdQuery = Annotated[str, Query(pattern=ID_PATTERN)]


@router.post("/dossiers", status_code=status.HTTP_201_CREATED)
@writes
def create_dossier(
    body: DossierCreate, user: CurrentUser, session: SessionDep, now: NowDep
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
    sharing.add_grants(session, dossier, user.user_id, body.grants, now)
    session.commit()
    return DossierPublic.of(dossier, user)


@router.get("/dossiers")
def list_dossiers(user: CurrentUser, session: SessionDep, now: NowDep) -> list[DossierPublic]:
    shared = select(Grant.dossier_id).where(
        col(Grant.recipient_id).in_(recipient_ids(session, user.user_id)), current_grant(now)
    )
    rows = session.exec(
        select(Dossier, User)
        .join(User, col(User.user_id) == col(Dossier.owner_id))
        .where(or_(col(Dossier.owner_id) == user.user_id, col(Dossier.dossier_id).in_(shared)))
        .order_by(col(Dossier.created_at), col(Dossier.dossier_id))
    ).all()
    return [DossierPublic.of(dossier, owner) for dossier, owner in rows]


@router.get("/dossiers/{dossier_id}")
def get_dossier(access: DossierAccessDep, session: SessionDep) -> DossierPublic:
    owner = access.user if access.is_owner else session.get(User, access.dossier.owner_id)
    assert owner is not None  # a foreign key
    return DossierPublic.of(access.dossier, owner)


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


@router.get("/dossiers/{dossier_id}/grants")
def list_grants(access: DossierAccessDep, session: SessionDep) -> list[GrantPublic]:
    query = select(Grant).where(col(Grant.dossier_id) == access.dossier.dossier_id)
    if not access.is_owner:  # their own grants and those to their organisations
        query = query.where(
            col(Grant.recipient_id).in_(recipient_ids(session, access.user.user_id))
        )
    rows = session.exec(query.order_by(col(Grant.created_at), col(Grant.grant_id))).all()
    return [GrantPublic.of(g) for g in rows]


@router.post("/dossiers/{dossier_id}/grants", status_code=status.HTTP_201_CREATED)
@writes
def add_grants(
    body: GrantsCreate, access: DossierAccessDep, session: SessionDep, now: NowDep
) -> list[GrantPublic]:
    access.require_owner()
    rows = sharing.add_grants(session, access.dossier, access.user.user_id, body.grants, now)
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
