/**
 * Entries of the key transparency log and the labels that name their subjects
 * (docs/format.md section 17.1).
 *
 *     LogEntry := "KLKT" || 0x01 || kind u8 || ...
 *       kind 1 identity record:        label bytes[32] || key_version u32 || record_hash bytes[32]
 *       kind 2 organisation epoch:     label bytes[32] || epoch u32       || record_hash bytes[32]
 *       kind 3 operator key:           record vbytes (at most 512: an OperatorKey)
 *       kind 4 verification statement: label bytes[32] || statement_hash bytes[32]
 *     LogEntry := "KLKT" || 0x02 || kind u8 || ...
 *       kind 5 commitment:             commitment bytes[32]   (a document version's, evidence.ts)
 *
 * Kinds 1-4 are written as format version 1 and kind 5 only as version 2 (section 20).
 * record_hash and statement_hash are BLAKE3-256 of the record as published. The label of a name
 * is the first 32 bytes of the ECVRF output of "kluis/v1/kt-label" || 0x00 || namespace || name.
 */

import { ascii, concat, Reader, u32, u8, vbytes, type Bytes } from "./bytes.js";
import { blake3 } from "./crypto.js";
import { MalformedError } from "./errors.js";
import { isValidUsername } from "./keys.js";
import { KT_LABEL } from "./labels.js";
import { decodeOperatorKey } from "./operator.js";
import { verify as vrfVerify } from "./vrf.js";

export const KIND_IDENTITY = 1;
export const KIND_ORGANISATION = 2;
export const KIND_OPERATOR_KEY = 3;
export const KIND_VERIFICATION = 4;
export const KIND_COMMITMENT = 5;
export type EntryKind =
  | typeof KIND_IDENTITY
  | typeof KIND_ORGANISATION
  | typeof KIND_OPERATOR_KEY
  | typeof KIND_VERIFICATION
  | typeof KIND_COMMITMENT;

export const NAMESPACE_USER = 1;
export const NAMESPACE_ORGANISATION = 2;
export type Namespace = typeof NAMESPACE_USER | typeof NAMESPACE_ORGANISATION;

export const LABEL_SIZE = 32;
export const OPERATOR_KEY_MAX = 512;
const MAGIC = "KLKT";
const COMMITMENT_VERSION = 2;
const WHAT = "log entry";

/**
 * One entry: `label` is null for kind 3, `version` 0 for kinds 3 and 4, `digest` the record (or
 * statement) hash for kinds 1, 2 and 4, `record` the OperatorKey for kind 3.
 */
export interface LogEntry {
  kind: EntryKind;
  label: Bytes | null;
  version: number;
  digest: Bytes | null;
  record: Bytes | null;
}

/** BLAKE3-256 of a record or statement exactly as published. */
export async function recordDigest(data: Uint8Array): Promise<Bytes> {
  return blake3(data);
}

// -- labels ------------------------------------------------------------------------------------

/** The VRF input (alpha) whose output labels `name` in `namespace` (`MalformedError` for a bad name). */
export function labelInput(namespace: Namespace, name: string): Bytes {
  if (namespace !== NAMESPACE_USER && namespace !== NAMESPACE_ORGANISATION) throw new RangeError("a label namespace is 1 or 2");
  if (!isValidUsername(name)) throw new MalformedError(`not a valid name: ${JSON.stringify(name)}`);
  return concat(ascii(KT_LABEL), Uint8Array.of(0, namespace), ascii(name));
}

/** The label of `name`, if `proof` proves it under the log's VRF key (`MalformedError`, `SignatureError`). */
export async function verifyLabel(vrfKey: Uint8Array, namespace: Namespace, name: string, proof: Uint8Array): Promise<Bytes> {
  const beta = await vrfVerify(vrfKey, labelInput(namespace, name), proof);
  return beta.slice(0, LABEL_SIZE);
}

// -- entries -----------------------------------------------------------------------------------

