/**
 * The passphrase rule (docs/format.md section 18): which new passphrases a client refuses to set
 * (at registration, a passphrase change and recovery, before anything is derived or sent), the
 * strength estimate a meter may show, and a generator of six-word passphrases that always pass.
 *
 * The rule needs the bundled list of common passwords (`vault/data/common-passwords.txt`). The
 * build copies it, byte for byte, next to the bundle as `assets/common-passwords.txt`; it is not
 * in any script. `loadCommonPasswords()` fetches it from this origin the first time a screen
 * needs it, and a `CommonPasswords` exists only after its SHA-256 matched the one in section 18,
 * so nothing is judged against another list. Node tests build one from the repository's file.
 *
 * This module imports no WebAssembly (only Web Crypto's SHA-256 and the BIP-39 word list), so
 * the page may use it for a meter without pulling in the vault's cryptography.
 */

import { wordlist } from "@scure/bip39/wordlists/english.js";

import { IntegrityError, WeakPassphrase } from "./errors.js";

/** The fewest code points (after NFC) a passphrase may have. */
export const MIN_LENGTH = 12;
/** The most code points (after NFC) a passphrase may have. */
export const MAX_LENGTH = 256;
/** The floor of the estimate, in hundredths of a bit (50 bits); an estimate equal to it passes. */
export const MIN_ESTIMATE = 5000;
/** The word every context holds besides the caller's (the service's own name). */
export const BUILT_IN_CONTEXT: readonly string[] = ["kluis"];
/** SHA-256 of `vault/data/common-passwords.txt`, as section 18 gives it. */
export const COMMON_PASSWORDS_SHA256 = "dbef3ade2032f2648aec3b0970944e5fa1a68a33cc9344876882ac4f201058a5";
/** The list's file name next to the bundle's scripts (the build copies it into `assets/`). */
export const COMMON_PASSWORDS_ASSET = "common-passwords.txt";
/** Words in a generated passphrase: 6 x 11 bits = 66 bits. */
export const GENERATED_WORDS = 6;
/** Draws before the generator gives up on a random source that keeps giving refused passphrases. */
export const GENERATOR_ATTEMPTS = 64;

/**
 * Why a passphrase is refused, in the order the rule checks: `not_text` (a lone surrogate: no
 * UTF-8 form), `too_short` (under MIN_LENGTH code points), `too_long` (over MAX_LENGTH),
 * `common` (an entry of the list, ignoring ASCII case), `predictable` (estimate under
 * MIN_ESTIMATE). The codes are those of the vectors and the Python client.
 */
export const REASONS = ["not_text", "too_short", "too_long", "common", "predictable"] as const;
export type PassphraseReason = (typeof REASONS)[number];

/**
 * The rule's answer. `length` is L, the code points after NFC (for "n of 12 characters").
 * `estimate` is E(T) in hundredths of a bit, for a meter (`estimateBits` gives whole bits): it is
 * computed for every passphrase of valid text up to MAX_LENGTH code points, refused ones too, and
 * is null only for `not_text` and `too_long`. Only `accepted` decides. Holds no passphrase.
 */
export type Verdict =
  | { accepted: true; reason: null; length: number; estimate: number }
  | { accepted: false; reason: PassphraseReason; length: number; estimate: number | null };

/** Whole bits of an estimate (floor(E / 100)), what a strength meter may show. */
export function estimateBits(estimate: number): number {
  return Math.floor(estimate / 100);
}

// -- the list ------------------------------------------------------------------------------------

/**
 * The list D of section 18, checked: each entry and its rank (its line number, from 1). Only
 * `fromBytes` makes one, and only from bytes whose SHA-256 is COMMON_PASSWORDS_SHA256.
 */
export class CommonPasswords {
  readonly #ranks: Map<string, number>;
  /** The longest entry, in code points (entries are ASCII). */
  readonly longest: number;

  private constructor(ranks: Map<string, number>, longest: number) {
    this.#ranks = ranks;
    this.longest = longest;
  }

  /** The list from its file's bytes; `IntegrityError` (and no list) when they are not the bundled list. */
  static async fromBytes(data: Uint8Array): Promise<CommonPasswords> {
    const subtle = globalThis.crypto?.subtle;
    if (subtle === undefined) throw new Error("vault: Web Crypto (crypto.subtle) is not available");
    const digest = new Uint8Array(await subtle.digest("SHA-256", new Uint8Array(data)));
    const hex = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
    if (hex !== COMMON_PASSWORDS_SHA256) {
      throw new IntegrityError("the common-password list is not the one of format section 18 (its SHA-256 differs)");
    }
    // The hash fixes the bytes: ASCII, one entry per line, each line ended by LF.
    const lines = new TextDecoder("utf-8", { fatal: true }).decode(data).split("\n");
    lines.pop();
    const ranks = new Map<string, number>();
    let longest = 0;
    lines.forEach((entry, i) => {
      if (!ranks.has(entry)) ranks.set(entry, i + 1);
      longest = Math.max(longest, entry.length);
    });
    return new CommonPasswords(ranks, longest);
  }

