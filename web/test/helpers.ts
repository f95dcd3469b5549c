/** Shared helpers for the Node tests: hex, vector files, expected errors. */

import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join, resolve } from "node:path";

import { fromHex, type Bytes } from "../src/vault/bytes.js";
import { ERRORS, VaultError, type ErrorName } from "../src/vault/errors.js";
import { CommonPasswords } from "../src/vault/passphrase.js";

/** tests/vectors/ of the repository. The compiled tests run from web/build/test/. */
export const VECTORS_DIR = process.env["KLUIS_VECTORS"] ?? resolve(dirname(fileURLToPath(import.meta.url)), "../../../tests/vectors");

/** The repository's root. The compiled tests run from web/build/test/. */
export const REPO_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

/** The bundled list of the passphrase rule, read from the repository (the browser fetches its copy). */
export const COMMON_PASSWORDS_FILE = join(REPO_DIR, "vault", "data", "common-passwords.txt");

let commonPasswordsLoaded: Promise<CommonPasswords> | undefined;

/** The list of COMMON_PASSWORDS_FILE, checked against its SHA-256 like the browser's copy. */
export function commonPasswords(): Promise<CommonPasswords> {
  commonPasswordsLoaded ??= CommonPasswords.fromBytes(readFileSync(COMMON_PASSWORDS_FILE));
  return commonPasswordsLoaded;
}

export type Vector = Record<string, any> & { structure: string; description: string; expect: string };

export function vectorFiles(): string[] {
  return readdirSync(VECTORS_DIR)
    .filter((name) => name.endsWith(".json"))
    .sort();
}

export function loadVector(name: string): Vector {
  const v = JSON.parse(readFileSync(join(VECTORS_DIR, name), "ascii")) as Vector;
  assert.equal(typeof v.structure, "string", `${name}: structure`);
  assert.ok(typeof v.description === "string" && v.description.length > 0, `${name}: description`);
  assert.equal(typeof v.expect, "string", `${name}: expect`);
  assert.ok(name.startsWith(`${v.structure}-`), `${name}: file name starts with its structure`);
  return v;
}

export function h(text: string): Bytes {
  return fromHex(text);
}

export function hex(data: Uint8Array): string {
  return Buffer.from(data).toString("hex");
}

/** Run `check`; it must fail with the named error or a subclass of it. */
export async function expectError(expect: string, check: () => Promise<unknown>): Promise<void> {
  assert.ok(Object.hasOwn(ERRORS, expect), `unknown error name ${expect}`);
  const cls = ERRORS[expect as ErrorName];
  let thrown: unknown;
  try {
    await check();
  } catch (error) {
    thrown = error;
  }
  assert.ok(thrown !== undefined, `expected ${expect}, but the check passed`);
  assert.ok(thrown instanceof VaultError, `expected ${expect}, got ${String(thrown)}\n${(thrown as Error)?.stack ?? ""}`);
  assert.ok(thrown instanceof cls, `expected ${expect}, got ${thrown.name}: ${thrown.message}`);
}
