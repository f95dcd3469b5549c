/**
 * One event as an RFC 5545 calendar for a client to offer as a download (docs/format.md section
 * 19.5): one VEVENT, UID `<event hash hex>@kluis`, times in UTC, text escaped as RFC 5545 3.3.11
 * says, lines folded at 75 octets, CRLF line ends, the lines in the order the section lists.
 */

import { toHex, utf8 } from "./bytes.js";
import type { Event } from "./content.js";
import { MalformedError } from "./errors.js";

/** A u64 time as an RFC 5545 UTC date-time, `YYYYMMDDTHHMMSSZ`; after the year 9999 `MalformedError`. */
export function icsTime(seconds: bigint): string {
  const limit = 253402300799n; // 9999-12-31T23:59:59Z
  if (seconds < 0n || seconds > limit) throw new MalformedError("event: a time no calendar can hold (after the year 9999)");
  const iso = new Date(Number(seconds) * 1000).toISOString(); // 2026-12-07T20:50:04.000Z
  return iso.slice(0, 19).replace(/[-:]/g, "") + "Z";
}

/**
 * TEXT of RFC 5545 3.3.11: backslash, semicolon and comma escaped, a line break (CRLF, LF or CR)
 * written `\n`; other control characters (tab excepted), which TEXT cannot hold, are left out.
 */
export function icsText(text: string): string {
  return text
    .replace(/\r\n|\r|\n/g, "\n")
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, "")
    .replace(/[\\;,\n]/g, (c) => (c === "\n" ? "\\n" : "\\" + c));
}

/** Fold a content line at 75 octets (RFC 5545 3.1), never inside a UTF-8 sequence. */
export function foldLine(line: string): string {
  const parts: string[] = [];
  let current = "";
  let octets = 0;
  let limit = 75;
  for (const c of line) {
    const size = utf8(c).length;
    if (octets + size > limit) {
      parts.push(current);
      current = "";
      octets = 0;
      limit = 74; // a continuation line starts with one space
    }
    current += c;
    octets += size;
  }
  parts.push(current);
  return parts.join("\r\n ");
}

/** The calendar of one event: `hash` is the event message's hash, `stamp` the DTSTAMP (the time it was sent). */
export function eventIcs(hash: Uint8Array, event: Event, stamp: bigint): string {
  const lines = [
    "BEGIN:VCALENDAR",
    "VERSION:2.0",
    "PRODID:-//Kluis//Kluis v1//NL",
    "BEGIN:VEVENT",
    `UID:${toHex(hash)}@kluis`,
    `DTSTAMP:${icsTime(stamp)}`,
    `DTSTART:${icsTime(event.startsAt)}`,
    `DTEND:${icsTime(event.endsAt)}`,
    `SUMMARY:${icsText(event.title)}`,
  ];
  if (event.location !== "") lines.push(`LOCATION:${icsText(event.location)}`);
  if (event.description !== "") lines.push(`DESCRIPTION:${icsText(event.description)}`);
  lines.push("END:VEVENT", "END:VCALENDAR");
  return lines.map(foldLine).join("\r\n") + "\r\n";
}
