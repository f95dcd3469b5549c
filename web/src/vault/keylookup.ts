/**
 * What a client checks before it uses a key the server looked up (docs/format.md section 17.6):
 * the record is in the key transparency log, under the name asked for, at a checkpoint the log
 * signed and enough witnesses cosigned, which extends the newest checkpoint this device accepted.
 *
 * Pure verification: the caller fetches the answer, keeps the returned checkpoint as the newest
 * it accepted, and only then applies its pins (sections 3 and 14.2) to the record.
 */

import { type Bytes } from "./bytes.js";
import { checkExtension, openCheckpoint, type Checkpoint, type TrustedLog, type VerifiedCheckpoint } from "./checkpoint.js";
import { type Freshness } from "./cosignature.js";
import { KeyMismatchError } from "./errors.js";
import { decodeIdentity, type Identity } from "./keys.js";
import {
  encodeLogEntry,
  identityEntry,
  NAMESPACE_USER,
  organisationEntry,
  verifyLabel,
  type LogEntry,
  type Namespace,
} from "./logentry.js";
import { decodeOrgKeys, orgEpoch, type OrgKeys } from "./organisation.js";
import { leafHash, verifyInclusion } from "./tlog.js";

/** The log's parameters, which the operator publishes and the client is configured with. */
export interface LogParameters {
  log: TrustedLog;
  /** The ECVRF public key (32 bytes). */
  vrfKey: Uint8Array;
}

/** The server's answer to a lookup of `name` in `namespace`. */
export interface LookupAnswer {
  checkpoint: Uint8Array;
  /** The consistency proof from the device's checkpoint (empty if it has none). */
  consistency: readonly Uint8Array[];
  labelProof: Uint8Array;
  record: Uint8Array;
  index: bigint;
  inclusion: readonly Uint8Array[];
}

export interface LookupRequest {
  namespace: Namespace;
  name: string;
  /** The newest checkpoint this device accepted, or null if it has none. */
  previous: Checkpoint | null;
  /** Count only cosignatures made in [now - maxAge, now]; null: any age. */
  fresh: Freshness | null;
}

/** A looked-up record that passed every check. */
export interface Lookup {
  /** To keep as the newest checkpoint this device accepted. */
  checkpoint: VerifiedCheckpoint;
  label: Bytes;
  entry: LogEntry;
  index: bigint;
  /** The identity record of a user, or the OrgKeys record of an organisation epoch. */
  record: Identity | OrgKeys;
}

/** Check that `entry` is entry `index` of the tree `checkpoint` names (`IntegrityError`). */
export async function verifyLogged(entry: LogEntry, index: bigint, inclusion: readonly Uint8Array[], checkpoint: Checkpoint): Promise<void> {
  await verifyInclusion(await leafHash(encodeLogEntry(entry)), index, checkpoint.size, inclusion, checkpoint.root);
}

/**
 * The checks of section 17.6, in order, each failure stopping everything:
 *
 * 1. the checkpoint opens with the log key and the witness quorum (`MalformedError`,
 *    `SignatureError`, `IntegrityError`);
 * 2. it extends the device's checkpoint (`IntegrityError`, `RollbackError`);
 * 3. the label proof proves the label of the name in its namespace (`MalformedError`, `SignatureError`);
 * 4. the record parses and its self-signature verifies (`MalformedError`, `SignatureError`) and
 *    is the record of the name (`KeyMismatchError`);
 * 5. the entry rebuilt from the label and the record is entry `index` of the checkpoint's tree
 *    (`IntegrityError`).
 */
export async function verifyLookup(params: LogParameters, request: LookupRequest, answer: LookupAnswer): Promise<Lookup> {
  const verified = openCheckpoint(answer.checkpoint, params.log, request.fresh); // 1
  await checkExtension(request.previous, verified.checkpoint, answer.consistency); // 2
  const { namespace, name } = request;
  const label = await verifyLabel(params.vrfKey, namespace, name, answer.labelProof); // 3
  let record: Identity | OrgKeys; // 4
  let entry: LogEntry;
  if (namespace === NAMESPACE_USER) {
    const identity = await decodeIdentity(answer.record);
    if (identity.username !== name) throw new KeyMismatchError(`key lookup: a record of ${identity.username}, not ${name}`);
    record = identity;
    entry = await identityEntry(label, identity.keyVersion, answer.record);
  } else {
    const keys = await decodeOrgKeys(answer.record);
    if (keys.identity.username !== name) throw new KeyMismatchError(`key lookup: a record of ${keys.identity.username}, not ${name}`);
    record = keys;
    entry = await organisationEntry(label, orgEpoch(keys), answer.record);
  }
  await verifyLogged(entry, answer.index, answer.inclusion, verified.checkpoint); // 5
  return { checkpoint: verified, label, entry, index: answer.index, record };
}
