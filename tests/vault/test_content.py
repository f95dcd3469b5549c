"""vault.content: the bodies of messages, posts, events and replies (format 19.5)."""

from __future__ import annotations

import os

import pytest

from vault.content import (
    ATTACHMENTS_MAX,
    DESCRIPTION_MAX,
    MARKDOWN_MAX,
    TEXT_MAX,
    TITLE_MAX,
    Answer,
    Attachment,
    Event,
    Post,
    Reply,
    Text,
    decode_body,
)
from vault.errors import MalformedError
from vault.message import PLAINTEXT_MAX, MessageKind

POST = Post(
    title="Bewonersavond versterking",
    markdown="# Agenda\n\n- welkom\n- *NCG* legt uit",
    attachments=(Attachment(os.urandom(16), os.urandom(16)),),
)
EVENT = Event(
    title="Spreekuur",
    starts_at=1_800_000_000,
    ends_at=1_800_003_600,
    location="Dorpshuis, Hoofdstraat 1",
    description="Neem uw schaderapport mee.",
)


def test_every_body_round_trips_through_its_kind() -> None:
    cases = [
        (MessageKind.CHAT, Text("hallo allemaal")),
        (MessageKind.ANNOUNCEMENT, Text("é \U0001f3e0")),
        (MessageKind.PERSONAL, Text("x")),
        (MessageKind.POST, POST),
        (MessageKind.PUBLIC_POST, POST),
        (MessageKind.EVENT, EVENT),
        (MessageKind.REPLY, Reply(Answer.MAYBE)),
    ]
    for kind, body in cases:
        assert decode_body(kind, body.encode()) == body


def test_kinds_without_a_body_decode_to_none() -> None:
    assert decode_body(MessageKind.EPOCH_START, b"") is None
    assert decode_body(MessageKind.POST_DELETION, b"") is None
    with pytest.raises(MalformedError):
        decode_body(MessageKind.EPOCH_START, b"x")


def test_the_largest_post_fits_a_message() -> None:
    biggest = Post(
        "t" * TITLE_MAX,
        "m" * MARKDOWN_MAX,
        tuple(Attachment(os.urandom(16), os.urandom(16)) for _ in range(ATTACHMENTS_MAX)),
    )
    assert len(biggest.encode()) <= PLAINTEXT_MAX


def test_a_body_of_another_kind_is_refused() -> None:
    with pytest.raises(MalformedError):
        decode_body(MessageKind.EVENT, POST.encode())
    with pytest.raises(MalformedError):
        decode_body(MessageKind.REPLY, Text("ja").encode())


@pytest.mark.parametrize(
    "body",
    [
        Text("").encode(check=False),
        Text("x" * (TEXT_MAX + 1)).encode(check=False),
        b"\x00\x00\x00\x02\xc3\x28",  # invalid UTF-8
        b"\x00\x00\x00\x04\xef\xbb\xbfa",  # a byte order mark
        b"\x00\x00\x00\x02\xed\xa0",  # truncated
        Text("ok").encode() + b"\x00",  # trailing byte
    ],
)
def test_bad_text_is_refused(body: bytes) -> None:
    with pytest.raises(MalformedError):
        decode_body(MessageKind.CHAT, body)


@pytest.mark.parametrize(
    "post",
    [
        Post("", "x", ()),
        Post("a\nb", "x", ()),
        Post("a\x7f", "x", ()),
        Post("t" * (TITLE_MAX + 1), "x", ()),
        Post("t", "m" * (MARKDOWN_MAX + 1), ()),
        Post(
            "t",
            "",
            tuple(Attachment(os.urandom(16), os.urandom(16)) for _ in range(ATTACHMENTS_MAX + 1)),
        ),
    ],
)
def test_bad_posts_are_refused(post: Post) -> None:
    with pytest.raises(MalformedError):
        decode_body(MessageKind.POST, post.encode(check=False))


def test_a_post_with_a_duplicated_attachment_is_refused() -> None:
    a = Attachment(os.urandom(16), os.urandom(16))
    with pytest.raises(MalformedError):
        decode_body(MessageKind.POST, Post("t", "", (a, a)).encode(check=False))


def test_a_truncated_or_padded_post_is_refused() -> None:
    data = POST.encode()
    for broken in (data[:-1], data + b"\x00"):
        with pytest.raises(MalformedError):
            decode_body(MessageKind.POST, broken)


@pytest.mark.parametrize(
    "event",
    [
        Event("", 1, 2, "", ""),
        Event("t", 2, 1, "", ""),
        Event("t", 1, 2, "a\tb", ""),
        Event("t", 1, 2, "l" * 1025, ""),
        Event("t", 1, 2, "", "d" * (DESCRIPTION_MAX + 1)),
    ],
)
def test_bad_events_are_refused(event: Event) -> None:
    with pytest.raises(MalformedError):
        decode_body(MessageKind.EVENT, event.encode(check=False))


@pytest.mark.parametrize("answer", [b"", b"\x00", b"\x04", b"\x01\x01"])
def test_bad_replies_are_refused(answer: bytes) -> None:
    with pytest.raises(MalformedError):
        decode_body(MessageKind.REPLY, answer)


def test_writing_a_bad_body_is_refused_too() -> None:
    with pytest.raises(MalformedError):
        Text("").encode()
    with pytest.raises(MalformedError):
        Event("t", 2, 1, "", "").encode()