  /** The rank of an entry (1 is the most common), or undefined when it is not in the list. */
  rank(entry: string): number | undefined {
    return this.#ranks.get(entry);
  }

  get size(): number {
    return this.#ranks.size;
  }
}

let bundled: Promise<CommonPasswords> | undefined;

/**
 * Where the page or worker finds the list: next to its own script, which is on this origin. The
 * vault worker runs from a blob: URL (its bytes checked against main.js's hash first,
 * worker/client.ts), against which nothing resolves: there it is the bundle's assets/ folder.
 */
export function commonPasswordsUrl(): URL {
  const here = new URL(import.meta.url);
  if (here.protocol === "blob:") {
    const origin = (globalThis as { location?: { origin?: string } }).location?.origin ?? "null";
    return new URL(`/assets/${COMMON_PASSWORDS_ASSET}`, origin);
  }
  return new URL(`./${COMMON_PASSWORDS_ASSET}`, here);
}

/**
 * The bundled list, fetched from this origin on first use (call it when a register, passphrase
 * change or recovery screen opens) and kept; a failed load (network, or a list whose SHA-256
 * differs: `IntegrityError`) is not kept, so the next call tries again. Without a list there is
 * no verdict: a screen that cannot load it must not let a passphrase be set.
 */
export function loadCommonPasswords(): Promise<CommonPasswords> {
  if (bundled === undefined) {
    const loading = fetchCommonPasswords().then((data) => CommonPasswords.fromBytes(data));
    bundled = loading;
    loading.catch(() => {
      if (bundled === loading) bundled = undefined;
    });
  }
  return bundled;
}

async function fetchCommonPasswords(): Promise<Uint8Array> {
  const url = commonPasswordsUrl();
  const origin = (globalThis as { location?: { origin?: string } }).location?.origin;
  if (origin === undefined || url.origin !== origin) {
    throw new Error("the common-password list is loaded from this site only");
  }
  const response = await fetch(url, { redirect: "error", credentials: "same-origin" });
  if (!response.ok) throw new Error(`the common-password list could not be loaded (HTTP ${response.status})`);
  return new Uint8Array(await response.arrayBuffer());
}

// -- text ----------------------------------------------------------------------------------------

const LEET: ReadonlyMap<number, number> = new Map(
  [["4", "a"], ["@", "a"], ["3", "e"], ["1", "i"], ["!", "i"], ["0", "o"], ["$", "s"], ["5", "s"], ["7", "t"]].map(
    ([from, to]) => [(from as string).charCodeAt(0), (to as string).charCodeAt(0)] as const,
  ),
);

/** The code points of a string; a lone surrogate is one code point (as in Python). */
function codePoints(text: string): number[] {
  const out: number[] = [];
  for (const c of text) out.push(c.codePointAt(0) as number);
  return out;
}

/**
 * NFC that keeps a lone surrogate as it is (as Python's unicodedata does). Firefox's
 * String.prototype.normalize replaces one with U+FFFD, which would hide `not_text` and change
 * the length; so the text is normalised piece by piece between lone surrogates.
 */
function nfc(text: string): string {
  if (!/[\uD800-\uDFFF]/u.test(text)) return text.normalize("NFC");
  return text
    .split(/([\uD800-\uDFFF])/u)
    .map((piece, i) => (i % 2 === 1 ? piece : piece.normalize("NFC")))
    .join("");
}

const isUpper = (c: number): boolean => c >= 0x41 && c <= 0x5a;
const isSurrogate = (c: number): boolean => c >= 0xd800 && c <= 0xdfff;
/** lower(): A-Z to a-z, no other code point changes (no Unicode case rules). */
const lower = (c: number): number => (isUpper(c) ? c + 0x20 : c);
/** l33t(): 4 @ to a, 3 to e, 1 ! to i, 0 to o, $ 5 to s, 7 to t. */
const leet = (c: number): number => LEET.get(c) ?? c;
const lowerText = (text: string): string => text.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0x20));

/** The context words C: lower(NFC(w)) for "kluis" and each given word, kept from 2 code points. */
function contextWords(context: readonly string[]): Set<string> {
  const words = new Set<string>();
  for (const word of [...BUILT_IN_CONTEXT, ...context]) {
    if (typeof word !== "string") throw new TypeError("a context word is text");
    const folded = lowerText(nfc(word));
    if (codePoints(folded).length >= 2) words.add(folded);
  }
  return words;
}

