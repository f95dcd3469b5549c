"""Verifying a group's message chain as the server orders it (docs/format.md section 19.4).

`verify_messages` takes the messages the server returns, in its order, and the state this
device accepted last, and returns the verified messages with the new state, or raises the
precise error of the first check that fails: a dropped, inserted, reordered or replayed message
breaks the signed `previous_hash` links or the sender's sequence; a forged one its signature; one
by someone the group's verified roster gives no right to write it (a plain member's post, a
removed member's chat line) fails even with a valid signature, because a signature proves who
signed, not that they were allowed to.

It cannot see messages withheld from the end of the chain (until someone writes on top of them)
or a chain forked after the point this device saw; section 19.4 says so.

Verifying needs no epoch key; reading (`open_verified`) does, and may be lazy. Nothing here
touches the network or the disk.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final

from .content import Body, decode_body
from .errors import IntegrityError, KeyMismatchError, MalformedError, RollbackError
from .group import check_group
from .keys import Identity
from .kinds import OrgKind, Role
from .message import NO_HASH, Message, MessageKind, message_hash, open_message, verify_sender
from .orgchain import IdentityOf, Roster

__all__ = [
    "ChainState",
    "Verified",
    "open_verified",
    "state_from_json",
    "state_to_json",
    "verify_messages",
    "verify_public_post",
]

_ANYONE: Final = frozenset({Role.MEMBER, Role.EDITOR, Role.ADMIN})
_WRITERS: Final = frozenset({Role.EDITOR, Role.ADMIN})
_ADMINS: Final = frozenset({Role.ADMIN})

# Section 19.3's table: who may send each kind, and in which kind of group.
RIGHTS: Final[Mapping[MessageKind, frozenset[Role]]] = MappingProxyType(
    {
        MessageKind.EPOCH_START: _ADMINS,
        MessageKind.ANNOUNCEMENT: _WRITERS,
        MessageKind.CHAT: _ANYONE,
        MessageKind.PERSONAL: _ANYONE,
        MessageKind.POST: _WRITERS,
        MessageKind.PUBLIC_POST: _WRITERS,
        MessageKind.POST_DELETION: _ADMINS,
        MessageKind.EVENT: _WRITERS,
        MessageKind.REPLY: _ANYONE,
    }
)
PLACES: Final[Mapping[OrgKind, frozenset[MessageKind]]] = MappingProxyType(
    {
        OrgKind.GROUP: frozenset(MessageKind) - {MessageKind.PERSONAL},
        OrgKind.CONVERSATION: frozenset({MessageKind.EPOCH_START, MessageKind.PERSONAL}),
    }
)
_POSTS: Final = frozenset({MessageKind.POST, MessageKind.PUBLIC_POST})


@dataclass(frozen=True)
class ChainState:
    """What a device remembers of a group's chain after verifying it up to a message.

    `posts` maps the hash of each live post's latest revision to (its first revision's hash,
    its kind); `deleted` holds the first-revision hashes of deleted posts; `events` the hashes
    of events (what replies may answer)."""

    count: int = 0
    head: bytes = NO_HASH
    epoch: int = 0
    sequences: Mapping[bytes, int] = field(default_factory=dict)
    posts: Mapping[bytes, tuple[bytes, MessageKind]] = field(default_factory=dict)
    deleted: frozenset[bytes] = frozenset()
    events: frozenset[bytes] = frozenset()


@dataclass(frozen=True)
class Verified:
    """One message that passed every check, with its position (from 1) in the chain and, for
    a post revision or deletion, the hash of the post's first revision (what names the post)."""

    data: bytes
    message: Message
    hash: bytes
    position: int
    post: bytes | None = None


def _signed_by(message: Message, identity_of: IdentityOf) -> Identity:
    sender = identity_of(message.sender_id)  # KeyMismatchError for a stranger
    verify_sender(message, sender)
    return sender


def _check_right(message: Message, roster: Roster, who: str) -> None:
    """Check 6: the kind belongs in this group, the epoch is in its chain, the role allows it."""
    chain = roster.chain
    if message.kind not in PLACES.get(chain.kind, frozenset()):
        raise IntegrityError(
            f"message: a {message.kind.name.lower()} has no place in a {chain.kind.name.lower()}"
        )
    if message.epoch > chain.epoch:
        raise KeyMismatchError(
            f"message: written in epoch {message.epoch}, the group's chain ends at {chain.epoch}"
        )
    role = roster.role(message.sender_id, message.epoch)
    if role not in RIGHTS[message.kind]:
        held = role.name.lower() if role else "no member"
        raise IntegrityError(
            f"message: {who} was {held} in epoch {message.epoch} and may not write a "
            f"{message.kind.name.lower().replace('_', ' ')}"
        )


