/**
 * The hash chain of a dossier's access log (docs/format.md section 16).
 *
 * The server writes the log; the client checks that every entry links to the one before, so
 * that history it has seen cannot change unnoticed. The hash input is a canonical JSON text of
 * seven fields, which must come out byte for byte as the server wrote it.
 */

import { fromHex, toHex, utf8, type Bytes } from "./bytes.js";
import { sha256 } from "./crypto.js";
import { IntegrityError, MalformedError } from "./errors.js";

export const GENESIS_HASH = "0".repeat(64);

/** The hashed fields in canonical (code point) order of their names. */
const HASHED = ["action", "actor_id", "at", "document_id", "seq", "subject_id", "version"] as const;

// A lone surrogate has no UTF-8 form.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function canonical(entry: Record<string, unknown>): string {
  for (const name of HASHED) {
    const value = entry[name];
    // JSON.stringify would escape it; the server cannot have hashed it at all.
    if (typeof value === "string" && LONE_SURROGATE.test(value)) {
      throw new MalformedError("access log: an entry holds text that is not Unicode");
    }
  }
  // JSON.stringify escapes exactly what section 16 allows ('"', '\', control characters, in
  // lowercase \u00xx or the short forms) and writes every other character as itself.
  const body = HASHED.map((name) => `${JSON.stringify(name)}:${JSON.stringify(entry[name] ?? null)}`);
  return `{${body.join(",")}}`;
}

/** The hash of `entry` linked to `prevHash` (both lowercase hex). */
export async function entryHash(prevHash: string, entry: Record<string, unknown>): Promise<string> {
  const text = canonical(entry);
  const prev: Bytes = fromHex(prevHash);
  const data = new Uint8Array(prev.length + utf8(text).length);
  data.set(prev);
  data.set(utf8(text), prev.length);
  return toHex(await sha256(data));
}

/** Check a whole log, entry 1 first: MalformedError or IntegrityError naming the entry. */
export async function verifyChain(entries: readonly unknown[]): Promise<void> {
  let prev = GENESIS_HASH;
  for (const [i, raw] of entries.entries()) {
    const position = i + 1;
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
      throw new MalformedError(`access log: entry ${position} is malformed`);
    }
    const entry = raw as Record<string, unknown>;
    const { seq, prev_hash: prevHash, hash } = entry;
    if (typeof seq !== "number" || !Number.isInteger(seq) || typeof prevHash !== "string" || typeof hash !== "string") {
      throw new MalformedError(`access log: entry ${position} is malformed`);
    }
    if (seq !== position) throw new IntegrityError(`access log: entry ${position} is missing or out of order`);
    if (prevHash !== prev || hash !== (await entryHash(prev, entry))) {
      throw new IntegrityError(`access log: entry ${position} was altered`);
    }
    prev = hash;
  }
}
