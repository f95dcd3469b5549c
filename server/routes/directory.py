"""The business directory (docs/api.md "Business directory"): an organisation's admin publishes
its signed profile (format section 21); anyone, logged in or not, searches the directory by
place, postcode and service.

The server checks what it can without trusting itself: the profile parses, names this
organisation and its current epoch (a profile signed with a retired epoch's key is refused
here too, though clients are what check the signature). Each answer carries the organisation's
key records so that a client can verify every profile before it shows one.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Response, status
from sqlalchemy import delete
from sqlmodel import Session, col, select

from vault.businessprofile import BusinessProfile
from vault.errors import MalformedError
from vault.kinds import OrgKind, Role

from ..business_models import (
    MAX_PROFILE_BYTES,
    BusinessProfileRow,
    BusinessService,
    DirectoryEntry,
    ProfileIn,
)
from ..db import writes
from ..deps import CurrentUser, NowDep, SessionDep
from ..models import Organisation, OrgKeyRecord, OrgMember
from ..problems import conflict, forbidden, invalid, not_found, too_large
from .router import resource_router

router = resource_router("directory")

# Organisations that can be in the directory: businesses and institutions, not villages'
# groups or conversations.
LISTED_KINDS = frozenset(
    {OrgKind.MUNICIPALITY, OrgKind.INSTITUTION, OrgKind.CONTRACTOR, OrgKind.ENGINEERING}
)
MAX_RESULTS = 500


def key(text: str) -> str:
    """How the directory compares what people type: trimmed, lower case."""
    return " ".join(text.split()).lower()


@router.put("/organisations/{org_id}/profile", status_code=status.HTTP_204_NO_CONTENT)
@writes
def put_profile(
    org_id: str, body: ProfileIn, user: CurrentUser, session: SessionDep, now: NowDep
) -> Response:
    """An admin of the organisation publishes (or replaces) its profile."""
    org = session.get(Organisation, org_id)
    if org is None or org.kind not in LISTED_KINDS:
        raise not_found("no such business or institution")
    member = session.get(OrgMember, (org_id, user.user_id))
    if member is None or member.role != Role.ADMIN:
        raise forbidden("only an admin of the organisation publishes its profile")
    if len(body.profile) > MAX_PROFILE_BYTES:
        raise too_large(f"a profile has at most {MAX_PROFILE_BYTES} bytes")
    try:
        profile = BusinessProfile.decode(body.profile)
    except MalformedError as exc:
        raise invalid(f"profile: {exc}") from None
    if profile.org_id.hex() != org_id:
        raise invalid("the profile is another organisation's")
    if profile.epoch != org.epoch:
        raise conflict(
            f"profiles are signed with the current epoch {org.epoch}", "version_conflict"
        )
    row = session.get(BusinessProfileRow, org_id) or BusinessProfileRow(
        org_id=org_id,
        epoch=profile.epoch,
        profile=body.profile,
        name=profile.name,
        place_key=key(profile.place),
        postcode=profile.postcode,
        latitude_e6=profile.latitude_e6,
        longitude_e6=profile.longitude_e6,
        updated_at=now,
    )
    row.epoch, row.profile, row.name = profile.epoch, body.profile, profile.name
    row.place_key, row.postcode = key(profile.place), profile.postcode
    row.latitude_e6, row.longitude_e6, row.updated_at = (
        profile.latitude_e6,
        profile.longitude_e6,
        now,
    )
    session.add(row)
    session.connection().execute(
        delete(BusinessService).where(col(BusinessService.org_id) == org_id)
    )
    session.add_all(
        BusinessService(service_key=s, org_id=org_id) for s in {key(s) for s in profile.services}
    )
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _entries(session: Session, rows: list[BusinessProfileRow]) -> list[DirectoryEntry]:
    ids = [r.org_id for r in rows]
    orgs = {
        o.org_id: o
        for o in session.exec(select(Organisation).where(col(Organisation.org_id).in_(ids)))
    }
    records: dict[str, list[bytes]] = {}
    for r in session.exec(
        select(OrgKeyRecord)
        .where(col(OrgKeyRecord.org_id).in_(ids))
        .order_by(col(OrgKeyRecord.org_id), col(OrgKeyRecord.epoch))
    ):
        records.setdefault(r.org_id, []).append(r.record)
    return [
        DirectoryEntry(
            org_id=r.org_id,
            org_name=orgs[r.org_id].name,
            kind=orgs[r.org_id].kind,
            verified_fingerprint=orgs[r.org_id].verified_fingerprint,
            profile=r.profile,
            records=records.get(r.org_id, []),
            latitude_e6=r.latitude_e6,
            longitude_e6=r.longitude_e6,
        )
        for r in rows
    ]


@router.get("/directory")
def search(
    session: SessionDep,
    place: Annotated[str | None, Query(max_length=64)] = None,
    postcode: Annotated[str | None, Query(max_length=7)] = None,
    service: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_RESULTS)] = 100,
) -> list[DirectoryEntry]:
    """Businesses and institutions by place, postcode (or its four digits) and service, each
    exact after trimming and lower-casing; public (no login), by name."""
    query = select(BusinessProfileRow)
    if place:
        query = query.where(col(BusinessProfileRow.place_key) == key(place))
    if postcode:
        code = postcode.replace(" ", "").upper()
        if len(code) == 4:
            query = query.where(col(BusinessProfileRow.postcode).startswith(code))
        else:
            query = query.where(col(BusinessProfileRow.postcode) == code)
    if service:
        offering = select(BusinessService.org_id).where(
            col(BusinessService.service_key) == key(service)
        )
        query = query.where(col(BusinessProfileRow.org_id).in_(offering))
    rows = list(session.exec(query.order_by(col(BusinessProfileRow.name)).limit(limit)))
    return _entries(session, rows)
