/**
 * Signed notes (C2SP signed-note v1, docs/format.md section 17.4): a text ending in a newline, a
 * blank line, and signature lines `— <key name> <base64(key ID || signature)>`.
 *
 * A key is configured as a *verifier key* `<name>+<key ID, 8 lowercase hex>+<base64(type ||
 * public key)>`, with key ID = SHA-256(name || 0x0A || type || public key)[0:4]. Type 0x01 is
 * Ed25519 over the text (here); type 0x04 a witness cosignature (`cosignature.ts`).
 *
 * Opening a note with the trusted keys: a signature no trusted key's (name, key ID) names is
 * ignored; one that is must verify, a second one by the same key too; at least one must be there.
 */

import { concat, toHex, utf8, type Bytes } from "./bytes.js";
import { ed25519Verify, sha256 } from "./crypto.js";
import { MalformedError, SignatureError } from "./errors.js";

export const SIG_ED25519 = 0x01;
export const KEY_ID_SIZE = 4;
export const ED25519_KEY_SIZE = 32;
export const MAX_SIGNATURES = 100;
export const MAX_NOTE_SIZE = 1 << 20;
const SIGNATURE_PREFIX = "\u2014 "; // em dash, space

// -- base64 (standard, padded, canonical) ------------------------------------------------------

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function b64encode(data: Uint8Array): string {
  let binary = "";
  for (const b of data) binary += String.fromCharCode(b);
  return btoa(binary);
}

/** Standard base64 (RFC 4648 section 4) with padding, in its one canonical spelling. */
export function b64decode(text: string, what: string): Bytes {
  if (!BASE64.test(text)) throw new MalformedError(`${what}: not base64`);
  const out = Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  if (b64encode(out) !== text) throw new MalformedError(`${what}: not canonical base64`); // non-zero padding bits
  return out;
}

// -- key names, key IDs and verifier keys ------------------------------------------------------

// Control characters (U+0000-U+001F), Unicode spaces (White_Space of Latin-1, categories Zs, Zl,
// Zp) and '+'.
const NOT_IN_KEY_NAME = /[\u0000-\u001f\u0085+\p{Zs}\p{Zl}\p{Zp}]/u;

/** A key name is non-empty, without control characters, Unicode spaces or '+' (`MalformedError`). */
export function checkKeyName(name: string): string {
  if (name.length === 0 || NOT_IN_KEY_NAME.test(name)) throw new MalformedError(`not a valid key name: ${JSON.stringify(name)}`);
  return name;
}

/** SHA-256(name || 0x0A || type || public key)[0:4]. */
export async function keyId(name: string, type: number, publicKey: Uint8Array): Promise<Bytes> {
  const digest = await sha256(concat(utf8(checkKeyName(name)), Uint8Array.of(0x0a, type), publicKey));
  return digest.slice(0, KEY_ID_SIZE);
}

export function formatVkey(name: string, id: Uint8Array, type: number, publicKey: Uint8Array): string {
  return `${name}+${toHex(id)}+${b64encode(concat(Uint8Array.of(type), publicKey))}`;
}

export interface VkeyParts {
  name: string;
  keyId: Bytes;
  type: number;
  publicKey: Bytes;
}

/** The parts of a verifier key; `MalformedError` unless its key ID is its name's, type's and key's. */
export async function splitVkey(vkey: string): Promise<VkeyParts> {
  const first = vkey.indexOf("+");
  const second = first < 0 ? -1 : vkey.indexOf("+", first + 1); // base64 may contain '+'
  if (second < 0) throw new MalformedError("a verifier key is <name>+<key ID>+<key>");
  const name = checkKeyName(vkey.slice(0, first));
  const hexId = vkey.slice(first + 1, second);
  if (!/^[0-9a-f]{8}$/.test(hexId)) throw new MalformedError("verifier key: the key ID is 8 lowercase hex digits");
  const key = b64decode(vkey.slice(second + 1), "verifier key");
  if (key.length === 0) throw new MalformedError("verifier key: no key");
  const type = key[0] as number;
  const publicKey = key.slice(1);
  const id = await keyId(name, type, publicKey);
  if (toHex(id) !== hexId) throw new MalformedError("verifier key: the key ID does not match the name and key");
  return { name, keyId: id, type, publicKey };
}

/** A trusted key: its name and key ID select the signatures it checks. */
export interface Verifier {
  readonly name: string;
  readonly keyId: Bytes;
  readonly type: number;
  readonly publicKey: Bytes;
  /** The verifier key, `<name>+<key ID>+<base64(type || public key)>`. */
  readonly vkey: string;
  /** Whether `signature` (the bytes after the key ID) signs the note text `text`. */
  verify(text: Uint8Array, signature: Uint8Array): boolean;
}

