"""Group messages (docs/api.md "Group messages", format section 19.3): the message chain of a
group or conversation, in server order.

The server cannot read a message, and clients verify everything it returns
(`vault.messagelog`); it still keeps what it can: only members of the group's current epoch, by
its own roster, post and read; a message is parsed (`vault.messageheader`), must name the
group, the caller as sender and the current epoch, and is appended only on top of the newest
stored message (its `previous_hash`), one at a time per group, so the chain in server order has
one head and a client whose message lost a race signs it again on top of the winner (409).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Header, Query, Request, status
from fastapi.responses import StreamingResponse
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool

from vault.errors import MalformedError
from vault.kinds import OrgKind, Role
from vault.messageheader import BODY_MAX, NO_HASH, Message, MessageKind, message_hash

from .. import notifications
from ..db import open_session, writes
from ..deps import GroupAccess, GroupAccessDep, HubDep, NowDep, SessionDep, SettingsDep
from ..models import (
    MAX_MESSAGES_PER_PAGE,
    GroupMessage,
    MessageCreate,
    MessagePage,
    MessagePosted,
    MessagePublic,
    OrgMember,
)
from ..notification_models import Topic
from ..problems import conflict, forbidden, invalid, too_large
from ..ratelimit import Limit, count_post
from .router import resource_router

router = resource_router("groups")

# The largest message format section 19.3 allows: a header, a body of BODY_MAX bytes with its
# length, and the signature.
MAX_MESSAGE_BYTES = len(
    Message(
        group_id=bytes(16),
        epoch=1,
        kind=MessageKind.CHAT,
        sender_id=bytes(16),
        sender_key_id=bytes(32),
        sequence=1,
        previous_hash=NO_HASH,
        reference=NO_HASH,
        sent_at=0,
        body=bytes(BODY_MAX),
        signature=bytes(64),
    ).encode()
)
STALE_HEAD = "stale_head"
# Who may send each kind (format 19.3's table), by the server's own roster.
_EVERYONE = frozenset({Role.MEMBER, Role.EDITOR, Role.ADMIN})
_WRITERS = frozenset({Role.EDITOR, Role.ADMIN})
_ADMINS = frozenset({Role.ADMIN})
_MAY_SEND = {
    MessageKind.EPOCH_START: _ADMINS,
    MessageKind.ANNOUNCEMENT: _WRITERS,
    MessageKind.POST: _WRITERS,
    MessageKind.PUBLIC_POST: _WRITERS,
    MessageKind.POST_DELETION: _ADMINS,
    MessageKind.EVENT: _WRITERS,
}


def _head(session: Session, org_id: str) -> tuple[int, bytes]:
    """The newest message's position and hash; (0, zero hash) while there is none."""
    row = session.exec(
        select(GroupMessage.position, GroupMessage.message_hash)
        .where(col(GroupMessage.org_id) == org_id)
        .order_by(col(GroupMessage.position).desc())
        .limit(1)
    ).first()
    return (row[0], bytes.fromhex(row[1])) if row else (0, NO_HASH)


