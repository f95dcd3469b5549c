"""Typed request dependencies: settings, database session, blob store, clock, the caller, and
the one authorisation decision for dossiers (`DossierAccessDep`).

A dossier exists, for a caller, only if the caller owns it or holds a current grant on it or on
one of its documents; everyone else gets 404 `not_found`, the same answer as for a dossier that
does not exist. Routes ask the resolved `DossierAccess` what the caller may do
(`require_owner`, `require_write`, `can_read_document`) instead of repeating checks.

These run for every request, so they are kept cheap. A worker-thread call and a transaction
cost more than the queries in them (a checkout with its liveness ping, BEGIN, COMMIT, thread
switches), so `DossierAccessDep` authenticates the caller and authorises the dossier in one
call and one read step (with the dossier's owner, so that reading a dossier needs nothing
more), a route that only reads can do its read in that same call (`dossier_read`), and the
grant check reads the caller's organisations in a subquery. Statements are built once, with
bound parameters: building one and its cache key costs more than running it.

That decision is made before a write route's write transaction begins, so a revoke, downgrade
or expiry can come in between. A `DossierAccess` is a `server.db.Authorisation`: `@writes`
confirms it inside the write transaction (`DossierAccess.confirmed`) before the route runs, so
the route's own checks (`require_write`, `require_owner`) judge the access as it is when the
write happens. Reads are not confirmed and cost nothing more.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Annotated, Literal, TypeVar

from fastapi import Depends, Request
from sqlalchemy import BindParameter, ColumnElement, bindparam
from sqlmodel import Session, col, or_, select

from vault.kinds import GrantKind, OrgKind, Rights

from .blobstore import BlobStore
from .config import Settings
from .db import Authorisation, get_session, read_step
from .models import AuthSession, Dossier, Grant, Organisation, OrgMember, User
from .notify import Hub
from .org_grants import addressed_to
from .problems import forbidden, not_found, unauthorized
from .security import token_hash

MAX_TOKEN_LENGTH = 256

# What a caller may do in a dossier, from ownership and the grants it holds; not the role of an
# organisation member (vault.kinds.Role).
DossierRole = Literal["owner", "write", "read", "document"]
T = TypeVar("T")


# The cheap dependencies are `async def`, so that they run in the event loop and not in a
# worker thread each; the ones that query the database end their transaction (`release`)
# before they return, so that no connection is held while the request waits for a thread.
async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_blobstore(request: Request) -> BlobStore:
    blobs: BlobStore = request.app.state.blobs
    return blobs


async def get_hub(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


async def get_now(request: Request) -> int:
    clock: Callable[[], int] = request.app.state.clock
    return clock()


async def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
BlobStoreDep = Annotated[BlobStore, Depends(get_blobstore)]
NowDep = Annotated[int, Depends(get_now)]
HubDep = Annotated[Hub, Depends(get_hub)]
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


CALLER = (
    select(AuthSession.expires_at, User)
    .join(User, col(User.user_id) == col(AuthSession.user_id))
    .where(col(AuthSession.token_hash) == bindparam("token_hash"))
)


def authenticate(request: Request, session: Session, now: int) -> Caller:
    """The caller, from the bearer token: the token's SHA-256 looked up (never a slow hash);
    401 if it is missing, unknown or expired."""
    hashed = token_hash(bearer_token(request))
    row = session.exec(CALLER, params={"token_hash": hashed}).first()
    if row is None or row[0] <= now:
        raise unauthorized()
    return Caller(user=row[1], token_hash=hashed)


def get_caller(request: Request, session: SessionDep, now: NowDep) -> Caller:
    with read_step(session):
        return authenticate(request, session, now)


async def get_current_user(caller: Annotated[Caller, Depends(get_caller)]) -> User:
    return caller.user


CallerDep = Annotated[Caller, Depends(get_caller)]
CurrentUser = Annotated[User, Depends(get_current_user)]


# -- dossier authorisation ---------------------------------------------------------------------
@dataclass(frozen=True)
class DossierAccess(Authorisation):
    dossier: Dossier
    owner: User
    user: User
    role: DossierRole
    documents: frozenset[str] = field(default_factory=frozenset)  # for role "document"
    # The app's clock, to confirm the access at the time of the write (a grant may expire
    # after the request's `now`); set by the dependency.
    clock: Callable[[], int] | None = field(default=None, compare=False, repr=False)

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

    def confirmed(self, session: Session) -> DossierAccess:
        """This access as it stands now, confirmed in the write transaction `session` is in
        (by `server.db.writes`, before the route runs): 404 `not_found` if the caller has no
        access left, as the dependency would answer now; otherwise the access that is left,
        for the route to judge (a former writer who may still read gets its 403 for readers).
        Write is confirmed only by a current write grant this transaction holds locked; a
        write grant that came meanwhile counts as read for this request.

        Atomic with the write on both databases. On SQLite the transaction holds the database
        write lock from BEGIN IMMEDIATE, so no revoke commits until the write has. On
        PostgreSQL (READ COMMITTED) the grant that confirms a writer or reader is locked
        FOR SHARE: a revoke deletes it (DELETE locks the row FOR UPDATE, which conflicts), so
        a revoke that has deleted it but not yet committed is waited for, and the row then
        found gone; and one that comes later waits until the write has committed. Only one
        grant row is locked (LIMIT 1: a row found deleted is skipped, not counted), first in
        the transaction, while it holds no other lock, so this cannot deadlock with a revoke
        deleting several (see `server.sharing.revoke_grants`). One statement; none for the
        owner, since a dossier never changes owner and neither is ever deleted."""
        if self.role == "owner":
            return self
        assert self.clock is not None, "a DossierAccess from DossierAccessDep has a clock"
        now = self.clock()
        params = {"dossier_id": self.dossier.dossier_id, "user_id": self.user.user_id}
        if self.role in ("write", "read"):
            rights = Rights.WRITE if self.role == "write" else Rights.READ
            grant = session.exec(CONFIRMING_GRANT, params={**params, "now": now, "rights": rights})
            if grant.first() is not None:
                return self
        access = resolve_access(session, self.dossier.dossier_id, self.user, now, self.clock)
        if access is None:
            raise not_found("no such dossier")
        if access.role == "write":  # a write grant that came meanwhile: not locked here
            return replace(access, role="read")
        return access


def current_grant(now: int | BindParameter[int]) -> ColumnElement[bool]:
    """Grants that have not expired (expires_at 0 means never)."""
    return or_(col(Grant.expires_at) == 0, col(Grant.expires_at) > now)


CURRENT_GRANTS = select(Grant.kind, Grant.rights, Grant.document_id).where(
    col(Grant.dossier_id) == bindparam("dossier_id"),
    addressed_to(bindparam("user_id")),
    current_grant(bindparam("now")),
)


# A current grant on the whole dossier with at least `rights`, locked against a revoke until the
# transaction ends (FOR SHARE on PostgreSQL; nothing on SQLite, whose write lock does it).
CONFIRMING_GRANT = (
    select(Grant.grant_id)
    .where(
        col(Grant.dossier_id) == bindparam("dossier_id"),
        col(Grant.kind) == GrantKind.DOSSIER,
        col(Grant.rights) >= bindparam("rights"),
        addressed_to(bindparam("user_id")),
        current_grant(bindparam("now")),
    )
    .limit(1)
    .with_for_update(read=True, of=Grant)
)


def resolve_access(
    session: Session,
    dossier_id: str,
    user: User,
    now: int,
    clock: Callable[[], int] | None = None,
) -> DossierAccess | None:
    """The caller's access to a dossier; None if they have none or it does not exist."""
    dossier = session.get(Dossier, dossier_id)
    if dossier is None:
        return None
    if dossier.owner_id == user.user_id:
        return DossierAccess(dossier, user, user, "owner", clock=clock)
    grants = session.exec(
        CURRENT_GRANTS, params={"dossier_id": dossier_id, "user_id": user.user_id, "now": now}
    ).all()
    role: DossierRole | None = None
    documents: set[str] = set()
    for kind, rights, document_id in grants:
        if kind == GrantKind.DOSSIER:
            if rights == Rights.WRITE:
                role = "write"
            elif role is None:
                role = "read"
        elif document_id is not None:
            documents.add(document_id)
    if role is None and not documents:
        return None
    owner = session.get(User, dossier.owner_id)
    assert owner is not None  # a foreign key
    if role is not None:
        return DossierAccess(dossier, owner, user, role, clock=clock)
    return DossierAccess(dossier, owner, user, "document", frozenset(documents), clock)


