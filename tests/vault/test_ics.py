"""vault.ics: one agenda event as an RFC 5545 calendar (format 19.5)."""

from __future__ import annotations

import pytest

from vault.content import Event
from vault.errors import MalformedError
from vault.ics import escape_text, event_ics, fold

UID = bytes(range(32))
EVENT = Event(
    title="Spreekuur NCG; versterking, fase 2",
    starts_at=1_800_000_000,
    ends_at=1_800_003_600,
    location="Dorpshuis\\zaal 1",
    description="Neem mee:\n- schaderapport\r\n- foto's",
)


def test_an_event_renders_as_one_vevent_in_utc() -> None:
    text = event_ics(EVENT, uid=UID, stamp=1_799_990_000)
    lines = text.split("\r\n")
    assert text.endswith("\r\n") and lines[-1] == ""
    assert lines[:4] == [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Kluis//Kluis v1//NL",
        "BEGIN:VEVENT",
    ]
    assert f"UID:{UID.hex()}@kluis" in lines
    assert "DTSTAMP:20270115T051320Z" in lines
    assert "DTSTART:20270115T080000Z" in lines
    assert "DTEND:20270115T090000Z" in lines
    assert "SUMMARY:Spreekuur NCG\\; versterking\\, fase 2" in lines
    assert "LOCATION:Dorpshuis\\\\zaal 1" in lines
    assert "DESCRIPTION:Neem mee:\\n- schaderapport\\n- foto's" in lines
    assert lines[-3:] == ["END:VEVENT", "END:VCALENDAR", ""]


def test_empty_fields_and_zero_length_events_leave_their_lines_out() -> None:
    text = event_ics(Event("t", 1_800_000_000, 1_800_000_000, "", ""), uid=UID, stamp=0)
    assert "DTEND" not in text and "LOCATION" not in text and "DESCRIPTION" not in text


def test_escaping_follows_rfc_5545_3_3_11() -> None:
    assert escape_text("a\\b;c,d\ne\r\nf\rg") == "a\\\\b\\;c\\,d\\ne\\nf\\ng"
    assert escape_text("tab\there\x00\x1b\x7f") == "tab\there"
    assert escape_text('colon: "quote"') == 'colon: "quote"'


def test_long_lines_fold_at_75_octets_without_splitting_a_character() -> None:
    line = "DESCRIPTION:" + "é" * 100
    folded = fold(line)
    parts = folded.split("\r\n")
    assert all(len(p.encode()) <= 75 for p in parts)
    assert all(p.startswith(" ") for p in parts[1:])
    assert "".join(p[1:] if i else p for i, p in enumerate(parts)) == line
    assert fold("SUMMARY:kort") == "SUMMARY:kort"


def test_an_injected_property_stays_text() -> None:
    text = event_ics(Event("x\r\nATTACH:http://evil", 1, 2, "", ""), uid=UID, stamp=0)
    assert "\r\nATTACH" not in text


def test_a_time_no_calendar_can_hold_is_refused() -> None:
    with pytest.raises(MalformedError):
        event_ics(Event("t", 2**63, 2**63, "", ""), uid=UID, stamp=0)
    with pytest.raises(ValueError):
        event_ics(EVENT, uid=b"short", stamp=0)
