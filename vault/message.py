"""One message of a group's message chain: sealed by its sender, opened by a member (19.3).

A message binds its body to the group, epoch, sender, the sender's sequence number and kind, by
a key derived for exactly that (group, epoch, sender, sequence, kind) and by the header as
associated data, and is signed by the sender (a key every member holds would let any member
forge another). `previous_hash` links it into the chain; `vault.messagelog` verifies the chain.

The epoch key is taken as 32 opaque bytes: how it was made (`vault.group.epoch_key` today, an
MLS exporter secret later) is no concern of this module. Nothing here touches the network or
the disk, and nothing here holds a secret key of a user (senders sign through the
`SigningIdentity` protocol). The parsing, shape, hash and sender check are its public half,
`vault.messageheader`, re-exported here: the server imports that one only (the import contract:
the message key is derived here).
"""

from __future__ import annotations

import dataclasses
import os

import nacl.bindings
import nacl.exceptions

from . import labels
from .derive import KEY_SIZE, derive
from .encoding import ID_SIZE, Writer, check_length, check_u64
from .errors import IntegrityError, MalformedError
from .headerstatement import SigningIdentity
from .messageheader import (
    BODY_MAX,
    EPOCH_MAX,
    HASH_SIZE,
    MESSAGE_MAGIC,
    NO_HASH,
    NONCE_SIZE,
    PLAIN_KINDS,
    PLAINTEXT_MAX,
    Message,
    MessageKind,
    check_shape,
    message_hash,
    verify_sender,
)

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
    check_shape(message)
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
