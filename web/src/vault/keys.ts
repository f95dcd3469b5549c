/**
 * Identity records, fingerprints and private keys (docs/format.md sections 3 and 4).
 */

import { ascii, atLeastOne, concat, copy, Reader, u32, vbytes, type Bytes } from "./bytes.js";
import { ed25519Sign, ed25519Verify, sha512, signingKeyPair, x25519Base } from "./crypto.js";
import { MalformedError, SignatureError } from "./errors.js";
import { FINGERPRINT, IDENTITY_SIGNATURE } from "./labels.js";

export const ID_SIZE = 16;
export const KEY_SIZE = 32;
export const SIGNATURE_SIZE = 64;
export const PRIVATE_KEYS_SIZE = 96;
export const USERNAME_MAX = 64;
const USERNAME = /^[a-z0-9][a-z0-9._-]*$/;

/** Sign(sk, label, body) of section 1: Ed25519 over label || 0x00 || body. */
export function signWithLabel(secretKey: Uint8Array, label: string, body: Uint8Array): Bytes {
  return ed25519Sign(secretKey, concat(ascii(label), Uint8Array.of(0), body));
}

export function verifyWithLabel(publicKey: Uint8Array, label: string, body: Uint8Array, signature: Uint8Array): boolean {
  return ed25519Verify(publicKey, concat(ascii(label), Uint8Array.of(0), body), signature);
}

/** Split a signed structure into its body and the 64-byte signature at its end. */
export function splitSigned(data: Uint8Array): { body: Bytes; signature: Bytes } {
  return { body: data.slice(0, data.length - SIGNATURE_SIZE), signature: data.slice(data.length - SIGNATURE_SIZE) };
}

export function isValidUsername(name: string): boolean {
  return name.length >= 1 && name.length <= USERNAME_MAX && USERNAME.test(name);
}

// -- fingerprint -------------------------------------------------------------------------------

/** F = SHA-512("kluis/v1/fingerprint" || 0x00 || signing_key || box_key). */
export async function fingerprintDigest(signingKey: Uint8Array, boxKey: Uint8Array): Promise<Bytes> {
  return sha512(concat(ascii(FINGERPRINT), Uint8Array.of(0), signingKey, boxKey));
}

/** A fingerprint typed with any spacing, in its display form (vault/identity.py `normalise_fingerprint`). */
export function normaliseFingerprint(text: string): string {
  const digits = text.replace(/\s+/g, "");
  if (!/^[0-9]{60}$/.test(digits)) throw new MalformedError("a fingerprint is 60 digits (12 groups of 5)");
  return digits.match(/.{5}/g)?.join(" ") ?? "";
}

/** The display form: 12 groups of 5 digits, F[5i:5i+5] as a 40-bit integer modulo 100000. */
export function formatFingerprint(digest: Uint8Array): string {
  const groups: string[] = [];
  for (let i = 0; i < 12; i++) {
    let value = 0n;
    for (const b of digest.slice(5 * i, 5 * i + 5)) value = (value << 8n) | BigInt(b);
    groups.push((value % 100000n).toString().padStart(5, "0"));
  }
  return groups.join(" ");
}

// -- identity record ---------------------------------------------------------------------------

export interface Identity {
  userId: Bytes;
  keyVersion: number;
  username: string;
  signingKey: Bytes;
  boxKey: Bytes;
  signature: Bytes;
  /** The record's bytes, exactly as decoded or encoded. */
  encoded: Bytes;
  /** F of the fingerprint and its binary form F[0:32]. */
  fingerprintDigest: Bytes;
  keyId: Bytes;
  fingerprint: string;
}

const MAGIC = "KLID";
const WHAT = "identity record";

function identityBody(userId: Uint8Array, keyVersion: number, username: string, signingKey: Uint8Array, boxKey: Uint8Array): Bytes {
  return concat(ascii(MAGIC), Uint8Array.of(1), userId, u32(keyVersion), vbytes(ascii(username)), signingKey, boxKey);
}