// -- the estimate --------------------------------------------------------------------------------

const DIGIT_COST = 332;
const LETTER_COST = 470;
const SPACE_COST = 100;
const SYMBOL_COST = 504;
const OTHER_COST = 600;
const WORD_BIT_COST = 100;
const UPPER_CASE_COST = 100;
const SUBSTITUTION_COST = 100;
const REPEAT_COST = 100;
const SEQUENCE_BASE_COST = 500;
const MIN_SEQUENCE = 3;

function charCost(c: number): number {
  if (c >= 0x30 && c <= 0x39) return DIGIT_COST;
  if (isUpper(c) || (c >= 0x61 && c <= 0x7a)) return LETTER_COST;
  if (c === 0x20) return SPACE_COST;
  if (c >= 0x21 && c <= 0x7e) return SYMBOL_COST;
  return OTHER_COST;
}

/** bitlen(n) for 1 <= n < 2^31: its number of binary digits. */
const bitlen = (n: number): number => 32 - Math.clz32(n);

/**
 * E(T) for the code points `t` of an NFC text without surrogates: the least total cost of a
 * split into pieces (character, word, l33t word, repeat, sequence), by dynamic programming over
 * the end of the last piece; O(L^2) for every kind of piece.
 */
function estimate(t: readonly number[], context: ReadonlySet<string>, list: CommonPasswords): number {
  const n = t.length;
  const u = t.map(lower);
  const s = u.map(leet);
  let longest = list.longest;
  for (const word of context) longest = Math.max(longest, codePoints(word).length);
  const rank = (x: string): number | undefined => (context.has(x) ? 1 : list.rank(x));

  // pieces[j]: [start, cost] of every word, l33t word and sequence piece ending at j.
  const pieces: [number, number][][] = Array.from({ length: n + 1 }, () => []);
  for (let i = 0; i < n; i++) {
    let plain = "";
    let substituted = "";
    let upper = false;
    let differs = false;
    for (let j = i + 1; j <= Math.min(n, i + longest); j++) {
      const k = j - 1;
      plain += String.fromCodePoint(u[k] as number);
      substituted += String.fromCodePoint(s[k] as number);
      upper ||= isUpper(t[k] as number);
      differs ||= s[k] !== u[k];
      if (j - i < 2) continue;
      const extra = upper ? UPPER_CASE_COST : 0;
      const r = rank(plain);
      if (r !== undefined) (pieces[j] as [number, number][]).push([i, WORD_BIT_COST * bitlen(r) + extra]);
      if (differs) {
        const rs = rank(substituted);
        if (rs !== undefined) (pieces[j] as [number, number][]).push([i, WORD_BIT_COST * bitlen(rs) + SUBSTITUTION_COST + extra]);
      }
    }
    // The longest run from i whose code points rise by exactly 1, or fall by exactly 1, each step.
    let end = i + 1;
    const step = i + 1 < n ? (u[i + 1] as number) - (u[i] as number) : 0;
    if (step === 1 || step === -1) {
      while (end < n && (u[end] as number) - (u[end - 1] as number) === step) end++;
    }
    for (let j = i + MIN_SEQUENCE; j <= end; j++) {
      (pieces[j] as [number, number][]).push([i, SEQUENCE_BASE_COST + WORD_BIT_COST * bitlen(j - i)]);
    }
  }

  // A repeat piece [i, j) has a period p <= i, p <= j - i, with u[k] = u[k - p] for i <= k < j.
  // For each p, runStart[p] is where the current run of such k began (-1: none), and least[p]
  // the least best[i] over the starts allowed so far, runStart[p] <= i <= j - p.
  const best = new Array<number>(n + 1).fill(0);
  const runStart = new Array<number>(n).fill(-1);
  const nextStart = new Array<number>(n).fill(0);
  const least = new Array<number>(n).fill(Infinity);
  for (let j = 1; j <= n; j++) {
    const k = j - 1;
    let cost = (best[k] as number) + charCost(t[k] as number);
    for (let p = 1; p <= k; p++) {
      if (u[k] !== u[k - p]) {
        runStart[p] = -1;
        continue;
      }
      if ((runStart[p] as number) < 0) {
        runStart[p] = k;
        nextStart[p] = k;
        least[p] = Infinity;
      }
      while ((nextStart[p] as number) <= j - p) {
        least[p] = Math.min(least[p] as number, best[nextStart[p] as number] as number);
        nextStart[p] = (nextStart[p] as number) + 1;
      }
      cost = Math.min(cost, (least[p] as number) + REPEAT_COST);
    }
    for (const [start, piece] of pieces[j] as [number, number][]) cost = Math.min(cost, (best[start] as number) + piece);
    best[j] = cost;
  }
  return best[n] as number;
}