def verify_messages(
    messages: Sequence[bytes],
    *,
    roster: Roster,
    identity_of: IdentityOf,
    state: ChainState | None,
) -> tuple[list[Verified], ChainState]:
    """Checks 1-8 of section 19.4 over `messages`, which continue the chain after `state` (from
    its first message when `state` is None). The caller keeps the returned state in place of
    the old one; on any error it keeps the old one."""
    check_group(roster)  # 19.1: a group or a conversation of the right shape, else nothing
    state = state or ChainState()
    count, head, epoch = state.count, state.head, state.epoch
    sequences = dict(state.sequences)
    posts = dict(state.posts)
    deleted, events = set(state.deleted), set(state.events)
    group_id = roster.chain.org_id
    verified: list[Verified] = []
    for data in messages:
        position = count + 1
        message = Message.decode(data)  # 1
        if message.group_id != group_id:  # 2
            raise IntegrityError(f"message {position}: of another group")
        if message.previous_hash != head:  # 3
            raise IntegrityError(
                f"message {position}: does not follow the message before it (a message was "
                "dropped, inserted, reordered or replaced)"
            )
        who = _signed_by(message, identity_of).username  # 4
        last = sequences.get(message.sender_id, 0)  # 5
        if message.sequence <= last:
            raise RollbackError(
                f"message {position}: {who}'s message {message.sequence} again, after "
                f"{last} (a replay)"
            )
        if message.sequence != last + 1:
            raise IntegrityError(
                f"message {position}: {who}'s messages {last + 1} to {message.sequence - 1} "
                "are missing"
            )
        _check_right(message, roster, who)  # 6
        if message.kind == MessageKind.EPOCH_START:  # 7
            if message.epoch <= epoch:
                raise RollbackError(
                    f"message {position}: starts epoch {message.epoch} after epoch {epoch}"
                )
            epoch = message.epoch
        elif epoch == 0:
            raise IntegrityError("message 1: a group's chain begins with an epoch start")
        elif message.epoch < epoch:
            raise RollbackError(
                f"message {position}: {who} wrote in epoch {message.epoch} after epoch {epoch} "
                "began"
            )
        elif message.epoch != epoch:
            raise IntegrityError(
                f"message {position}: written in epoch {message.epoch} before it began"
            )
        digest = message_hash(data)
        post: bytes | None = None
        if message.kind in _POSTS:  # 8
            if message.reference == NO_HASH:
                post = digest
            else:
                found = posts.pop(message.reference, None)
                if found is None or found[1] != message.kind:
                    raise IntegrityError(
                        f"message {position}: edits no live post of its kind at its latest revision"
                    )
                post = found[0]
            posts[digest] = (post, message.kind)
        elif message.kind == MessageKind.POST_DELETION:
            found = posts.pop(message.reference, None)
            if found is None:
                raise IntegrityError(
                    f"message {position}: deletes no live post at its latest revision"
                )
            post = found[0]
            deleted.add(post)
        elif message.kind == MessageKind.EVENT:
            events.add(digest)
        elif message.kind == MessageKind.REPLY and message.reference not in events:
            raise IntegrityError(f"message {position}: a reply to no event")
        sequences[message.sender_id] = message.sequence
        count, head = position, digest
        verified.append(Verified(bytes(data), message, digest, position, post))
    return verified, ChainState(
        count,
        head,
        epoch,
        MappingProxyType(sequences),
        MappingProxyType(posts),
        frozenset(deleted),
        frozenset(events),
    )


def open_verified(verified: Verified, key_of: Callable[[int], bytes | None]) -> Body | None:
    """Decrypt and parse one verified message's body, with `key_of(epoch)` giving K_e (None
    where this device holds none: `IntegrityError` for an encrypted kind)."""
    message = verified.message
    plaintext = open_message(message, key_of(message.epoch) if message.encrypted else None)
    return decode_body(message.kind, plaintext)


