"""Login limits: counters in the database, so any number of stateless server processes share
them and nothing lives in process memory; and device tokens, so that a stranger who knows a
username cannot keep its owner out (OWASP, "Slow Down Online Guessing Attacks with Device
Cookies").

Every attempt at a secret (login, recovery, passphrase reset, passphrase change) is counted
*before* the key is checked, in its own short transaction, so parallel requests cannot slip
past a limit; a successful attempt is then taken back, so only failures count. Over a limit,
the answer is 429 `rate_limited` with Retry-After, and no key is checked at all. What counts
depends on whether the attempt comes with a valid **device token** for the account:

- Without one (a new device, or a stranger): a fixed window per account name ("account:<name>",
  whether or not the account exists, so the answer reveals nothing), one per client address
  ("address:<ip>"; for an IPv6 client, its /64), and a growing delay per account *and* address
  ("pair:<name> <address>"): after a few free failures each failure makes the next attempt from
  there wait twice as long as the one before, up to a maximum. The stranger is slowed down at
  every address it uses, and the per-account window still caps the guesses of all of them
  together; while it is exceeded, new devices of the owner wait with the stranger.
- With one: only a growing delay for that token ("device:<token hash>"), counting only the
  failures made with that very token. Failures from elsewhere, however many, do not hold a
  device that logged in before back.

A device token is handed out at every successful login (replacing the one presented), stored
only as its SHA-256, bound to one account and valid for `device_token_ttl_seconds`; any other
value (forged, another account's, expired, used up, or the stored hash itself) counts as no
token. A passphrase reset with the recovery code ends every device token of the account, as it
ends every session.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from sqlalchemy import case, delete, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from .config import Settings
from .models import DeviceToken, LoginBackoff, RateCounter, User
from .problems import rate_limited
from .security import new_token, token_hash

# An IPv6 household, office or server is handed a whole /64 (RFC 6177): counted one address at
# a time, it would give a guesser 2**64 fresh budgets.
IPV6_NETWORK_PREFIX = 64


def address_key(address: str) -> str:
    """What the per-address limit counts: an IPv4 address (also when written as IPv6), or the
    /64 network an IPv6 address is in. Anything else ("unknown") counts as itself."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/{IPV6_NETWORK_PREFIX}", strict=False))
    return str(ip)


@dataclass(frozen=True)
class Limit:
    max_failures: int
    window_seconds: int


@dataclass(frozen=True)
class Backoff:
    """Growing delays: `free_failures` cost nothing; failure n after them makes the next attempt
    wait base * 2**(n-1) seconds, at most `max_seconds`; forgotten after `reset_seconds`."""

    free_failures: int
    base_seconds: int
    max_seconds: int
    reset_seconds: int

    def delay(self, failures: int) -> int:
        beyond = failures - self.free_failures
        if beyond <= 0:
            return 0
        if beyond > self.max_seconds.bit_length():  # the cap is reached long before
            return self.max_seconds
        return min(self.max_seconds, self.base_seconds << (beyond - 1))


class LoginLimiter:
    def __init__(self, settings: Settings) -> None:
        self.account = Limit(
            settings.login_account_max_failures, settings.login_account_window_seconds
        )
        self.address = Limit(
            settings.login_address_max_failures, settings.login_address_window_seconds
        )
        self.backoff = Backoff(
            settings.login_backoff_free_failures,
            settings.login_backoff_base_seconds,
            settings.login_backoff_max_seconds,
            settings.login_backoff_reset_seconds,
        )
        self.device_ttl = settings.device_token_ttl_seconds
        # Group messages' posting counters share the table (`count_post`) and its cleanup.
        self.post_window_seconds = settings.message_post_window_seconds

    @property
    def longest_window(self) -> int:
        return max(
            self.account.window_seconds, self.address.window_seconds, self.post_window_seconds
        )

    def trusted_device(
        self, session: Session, username: str, device_token: str | None, now: int
    ) -> str | None:
        """The stored hash of `device_token` if it is a valid device token of `username`'s
        account, else None (no token, or one that counts as none). Reads only."""
        if not device_token:
            return None
        hashed = token_hash(device_token)
        found = session.exec(
            select(DeviceToken.token_hash)
            .join(User, col(User.user_id) == col(DeviceToken.user_id))
            .where(
                col(DeviceToken.token_hash) == hashed,
                col(User.username) == username,
                col(DeviceToken.expires_at) > now,
            )
        ).first()
        return hashed if found is not None else None

    def _windows(self, username: str, address: str, device: str | None) -> list[tuple[str, Limit]]:
        if device is not None:
            return []  # a device that logged in before: only its own failures count
        return [
            (f"account:{username}", self.account),
            (f"address:{address_key(address)}", self.address),
        ]

    @staticmethod
    def _backoff_key(username: str, address: str, device: str | None) -> str:
        if device is not None:
            return f"device:{device}"
        return f"pair:{username} {address_key(address)}"

    def attempt(
        self, session: Session, username: str, address: str, now: int, device: str | None = None
    ) -> None:
        """Count one attempt and commit; raise 429 if a limit holds it back. `device` is what
        `trusted_device` answered.

        Call with no transaction open (the first statement is a write, so SQLite takes its
        write lock without upgrading a stale read snapshot).
        """
        retry_after = 0
        for key, limit in self._windows(username, address, device):
            count, window_start = _increment(session, key, limit, now)
            if count > limit.max_failures:
                retry_after = max(retry_after, window_start + limit.window_seconds - now)
        if not retry_after:  # a refused attempt checks no key: no step on the delay
            key = self._backoff_key(username, address, device)
            retry_after = _step(session, key, self.backoff, now)
        session.commit()
        if retry_after:
            raise rate_limited(max(retry_after, 1))

    def succeeded(
        self, session: Session, username: str, address: str, now: int, device: str | None = None
    ) -> None:
        """Take back the attempt of a success (in the caller's transaction): one off each
        window, and the delay's count starts again."""
        conn = session.connection()
        for key, limit in self._windows(username, address, device):
            conn.execute(
                update(RateCounter)
                .where(
                    col(RateCounter.key) == key,
                    col(RateCounter.window_start) > now - limit.window_seconds,
                    col(RateCounter.count) > 0,
                )
                .values(count=col(RateCounter.count) - 1)
            )
        backoff_key = self._backoff_key(username, address, device)
        conn.execute(delete(LoginBackoff).where(col(LoginBackoff.key) == backoff_key))

    def new_device_token(
        self, session: Session, user: User, now: int, *, replacing: str | None
    ) -> str:
        """A device token for the device that just logged in (in the caller's transaction),
        replacing the one it presented (`replacing`, a hash from `trusted_device`)."""
        if replacing is not None:
            session.connection().execute(
                delete(DeviceToken).where(col(DeviceToken.token_hash) == replacing)
            )
        token = new_token()
        session.add(
            DeviceToken(
                token_hash=token_hash(token),
                user_id=user.user_id,
                expires_at=now + self.device_ttl,
                created_at=now,
            )
        )
        return token


