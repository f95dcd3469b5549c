/**
 * Witness cosignatures (C2SP tlog-cosignature v1, Ed25519; docs/format.md section 17.5) and
 * the k-of-n quorum a client applies to them.
 *
 * A cosignature is a note signature of type 0x04:
 *
 *     timestamp u64 || Ed25519(witness key, "cosignature/v1\n" || "time <timestamp>\n" || text)
 */

import { ascii, concat, type Bytes } from "./bytes.js";
import { ed25519Verify } from "./crypto.js";
import { MalformedError, SignatureError } from "./errors.js";
import { makeVerifier, splitVkey, type OpenedNote, type Verifier } from "./note.js";

export const SIG_COSIGNATURE_V1 = 0x04;
export const COSIGNATURE_SIZE = 8 + 64;
export const MAX_TIMESTAMP = (1n << 63n) - 1n;

/** What a cosignature signs: the header line, the time line, the checkpoint text. */
export function cosignatureMessage(text: Uint8Array, timestamp: bigint): Bytes {
  if (timestamp < 0n || timestamp > MAX_TIMESTAMP) throw new RangeError("a cosignature timestamp is from 0 to 2^63 - 1");
  return concat(ascii(`cosignature/v1\ntime ${timestamp}\n`), text);
}

/** The time a cosignature claims: its first 8 bytes. */
export function cosignatureTimestamp(signature: Uint8Array): bigint {
  if (signature.length !== COSIGNATURE_SIZE) throw new MalformedError("a cosignature is 72 bytes");
  return new DataView(signature.buffer, signature.byteOffset, 8).getBigUint64(0);
}

function verifyCosignature(publicKey: Bytes, text: Uint8Array, signature: Uint8Array): boolean {
  if (signature.length !== COSIGNATURE_SIZE) return false;
  const timestamp = cosignatureTimestamp(signature);
  if (timestamp > MAX_TIMESTAMP) return false;
  return ed25519Verify(publicKey, cosignatureMessage(text, timestamp), signature.subarray(8));
}

/** A witness's cosigning key (type 0x04). */
export async function cosignatureVerifier(name: string, publicKey: Uint8Array): Promise<Verifier> {
  return makeVerifier(name, SIG_COSIGNATURE_V1, publicKey, verifyCosignature);
}

/** A witness's verifier key of type 0x04; `MalformedError` for anything else. */
export async function parseWitnessVkey(vkey: string): Promise<Verifier> {
  const parts = await splitVkey(vkey);
  if (parts.type !== SIG_COSIGNATURE_V1) throw new MalformedError(`verifier key: type ${parts.type} is not a v1 cosignature key`);
  return cosignatureVerifier(parts.name, parts.publicKey);
}

/** Only cosignatures made in [now - maxAge, now] count. */
export interface Freshness {
  now: bigint;
  maxAge: bigint;
}

/**
 * At least `threshold` of `witnesses` must have cosigned a checkpoint; a threshold of 0 trusts
 * the log alone. No two witnesses share a public key (they would be one witness counted twice).
 */
export class WitnessPolicy {
  readonly witnesses: readonly Verifier[];

  constructor(
    witnesses: readonly Verifier[],
    readonly threshold: number,
  ) {
    if (witnesses.some((w) => w.type !== SIG_COSIGNATURE_V1)) throw new RangeError("a witness key is a cosignature key (type 0x04)");
    const keys = new Set(witnesses.map((w) => String(w.publicKey)));
    if (keys.size !== witnesses.length) throw new RangeError("two witnesses in one policy share a public key");
    const ids = new Set(witnesses.map((w) => `${w.name}\n${String(w.keyId)}`));
    if (ids.size !== witnesses.length) throw new RangeError("two witnesses in one policy share a name and key ID");
    if (!Number.isInteger(threshold) || threshold < 0 || threshold > witnesses.length) {
      throw new RangeError("a witness threshold is from 0 to the number of witnesses");
    }
    this.witnesses = [...witnesses];
  }

  /**
   * The listed witnesses whose cosignature on `opened` verified, by verifier key, with its
   * timestamp (a witness that cosigned twice counts once, with its first cosignature).
   */
  cosigned(opened: OpenedNote, fresh: Freshness | null = null): Map<string, bigint> {
    const listed = new Set(this.witnesses.map((w) => w.vkey));
    const out = new Map<string, bigint>();
    for (const { verifier, signature } of opened.verified) {
      if (verifier.type !== SIG_COSIGNATURE_V1 || !listed.has(verifier.vkey)) continue;
      const timestamp = cosignatureTimestamp(signature);
      if (fresh !== null && !(fresh.now - fresh.maxAge <= timestamp && timestamp <= fresh.now)) continue;
      out.set(verifier.vkey, timestamp);
    }
    return out;
  }

  /** `SignatureError` unless at least `threshold` listed witnesses cosigned; who did and when. */
  check(opened: OpenedNote, fresh: Freshness | null = null): Map<string, bigint> {
    const got = this.cosigned(opened, fresh);
    if (got.size < this.threshold) {
      const recent = fresh === null ? "" : ` within ${fresh.maxAge} seconds`;
      throw new SignatureError(`checkpoint: ${got.size} of the ${this.threshold} witness cosignatures required${recent}`);
    }
    return got;
  }
}