def dossier_read(read: Callable[[Session, DossierAccess], T]) -> Callable[..., T]:
    """A dependency: the caller (as `get_caller`) and their access to the dossier, then `read`
    with that access, all in one worker-thread call and one read step; 401 before 404.

    `DossierAccessDep` is this with nothing more to read. A route that only reads (the grant
    and document listings a client fetches with every dossier it opens) can hand its read to
    it as well, rather than pay a second thread call, checkout and transaction for it."""

    def dependency(dossier_id: str, request: Request, session: SessionDep, now: NowDep) -> T:
        with read_step(session):
            caller = authenticate(request, session, now)
            clock: Callable[[], int] = request.app.state.clock
            access = resolve_access(session, dossier_id, caller.user, now, clock)
            if access is None:
                raise not_found("no such dossier")
            return read(session, access)

    return dependency


def _access_only(_session: Session, access: DossierAccess) -> DossierAccess:
    return access


get_dossier_access = dossier_read(_access_only)
DossierAccessDep = Annotated[DossierAccess, Depends(get_dossier_access)]


# -- group authorisation -----------------------------------------------------------------------
GROUP_KINDS = (OrgKind.GROUP, OrgKind.CONVERSATION)


@dataclass(frozen=True)
class GroupAccess(Authorisation):
    """The caller is in the current roster of a group or conversation (format section 19), as
    the server's own records say: what reading and posting its messages needs. A removed member
    is no longer in the roster (rotation deletes it), so it can do neither."""

    group: Organisation
    user: User
    role: int

    def confirmed(self, session: Session) -> GroupAccess:
        """The access as it stands now, in the write transaction `session` is in, with the
        group's row locked until it ends (FOR NO KEY UPDATE on PostgreSQL; SQLite's write lock
        does it): posts to one group are serialised, and a rotation (which updates the row)
        either commits before the roster is read here or waits until this write has. 404 if
        the group is gone, 403 if the caller left its roster meanwhile."""
        group = session.exec(
            select(Organisation)
            .where(col(Organisation.org_id) == self.group.org_id)
            .with_for_update(key_share=True)
            .execution_options(populate_existing=True)
        ).first()
        if group is None:
            raise not_found("no such group")
        return _group_access(session, group, self.user)


def _group_access(session: Session, group: Organisation, user: User) -> GroupAccess:
    member = session.exec(
        select(OrgMember.role).where(
            col(OrgMember.org_id) == group.org_id, col(OrgMember.user_id) == user.user_id
        )
    ).first()
    if member is None:
        raise forbidden("only the members of the group read and write its messages")
    return GroupAccess(group, user, member)


def get_group_access(
    org_id: str, request: Request, session: SessionDep, now: NowDep
) -> GroupAccess:
    """The caller (401) and their membership of the group `org_id`: 404 for no group (an
    organisation of another kind has no messages), 403 for a non-member (the directory lists
    groups, so their existence is no secret)."""
    with read_step(session):
        caller = authenticate(request, session, now)
        group = session.get(Organisation, org_id)
        if group is None or group.kind not in GROUP_KINDS:
            raise not_found("no such group")
        return _group_access(session, group, caller.user)


GroupAccessDep = Annotated[GroupAccess, Depends(get_group_access)]
