/**
 * Metadata (docs/format.md sections 7 and 9): a UTF-8 JSON object with exactly the listed
 * members, padded with spaces to a multiple of 256 bytes. Decoding is strict about members and
 * types and free about member order and white space; any failure is `MalformedError`.
 *
 * Writers emit the canonical form: members sorted by name, no white space, non-ASCII as raw
 * UTF-8 (only the escapes JSON requires), then the padding.
 */

import { type Bytes } from "./bytes.js";
import { MalformedError } from "./errors.js";
import { parseJson, type JsonValue } from "./json.js";

export const PAD = 256;
export const MAX_INTEGER = 2 ** 53 - 1;

export interface DocumentMetadata {
  name: string;
  media_type: string;
  title: string;
  size: number;
  modified: number;
  created: number;
}

export interface DossierMetadata {
  title: string;
  created: number;
}

type Kind = "string" | "integer";
interface MemberRule {
  kind: Kind;
  min?: number;
  max?: number;
  check?: (value: string) => boolean;
}

function characters(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

const CONTROL = /[\u0000-\u001f\u007f]/;

function validName(name: string): boolean {
  return name !== "." && name !== ".." && !name.includes("/") && !name.includes("\\") && !CONTROL.test(name);
}

const DOCUMENT_RULES: Record<keyof DocumentMetadata, MemberRule> = {
  name: { kind: "string", min: 1, max: 255, check: validName },
  media_type: { kind: "string", max: 255 },
  title: { kind: "string", max: 1024 },
  size: { kind: "integer" },
  modified: { kind: "integer" },
  created: { kind: "integer" },
};

const DOSSIER_RULES: Record<keyof DossierMetadata, MemberRule> = {
  title: { kind: "string", min: 1, max: 1024 },
  created: { kind: "integer" },
};

function decodeWith(data: Uint8Array, rules: Record<string, MemberRule>, what: string): Record<string, string | number> {
  if (data.length === 0 || data.length % PAD !== 0) throw new MalformedError(`${what}: not padded to a multiple of ${PAD} bytes`);
  let spaces = 0;
  while (spaces < data.length && data[data.length - 1 - spaces] === 0x20) spaces++;
  if (spaces >= PAD) throw new MalformedError(`${what}: padded with ${PAD} or more spaces`);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(data);
  } catch {
    throw new MalformedError(`${what}: not UTF-8`);
  }
  const json: JsonValue = parseJson(text, what);
  if (json.type !== "object") throw new MalformedError(`${what}: not a JSON object`);
  const out: Record<string, string | number> = {};
  const seen = new Set<string>();
  for (const [name, value] of json.members) {
    if (seen.has(name)) throw new MalformedError(`${what}: member ${JSON.stringify(name)} appears twice`);
    seen.add(name);
    const rule = Object.hasOwn(rules, name) ? rules[name] : undefined;
    if (rule === undefined) throw new MalformedError(`${what}: unknown member ${JSON.stringify(name)}`);
    if (rule.kind === "string") {
      if (value.type !== "string") throw new MalformedError(`${what}: ${name} is not a string`);
      const n = characters(value.value);
      if (n < (rule.min ?? 0) || n > (rule.max ?? Infinity)) throw new MalformedError(`${what}: ${name} has ${n} characters`);
      if (rule.check && !rule.check(value.value)) throw new MalformedError(`${what}: ${name} is not allowed`);
      out[name] = value.value;
    } else {
      if (value.type !== "number" || !value.integer) throw new MalformedError(`${what}: ${name} is not an integer`);
      const big = BigInt(value.text);
      if (big < 0n || big > BigInt(MAX_INTEGER)) throw new MalformedError(`${what}: ${name} is out of range`);
      out[name] = Number(big);
    }
  }
  for (const name of Object.keys(rules)) {
    if (!seen.has(name)) throw new MalformedError(`${what}: member ${name} is missing`);
  }
  return out;
}

function encodeWith(values: Record<string, string | number>, rules: Record<string, MemberRule>, what: string): Bytes {
  const names = Object.keys(rules).sort();
  const canonical: Record<string, string | number> = {};
  for (const name of names) canonical[name] = values[name] as string | number;
  const body = new TextEncoder().encode(JSON.stringify(canonical));
  const padded = new Uint8Array(Math.ceil(Math.max(body.length, 1) / PAD) * PAD).fill(0x20);
  padded.set(body);
  decodeWith(padded, rules, what); // a writer never writes what a reader refuses
  return padded;
}

export function decodeDocumentMetadata(data: Uint8Array): DocumentMetadata {
  return decodeWith(data, DOCUMENT_RULES, "document metadata") as unknown as DocumentMetadata;
}

export function encodeDocumentMetadata(meta: DocumentMetadata): Bytes {
  return encodeWith({ ...meta }, DOCUMENT_RULES, "document metadata");
}

export function decodeDossierMetadata(data: Uint8Array): DossierMetadata {
  return decodeWith(data, DOSSIER_RULES, "dossier metadata") as unknown as DossierMetadata;
}

export function encodeDossierMetadata(meta: DossierMetadata): Bytes {
  return encodeWith({ ...meta }, DOSSIER_RULES, "dossier metadata");
}
