/**
 * age export and import (docs/format.md section 11): a stored payload with a standard age v1
 * header in front of it is an age file (https://age-encryption.org/v1). This module writes and
 * reads the header's X25519 stanza (age's own recipient type) and age's Bech32 key strings, and
 * writes a passphrase-encrypted age file (the scrypt stanza, as `age -p`) for the export's
 * identity file; reading scrypt files is not implemented here.
 */

import { ascii, concat, copy, equal, type Bytes } from "./bytes.js";
import { chachaOpen, chachaSeal, hkdfSha256, hmacSha256, randomBytes, scrypt, x25519, x25519Base } from "./crypto.js";
import { IntegrityError, MalformedError } from "./errors.js";
import { decryptPayload, encryptPayload, type PayloadDigest } from "./payload.js";

const VERSION_LINE = "age-encryption.org/v1";
const X25519_INFO = "age-encryption.org/v1/X25519";
const IDENTITY_HRP = "age-secret-key-";
const RECIPIENT_HRP = "age";
const COLUMNS = 64;

// -- Bech32 (BIP-173), without the 90-character limit, as age uses it ---------------------------

const CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
const GENERATOR = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];

function polymod(values: number[]): number {
  let chk = 1;
  for (const v of values) {
    const top = chk >>> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk ^= GENERATOR[i] as number;
  }
  return chk >>> 0;
}

function hrpExpand(hrp: string): number[] {
  const out: number[] = [];
  for (const c of hrp) out.push(c.charCodeAt(0) >> 5);
  out.push(0);
  for (const c of hrp) out.push(c.charCodeAt(0) & 31);
  return out;
}

function convertBits(data: Iterable<number>, from: number, to: number, pad: boolean): number[] | null {
  let acc = 0;
  let bits = 0;
  const out: number[] = [];
  const max = (1 << to) - 1;
  for (const v of data) {
    acc = (acc << from) | v;
    bits += from;
    while (bits >= to) {
      bits -= to;
      out.push((acc >> bits) & max);
    }
    acc &= (1 << bits) - 1;
  }
  if (pad) {
    if (bits > 0) out.push((acc << (to - bits)) & max);
  } else if (bits >= from || ((acc << (to - bits)) & max) !== 0) {
    return null;
  }
  return out;
}

export function bech32Encode(hrp: string, data: Uint8Array): string {
  const words = convertBits(data, 8, 5, true) as number[];
  const values = [...hrpExpand(hrp), ...words, 0, 0, 0, 0, 0, 0];
  const mod = polymod(values) ^ 1;
  const checksum = [0, 1, 2, 3, 4, 5].map((i) => (mod >>> (5 * (5 - i))) & 31);
  return hrp + "1" + [...words, ...checksum].map((w) => CHARSET[w]).join("");
}

export function bech32Decode(text: string): { hrp: string; data: Bytes } {
  if (text !== text.toLowerCase() && text !== text.toUpperCase()) throw new MalformedError("bech32: mixed case");
  const s = text.toLowerCase();
  const sep = s.lastIndexOf("1");
  if (sep < 1 || sep + 7 > s.length) throw new MalformedError("bech32: no separator or checksum");
  const hrp = s.slice(0, sep);
  for (const c of hrp) {
    const code = c.charCodeAt(0);
    if (code < 33 || code > 126) throw new MalformedError("bech32: bad human-readable part");
  }
  const values: number[] = [];
  for (const c of s.slice(sep + 1)) {
    const v = CHARSET.indexOf(c);
    if (v < 0) throw new MalformedError("bech32: bad character");
    values.push(v);
  }
  if (polymod([...hrpExpand(hrp), ...values]) !== 1) throw new MalformedError("bech32: bad checksum");
  const bytes = convertBits(values.slice(0, -6), 5, 8, false);
  if (bytes === null) throw new MalformedError("bech32: bad padding");
  return { hrp, data: Uint8Array.from(bytes) };
}

// -- keys --------------------------------------------------------------------------------------

/** age-keygen's form of an age identity: AGE-SECRET-KEY-1..., upper case. */
export function identityToString(ageSecret: Uint8Array): string {
  return bech32Encode(IDENTITY_HRP, ageSecret).toUpperCase();
}

