"""One message of a group's message chain: sealed by its sender, opened by a member (19.3).

A message binds its body to the group, epoch, sender, the sender's sequence number and kind, by
a key derived for exactly that (group, epoch, sender, sequence, kind) and by the header as
associated data, and is signed by the sender (a key every member holds would let any member
forge another). `previous_hash` links it into the chain; `vault.messagelog` verifies the chain.

The epoch key is taken as 32 opaque bytes: how it was made (`vault.group.epoch_key` today, an
MLS exporter secret later) is no concern of this module. Nothing here touches the network or
the disk, and nothing here holds a secret key of a user (senders sign through the
`SigningIdentity` protocol), so the server may parse messages (the import contract).
"""

from __future__ import annotations

import dataclasses
import enum
import os
from dataclasses import dataclass, field
from functools import cached_property
from typing import Final

import blake3
import nacl.bindings
import nacl.exceptions

from . import labels
from .derive import KEY_SIZE, derive
from .encoding import ID_SIZE, Reader, Writer, check_length, check_u64
from .errors import IntegrityError, KeyMismatchError, MalformedError, SignatureError
from .headerstatement import SigningIdentity
from .identity import Identity
from .orgkeys import FORMAT_VERSION, KEY_ID_SIZE, SIGNATURE_SIZE

__all__ = [
    "BODY_MAX",
    "HASH_SIZE",
    "MESSAGE_MAGIC",
    "NO_HASH",
    "PLAINTEXT_MAX",
    "Message",
    "MessageKind",
    "message_hash",
    "message_key",
    "open_message",
    "seal_message",
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
        _check_shape(message)
        return message


def _check_shape(m: Message) -> None:
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


def message_key(epoch_key: bytes, message: Message) -> bytes:
    check_length(epoch_key, KEY_SIZE, "epoch_key")
    context = (
        Writer()
        .fixed(message.group_id, ID_SIZE)
        .u64(message.epoch)
        .fixed(message.sender_id, ID_SIZE)
        .u64(message.sequence)
        .u8(message.kind)
        .getvalue()
    )
    return derive(epoch_key, labels.GROUP_MESSAGE_KEY, context)


def _ad(message: Message) -> bytes:
    return labels.GROUP_MESSAGE_BODY + b"\x00" + message.header()


def seal_message(
    sender: SigningIdentity,
    *,
    group_id: bytes,
    epoch: int,
    kind: MessageKind,
    sequence: int,
    previous_hash: bytes,
    reference: bytes,
    sent_at: int,
    body: bytes,
    epoch_key: bytes | None,
    nonce: bytes | None = None,
) -> bytes:
    """Encrypt (unless the kind is public) and sign one message. `body` is the plaintext of
    section 19.5; it is not parsed here (`vault.content` makes it)."""
    if type(kind) is not MessageKind:
        raise TypeError("kind must be a MessageKind value")
    if not 1 <= epoch <= EPOCH_MAX or sequence < 1:
        raise MalformedError("message: epochs and sequence numbers start at 1")
    check_u64(sequence, "sequence")
    check_u64(sent_at, "sent_at")
    if len(body) > PLAINTEXT_MAX:
        raise MalformedError(f"message: a body of {len(body)} bytes exceeds {PLAINTEXT_MAX}")
    unsigned = Message(
        group_id=group_id,
        epoch=epoch,
        kind=kind,
        sender_id=sender.user_id,
        sender_key_id=sender.public.key_id,
        sequence=sequence,
        previous_hash=previous_hash,
        reference=reference,
        sent_at=sent_at,
        body=b"",
        signature=b"",
    )
    if kind in PLAIN_KINDS:
        stored = body
    else:
        if epoch_key is None:
            raise ValueError("an encrypted kind needs the epoch key")
        nonce = os.urandom(NONCE_SIZE) if nonce is None else nonce
        check_length(nonce, NONCE_SIZE, "nonce")
        stored = nonce + nacl.bindings.crypto_aead_xchacha20poly1305_ietf_encrypt(
            body, _ad(unsigned), nonce, message_key(epoch_key, unsigned)
        )
    message = dataclasses.replace(unsigned, body=stored)
    _check_shape(message)
    part = message.signed_part()
    signed = part + sender.sign(labels.GROUP_MESSAGE_SIGNATURE, part)
    if len(stored) > BODY_MAX:
        raise MalformedError("message: body too long")
    return signed


def open_message(message: Message, epoch_key: bytes | None) -> bytes:
    """The plaintext body of a message whose chain verified (`vault.messagelog`).

    `IntegrityError` when it does not open: the wrong key, a body moved to another header, or
    no key for that epoch (a device without archive access)."""
    if not message.encrypted:
        return message.body
    if epoch_key is None:
        raise IntegrityError(f"message: no key for epoch {message.epoch} on this device")
    nonce, ciphertext = message.body[:NONCE_SIZE], message.body[NONCE_SIZE:]
    try:
        return bytes(
            nacl.bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(
                ciphertext, _ad(message), nonce, message_key(epoch_key, message)
            )
        )
    except nacl.exceptions.CryptoError as exc:
        raise IntegrityError(
            "message: the body does not open (altered, moved or wrong key)"
        ) from exc
