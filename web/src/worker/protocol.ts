/**
 * The typed request/response protocol between the page and the vault worker.
 *
 * The worker owns every secret key: the passphrase's bundle key, the private identity and the
 * file keys it makes. The page sends requests and gets back only what may leave the worker:
 * the login key for the server (`authKey`), public identity data, ciphertext, and the plaintext
 * of what the user opens. File keys stay inside and are named by an opaque reference.
 *
 * Every message is structured-clone data (Uint8Array, bigint, strings, numbers), so it crosses
 * `postMessage` unchanged; large byte arrays are transferred, not copied.
 */

import type { ErrorName } from "../vault/errors.js";

export interface PublicIdentityInfo {
  userId: string;
  username: string;
  keyVersion: number;
  /** key_id in hex (docs/format.md section 3). */
  keyId: string;
  /** The 12 groups of 5 digits people compare (the "controlecode"). */
  fingerprint: string;
}

export interface DigestInfo {
  size: bigint;
  blake3: Uint8Array;
  plaintextSize: bigint;
}

/** Each call: what the page sends and what the worker answers. */
export interface Calls {
  /**
   * Load libsodium and BLAKE3 (both WebAssembly) and check each against a known answer; answers
   * which libsodium runs.
   */
  init: {
    request: Record<never, never>;
    result: { sodiumVersion: string };
  };
  /**
   * Login step 1: Argon2id over the passphrase with the KDF parameters the server's prelogin
   * returned (26-byte KdfParams), after the policy check against the strongest this device used
   * before. Answers the login key; the bundle key stays in the worker for step 2.
   */
  deriveLoginKey: {
    request: { passphrase: string; kdfParams: Uint8Array; previousKdfParams: Uint8Array | null };
    result: { authKey: Uint8Array };
  };
  /** Login step 2: open the key bundle the server returned; the keys stay in the worker. */
  unlockBundle: {
    request: { bundle: Uint8Array; userId: Uint8Array; keyVersion: number; username: string; pinnedIdentity: Uint8Array };
    result: { identity: PublicIdentityInfo };
  };
  /** Encrypt a document's content under a fresh file key (kept in the worker, named by `fileKeyRef`). */
  sealPayload: {
    request: { plaintext: Uint8Array };
    result: { payload: Uint8Array; fileKeyRef: string; digest: DigestInfo };
  };
  /** Decrypt a payload with a file key the worker holds. */
  openPayload: {
    request: { payload: Uint8Array; fileKeyRef: string };
    result: { plaintext: Uint8Array; digest: DigestInfo };
  };
  /** Forget every key. */
  logout: {
    request: Record<never, never>;
    result: Record<never, never>;
  };
}

export type CallType = keyof Calls;

/** A request: a discriminated union on `type`. */
export type Request = { [K in CallType]: { type: K } & Calls[K]["request"] }[CallType];
export type RequestOf<K extends CallType> = Extract<Request, { type: K }>;

/** The names an error can carry across the boundary: the vault's, and the protocol's own. */
export type WireErrorName = ErrorName | "ProtocolError" | "NotLoggedIn" | "Error";

export interface WireError {
  name: WireErrorName;
  message: string;
}

export type Response =
  | { [K in CallType]: { type: K; ok: true; result: Calls[K]["result"] } }[CallType]
  | { type: CallType | "unknown"; ok: false; error: WireError };

export type ResultOf<K extends CallType> = Calls[K]["result"];

/** What crosses postMessage: a request or response with the id that pairs them. */
export interface Envelope<T> {
  id: number;
  body: T;
}

export const CALL_TYPES: readonly CallType[] = ["init", "deriveLoginKey", "unlockBundle", "sealPayload", "openPayload", "logout"];
