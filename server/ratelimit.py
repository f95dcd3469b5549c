"""Login limits: fixed-window counters in the database, so any number of stateless server
processes share them and nothing lives in process memory.

Every attempt at a secret (login, recovery, passphrase reset, passphrase change) is counted on
two counters, one per account name ("account:<name>", whether or not the account exists, so the
answer reveals nothing) and one per client address ("address:<ip>"; for an IPv6 client, its
/64). The attempt is counted *before* the key is checked, in its own short transaction, so
parallel requests cannot slip past the limit; a successful attempt is then taken back, so only
failures count. Over the limit, the answer is 429 `rate_limited` with Retry-After, and no key is
checked at all.

The per-account window is short on purpose: anyone can fail logins for a name, so the limit
slows guessing down without letting a stranger lock the owner out for long.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from .config import Settings
from .models import RateCounter
from .problems import rate_limited

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


class LoginLimiter:
    def __init__(self, settings: Settings) -> None:
        self.account = Limit(
            settings.login_account_max_failures, settings.login_account_window_seconds
        )
        self.address = Limit(
            settings.login_address_max_failures, settings.login_address_window_seconds
        )

    @property
    def longest_window(self) -> int:
        return max(self.account.window_seconds, self.address.window_seconds)

    def _counters(self, username: str, address: str) -> list[tuple[str, Limit]]:
        return [
            (f"account:{username}", self.account),
            (f"address:{address_key(address)}", self.address),
        ]

    def attempt(self, session: Session, username: str, address: str, now: int) -> None:
        """Count one attempt and commit; raise 429 if either counter is over its limit.

        Call with no transaction open (the first statement is a write, so SQLite takes its
        write lock without upgrading a stale read snapshot).
        """
        retry_after = 0
        for key, limit in self._counters(username, address):
            count, window_start = _increment(session, key, limit, now)
            if count > limit.max_failures:
                retry_after = max(retry_after, window_start + limit.window_seconds - now)
        session.commit()
        if retry_after:
            raise rate_limited(max(retry_after, 1))

    def succeeded(self, session: Session, username: str, address: str, now: int) -> None:
        """Take back the attempt of a success (in the caller's transaction)."""
        conn = session.connection()
        for key, limit in self._counters(username, address):
            conn.execute(
                update(RateCounter)
                .where(
                    col(RateCounter.key) == key,
                    col(RateCounter.window_start) > now - limit.window_seconds,
                    col(RateCounter.count) > 0,
                )
                .values(count=col(RateCounter.count) - 1)
            )


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


def purge_expired(session: Session, now: int, longest_window: int) -> int:
    """Delete counters whose window has passed (cleanup)."""
    result = session.connection().execute(
        delete(RateCounter).where(col(RateCounter.window_start) <= now - longest_window)
    )
    return int(result.rowcount or 0)
