/**
 * The primitives of the one algorithm suite (docs/format.md section 1), from three sources:
 * libsodium (the same C library as the Python client's PyNaCl) for Argon2id, X25519, Ed25519,
 * sealed boxes and the two AEADs; hash-wasm for BLAKE3; Web Crypto for HKDF and SHA-2.
 *
 * Call `ready()` once before anything else; the synchronous functions throw until then.
 */

import sodiumModule from "libsodium-wrappers-sumo";
import { createBLAKE3, type IHasher } from "hash-wasm";

import { ascii, concat, copy, type Bytes } from "./bytes.js";

type Sodium = typeof sodiumModule;

let sodium: Sodium | undefined;

export async function ready(): Promise<void> {
  if (sodium === undefined) {
    await sodiumModule.ready;
    sodium = sodiumModule;
  }
}

function na(): Sodium {
  if (sodium === undefined) throw new Error("vault: call ready() before using the crypto");
  return sodium;
}

/** The libsodium version string (for the page that shows it loaded). */
export function sodiumVersion(): string {
  return na().sodium_version_string();
}

function subtle(): SubtleCrypto {
  const s = globalThis.crypto?.subtle;
  if (s === undefined) throw new Error("vault: Web Crypto (crypto.subtle) is not available");
  return s;
}

/** Bytes from the platform's CSPRNG (Web Crypto; libsodium's own calls it a few bytes at a time). */
export function randomBytes(size: number): Bytes {
  const out = new Uint8Array(size);
  const random = globalThis.crypto;
  if (random?.getRandomValues === undefined) throw new Error("vault: no secure random source (crypto.getRandomValues)");
  for (let at = 0; at < size; at += 65536) random.getRandomValues(out.subarray(at, Math.min(size, at + 65536)));
  return out;
}

// -- hashes --------------------------------------------------------------------------------

export async function sha256(data: Uint8Array): Promise<Bytes> {
  return new Uint8Array(await subtle().digest("SHA-256", copy(data)));
}

export async function sha512(data: Uint8Array): Promise<Bytes> {
  return new Uint8Array(await subtle().digest("SHA-512", copy(data)));
}

/** An incremental BLAKE3 (default hash mode, 32-byte output). */
export class Blake3 {
  private constructor(private readonly hasher: IHasher) {}

  static async create(): Promise<Blake3> {
    const hasher = await createBLAKE3(256);
    hasher.init();
    return new Blake3(hasher);
  }

  update(data: Uint8Array): void {
    this.hasher.update(data);
  }

  digest(): Bytes {
    return copy(this.hasher.digest("binary"));
  }
}

/**
 * One hasher for every one-shot hash: creating one instantiates WebAssembly (about 0.3 ms in
 * Node, more in a busy browser), which dominated verifying a long message chain. Safe to share:
 * init, update and digest run without an await between them.
 */
let oneShot: Promise<IHasher> | null = null;

export async function blake3(data: Uint8Array): Promise<Bytes> {
  const hasher = await (oneShot ??= createBLAKE3(256));
  hasher.init();
  hasher.update(data);
  return copy(hasher.digest("binary"));
}

// -- key derivation --------------------------------------------------------------------------

/** HKDF-SHA256 (RFC 5869). An empty salt is the same as 32 zero bytes. */
export async function hkdfSha256(
  ikm: Uint8Array,
  salt: Uint8Array,
  info: Uint8Array,
  length: number,
): Promise<Bytes> {
  const key = await subtle().importKey("raw", copy(ikm), "HKDF", false, ["deriveBits"]);
  const bits = await subtle().deriveBits(
    { name: "HKDF", hash: "SHA-256", salt: copy(salt), info: copy(info) },
    key,
    length * 8,
  );
  return new Uint8Array(bits);
}

/** derive(K, label, context, L) of section 1: HKDF-SHA256, empty salt, info label || 0x00 || context. */
export async function derive(
  key: Uint8Array,
  label: string,
  context: Uint8Array = new Uint8Array(0),
  length = 32,
): Promise<Bytes> {
  return hkdfSha256(key, new Uint8Array(0), concat(ascii(label), Uint8Array.of(0), context), length);
}

/** HMAC-SHA256 (the age header MAC). */
export function hmacSha256(key: Uint8Array, message: Uint8Array): Bytes {
  const s = na();
  const state = s.crypto_auth_hmacsha256_init(key);
  s.crypto_auth_hmacsha256_update(state, message);
  return copy(s.crypto_auth_hmacsha256_final(state));
}

/** Argon2id version 0x13 with parallelism 1 (libsodium's crypto_pwhash). */
export function argon2id(
  password: Uint8Array,
  salt: Uint8Array,
  iterations: number,
  memoryKib: number,
  length = 32,
): Bytes {
  const s = na();
  return copy(
    s.crypto_pwhash(length, password, salt, iterations, memoryKib * 1024, s.crypto_pwhash_ALG_ARGON2ID13),
  );
}

/**
 * Grow libsodium's heap to what Argon2id at `memoryKib` needs, with one pass of it. The first
 * derivation in a fresh worker otherwise spends a large part of its time growing the WebAssembly
 * memory; the worker does this while the person types the passphrase, so logging in does not.
 * The result is thrown away.
 */