// -- the rule ------------------------------------------------------------------------------------

/**
 * Apply section 18 to a passphrase someone wants to set. `context` holds the words an attacker
 * knows besides "kluis" (the username); each costs as little as the most common password.
 * Synchronous once the list is loaded, so a meter can call it on every keystroke.
 */
export function judgePassphrase(passphrase: string, context: readonly string[], list: CommonPasswords): Verdict {
  if (typeof passphrase !== "string") throw new TypeError("a passphrase is text");
  if (!(list instanceof CommonPasswords)) throw new TypeError("judging needs the checked common-password list");
  const words = contextWords(context);
  const text = nfc(passphrase);
  const t = codePoints(text);
  const length = t.length;
  if (t.some(isSurrogate)) return { accepted: false, reason: "not_text", length, estimate: null };
  if (length > MAX_LENGTH) return { accepted: false, reason: "too_long", length, estimate: null };
  const e = estimate(t, words, list);
  if (length < MIN_LENGTH) return { accepted: false, reason: "too_short", length, estimate: e };
  if (list.rank(lowerText(text)) !== undefined) return { accepted: false, reason: "common", length, estimate: e };
  if (e < MIN_ESTIMATE) return { accepted: false, reason: "predictable", length, estimate: e };
  return { accepted: true, reason: null, length, estimate: e };
}

/** The reason in plain words (English, like the other errors; never the passphrase). */
export function reasonMessage(verdict: Verdict): string {
  switch (verdict.reason) {
    case null:
      return "accepted";
    case "not_text":
      return "it contains characters that are not valid text";
    case "too_short":
      return `too short: at least ${MIN_LENGTH} characters`;
    case "too_long":
      return `too long: at most ${MAX_LENGTH} characters`;
    case "common":
      return "one of the most common passwords";
    case "predictable":
      return `too predictable: common words, names, repeats or sequences give an estimated ${estimateBits(verdict.estimate ?? 0)} bits, at least ${MIN_ESTIMATE / 100} are needed`;
  }
}

/** Throw `WeakPassphrase` (with the reason code, never the passphrase) unless the rule accepts it. */
export function requireStrongPassphrase(passphrase: string, context: readonly string[], list: CommonPasswords): void {
  const verdict = judgePassphrase(passphrase, context, list);
  if (!verdict.accepted) throw new WeakPassphrase(`passphrase refused: ${reasonMessage(verdict)}`, verdict.reason);
}

// -- generated passphrases -----------------------------------------------------------------------

/** A uniform integer in 0..n-1 for 1 <= n <= 2^32 (the generator asks for n = 2048). */
export type RandomSource = (n: number) => number;

/** The platform's CSPRNG (crypto.getRandomValues), uniform by rejection. */
export const secureRandomBelow: RandomSource = (n) => {
  if (!Number.isInteger(n) || n < 1 || n > 2 ** 32) throw new RangeError("n must be an integer in 1..2^32");
  const random = globalThis.crypto;
  if (random?.getRandomValues === undefined) throw new Error("vault: no secure random source (crypto.getRandomValues)");
  const limit = 2 ** 32 - (2 ** 32 % n);
  const word = new Uint32Array(1);
  for (;;) {
    random.getRandomValues(word);
    if ((word[0] as number) < limit) return (word[0] as number) % n;
  }
};

/**
 * Six words drawn uniformly and independently from the BIP-39 English list, joined by single
 * spaces (66 bits). A draw the rule refuses with this context (one word six times, mostly context
 * words) is drawn again, so what it returns always passes; a source that gives GENERATOR_ATTEMPTS
 * refused draws in a row is not random, and the generator throws. `randomSource` is for tests.
 */
export function generatePassphrase(context: readonly string[], list: CommonPasswords, randomSource: RandomSource = secureRandomBelow): string {
  if (wordlist.length !== 2048) throw new Error("the BIP-39 word list must have 2048 words");
  for (let attempt = 0; attempt < GENERATOR_ATTEMPTS; attempt++) {
    const words: string[] = [];
    for (let w = 0; w < GENERATED_WORDS; w++) {
      const i = randomSource(wordlist.length);
      if (!Number.isInteger(i) || i < 0 || i >= wordlist.length) throw new RangeError("the random source gave a number out of range");
      words.push(wordlist[i] as string);
    }
    const candidate = words.join(" ");
    if (judgePassphrase(candidate, context, list).accepted) return candidate;
  }
  throw new Error("the random source gave no acceptable passphrase: it is not random");
}
