/**
 * Messages of a group or conversation (docs/format.md section 19.3): the Message structure, its
 * hash, the per-message key under the epoch key K_e, the sender's signature (check 4 of 19.4) and
 * opening the body (19.4, "Decrypting"; the body's form is content.ts). Holds no chain logic: the
 * order, sequences, roles and references are messagelog.ts.
 */

import { ascii, concat, equal, isZero, Reader, u32, u64, u8, vbytes, type Bytes } from "./bytes.js";
import { blake3, derive, randomBytes, xchachaOpen, xchachaSeal } from "./crypto.js";
import { IntegrityError, KeyMismatchError, MalformedError } from "./errors.js";
import { decodeEvent, decodePost, decodeReply, decodeText, type Event, type Post, type Reply, type Text } from "./content.js";
import { ID_SIZE, SIGNATURE_SIZE, signWithLabel, splitSigned, verifyBy, type Identity, type PrivateIdentity } from "./keys.js";
import { GROUP_MESSAGE_BODY, GROUP_MESSAGE_KEY, GROUP_MESSAGE_SIGNATURE } from "./labels.js";

export const KIND_EPOCH_START = 1;
export const KIND_ANNOUNCEMENT = 2;
export const KIND_CHAT = 3;
export const KIND_PERSONAL = 4;
export const KIND_POST = 5;
export const KIND_PUBLIC_POST = 6;
export const KIND_POST_DELETION = 7;
export const KIND_EVENT = 8;
export const KIND_EVENT_REPLY = 9;
export type MessageKind = 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9;

export const BODY_MAX = 67624;
/** The largest plaintext body a writer accepts (BODY_MAX less nonce and tag). */
export const PLAINTEXT_MAX = 67584;
const NONCE_SIZE = 24;
const SEALED_MIN = NONCE_SIZE + 16;
export const HASH_SIZE = 32;
export const ZERO_HASH: Bytes = new Uint8Array(HASH_SIZE);

const MAGIC = "KLMG";
const WHAT = "message";

/** Kinds 6 (public post) and 7 (post deletion) carry their body as it is; the others encrypt it. */
export function isEncrypted(kind: MessageKind): boolean {
  return kind !== KIND_PUBLIC_POST && kind !== KIND_POST_DELETION;
}

/** Kinds whose body is empty: 1 (epoch start) and 7 (post deletion). */
function emptyBody(kind: MessageKind): boolean {
  return kind === KIND_EPOCH_START || kind === KIND_POST_DELETION;
}

/** Which kinds must name a reference (7, 9), may (5, 6) or must not (1-4, 8). */
function referenceRule(kind: MessageKind): "must" | "may" | "never" {
  if (kind === KIND_POST_DELETION || kind === KIND_EVENT_REPLY) return "must";
  if (kind === KIND_POST || kind === KIND_PUBLIC_POST) return "may";
  return "never";
}

export interface Message {
  groupId: Bytes;
  epoch: number;
  kind: MessageKind;
  senderId: Bytes;
  senderKeyId: Bytes;
  sequence: bigint;
  previousHash: Bytes;
  reference: Bytes;
  sentAt: bigint;
  /** The body as stored: nonce || ciphertext for encrypted kinds, B itself for kinds 6 and 7. */
  body: Bytes;
  signature: Bytes;
  /** Every byte before the body's length: the body's associated data. */
  header: Bytes;
  encoded: Bytes;
}

/** Parse a message (`MalformedError` for everything 19.3 lists). */
export function decodeMessage(data: Uint8Array): Message {
  const r = new Reader(data, WHAT);
  r.header(MAGIC);
  const groupId = r.bytes(ID_SIZE);
  const epoch = r.u32();
  const kind = r.u8();
  const senderId = r.bytes(ID_SIZE);
  const senderKeyId = r.bytes(32);
  const sequence = r.u64();
  const previousHash = r.bytes(HASH_SIZE);
  const reference = r.bytes(HASH_SIZE);
  const sentAt = r.u64();
  const header = r.consumed();
  const body = r.vbytes(BODY_MAX, "body");
  const signature = r.bytes(SIGNATURE_SIZE);
  r.end();
  if (epoch < 1) throw new MalformedError(`${WHAT}: epoch must be at least 1`);
  if (sequence < 1n) throw new MalformedError(`${WHAT}: sequence must be at least 1`);
  if (kind < KIND_EPOCH_START || kind > KIND_EVENT_REPLY) throw new MalformedError(`${WHAT}: unknown kind ${kind}`);
  const k = kind as MessageKind;
  if (isEncrypted(k)) {
    if (body.length < SEALED_MIN) throw new MalformedError(`${WHAT}: an encrypted body shorter than its nonce and tag`);
    if (emptyBody(k) !== (body.length === SEALED_MIN)) {
      throw new MalformedError(`${WHAT}: kind ${kind} with ${emptyBody(k) ? "a non-empty" : "an empty"} body`);
    }
  } else if (emptyBody(k) !== (body.length === 0)) {
    throw new MalformedError(`${WHAT}: kind ${kind} with ${emptyBody(k) ? "a non-empty" : "an empty"} body`);
  }
  const rule = referenceRule(k);
  if (rule === "never" && !isZero(reference)) throw new MalformedError(`${WHAT}: kind ${kind} names a reference`);
  if (rule === "must" && isZero(reference)) throw new MalformedError(`${WHAT}: kind ${kind} names no reference`);
  return { groupId, epoch, kind: k, senderId, senderKeyId, sequence, previousHash, reference, sentAt, body, signature, header, encoded: r.consumed() };
}

/** message_hash = BLAKE3 of all the message's bytes, signature included. */
export function messageHash(message: Message | Uint8Array): Promise<Bytes> {
  return blake3(message instanceof Uint8Array ? message : message.encoded);
}

