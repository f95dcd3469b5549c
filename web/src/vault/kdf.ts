/**
 * Passphrase keys (docs/format.md section 2): KdfParams, the KDF policy, Argon2id and the two
 * keys derived from its output.
 */

import { concat, copy, equal, Reader, u32, u8, type Bytes } from "./bytes.js";
import { argon2id, derive } from "./crypto.js";
import { DowngradeError, MalformedError } from "./errors.js";
import { AUTH_KEY, BUNDLE_KEY } from "./labels.js";

export const ARGON2ID = 1;
export const SALT_SIZE = 16;
export const KDF_PARAMS_SIZE = 26;
export const DEFAULT_MEMORY_KIB = 65536;
export const DEFAULT_ITERATIONS = 3;
export const MIN_MEMORY_KIB = 65536;
export const MIN_ITERATIONS = 3;
export const MAX_MEMORY_KIB = 4194304;
export const MAX_ITERATIONS = 64;

export interface KdfParams {
  algorithm: number;
  memoryKib: number;
  iterations: number;
  parallelism: number;
  salt: Bytes;
}

export function encodeKdfParams(p: KdfParams): Bytes {
  if (p.salt.length !== SALT_SIZE) throw new MalformedError("KDF parameters: the salt must be 16 bytes");
  return concat(u8(p.algorithm), u32(p.memoryKib), u32(p.iterations), u8(p.parallelism), p.salt);
}

/** Read KdfParams from inside another structure. */
export function readKdfParams(reader: Reader): KdfParams {
  const algorithm = reader.u8();
  const memoryKib = reader.u32();
  const iterations = reader.u32();
  const parallelism = reader.u8();
  const salt = reader.bytes(SALT_SIZE);
  return { algorithm, memoryKib, iterations, parallelism, salt };
}

/** Decode exactly the 26 bytes of a KdfParams (`MalformedError` otherwise). */
export function decodeKdfParams(data: Uint8Array): KdfParams {
  const reader = new Reader(data, "KDF parameters");
  const params = readKdfParams(reader);
  reader.end();
  return params;
}

export function kdfParamsEqual(a: KdfParams, b: KdfParams): boolean {
  return (
    a.algorithm === b.algorithm &&
    a.memoryKib === b.memoryKib &&
    a.iterations === b.iterations &&
    a.parallelism === b.parallelism &&
    equal(a.salt, b.salt)
  );
}

/** Fresh parameters for a new account or passphrase: the defaults, never below `atLeast`. */
export function newKdfParams(salt: Uint8Array, atLeast?: KdfParams): KdfParams {
  return {
    algorithm: ARGON2ID,
    memoryKib: Math.max(DEFAULT_MEMORY_KIB, atLeast?.memoryKib ?? 0),
    iterations: Math.max(DEFAULT_ITERATIONS, atLeast?.iterations ?? 0),
    parallelism: 1,
    salt: copy(salt),
  };
}

/**
 * The policy of section 2 (threat L14), applied before any derivation: `DowngradeError` for
 * parameters this client may not use; `previous` is the strongest used before for this account.
 */
export function checkKdfParams(params: KdfParams, previous?: KdfParams | null): void {
  if (params.salt.length !== SALT_SIZE) throw new MalformedError("KDF parameters: the salt must be 16 bytes");
  if (params.algorithm !== ARGON2ID) throw new DowngradeError(`KDF algorithm ${params.algorithm} is not Argon2id (1)`);
  if (params.parallelism !== 1) throw new DowngradeError(`KDF parallelism ${params.parallelism} is not 1`);
  if (params.memoryKib < MIN_MEMORY_KIB) throw new DowngradeError(`KDF memory ${params.memoryKib} KiB is below ${MIN_MEMORY_KIB}`);
  if (params.iterations < MIN_ITERATIONS) throw new DowngradeError(`KDF iterations ${params.iterations} are below ${MIN_ITERATIONS}`);
  if (params.memoryKib > MAX_MEMORY_KIB) throw new DowngradeError(`KDF memory ${params.memoryKib} KiB is above ${MAX_MEMORY_KIB}`);
  if (params.iterations > MAX_ITERATIONS) throw new DowngradeError(`KDF iterations ${params.iterations} are above ${MAX_ITERATIONS}`);
  if (previous) {
    if (params.memoryKib < previous.memoryKib) throw new DowngradeError("KDF memory is lower than this account used before");
    if (params.iterations < previous.iterations) throw new DowngradeError("KDF iterations are lower than this account used before");
  }
}

/** P: the passphrase normalised to NFC and encoded as UTF-8. It must not be empty. */
export function passphraseBytes(passphrase: string): Bytes {
  if (passphrase.length === 0) throw new TypeError("the passphrase must not be empty");
  if (/[\uD800-\uDFFF]/u.test(passphrase)) throw new TypeError("the passphrase contains lone surrogates (not valid text)");
  return new TextEncoder().encode(passphrase.normalize("NFC"));
}

/** Argon2id of the passphrase, after the policy check. */
export function deriveMasterKey(passphrase: string, params: KdfParams, previous?: KdfParams | null): Bytes {
  checkKdfParams(params, previous);
  return argon2id(passphraseBytes(passphrase), params.salt, params.iterations, params.memoryKib);
}

export interface PassphraseKeys {
  params: KdfParams;
  /** Sent to the server to log in. */
  authKey: Bytes;
  /** Opens the purpose-1 key bundle; never leaves the client. */
  bundleKey: Bytes;
}

export async function passphraseKeysFromMaster(master: Uint8Array, params: KdfParams): Promise<PassphraseKeys> {
  if (master.length !== 32) throw new RangeError("a master key is 32 bytes");
  return {
    params,
    authKey: await derive(master, AUTH_KEY),
    bundleKey: await derive(master, BUNDLE_KEY),
  };
}

export async function passphraseKeys(passphrase: string, params: KdfParams, previous?: KdfParams | null): Promise<PassphraseKeys> {
  return passphraseKeysFromMaster(deriveMasterKey(passphrase, params, previous), params);
}
