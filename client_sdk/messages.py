"""The message chain of a group or conversation as this device verifies it (docs/format.md
sections 19.3-19.5, docs/client.md "Groups and messages").

The server orders the messages; it never decides what a device believes. Every read verifies
the chain (`vault.messagelog.verify_messages`) against the group's verified key chain and
roster (client_sdk/directory.py, then `vault.group.check_group`) and against the **state**
this device accepted last (kept in the profile): a read continues from that state, so a
message dropped, replayed, reordered, altered or forged anywhere after it stops everything,
and a full read from the start must pass through the same head, so history this device saw
cannot be rewritten either. The state is kept only after a read verified; on any error the old
one stays.

Writing signs on top of the verified head: `previous_hash` the newest message's hash, the
sender's own next sequence number, the chain's current epoch; a message that lost a race to
another (409 `stale_head`) is signed again on top of the winner.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from vault.content import Body
from vault.errors import IntegrityError, MalformedError, RollbackError
from vault.group import ArchiveKey, epoch_key, make_archive_key, open_archive_key
from vault.keys import Identity
from vault.kinds import OrgKind
from vault.message import NO_HASH, Message, MessageKind, message_hash, seal_message
from vault.messagelog import (
    RIGHTS,
    ChainState,
    Verified,
    open_verified,
    state_from_json,
    state_to_json,
    verify_messages,
)

from .account import Account
from .api import MESSAGE_PAGE, ServerApi
from .clock import now
from .directory import Directory, Organisation
from .errors import ClientError, Conflict, DamagedProfile
from .profile import Profile

STALE_HEAD = "stale_head"
ATTEMPTS = 5  # a busy chat: sign again on top of the newer head, this many times at most


@dataclass(frozen=True)
class Said:
    """One verified message as it is shown: who sent it and, where this device holds the
    epoch's key, its body (None for an epoch start, a deletion, or an epoch it cannot read)."""

    verified: Verified
    sender: str
    body: Body | None
    readable: bool

    @property
    def kind(self) -> MessageKind:
        return self.verified.message.kind

    @property
    def ref(self) -> str:
        """How a person names it: its hash in hex (a prefix will do)."""
        return self.verified.hash.hex()

    @property
    def sent_at(self) -> int:
        return self.verified.message.sent_at


@dataclass(frozen=True)
class Read:
    """A verified chain (or its newest part) and the state it leads to."""

    messages: list[Verified]
    state: ChainState


