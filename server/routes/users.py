"""Registration, the caller's own account, and looking other users up.

Looking users up needs a session: prelogin hides which names exist, so an anonymous lookup
must not reveal it either.
"""

from __future__ import annotations

from fastapi import Response, status
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from .. import organisations
from ..db import release, write_transaction
from ..deps import CurrentUser, NowDep, SessionDep
from ..models import PassphraseChange, User, UserCreate, UserPublic
from ..problems import conflict, not_found
from ..routing import resource_router
from ..security import hash_key

router = resource_router("users")

TAKEN = "that username or user id is already taken"


@router.post("/users", status_code=status.HTTP_201_CREATED)
def register(body: UserCreate, session: SessionDep, now: NowDep) -> UserPublic:
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
        if organisations.id_taken(session, body.user_id):
            raise conflict(TAKEN)
        session.add(user)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            raise conflict(TAKEN) from None
    return UserPublic.of(user)


@router.get("/me")
async def me(user: CurrentUser) -> UserPublic:  # no database: no worker thread of its own
    return UserPublic.of(user)


@router.put("/me/passphrase", status_code=status.HTTP_204_NO_CONTENT)
def change_passphrase(body: PassphraseChange, user: CurrentUser, session: SessionDep) -> Response:
    release(session)  # no transaction stays open during the slow hash
    user.auth_hash = hash_key(body.auth_key)
    user.set_kdf(body.kdf)
    user.passphrase_bundle = body.passphrase_bundle
    session.add(user)
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/users/by-id/{user_id}")
def user_by_id(user_id: str, _caller: CurrentUser, session: SessionDep) -> UserPublic:
    user = session.get(User, user_id)
    if user is None:
        raise not_found("no such user")
    return UserPublic.of(user)


@router.get("/users/{username}")
def user_by_name(username: str, _caller: CurrentUser, session: SessionDep) -> UserPublic:
    user = session.exec(select(User).where(col(User.username) == username)).first()
    if user is None:
        raise not_found("no such user")
    return UserPublic.of(user)
