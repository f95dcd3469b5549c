/**
 * What the vectors do not pin down but docs/format.md does, and where JavaScript differs from
 * Python by default: u64 values beyond 2^53, code points versus UTF-16 units, the JSON number
 * grammar, byte order marks, surrogates; and the payload as a stream.
 */

import assert from "node:assert/strict";
import { test } from "node:test";

import { concat, fromHex, toHex, u32, u64, type Bytes } from "../src/vault/bytes.js";
import { checkExtension, checkpointText, openCheckpoint, parseCheckpoint, trustedLog } from "../src/vault/checkpoint.js";
import { cosignatureMessage, cosignatureVerifier, parseWitnessVkey, WitnessPolicy } from "../src/vault/cosignature.js";
import { ed25519Group, ed25519Sign, randomBytes, ready, signingKeyPair } from "../src/vault/crypto.js";
import { IntegrityError, MalformedError, RollbackError, SignatureError } from "../src/vault/errors.js";
import { decodeLogEntry, labelInput, NAMESPACE_USER } from "../src/vault/logentry.js";
import { b64encode, checkKeyName, ed25519Verifier, keyId, MAX_NOTE_SIZE, openNote, parseVkey, type Verifier } from "../src/vault/note.js";
import { decodeOperatorKey } from "../src/vault/operator.js";
import { decodeEntryBundle, encodeEntryBundle, parseTilePath, tile, tileData, TileHashReader, tilePath, tilesForSize } from "../src/vault/tiles.js";
import { EMPTY_ROOT, leafHash, MemoryTree, nodeHash, treeHash, verifyConsistency, verifyInclusion } from "../src/vault/tlog.js";
import { prove, publicKeyOf, verify as vrfVerify } from "../src/vault/vrf.js";
import { decodeHeader, openHeader, sealHeader } from "../src/vault/header.js";
import { indexHash, openIndex, sealIndex } from "../src/vault/dossier-index.js";
import { privateIdentityFromKeys, signWithLabel } from "../src/vault/keys.js";
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

// -- the key transparency log (section 17) -----------------------------------------------------

/** RFC 6962 2.1 straight from its definitions, over leaf hashes: MTH, PATH and PROOF. */
async function mth(leaves: Bytes[]): Promise<Bytes> {
  if (leaves.length === 0) return EMPTY_ROOT;
  if (leaves.length === 1) return leaves[0] as Bytes;
  const k = 1 << Math.floor(Math.log2(leaves.length - 1));
  return nodeHash(await mth(leaves.slice(0, k)), await mth(leaves.slice(k)));
}

async function path(m: number, leaves: Bytes[]): Promise<Bytes[]> {
  if (leaves.length <= 1) return [];
  const k = 1 << Math.floor(Math.log2(leaves.length - 1));
  if (m < k) return [...(await path(m, leaves.slice(0, k))), await mth(leaves.slice(k))];
  return [...(await path(m - k, leaves.slice(k))), await mth(leaves.slice(0, k))];
}

async function subproof(m: number, leaves: Bytes[], whole: boolean): Promise<Bytes[]> {
  if (m === leaves.length) return whole ? [] : [await mth(leaves)];
  const k = 1 << Math.floor(Math.log2(leaves.length - 1));
  if (m <= k) return [...(await subproof(m, leaves.slice(0, k), whole)), await mth(leaves.slice(k))];
  return [...(await subproof(m - k, leaves.slice(k), false)), await mth(leaves.slice(0, k))];
}

function flipped(hashes: Bytes[], i: number): Bytes[] {
  const out = hashes.map((x) => x.slice());
  const hash = out[i] as Bytes;
  hash[0] = (hash[0] as number) ^ 1;
  return out;
}

const LEAVES = await Promise.all(Array.from({ length: 20 }, (_, i) => leafHash(new TextEncoder().encode(`entry ${i}`))));