export function identityFromString(text: string): Bytes {
  const { hrp, data } = bech32Decode(text.trim());
  if (hrp !== IDENTITY_HRP || data.length !== 32) throw new MalformedError("not an age X25519 identity");
  return data;
}

export function recipientToString(publicKey: Uint8Array): string {
  return bech32Encode(RECIPIENT_HRP, publicKey);
}

export function recipientFromString(text: string): Bytes {
  const { hrp, data } = bech32Decode(text);
  if (hrp !== RECIPIENT_HRP || data.length !== 32 || text !== text.toLowerCase()) throw new MalformedError("not an age X25519 recipient");
  return data;
}

/** The recipient (age1...) of an age identity's secret. */
export function recipientOf(ageSecret: Uint8Array): string {
  return recipientToString(x25519Base(ageSecret));
}

// -- base64 without padding (age's encoding) ------------------------------------------------------

function b64(data: Uint8Array): string {
  let binary = "";
  for (const b of data) binary += String.fromCharCode(b);
  return btoa(binary).replace(/=+$/, "");
}

function unb64(text: string): Bytes {
  if (!/^[A-Za-z0-9+/]*$/.test(text) || text.length % 4 === 1) throw new MalformedError("age header: bad base64");
  const binary = atob(text + "=".repeat((4 - (text.length % 4)) % 4));
  const out = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  if (b64(out) !== text) throw new MalformedError("age header: non-canonical base64");
  return out;
}

function wrapLines(text: string): string {
  const lines: string[] = [];
  for (let at = 0; at <= text.length; at += COLUMNS) lines.push(text.slice(at, at + COLUMNS));
  return lines.join("\n"); // the last line is shorter than 64 columns, possibly empty
}

// -- header ------------------------------------------------------------------------------------

async function x25519WrapKey(shared: Uint8Array, ephemeralShare: Uint8Array, recipient: Uint8Array): Promise<Bytes> {
  return hkdfSha256(shared, concat(ephemeralShare, recipient), ascii(X25519_INFO), 32);
}

async function macKey(ageFileKey: Uint8Array): Promise<Bytes> {
  return hkdfSha256(ageFileKey, new Uint8Array(0), ascii("header"), 32);
}

/** The header's stanzas (already formatted), the end line and the MAC over them. */
async function finishHeader(ageFileKey: Uint8Array, stanzas: string): Promise<Bytes> {
  const text = `${VERSION_LINE}\n${stanzas}---`;
  const mac = hmacSha256(await macKey(ageFileKey), ascii(text));
  return ascii(`${text} ${b64(mac)}\n`);
}

const SCRYPT_LABEL = "age-encryption.org/v1/scrypt";
/** What `age -p` uses (vault/agefile.py SCRYPT_LOG_N): 256 MiB of memory. */
export const SCRYPT_LOG_N = 18;

/**
 * A whole age file for `plaintext`, encrypted with a passphrase (one scrypt stanza, r = 8,
 * p = 1, as vault/agefile.py `encrypt_age(passphrase=...)`): what age opens with `age -d`.
 */
export async function passphraseAgeFile(plaintext: Uint8Array, passphrase: string, logN = SCRYPT_LOG_N): Promise<Bytes> {
  if (passphrase.length === 0) throw new RangeError("an empty passphrase");
  const ageFileKey = randomBytes(16);
  const salt = randomBytes(16);
  const wrap = scrypt(new TextEncoder().encode(passphrase), concat(ascii(SCRYPT_LABEL), salt), logN, 8, 1);
  const body = chachaSeal(wrap, new Uint8Array(12), ageFileKey);
  wrap.fill(0);
  const header = await finishHeader(ageFileKey, `-> scrypt ${b64(salt)} ${logN}\n${wrapLines(b64(body))}\n`);
  return concat(header, (await encryptPayload(ageFileKey, plaintext)).payload);
}

/** The identity file age-keygen writes (vault/agefile.py `identity_file_text`). */
export function identityFileText(ageSecret: Uint8Array, created: Date): string {
  const when = `${created.toISOString().slice(0, 19)}Z`;
  return `# created: ${when}\n# public key: ${recipientOf(ageSecret)}\n${identityToString(ageSecret)}\n`;
}

/**
 * An age v1 header for `ageFileKey` with one X25519 stanza per recipient (age1...).
 * `ephemeralSecrets` fixes each stanza's only randomness (vectors); leave it out otherwise.
 */
