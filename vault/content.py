"""The bodies of messages (docs/format.md section 19.5): text, posts, events and replies.

A body is the plaintext a message (`vault.message`) carries, binary and bounded: every text is
strict UTF-8 in a `vbytes` with its own limit, so a reader never has to guess how much memory a
server-supplied body may take. `decode_body(kind, plaintext)` is the one entry point: the kind
of the verified message decides which body may be inside. Nothing here touches the network or
the disk.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from .encoding import ID_SIZE, Reader, Writer
from .errors import MalformedError
from .message import MessageKind

__all__ = [
    "ATTACHMENTS_MAX",
    "DESCRIPTION_MAX",
    "LOCATION_MAX",
    "MARKDOWN_MAX",
    "TEXT_MAX",
    "TITLE_MAX",
    "Answer",
    "Attachment",
    "Body",
    "Event",
    "Post",
    "Reply",
    "Text",
    "decode_body",
]

TEXT_MAX: Final = 4096
TITLE_MAX: Final = 256
MARKDOWN_MAX: Final = 65536
ATTACHMENTS_MAX: Final = 32
LOCATION_MAX: Final = 1024
DESCRIPTION_MAX: Final = 16384


def _utf8(data: bytes, what: str, *, single_line: bool = False) -> str:
    try:
        text = data.decode("utf-8", errors="strict")
    except UnicodeDecodeError:
        raise MalformedError(f"{what}: not UTF-8") from None
    if text.startswith("\ufeff"):
        raise MalformedError(f"{what}: starts with a byte order mark")
    if single_line and any(ord(c) < 0x20 or ord(c) == 0x7F for c in text):
        # Titles and places are shown on one line, in lists and in .ics files.
        raise MalformedError(f"{what}: contains a control character")
    return text


def _text(r: Reader, what: str, low: int, high: int, *, single_line: bool = False) -> str:
    data = r.vbytes(high)
    if len(data) < low:
        raise MalformedError(f"{what}: empty")
    return _utf8(data, what, single_line=single_line)


def _check(encode: bytes, kind: MessageKind) -> bytes:
    decode_body(kind, encode)
    return encode


@dataclass(frozen=True)
class Text:
    """An announcement, chat line or personal message."""

    text: str

    def encode(self, *, check: bool = True) -> bytes:
        data = Writer().vbytes(self.text.encode("utf-8", "surrogatepass")).getvalue()
        return _check(data, MessageKind.CHAT) if check else data

    @classmethod
    def decode(cls, data: bytes) -> Text:
        r = Reader(data, "text")
        text = _text(r, "text", 1, TEXT_MAX)
        r.end()
        return cls(text)


@dataclass(frozen=True)
class Attachment:
    """A document of a dossier the group can read (its library), named by id."""

    dossier_id: bytes
    document_id: bytes


@dataclass(frozen=True)
class Post:
    title: str
    markdown: str
    attachments: tuple[Attachment, ...] = ()

    def encode(self, *, check: bool = True) -> bytes:
        w = (
            Writer()
            .vbytes(self.title.encode("utf-8", "surrogatepass"))
            .vbytes(self.markdown.encode("utf-8", "surrogatepass"))
            .u8(len(self.attachments) & 0xFF)
        )
        for a in self.attachments:
            w.fixed(a.dossier_id, ID_SIZE).fixed(a.document_id, ID_SIZE)
        return _check(w.getvalue(), MessageKind.POST) if check else w.getvalue()

    @classmethod
    def decode(cls, data: bytes) -> Post:
        r = Reader(data, "post")
        title = _text(r, "post title", 1, TITLE_MAX, single_line=True)
        markdown = _text(r, "post body", 0, MARKDOWN_MAX)
        count = r.u8()
        if count > ATTACHMENTS_MAX:
            raise MalformedError(f"post: more than {ATTACHMENTS_MAX} attachments")
        attachments = tuple(Attachment(r.raw(ID_SIZE), r.raw(ID_SIZE)) for _ in range(count))
        r.end()
        if len(set(attachments)) != len(attachments):
            raise MalformedError("post: an attachment is named twice")
        return cls(title, markdown, attachments)


@dataclass(frozen=True)
class Event:
    title: str
    starts_at: int
    ends_at: int
    location: str
    description: str

    def encode(self, *, check: bool = True) -> bytes:
        data = (
            Writer()
            .vbytes(self.title.encode("utf-8", "surrogatepass"))
            .u64(self.starts_at)
            .u64(self.ends_at)
            .vbytes(self.location.encode("utf-8", "surrogatepass"))
            .vbytes(self.description.encode("utf-8", "surrogatepass"))
            .getvalue()
        )
        return _check(data, MessageKind.EVENT) if check else data

    @classmethod
    def decode(cls, data: bytes) -> Event:
        r = Reader(data, "event")
        title = _text(r, "event title", 1, TITLE_MAX, single_line=True)
        starts_at, ends_at = r.u64(), r.u64()
        location = _text(r, "event location", 0, LOCATION_MAX, single_line=True)
        description = _text(r, "event description", 0, DESCRIPTION_MAX)
        r.end()
        if ends_at < starts_at:
            raise MalformedError("event: ends before it starts")
        return cls(title, starts_at, ends_at, location, description)


class Answer(enum.IntEnum):
    YES = 1
    NO = 2
    MAYBE = 3


_ANSWERS: Final = frozenset(Answer)


@dataclass(frozen=True)
class Reply:
    answer: Answer

    def encode(self, *, check: bool = True) -> bytes:
        del check  # an Answer is always valid
        return Writer().u8(self.answer).getvalue()

    @classmethod
    def decode(cls, data: bytes) -> Reply:
        r = Reader(data, "reply")
        answer = r.u8()
        r.end()
        if answer not in _ANSWERS:
            raise MalformedError(f"reply: unknown answer {answer}")
        return cls(Answer(answer))


Body = Text | Post | Event | Reply

_DECODERS: Final[dict[MessageKind, Callable[[bytes], Body]]] = {
    MessageKind.ANNOUNCEMENT: Text.decode,
    MessageKind.CHAT: Text.decode,
    MessageKind.PERSONAL: Text.decode,
    MessageKind.POST: Post.decode,
    MessageKind.PUBLIC_POST: Post.decode,
    MessageKind.EVENT: Event.decode,
    MessageKind.REPLY: Reply.decode,
}


def decode_body(kind: MessageKind, plaintext: bytes) -> Body | None:
    """The body of a message of `kind` (`MalformedError` for anything else); None for the kinds
    that carry none (an epoch start, a deletion)."""
    decoder = _DECODERS.get(kind)
    if decoder is None:
        if plaintext:
            raise MalformedError(f"{kind.name.lower()}: has no body")
        return None
    return decoder(plaintext)
