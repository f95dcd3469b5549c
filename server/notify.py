"""Live delivery of group events (docs/api.md "Live group events"): which position a group's
message chain reached and that its epoch changed, pushed to this process's Server-Sent Events
streams. Only positions travel; the messages themselves are fetched (and verified) as always.

Across replicas the database carries the news, not a broker: on PostgreSQL the writing
transaction runs `pg_notify` (delivered on commit, to every process's listener: one connection
per process, `LISTEN kluis_groups`); on SQLite (one process) the write hands the event to this
process's hub once it has committed. Each subscriber keeps only the newest position and a flag
per kind, so a slow stream costs no queue, whatever is posted: memory stays flat. After the
listener lost its connection, every stream re-reads what it shows from the database (a
notification may have been missed meanwhile).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from sqlalchemy import Engine, event, text
from sqlmodel import Session

CHANNEL = "kluis_groups"
RECONNECT_SECONDS = 1.0

logger = logging.getLogger("kluis.server")


@dataclass(eq=False)  # compared and hashed by identity: one per stream, kept in sets
class Subscription:
    """One stream's view: the newest position announced and whether to re-check the roster
    (an epoch changed) or re-read everything (the listener reconnected)."""

    org_id: str
    position: int = 0
    recheck: bool = False
    changed: asyncio.Event = field(default_factory=asyncio.Event)


class Hub:
    """This process's subscriptions, per group; fed in the event loop only."""

    def __init__(self) -> None:
        self._subscriptions: dict[str, set[Subscription]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self.closing = False

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def subscribe(self, org_id: str) -> Subscription:
        subscription = Subscription(org_id)
        self._subscriptions.setdefault(org_id, set()).add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        subscribers = self._subscriptions.get(subscription.org_id)
        if subscribers is not None:
            subscribers.discard(subscription)
            if not subscribers:
                del self._subscriptions[subscription.org_id]

    @property
    def subscribers(self) -> int:
        return sum(len(s) for s in self._subscriptions.values())

    def deliver(self, org_id: str, kind: str, value: int) -> None:
        for subscription in self._subscriptions.get(org_id, ()):
            if kind == "message":
                subscription.position = max(subscription.position, value)
            else:
                subscription.recheck = True
            subscription.changed.set()

    def close(self) -> None:
        """The server is stopping: every stream ends (a server waits for open answers to end
        before it stops, and a stream would never end by itself)."""
        self.closing = True
        for subscribers in self._subscriptions.values():
            for subscription in subscribers:
                subscription.changed.set()

    def resync(self) -> None:
        for subscribers in self._subscriptions.values():
            for subscription in subscribers:
                subscription.recheck = True
                subscription.changed.set()

    def _deliver_threadsafe(self, org_id: str, kind: str, value: int) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self.deliver, org_id, kind, value)

    def publish(self, session: Session, org_id: str, kind: str, value: int) -> None:
        """Announce, once the transaction `session` is in commits, that group `org_id` reached
        message position `value` (kind "message") or epoch `value` (kind "epoch")."""
        if session.get_bind().dialect.name == "postgresql":
            session.connection().execute(
                text("SELECT pg_notify(:channel, :payload)"),
                {"channel": CHANNEL, "payload": f"{org_id} {kind} {value}"},
            )
            return
        event.listen(
            session,
            "after_commit",
            lambda _session: self._deliver_threadsafe(org_id, kind, value),
            once=True,
        )


def _parse(payload: str) -> tuple[str, str, int] | None:
    parts = payload.split(" ")
    if len(parts) != 3 or parts[1] not in ("message", "epoch") or not parts[2].isdigit():
        return None
    return parts[0], parts[1], int(parts[2])


async def listen(hub: Hub, engine: Engine) -> None:
    """PostgreSQL only: LISTEN on one connection of this process's own and hand every
    notification to the hub; reconnect (and make every stream re-read) after a failure."""
    import psycopg  # the PostgreSQL driver, present whenever PostgreSQL is used

    dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    while True:
        try:
            async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
                await conn.execute(f"LISTEN {CHANNEL}")
                hub.resync()  # what was announced before this connection listened
                async for notification in conn.notifies():
                    parsed = _parse(notification.payload)
                    if parsed is not None:
                        hub.deliver(*parsed)
        except (psycopg.Error, OSError) as exc:
            logger.warning("group events: listener lost the database (%s); reconnecting", exc)
            await asyncio.sleep(RECONNECT_SECONDS)


async def start(hub: Hub, engine: Engine) -> asyncio.Task[None] | None:
    hub.start(asyncio.get_running_loop())
    if engine.dialect.name != "postgresql":
        return None
    return asyncio.create_task(listen(hub, engine))


async def stop(task: asyncio.Task[None] | None) -> None:
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
