/**
 * The bodies of group messages (docs/format.md section 19.5): Text, Post, Event and Reply, binary,
 * their text UTF-8 (valid, no byte order mark) in vbytes. Anything else is `MalformedError`.
 */

import { concat, Reader, u64, u8, vbytes, utf8, type Bytes } from "./bytes.js";
import { MalformedError } from "./errors.js";
import { ID_SIZE } from "./keys.js";

export const TEXT_MAX = 4096;
export const TITLE_MAX = 256;
export const MARKDOWN_MAX = 65536;
export const ATTACHMENTS_MAX = 32;
export const LOCATION_MAX = 1024;
export const DESCRIPTION_MAX = 16384;

export const ANSWER_YES = 1;
export const ANSWER_NO = 2;
export const ANSWER_MAYBE = 3;
export type Answer = typeof ANSWER_YES | typeof ANSWER_NO | typeof ANSWER_MAYBE;

export interface Attachment {
  dossierId: Bytes;
  documentId: Bytes;
}

export interface Text {
  text: string;
}

export interface Post {
  title: string;
  markdown: string;
  attachments: Attachment[];
}

export interface Event {
  title: string;
  startsAt: bigint;
  endsAt: bigint;
  location: string;
  description: string;
}

export interface Reply {
  answer: Answer;
}

const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const CONTROL = /[\u0000-\u001f\u007f]/;

/** Strict UTF-8 (no lone surrogates, no overlong forms) without a byte order mark. */
function text(data: Uint8Array, what: string, field: string, controls: boolean): string {
  let out: string;
  try {
    out = decoder.decode(data);
  } catch {
    throw new MalformedError(`${what}: ${field} is not UTF-8`);
  }
  if (out.startsWith("\ufeff")) throw new MalformedError(`${what}: ${field} starts with a byte order mark`);
  if (!controls && CONTROL.test(out)) throw new MalformedError(`${what}: ${field} holds a control character`);
  return out;
}

function field(r: Reader, what: string, name: string, min: number, max: number, controls: boolean): string {
  const data = r.vbytes(max, name);
  if (data.length < min) throw new MalformedError(`${what}: ${name} is empty`);
  return text(data, what, name, controls);
}

function checkedUtf8(value: string, what: string, name: string, min: number, max: number, controls: boolean): Bytes {
  const data = utf8(value);
  // Round trip through the strict reader: refuses lone surrogates, a BOM and control characters.
  if (data.length < min || data.length > max) throw new RangeError(`${what}: ${name} of ${data.length} bytes`);
  try {
    text(data, what, name, controls);
  } catch (error) {
    throw new RangeError((error as Error).message);
  }
  if ([...value].some((c) => c.length === 1 && c >= "\ud800" && c <= "\udfff")) throw new RangeError(`${what}: ${name} has a lone surrogate`);
  return data;
}

// -- Text ---------------------------------------------------------------------------------------

export function decodeText(data: Uint8Array): Text {
  const what = "text";
  const r = new Reader(data, what);
  const out = field(r, what, "text", 1, TEXT_MAX, true);
  r.end();
  return { text: out };
}

export function encodeText(t: Text): Bytes {
  return vbytes(checkedUtf8(t.text, "text", "text", 1, TEXT_MAX, true));
}

// -- Post ---------------------------------------------------------------------------------------

export function decodePost(data: Uint8Array): Post {
  const what = "post";
  const r = new Reader(data, what);
  const title = field(r, what, "title", 1, TITLE_MAX, false);
  const markdown = field(r, what, "markdown", 0, MARKDOWN_MAX, true);
  const count = r.u8();
  if (count > ATTACHMENTS_MAX) throw new MalformedError(`${what}: ${count} attachments, at most ${ATTACHMENTS_MAX}`);
  const attachments: Attachment[] = [];
  for (let i = 0; i < count; i++) attachments.push({ dossierId: r.bytes(ID_SIZE), documentId: r.bytes(ID_SIZE) });
  r.end();
  return { title, markdown, attachments };
}

export function encodePost(p: Post): Bytes {
  if (p.attachments.length > ATTACHMENTS_MAX) throw new RangeError(`post: ${p.attachments.length} attachments`);
  const parts: Uint8Array[] = [
    vbytes(checkedUtf8(p.title, "post", "title", 1, TITLE_MAX, false)),
    vbytes(checkedUtf8(p.markdown, "post", "markdown", 0, MARKDOWN_MAX, true)),
    u8(p.attachments.length),
  ];
  for (const a of p.attachments) {
    if (a.dossierId.length !== ID_SIZE || a.documentId.length !== ID_SIZE) throw new RangeError("post: an attachment names ids of 16 bytes");
    parts.push(a.dossierId, a.documentId);
  }
  return concat(...parts);
}

// -- Event --------------------------------------------------------------------------------------

export function decodeEvent(data: Uint8Array): Event {
  const what = "event";
  const r = new Reader(data, what);
  const title = field(r, what, "title", 1, TITLE_MAX, false);
  const startsAt = r.u64();
  const endsAt = r.u64();
  const location = field(r, what, "location", 0, LOCATION_MAX, false);
  const description = field(r, what, "description", 0, DESCRIPTION_MAX, true);
  r.end();
  if (endsAt < startsAt) throw new MalformedError(`${what}: ends before it starts`);
  return { title, startsAt, endsAt, location, description };
}

export function encodeEvent(e: Event): Bytes {
  if (e.endsAt < e.startsAt) throw new RangeError("event: ends before it starts");
  return concat(
    vbytes(checkedUtf8(e.title, "event", "title", 1, TITLE_MAX, false)),
    u64(e.startsAt),
    u64(e.endsAt),
    vbytes(checkedUtf8(e.location, "event", "location", 0, LOCATION_MAX, false)),
    vbytes(checkedUtf8(e.description, "event", "description", 0, DESCRIPTION_MAX, true)),
  );
}

// -- Reply --------------------------------------------------------------------------------------

export function decodeReply(data: Uint8Array): Reply {
  const what = "reply";
  const r = new Reader(data, what);
  const answer = r.u8();
  r.end();
  if (answer !== ANSWER_YES && answer !== ANSWER_NO && answer !== ANSWER_MAYBE) throw new MalformedError(`${what}: unknown answer ${answer}`);
  return { answer };
}

export function encodeReply(reply: Reply): Bytes {
  return u8(reply.answer);
}
