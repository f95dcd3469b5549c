/**
 * What the vectors do not pin down but docs/format.md does, and where JavaScript differs from
 * Python by default: u64 values beyond 2^53, code points versus UTF-16 units, the JSON number
 * grammar, byte order marks, surrogates; and the payload as a stream.
 */

import assert from "node:assert/strict";
import { test } from "node:test";

import { concat, type Bytes } from "../src/vault/bytes.js";
import { randomBytes, ready } from "../src/vault/crypto.js";
import { IntegrityError, MalformedError, RollbackError } from "../src/vault/errors.js";
import { decodeHeader, openHeader, sealHeader } from "../src/vault/header.js";
import { indexHash, openIndex, sealIndex } from "../src/vault/dossier-index.js";
import { privateIdentityFromKeys } from "../src/vault/keys.js";
import { decodeDocumentMetadata, encodeDocumentMetadata, type DocumentMetadata } from "../src/vault/metadata.js";
import { ageFileKey, decryptStream, encryptStream } from "../src/vault/payload.js";
import { entryHash, GENESIS_HASH, verifyChain as verifyLogChain } from "../src/vault/logchain.js";

await ready();

const META: DocumentMetadata = { name: "foto.jpg", media_type: "image/jpeg", title: "", size: 0, modified: 0, created: 0 };

function padded(json: string | Uint8Array): Bytes {
  const body = typeof json === "string" ? new TextEncoder().encode(json) : json;
  const out = new Uint8Array(Math.ceil(body.length / 256) * 256).fill(0x20);
  out.set(body);
  return out;
}

function withName(name: string): string {
  return JSON.stringify({ ...META, name });
}

test("a name counts Unicode code points: 255 emoji pass, 256 do not", () => {
  const emoji = "\u{1F3E0}";
  assert.equal(decodeDocumentMetadata(padded(withName(emoji.repeat(255)))).name, emoji.repeat(255));
  assert.throws(() => decodeDocumentMetadata(padded(withName(emoji.repeat(256)))), MalformedError);
});

test("integers are JSON numbers without fraction or exponent, within 0..2^53-1", () => {
  const sized = (size: string) => padded(`{"name":"a","media_type":"","title":"","size":${size},"modified":0,"created":0}`);
  assert.equal(decodeDocumentMetadata(sized("9007199254740991")).size, 2 ** 53 - 1);
  for (const bad of ["9007199254740992", "1e3", "1E0", "0.0", "-1", "01", "+1", "Infinity", "\"1\""]) {
    assert.throws(() => decodeDocumentMetadata(sized(bad)), MalformedError, bad);
  }
});

test("a byte order mark, a lone surrogate escape or a control character in a string is refused", () => {
  const bom = concat(Uint8Array.of(0xef, 0xbb, 0xbf), new TextEncoder().encode(withName("a")));
  assert.throws(() => decodeDocumentMetadata(padded(bom)), MalformedError);
  assert.throws(() => decodeDocumentMetadata(padded(withName("a").replace('"a"', '"\\ud800"'))), MalformedError);
  assert.throws(() => decodeDocumentMetadata(padded(withName("a").replace('"a"', '"\\udc00x"'))), MalformedError);
  assert.throws(() => decodeDocumentMetadata(padded(withName("a").replace('"a"', '"a\tb"'))), MalformedError);
  // A surrogate pair written as escapes is one character, and fine.
  assert.equal(decodeDocumentMetadata(padded(withName("a").replace('"a"', '"\\ud83c\\udfe0"'))).name, "\u{1F3E0}");
});

test("JSON white space around and inside the object is free; other white space is not", () => {
  const spaced = `\n\t{ "name" : "a" ,\r\n "media_type":"", "title":"", "size":0, "modified":0, "created":0 }\n`;
  assert.equal(decodeDocumentMetadata(padded(spaced)).name, "a");
  assert.throws(() => decodeDocumentMetadata(padded(`\u00a0${withName("a")}`)), MalformedError);
});