@router.post("/organisations/{org_id}/messages", status_code=status.HTTP_201_CREATED)
@writes
def post_message(
    body: MessageCreate,
    access: GroupAccessDep,
    session: SessionDep,
    now: NowDep,
    settings: SettingsDep,
    hub: HubDep,
) -> MessagePosted:
    """Append one message to the group's chain (members of the current epoch only)."""
    if len(body.message) > MAX_MESSAGE_BYTES:
        raise too_large(f"a message has at most {MAX_MESSAGE_BYTES} bytes")
    try:
        message = Message.decode(body.message)
    except MalformedError as exc:
        raise invalid(f"message: {exc}") from None
    group = access.group
    if message.group_id.hex() != group.org_id:
        raise invalid("the message is for another group")
    if message.sender_id.hex() != access.user.user_id:
        raise invalid("the message names another sender than the caller")
    if message.epoch != group.epoch:
        raise conflict(f"messages are of the current epoch {group.epoch}", "version_conflict")
    if access.role not in _MAY_SEND.get(message.kind, _EVERYONE):
        # Defence in depth: every client refuses the chain from such a message on (format
        # 19.4, check 6), so a member could make a group's chain unreadable for everyone.
        raise forbidden(f"your role in this group may not send a {message.kind.name.lower()}")
    head, head_hash = _head(session, group.org_id)
    if message.previous_hash != head_hash:
        raise conflict(
            "previous_hash is not the newest message's: fetch it and sign again", STALE_HEAD
        )
    limit = Limit(settings.message_post_max, settings.message_post_window_seconds)
    count_post(session, access.user.user_id, limit, now)
    row = GroupMessage(
        org_id=group.org_id,
        position=head + 1,
        sender_id=access.user.user_id,
        message_hash=message_hash(body.message).hex(),
        message=body.message,
        created_at=now,
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError:  # another append took the position (the lock makes this rare)
        session.rollback()
        raise conflict("another message came first: fetch it and sign again", STALE_HEAD) from None
    hub.publish(session, group.org_id, "message", row.position)
    if settings.notifications_offered:
        topic = Topic.MESSAGE if group.kind == OrgKind.CONVERSATION else Topic.GROUP_POST
        readers = notifications.members(session, [group.org_id]) - {access.user.user_id}
        notifications.enqueue(session, readers, topic, now, settings)
    session.commit()
    return MessagePosted(position=row.position, message_hash=row.message_hash, created_at=now)


@router.get("/organisations/{org_id}/messages")
def list_messages(
    access: GroupAccessDep,
    session: SessionDep,
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_MESSAGES_PER_PAGE)] = 200,
) -> MessagePage:
    """The messages after position `after`, oldest first, at most `limit` of them."""
    rows = session.exec(
        select(GroupMessage)
        .where(col(GroupMessage.org_id) == access.group.org_id, col(GroupMessage.position) > after)
        .order_by(col(GroupMessage.position))
        .limit(limit)
    ).all()
    head, _ = _head(session, access.group.org_id)
    return MessagePage(messages=[MessagePublic.of(r) for r in rows], head=head)


# -- live events (docs/api.md "Live group events") ---------------------------------------------
def _member_head(engine: Engine, org_id: str, user_id: str) -> int | None:
    """The group's newest position if `user_id` is still in its roster, else None."""
    with open_session(engine) as session:
        if session.get(OrgMember, (org_id, user_id)) is None:
            return None
        return _head(session, org_id)[0]


def _event(position: int) -> str:
    return f'id: {position}\nevent: message\ndata: {{"position": {position}}}\n\n'


async def _stream(
    request: Request, access: GroupAccess, hub: HubDep, after: int
) -> AsyncIterator[str]:
    engine: Engine = request.app.state.engine
    keepalive: float = request.app.state.settings.events_keepalive_seconds
    org_id, user_id = access.group.org_id, access.user.user_id
    subscription = hub.subscribe(org_id)  # before the first read: nothing falls in between
    try:
        shown = after
        subscription.recheck = True
        while not hub.closing:
            if subscription.recheck:  # an epoch changed, the listener reconnected, or a start
                subscription.recheck = False
                head = await run_in_threadpool(_member_head, engine, org_id, user_id)
                if head is None:
                    yield "event: removed\ndata: {}\n\n"
                    return
                subscription.position = max(subscription.position, head)
            if subscription.position > shown:
                shown = subscription.position
                yield _event(shown)
            subscription.changed.clear()
            if subscription.recheck or subscription.position > shown:
                continue
            try:
                await asyncio.wait_for(subscription.changed.wait(), keepalive)
            except TimeoutError:
                subscription.recheck = True  # a removal on a replica that missed its news
                yield ": keepalive\n\n"
    finally:
        hub.unsubscribe(subscription)


@router.get(
    "/organisations/{org_id}/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def group_events(
    request: Request,
    access: GroupAccessDep,
    hub: HubDep,
    after: Annotated[int, Query(ge=0)] = 0,
    last_event_id: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    """Server-Sent Events: the group's newest message position whenever it grows (members)."""
    if last_event_id is not None and last_event_id.isdigit() and len(last_event_id) < 19:
        after = max(after, int(last_event_id))
    return StreamingResponse(
        _stream(request, access, hub, after),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