def _increment(session: Session, key: str, limit: Limit, now: int) -> tuple[int, int]:
    """Add one to the counter (restarting an expired window); return (count, window_start)."""
    conn = session.connection()
    bumped = conn.execute(
        update(RateCounter)
        .where(
            col(RateCounter.key) == key,
            col(RateCounter.window_start) > now - limit.window_seconds,
        )
        .values(count=col(RateCounter.count) + 1)
    )
    if not bumped.rowcount:
        restarted = conn.execute(
            update(RateCounter).where(col(RateCounter.key) == key).values(window_start=now, count=1)
        )
        if not restarted.rowcount:
            try:
                with session.begin_nested():
                    session.add(RateCounter(key=key, window_start=now, count=1))
            except IntegrityError:  # another process created it meanwhile: count on that row
                return _increment(session, key, limit, now)
    row = session.exec(
        select(RateCounter.count, RateCounter.window_start).where(col(RateCounter.key) == key)
    ).one()
    return row[0], row[1]


def _step(session: Session, key: str, backoff: Backoff, now: int) -> int:
    """Count a failure on the growing delay `key` in advance, if the attempt may go ahead now,
    and return 0; else return the seconds until it may. One conditional UPDATE decides, so of
    two parallel attempts only one passes a delay (PostgreSQL re-checks the condition on the
    row the other committed)."""
    conn = session.connection()
    row = col(LoginBackoff.key) == key
    forgotten = col(LoginBackoff.last_failure_at) <= now - backoff.reset_seconds
    counted = conn.execute(
        update(LoginBackoff)
        .where(row, or_(col(LoginBackoff.next_attempt_at) <= now, forgotten))
        .values(
            failures=case((forgotten, 1), else_=col(LoginBackoff.failures) + 1),
            last_failure_at=now,
        )
    )
    if counted.rowcount:
        failures = session.exec(select(LoginBackoff.failures).where(row)).one()
        conn.execute(
            update(LoginBackoff).where(row).values(next_attempt_at=now + backoff.delay(failures))
        )
        return 0
    next_attempt_at = session.exec(select(LoginBackoff.next_attempt_at).where(row)).first()
    if next_attempt_at is not None:
        return max(next_attempt_at - now, 1)
    try:
        with session.begin_nested():
            session.add(
                LoginBackoff(
                    key=key, failures=1, last_failure_at=now, next_attempt_at=now + backoff.delay(1)
                )
            )
    except IntegrityError:  # another process created it meanwhile: count on that row
        return _step(session, key, backoff, now)
    return 0


def count_post(session: Session, user_id: str, limit: Limit, now: int) -> None:
    """Count one group message of `user_id` (docs/api.md "Group messages") in the caller's write
    transaction, so that only a message that is stored counts; 429 `rate_limited` over the
    limit (`max_failures` is here the number of posts in the window)."""
    count, window_start = _increment(session, f"post:{user_id}", limit, now)
    if count > limit.max_failures:
        raise rate_limited(max(window_start + limit.window_seconds - now, 1))


def purge_expired(session: Session, now: int, limiter: LoginLimiter) -> int:
    """Delete counters whose window has passed, delays whose failures are forgotten and expired
    device tokens (cleanup); return how many."""
    conn = session.connection()
    removed = 0
    for statement in (
        delete(RateCounter).where(col(RateCounter.window_start) <= now - limiter.longest_window),
        delete(LoginBackoff).where(
            col(LoginBackoff.last_failure_at) <= now - limiter.backoff.reset_seconds
        ),
        delete(DeviceToken).where(col(DeviceToken.expires_at) <= now),
    ):
        removed += int(conn.execute(statement).rowcount or 0)
    return removed