test("tree: every inclusion proof of trees up to 20 entries verifies, and no altered one does", async () => {
  for (let n = 1; n <= 20; n++) {
    const root = await mth(LEAVES.slice(0, n));
    for (let m = 0; m < n; m++) {
      const proof = await path(m, LEAVES.slice(0, n));
      await verifyInclusion(LEAVES[m] as Bytes, BigInt(m), BigInt(n), proof, root);
      for (const other of [m - 1, m + 1]) {
        if (other >= 0) await assert.rejects(verifyInclusion(LEAVES[m] as Bytes, BigInt(other), BigInt(n), proof, root), IntegrityError);
      }
      for (let i = 0; i < proof.length; i++) {
        await assert.rejects(verifyInclusion(LEAVES[m] as Bytes, BigInt(m), BigInt(n), flipped(proof, i), root), IntegrityError);
      }
      await assert.rejects(verifyInclusion(LEAVES[m] as Bytes, BigInt(m), BigInt(n), [...proof, root], root), IntegrityError);
    }
  }
});

test("tree: every consistency proof between trees up to 20 entries verifies, and no altered one does", async () => {
  for (let n = 1; n <= 20; n++) {
    const newRoot = await mth(LEAVES.slice(0, n));
    for (let m = 1; m < n; m++) {
      const oldRoot = await mth(LEAVES.slice(0, m));
      const proof = await subproof(m, LEAVES.slice(0, n), true);
      await verifyConsistency(BigInt(m), BigInt(n), oldRoot, newRoot, proof);
      await assert.rejects(verifyConsistency(BigInt(m), BigInt(n), newRoot, newRoot, proof), IntegrityError);
      await assert.rejects(verifyConsistency(BigInt(m), BigInt(n), oldRoot, (flipped([newRoot], 0))[0] as Bytes, proof), IntegrityError);
      await assert.rejects(verifyConsistency(BigInt(m), BigInt(n), oldRoot, newRoot, proof.slice(0, -1)), IntegrityError);
      await assert.rejects(verifyConsistency(BigInt(m), BigInt(n), oldRoot, newRoot, [...proof, oldRoot]), IntegrityError);
      for (let i = 0; i < proof.length; i++) {
        await assert.rejects(verifyConsistency(BigInt(m), BigInt(n), oldRoot, newRoot, flipped(proof, i)), IntegrityError);
      }
    }
    await verifyConsistency(0n, BigInt(n), EMPTY_ROOT, newRoot, []);
    await assert.rejects(verifyConsistency(0n, BigInt(n), newRoot, newRoot, []), IntegrityError);
    await assert.rejects(verifyConsistency(BigInt(n), BigInt(n), newRoot, newRoot, [newRoot]), IntegrityError);
  }
});

test("tree: sizes stop at 2^63 - 1 and proofs at 63 hashes (malformed beyond); a deep proof is checked, not refused", async () => {
  const top = (1n << 63n) - 1n;
  const leaf = LEAVES[0] as Bytes;
  const deep = Array.from({ length: 63 }, () => leaf);
  await assert.rejects(verifyInclusion(leaf, top - 1n, top, deep, leaf), (e) => e instanceof IntegrityError && !(e instanceof MalformedError));
  await assert.rejects(verifyInclusion(leaf, 0n, top + 1n, deep, leaf), MalformedError);
  await assert.rejects(verifyInclusion(leaf, 0n, 1n, [...deep, leaf], leaf), MalformedError);
  await assert.rejects(verifyInclusion(leaf, 0n, 1n, [], leaf.slice(1)), MalformedError);
  await assert.rejects(verifyConsistency(1n, top + 1n, leaf, leaf, [leaf]), MalformedError);
  await assert.rejects(verifyConsistency(top, top, leaf, leaf, [...deep, leaf]), MalformedError);
  await verifyConsistency(top, top, leaf, leaf, []);
});

