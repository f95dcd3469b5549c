/**
 * The vault worker's request handler: the same function runs inside the Web Worker
 * (worker.ts) and in the Node tests, which call it directly.
 */

import { bundleKdfParams, openBundle, PURPOSE_PASSPHRASE } from "../vault/bundle.js";
import { copy, toHex, type Bytes } from "../vault/bytes.js";
import { blake3, randomBytes, ready, sha256, sodiumVersion } from "../vault/crypto.js";
import { ERRORS, VaultError, WrongPassphrase, type ErrorName } from "../vault/errors.js";
import { checkKdfParams, decodeKdfParams, kdfParamsEqual, passphraseKeys, type KdfParams } from "../vault/kdf.js";
import { decodeIdentity, type PrivateIdentity } from "../vault/keys.js";
import { ageFileKey, decryptPayload, encryptPayload, type PayloadDigest } from "../vault/payload.js";
import type { CallType, Calls, DigestInfo, Request, Response, WireError } from "./protocol.js";
import { CALL_TYPES } from "./protocol.js";

/** A failure the handler reports by name (not a vault error). */
export class ProtocolError extends Error {
  constructor(
    readonly wireName: "ProtocolError" | "NotLoggedIn",
    message: string,
  ) {
    super(message);
    this.name = wireName;
  }
}

interface Session {
  /** Between login steps 1 and 2. */
  pending: { bundleKey: Bytes; params: KdfParams } | null;
  me: PrivateIdentity | null;
  fileKeys: Map<string, Bytes>;
}

export interface Handled {
  response: Response;
  /** Buffers to transfer with the response (the page receives them; the worker loses them). */
  transfer: ArrayBuffer[];
}

function bytesField(value: unknown, field: string, size?: number): Bytes {
  if (!(value instanceof Uint8Array)) throw new ProtocolError("ProtocolError", `${field} must be a Uint8Array`);
  if (size !== undefined && value.length !== size) throw new ProtocolError("ProtocolError", `${field} must be ${size} bytes`);
  return copy(value);
}

function stringField(value: unknown, field: string): string {
  if (typeof value !== "string") throw new ProtocolError("ProtocolError", `${field} must be a string`);
  return value;
}

function digestInfo(d: PayloadDigest): DigestInfo {
  return { size: d.size, blake3: d.blake3, plaintextSize: d.plaintextSize };
}

function toWireError(error: unknown): WireError {
  if (error instanceof VaultError && Object.hasOwn(ERRORS, error.name)) return { name: error.name as ErrorName, message: error.message };
  if (error instanceof ProtocolError) return { name: error.wireName, message: error.message };
  // Anything else is a bug or a library failure: name it generically, never echo secrets.
  return { name: "Error", message: error instanceof Error ? error.message : "unexpected failure" };
}