/** Parse an identity record without checking its signature (`MalformedError`). */
export function parseIdentity(data: Uint8Array): Omit<Identity, "fingerprintDigest" | "keyId" | "fingerprint"> {
  const r = new Reader(data, WHAT);
  r.header(MAGIC);
  const userId = r.bytes(ID_SIZE);
  const keyVersion = r.u32();
  const name = r.vbytes(USERNAME_MAX, "username");
  const signingKey = r.bytes(KEY_SIZE);
  const boxKey = r.bytes(KEY_SIZE);
  const signature = r.bytes(SIGNATURE_SIZE);
  r.end();
  atLeastOne(keyVersion, WHAT, "key_version");
  let username = "";
  for (const b of name) username += String.fromCharCode(b);
  if (!isValidUsername(username)) throw new MalformedError(`${WHAT}: not a valid username`);
  return { userId, keyVersion, username, signingKey, boxKey, signature, encoded: copy(data) };
}

async function withFingerprint(fields: Omit<Identity, "fingerprintDigest" | "keyId" | "fingerprint">): Promise<Identity> {
  const digest = await fingerprintDigest(fields.signingKey, fields.boxKey);
  return { ...fields, fingerprintDigest: digest, keyId: digest.slice(0, 32), fingerprint: formatFingerprint(digest) };
}

/** Decode an identity record and verify its self-signature (`MalformedError`, `SignatureError`). */
export async function decodeIdentity(data: Uint8Array): Promise<Identity> {
  const fields = parseIdentity(data);
  const { body, signature } = splitSigned(fields.encoded);
  if (!verifyWithLabel(fields.signingKey, IDENTITY_SIGNATURE, body, signature)) {
    throw new SignatureError(`${WHAT}: self-signature does not verify`);
  }
  return withFingerprint(fields);
}

/** Check a signature made by this identity (`SignatureError`). */
export function verifyBy(identity: Identity, label: string, body: Uint8Array, signature: Uint8Array, what: string): void {
  if (!verifyWithLabel(identity.signingKey, label, body, signature)) {
    throw new SignatureError(`${what}: signature does not verify`);
  }
}

// -- private keys ------------------------------------------------------------------------------

/** A user's (or an organisation epoch's) keys: PrivateKeys of section 4 and the public record. */
export interface PrivateIdentity {
  boxSecret: Bytes;
  signingSeed: Bytes;
  ageSecret: Bytes;
  /** libsodium's 64-byte Ed25519 secret key, from signingSeed. */
  signingSecretKey: Bytes;
  public: Identity;
}

export function privateKeysBytes(me: PrivateIdentity): Bytes {
  return concat(me.boxSecret, me.signingSeed, me.ageSecret);
}

export interface PublicKeys {
  signingKey: Bytes;
  boxKey: Bytes;
}

/** The public keys of a 96-byte PrivateKeys. */
export function publicKeysOf(privateKeys: Uint8Array): PublicKeys {
  if (privateKeys.length !== PRIVATE_KEYS_SIZE) throw new MalformedError("PrivateKeys are 96 bytes");
  return {
    boxKey: x25519Base(privateKeys.slice(0, 32)),
    signingKey: signingKeyPair(privateKeys.slice(32, 64)).publicKey,
  };
}

/** Build the private identity (and its signed identity record) from PrivateKeys and the record's fields. */
export async function privateIdentityFromKeys(
  userId: Uint8Array,
  username: string,
  keyVersion: number,
  privateKeys: Uint8Array,
): Promise<PrivateIdentity> {
  if (privateKeys.length !== PRIVATE_KEYS_SIZE) throw new MalformedError("PrivateKeys are 96 bytes");
  if (userId.length !== ID_SIZE) throw new RangeError("a user id is 16 bytes");
  if (!isValidUsername(username)) throw new RangeError("not a valid username");
  if (!Number.isInteger(keyVersion) || keyVersion < 1 || keyVersion > 0xffffffff) throw new RangeError("key version");
  const boxSecret = privateKeys.slice(0, 32);
  const signingSeed = privateKeys.slice(32, 64);
  const ageSecret = privateKeys.slice(64, 96);
  const pair = signingKeyPair(signingSeed);
  const boxKey = x25519Base(boxSecret);
  const body = identityBody(userId, keyVersion, username, pair.publicKey, boxKey);
  const signature = signWithLabel(pair.secretKey, IDENTITY_SIGNATURE, body);
  const encoded = concat(body, signature);
  const record = await withFingerprint({
    userId: copy(userId),
    keyVersion,
    username,
    signingKey: pair.publicKey,
    boxKey,
    signature,
    encoded,
  });
  return { boxSecret, signingSeed, ageSecret, signingSecretKey: pair.secretKey, public: record };
}
