/**
 * ECVRF-EDWARDS25519-SHA512-TAI (RFC 9381 sections 5.1-5.4, suite string 0x03;
 * docs/format.md section 17.1): the verifiable random function whose output labels a name in
 * the key transparency log.
 *
 * The curve arithmetic is libsodium's. `crypto_core_ed25519_add` accepts any point on the
 * curve; libsodium's scalar multiplication only points of the prime-order subgroup, so public
 * points outside it (a key or Gamma with a small-order component, a hash-to-curve candidate)
 * are multiplied by repeated addition. Nothing secret passes there: the client only verifies.
 */

import { concat, equal, type Bytes } from "./bytes.js";
import { ed25519Group as core, sha512, signingKeyPair } from "./crypto.js";
import { MalformedError, SignatureError } from "./errors.js";

export const PUBLIC_KEY_SIZE = 32;
export const PROOF_SIZE = 80; // Gamma (32) || c (16) || s (32)
export const OUTPUT_SIZE = 64;

const SUITE = 0x03;
const POINT_SIZE = 32;
const CHALLENGE_SIZE = 16;
/** The prime order of the subgroup. */
const Q = (1n << 252n) + 27742317777372353535851937790883648493n;
const IDENTITY: Bytes = (() => {
  const out = new Uint8Array(POINT_SIZE);
  out[0] = 1;
  return out;
})();

// Domain separators of RFC 9381 section 5.4.
const ENCODE_TO_CURVE_FRONT = 0x01;
const CHALLENGE_FRONT = 0x02;
const PROOF_TO_HASH_FRONT = 0x03;
const BACK = 0x00;

// -- integers and points -----------------------------------------------------------------------

function fromLittleEndian(data: Uint8Array): bigint {
  let value = 0n;
  for (let i = data.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(data[i] as number);
  return value;
}

function toLittleEndian(value: bigint, size: number): Bytes {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++, value >>= 8n) out[i] = Number(value & 0xffn);
  return out;
}

/**
 * string_to_point: RFC 8032 5.1.3 decoding, canonical (y < p, and not the sign bit set for
 * x = 0). libsodium decodes y modulo p and keeps x = 0 whatever the sign bit, and always
 * encodes canonically, so an encoding is canonical exactly when it comes back unchanged.
 * Null for INVALID.
 */
function decodePoint(data: Uint8Array): Bytes | null {
  if (data.length !== POINT_SIZE) return null;
  const encoded = core().add(data, IDENTITY); // decodes, or null if no x exists for y
  return encoded !== null && equal(encoded, data) ? encoded : null;
}

function add(a: Uint8Array, b: Uint8Array): Bytes {
  const out = core().add(a, b);
  if (out === null) throw new Error("vrf: not a point"); // every input here decoded before
  return out;
}

function timesCofactor(point: Uint8Array): Bytes {
  let out = Uint8Array.from(point);
  for (let i = 0; i < 3; i++) out = add(out, out);
  return out;
}

/** k * point for public k and any point on the curve. */
function multiply(k: bigint, point: Bytes): Bytes {
  if (core().isValidPoint(point)) {
    // Of the prime-order subgroup: libsodium multiplies it (and refuses a multiple of q).
    return k % Q === 0n ? IDENTITY : core().scalarmult(toLittleEndian(k % Q, 32), point);
  }
  let result = IDENTITY;
  let addend = point;
  for (; k > 0n; k >>= 1n) {
    if (k & 1n) result = add(result, addend);
    addend = add(addend, addend);
  }
  return result;
}

function multiplyBase(k: bigint): Bytes {
  return k % Q === 0n ? IDENTITY : core().scalarmultBase(toLittleEndian(k % Q, 32));
}

// -- the pieces of RFC 9381 section 5.4 ----------------------------------------------------------

/** 5.4.1.1 try-and-increment, with encode_to_curve_salt = the public key as given. */
async function encodeToCurve(salt: Uint8Array, alpha: Uint8Array): Promise<Bytes> {
  for (let ctr = 0; ctr < 256; ctr++) {
    const digest = await sha512(concat(Uint8Array.of(SUITE, ENCODE_TO_CURVE_FRONT), salt, alpha, Uint8Array.of(ctr, BACK)));
    const point = decodePoint(digest.subarray(0, POINT_SIZE));
    if (point === null) continue;
    const h = timesCofactor(point);
    if (!equal(h, IDENTITY)) return h;
  }
  throw new Error("ECVRF encode_to_curve: no point in 256 tries"); // probability about 2^-256
}