def verify_public_post(
    revisions: Sequence[bytes], *, roster: Roster, identity_of: IdentityOf
) -> list[Verified]:
    """Section 19.5, for a reader without an account: a public post's revisions, first to
    latest, optionally ending in an admin's deletion. Checks 1, 2, 4 and 6 of 19.4 on each,
    that each revision names the one before, and that epochs do not go back. `position` is the
    revision number."""
    check_group(roster)
    if not revisions:
        raise IntegrityError("public post: no revisions")
    out: list[Verified] = []
    previous = NO_HASH
    epoch = 0
    for number, data in enumerate(revisions, start=1):
        message = Message.decode(data)
        if message.group_id != roster.chain.org_id:
            raise IntegrityError("public post: of another group")
        is_deletion = message.kind == MessageKind.POST_DELETION
        if message.kind != MessageKind.PUBLIC_POST and not (
            is_deletion and number == len(revisions) and number > 1
        ):
            raise IntegrityError(f"public post: revision {number} is no public post revision")
        if message.reference != previous:
            raise IntegrityError(
                f"public post: revision {number} does not follow revision {number - 1}"
            )
        who = _signed_by(message, identity_of).username
        _check_right(message, roster, who)
        if message.epoch < epoch:
            raise RollbackError(f"public post: revision {number} goes back to an older epoch")
        epoch = message.epoch
        previous = message_hash(data)
        out.append(
            Verified(bytes(data), message, previous, number, out[0].hash if out else previous)
        )
    return out


# -- the state as a device stores it ---------------------------------------------------------------
_STATE_FIELDS: Final = frozenset(
    {"count", "head", "epoch", "sequences", "posts", "deleted", "events"}
)


def state_to_json(state: ChainState) -> dict[str, Any]:
    """The state as a JSON object (the form of the `messagelog` vectors): hashes and ids as
    lowercase hex, lists sorted, so equal states give equal JSON."""
    return {
        "count": state.count,
        "head": state.head.hex(),
        "epoch": state.epoch,
        "sequences": {k.hex(): n for k, n in sorted(state.sequences.items())},
        "posts": [
            {"latest": k.hex(), "first": first.hex(), "kind": int(kind)}
            for k, (first, kind) in sorted(state.posts.items())
        ],
        "deleted": sorted(d.hex() for d in state.deleted),
        "events": sorted(e.hex() for e in state.events),
    }


def _int(value: object, low: int, high: int) -> int:
    if type(value) is not int or not low <= value <= high:
        raise MalformedError("message chain state: a number out of range")
    return value


def _hex(value: object, size: int) -> bytes:
    if not isinstance(value, str) or len(value) != 2 * size:
        raise MalformedError("message chain state: a hash or id of the wrong size")
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise MalformedError("message chain state: not hexadecimal") from None


def _list(value: object) -> list[Any]:
    if not isinstance(value, list):
        raise MalformedError("message chain state: a list expected")
    return value


def state_from_json(obj: object) -> ChainState:
    """Read back what `state_to_json` wrote (`MalformedError` for anything else): a device's
    own memory, still checked, since a damaged state would weaken every later check."""
    if not isinstance(obj, dict) or set(obj) != _STATE_FIELDS:
        raise MalformedError("message chain state: not a state object")
    sequences = obj["sequences"]
    if not isinstance(sequences, dict):
        raise MalformedError("message chain state: sequences must be an object")
    posts: dict[bytes, tuple[bytes, MessageKind]] = {}
    for item in _list(obj["posts"]):
        if not isinstance(item, dict) or set(item) != {"latest", "first", "kind"}:
            raise MalformedError("message chain state: a post entry is malformed")
        kind = _int(item["kind"], 0, 255)
        if kind not in _POSTS:
            raise MalformedError("message chain state: a post of another kind")
        posts[_hex(item["latest"], 32)] = (_hex(item["first"], 32), MessageKind(kind))
    return ChainState(
        _int(obj["count"], 0, 2**64 - 1),
        _hex(obj["head"], 32),
        _int(obj["epoch"], 0, 2**32 - 1),
        MappingProxyType({_hex(k, 16): _int(n, 1, 2**64 - 1) for k, n in sequences.items()}),
        MappingProxyType(posts),
        frozenset(_hex(d, 32) for d in _list(obj["deleted"])),
        frozenset(_hex(e, 32) for e in _list(obj["events"])),
    )
