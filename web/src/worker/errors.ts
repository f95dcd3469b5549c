/**
 * The client's own errors, on top of the vault's (../vault/errors.ts), as client_sdk/errors.py
 * has them. Two families, because the page treats them differently:
 *
 *     VaultError
 *     ├── SecurityError ............. the full-page "Veiligheidscontrole mislukt": fail closed
 *     │   ├── IntegrityError
 *     │   │   ├── TamperedLogError          the access log's chain is broken or rewritten
 *     │   │   └── WithheldDocumentError     the server hides a document the signed index lists
 *     │   └── KeyMismatchError
 *     │       ├── UnverifiedKeyError        an account's keys are not the ones this device may
 *     │       │                             trust: a pinned contact's keys changed, another
 *     │       │                             user's record given for a name or id (K2)
 *     │       └── WithheldKeyError          the server shows none of my own grants of a dossier
 *     │                                     I own, so there is no key to share (K3)
 *     ├── WrongPassphrase, InvalidRecoveryCode, ExpiredError ........ a message on the form
 *     └── ClientError ................................................ a message on the form
 *         ├── ApiError                      the server answered with a problem (RFC 9457)
 *         ├── ServerUnreachable             no answer
 *         ├── UnconfirmedVersionError       a version the owner has not confirmed
 *         └── TooLarge                      a file above what the browser can upload yet
 */

import { IntegrityError, KeyMismatchError, VaultError } from "../vault/errors.js";

/** A user-level failure: the request could not be done, but nothing was tampered with. */
export class ClientError extends VaultError {}

/** The server answered with an RFC 9457 problem. `code` is its stable code. */
export class ApiError extends ClientError {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class ServerUnreachable extends ClientError {}

/** A version the dossier owner has not confirmed, asked for without `unconfirmed`. */
export class UnconfirmedVersionError extends ClientError {}

/** A file larger than this browser may upload in one piece (until the part-upload API). */
export class TooLarge extends ClientError {}

export class TamperedLogError extends IntegrityError {}

export class WithheldDocumentError extends IntegrityError {}

export class UnverifiedKeyError extends KeyMismatchError {}

export class WithheldKeyError extends KeyMismatchError {}

export const CLIENT_ERRORS = {
  ClientError,
  ApiError,
  ServerUnreachable,
  UnconfirmedVersionError,
  TooLarge,
  TamperedLogError,
  WithheldDocumentError,
  UnverifiedKeyError,
  WithheldKeyError,
} as const;

export type ClientErrorName = keyof typeof CLIENT_ERRORS;
