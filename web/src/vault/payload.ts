/**
 * The payload of a document version (docs/format.md section 6): age v1's STREAM, keyed by a
 * 16-byte age file key derived from the version's file key, and the payload digest (size and
 * BLAKE3 of every payload byte, nonce included).
 *
 * The encryptor and decryptor are push-based state machines, so a document of any size streams
 * through them in pieces (`TransformStream`s are built on them below). The decryptor releases a
 * chunk's plaintext only once it knows whether that chunk is the last; a caller still MUST treat
 * everything it received as unverified until `finish()` returns, and discard it on any error.
 */

import { concat, copy, type Bytes } from "./bytes.js";
import { Blake3, chachaOpen, chachaSeal, derive, hkdfSha256, randomBytes } from "./crypto.js";
import { IntegrityError } from "./errors.js";
import { AGE_FILE_KEY } from "./labels.js";

export const NONCE_SIZE = 16;
export const CHUNK_SIZE = 65536;
export const TAG_SIZE = 16;
export const SEALED_CHUNK_SIZE = CHUNK_SIZE + TAG_SIZE;
const PAYLOAD_INFO = new TextEncoder().encode("payload");

/** What streaming a payload produced: compared with the signed header (section 7, step 8). */
export interface PayloadDigest {
  /** Every payload byte, nonce included. */
  size: bigint;
  /** BLAKE3 of the payload. */
  blake3: Bytes;
  plaintextSize: bigint;
}

/** age_file_key = derive(file_key, "kluis/v1/age-file-key", "", 16). */
export async function ageFileKey(fileKey: Uint8Array): Promise<Bytes> {
  if (fileKey.length !== 32) throw new RangeError("a file key is 32 bytes");
  return derive(fileKey, AGE_FILE_KEY, new Uint8Array(0), 16);
}

/** payload_key = HKDF-SHA256(ikm = age_file_key, salt = nonce, info = "payload"). */
export async function payloadKey(ageKey: Uint8Array, nonce: Uint8Array): Promise<Bytes> {
  if (ageKey.length !== 16) throw new RangeError("an age file key is 16 bytes");
  return hkdfSha256(ageKey, nonce, PAYLOAD_INFO, 32);
}

/** The 12-byte chunk nonce: 11-byte big-endian counter, then 0x01 for the last chunk. */
function chunkNonce(counter: number, last: boolean): Bytes {
  const nonce = new Uint8Array(12);
  let c = counter;
  for (let i = 10; i >= 0 && c > 0; i--) {
    nonce[i] = c % 256;
    c = Math.floor(c / 256);
  }
  nonce[11] = last ? 1 : 0;
  return nonce;
}

/** A growable byte queue: append pieces, take a prefix. */
class Buffer {
  private parts: Bytes[] = [];
  size = 0;

  push(data: Uint8Array): void {
    if (data.length === 0) return;
    this.parts.push(copy(data));
    this.size += data.length;
  }

  take(n: number): Bytes {
    const out = new Uint8Array(n);
    let at = 0;
    while (at < n) {
      const head = this.parts[0] as Bytes;
      const want = n - at;
      if (head.length <= want) {
        out.set(head, at);
        at += head.length;
        this.parts.shift();
      } else {
        out.set(head.subarray(0, want), at);
        this.parts[0] = head.subarray(want);
        at += want;
      }
    }
    this.size -= n;
    return out;
  }
}

export class PayloadEncryptor {
  private readonly pending = new Buffer();
  private counter = 0;
  private plaintextSize = 0n;
  private size = 0n;
  private done = false;
  private started = false;

  private constructor(
    private readonly key: Bytes,
    private readonly nonce: Bytes,
    private readonly hasher: Blake3,
  ) {}

  /** `nonce` is for reproducing a known payload (vectors); leave it out for a fresh one. */
  static async create(ageKey: Uint8Array, nonce?: Uint8Array): Promise<PayloadEncryptor> {
    const n = nonce ? copy(nonce) : randomBytes(NONCE_SIZE);
    if (n.length !== NONCE_SIZE) throw new RangeError("a payload nonce is 16 bytes");
    return new PayloadEncryptor(await payloadKey(ageKey, n), n, await Blake3.create());
  }

