/**
 * Byte strings and the integer encodings of docs/format.md section 1: unsigned big-endian u8,
 * u32 and u64, fixed-size fields and length-prefixed `vbytes`.
 *
 * u64 values are `bigint`: the format allows the whole range (a version or time above 2^53
 * parses), and a `number` would silently round it.
 */

import { MalformedError } from "./errors.js";

export type Bytes = Uint8Array<ArrayBuffer>;

export const U32_MAX = 0xffff_ffff;
export const U64_MAX = (1n << 64n) - 1n;

export function concat(...parts: Uint8Array[]): Bytes {
  let size = 0;
  for (const part of parts) size += part.length;
  const out = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

export function u8(value: number): Bytes {
  if (!Number.isInteger(value) || value < 0 || value > 0xff) throw new RangeError(`u8 ${value}`);
  return Uint8Array.of(value);
}

export function u32(value: number): Bytes {
  if (!Number.isInteger(value) || value < 0 || value > U32_MAX) throw new RangeError(`u32 ${value}`);
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value);
  return out;
}

export function u64(value: bigint | number): Bytes {
  const big = typeof value === "bigint" ? value : BigInt(value);
  if (big < 0n || big > U64_MAX) throw new RangeError(`u64 ${value}`);
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, big);
  return out;
}

/** `vbytes`: a u32 length followed by the bytes. */
export function vbytes(data: Uint8Array): Bytes {
  return concat(u32(data.length), data);
}

export function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number);
  return diff === 0;
}

/** Byte-wise comparison, as the format sorts ids: negative, zero or positive. */
export function compare(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

export function isZero(data: Uint8Array): boolean {
  return data.every((b) => b === 0);
}

export function toHex(data: Uint8Array): string {
  let out = "";
  for (const b of data) out += b.toString(16).padStart(2, "0");
  return out;
}

export function fromHex(text: string): Bytes {
  if (text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) throw new TypeError("not hex");
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

const encoder = new TextEncoder();

export function utf8(text: string): Bytes {
  return encoder.encode(text);
}

/** ASCII text (labels, magic): each character one byte. */
export function ascii(text: string): Bytes {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0x7f) throw new TypeError("not ASCII");
    out[i] = c;
  }
  return out;
}

/** A copy whose buffer is exactly its bytes (for APIs that take a BufferSource). */
export function copy(data: Uint8Array): Bytes {
  return new Uint8Array(data);
}

/**
 * Reads a structure front to back. Every read that runs past the end raises MalformedError
 * naming the structure; `end()` rejects trailing bytes (section 1).
 */
export class Reader {
  private at = 0;
  private readonly view: DataView;

  constructor(
    private readonly data: Uint8Array,
    private readonly what: string,
  ) {
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  }

  get offset(): number {
    return this.at;
  }

  get remaining(): number {
    return this.data.length - this.at;
  }

  bytes(size: number): Bytes {
    if (size > this.remaining) throw new MalformedError(`${this.what}: truncated`);
    const out = this.data.slice(this.at, this.at + size);
    this.at += size;
    return out;
  }

  u8(): number {
    if (this.remaining < 1) throw new MalformedError(`${this.what}: truncated`);
    return this.view.getUint8(this.at++);
  }

  u32(): number {
    if (this.remaining < 4) throw new MalformedError(`${this.what}: truncated`);
    const value = this.view.getUint32(this.at);
    this.at += 4;
    return value;
  }

  u64(): bigint {
    if (this.remaining < 8) throw new MalformedError(`${this.what}: truncated`);
    const value = this.view.getBigUint64(this.at);
    this.at += 8;
    return value;
  }

  /** A `vbytes` field; a length above `max` is rejected before anything is read. */
  vbytes(max: number, field: string): Bytes {
    const size = this.u32();
    if (size > max) throw new MalformedError(`${this.what}: ${field} of ${size} bytes exceeds ${max}`);
    return this.bytes(size);
  }

  /** Magic and format version 1 (section 1). */
  header(magic: string): void {
    this.headerVersion(magic, [1]);
  }

  /** The magic bytes, then a format version out of `versions`, which it returns. */
  headerVersion(magic: string, versions: readonly number[]): number {
    const got = this.bytes(4);
    if (!equal(got, ascii(magic))) throw new MalformedError(`${this.what}: wrong magic bytes`);
    const version = this.u8();
    if (!versions.includes(version)) throw new MalformedError(`${this.what}: unsupported format version`);
    return version;
  }

  /** All bytes read so far. */
  consumed(): Bytes {
    return this.data.slice(0, this.at);
  }

  end(): void {
    if (this.remaining !== 0) throw new MalformedError(`${this.what}: trailing bytes`);
  }
}

/** Reject 0 in a version, epoch, counter or key version (section 1). */
export function atLeastOne(value: bigint | number, what: string, field: string): void {
  if (value < 1) throw new MalformedError(`${what}: ${field} must be at least 1`);
}