test("the canonical writer keeps non-ASCII as UTF-8 and escapes only what JSON requires", () => {
  const meta = { ...META, name: "Schade – \u00e9\u00e9n.pdf", title: "regel 1\nregel 2\u0001 \u2028 \u007f /" };
  const text = new TextDecoder().decode(encodeDocumentMetadata(meta)).trimEnd();
  assert.equal(text, '{"created":0,"media_type":"image/jpeg","modified":0,"name":"Schade – één.pdf","size":0,"title":"regel 1\\nregel 2\\u0001 \u2028 \u007f /"}');
  assert.deepEqual(decodeDocumentMetadata(encodeDocumentMetadata(meta)), meta);
});

test("a header version or time above 2^53 parses, opens and re-encodes exactly", async () => {
  const author = await privateIdentityFromKeys(randomBytes(16), "alice", 1, randomBytes(96));
  const dossierId = randomBytes(16);
  const documentId = randomBytes(16);
  const dossierKey = randomBytes(32);
  const version = (1n << 62n) + 1n;
  const createdAt = (1n << 64n) - 1n;
  const header = await sealHeader(author, {
    dossierId, documentId, version, epoch: 1n << 40n, dossierKey, fileKey: randomBytes(32),
    payloadSize: 32n, payloadHash: randomBytes(32), metadata: META, createdAt,
  });
  const decoded = decodeHeader(header);
  assert.equal(decoded.version, version);
  assert.equal(decoded.createdAt, createdAt);
  const opened = await openHeader(header, { dossierId, documentId, version, author: author.public }, { dossierKeys: new Map([[1n << 40n, dossierKey]]) });
  assert.equal(opened.header.version, version);
  await assert.rejects(
    openHeader(header, { dossierId, documentId, version: version - 1n, author: author.public }, { dossierKeys: new Map([[1n << 40n, dossierKey]]) }),
    IntegrityError,
  );
  await assert.rejects(openHeader(header, { dossierId, documentId, author: author.public }, { dossierKeys: new Map() }), IntegrityError);
});

test("an index seen before: a lower counter, or other bytes with the same counter, is a rollback; the next must name it", async () => {
  const owner = await privateIdentityFromKeys(randomBytes(16), "alice", 1, randomBytes(96));
  const dossierId = randomBytes(16);
  const dossierKey = randomBytes(32);
  const make = (counter: bigint, title: string, previousHash: Uint8Array = randomBytes(32)) =>
    sealIndex(owner, { dossierId, counter, previousHash, epoch: 1n, dossierKey, metadata: { title, created: 0 }, entries: [], deletions: [] });
  const seven = await make(7n, "Huis");
  const expect = { dossierId, owner: owner.public, dossierKeys: new Map([[1n, dossierKey]]) };
  assert.equal((await openIndex(seven, { ...expect, highestSeen: 7n, previous: seven })).metadata.title, "Huis");
  await assert.rejects(openIndex(await make(7n, "Ander huis"), { ...expect, highestSeen: 7n, previous: seven }), RollbackError);
  await assert.rejects(openIndex(await make(6n, "Huis"), { ...expect, highestSeen: 7n, previous: seven }), RollbackError);
  const eight = await make(8n, "Huis", await indexHash(seven));
  assert.equal((await openIndex(eight, { ...expect, highestSeen: 7n, previous: seven })).index.counter, 8n);
  await assert.rejects(openIndex(await make(8n, "Huis"), { ...expect, highestSeen: 7n, previous: seven }), RollbackError);
  // A memory of only counter and hash (kept before format version 2) still catches the fork.
  const memory = { ...expect, highestSeen: 7n, previousHash: await indexHash(seven) };
  assert.equal((await openIndex(eight, memory)).index.counter, 8n);
  await assert.rejects(openIndex(await make(8n, "Huis"), memory), RollbackError);
});