  private out(data: Bytes): Bytes {
    this.hasher.update(data);
    this.size += BigInt(data.length);
    return data;
  }

  private seal(piece: Uint8Array, last: boolean): Bytes {
    const chunk = chachaSeal(this.key, chunkNonce(this.counter, last), piece);
    this.counter += 1;
    return chunk;
  }

  /** Feed plaintext; returns the payload bytes ready so far (the nonce first). */
  push(plaintext: Uint8Array): Bytes[] {
    if (this.done) throw new Error("payload encryptor: already finished");
    const out: Bytes[] = [];
    if (!this.started) {
      this.started = true;
      out.push(this.out(copy(this.nonce)));
    }
    this.pending.push(plaintext);
    this.plaintextSize += BigInt(plaintext.length);
    // A full piece is sealed as not-last only once a byte after it is known to exist.
    while (this.pending.size > CHUNK_SIZE) out.push(this.out(this.seal(this.pending.take(CHUNK_SIZE), false)));
    return out;
  }

  /** Seal the last chunk (empty only when the whole plaintext is empty). */
  finish(): { chunks: Bytes[]; digest: PayloadDigest } {
    const chunks = this.push(new Uint8Array(0));
    this.done = true;
    chunks.push(this.out(this.seal(this.pending.take(this.pending.size), true)));
    return {
      chunks,
      digest: { size: this.size, blake3: this.hasher.digest(), plaintextSize: this.plaintextSize },
    };
  }
}

export class PayloadDecryptor {
  private readonly pending = new Buffer();
  private nonce: Bytes | null = null;
  private key: Bytes | null = null;
  private counter = 0;
  private plaintextSize = 0n;
  private size = 0n;
  private failed = false;
  private done = false;

  private constructor(
    private readonly ageKey: Bytes,
    private readonly hasher: Blake3,
  ) {}

  static async create(ageKey: Uint8Array): Promise<PayloadDecryptor> {
    if (ageKey.length !== 16) throw new RangeError("an age file key is 16 bytes");
    return new PayloadDecryptor(copy(ageKey), await Blake3.create());
  }

  private fail(message: string): never {
    this.failed = true;
    throw new IntegrityError(`payload: ${message}`);
  }

  private open(chunk: Uint8Array, last: boolean): Bytes {
    const plaintext = chachaOpen(this.key as Bytes, chunkNonce(this.counter, last), chunk);
    if (plaintext === null) {
      this.fail(last ? `chunk ${this.counter} does not authenticate as the last chunk` : `chunk ${this.counter} does not authenticate`);
    }
    this.counter += 1;
    this.plaintextSize += BigInt(plaintext.length);
    return plaintext;
  }

  /** Feed payload bytes; returns plaintext of chunks known not to be the last. */
  async push(data: Uint8Array): Promise<Bytes[]> {
    if (this.failed) throw new IntegrityError("payload: already failed");
    if (this.done) throw new Error("payload decryptor: already finished");
    this.hasher.update(data);
    this.size += BigInt(data.length);
    this.pending.push(data);
    if (this.nonce === null) {
      if (this.pending.size < NONCE_SIZE) return [];
      this.nonce = this.pending.take(NONCE_SIZE);
      this.key = await payloadKey(this.ageKey, this.nonce);
    }
    const out: Bytes[] = [];
    // More bytes after a full chunk: it is not the last, and must open as not-last.
    while (this.pending.size > SEALED_CHUNK_SIZE) out.push(this.open(this.pending.take(SEALED_CHUNK_SIZE), false));
    return out;
  }

