"""One agenda event as an iCalendar file (RFC 5545), for a client to offer as a download.

Pure text in, text out: the event must already be verified and decrypted (`vault.messagelog`,
`vault.content`). Everything from the event is written as TEXT values, escaped as RFC 5545
section 3.3.11 says, so a title cannot add a property of its own (a line break becomes `\\n`),
and lines are folded at 75 octets (section 3.1) without splitting a UTF-8 character. Times are
written in UTC (`...Z`), so no time zone definition is needed. Nothing here touches the network
or the disk.
"""

from __future__ import annotations

import datetime
from typing import Final

from .content import Event
from .errors import MalformedError

__all__ = ["escape_text", "event_ics", "fold"]

PRODID: Final = "-//Kluis//Kluis v1//NL"
LINE_OCTETS: Final = 75
UID_SIZE: Final = 32


def escape_text(value: str) -> str:
    """RFC 5545 3.3.11: backslash, semicolon and comma escaped, every line break (CRLF, LF or CR)
    as `\\n`; other control characters (not allowed in a TEXT value, 3.1) left out, HTAB kept."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    out: list[str] = []
    for c in value:
        if c == "\\":
            out.append("\\\\")
        elif c in ";,":
            out.append("\\" + c)
        elif c == "\n":
            out.append("\\n")
        elif c == "\t" or not (ord(c) < 0x20 or ord(c) == 0x7F):
            out.append(c)
    return "".join(out)


def fold(line: str) -> str:
    """RFC 5545 3.1: at most 75 octets per line, continued after CRLF and one space."""
    parts: list[str] = []
    current, size, limit = "", 0, LINE_OCTETS
    for c in line:
        width = len(c.encode("utf-8"))
        if size + width > limit:
            parts.append(current)
            current, size, limit = "", 0, LINE_OCTETS - 1  # the leading space counts
        current += c
        size += width
    parts.append(current)
    return "\r\n ".join(parts)


def _utc(seconds: int, what: str) -> str:
    try:
        moment = datetime.datetime.fromtimestamp(seconds, datetime.UTC)
    except (OverflowError, OSError, ValueError):
        raise MalformedError(f"event: {what} is no date a calendar can hold") from None
    return moment.strftime("%Y%m%dT%H%M%SZ")


def event_ics(event: Event, *, uid: bytes, stamp: int) -> str:
    """A VCALENDAR with one VEVENT; `uid` is the event message's hash (so re-imports update the
    same entry), `stamp` when the event was written (DTSTAMP). Lines end in CRLF."""
    if len(uid) != UID_SIZE:
        raise ValueError("the UID is the event message's 32-byte hash")
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "BEGIN:VEVENT",
        f"UID:{uid.hex()}@kluis",
        f"DTSTAMP:{_utc(stamp, 'the time it was written')}",
        f"DTSTART:{_utc(event.starts_at, 'the start')}",
    ]
    if event.ends_at != event.starts_at:  # without DTEND the event ends when it starts (3.6.1)
        lines.append(f"DTEND:{_utc(event.ends_at, 'the end')}")
    lines.append(f"SUMMARY:{escape_text(event.title)}")
    if event.location:
        lines.append(f"LOCATION:{escape_text(event.location)}")
    if event.description:
        lines.append(f"DESCRIPTION:{escape_text(event.description)}")
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return "".join(fold(line) + "\r\n" for line in lines)