test("an index names a predecessor exactly when its counter is above 1", async () => {
  const owner = await privateIdentityFromKeys(randomBytes(16), "alice", 1, randomBytes(96));
  const fields = { dossierId: randomBytes(16), epoch: 1n, dossierKey: randomBytes(32), metadata: { title: "Huis", created: 0 }, entries: [], deletions: [] };
  await sealIndex(owner, { ...fields, counter: 1n, previousHash: new Uint8Array(32) });
  await assert.rejects(sealIndex(owner, { ...fields, counter: 1n, previousHash: randomBytes(32) }), MalformedError);
  await assert.rejects(sealIndex(owner, { ...fields, counter: 2n, previousHash: new Uint8Array(32) }), MalformedError);
});

async function pipe(chunks: Uint8Array[], stream: TransformStream<Uint8Array, Uint8Array>): Promise<Bytes> {
  const source = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
  const parts: Uint8Array[] = [];
  const reader = source.pipeThrough(stream).getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
  }
  return concat(...parts);
}

test("the payload streams through TransformStreams in any piece sizes, and a bad chunk errors the stream", async () => {
  const key = await ageFileKey(randomBytes(32));
  const plaintext = randomBytes(3 * 65536 + 17);
  const pieces = [plaintext.subarray(0, 1), plaintext.subarray(1, 70000), plaintext.subarray(70000)];
  const enc = encryptStream(key);
  const payload = await pipe(pieces, enc.stream);
  const sealedDigest = await enc.digest;
  assert.equal(sealedDigest.size, BigInt(payload.length));
  const dec = decryptStream(key);
  const back = await pipe([payload.subarray(0, 5), payload.subarray(5, 100000), payload.subarray(100000)], dec.stream);
  assert.ok(Buffer.from(back).equals(Buffer.from(plaintext)));
  assert.deepEqual((await dec.digest).blake3, sealedDigest.blake3);

  const damaged = payload.slice();
  damaged[payload.length - 1] = (damaged[payload.length - 1] as number) ^ 1;
  const bad = decryptStream(key);
  await assert.rejects(pipe([damaged], bad.stream), IntegrityError);
  await assert.rejects(bad.digest, IntegrityError);
});

// -- the access-log chain (section 16) ---------------------------------------------------------
async function logOf(...events: Record<string, unknown>[]): Promise<Record<string, unknown>[]> {
  const entries: Record<string, unknown>[] = [];
  let prev = GENESIS_HASH;
  for (const [i, event] of events.entries()) {
    const entry: Record<string, unknown> = { seq: i + 1, ...event, prev_hash: prev };
    entry.hash = prev = await entryHash(prev, entry);
    entries.push(entry);
  }
  return entries;
}

test("access log: a boolean seq is malformed, not entry 1", async () => {
  const [entry] = await logOf({ at: 1, actor_id: "a", action: "upload" });
  await assert.rejects(verifyLogChain([{ ...entry, seq: true }]), MalformedError);
});

test("access log: text with a lone surrogate has no UTF-8 form and is malformed", async () => {
  await assert.rejects(entryHash(GENESIS_HASH, { seq: 1, action: "upload\uD800" }), MalformedError);
});

test("access log: non-ASCII text is hashed as UTF-8, as the server writes it", async () => {
  const [entry] = await logOf({ at: 1, actor_id: "ë", action: "share", subject_id: "\u{1F3E0}" });
  await verifyLogChain([entry]);
  await assert.rejects(verifyLogChain([{ ...entry, actor_id: "e" }]), IntegrityError);
});

test("access log: an entry that is not an object, or a log starting later, is refused", async () => {
  await assert.rejects(verifyLogChain(["entry"]), MalformedError);
  await assert.rejects(verifyLogChain([null]), MalformedError);
  const log = await logOf({ at: 1, action: "upload" }, { at: 2, action: "download" });
  await assert.rejects(verifyLogChain(log.slice(1)), IntegrityError);
});