  /** The end of the payload: open the last chunk and return the digest. */
  async finish(): Promise<{ chunks: Bytes[]; digest: PayloadDigest }> {
    if (this.failed) throw new IntegrityError("payload: already failed");
    this.done = true;
    if (this.nonce === null || this.pending.size < TAG_SIZE) this.fail("shorter than a nonce and one tag");
    const chunk = this.pending.take(this.pending.size);
    if (chunk.length === TAG_SIZE && this.counter > 0) this.fail("an empty last chunk after other chunks");
    const plaintext = this.open(chunk, true);
    return {
      chunks: [plaintext],
      digest: { size: this.size, blake3: this.hasher.digest(), plaintextSize: this.plaintextSize },
    };
  }
}

/** Encrypt a whole plaintext in memory (small documents, tests). */
export async function encryptPayload(
  ageKey: Uint8Array,
  plaintext: Uint8Array,
  nonce?: Uint8Array,
): Promise<{ payload: Bytes; digest: PayloadDigest }> {
  const enc = await PayloadEncryptor.create(ageKey, nonce);
  const parts = enc.push(plaintext);
  const { chunks, digest } = enc.finish();
  return { payload: concat(...parts, ...chunks), digest };
}

/** Decrypt a whole payload in memory (`IntegrityError`). */
export async function decryptPayload(ageKey: Uint8Array, payload: Uint8Array): Promise<{ plaintext: Bytes; digest: PayloadDigest }> {
  const dec = await PayloadDecryptor.create(ageKey);
  const parts: Bytes[] = [];
  for (let at = 0; at < payload.length || at === 0; at += SEALED_CHUNK_SIZE) {
    parts.push(...(await dec.push(payload.subarray(at, at + SEALED_CHUNK_SIZE))));
    if (payload.length === 0) break;
  }
  const { chunks, digest } = await dec.finish();
  return { plaintext: concat(...parts, ...chunks), digest };
}

/** A TransformStream that encrypts plaintext into a payload; `digest` resolves at the end. */
export function encryptStream(ageKey: Uint8Array, nonce?: Uint8Array): { stream: TransformStream<Uint8Array, Uint8Array>; digest: Promise<PayloadDigest> } {
  let resolve!: (d: PayloadDigest) => void;
  let reject!: (e: unknown) => void;
  const digest = new Promise<PayloadDigest>((res, rej) => ((resolve = res), (reject = rej)));
  let enc: PayloadEncryptor;
  const stream = new TransformStream<Uint8Array, Uint8Array>({
    async start() {
      enc = await PayloadEncryptor.create(ageKey, nonce);
    },
    transform(chunk, controller) {
      for (const part of enc.push(chunk)) controller.enqueue(part);
    },
    flush(controller) {
      try {
        const end = enc.finish();
        for (const part of end.chunks) controller.enqueue(part);
        resolve(end.digest);
      } catch (error) {
        reject(error);
        throw error;
      }
    },
  });
  return { stream, digest };
}

/**
 * A TransformStream that decrypts a payload. It errors with `IntegrityError` on the first bad
 * chunk; whatever it emitted before must then be discarded by the consumer. `digest` resolves
 * only after the last chunk authenticated.
 */
export function decryptStream(ageKey: Uint8Array): { stream: TransformStream<Uint8Array, Uint8Array>; digest: Promise<PayloadDigest> } {
  let resolve!: (d: PayloadDigest) => void;
  let reject!: (e: unknown) => void;
  const digest = new Promise<PayloadDigest>((res, rej) => ((resolve = res), (reject = rej)));
  digest.catch(() => undefined);
  let dec: PayloadDecryptor;
  const stream = new TransformStream<Uint8Array, Uint8Array>({
    async start() {
      dec = await PayloadDecryptor.create(ageKey);
    },
    async transform(chunk, controller) {
      try {
        for (const part of await dec.push(chunk)) controller.enqueue(part);
      } catch (error) {
        reject(error);
        throw error;
      }
    },
    async flush(controller) {
      try {
        const end = await dec.finish();
        for (const part of end.chunks) controller.enqueue(part);
        resolve(end.digest);
      } catch (error) {
        reject(error);
        throw error;
      }
    },
  });
  return { stream, digest };
}