function checked(kind: EntryKind, label: Uint8Array | null, version: number, digest: Bytes | null, record: Bytes | null): LogEntry {
  if (label !== null && label.length !== LABEL_SIZE) throw new RangeError("a label is 32 bytes");
  if ((kind === KIND_IDENTITY || kind === KIND_ORGANISATION) && !(Number.isInteger(version) && version >= 1 && version <= 0xffffffff)) {
    throw new RangeError("a key version or epoch is from 1 to 2^32 - 1");
  }
  return { kind, label: label === null ? null : Uint8Array.from(label), version, digest, record };
}

/** The entry of an identity record (its key version is the record's). */
export async function identityEntry(label: Uint8Array, keyVersion: number, record: Uint8Array): Promise<LogEntry> {
  return checked(KIND_IDENTITY, label, keyVersion, await recordDigest(record), null);
}

/** The entry of an OrgKeys record (its epoch is the record's). */
export async function organisationEntry(label: Uint8Array, epoch: number, record: Uint8Array): Promise<LogEntry> {
  return checked(KIND_ORGANISATION, label, epoch, await recordDigest(record), null);
}

/** The entry of an OperatorKey, logged whole (which must decode and verify). */
export function operatorKeyEntry(record: Uint8Array): LogEntry {
  if (record.length > OPERATOR_KEY_MAX) throw new RangeError("an OperatorKey in an entry is at most 512 bytes");
  decodeOperatorKey(record);
  return checked(KIND_OPERATOR_KEY, null, 0, null, Uint8Array.from(record));
}

/** The entry of a verification statement, under its organisation's label. */
export async function verificationEntry(label: Uint8Array, statement: Uint8Array): Promise<LogEntry> {
  return checked(KIND_VERIFICATION, label, 0, await recordDigest(statement), null);
}

/** The entry of a document version's evidence commitment (32 bytes). */
export function commitmentEntry(commitment: Uint8Array): LogEntry {
  if (commitment.length !== 32) throw new RangeError("a commitment is 32 bytes");
  return { kind: KIND_COMMITMENT, label: null, version: 0, digest: Uint8Array.from(commitment), record: null };
}

export function encodeLogEntry(entry: LogEntry): Bytes {
  if (entry.kind === KIND_COMMITMENT) return concat(ascii(MAGIC), u8(COMMITMENT_VERSION), u8(entry.kind), entry.digest as Bytes);
  const head = concat(ascii(MAGIC), u8(1), u8(entry.kind));
  if (entry.kind === KIND_OPERATOR_KEY) return concat(head, vbytes(entry.record as Bytes));
  const version = entry.kind === KIND_VERIFICATION ? new Uint8Array(0) : u32(entry.version);
  return concat(head, entry.label as Bytes, version, entry.digest as Bytes);
}

/** Parse an entry (`MalformedError`); a kind-3 entry's OperatorKey is decoded and verified too (`SignatureError`). */
export function decodeLogEntry(data: Uint8Array): LogEntry {
  const r = new Reader(data, WHAT);
  const format = r.headerVersion(MAGIC, [1, COMMITMENT_VERSION]);
  const kind = r.u8();
  if (format === COMMITMENT_VERSION) {
    if (kind !== KIND_COMMITMENT) throw new MalformedError(`${WHAT}: kind ${kind} is not written as format version 2`);
    const digest = r.bytes(32);
    r.end();
    return { kind: KIND_COMMITMENT, label: null, version: 0, digest, record: null };
  }
  if (kind < KIND_IDENTITY || kind > KIND_VERIFICATION) throw new MalformedError(`${WHAT}: unknown kind ${kind} in format version 1`);
  if (kind === KIND_OPERATOR_KEY) {
    const record = r.vbytes(OPERATOR_KEY_MAX, "record");
    r.end();
    decodeOperatorKey(record);
    return { kind, label: null, version: 0, digest: null, record };
  }
  const label = r.bytes(LABEL_SIZE);
  const version = kind === KIND_VERIFICATION ? 0 : r.u32();
  const digest = r.bytes(32);
  r.end();
  if (kind !== KIND_VERIFICATION && version === 0) throw new MalformedError(`${WHAT}: key versions and epochs start at 1`);
  return { kind: kind as EntryKind, label, version, digest, record: null };
}
