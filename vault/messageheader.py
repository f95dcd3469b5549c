"""A group message as the server may see it (format section 19.3): its bytes parsed, its shape
checked, its hash and its sender's signature; never its key or its plaintext.

The public half of `vault.message` (which re-exports all of this and adds the message key,
sealing and opening): the server parses a message's header to keep the group's chain in one
line (docs/api.md, "Group messages") and may not import code that derives keys or decrypts
(the import contract in pyproject.toml). Nothing here holds a secret.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from functools import cached_property
from typing import Final

import blake3

from . import labels
from .encoding import ID_SIZE, Reader, Writer
from .errors import KeyMismatchError, MalformedError, SignatureError
from .identity import Identity
from .orgkeys import FORMAT_VERSION, KEY_ID_SIZE, SIGNATURE_SIZE

__all__ = [
    "BODY_MAX",
    "EPOCH_MAX",
    "HASH_SIZE",
    "MESSAGE_MAGIC",
    "NONCE_SIZE",
    "NO_HASH",
    "PLAINTEXT_MAX",
    "PLAIN_KINDS",
    "TAG_SIZE",
    "Message",
    "MessageKind",
    "check_shape",
    "message_hash",
    "verify_sender",
]

MESSAGE_MAGIC: Final = b"KLMG"
HASH_SIZE: Final = 32
NO_HASH: Final = bytes(HASH_SIZE)
NONCE_SIZE: Final = 24
TAG_SIZE: Final = 16
# 66 KiB: the largest body of section 19.5 (a post: 260 + 65540 + 1 + 32 x 32 bytes) fits.
PLAINTEXT_MAX: Final = 67584
BODY_MAX: Final = PLAINTEXT_MAX + 24 + 16  # nonce and tag
EPOCH_MAX: Final = 2**32 - 1


class MessageKind(enum.IntEnum):
    EPOCH_START = 1
    ANNOUNCEMENT = 2
    CHAT = 3
    PERSONAL = 4
    POST = 5
    PUBLIC_POST = 6
    POST_DELETION = 7
    EVENT = 8
    REPLY = 9


_KINDS: Final = frozenset(MessageKind)
# Kinds whose body anyone may read: a public post, and the deletion that hides one.
PLAIN_KINDS: Final = frozenset({MessageKind.PUBLIC_POST, MessageKind.POST_DELETION})
_EMPTY_BODY: Final = frozenset({MessageKind.EPOCH_START, MessageKind.POST_DELETION})
_NEEDS_REFERENCE: Final = frozenset({MessageKind.POST_DELETION, MessageKind.REPLY})
_NO_REFERENCE: Final = frozenset(
    {
        MessageKind.EPOCH_START,
        MessageKind.ANNOUNCEMENT,
        MessageKind.CHAT,
        MessageKind.PERSONAL,
        MessageKind.EVENT,
    }
)


@dataclass(frozen=True)
class Message:
    group_id: bytes
    epoch: int
    kind: MessageKind
    sender_id: bytes
    sender_key_id: bytes
    sequence: int
    previous_hash: bytes
    reference: bytes
    sent_at: int
    body: bytes = field(repr=False)
    signature: bytes = field(repr=False)

    @cached_property
    def _header(self) -> bytes:
        # Computed once per message: the signature, the key and the AEAD all need it.
        return (
            Writer()
            .raw(MESSAGE_MAGIC)
            .u8(FORMAT_VERSION)
            .fixed(self.group_id, ID_SIZE)
            .u32(self.epoch)
            .u8(self.kind)
            .fixed(self.sender_id, ID_SIZE)
            .fixed(self.sender_key_id, KEY_ID_SIZE)
            .u64(self.sequence)
            .fixed(self.previous_hash, HASH_SIZE)
            .fixed(self.reference, HASH_SIZE)
            .u64(self.sent_at)
            .getvalue()
        )

    def header(self) -> bytes:
        """Every byte before the body's length: the body's associated data."""
        return self._header

    def signed_part(self) -> bytes:
        return self.header() + Writer().vbytes(self.body).getvalue()

    def encode(self) -> bytes:
        return self.signed_part() + self.signature

    @property
    def encrypted(self) -> bool:
        return self.kind not in PLAIN_KINDS

    @classmethod
    def decode(cls, data: bytes) -> Message:
        r = Reader(data, "message")
        r.magic(MESSAGE_MAGIC)
        if r.u8() != FORMAT_VERSION:
            raise MalformedError("message: unsupported format version")
        group_id, epoch, kind = r.raw(ID_SIZE), r.u32(), r.u8()
        sender_id, sender_key_id = r.raw(ID_SIZE), r.raw(KEY_ID_SIZE)
        sequence = r.u64()
        previous_hash, reference = r.raw(HASH_SIZE), r.raw(HASH_SIZE)
        sent_at = r.u64()
        body = r.vbytes(BODY_MAX)
        signature = r.raw(SIGNATURE_SIZE)
        r.end()
        if epoch < 1 or sequence < 1:
            raise MalformedError("message: epochs and sequence numbers start at 1")
        if kind not in _KINDS:
            raise MalformedError(f"message: unknown kind {kind}")
        message = cls(
            group_id,
            epoch,
            MessageKind(kind),
            sender_id,
            sender_key_id,
            sequence,
            previous_hash,
            reference,
            sent_at,
            body,
            signature,
        )
        check_shape(message)
        return message


def check_shape(m: Message) -> None:
    """What the kind allows for the body and the reference (section 19.3, parsing)."""
    if m.kind == MessageKind.POST_DELETION:
        if m.body:
            raise MalformedError("message: a deletion has an empty body")
    elif m.encrypted:
        if len(m.body) < NONCE_SIZE + TAG_SIZE:
            raise MalformedError("message: an encrypted body is shorter than its nonce and tag")
        empty = len(m.body) == NONCE_SIZE + TAG_SIZE
        if empty != (m.kind == MessageKind.EPOCH_START):
            raise MalformedError(
                "message: an epoch start has an empty body, every other kind a non-empty one"
            )
    elif not m.body:
        raise MalformedError(f"message: a {m.kind.name.lower()} has a body")
    has_reference = m.reference != NO_HASH
    if m.kind in _NEEDS_REFERENCE and not has_reference:
        raise MalformedError(f"message: a {m.kind.name.lower()} names the message it is about")
    if m.kind in _NO_REFERENCE and has_reference:
        raise MalformedError(f"message: a {m.kind.name.lower()} refers to no other message")


def message_hash(data: bytes) -> bytes:
    """BLAKE3 of a message's bytes as received: what the next message's `previous_hash` and a
    `reference` name."""
    return bytes(blake3.blake3(bytes(data)).digest())


def verify_sender(message: Message, sender: Identity) -> None:
    """The message names `sender` (the caller's trusted identity of its sender_id) and its
    signature verifies: `KeyMismatchError`, `SignatureError` (section 19.4, check 4)."""
    if (sender.user_id, sender.key_id) != (message.sender_id, message.sender_key_id):
        raise KeyMismatchError("message: not signed by the keys of the sender it names")
    try:
        sender.verify(labels.GROUP_MESSAGE_SIGNATURE, message.signed_part(), message.signature)
    except SignatureError as exc:
        raise SignatureError(
            f"message: the signature of {sender.username}'s message does not verify"
        ) from exc
