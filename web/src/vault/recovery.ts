/**
 * The recovery code (docs/format.md section 5): 32 random bytes E as 24 BIP-39 words (English
 * word list; the last word carries 8 bits of SHA-256(E)), and the two keys derived from E.
 */

import { wordlist } from "@scure/bip39/wordlists/english.js";

import { copy, type Bytes } from "./bytes.js";
import { derive, sha256 } from "./crypto.js";
import { InvalidRecoveryCode } from "./errors.js";
import { RECOVERY_AUTH_KEY, RECOVERY_BUNDLE_KEY } from "./labels.js";

export const ENTROPY_SIZE = 32;
export const WORD_COUNT = 24;

let positions: Map<string, number> | undefined;

function wordPositions(): Map<string, number> {
  if (positions === undefined) {
    if (wordlist.length !== 2048) throw new Error("the BIP-39 word list must have 2048 words");
    positions = new Map(wordlist.map((word, i) => [word, i]));
  }
  return positions;
}

/** The 24 lower-case words of E, separated by single spaces. */
export async function recoveryWords(entropy: Uint8Array): Promise<string> {
  if (entropy.length !== ENTROPY_SIZE) throw new RangeError("a recovery code holds 32 bytes");
  const checksum = (await sha256(entropy))[0] as number;
  let bits = 0n;
  for (const b of entropy) bits = (bits << 8n) | BigInt(b);
  bits = (bits << 8n) | BigInt(checksum);
  const words: string[] = [];
  for (let i = WORD_COUNT - 1; i >= 0; i--) words.push(wordlist[Number((bits >> BigInt(11 * i)) & 0x7ffn)] as string);
  return words.join(" ");
}

/** ASCII lower-casing only (A-Z to a-z) and ASCII white space (space, tab, CR, LF) only. */
/**
 * Section 5: A-Z to a-z (nothing else folded, no normalisation), and every run of code points
 * other than a-z is a separator, so a code pasted as printed (numbers, rows) reads as its words.
 */
function typedWords(text: string): string[] {
  const folded = text.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));
  return folded.split(/[^a-z]+/).filter((word) => word.length > 0);
}

/** Parse a typed recovery code into E (`InvalidRecoveryCode` before anything is derived). */
export async function parseRecoveryCode(text: string): Promise<Bytes> {
  const words = typedWords(text);
  if (words.length === 0) throw new InvalidRecoveryCode("the recovery code is empty: it has 24 words");
  const known = wordPositions();
  const unknown = words.flatMap((word, i) => (known.has(word) ? [] : [i + 1]));
  if (unknown.length > 0) {
    throw new InvalidRecoveryCode(`word ${unknown.join(", ")} is not in the recovery word list`);
  }
  if (words.length !== WORD_COUNT) {
    throw new InvalidRecoveryCode(`a recovery code has ${WORD_COUNT} words, this one has ${words.length}`);
  }
  let bits = 0n;
  for (const word of words) bits = (bits << 11n) | BigInt(known.get(word) as number);
  const entropy = new Uint8Array(ENTROPY_SIZE);
  for (let i = 0; i < ENTROPY_SIZE; i++) entropy[i] = Number((bits >> BigInt(8 * (ENTROPY_SIZE - i))) & 0xffn);
  const checksum = Number(bits & 0xffn);
  if ((await sha256(entropy))[0] !== checksum) {
    throw new InvalidRecoveryCode("the checksum does not match: a word is mistyped or out of order");
  }
  return copy(entropy);
}

export interface RecoveryKeys {
  /** Sent to the server to prove the code. */
  authKey: Bytes;
  /** Opens the purpose-2 key bundle. */
  bundleKey: Bytes;
}

export async function recoveryKeys(entropy: Uint8Array): Promise<RecoveryKeys> {
  if (entropy.length !== ENTROPY_SIZE) throw new RangeError("a recovery code holds 32 bytes");
  return {
    authKey: await derive(entropy, RECOVERY_AUTH_KEY),
    bundleKey: await derive(entropy, RECOVERY_BUNDLE_KEY),
  };
}