export function warmArgon2id(memoryKib: number): void {
  const s = na();
  s.crypto_pwhash(16, new Uint8Array(1), new Uint8Array(s.crypto_pwhash_SALTBYTES), 1, memoryKib * 1024, s.crypto_pwhash_ALG_ARGON2ID13);
}

// -- AEADs -------------------------------------------------------------------------------------

/** XChaCha20-Poly1305 (IETF); returns ciphertext with tag. */
export function xchachaSeal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, ad: Uint8Array): Bytes {
  return copy(na().crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, ad, null, nonce, key));
}

/** XChaCha20-Poly1305 (IETF); null when the tag does not verify. */
export function xchachaOpen(key: Uint8Array, nonce: Uint8Array, ciphertext: Uint8Array, ad: Uint8Array): Bytes | null {
  if (ciphertext.length < 16) return null;
  try {
    return copy(na().crypto_aead_xchacha20poly1305_ietf_decrypt(null, ciphertext, ad, nonce, key));
  } catch {
    return null;
  }
}

/** ChaCha20-Poly1305 (IETF, 12-byte nonce), no associated data: the age STREAM and stanzas. */
export function chachaSeal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array): Bytes {
  return copy(na().crypto_aead_chacha20poly1305_ietf_encrypt(plaintext, null, null, nonce, key));
}

export function chachaOpen(key: Uint8Array, nonce: Uint8Array, ciphertext: Uint8Array): Bytes | null {
  if (ciphertext.length < 16) return null;
  try {
    return copy(na().crypto_aead_chacha20poly1305_ietf_decrypt(null, ciphertext, null, nonce, key));
  } catch {
    return null;
  }
}

// -- public-key ------------------------------------------------------------------------------

export interface SigningKeyPair {
  /** The 32-byte Ed25519 public key. */
  publicKey: Bytes;
  /** libsodium's 64-byte secret key (seed || public key). */
  secretKey: Bytes;
}

export function signingKeyPair(seed: Uint8Array): SigningKeyPair {
  const pair = na().crypto_sign_seed_keypair(seed);
  return { publicKey: copy(pair.publicKey), secretKey: copy(pair.privateKey) };
}

/** Pure Ed25519 (RFC 8032) over `message`. */
export function ed25519Sign(secretKey: Uint8Array, message: Uint8Array): Bytes {
  return copy(na().crypto_sign_detached(message, secretKey));
}

export function ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  try {
    return na().crypto_sign_verify_detached(signature, message, publicKey);
  } catch {
    return false;
  }
}

/** X25519 public key of a secret. */
export function x25519Base(secret: Uint8Array): Bytes {
  return copy(na().crypto_scalarmult_base(secret));
}

/** X25519 shared secret; null for an all-zero result (a low-order point). */
export function x25519(secret: Uint8Array, publicKey: Uint8Array): Bytes | null {
  try {
    return copy(na().crypto_scalarmult(secret, publicKey));
  } catch {
    return null;
  }
}

/** libsodium's crypto_box_seal to an X25519 public key. */
export function boxSeal(message: Uint8Array, publicKey: Uint8Array): Bytes {
  return copy(na().crypto_box_seal(message, publicKey));
}

/** crypto_box_seal_open; null when it does not open. */
export function boxSealOpen(sealed: Uint8Array, publicKey: Uint8Array, secretKey: Uint8Array): Bytes | null {
  if (sealed.length < 48) return null;
  try {
    return copy(na().crypto_box_seal_open(sealed, publicKey, secretKey));
  } catch {
    return null;
  }
}

// -- the edwards25519 group (the VRF of the transparency log) ----------------------------------

/** libsodium's point operations on 32-byte encodings; null where libsodium refuses an input. */
export interface Ed25519Group {
  /** p + q for any points on the curve (null if one does not decode). */
  add(p: Uint8Array, q: Uint8Array): Bytes | null;
  sub(p: Uint8Array, q: Uint8Array): Bytes | null;
  /** Canonical, of the prime-order subgroup and not of small order. */
  isValidPoint(p: Uint8Array): boolean;
  /** n * p (n not clamped) for p of the prime-order subgroup and n not a multiple of the order. */
  scalarmult(n: Uint8Array, p: Uint8Array): Bytes;
  /** n * B (n not clamped, not a multiple of the order). */
  scalarmultBase(n: Uint8Array): Bytes;
}

function orNull(f: () => Uint8Array): Bytes | null {
  try {
    return copy(f());
  } catch {
    return null;
  }
}

const group: Ed25519Group = {
  add: (p, q) => orNull(() => na().crypto_core_ed25519_add(p, q)),
  sub: (p, q) => orNull(() => na().crypto_core_ed25519_sub(p, q)),
  isValidPoint: (p) => p.length === 32 && na().crypto_core_ed25519_is_valid_point(p),
  scalarmult: (n, p) => copy(na().crypto_scalarmult_ed25519_noclamp(n, p)),
  scalarmultBase: (n) => copy(na().crypto_scalarmult_ed25519_base_noclamp(n)),
};

export function ed25519Group(): Ed25519Group {
  na();
  return group;
}
