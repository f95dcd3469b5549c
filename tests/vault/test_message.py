"""vault.message: one message of a group's chain, sealed and opened (format 19.3)."""

from __future__ import annotations

import dataclasses
import os

import pytest

from vault import labels
from vault.errors import IntegrityError, KeyMismatchError, MalformedError
from vault.keys import PrivateIdentity
from vault.message import (
    BODY_MAX,
    NO_HASH,
    Message,
    MessageKind,
    message_hash,
    message_key,
    open_message,
    seal_message,
)

NOW = 1_800_000_000
ALICE = PrivateIdentity.generate(os.urandom(16), "alice")
GROUP_ID = os.urandom(16)
KEY = os.urandom(32)
PREVIOUS = os.urandom(32)


def sealed(
    kind: MessageKind = MessageKind.CHAT,
    body: bytes = b"\x00\x00\x00\x05hallo",
    key: bytes | None = KEY,
    reference: bytes = NO_HASH,
    sequence: int = 7,
    previous_hash: bytes = PREVIOUS,
    **overrides: object,
) -> bytes:
    return seal_message(
        ALICE,
        group_id=GROUP_ID,
        epoch=2,
        kind=kind,
        sequence=sequence,
        previous_hash=previous_hash,
        reference=reference,
        sent_at=NOW,
        body=body,
        epoch_key=key,
        **overrides,  # type: ignore[arg-type]
    )


def test_a_message_opens_under_its_epoch_key() -> None:
    data = sealed()
    message = Message.decode(data)
    assert (message.group_id, message.epoch, message.kind, message.sequence) == (
        GROUP_ID,
        2,
        MessageKind.CHAT,
        7,
    )
    assert message.encode() == data
    assert open_message(message, KEY) == b"\x00\x00\x00\x05hallo"
    assert len(message_hash(data)) == 32


def test_the_body_is_encrypted_under_a_key_of_its_own() -> None:
    data = sealed()
    assert b"hallo" not in data
    context = GROUP_ID + (2).to_bytes(8, "big") + ALICE.user_id + (7).to_bytes(8, "big") + b"\x03"
    from vault.derive import derive

    assert message_key(KEY, Message.decode(data)) == derive(KEY, labels.GROUP_MESSAGE_KEY, context)


def test_a_public_post_is_signed_but_not_encrypted() -> None:
    data = sealed(kind=MessageKind.PUBLIC_POST, key=None)
    assert open_message(Message.decode(data), None) == b"\x00\x00\x00\x05hallo"
    assert b"hallo" in data


def test_the_wrong_epoch_key_opens_nothing() -> None:
    with pytest.raises(IntegrityError):
        open_message(Message.decode(sealed()), os.urandom(32))
    with pytest.raises(IntegrityError):
        open_message(Message.decode(sealed()), None)


@pytest.mark.parametrize(
    "field",
    ["group_id", "epoch", "kind", "sender_id", "sequence", "previous_hash", "sent_at"],
)
def test_a_body_moved_to_another_header_does_not_open(field: str) -> None:
    message = Message.decode(sealed())
    value = getattr(message, field)
    if isinstance(value, bytes):
        other: object = os.urandom(len(value))
    elif field == "kind":
        other = MessageKind.ANNOUNCEMENT
    else:
        other = value + 1
    moved = dataclasses.replace(message, **{field: other})
    with pytest.raises(IntegrityError):
        open_message(moved, KEY)


def test_a_flipped_ciphertext_byte_does_not_open() -> None:
    message = Message.decode(sealed())
    body = bytearray(message.body)
    body[-1] ^= 1
    with pytest.raises(IntegrityError):
        open_message(dataclasses.replace(message, body=bytes(body)), KEY)


def test_truncated_and_trailing_bytes_are_refused() -> None:
    data = sealed()
    for broken in (data[:-1], data + b"\x00", data[:10], b""):
        with pytest.raises(MalformedError):
            Message.decode(broken)


def test_wrong_magic_and_version_are_refused() -> None:
    data = sealed()
    with pytest.raises(MalformedError):
        Message.decode(b"KLMX" + data[4:])
    with pytest.raises(MalformedError):
        Message.decode(data[:4] + b"\x02" + data[5:])


def header_offset(name: str) -> int:
    sizes = [
        ("magic", 5),
        ("group_id", 16),
        ("epoch", 4),
        ("kind", 1),
        ("sender_id", 16),
        ("sender_key_id", 32),
        ("sequence", 8),
        ("previous_hash", 32),
        ("reference", 32),
        ("sent_at", 8),
    ]
    offset = 0
    for field, size in sizes:
        if field == name:
            return offset
        offset += size
    raise AssertionError(name)