test("tiles: the root of every size up to 600 computed from its tiles alone is the tree's; a short tile is malformed", async () => {
  const tree = new MemoryTree();
  for (let i = 0; i < 600; i++) await tree.append(Uint8Array.of(i >> 8, i & 0xff));
  for (const size of [1n, 2n, 7n, 255n, 256n, 257n, 511n, 512n, 513n, 600n]) {
    const served = new Map<string, Bytes>();
    for (const t of tilesForSize(size)) served.set(tilePath(t), await tileData(t, tree.read));
    const reader = new TileHashReader(size, (t) => served.get(tilePath(t)) ?? assert.fail(`no tile ${tilePath(t)}`));
    assert.equal(toHex(await treeHash(size, reader.read)), toHex(await tree.root(size)), `size ${size}`);
  }
  const short = new TileHashReader(300n, (t) => new Uint8Array(32 * t.width - 1));
  await assert.rejects(treeHash(300n, short.read), MalformedError);
});

test("tile paths: one spelling only, and indexes beyond 2^53 round-trip", () => {
  for (const bad of ["tile/00/000", "tile/0/000.p/0", "tile/0/000.p/", "tile/0/X001/000", "tile/0/000/", "/tile/0/000", "tile/0/00", "tile/0/0000", "tile/entries/x000/000", "tile/8/0/000", "tile/-1/000", "tile/0/000.p/1/"]) {
    assert.throws(() => parseTilePath(bad), MalformedError, bad);
  }
  const big = tile(0, (1n << 60n) + 7n, 3);
  assert.deepEqual(parseTilePath(tilePath(big)), big);
  assert.equal(tilePath(tile(null, 1234067n)), "tile/entries/x001/x234/067");
  assert.throws(() => decodeEntryBundle(Uint8Array.of(0, 2, 1), 1), MalformedError);
  assert.throws(() => decodeEntryBundle(encodeEntryBundle([Uint8Array.of(1), Uint8Array.of()]), 1), MalformedError);
  assert.deepEqual(decodeEntryBundle(encodeEntryBundle([Uint8Array.of(1), Uint8Array.of()]), 2), [Uint8Array.of(1), Uint8Array.of()]);
});

// Notes are written here by hand: the client only reads them.
const utf8 = (text: string) => new TextEncoder().encode(text);

interface NoteKey {
  verifier: Verifier;
  sign(text: Uint8Array, timestamp?: bigint): Uint8Array;
}

async function noteKey(name: string, cosigning = false): Promise<NoteKey> {
  const pair = signingKeyPair(randomBytes(32));
  if (!cosigning) return { verifier: await ed25519Verifier(name, pair.publicKey), sign: (text) => ed25519Sign(pair.secretKey, text) };
  return {
    verifier: await cosignatureVerifier(name, pair.publicKey),
    sign: (text, timestamp = 1800000000n) => concat(u64(timestamp), ed25519Sign(pair.secretKey, cosignatureMessage(text, timestamp))),
  };
}

function line(key: NoteKey, signature: Uint8Array): string {
  return `\u2014 ${key.verifier.name} ${b64encode(concat(key.verifier.keyId, signature))}\n`;
}

function signed(text: string, ...keys: NoteKey[]): Uint8Array {
  return utf8(`${text}\n${keys.map((k) => line(k, k.sign(utf8(text)))).join("")}`);
}

test("notes: a leading byte order mark is text, DEL and C1 characters are allowed, other controls not", async () => {
  const key = await noteKey("example.com/a");
  assert.equal(openNote(signed("\ufeffhallo\n", key), [key.verifier]).text, "\ufeffhallo\n");
  assert.equal(openNote(signed("a\u007f\u0085b\n", key), [key.verifier]).text, "a\u007f\u0085b\n");
  for (const control of ["\r", "\u0000", "\u001b"]) assert.throws(() => openNote(signed(`a${control}b\n`, key), [key.verifier]), MalformedError);
});

test("notes: 100 signatures pass, 1 MiB is the limit, a trusted key's repeated good signature counts once", async () => {
  const key = await noteKey("example.com/a");
  const other = await noteKey("example.com/b");
  const text = "hallo\n";
  const many = utf8(`${text}\n${line(key, key.sign(utf8(text))).repeat(2)}${line(other, new Uint8Array(64)).repeat(98)}`);
  const opened = openNote(many, [key.verifier]);
  assert.equal(opened.note.signatures.length, 100);
  assert.equal(opened.verified.length, 1);
  // Text, blank line and one signature line: the line's length does not depend on the text.
  const room = MAX_NOTE_SIZE - 2 - utf8(line(key, key.sign(utf8(text)))).length;
  const exact = signed(`${"a".repeat(room)}\n`, key);
  assert.equal(exact.length, MAX_NOTE_SIZE);
  openNote(exact, [key.verifier]);
  assert.throws(() => openNote(signed(`${"a".repeat(room + 1)}\n`, key), [key.verifier]), MalformedError);
});

