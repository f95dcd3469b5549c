"""Registration, the caller's own account, and looking other users up.

Looking users up needs a session: prelogin hides which names exist, so an anonymous lookup
must not reveal it either.
"""

from __future__ import annotations

from fastapi import Response, status
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from .. import org_grants
from ..db import write_transaction
from ..deps import AddressDep, CallerDep, CurrentUser, NowDep, SessionDep, SettingsDep
from ..models import AuthSession, PassphraseChange, User, UserCreate, UserPublic
from ..problems import conflict, not_found, unauthorized
from ..ratelimit import LoginLimiter
from ..security import hash_key
from ..tlog_models import UserLookup
from ..tlog_service import LogDep, SinceParam, logged_identity
from .auth import check_key
from .router import resource_router

router = resource_router("users")

TAKEN = "that username or user id is already taken"


@router.post("/users", status_code=status.HTTP_201_CREATED)
def register(body: UserCreate, session: SessionDep, now: NowDep, log: LogDep) -> UserPublic:
    auth_hash = hash_key(body.auth_key)
    recovery_auth_hash = hash_key(body.recovery_auth_key)
    user = User(
        user_id=body.user_id,
        username=body.username,
        display_name=body.display_name,
        identity=body.identity,
        passphrase_bundle=body.passphrase_bundle,
        recovery_bundle=body.recovery_bundle,
        auth_hash=auth_hash,
        recovery_auth_hash=recovery_auth_hash,
        kdf_memory_kib=body.kdf.memory_kib,
        kdf_iterations=body.kdf.iterations,
        kdf_parallelism=body.kdf.parallelism,
        kdf_salt=body.kdf.salt,
        created_at=now,
    )
    with write_transaction(session):  # after the slow hashes
        # User and organisation ids share one namespace: a grant's recipient_id names either.
        if org_grants.id_taken(session, body.user_id):
            raise conflict(TAKEN)
        session.add(user)
        try:
            session.flush()
            # the identity record and its log entry commit together, or neither does
            log.append(session, logged_identity(log, user), now)
            session.commit()
        except IntegrityError:
            session.rollback()
            raise conflict(TAKEN) from None
    log.cosign()
    return UserPublic.of(user)


@router.get("/me")
async def me(user: CurrentUser) -> UserPublic:  # no database: no worker thread of its own
    return UserPublic.of(user)


@router.put("/me/passphrase", status_code=status.HTTP_204_NO_CONTENT)
def change_passphrase(
    body: PassphraseChange,
    caller: CallerDep,
    session: SessionDep,
    settings: SettingsDep,
    address: AddressDep,
    now: NowDep,
) -> Response:
    """Replace the login key and passphrase bundle, and end every other session of the account.

    The session alone is not enough (a stolen token must not lock the owner out): the current
    auth key is checked as login checks it, counted and rate limited, with login's 401. The
    caller's own session lives on; any other (another device, a thief) is revoked with the
    change, in the same transaction."""
    key = body.current_auth_key
    user, device = check_key(
        session,
        settings,
        caller.user.username,
        address,
        now,
        key,
        recovery=False,
        device_token=body.device_token,
    )
    new_hash = hash_key(body.auth_key)  # no transaction stays open during the slow hash
    with write_transaction(session):
        user.auth_hash = new_hash
        user.set_kdf(body.kdf)
        user.passphrase_bundle = body.passphrase_bundle
        session.add(user)
        session.flush()  # the UPDATE first: it holds the account's row until the commit
        # A passwd or reset that committed meanwhile revoked this session: it may not change
        # the passphrase after the fact (the rollback undoes the UPDATE).
        mine = session.exec(
            select(AuthSession.token_hash).where(
                col(AuthSession.token_hash) == caller.token_hash,
                col(AuthSession.user_id) == user.user_id,
                col(AuthSession.expires_at) > now,
            )
        ).first()
        if mine is None:
            raise unauthorized()
        LoginLimiter(settings).succeeded(session, user.username, address, now, device)
        session.exec(
            delete(AuthSession).where(
                col(AuthSession.user_id) == user.user_id,
                col(AuthSession.token_hash) != caller.token_hash,
            )
        )
        session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/users/by-id/{user_id}")
def user_by_id(
    user_id: str, _caller: CurrentUser, session: SessionDep, log: LogDep, since: SinceParam = None
) -> UserLookup:
    user = session.get(User, user_id)
    if user is None:
        raise not_found("no such user")
    return log.user_lookup(session, user, since)


@router.get("/users/{username}")
def user_by_name(
    username: str,
    _caller: CurrentUser,
    session: SessionDep,
    log: LogDep,
    since: SinceParam = None,
) -> UserLookup:
    """The account with its place in the key transparency log (docs/api.md)."""
    user = session.exec(select(User).where(col(User.username) == username)).first()
    if user is None:
        raise not_found("no such user")
    return log.user_lookup(session, user, since)