@pytest.mark.parametrize(
    ("field", "value"),
    [("epoch", b"\x00" * 4), ("sequence", b"\x00" * 8), ("kind", b"\x00"), ("kind", b"\x0a")],
)
def test_zero_counters_and_unknown_kinds_are_refused(field: str, value: bytes) -> None:
    data = bytearray(sealed())
    at = header_offset(field)
    data[at : at + len(value)] = value
    with pytest.raises(MalformedError):
        Message.decode(bytes(data))


def test_a_body_over_the_limit_is_refused() -> None:
    with pytest.raises(MalformedError):
        sealed(kind=MessageKind.PUBLIC_POST, key=None, body=b"x" * (BODY_MAX + 1))
    data = bytearray(sealed())
    at = header_offset("sent_at") + 8
    data[at : at + 4] = (BODY_MAX + 1).to_bytes(4, "big")
    with pytest.raises(MalformedError):
        Message.decode(bytes(data))


@pytest.mark.parametrize(
    ("kind", "body", "reference"),
    [
        (MessageKind.EPOCH_START, b"x", NO_HASH),
        (MessageKind.CHAT, b"", NO_HASH),
        (MessageKind.CHAT, b"x", b"\x01" * 32),
        (MessageKind.EVENT, b"x", b"\x01" * 32),
        (MessageKind.POST_DELETION, b"", NO_HASH),
        (MessageKind.POST_DELETION, b"x", b"\x01" * 32),
        (MessageKind.REPLY, b"\x01", NO_HASH),
        (MessageKind.PUBLIC_POST, b"", NO_HASH),
    ],
)
def test_bodies_and_references_the_kind_does_not_allow_are_refused(
    kind: MessageKind, body: bytes, reference: bytes
) -> None:
    key = None if kind in (MessageKind.PUBLIC_POST, MessageKind.POST_DELETION) else KEY
    with pytest.raises(MalformedError):
        sealed(kind=kind, body=body, key=key, reference=reference)


def test_an_encrypted_body_shorter_than_nonce_and_tag_is_refused() -> None:
    message = Message.decode(sealed())
    short = dataclasses.replace(message, body=b"\x00" * 39)
    with pytest.raises(MalformedError):
        Message.decode(short.encode())


def test_the_first_message_of_a_chain_names_no_predecessor() -> None:
    first = sealed(kind=MessageKind.EPOCH_START, body=b"", previous_hash=NO_HASH)
    assert Message.decode(first).previous_hash == NO_HASH


# -- the sender's signature (check 4 of 19.4) -------------------------------------------------
def test_the_sender_signature_verifies_under_the_sender_named() -> None:
    from vault.message import verify_sender

    verify_sender(Message.decode(sealed()), ALICE.public)


def test_a_message_checked_against_another_identity_is_refused() -> None:
    from vault.errors import KeyMismatchError
    from vault.message import verify_sender

    bob = PrivateIdentity.generate(os.urandom(16), "bob")
    with pytest.raises(KeyMismatchError):
        verify_sender(Message.decode(sealed()), bob.public)


@pytest.mark.parametrize("label", [labels.GROUP_ARCHIVE_KEY_SIGNATURE, labels.GRANT_SIGNATURE])
def test_a_signature_under_another_label_is_refused(label: bytes) -> None:
    from vault.errors import SignatureError
    from vault.message import verify_sender

    m = Message.decode(sealed())
    forged = m.signed_part() + ALICE.sign(label, m.signed_part())
    with pytest.raises(SignatureError):
        verify_sender(Message.decode(forged), ALICE.public)


@pytest.mark.parametrize("position", [5, 30, 100, 200, -65, -1])
def test_any_flipped_byte_fails_the_signature(position: int) -> None:
    from vault.errors import SignatureError
    from vault.message import verify_sender

    data = bytearray(sealed())
    data[position] ^= 0x01
    message = Message.decode(bytes(data))  # these positions still parse
    with pytest.raises((SignatureError, KeyMismatchError)):
        verify_sender(message, ALICE.public)


def test_the_server_may_parse_messages_without_secret_key_code() -> None:
    # The server checks a message's group and predecessor before storing it (19.3, "Writing");
    # the import contract keeps it away from vault.keys, so vault.message must not need it.
    import subprocess
    import sys

    code = (
        "import sys, vault.message, vault.content, vault.ics; "
        "bad = {'vault.keys', 'vault.organisation', 'vault.grant'} & set(sys.modules); "
        "sys.exit(1 if bad else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
