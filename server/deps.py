"""Typed request dependencies: settings, database session, blob store, clock, the caller, and
the one authorisation decision for dossiers (`DossierAccessDep`).

A dossier exists, for a caller, only if the caller owns it or holds a current grant on it or on
one of its documents; everyone else gets 404 `not_found`, the same answer as for a dossier that
does not exist. Routes ask the resolved `DossierAccess` what the caller may do
(`require_owner`, `require_write`, `can_read_document`) instead of repeating checks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Literal

from fastapi import Depends, Request
from sqlalchemy import ColumnElement
from sqlmodel import Session, col, or_, select

from .blobstore import BlobStore
from .config import Settings
from .db import get_session, release
from .models import (
    GRANT_KIND_DOSSIER,
    RIGHTS_WRITE,
    AuthSession,
    Dossier,
    Grant,
    User,
)
from .organisations import recipient_ids
from .problems import forbidden, not_found, unauthorized
from .security import token_hash

MAX_TOKEN_LENGTH = 256

Role = Literal["owner", "write", "read", "document"]


# The cheap dependencies are `async def`, so that they run in the event loop and not in a
# worker thread each; the ones that query the database end their transaction (`release`)
# before they return, so that no connection is held while the request waits for a thread.
async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_blobstore(request: Request) -> BlobStore:
    blobs: BlobStore = request.app.state.blobs
    return blobs


async def get_now(request: Request) -> int:
    clock: Callable[[], int] = request.app.state.clock
    return clock()


async def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
BlobStoreDep = Annotated[BlobStore, Depends(get_blobstore)]
NowDep = Annotated[int, Depends(get_now)]
AddressDep = Annotated[str, Depends(client_address)]


# -- the caller --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Caller:
    user: User
    token_hash: str


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > MAX_TOKEN_LENGTH:
        raise unauthorized()
    return token


def get_caller(request: Request, session: SessionDep, now: NowDep) -> Caller:
    hashed = token_hash(bearer_token(request))
    row = session.exec(
        select(AuthSession, User)
        .join(User, col(User.user_id) == col(AuthSession.user_id))
        .where(col(AuthSession.token_hash) == hashed)
    ).first()
    release(session)
    if row is None or row[0].expires_at <= now:
        raise unauthorized()
    return Caller(user=row[1], token_hash=hashed)


async def get_current_user(caller: Annotated[Caller, Depends(get_caller)]) -> User:
    return caller.user


CallerDep = Annotated[Caller, Depends(get_caller)]
CurrentUser = Annotated[User, Depends(get_current_user)]


# -- dossier authorisation ---------------------------------------------------------------------
@dataclass(frozen=True)
class DossierAccess:
    dossier: Dossier
    user: User
    role: Role
    documents: frozenset[str] = field(default_factory=frozenset)  # for role "document"

    @property
    def is_owner(self) -> bool:
        return self.role == "owner"

    def require_owner(self) -> None:
        if self.role != "owner":
            raise forbidden("only the owner of the dossier may do this")

    def require_write(self) -> None:
        if self.role not in ("owner", "write"):
            raise forbidden("you may read this dossier but not change it")

    def can_read_document(self, document_id: str) -> bool:
        return self.role != "document" or document_id in self.documents

    @property
    def reads_everything(self) -> bool:
        return self.role != "document"


def current_grant(now: int) -> ColumnElement[bool]:
    """Grants that have not expired (expires_at 0 means never)."""
    return or_(col(Grant.expires_at) == 0, col(Grant.expires_at) > now)


def resolve_access(session: Session, dossier_id: str, user: User, now: int) -> DossierAccess | None:
    """The caller's access to a dossier; None if they have none or it does not exist."""
    dossier = session.get(Dossier, dossier_id)
    if dossier is None:
        return None
    if dossier.owner_id == user.user_id:
        return DossierAccess(dossier, user, "owner")
    grants = session.exec(
        select(Grant.kind, Grant.rights, Grant.document_id).where(
            col(Grant.dossier_id) == dossier_id,
            col(Grant.recipient_id).in_(recipient_ids(session, user.user_id)),  # or their orgs
            current_grant(now),
        )
    ).all()
    role: Role | None = None
    documents: set[str] = set()
    for kind, rights, document_id in grants:
        if kind == GRANT_KIND_DOSSIER:
            if rights == RIGHTS_WRITE:
                role = "write"
            elif role is None:
                role = "read"
        elif document_id is not None:
            documents.add(document_id)
    if role is not None:
        return DossierAccess(dossier, user, role)
    if documents:
        return DossierAccess(dossier, user, "document", frozenset(documents))
    return None


def get_dossier_access(
    dossier_id: str, user: CurrentUser, session: SessionDep, now: NowDep
) -> DossierAccess:
    access = resolve_access(session, dossier_id, user, now)
    release(session)
    if access is None:
        raise not_found("no such dossier")
    return access


DossierAccessDep = Annotated[DossierAccess, Depends(get_dossier_access)]