/** A handler with its own session state (one per worker). */
export function createHandler(): (request: Request) => Promise<Handled> {
  const session: Session = { pending: null, me: null, fileKeys: new Map() };

  const requireMe = (): PrivateIdentity => {
    if (session.me === null) throw new ProtocolError("NotLoggedIn", "log in first");
    return session.me;
  };

  const calls: { [K in CallType]: (r: Extract<Request, { type: K }>) => Promise<{ result: Calls[K]["result"]; transfer?: ArrayBuffer[] }> } = {
    async init() {
      await ready();
      // Known answers: BLAKE3 of nothing, and SHA-256 (Web Crypto) of nothing.
      const checks = [
        [toHex(await blake3(new Uint8Array(0))), "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"],
        [toHex(await sha256(new Uint8Array(0))), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"],
      ];
      if (checks.some(([got, want]) => got !== want)) throw new Error("a hash function gave a wrong answer");
      return { result: { sodiumVersion: sodiumVersion() } };
    },

    async deriveLoginKey(r) {
      const params = decodeKdfParams(bytesField(r.kdfParams, "kdfParams"));
      const previous = r.previousKdfParams == null ? null : decodeKdfParams(bytesField(r.previousKdfParams, "previousKdfParams"));
      checkKdfParams(params, previous);
      const passphrase = stringField(r.passphrase, "passphrase");
      if (passphrase.length === 0) throw new ProtocolError("ProtocolError", "the passphrase must not be empty");
      const keys = await passphraseKeys(passphrase, params, previous);
      session.pending = { bundleKey: keys.bundleKey, params };
      session.me = null;
      return { result: { authKey: keys.authKey } };
    },

    async unlockBundle(r) {
      const pending = session.pending;
      if (pending === null) throw new ProtocolError("ProtocolError", "derive the login key first");
      const bundle = bytesField(r.bundle, "bundle");
      // The bundle names the parameters it was sealed with; they are the ones derived with, or
      // the bundle key cannot open it (and the policy applies to them as to any).
      const inside = bundleKdfParams(bundle);
      checkKdfParams(inside);
      if (!kdfParamsEqual(inside, pending.params)) throw new WrongPassphrase("the passphrase does not open the key bundle");
      const me = await openBundle(bundle, pending.bundleKey, {
        purpose: PURPOSE_PASSPHRASE,
        userId: bytesField(r.userId, "userId", 16),
        keyVersion: r.keyVersion,
        username: stringField(r.username, "username"),
        pinned: await decodeIdentity(bytesField(r.pinnedIdentity, "pinnedIdentity")),
      });
      session.pending = null;
      session.me = me;
      const id = me.public;
      return {
        result: {
          identity: { userId: toHex(id.userId), username: id.username, keyVersion: id.keyVersion, keyId: toHex(id.keyId), fingerprint: id.fingerprint },
        },
      };
    },

    async sealPayload(r) {
      requireMe();
      const fileKey = randomBytes(32);
      const { payload, digest } = await encryptPayload(await ageFileKey(fileKey), bytesField(r.plaintext, "plaintext"));
      const fileKeyRef = toHex(randomBytes(16));
      session.fileKeys.set(fileKeyRef, fileKey);
      return { result: { payload, fileKeyRef, digest: digestInfo(digest) }, transfer: [payload.buffer] };
    },

    async openPayload(r) {
      requireMe();
      const fileKey = session.fileKeys.get(stringField(r.fileKeyRef, "fileKeyRef"));
      if (fileKey === undefined) throw new ProtocolError("ProtocolError", "no file key with that reference");
      const { plaintext, digest } = await decryptPayload(await ageFileKey(fileKey), bytesField(r.payload, "payload"));
      return { result: { plaintext, digest: digestInfo(digest) }, transfer: [plaintext.buffer] };
    },

    async logout() {
      for (const key of session.fileKeys.values()) key.fill(0);
      session.fileKeys.clear();
      if (session.pending) session.pending.bundleKey.fill(0);
      if (session.me) for (const k of [session.me.boxSecret, session.me.signingSeed, session.me.ageSecret, session.me.signingSecretKey]) k.fill(0);
      session.pending = null;
      session.me = null;
      return { result: {} };
    },
  };

  return async (request: Request): Promise<Handled> => {
    const type = (request as { type?: unknown } | null)?.type;
    if (typeof type !== "string" || !(CALL_TYPES as readonly string[]).includes(type)) {
      return { response: { type: "unknown", ok: false, error: { name: "ProtocolError", message: "unknown request type" } }, transfer: [] };
    }
    const known = type as CallType;
    try {
      await ready();
      const call = calls[known] as (r: Request) => Promise<{ result: unknown; transfer?: ArrayBuffer[] }>;
      const { result, transfer } = await call(request);
      return { response: { type: known, ok: true, result } as Response, transfer: transfer ?? [] };
    } catch (error) {
      return { response: { type: known, ok: false, error: toWireError(error) }, transfer: [] };
    }
  };
}
