"""Village groups and personal conversations (docs/format.md section 19, docs/client.md
"Groups and messages"): creating a group, inviting and accepting, removing with rotation, the
news page, the chat, the agenda, and personal messages.

A group is an organisation of kind 5 and a conversation one of kind 6 (format section 19.1),
so everything about its keys is `OrganisationsMixin`'s: the verified chain and roster, adding
a member (sealing the current epoch's keys), removing one (a new epoch, every grant to the
group re-wrapped, so the group's library closes to the former member as an organisation's
does). This module adds the rules of the two kinds (`vault.group.check_group`), the epoch start
an admin writes into the message chain after every new epoch, and what is said in the chain
(client_sdk/messages.py).

An **invitation** is a membership an admin signed and the server stored: it gives the invitee
the keys, and nobody else anything. The invitee's device shows the group as an invitation
until the user accepts it (`accept`), which is remembered on this device; before that no
command reads or writes in the group, so nobody is drawn into a group unasked.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property

from vault.content import Answer, Event, Post, Reply, Text
from vault.group import CONVERSATION_PREFIX, check_group, conversation_name
from vault.ics import event_ics
from vault.kinds import OrgKind, Role
from vault.message import NO_HASH, MessageKind

from .api import OrganisationEntry
from .directory import Organisation
from .errors import AmbiguousId, ClientError, UnknownId
from .ids import new_id
from .messages import Messages, Said
from .organisations import OrganisationsMixin, RemovalResult
from .typed import typed_org_name, typed_username

ROLES = {"member": Role.MEMBER, "editor": Role.EDITOR, "admin": Role.ADMIN}
POST_KINDS = (MessageKind.POST, MessageKind.PUBLIC_POST)


@dataclass(frozen=True)
class PostView:
    """A post on the news page: its revisions, first to latest, each signed by its author."""

    revisions: list[Said]
    deleted_by: str | None = None

    @property
    def ref(self) -> str:
        return self.revisions[0].ref

    @property
    def latest(self) -> Said:
        return self.revisions[-1]

    @property
    def public(self) -> bool:
        return self.revisions[0].kind == MessageKind.PUBLIC_POST


@dataclass(frozen=True)
class EventView:
    said: Said
    replies: dict[str, Answer] = field(default_factory=dict)  # username -> latest answer

    @property
    def ref(self) -> str:
        return self.said.ref

    @property
    def event(self) -> Event | None:
        body = self.said.body
        return body if isinstance(body, Event) else None


def _pick(ref: str, candidates: dict[str, object], what: str) -> str:
    """The full hash among `candidates` that `ref` (a hex prefix) names."""
    ref = ref.lower()
    found = [h for h in candidates if h.startswith(ref)] if ref else []
    if not found:
        raise UnknownId(f"no {what} {ref!r} in this group")
    if len(found) > 1:
        raise AmbiguousId(f"{ref!r} names more than one {what}: type more of it")
    return found[0]


class GroupsMixin(OrganisationsMixin):
    @cached_property
    def messages(self) -> Messages:
        """The message part, given the parts it uses."""
        return Messages(self.api, self.profile, self.account, self.directory)

    # -- the group, as this device verified it -------------------------------------------------
    def group(
        self, name: str | None = None, *, group_id: str | None = None, fresh: bool = True
    ) -> Organisation:
        """A group or conversation: its chain and roster verified, and the rules of its kind
        (section 19.1) checked; an organisation of another kind is refused. `fresh=False`: as
        this client verified it last, if it did."""
        org = self.organisation(name, org_id=group_id, fresh=fresh)
        check_group(org.roster)
        return org

    def _joined(self, name: str) -> Organisation:
        """A group I accepted and hold the current keys of."""
        org = self.group(name)
        org.current_keys()
        if not self.profile.group_accepted(org.org_id):
            raise ClientError(
                f"you were invited to {org.name}; accept first with `kluis group accept "
                f"{org.name}` (fingerprint {org.fingerprint})"
            )
        return org

    def groups(self) -> list[tuple[Organisation, bool]]:
        """The groups I am a member of (says the server; each one verified here), with whether
        I accepted each (False: an invitation)."""
        out = []
        for entry in self._entries(OrgKind.GROUP):
            org = self.group(group_id=entry.org_id)
            if org.role_of(self.my_id) is not None:
                out.append((org, self.profile.group_accepted(org.org_id)))
        return out

    def _entries(self, kind: OrgKind) -> list[OrganisationEntry]:
        return [e for e in self.api.organisations() if e.kind == kind and e.my_role is not None]

    # -- administering ---------------------------------------------------------------------------
    def create_group(self, name: str) -> Organisation:
        """A new group with me as its administrator, and its chain's first message."""
        name = typed_org_name(name)
        if name.startswith(CONVERSATION_PREFIX):
            raise ClientError("a group's name may not start with 'dm-'")
        org = self._found(new_id(), name, OrgKind.GROUP)
        self.profile.accept_group(org.org_id)
        self.messages.send(org, MessageKind.EPOCH_START, b"")
        return org

    def invite(self, name: str, username: str, role: str = "member") -> Organisation:
        """Seal the group's current keys to `username` with `role`; they accept on their side."""
        if role not in ROLES:
            raise ClientError(f"role must be one of: {', '.join(ROLES)}")
        org = self.group(name)
        if org.chain.kind != OrgKind.GROUP:
            raise ClientError("only a group has members to invite")
        return self.add_member(org.name, typed_username(username), role=ROLES[role])

    def accept(self, name: str) -> Organisation:
        """Accept an invitation: the group verified, my membership opened, remembered here."""
        org = self.group(name)
        org.current_keys()  # ClientError when no membership for me opens
        self.profile.accept_group(org.org_id)
        return org

    def open_archive(self, name: str, username: str) -> int:
        """As an admin, give `username` (a current member) the keys of every earlier epoch I
        hold, each sealed to them alone (format 19.2); returns how many epochs."""
        org = self._administered(name)
        check_group(org.roster)
        member = self.directory.member_identity(org, self.contact(username).identity.user_id.hex())
        keys = self.messages.archive_for(org, member)
        if keys:
            self.api.give_archive_keys(org.org_id, keys)
        return len(keys)

    def remove_from_group(self, name: str, username: str) -> RemovalResult:
        """Remove a member: a new epoch (format 14.5) and its start in the message chain, so
        nothing written from now on opens for them."""
        group_id = self.group(name).org_id
        result = self.remove_member(name, username)
        # As `remove_member` verified it after the rotation: no third fetch of a big roster.
        self.messages.send(self.group(group_id=group_id, fresh=False), MessageKind.EPOCH_START, b"")
        return result

    # -- reading -------------------------------------------------------------------------------
    def said(self, name: str) -> tuple[Organisation, list[Said]]:
        """Everything said in the group, verified from the start and decrypted where I can."""
        org = self._joined(name)
        return org, self.messages.show(org, self.messages.whole(org).messages)

    def chat(self, name: str, *, last: int = 200) -> list[Said]:
        """The chat lines and announcements among the group's last `last` messages, verified
        up to the newest and decrypted (only these: a long chat opens with its last page)."""
        org = self._joined(name)
        shown = (MessageKind.CHAT, MessageKind.ANNOUNCEMENT)
        recent = [v for v in self.messages.recent(org, last) if v.message.kind in shown]
        return self.messages.show(org, recent)

    def follow(self, name: str) -> list[Said]:
        """What was said since this device's last read, verified on top of it."""
        org = self._joined(name)
        return self.messages.show(org, self.messages.newer(org).messages)

    def live(self, name: str) -> Iterator[list[Said]]:
        """What is said from now on, as the server's live events announce it, each batch
        verified on top of this device's state; ends when I am removed."""
        org = self._joined(name)
        state = self.messages.newer(org).state
        for event in self.api.group_events(org.org_id, after=state.count):
            if event == "removed":
                raise ClientError(f"you are no longer a member of {org.name}")
            if event == "message":
                org = self._joined(name)  # a new epoch may have begun: its roster counts
                yield self.messages.show(org, self.messages.newer(org).messages)

    def news(self, name: str) -> list[PostView]:
        """The news page: every post with its signed history, deleted ones marked, newest
        first."""
        _, said = self.said(name)
        return _posts(said)

    def agenda(self, name: str | None = None) -> list[tuple[str, EventView]]:
        """Events of one group, or of every group I accepted, by start time."""
        names = [name] if name else [g.name for g, ok in self.groups() if ok]
        out: list[tuple[str, EventView]] = []
        for group_name in names:
            _, said = self.said(group_name)
            out.extend((group_name, e) for e in _events(said))
        return sorted(out, key=lambda ge: ge[1].event.starts_at if ge[1].event else 0)

    def event_ics(self, name: str, ref: str) -> str:
        """One event as an RFC 5545 calendar (format section 19.5)."""
        events = {e.ref: e for e in _events(self.said(name)[1])}
        view = events[_pick(ref, dict(events), "event")]
        if view.event is None:
            raise ClientError("you cannot read this event: it is from before you joined")
        return event_ics(view.event, uid=view.said.verified.hash, stamp=view.said.sent_at)

    # -- writing -------------------------------------------------------------------------------
    def say(self, name: str, text: str, *, announce: bool = False) -> Said:
        org = self._joined(name)
        kind = MessageKind.ANNOUNCEMENT if announce else MessageKind.CHAT
        return self._send(org, kind, Text(text).encode())

    def post(self, name: str, title: str, markdown: str, *, public: bool = False) -> Said:
        org = self._joined(name)
        kind = MessageKind.PUBLIC_POST if public else MessageKind.POST
        return self._send(org, kind, Post(title, markdown).encode())

    def edit_post(self, name: str, ref: str, title: str, markdown: str) -> Said:
        """A new revision on top of the post's latest one (its kind stays)."""
        posts = self._live_posts(name)
        view = posts[_pick(ref, dict(posts), "post")]
        org = self._joined(name)
        latest = view.latest
        return self._send(org, latest.kind, Post(title, markdown).encode(), latest.verified.hash)

    def delete_post(self, name: str, ref: str) -> Said:
        """An administrator's signed deletion of the post's latest revision."""
        posts = self._live_posts(name)
        view = posts[_pick(ref, dict(posts), "post")]
        org = self._joined(name)
        return self._send(org, MessageKind.POST_DELETION, b"", view.latest.verified.hash)

    def _live_posts(self, name: str) -> dict[str, PostView]:
        return {p.ref: p for p in self.news(name) if p.deleted_by is None}

    def add_event(
        self,
        name: str,
        title: str,
        starts_at: int,
        ends_at: int,
        *,
        location: str = "",
        description: str = "",
    ) -> Said:
        org = self._joined(name)
        body = Event(title, starts_at, ends_at, location, description).encode()
        return self._send(org, MessageKind.EVENT, body)

    def reply(self, name: str, ref: str, answer: str) -> Said:
        """yes, no or maybe to an event (a later reply replaces an earlier one)."""
        try:
            chosen = Answer[answer.upper()]
        except KeyError:
            raise ClientError("answer yes, no or maybe") from None
        events = {e.ref: e for e in _events(self.said(name)[1])}
        event = events[_pick(ref, dict(events), "event")]
        org = self._joined(name)
        return self._send(org, MessageKind.REPLY, Reply(chosen).encode(), event.said.verified.hash)

    def _send(
        self, org: Organisation, kind: MessageKind, body: bytes, reference: bytes = NO_HASH
    ) -> Said:
        [said] = self.messages.show(org, [self.messages.send(org, kind, body, reference)])
        return said

    # -- personal messages (conversations of two, section 19.1) --------------------------------
    def conversation(self, username: str, *, create: bool = False) -> Organisation | None:
        """My conversation with `username`, verified: two members, both admins, its name made
        from its id. With `create`, one is made when there is none."""
        other = self.contact(typed_username(username)).identity.user_id.hex()
        if other == self.my_id:
            raise ClientError("you cannot send a personal message to yourself")
        for entry in self._entries(OrgKind.CONVERSATION):
            org = self.group(group_id=entry.org_id)
            if set(org.members()) == {self.my_id, other}:
                return org
        if not create:
            return None
        group_id = new_id()
        org = self._found(
            group_id, conversation_name(bytes.fromhex(group_id)), OrgKind.CONVERSATION
        )
        self.add_member(org.name, typed_username(username), role=Role.ADMIN)
        org = self.group(group_id=group_id)
        self.messages.send(org, MessageKind.EPOCH_START, b"")
        return org

    def send_personal(self, username: str, text: str) -> Said:
        org = self.conversation(username, create=True)
        assert org is not None  # made when missing
        return self._send(org, MessageKind.PERSONAL, Text(text).encode())

    def personal(self, username: str, *, last: int = 200) -> list[Said]:
        """The last personal messages between me and `username`, verified."""
        org = self.conversation(username)
        if org is None:
            return []
        said = self.messages.show(org, self.messages.whole(org).messages)
        return [s for s in said if s.kind == MessageKind.PERSONAL][-last:]


def _posts(said: list[Said]) -> list[PostView]:
    revisions: dict[bytes, list[Said]] = {}
    deleted: dict[bytes, str] = {}
    for s in said:
        post = s.verified.post
        if post is None:
            continue
        if s.kind == MessageKind.POST_DELETION:
            deleted[post] = s.sender
        else:
            revisions.setdefault(post, []).append(s)
    views = [PostView(r, deleted.get(first)) for first, r in revisions.items()]
    return sorted(views, key=lambda p: p.revisions[0].verified.position, reverse=True)


def _events(said: list[Said]) -> list[EventView]:
    events = {s.verified.hash: EventView(s) for s in said if s.kind == MessageKind.EVENT}
    for s in said:
        if s.kind == MessageKind.REPLY and isinstance(s.body, Reply):
            events[s.verified.message.reference].replies[s.sender] = s.body.answer
    return list(events.values())
