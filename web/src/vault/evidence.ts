/**
 * Evidence that a document version existed by a certain time (docs/format.md section 20):
 *
 *     file_hash  = SHA-256(plaintext)
 *     salt       = derive(file_key, "kluis/v1/evidence-salt", ids)
 *     commitment = SHA-256("kluis/v1/evidence-commitment" || 0x00 || salt || file_hash)
 *     entry      = "KLKT" || 0x02 || 0x05 || commitment
 *
 * `verifyEvidence` checks the entry against the file and salt, opens the checkpoint with the
 * witness quorum, and checks the inclusion proof; the quorum vouches for the k-th earliest
 * cosignature time.
 */

import { ascii, concat, equal, u64, type Bytes } from "./bytes.js";
import { openCheckpoint, type TrustedLog, type VerifiedCheckpoint } from "./checkpoint.js";
import { derive, sha256 } from "./crypto.js";
import { IntegrityError, MalformedError } from "./errors.js";
import { EVIDENCE_COMMITMENT, EVIDENCE_SALT } from "./labels.js";
import { decodeLogEntry, KIND_COMMITMENT, type LogEntry } from "./logentry.js";
import { leafHash, verifyInclusion } from "./tlog.js";

export function evidenceSalt(fileKey: Uint8Array, dossierId: Uint8Array, documentId: Uint8Array, version: bigint): Promise<Bytes> {
  return derive(fileKey, EVIDENCE_SALT, concat(dossierId, documentId, u64(version)));
}

export async function commitment(salt: Uint8Array, fileHash: Uint8Array): Promise<Bytes> {
  if (salt.length !== 32 || fileHash.length !== 32) throw new MalformedError("evidence: a salt and a file hash are 32 bytes each");
  return sha256(concat(ascii(EVIDENCE_COMMITMENT), Uint8Array.of(0), salt, fileHash));
}

/** The parsed entry, if it commits to this file hash with this salt (`MalformedError`, `IntegrityError`). */
export async function checkCommitment(entry: Uint8Array, fileHash: Uint8Array, salt: Uint8Array): Promise<LogEntry> {
  const parsed = decodeLogEntry(entry);
  if (parsed.kind !== KIND_COMMITMENT) throw new MalformedError("evidence: the log entry is not a commitment");
  if (!equal(parsed.digest as Bytes, await commitment(salt, fileHash))) {
    throw new IntegrityError("evidence: the log entry commits to another file or salt");
  }
  return parsed;
}

export interface Proven {
  entry: LogEntry;
  checkpoint: VerifiedCheckpoint;
  /** POSIX seconds the witness quorum vouches for; null when the reader trusts the log alone. */
  existedBy: bigint | null;
}

export async function verifyEvidence(e: {
  fileHash: Uint8Array;
  salt: Uint8Array;
  entry: Uint8Array;
  index: bigint;
  inclusion: readonly Uint8Array[];
  checkpoint: Uint8Array;
  log: TrustedLog;
}): Promise<Proven> {
  const entry = await checkCommitment(e.entry, e.fileHash, e.salt);
  const opened = openCheckpoint(e.checkpoint, e.log);
  await verifyInclusion(await leafHash(e.entry), e.index, opened.checkpoint.size, e.inclusion, opened.checkpoint.root);
  const threshold = e.log.witnesses.threshold;
  const times = [...opened.cosigned.values()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return { entry, checkpoint: opened, existedBy: threshold === 0 ? null : (times[threshold - 1] ?? null) };
}
