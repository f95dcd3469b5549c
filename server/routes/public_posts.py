"""A group's public news page (format section 19.5): what a reader without an account needs to
check its public posts, at a stable address, with no login.

The server only gathers; the reader checks everything (`vault.messagelog.verify_public_post`)
against the group fingerprint it trusts. Served: the group's key chain; the memberships of its
writers (admins and editors: what proves an author's role, never the list of plain members);
the identity records of the group's creator, its writers and the posts' authors; and each
public post's revisions, first to latest, with an admin's deletion as its last entry. A
members-only post is never served here: its kind (5) would fail the reader's check anyway.
"""

from __future__ import annotations

from sqlmodel import SQLModel, col, select

from vault.errors import MalformedError
from vault.kinds import OrgKind, Role
from vault.messageheader import NO_HASH, Message, MessageKind, message_hash

from ..deps import SessionDep
from ..models import Blob, GroupMessage, Organisation, OrgKeyRecord, OrgMembership, User
from ..problems import not_found
from .router import resource_router

router = resource_router("groups")

WRITERS = (Role.ADMIN, Role.EDITOR)


class PublicGroupPage(SQLModel):
    org_id: str
    name: str
    records: list[Blob]
    memberships: list[Blob]
    identities: list[Blob]
    posts: list[list[Blob]]


def _public_posts(rows: list[GroupMessage]) -> tuple[list[list[bytes]], set[str]]:
    """Each public post's revisions in chain order (and a deletion closing it), and the ids
    of their senders. The server reads headers only; what it gets wrong the reader refuses."""
    posts: list[list[bytes]] = []
    latest: dict[bytes, int] = {}  # latest revision hash -> index into posts
    senders: set[str] = set()
    for row in rows:
        try:
            message = Message.decode(row.message)
        except MalformedError:
            continue
        if message.kind == MessageKind.PUBLIC_POST and message.reference == NO_HASH:
            index: int | None = len(posts)
            posts.append([])
        elif message.kind in (MessageKind.PUBLIC_POST, MessageKind.POST_DELETION):
            index = latest.pop(message.reference, None)
        else:
            continue
        if index is None:
            continue
        posts[index].append(row.message)
        senders.add(row.sender_id)
        if message.kind == MessageKind.PUBLIC_POST:
            latest[message_hash(row.message)] = index
    return posts, senders


@router.get("/public/groups/{name}")
def public_group_page(name: str, session: SessionDep) -> PublicGroupPage:
    """A group's public posts with what checks them (no account needed)."""
    group = session.exec(select(Organisation).where(col(Organisation.name) == name)).first()
    if group is None or group.kind != OrgKind.GROUP:
        raise not_found("no such group")
    records = session.exec(
        select(OrgKeyRecord.record)
        .where(col(OrgKeyRecord.org_id) == group.org_id)
        .order_by(col(OrgKeyRecord.epoch))
    ).all()
    writers = session.exec(
        select(OrgMembership)
        .where(col(OrgMembership.org_id) == group.org_id, col(OrgMembership.role).in_(WRITERS))
        .order_by(col(OrgMembership.epoch), col(OrgMembership.member_id))
    ).all()
    rows = session.exec(
        select(GroupMessage)
        .where(col(GroupMessage.org_id) == group.org_id)
        .order_by(col(GroupMessage.position))
    ).all()
    posts, senders = _public_posts(list(rows))
    people = {group.created_by} | {m.member_id for m in writers} | senders
    identities = session.exec(
        select(User.identity).where(col(User.user_id).in_(sorted(people)))
    ).all()
    return PublicGroupPage(
        org_id=group.org_id,
        name=group.name,
        records=list(records),
        memberships=[m.membership for m in writers],
        identities=list(identities),
        posts=posts,
    )
