/** The download's write batching: the bytes written are the chunks given, in order, in few writes. */

import assert from "node:assert/strict";
import { test } from "node:test";

import { WriteBatch } from "../src/worker/writebatch.js";
import type { SaveWritable } from "../src/worker/protocol.js";

/** A writable that records each write, as the browser's temporary file would receive it. */
function recorder(): SaveWritable & { writes: Uint8Array[] } {
  const writes: Uint8Array[] = [];
  return {
    writes,
    async write(data) {
      writes.push(new Uint8Array(data)); // a copy: the batch may reuse nothing after handing it over
    },
    async close() {},
    async abort() {},
  };
}

const bytes = (n: number, fill: number) => new Uint8Array(n).fill(fill);
const flat = (parts: Uint8Array[]) => Buffer.concat(parts.map((p) => Buffer.from(p)));

test("chunks below the limit are held until flush, then written once, in order", async () => {
  const out = recorder();
  const batch = new WriteBatch(out, 10);
  await batch.write(bytes(3, 1));
  await batch.write(bytes(4, 2));
  assert.equal(out.writes.length, 0);
  await batch.flush();
  assert.deepEqual(flat(out.writes), flat([bytes(3, 1), bytes(4, 2)]));
  assert.equal(out.writes.length, 1);
});

test("reaching the limit writes what is gathered; the rest waits for flush", async () => {
  const out = recorder();
  const batch = new WriteBatch(out, 8);
  const given = [bytes(5, 1), bytes(5, 2), bytes(2, 3), bytes(9, 4), bytes(1, 5)];
  for (const chunk of given) await batch.write(chunk);
  assert.equal(out.writes.length, 2); // 5+5 reached 8; 2+9 reached 8; 1 is held
  await batch.flush();
  assert.equal(out.writes.length, 3);
  assert.deepEqual(flat(out.writes), flat(given));
});

test("flush with nothing gathered writes nothing", async () => {
  const out = recorder();
  const batch = new WriteBatch(out, 8);
  await batch.flush();
  await batch.write(bytes(8, 7));
  await batch.flush();
  assert.equal(out.writes.length, 1);
});

test("a failing write reaches the caller", async () => {
  const batch = new WriteBatch({ ...recorder(), write: () => Promise.reject(new Error("disk full")) }, 4);
  await assert.rejects(batch.write(bytes(4, 1)), /disk full/);
});

test("a limit below one byte is refused", () => {
  assert.throws(() => new WriteBatch(recorder(), 0), RangeError);
});