class Messages:
    """Reading and writing one device's groups' message chains."""

    def __init__(
        self, api: ServerApi, profile: Profile, account: Account, directory: Directory
    ) -> None:
        self.api = api
        self.profile = profile
        self.account = account
        self.directory = directory

    def _identity_of(self, user_id: bytes) -> Identity:
        return self.directory.person_by_id(user_id.hex()).identity

    # -- the state this device accepted --------------------------------------------------------
    def _stored(self, group_id: str) -> ChainState | None:
        value = self.profile.message_state(group_id)
        if value is None:
            return None
        try:
            return state_from_json(value)
        except MalformedError as exc:
            raise DamagedProfile(
                f"{self.profile.dir} is damaged: its message chain state of group "
                f"{group_id[:8]} is unreadable ({exc})"
            ) from None

    def _fetch(self, group_id: str, after: int, until: int | None = None) -> Iterator[bytes]:
        """The server's messages after position `after` (up to `until`), page by page."""
        while until is None or after < until:
            limit = MESSAGE_PAGE if until is None else min(MESSAGE_PAGE, until - after)
            page = self.api.messages(group_id, after=after, limit=limit)
            yield from page[:limit]
            if len(page) < limit:
                return
            after += limit

    # -- reading -------------------------------------------------------------------------------
    def newer(self, org: Organisation) -> Read:
        """The messages after the state this device accepted, verified on top of it (checks
        1-8 of section 19.4); the new state is kept."""
        stored = self._stored(org.org_id)
        batch = list(self._fetch(org.org_id, stored.count if stored else 0))
        verified, state = verify_messages(
            batch, roster=org.roster, identity_of=self._identity_of, state=stored
        )
        if verified:
            self.profile.save_message_state(org.org_id, state_to_json(state))
        return Read(verified, state)

    def recent(self, org: Organisation, last: int) -> list[Verified]:
        """The last `last` messages, cheaply: the chain verified up to its head (`newer`), then
        the messages before the head checked only by their hash links back from the head this
        device verified (each was verified when the state passed it). A long chat opens with
        its newest page, not with the whole history again."""
        state = self.newer(org).state
        start = max(0, state.count - last)
        data = list(self._fetch(org.org_id, start, state.count))
        if len(data) != state.count - start:
            raise IntegrityError(
                f"group {org.name}: the server no longer gives messages this device verified"
            )
        expected = state.head
        out: list[Verified] = []
        for offset in range(len(data) - 1, -1, -1):
            digest = message_hash(data[offset])
            if digest != expected:
                raise IntegrityError(
                    f"group {org.name}: message {start + offset + 1} differs from the one this "
                    "device verified (history was rewritten)"
                )
            message = Message.decode(data[offset])
            expected = message.previous_hash
            out.append(Verified(data[offset], message, digest, start + offset + 1))
        return out[::-1]

    def whole(self, org: Organisation) -> Read:
        """The whole chain verified from its first message; it must pass through the head this
        device accepted before (else the server rewrote or cut what this device saw)."""
        stored = self._stored(org.org_id)
        verified, state = verify_messages(
            list(self._fetch(org.org_id, 0)),
            roster=org.roster,
            identity_of=self._identity_of,
            state=None,
        )
        if stored is not None and stored.count:
            if state.count < stored.count:
                raise RollbackError(
                    f"group {org.name}: the server shows {state.count} messages; this device "
                    f"already verified {stored.count} (messages were taken away)"
                )
            if verified[stored.count - 1].hash != stored.head:
                raise IntegrityError(
                    f"group {org.name}: the messages up to number {stored.count} differ from "
                    "the ones this device verified before (history was rewritten)"
                )
        self.profile.save_message_state(org.org_id, state_to_json(state))
        return Read(verified, state)

    def key_of(self, org: Organisation) -> Callable[[int], bytes | None]:
        """K_e of each epoch this device holds the keys of (section 19.2): from my memberships,
        and from the archive keys an admin gave me, each opened with every check of 19.2 (one
        that fails stops everything: the server offered a key it should not have)."""
        keys = {epoch: epoch_key(private) for epoch, private in org.keys.items()}
        if self.account.logged_in and org.chain.kind == OrgKind.GROUP and org.epoch > 1:
            for data in self.api.archive_keys(org.org_id):
                statement = ArchiveKey.decode(data)
                keys.setdefault(
                    statement.epoch,
                    open_archive_key(
                        data,
                        me=self.account.me,
                        admin=self._identity_of(statement.admin_id),
                        roster=org.roster,
                    ),
                )
        return keys.get

    def archive_for(self, org: Organisation, member: Identity) -> list[tuple[str, int, bytes]]:
        """Archive keys for `member`: every earlier epoch whose key I hold, sealed to them."""
        me = self.account.me
        keys = self.key_of(org)
        out = []
        for epoch in range(1, org.epoch):
            key = keys(epoch)
            if key is None:
                continue
            data = make_archive_key(
                me,
                group_id=org.chain.org_id,
                epoch=epoch,
                epoch_key_id=org.chain.epoch_keys(epoch).key_id,
                granted_in=org.epoch,
                member=member,
                key=key,
                issued_at=now(),
            )
            out.append((member.user_id.hex(), epoch, data))
        return out

    def show(self, org: Organisation, verified: list[Verified]) -> list[Said]:
        """Decrypt what this device can (a body that does not open is `IntegrityError`)."""
        key_of = self.key_of(org)
        out = []
        for v in verified:
            readable = not v.message.encrypted or key_of(v.message.epoch) is not None
            body = open_verified(v, key_of) if readable else None
            sender = self._identity_of(v.message.sender_id).username
            out.append(Said(v, sender, body, readable))
        return out

    # -- writing -------------------------------------------------------------------------------
    def send(
        self, org: Organisation, kind: MessageKind, body: bytes, reference: bytes = NO_HASH
    ) -> Verified:
        """Sign `body` (section 19.5's plaintext) on top of the verified chain and append it."""
        me = self.account.me
        for _ in range(ATTEMPTS):
            state = self.newer(org).state
            if kind == MessageKind.EPOCH_START:
                epoch = org.epoch
                if state.epoch >= epoch:
                    raise ClientError(f"epoch {epoch} of {org.name} has started already")
            else:
                epoch = state.epoch
                if epoch != org.epoch:
                    raise ClientError(
                        f"{org.name} has new keys (epoch {org.epoch}) that an administrator has "
                        "not started yet; try again in a moment"
                    )
            role = org.roster.role(me.user_id, epoch)
            if role not in RIGHTS[kind]:
                # Every member's client would refuse it (19.4, check 6): never sign it.
                held = role.name.lower() if role else "no member"
                raise ClientError(
                    f"you are {held} of {org.name} and may not write a "
                    f"{kind.name.lower().replace('_', ' ')}"
                )
            key = self.key_of(org)(epoch)
            if key is None:
                raise ClientError(f"you hold no keys of {org.name}: you are not a member")
            data = seal_message(
                me,
                group_id=org.chain.org_id,
                epoch=epoch,
                kind=kind,
                sequence=state.sequences.get(me.user_id, 0) + 1,
                previous_hash=state.head,
                reference=reference,
                sent_at=now(),
                body=body,
                epoch_key=key,
            )
            try:
                self.api.post_message(org.org_id, data)
            except Conflict as exc:
                if exc.code == STALE_HEAD:
                    continue  # someone wrote first: verify theirs, then sign on top
                raise
            mine = next((v for v in self.newer(org).messages if v.data == data), None)
            if mine is None:
                raise IntegrityError(f"group {org.name}: the server did not keep your message")
            return mine
        raise ClientError(f"{org.name} is too busy to write in; try again in a moment")