/** 5.4.3: the first 16 bytes of SHA-512(suite || 0x02 || the five points || 0x00). */
async function challenge(...points: Uint8Array[]): Promise<Bytes> {
  const digest = await sha512(concat(Uint8Array.of(SUITE, CHALLENGE_FRONT), ...points, Uint8Array.of(BACK)));
  return digest.slice(0, CHALLENGE_SIZE);
}

interface Proof {
  gamma: Bytes;
  c: bigint;
  s: bigint;
}

/** 5.4.4: Gamma, c and s; `MalformedError` for INVALID. */
function decodeProof(pi: Uint8Array): Proof {
  if (pi.length !== PROOF_SIZE) throw new MalformedError("VRF proof: not 80 bytes");
  const gamma = decodePoint(pi.subarray(0, POINT_SIZE));
  if (gamma === null) throw new MalformedError("VRF proof: Gamma is not a point");
  const c = fromLittleEndian(pi.subarray(POINT_SIZE, POINT_SIZE + CHALLENGE_SIZE));
  const s = fromLittleEndian(pi.subarray(POINT_SIZE + CHALLENGE_SIZE));
  if (s >= Q) throw new MalformedError("VRF proof: s is not below the group order");
  return { gamma, c, s };
}

// -- the VRF -----------------------------------------------------------------------------------

/** 5.2: the output beta of a proof (which this does not verify). */
export async function proofToHash(pi: Uint8Array): Promise<Bytes> {
  const { gamma } = decodeProof(pi);
  return sha512(concat(Uint8Array.of(SUITE, PROOF_TO_HASH_FRONT), timesCofactor(gamma), Uint8Array.of(BACK)));
}

/**
 * 5.3 with validate_key: beta, if `pi` proves it for `alpha` under `publicKey`.
 * `MalformedError` for a key that does not decode or has small order (5.4.5) and for a proof
 * that does not decode (5.4.4); `SignatureError` for a proof that does not verify.
 */
export async function verify(publicKey: Uint8Array, alpha: Uint8Array, pi: Uint8Array): Promise<Bytes> {
  const y = decodePoint(publicKey);
  if (y === null || equal(timesCofactor(y), IDENTITY)) throw new MalformedError("VRF public key: not a point of large order");
  const { gamma, c, s } = decodeProof(pi);
  const h = await encodeToCurve(y, alpha);
  const u = core().sub(multiplyBase(s), multiply(c, y));
  const v = core().sub(multiply(s, h), multiply(c, gamma));
  if (u === null || v === null) throw new Error("vrf: not a point");
  const expected = await challenge(y, h, gamma, u, v);
  if (!equal(expected, pi.subarray(POINT_SIZE, POINT_SIZE + CHALLENGE_SIZE))) throw new SignatureError("VRF proof does not verify");
  return proofToHash(pi);
}

// -- the prover: the server's side, here only to check the vectors' proofs. The client never holds
// a VRF secret key, and this arithmetic on the secret (bigint) is not constant-time. ----------

/** (x, SHA-512(SK)): the secret scalar of an Ed25519 secret key (seed), RFC 8032 5.1.5. */
async function secretScalar(secretKey: Uint8Array): Promise<{ x: bigint; digest: Bytes }> {
  if (secretKey.length !== 32) throw new RangeError("an ECVRF secret key is 32 bytes");
  const digest = await sha512(secretKey);
  const x = Uint8Array.from(digest.subarray(0, 32));
  x[0] = (x[0] as number) & 248;
  x[31] = ((x[31] as number) & 127) | 64;
  return { x: fromLittleEndian(x), digest };
}

/** Y = x * B, the Ed25519 public key of the secret key. */
export function publicKeyOf(secretKey: Uint8Array): Bytes {
  return signingKeyPair(secretKey).publicKey;
}

/** 5.1: the proof pi = Gamma || c || s of `alpha` (nonce of 5.4.2.2). */
export async function prove(secretKey: Uint8Array, alpha: Uint8Array): Promise<Bytes> {
  const { x, digest } = await secretScalar(secretKey);
  const y = multiplyBase(x);
  const h = await encodeToCurve(y, alpha);
  const gamma = multiply(x, h);
  const k = fromLittleEndian(await sha512(concat(digest.subarray(32), h))) % Q;
  const c = await challenge(y, h, gamma, multiplyBase(k), multiply(k, h));
  const s = (k + fromLittleEndian(c) * x) % Q;
  return concat(gamma, c, toLittleEndian(s, 32));
}