/** Check 4 of 19.4: the sender named is the trusted identity (`KeyMismatchError`), and signed (`SignatureError`). */
export function verifySender(message: Message, sender: Identity): void {
  if (!equal(message.senderId, sender.userId) || !equal(message.senderKeyId, sender.keyId)) {
    throw new KeyMismatchError(`${WHAT}: not from the sender it names`);
  }
  const { body, signature } = splitSigned(message.encoded);
  verifyBy(sender, GROUP_MESSAGE_SIGNATURE, body, signature, WHAT);
}

/** message_key = derive(K_e, "kluis/v1/group-message-key", group_id || epoch u64 || sender_id || sequence u64 || kind u8). */
export function messageKey(epochKey: Uint8Array, m: { groupId: Uint8Array; epoch: number; senderId: Uint8Array; sequence: bigint; kind: MessageKind }): Promise<Bytes> {
  if (epochKey.length !== 32) throw new RangeError("an epoch key is 32 bytes");
  return derive(epochKey, GROUP_MESSAGE_KEY, concat(m.groupId, u64(m.epoch), m.senderId, u64(m.sequence), u8(m.kind)));
}

function bodyAd(header: Uint8Array): Bytes {
  return concat(ascii(GROUP_MESSAGE_BODY), Uint8Array.of(0), header);
}

/** The body B of 19.5 in its parsed form, by kind. */
export type Content =
  | { kind: typeof KIND_EPOCH_START | typeof KIND_POST_DELETION }
  | { kind: typeof KIND_ANNOUNCEMENT | typeof KIND_CHAT | typeof KIND_PERSONAL; text: Text }
  | { kind: typeof KIND_POST | typeof KIND_PUBLIC_POST; post: Post }
  | { kind: typeof KIND_EVENT; event: Event }
  | { kind: typeof KIND_EVENT_REPLY; reply: Reply };

/** Parse B as the body of `kind` (19.5, `MalformedError`). */
export function decodeContent(kind: MessageKind, plaintext: Uint8Array): Content {
  switch (kind) {
    case KIND_EPOCH_START:
    case KIND_POST_DELETION:
      if (plaintext.length !== 0) throw new MalformedError(`${WHAT}: kind ${kind} has an empty body`);
      return { kind };
    case KIND_ANNOUNCEMENT:
    case KIND_CHAT:
    case KIND_PERSONAL:
      return { kind, text: decodeText(plaintext) };
    case KIND_POST:
    case KIND_PUBLIC_POST:
      return { kind, post: decodePost(plaintext) };
    case KIND_EVENT:
      return { kind, event: decodeEvent(plaintext) };
    case KIND_EVENT_REPLY:
      return { kind, reply: decodeReply(plaintext) };
  }
}

/**
 * Open a message's body (19.4, "Decrypting"): for an encrypted kind the message key from K_e of
 * the message's epoch (`IntegrityError` without one) and the AEAD (`IntegrityError`); kinds 6 and 7
 * as they are; then B parsed as the kind's body (`MalformedError`). The caller verified the
 * message (its sender, and its place in the chain) first.
 */
export async function openMessage(message: Message, epochKey: Uint8Array | null): Promise<{ plaintext: Bytes; content: Content }> {
  let plaintext: Bytes;
  if (!isEncrypted(message.kind)) {
    plaintext = message.body;
  } else {
    if (epochKey === null) throw new IntegrityError(`${WHAT}: no key for epoch ${message.epoch} on this device`);
    const key = await messageKey(epochKey, message);
    const opened = xchachaOpen(key, message.body.subarray(0, NONCE_SIZE), message.body.subarray(NONCE_SIZE), bodyAd(message.header));
    if (opened === null) throw new IntegrityError(`${WHAT}: the body does not open`);
    plaintext = opened;
  }
  return { plaintext, content: decodeContent(message.kind, plaintext) };
}

export interface MessageFields {
  groupId: Uint8Array;
  epoch: number;
  kind: MessageKind;
  sequence: bigint;
  previousHash: Uint8Array;
  reference: Uint8Array;
  sentAt: bigint;
  /** B, the encoded body of 19.5 (content.ts). */
  plaintext: Uint8Array;
  /** K_e of `epoch`; unused for kinds 6 and 7. */
  epochKey: Uint8Array | null;
  /** A fixed nonce, for vectors; random otherwise. */
  nonce?: Uint8Array;
}

/** Write a message signed by `sender`; the result parses (the writer refuses what a reader would). */
export async function sealMessage(sender: PrivateIdentity, f: MessageFields): Promise<Bytes> {
  if (f.plaintext.length > PLAINTEXT_MAX) throw new RangeError(`${WHAT}: a body of ${f.plaintext.length} bytes`);
  const header = concat(
    ascii(MAGIC),
    Uint8Array.of(1),
    f.groupId,
    u32(f.epoch),
    u8(f.kind),
    sender.public.userId,
    sender.public.keyId,
    u64(f.sequence),
    f.previousHash,
    f.reference,
    u64(f.sentAt),
  );
  let body: Bytes;
  if (isEncrypted(f.kind)) {
    if (f.epochKey === null) throw new RangeError(`${WHAT}: kind ${f.kind} needs the epoch key`);
    const key = await messageKey(f.epochKey, { ...f, senderId: sender.public.userId });
    const nonce = f.nonce ?? randomBytes(NONCE_SIZE);
    body = concat(nonce, xchachaSeal(key, nonce, f.plaintext, bodyAd(header)));
  } else {
    body = concat(f.plaintext);
  }
  const signed = concat(header, vbytes(body));
  const out = concat(signed, signWithLabel(sender.signingSecretKey, GROUP_MESSAGE_SIGNATURE, signed));
  decodeMessage(out);
  return out;
}
