"""The key transparency log (docs/api.md, "Key transparency"): its newest checkpoint, its
tiles, and lookups of many names at once, each answer with the proofs a client checks
(docs/format.md section 17.6).

Checkpoints carry no names and are public. Tiles and entry bundles list every label, so only
logged-in accounts read them (threat model, S22: the log is no list of residents).
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import PlainTextResponse
from sqlmodel import col, select

from vault.errors import VaultError
from vault.tlog import parse_tile_path

from .. import tlog
from ..deps import CurrentUser, SessionDep
from ..models import Organisation, User
from ..problems import not_found
from ..tlog_models import LogHead, LogParameters, LookupAnswer, LookupRequest, UserKeys
from ..tlog_service import LogDep, SinceParam
from .router import resource_router

router = resource_router("log")  # under /api/v1
tiles = APIRouter(prefix="/log", tags=["log"], route_class=router.route_class)  # at the root

IMMUTABLE = "public, max-age=31536000, immutable"
FRESH = "no-cache"
OCTETS = "application/octet-stream"


@router.get("/log/head")
def head(
    _caller: CurrentUser, session: SessionDep, log: LogDep, since: SinceParam = None
) -> LogHead:
    """The newest checkpoint and a consistency proof from the caller's `since`."""
    return log.head(session, since)


@router.post("/log/lookup")
def lookup(
    body: LookupRequest, _caller: CurrentUser, session: SessionDep, log: LogDep
) -> LookupAnswer:
    """Many users' and organisations' keys at once, all proved against one checkpoint."""
    current = log.head(session, body.since)
    users, missing_users = [], []
    for name in dict.fromkeys(body.users):
        user = session.exec(select(User).where(col(User.username) == name)).first()
        proof = None if user is None else log.user_proof(session, user, current.size)
        if user is None or proof is None:
            missing_users.append(name)
            continue
        users.append(
            UserKeys(
                user_id=user.user_id, username=user.username, identity=user.identity, log=proof
            )
        )
    organisations, missing_organisations = [], []
    for name in dict.fromkeys(body.organisations):
        org = session.exec(select(Organisation).where(col(Organisation.name) == name)).first()
        if org is None:
            missing_organisations.append(name)
            continue
        organisations.append(log.organisation_keys(session, org.org_id, org.name, current.size))
    return LookupAnswer(
        head=current,
        users=users,
        organisations=organisations,
        operator_keys=log.operator_keys(session, current.size),
        missing_users=missing_users,
        missing_organisations=missing_organisations,
    )


@tiles.get("/checkpoint", response_class=PlainTextResponse)
def checkpoint(session: SessionDep) -> Response:
    """The newest checkpoint as a signed note (C2SP tlog-tiles `checkpoint`), public."""
    row = tlog.latest_checkpoint(session)
    if row is None:
        raise not_found("the log has no checkpoint yet")
    return PlainTextResponse(row.note, headers={"Cache-Control": FRESH})


@tiles.get("/parameters")
def parameters(log: LogDep) -> LogParameters:
    """The log's public parameters (docs/format.md section 17): what a client pins on first use
    unless given them. Public, like checkpoints: they carry no names."""
    return LogParameters(
        origin=log.keys.origin,
        log_key=log.keys.verifier_key,
        vrf_key=log.keys.vrf_public_key.hex(),
    )


@tiles.get("/tile/{path:path}", responses={200: {"content": {OCTETS: {}}}})
def tile(path: str, _caller: CurrentUser, session: SessionDep) -> Response:
    """A hash tile or entry bundle (C2SP tlog-tiles), for logged-in accounts. A tile's path names
    its width, so its bytes never change: any HTTP cache may keep it for good."""
    try:
        wanted = parse_tile_path("tile/" + path)
    except VaultError:
        raise not_found("no such tile") from None
    row = tlog.latest_checkpoint(session)
    data = None if row is None else tlog.tile_bytes(session, wanted, row.size)
    if data is None:
        raise not_found("no such tile")
    headers = {"Cache-Control": IMMUTABLE}
    return Response(data, media_type=OCTETS, headers=headers)