export async function ageHeader(ageFileKey: Uint8Array, recipients: readonly string[], ephemeralSecrets?: readonly Uint8Array[]): Promise<Bytes> {
  if (ageFileKey.length !== 16) throw new RangeError("an age file key is 16 bytes");
  if (recipients.length === 0) throw new RangeError("an age header needs a recipient");
  let text = "";
  for (const [i, recipient] of recipients.entries()) {
    const pk = recipientFromString(recipient);
    const secret = ephemeralSecrets?.[i] ?? randomBytes(32);
    const share = x25519Base(secret);
    const shared = x25519(secret, pk);
    if (shared === null) throw new MalformedError("age recipient is a low-order point");
    const body = chachaSeal(await x25519WrapKey(shared, share, pk), new Uint8Array(12), ageFileKey);
    text += `-> X25519 ${b64(share)}\n${wrapLines(b64(body))}\n`;
  }
  return finishHeader(ageFileKey, text);
}

interface Stanza {
  type: string;
  args: string[];
  body: Bytes;
}

/** Split an age file into its stanzas, the MAC and the payload (`MalformedError`). */
function parseHeader(file: Uint8Array): { stanzas: Stanza[]; macInput: Bytes; mac: Bytes; payload: Bytes } {
  let at = 0;
  const line = (): string => {
    const end = file.indexOf(0x0a, at);
    if (end < 0) throw new MalformedError("age header: truncated");
    let text = "";
    for (const b of file.subarray(at, end)) {
      if (b < 0x20 || b > 0x7e) throw new MalformedError("age header: not printable ASCII");
      text += String.fromCharCode(b);
    }
    at = end + 1;
    return text;
  };
  if (line() !== VERSION_LINE) throw new MalformedError("not an age v1 file");
  const stanzas: Stanza[] = [];
  for (;;) {
    const start = at;
    const first = line();
    if (first.startsWith("--- ")) {
      const macInput = file.slice(0, start + 3);
      return { stanzas, macInput, mac: unb64(first.slice(4)), payload: file.slice(at) };
    }
    const parts = first.split(" ");
    if (parts[0] !== "->" || parts.length < 2 || parts.some((p) => p.length === 0)) throw new MalformedError("age header: bad stanza");
    let body = "";
    for (;;) {
      const next = line();
      if (next.length > COLUMNS) throw new MalformedError("age header: stanza line too long");
      body += next;
      if (next.length < COLUMNS) break;
    }
    stanzas.push({ type: parts[1] as string, args: parts.slice(2), body: unb64(body) });
  }
}

/**
 * Decrypt an age file with an X25519 identity (AGE-SECRET-KEY-1...): find the stanza that opens,
 * check the header MAC, and decrypt the payload (`IntegrityError`, `MalformedError`).
 */
export async function decryptAgeFile(file: Uint8Array, identity: string): Promise<{ plaintext: Bytes; digest: PayloadDigest; header: Bytes }> {
  const secret = identityFromString(identity);
  const ours = x25519Base(secret);
  const { stanzas, macInput, mac, payload } = parseHeader(file);
  let ageFileKey: Bytes | null = null;
  for (const stanza of stanzas) {
    if (stanza.type === "scrypt" && stanzas.length > 1) throw new MalformedError("age header: scrypt stanza not alone");
    if (stanza.type !== "X25519") continue;
    const [arg] = stanza.args;
    if (stanza.args.length !== 1 || arg === undefined || stanza.body.length !== 32) throw new MalformedError("age header: bad X25519 stanza");
    const share = unb64(arg);
    if (share.length !== 32) throw new MalformedError("age header: bad X25519 stanza");
    const shared = x25519(secret, share);
    if (shared === null) throw new MalformedError("age header: low-order X25519 share");
    const key = chachaOpen(await x25519WrapKey(shared, share, ours), new Uint8Array(12), stanza.body);
    if (key !== null && key.length === 16) {
      ageFileKey = key;
      break;
    }
  }
  if (ageFileKey === null) throw new IntegrityError("age file: no stanza for this identity");
  if (!equal(hmacSha256(await macKey(ageFileKey), macInput), mac)) throw new IntegrityError("age file: header MAC does not verify");
  const { plaintext, digest } = await decryptPayload(ageFileKey, payload);
  return { plaintext, digest, header: copy(file.subarray(0, file.length - payload.length)) };
}
