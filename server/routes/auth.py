"""Prelogin, login, logout, recovery and passphrase reset.

Unknown names and wrong keys get the same answer in the same time: prelogin shows a fake but
stable salt, and every key check runs one Argon2id verification (against a dummy hash when
there is no account). Every attempt at a key is rate limited (`ratelimit`), and a device that
logged in before is held back only by its own failures: each login hands it a device token for
the next. Slow hashing runs outside any database transaction, so it never holds SQLite's write
lock.
"""

from __future__ import annotations

from fastapi import Response, status
from sqlalchemy import delete
from sqlmodel import Session, col, select

from ..config import Settings
from ..db import writes
from ..deps import AddressDep, CallerDep, NowDep, SessionDep, SettingsDep
from ..models import (
    AuthSession,
    DeviceToken,
    KdfParams,
    LoginRequest,
    LoginResponse,
    PreloginRequest,
    PreloginResponse,
    RecoveryRequest,
    RecoveryResponse,
    ResetPassphraseRequest,
    User,
    UserPublic,
)
from ..problems import unauthorized
from ..ratelimit import LoginLimiter
from ..security import fake_salt, hash_key, new_token, token_hash, verify_key
from .router import resource_router

router = resource_router("auth")

DEFAULT_MEMORY_KIB = 65_536
DEFAULT_ITERATIONS = 3
DEFAULT_PARALLELISM = 1


def find_user(session: Session, username: str) -> User | None:
    return session.exec(select(User).where(col(User.username) == username)).first()


def start_session(
    session: Session, user: User, now: int, settings: Settings, device_token: str
) -> LoginResponse:
    """Create a session token (stored hashed) in the caller's transaction."""
    token = new_token()
    expires_at = now + settings.session_ttl_seconds
    session.add(
        AuthSession(
            token_hash=token_hash(token),
            user_id=user.user_id,
            expires_at=expires_at,
            created_at=now,
        )
    )
    return LoginResponse(
        token=token,
        expires_at=expires_at,
        user=UserPublic.of(user),
        passphrase_bundle=user.passphrase_bundle,
        device_token=device_token,
    )


def check_key(
    session: Session,
    settings: Settings,
    username: str,
    address: str,
    now: int,
    key: bytes,
    *,
    recovery: bool,
    device_token: str | None,
) -> tuple[User, str | None]:
    """Count the attempt, then check the key; return the user and the hash of the valid device
    token presented (None: none), or raise 401 / 429."""
    limiter = LoginLimiter(settings)
    device = limiter.trusted_device(session, username, device_token, now)
    session.commit()  # `attempt` begins with a write
    limiter.attempt(session, username, address, now, device)
    user = find_user(session, username)
    stored = None if user is None else (user.recovery_auth_hash if recovery else user.auth_hash)
    session.commit()  # no transaction stays open during the slow hash
    valid = verify_key(stored, key)  # runs (against a dummy hash) even for unknown names
    if user is None or not valid:
        raise unauthorized("unknown user or wrong key")
    return user, device


@router.post("/auth/prelogin")
def prelogin(body: PreloginRequest, session: SessionDep, settings: SettingsDep) -> PreloginResponse:
    user = find_user(session, body.username)
    if user is not None:
        return PreloginResponse(kdf=user.kdf())
    return PreloginResponse(
        kdf=KdfParams(
            algorithm="argon2id",
            memory_kib=DEFAULT_MEMORY_KIB,
            iterations=DEFAULT_ITERATIONS,
            parallelism=DEFAULT_PARALLELISM,
            salt=fake_salt(settings.secret_key, body.username),
        )
    )


@router.post("/auth/login")
def login(
    body: LoginRequest,
    session: SessionDep,
    settings: SettingsDep,
    address: AddressDep,
    now: NowDep,
) -> LoginResponse:
    user, device = check_key(
        session,
        settings,
        body.username,
        address,
        now,
        body.auth_key,
        recovery=False,
        device_token=body.device_token,
    )
    limiter = LoginLimiter(settings)
    limiter.succeeded(session, body.username, address, now, device)
    token = limiter.new_device_token(session, user, now, replacing=device)
    answer = start_session(session, user, now, settings, token)
    session.commit()
    return answer


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
@writes
def logout(caller: CallerDep, session: SessionDep) -> Response:
    session.exec(delete(AuthSession).where(col(AuthSession.token_hash) == caller.token_hash))
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/auth/recovery")
def recovery(
    body: RecoveryRequest,
    session: SessionDep,
    settings: SettingsDep,
    address: AddressDep,
    now: NowDep,
) -> RecoveryResponse:
    user, device = check_key(
        session,
        settings,
        body.username,
        address,
        now,
        body.recovery_auth_key,
        recovery=True,
        device_token=body.device_token,
    )
    LoginLimiter(settings).succeeded(session, body.username, address, now, device)
    session.commit()
    return RecoveryResponse(recovery_bundle=user.recovery_bundle, user=UserPublic.of(user))


@router.post("/auth/reset-passphrase")
def reset_passphrase(
    body: ResetPassphraseRequest,
    session: SessionDep,
    settings: SettingsDep,
    address: AddressDep,
    now: NowDep,
) -> LoginResponse:
    user, device = check_key(
        session,
        settings,
        body.username,
        address,
        now,
        body.recovery_auth_key,
        recovery=True,
        device_token=body.device_token,
    )
    new_hash = hash_key(body.auth_key)
    user.set_kdf(body.kdf)
    user.passphrase_bundle = body.passphrase_bundle
    user.auth_hash = new_hash
    session.add(user)
    session.flush()  # the UPDATE is this transaction's first statement
    limiter = LoginLimiter(settings)
    limiter.succeeded(session, body.username, address, now, device)
    # As every session ends, so does every device's trust: whoever had the passphrase may have
    # logged in somewhere. Only the device that recovered keeps (a new) one.
    session.exec(delete(AuthSession).where(col(AuthSession.user_id) == user.user_id))
    session.exec(delete(DeviceToken).where(col(DeviceToken.user_id) == user.user_id))
    token = limiter.new_device_token(session, user, now, replacing=None)
    answer = start_session(session, user, now, settings, token)
    session.commit()
    return answer