/** A verifier of `type` for an Ed25519 key; `check(publicKey, text, signature)` is the type's rule. */
export async function makeVerifier(
  name: string,
  type: number,
  publicKey: Uint8Array,
  check: (publicKey: Bytes, text: Uint8Array, signature: Uint8Array) => boolean,
): Promise<Verifier> {
  if (publicKey.length !== ED25519_KEY_SIZE) throw new MalformedError("an Ed25519 public key is 32 bytes");
  const id = await keyId(name, type, publicKey);
  const key = Uint8Array.from(publicKey);
  return { name, keyId: id, type, publicKey: key, vkey: formatVkey(name, id, type, key), verify: (text, signature) => check(key, text, signature) };
}

/** An Ed25519 note key (type 0x01): the signature is Ed25519 over the note text. */
export async function ed25519Verifier(name: string, publicKey: Uint8Array): Promise<Verifier> {
  return makeVerifier(name, SIG_ED25519, publicKey, ed25519Verify);
}

/** An Ed25519 (type 0x01) verifier key; `MalformedError` for anything else. */
export async function parseVkey(vkey: string): Promise<Verifier> {
  const parts = await splitVkey(vkey);
  if (parts.type !== SIG_ED25519) throw new MalformedError(`verifier key: type ${parts.type} is not Ed25519`);
  return ed25519Verifier(parts.name, parts.publicKey);
}

// -- notes -------------------------------------------------------------------------------------

export interface NoteSignature {
  name: string;
  keyId: Bytes;
  /** The signature bytes after the key ID. */
  signature: Bytes;
}

/** A parsed note: its text (ending in a newline) and its signature lines, none checked. */
export interface Note {
  text: string;
  signatures: NoteSignature[];
}

// fatal: invalid UTF-8 is an error; ignoreBOM: a leading U+FEFF is text, not dropped.
const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Split a signed note into its text and signature lines (`MalformedError` if it is not one). */
export function parseNote(data: Uint8Array): Note {
  if (data.length > MAX_NOTE_SIZE) throw new MalformedError("note: too large");
  let message: string;
  try {
    message = UTF8.decode(data);
  } catch {
    throw new MalformedError("note: not UTF-8");
  }
  if (/[\u0000-\u0009\u000b-\u001f]/.test(message)) throw new MalformedError("note: contains a control character");
  const split = message.lastIndexOf("\n\n");
  if (split < 0) throw new MalformedError("note: no blank line before the signatures");
  const text = message.slice(0, split + 1);
  const block = message.slice(split + 2);
  if (block.length === 0) throw new MalformedError("note: no signature lines");
  if (!block.endsWith("\n")) throw new MalformedError("note: the last signature line does not end in a newline");
  const lines = block.slice(0, -1).split("\n");
  if (lines.length > MAX_SIGNATURES) throw new MalformedError(`note: more than ${MAX_SIGNATURES} signatures`);
  const signatures: NoteSignature[] = [];
  for (const line of lines) {
    if (!line.startsWith(SIGNATURE_PREFIX)) throw new MalformedError("note: a signature line does not start with an em dash");
    const rest = line.slice(SIGNATURE_PREFIX.length);
    const space = rest.indexOf(" ");
    const name = checkKeyName(space < 0 ? rest : rest.slice(0, space));
    const raw = b64decode(space < 0 ? "" : rest.slice(space + 1), "note signature");
    if (raw.length <= KEY_ID_SIZE) throw new MalformedError("note: a signature is a key ID and at least one byte");
    signatures.push({ name, keyId: raw.slice(0, KEY_ID_SIZE), signature: raw.slice(KEY_ID_SIZE) });
  }
  return { text, signatures };
}

/** A note whose signatures by trusted keys all verified: per key that signed, its first signature. */
export interface OpenedNote {
  note: Note;
  text: string;
  verified: { verifier: Verifier; signature: Bytes }[];
}

/**
 * Parse `data` (`MalformedError`) and check it against the trusted `verifiers`: every signature
 * whose (name, key ID) is a trusted key's must verify, and at least one must be there
 * (`SignatureError`); the others are ignored.
 */
export function openNote(data: Uint8Array, verifiers: readonly Verifier[]): OpenedNote {
  const known = new Map<string, Verifier>();
  for (const v of verifiers) {
    const key = `${v.name}\n${toHex(v.keyId)}`;
    if (known.has(key)) throw new RangeError(`two trusted keys named ${v.name} share the key ID ${toHex(v.keyId)}`);
    known.set(key, v);
  }
  const note = parseNote(data);
  const body = utf8(note.text);
  const verified = new Map<string, { verifier: Verifier; signature: Bytes }>();
  for (const sig of note.signatures) {
    const key = `${sig.name}\n${toHex(sig.keyId)}`;
    const verifier = known.get(key);
    if (verifier === undefined) continue;
    if (!verifier.verify(body, sig.signature)) throw new SignatureError(`note: the signature by ${sig.name} does not verify`);
    if (!verified.has(key)) verified.set(key, { verifier, signature: sig.signature });
  }
  if (verified.size === 0) throw new SignatureError("note: not signed by any trusted key");
  return { note, text: note.text, verified: [...verified.values()] };
}

/** Whether `opened` holds a verified signature by `verifier`. */
export function signedBy(opened: OpenedNote, verifier: Verifier): boolean {
  return opened.verified.some((v) => v.verifier.vkey === verifier.vkey);
}
