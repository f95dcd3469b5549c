/**
 * The operator key and its verification statements (docs/format.md section 17.2).
 *
 *     OperatorKey := "KLOP" || 0x01 || origin vbytes (1..255) || key_version u32
 *                    signing_key bytes[32] || created_at u64
 *                    signature bytes[64] = Sign(signing key, "kluis/v1/operator-key", all before)
 *
 *     OperatorStatement := "KLOV" || 0x01 || origin vbytes (1..255) || operator_key bytes[32]
 *                    org_id bytes[16] || org_fingerprint bytes[32] || status u8 || stated_at u64
 *                    signature bytes[64] = Sign(operator key, "kluis/v1/operator-verification", all before)
 *
 * An OperatorKey is logged whole (entry kind 3), a statement by its hash (kind 4).
 */

import { atLeastOne, copy, equal, Reader, type Bytes } from "./bytes.js";
import { IntegrityError, KeyMismatchError, MalformedError, SignatureError } from "./errors.js";
import { ID_SIZE, KEY_SIZE, SIGNATURE_SIZE, verifyWithLabel } from "./keys.js";
import { OPERATOR_KEY_SIGNATURE, OPERATOR_VERIFICATION_SIGNATURE } from "./labels.js";

export const ORIGIN_MAX = 255;
export const STATUS_VERIFIED = 1;
export const STATUS_WITHDRAWN = 2;
export type Status = typeof STATUS_VERIFIED | typeof STATUS_WITHDRAWN;

const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** The origin field: 1-255 bytes of UTF-8 without U+0000-U+0020 or U+007F (`MalformedError`). */
function readOrigin(r: Reader, what: string): string {
  const raw = r.vbytes(ORIGIN_MAX, "origin");
  let origin: string;
  try {
    origin = UTF8.decode(raw);
  } catch {
    throw new MalformedError(`${what}: the origin is not UTF-8`);
  }
  if (origin.length === 0 || /[\u0000-\u0020\u007f]/.test(origin)) {
    throw new MalformedError(`${what}: an origin is 1-255 bytes without spaces or control characters`);
  }
  return origin;
}

// -- the operator key --------------------------------------------------------------------------

export interface OperatorKey {
  origin: string;
  keyVersion: number;
  signingKey: Bytes;
  createdAt: bigint;
  signature: Bytes;
  encoded: Bytes;
}

/** Parse an OperatorKey (`MalformedError`) and check its self-signature (`SignatureError`). */
export function decodeOperatorKey(data: Uint8Array): OperatorKey {
  const what = "operator key";
  const r = new Reader(data, what);
  r.header("KLOP");
  const origin = readOrigin(r, what);
  const keyVersion = r.u32();
  const signingKey = r.bytes(KEY_SIZE);
  const createdAt = r.u64();
  const body = r.consumed();
  const signature = r.bytes(SIGNATURE_SIZE);
  r.end();
  atLeastOne(keyVersion, what, "key_version");
  if (!verifyWithLabel(signingKey, OPERATOR_KEY_SIGNATURE, body, signature)) {
    throw new SignatureError(`${what}: self-signature does not verify`);
  }
  return { origin, keyVersion, signingKey, createdAt, signature, encoded: copy(data) };
}

// -- verification statements -------------------------------------------------------------------

export interface OperatorStatement {
  origin: string;
  operatorKey: Bytes;
  orgId: Bytes;
  orgFingerprint: Bytes;
  status: Status;
  statedAt: bigint;
  signature: Bytes;
  /** The bytes the signature covers. */
  body: Bytes;
}

/** Parse a statement (`MalformedError`); `verifyStatement` checks it. */
export function decodeStatement(data: Uint8Array): OperatorStatement {
  const what = "operator statement";
  const r = new Reader(data, what);
  r.header("KLOV");
  const origin = readOrigin(r, what);
  const operatorKey = r.bytes(KEY_SIZE);
  const orgId = r.bytes(ID_SIZE);
  const orgFingerprint = r.bytes(32);
  const status = r.u8();
  const statedAt = r.u64();
  const body = r.consumed();
  const signature = r.bytes(SIGNATURE_SIZE);
  r.end();
  if (status !== STATUS_VERIFIED && status !== STATUS_WITHDRAWN) throw new MalformedError(`${what}: unknown status ${status}`);
  return { origin, operatorKey, orgId, orgFingerprint, status, statedAt, signature, body };
}

export interface StatementExpectation {
  /** The OperatorKey the client found in the log. */
  operator: OperatorKey;
  /** The organisation asked about: its id and F_org[0:32] of its verified chain. */
  orgId: Uint8Array;
  orgFingerprint: Uint8Array;
}

/**
 * Verify a statement about an organisation, each failure stopping everything: parse
 * (`MalformedError`); the OperatorKey's origin (`IntegrityError`); its signing key
 * (`KeyMismatchError`); the signature (`SignatureError`); the organisation id
 * (`IntegrityError`); its fingerprint (`KeyMismatchError`: the operator vouched for other keys).
 */
export function verifyStatement(data: Uint8Array, expect: StatementExpectation): OperatorStatement {
  const statement = decodeStatement(data); // 1
  const what = "operator statement";
  if (statement.origin !== expect.operator.origin) throw new IntegrityError(`${what}: made for another deployment`); // 2
  if (!equal(statement.operatorKey, expect.operator.signingKey)) throw new KeyMismatchError(`${what}: signed by another operator key`); // 3
  if (!verifyWithLabel(expect.operator.signingKey, OPERATOR_VERIFICATION_SIGNATURE, statement.body, statement.signature)) {
    throw new SignatureError(`${what}: signature does not verify`); // 4
  }
  if (!equal(statement.orgId, expect.orgId)) throw new IntegrityError(`${what}: about another organisation`); // 5
  if (!equal(statement.orgFingerprint, expect.orgFingerprint)) {
    throw new KeyMismatchError(`${what}: the operator vouched for other keys than this organisation's`); // 6
  }
  return statement;
}