test("notes: key names refuse Unicode spaces and controls; verifier keys their case and type", async () => {
  for (const name of ["a b", "a\u00a0b", "a\u2003b", "a\u2028b", "a\u0085b", "a\tb", ""]) assert.throws(() => checkKeyName(name), MalformedError, JSON.stringify(name));
  assert.equal(checkKeyName("example.com/\u00e9\u007f"), "example.com/\u00e9\u007f");
  const key = await noteKey("example.com/a");
  const vkey = key.verifier.vkey;
  assert.equal((await parseVkey(vkey)).vkey, vkey);
  const [name, id, encoded] = [vkey.slice(0, vkey.indexOf("+")), vkey.split("+")[1] as string, vkey.slice(vkey.indexOf("+", vkey.indexOf("+") + 1) + 1)];
  await assert.rejects(parseVkey(`${name}+${id.toUpperCase()}+${encoded}`), MalformedError);
  await assert.rejects(parseVkey(`${name}x+${id}+${encoded}`), MalformedError);
  await assert.rejects(parseWitnessVkey(vkey), MalformedError);
  const witness = await noteKey("w.example/w", true);
  await assert.rejects(parseVkey(witness.verifier.vkey), MalformedError);
  const short = await keyId(name, 1, new Uint8Array(31));
  await assert.rejects(parseVkey(`${name}+${toHex(short)}+${b64encode(new Uint8Array(32).fill(1, 0, 1))}`), MalformedError);
});

test("cosignatures: freshness bounds are inclusive, timestamps stop at 2^63 - 1, a quorum of 0 trusts the log alone", async () => {
  const log = await noteKey("kluis.example/log");
  const w = [await noteKey("w1.example/w", true), await noteKey("w2.example/w", true)];
  const text = checkpointText({ origin: "kluis.example/log", size: 0n, root: EMPTY_ROOT, extensions: [] });
  const note = (t1: bigint, t2: bigint) => utf8(`${text}\n${line(log, log.sign(utf8(text)))}${line(w[0] as NoteKey, (w[0] as NoteKey).sign(utf8(text), t1))}${line(w[1] as NoteKey, (w[1] as NoteKey).sign(utf8(text), t2))}`);
  const trusted = trustedLog("kluis.example/log", log.verifier, new WitnessPolicy(w.map((k) => k.verifier), 2));
  const fresh = { now: 1000n, maxAge: 100n };
  assert.equal(openCheckpoint(note(900n, 1000n), trusted, fresh).cosigned.size, 2);
  assert.throws(() => openCheckpoint(note(899n, 1000n), trusted, fresh), SignatureError);
  assert.throws(() => openCheckpoint(note(900n, 1001n), trusted, fresh), SignatureError);
  openCheckpoint(note(0n, 1n << 62n), trusted);
  const tooLate = (w[0] as NoteKey).sign(utf8(text), 5n);
  tooLate.set(u64(1n << 63n));
  assert.throws(() => openCheckpoint(utf8(`${text}\n${line(log, log.sign(utf8(text)))}${line(w[0] as NoteKey, tooLate)}`), trusted), SignatureError);
  const alone = trustedLog("kluis.example/log", log.verifier, new WitnessPolicy(w.map((k) => k.verifier), 0));
  assert.equal(openCheckpoint(signed(text, log), alone).cosigned.size, 0);
  const sameKey = await cosignatureVerifier("w3.example/w", (w[0] as NoteKey).verifier.publicKey);
  assert.throws(() => new WitnessPolicy([(w[0] as NoteKey).verifier, sameKey], 1), RangeError);
  assert.throws(() => new WitnessPolicy(w.map((k) => k.verifier), 3), RangeError);
  assert.throws(() => trustedLog("kluis.example/other", log.verifier), RangeError);
});

