/**
 * The few Node modules the vector tests (../vectors.test.ts, ../helpers.ts) import, for running
 * them inside a browser page (runner.ts; e2e/vectors.test.ts bundles them with esbuild aliases).
 * Only what those two files use: strict assertions, a test registry, SHA-256, and the vector
 * files and the common-password list read from what the page fetched before the tests load.
 */

import sodium from "libsodium-wrappers-sumo";

// -- node:assert/strict ----------------------------------------------------------------------------
export class AssertionError extends Error {
  override name = "AssertionError";
}

function show(value: unknown): string {
  if (typeof value === "bigint") return `${value}n`;
  if (value instanceof Uint8Array) return `Uint8Array(${value.length}) ${Array.from(value.subarray(0, 32), (b) => b.toString(16).padStart(2, "0")).join("")}`;
  try {
    return JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? `${v}n` : v)) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Node's isDeepStrictEqual for the values the vector tests compare. */
export function deepStrictEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (ArrayBuffer.isView(a) && ArrayBuffer.isView(b)) {
    const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    return x.length === y.length && x.every((v, i) => v === y[i]);
  }
  if (a instanceof Map && b instanceof Map) {
    if (a.size !== b.size) return false;
    for (const [k, v] of a) if (!b.has(k) || !deepStrictEqual(v, b.get(k))) return false;
    return true;
  }
  if (a instanceof Set && b instanceof Set) return a.size === b.size && [...a].every((v) => b.has(v));
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => Object.hasOwn(b, k) && deepStrictEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

function fail(message?: string | Error): never {
  if (message instanceof Error) throw message;
  throw new AssertionError(message ?? "Failed");
}

const assert = {
  ok(value: unknown, message?: string | Error): asserts value {
    if (!value) fail(message ?? `expected a truthy value, got ${show(value)}`);
  },
  equal<T>(actual: unknown, expected: T, message?: string | Error): asserts actual is T {
    if (!Object.is(actual, expected)) fail(message === undefined ? `${show(actual)} !== ${show(expected)}` : `${String(message)}: ${show(actual)} !== ${show(expected)}`);
  },
  deepEqual<T>(actual: unknown, expected: T, message?: string | Error): asserts actual is T {
    if (!deepStrictEqual(actual, expected)) fail(message === undefined ? `${show(actual)} is not deep-equal to ${show(expected)}` : `${String(message)}: ${show(actual)} vs ${show(expected)}`);
  },
  fail,
};
export default assert;

// -- node:test ------------------------------------------------------------------------------------
export type TestFn = () => unknown;
export const registered: { name: string; fn: TestFn }[] = [];

export function test(name: string, fn: TestFn): void {
  registered.push({ name, fn });
}

// -- node:crypto ----------------------------------------------------------------------------------
export function createHash(algorithm: string): { update(data: Uint8Array): { digest(encoding: "hex"): string } } {
  if (algorithm !== "sha256") throw new Error(`createHash: only sha256 here, not ${algorithm}`);
  return {
    update: (data) => ({ digest: () => sodium.to_hex(sodium.crypto_hash_sha256(data)) }),
  };
}

// -- node:fs, node:path, node:url -------------------------------------------------------------------
/** What the page fetched before it loaded the tests: the vector files by name, the list's bytes. */
export interface Fetched {
  vectors: Record<string, string>;
  commonPasswords: Uint8Array;
}

export const fetched: Fetched = { vectors: {}, commonPasswords: new Uint8Array(0) };

function basename(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

export function readdirSync(_dir: string): string[] {
  return Object.keys(fetched.vectors);
}

export function readFileSync(path: string, encoding?: string): string | Uint8Array {
  const name = basename(path);
  if (name === "common-passwords.txt") return fetched.commonPasswords;
  const text = fetched.vectors[name];
  if (text === undefined) throw new Error(`no such vector file: ${name}`);
  if (encoding === undefined) return new TextEncoder().encode(text);
  return text;
}

export function fileURLToPath(url: string): string {
  return new URL(url).pathname;
}

export function dirname(path: string): string {
  return path.slice(0, Math.max(path.lastIndexOf("/"), 0)) || "/";
}

export function join(...parts: string[]): string {
  return parts.join("/");
}

export const resolve = join;

// -- the globals Buffer and process --------------------------------------------------------------
/** `Buffer.from(bytes).equals(...)` and `.toString("hex")`, which the tests use. */
export class Buffer {
  private constructor(readonly bytes: Uint8Array) {}

  static from(data: ArrayLike<number> | string): Buffer {
    return new Buffer(typeof data === "string" ? new TextEncoder().encode(data) : Uint8Array.from(data));
  }

  equals(other: Buffer | Uint8Array): boolean {
    return deepStrictEqual(this.bytes, other instanceof Buffer ? other.bytes : Uint8Array.from(other));
  }

  toString(encoding?: string): string {
    if (encoding === "hex") return Array.from(this.bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    return new TextDecoder().decode(this.bytes);
  }
}

export const process = { env: {} as Record<string, string | undefined> };
