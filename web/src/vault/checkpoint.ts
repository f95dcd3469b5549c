/**
 * Checkpoints (C2SP tlog-checkpoint v1, docs/format.md sections 17.4 and 17.6): the log's signed
 * tree heads. A checkpoint's note text is
 *
 *     <origin>\n  <tree size>\n  <root hash, base64>\n  [<extension line>\n]...
 *
 * signed by the log's Ed25519 key (whose key name is the origin) and cosigned by witnesses. A
 * client trusts one only after `openCheckpoint`, and moves to a newer one only after
 * `checkExtension` proved that it extends the one it holds.
 */

import { equal, type Bytes } from "./bytes.js";
import { WitnessPolicy, type Freshness } from "./cosignature.js";
import { IntegrityError, MalformedError, RollbackError, SignatureError } from "./errors.js";
import { b64decode, b64encode, openNote, SIG_ED25519, signedBy, type Verifier } from "./note.js";
import { checkTreeSize, EMPTY_ROOT, HASH_SIZE, verifyConsistency } from "./tlog.js";

/** The longest origin or extension line, in characters (code points). */
export const MAX_LINE = 1024;

export interface Checkpoint {
  origin: string;
  size: bigint;
  root: Bytes;
  extensions: string[];
}

function checkLine(line: string, what: string): string {
  if (line.length === 0 || [...line].length > MAX_LINE) throw new MalformedError(`checkpoint: the ${what} is a non-empty line of at most ${MAX_LINE} characters`);
  if (/[\u0000-\u001f]/.test(line)) throw new MalformedError(`checkpoint: the ${what} contains a control character`);
  return line;
}

/** Parse a checkpoint's note text strictly (`MalformedError`). */
export function parseCheckpoint(text: string): Checkpoint {
  if (!text.endsWith("\n")) throw new MalformedError("checkpoint: the text ends in a newline");
  const lines = text.slice(0, -1).split("\n");
  if (lines.length < 3) throw new MalformedError("checkpoint: fewer than three lines");
  const [origin, sizeText, rootText, ...extensions] = lines as [string, string, string, ...string[]];
  if (!/^(?:0|[1-9][0-9]{0,18})$/.test(sizeText)) throw new MalformedError("checkpoint: the tree size is a decimal number");
  const size = BigInt(sizeText);
  checkTreeSize(size, "checkpoint: the tree size");
  const root = b64decode(rootText, "checkpoint root hash");
  if (root.length !== HASH_SIZE) throw new MalformedError("checkpoint: the root hash is 32 bytes");
  checkLine(origin, "origin");
  for (const line of extensions) checkLine(line, "extension line");
  return { origin, size, root, extensions };
}

/** The note text of a checkpoint. */
export function checkpointText(c: Checkpoint): string {
  return [c.origin, c.size.toString(), b64encode(c.root), ...c.extensions].map((line) => `${line}\n`).join("");
}

/** What a client is configured with: the log's origin, its key and the witness quorum. */
export interface TrustedLog {
  origin: string;
  key: Verifier;
  witnesses: WitnessPolicy;
}

export function trustedLog(origin: string, key: Verifier, witnesses = new WitnessPolicy([], 0)): TrustedLog {
  checkLine(origin, "origin");
  if (key.type !== SIG_ED25519) throw new RangeError("the log's key is an Ed25519 key (type 0x01)");
  if (key.name !== origin) throw new RangeError("the log's key name must be its origin");
  return { origin, key, witnesses };
}

/** A checkpoint the log signed and enough witnesses cosigned; `cosigned` maps witness verifier keys to timestamps. */
export interface VerifiedCheckpoint {
  checkpoint: Checkpoint;
  note: Bytes;
  cosigned: Map<string, bigint>;
}

/**
 * Open a signed checkpoint, each failure stopping everything:
 *
 * 1. the note opens with the log key and the witnesses' keys (`MalformedError`, `SignatureError`);
 * 2. the log key signed it (`SignatureError`);
 * 3. the text is a checkpoint (`MalformedError`) of the log's origin (`IntegrityError`), and a
 *    size of 0 has the root MTH({}) (`IntegrityError`);
 * 4. the witness quorum is met (`SignatureError`), counting only fresh cosignatures if asked.
 */
export function openCheckpoint(data: Uint8Array, log: TrustedLog, fresh: Freshness | null = null): VerifiedCheckpoint {
  const opened = openNote(data, [log.key, ...log.witnesses.witnesses]);
  if (!signedBy(opened, log.key)) throw new SignatureError("checkpoint: not signed by the log's key");
  const checkpoint = parseCheckpoint(opened.text);
  if (checkpoint.origin !== log.origin) throw new IntegrityError(`checkpoint: of the log ${checkpoint.origin}, not ${log.origin}`);
  if (checkpoint.size === 0n && !equal(checkpoint.root, EMPTY_ROOT)) {
    throw new IntegrityError("checkpoint: an empty tree with a root other than the empty root");
  }
  const cosigned = log.witnesses.check(opened, fresh);
  return { checkpoint, note: Uint8Array.from(data), cosigned };
}

/**
 * Check that `next` extends `previous`, the newest checkpoint this device accepted: another
 * origin is `IntegrityError`, a smaller tree `RollbackError`, another root for the same size or
 * a consistency proof that fails `IntegrityError` (a fork). With no previous checkpoint there
 * is nothing to check, and a proof is `MalformedError`.
 */
export async function checkExtension(previous: Checkpoint | null, next: Checkpoint, proof: readonly Uint8Array[]): Promise<void> {
  if (previous === null) {
    if (proof.length !== 0) throw new MalformedError("consistency proof: nothing to be consistent with");
    return;
  }
  if (next.origin !== previous.origin) throw new IntegrityError(`checkpoint: of the log ${next.origin}, not ${previous.origin}`);
  if (next.size < previous.size) {
    throw new RollbackError(`checkpoint: a tree of ${next.size} entries after one of ${previous.size} was seen`);
  }
  await verifyConsistency(previous.size, next.size, previous.root, next.root, proof);
}