test("checkpoints: size 2^63 - 1 parses and 2^63 does not; long lines, non-canonical roots and a proof with no previous are refused", async () => {
  const root = b64encode(EMPTY_ROOT);
  assert.equal(parseCheckpoint(`o\n9223372036854775807\n${root}\n`).size, (1n << 63n) - 1n);
  for (const size of ["9223372036854775808", "18446744073709551616", "-1", "+1", " 1", "1 "]) assert.throws(() => parseCheckpoint(`o\n${size}\n${root}\n`), MalformedError, size);
  assert.throws(() => parseCheckpoint(`${"o".repeat(1025)}\n1\n${root}\n`), MalformedError);
  assert.equal(parseCheckpoint(`${"\u{1F3E0}".repeat(1024)}\n1\n${root}\n`).origin.length, 2048); // characters, not UTF-16 units
  assert.throws(() => parseCheckpoint(`o\n1\n${root.slice(0, -2)}9=\n`), MalformedError);
  assert.throws(() => parseCheckpoint(`o\n1\n${root}`), MalformedError);
  const cp = parseCheckpoint(`o\n1\n${root}\n`);
  await assert.rejects(checkExtension(null, cp, [EMPTY_ROOT]), MalformedError);
  await checkExtension(null, cp, []);
  await checkExtension(cp, cp, []);
  await assert.rejects(checkExtension({ ...cp, origin: "p" }, cp, []), IntegrityError);
});

test("vrf: any change to a proof is malformed or fails to verify, never another error; a key with a torsion part is checked", async () => {
  const secret = randomBytes(32);
  const publicKey = publicKeyOf(secret);
  const alpha = utf8("kluis");
  const pi = await prove(secret, alpha);
  assert.equal((await vrfVerify(publicKey, alpha, pi)).length, 64);
  for (let i = 0; i < 80; i++) {
    const bad = pi.slice();
    bad[i] = (bad[i] as number) ^ (1 << (i % 8));
    await assert.rejects(vrfVerify(publicKey, alpha, bad), (e) => e instanceof MalformedError || e instanceof SignatureError, `byte ${i}`);
  }
  // Y + T for T of order 2 (encoded y = p - 1) has large order, so validate_key accepts it.
  const order2 = fromHex("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f");
  const twisted = ed25519Group().add(publicKey, order2) as Bytes;
  await assert.rejects(vrfVerify(twisted, alpha, pi), (e) => e instanceof SignatureError);
  await assert.rejects(vrfVerify(order2, alpha, pi), MalformedError);
});

test("log entries and operator records: origins, names and lengths the vectors leave open", async () => {
  assert.throws(() => labelInput(NAMESPACE_USER, "Alice"), MalformedError);
  assert.throws(() => labelInput(NAMESPACE_USER, "a".repeat(65)), MalformedError);
  const seed = randomBytes(32);
  const pair = signingKeyPair(seed);
  const operatorKey = (origin: Uint8Array) => {
    const body = concat(utf8("KLOP"), Uint8Array.of(1), u32(origin.length), origin, u32(1), pair.publicKey, u64(0n));
    return concat(body, signWithLabel(pair.secretKey, "kluis/v1/operator-key", body));
  };
  assert.equal(decodeOperatorKey(operatorKey(utf8("kluis.example/log"))).origin, "kluis.example/log");
  assert.equal(decodeOperatorKey(operatorKey(utf8("\u00e9.example/log"))).origin, "\u00e9.example/log");
  for (const origin of [utf8(""), utf8("a b"), utf8("a\u007fb"), Uint8Array.of(0xff), utf8("a".repeat(256))]) {
    assert.throws(() => decodeOperatorKey(operatorKey(origin)), MalformedError);
  }
  const big = concat(utf8("KLKT"), Uint8Array.of(1, 3), u32(513), new Uint8Array(513));
  assert.throws(() => decodeLogEntry(big), MalformedError);
});
