"""Archive keys of a group (format section 19.2): an admin gives one member the keys of epochs
before it joined, each sealed to that member alone; the member fetches its own.

The statements are opaque here (the server may not import `vault.group`); the member's client
checks each one (who signed it, that the signer was an admin, that it is addressed to it). The
server keeps what it can: only an admin in its roster gives them, only to a current member, only
for an earlier epoch, and each member reads only its own.
"""

from __future__ import annotations

from fastapi import status
from sqlmodel import col, select

from vault.kinds import OrgKind, Role

from ..db import writes
from ..deps import CurrentUser, NowDep, SessionDep
from ..models import ArchiveKeyPublic, ArchiveKeysIn, GroupArchiveKey, Organisation, OrgMember
from ..problems import forbidden, invalid, not_found
from .router import resource_router

router = resource_router("groups")


def _group(session: SessionDep, org_id: str) -> Organisation:
    group = session.get(Organisation, org_id)
    if group is None or group.kind != OrgKind.GROUP:
        raise not_found("no such group")
    return group


@router.post("/organisations/{org_id}/archive-keys", status_code=status.HTTP_201_CREATED)
@writes
def give_archive_keys(
    org_id: str, body: ArchiveKeysIn, user: CurrentUser, session: SessionDep, now: NowDep
) -> list[ArchiveKeyPublic]:
    """An admin stores archive keys for current members (a key given again replaces the old)."""
    group = _group(session, org_id)
    me = session.get(OrgMember, (org_id, user.user_id))
    if me is None or me.role != Role.ADMIN:
        raise forbidden("only an administrator of the group gives access to its archive")
    rows = []
    for key in body.keys:
        if key.epoch >= group.epoch:
            raise invalid("archive keys are for epochs before the current one")
        if session.get(OrgMember, (org_id, key.member_id)) is None:
            raise invalid("archive keys go to current members only")
        row = GroupArchiveKey(
            org_id=org_id,
            member_id=key.member_id,
            epoch=key.epoch,
            granted_in=group.epoch,
            archive_key=key.archive_key,
            created_at=now,
        )
        rows.append(session.merge(row))
    session.flush()
    out = [ArchiveKeyPublic(epoch=r.epoch, granted_in=r.granted_in, archive_key=r.archive_key)
           for r in rows]  # fmt: skip
    session.commit()
    return out


@router.get("/organisations/{org_id}/archive-keys")
def my_archive_keys(org_id: str, user: CurrentUser, session: SessionDep) -> list[ArchiveKeyPublic]:
    """The caller's own archive keys of the group (current members only)."""
    _group(session, org_id)
    if session.get(OrgMember, (org_id, user.user_id)) is None:
        raise forbidden("only members of the group read its archive keys")
    rows = session.exec(
        select(GroupArchiveKey)
        .where(
            col(GroupArchiveKey.org_id) == org_id, col(GroupArchiveKey.member_id) == user.user_id
        )
        .order_by(col(GroupArchiveKey.epoch))
    ).all()
    return [
        ArchiveKeyPublic(epoch=r.epoch, granted_in=r.granted_in, archive_key=r.archive_key)
        for r in rows
    ]
