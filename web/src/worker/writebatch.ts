/**
 * Plaintext chunks gathered into few large writes for a File System Access writable.
 *
 * A payload opens in 64 KiB chunks; each `write()` on a FileSystemWritableFileStream is a round
 * trip to the browser's file process, so writing chunk by chunk spent most of a download's time
 * waiting on those round trips. Gathering up to `limit` bytes (4 MiB by default) keeps memory
 * bounded and makes the writes few. Nothing here decides what is written: the caller passes only
 * chunks that authenticated, and puts the file in place (`close()`) only after its own checks.
 */

import type { SaveWritable } from "./protocol.js";

export const WRITE_BATCH_BYTES = 4 * 1024 * 1024;

export class WriteBatch {
  private chunks: Uint8Array<ArrayBuffer>[] = [];
  private size = 0;

  constructor(
    private readonly writable: SaveWritable,
    private readonly limit = WRITE_BATCH_BYTES,
  ) {
    if (!(limit > 0)) throw new RangeError("a write batch holds at least one byte");
  }

  /** Keep `chunk`; write what is gathered once it reaches the limit. */
  async write(chunk: Uint8Array<ArrayBuffer>): Promise<void> {
    this.chunks.push(chunk);
    this.size += chunk.length;
    if (this.size >= this.limit) await this.flush();
  }

  /** Write what is gathered, as one piece (nothing when empty). */
  async flush(): Promise<void> {
    if (this.chunks.length === 0) return;
    const whole = this.chunks.length === 1 ? (this.chunks[0] as Uint8Array<ArrayBuffer>) : joined(this.chunks, this.size);
    this.chunks = [];
    this.size = 0;
    await this.writable.write(whole);
  }
}

function joined(chunks: Uint8Array[], size: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}
