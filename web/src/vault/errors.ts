/**
 * The one error tree of the format (docs/format.md, introduction and section 13).
 *
 * A decoder raises exactly these names; a test vector that expects one of them passes when the
 * decoder raises it or a subclass of it (MalformedError where IntegrityError is expected).
 * SecurityError and its subclasses mean someone tampered with data or keys: stop and show it.
 */

import type { PassphraseReason } from "./passphrase.js";

export class VaultError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Tampered data or keys: the caller must stop (fail closed). */
export class SecurityError extends VaultError {}

/** Authenticated data failed to verify: altered, truncated, reordered, swapped or spliced. */
export class IntegrityError extends SecurityError {}

/** Bytes that do not parse as the structure they claim to be. */
export class MalformedError extends IntegrityError {}

/** A signature does not verify under the key it names. */
export class SignatureError extends SecurityError {}

/** A key is not the one that was pinned, committed to, or addressed. */
export class KeyMismatchError extends SecurityError {}

/** A counter or version is older than one this client has already seen. */
export class RollbackError extends SecurityError {}

/** Parameters weaker than the policy floor or than what was used before. */
export class DowngradeError extends SecurityError {}

/** A grant whose expiry time has passed. */
export class ExpiredError extends VaultError {}

/** The passphrase or recovery code does not open the key bundle (or the bundle was altered). */
export class WrongPassphrase extends VaultError {}

/** A recovery code with an unknown word, a wrong number of words or a bad checksum. */
export class InvalidRecoveryCode extends VaultError {}

/**
 * A passphrase the rule of section 18 refuses to set (`passphrase.ts`). `reason` is the rule's
 * reason code ("too_short", "common", ...; null when the error crossed from the worker); the
 * message says it in plain words and never contains the passphrase.
 */
export class WeakPassphrase extends VaultError {
  readonly reason: PassphraseReason | null;

  constructor(message: string, reason: PassphraseReason | null = null) {
    super(message);
    this.reason = reason;
  }
}

/** The error classes by the names the vectors and docs/format.md section 13 use. */
export const ERRORS = {
  VaultError,
  SecurityError,
  IntegrityError,
  MalformedError,
  SignatureError,
  KeyMismatchError,
  RollbackError,
  DowngradeError,
  ExpiredError,
  WrongPassphrase,
  InvalidRecoveryCode,
  WeakPassphrase,
} as const;

export type ErrorName = keyof typeof ERRORS;
