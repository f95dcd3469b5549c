"""E-mail notifications: who is told, the queue, and the worker that empties it
(docs/api.md "Notifications", docs/deployment.md "Notifications").

An event (a share, a receipt, a message) queues a mail for each recipient who opted in to its
topic, in the transaction that writes the event: a committed event is never left unannounced,
a rolled-back one never announced. A user has at most one mail queued (`notify_jobs` is keyed
by user), due `notify_delay_seconds` after the first event, so a burst of events makes one mail.

Every server process runs one worker (a task started with the app, never work done inside a
request): it takes the due jobs in batches, sends them over one SMTP connection, and deletes
what was sent. On PostgreSQL replicas share the queue: a batch is taken with
`SELECT ... FOR UPDATE SKIP LOCKED` in a transaction held until its mails are sent and its rows
deleted, so each job goes to one replica; a replica that dies mid-batch rolls back, and another
sends the batch (a mail already handed over may then come twice; none is lost). On SQLite
(one process) the batch is read, sent, then deleted.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable, Iterable
from urllib.parse import quote

from sqlalchemy import Engine, delete, literal, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from . import mail
from .config import Settings
from .db import open_session
from .models import Grant, Organisation, OrgMember
from .notification_models import NotifyJob, NotifySetting, Topic

UNSUBSCRIBE_PATH = "/api/v1/notify/unsubscribe"
TOKEN_LABEL = b"kluis notify unsubscribe\x00"

logger = logging.getLogger("kluis.server")


# -- the unsubscribe link ------------------------------------------------------------------------
def new_nonce() -> str:
    return secrets.token_hex(16)


def unsubscribe_token(secret: bytes, nonce: str) -> str:
    digest = hmac.new(secret, TOKEN_LABEL + nonce.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def unsubscribe_url(settings: Settings, nonce: str) -> str:
    assert settings.public_url is not None
    token = unsubscribe_token(settings.secret_key, nonce)
    return f"{settings.public_url.rstrip('/')}{UNSUBSCRIBE_PATH}?token={quote(token)}"


# -- who is told ---------------------------------------------------------------------------------
def members(session: Session, org_ids: Iterable[str]) -> set[str]:
    """The users on the rosters of organisations `org_ids` (ids that are no organisation add
    nobody)."""
    ids = list(org_ids)
    if not ids:
        return set()
    return set(session.exec(select(OrgMember.user_id).where(col(OrgMember.org_id).in_(ids))))


def recipients_of_share(session: Session, recipient_ids: set[str]) -> set[str]:
    """A grant's recipient is a user or an organisation: for an organisation, its members."""
    orgs = set(
        session.exec(
            select(Organisation.org_id).where(col(Organisation.org_id).in_(list(recipient_ids)))
        )
    )
    return (recipient_ids - orgs) | members(session, orgs)


def announce_shares(
    session: Session, grants: Iterable[Grant], granter_id: str, now: int, settings: Settings
) -> None:
    """Queue mails for the recipients of new grants (not the granter's own key copies)."""
    recipients = {g.recipient_id for g in grants if g.recipient_id != granter_id}
    if recipients and settings.notifications_offered:
        users = recipients_of_share(session, recipients) - {granter_id}
        enqueue(session, users, Topic.SHARE, now, settings)


def enqueue(
    session: Session, user_ids: Iterable[str], topic: Topic, now: int, settings: Settings
) -> None:
    """Queue a mail, in `session`'s transaction, for each of `user_ids` who opted in to
    `topic` and has none queued yet."""
    ids = sorted(set(user_ids))
    if not ids or not settings.notifications_offered:
        return
    wanted = select(col(NotifySetting.user_id), literal(now + settings.notify_delay_seconds)).where(
        col(NotifySetting.user_id).in_(ids),
        col(NotifySetting.topics).op("&")(int(topic)) != 0,
    )
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(NotifyJob)
        .from_select(["user_id", "due_at"], wanted)
        .on_conflict_do_nothing(index_elements=["user_id"])
    )
    session.connection().execute(statement)


def forget(session: Session, user_id: str) -> None:
    """Opt out: the address and any mail still queued go, in `session`'s transaction."""
    session.connection().execute(delete(NotifyJob).where(col(NotifyJob.user_id) == user_id))
    session.connection().execute(delete(NotifySetting).where(col(NotifySetting.user_id) == user_id))


# -- the worker ----------------------------------------------------------------------------------
def _due(session: Session, now: int, limit: int, *, lock: bool) -> list[tuple[str, int, str, str]]:
    query = (
        select(
            NotifyJob.user_id,
            NotifyJob.due_at,
            NotifySetting.email,
            NotifySetting.unsubscribe_nonce,
        )
        .join(NotifySetting, col(NotifySetting.user_id) == col(NotifyJob.user_id))
        .where(col(NotifyJob.due_at) <= now)
        .order_by(col(NotifyJob.due_at), col(NotifyJob.user_id))
        .limit(limit)
    )
    if lock:
        query = query.with_for_update(skip_locked=True, of=NotifyJob)
    return [tuple(row) for row in session.exec(query)]  # type: ignore[misc]


def _outgoing(settings: Settings, rows: list[tuple[str, int, str, str]]) -> list[mail.Outgoing]:
    return [
        mail.Outgoing(user_id, email, unsubscribe_url(settings, nonce))
        for user_id, _, email, nonce in rows
    ]


def _delete_sent(session: Session, rows: list[tuple[str, int, str, str]], sent: set[str]) -> None:
    keys = [(user_id, due_at) for user_id, due_at, _, _ in rows if user_id in sent]
    if keys:
        session.connection().execute(
            delete(NotifyJob).where(tuple_(col(NotifyJob.user_id), col(NotifyJob.due_at)).in_(keys))
        )


def send_due(engine: Engine, settings: Settings, now: int) -> int:
    """Send one batch of the mails due at `now`; return how many jobs it finished."""
    limit = settings.notify_batch_size
    if engine.dialect.name == "postgresql":
        with open_session(engine, write=True) as session:
            rows = _due(session, now, limit, lock=True)
            if not rows:
                return 0
            sent = {m.user_id for m in mail.send(settings, _outgoing(settings, rows))}
            _delete_sent(session, rows, sent)
            session.commit()
            return len(sent)
    with open_session(engine) as session:
        rows = _due(session, now, limit, lock=False)
        session.commit()
    if not rows:
        return 0
    sent = {m.user_id for m in mail.send(settings, _outgoing(settings, rows))}
    with open_session(engine, write=True) as session:
        _delete_sent(session, rows, sent)
        session.commit()
    return len(sent)


async def run_worker(engine: Engine, settings: Settings, clock: Callable[[], int]) -> None:
    """Send due mails, batch after batch, then wait `notify_poll_seconds`; a failure (the
    mail server or the database is down) is logged and tried again at the next poll."""
    while True:
        try:
            finished = await asyncio.to_thread(send_due, engine, settings, clock())
        except Exception as exc:
            logger.warning("notification mails not sent now, tried again later: %s", exc)
            finished = 0
        if finished < settings.notify_batch_size:
            await asyncio.sleep(settings.notify_poll_seconds)


async def stop_worker(task: asyncio.Task[None] | None) -> None:
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
