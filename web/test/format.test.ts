/**
 * What the vectors do not pin down but docs/format.md does, and where JavaScript differs from
 * Python by default: u64 values beyond 2^53, code points versus UTF-16 units, the JSON number
 * grammar, byte order marks, surrogates; the payload as a stream; and the passphrase rule beyond
 * its vectors (code points, NFC, ASCII-only lower case, the checked list, the generator).
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

import { wordlist } from "@scure/bip39/wordlists/english.js";

import { concat, fromHex, toHex, u32, u64, type Bytes } from "../src/vault/bytes.js";
import { checkExtension, checkpointText, openCheckpoint, parseCheckpoint, trustedLog } from "../src/vault/checkpoint.js";
import { cosignatureMessage, cosignatureVerifier, parseWitnessVkey, WitnessPolicy } from "../src/vault/cosignature.js";
import { ed25519Group, ed25519Sign, randomBytes, ready, signingKeyPair } from "../src/vault/crypto.js";
import { IntegrityError, MalformedError, RollbackError, SignatureError, WeakPassphrase } from "../src/vault/errors.js";
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
import {
  COMMON_PASSWORDS_SHA256,
  CommonPasswords,
  commonPasswordsUrl,
  estimateBits,
  GENERATED_WORDS,
  GENERATOR_ATTEMPTS,
  generatePassphrase,
  judgePassphrase,
  loadCommonPasswords,
  MIN_ESTIMATE,
  REASONS,
  requireStrongPassphrase,
  secureRandomBelow,
  type Verdict,
} from "../src/vault/passphrase.js";

import { COMMON_PASSWORDS_FILE, commonPasswords, REPO_DIR } from "./helpers.js";

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
  // The case check needs a key id with a hex letter in it; one in 43 random ids has none.
  let key = await noteKey("example.com/a");
  while (!/[a-f]/.test(key.verifier.vkey.split("+")[1] as string)) key = await noteKey("example.com/a");
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

// -- the passphrase rule (section 18) ----------------------------------------------------------

const list = await commonPasswords();

function judged(passphrase: string, context: readonly string[] = []): Verdict {
  return judgePassphrase(passphrase, context, list);
}

/** E(T) read straight from the text of section 18: every piece of every split, no shortcuts. */
function specEstimate(passphrase: string, context: readonly string[]): number {
  const lowerAscii = (cps: number[]) => cps.map((c) => (c >= 0x41 && c <= 0x5a ? c + 32 : c));
  const cps = (text: string) => Array.from(text, (c) => c.codePointAt(0) as number);
  const leet: Record<string, string> = { "4": "a", "@": "a", "3": "e", "1": "i", "!": "i", "0": "o", $: "s", "5": "s", "7": "t" };
  const T = cps(passphrase.normalize("NFC"));
  const U = lowerAscii(T);
  const S = U.map((c) => leet[String.fromCodePoint(c)]?.codePointAt(0) ?? c);
  const C = new Set(
    ["kluis", ...context].map((w) => lowerAscii(cps(w.normalize("NFC")))).filter((w) => w.length >= 2).map((w) => String.fromCodePoint(...w)),
  );
  const text = (a: number[]) => String.fromCodePoint(...a);
  const rank = (x: string) => (C.has(x) ? 1 : list.rank(x));
  const bitlen = (n: number) => n.toString(2).length;
  const piece = (i: number, j: number): number => {
    const costs: number[] = [];
    const t = T[i] as number;
    if (j === i + 1) {
      costs.push(t >= 0x30 && t <= 0x39 ? 332 : /[A-Za-z]/.test(String.fromCodePoint(t)) ? 470 : t === 0x20 ? 100 : t >= 0x21 && t <= 0x7e ? 504 : 600);
    }
    const upper = T.slice(i, j).some((c) => c >= 0x41 && c <= 0x5a) ? 100 : 0;
    const u = text(U.slice(i, j));
    const s = text(S.slice(i, j));
    if (j - i >= 2 && rank(u) !== undefined) costs.push(100 * bitlen(rank(u) as number) + upper);
    if (j - i >= 2 && s !== u && rank(s) !== undefined) costs.push(100 * bitlen(rank(s) as number) + 100 + upper);
    for (let p = 1; p <= i && p <= j - i; p++) {
      let repeats = true;
      for (let k = i; k < j; k++) repeats &&= U[k] === U[k - p];
      if (repeats) costs.push(100);
    }
    if (j - i >= 3) {
      for (const step of [1, -1]) {
        let run = true;
        for (let k = i + 1; k < j; k++) run &&= (U[k] as number) - (U[k - 1] as number) === step;
        if (run) costs.push(500 + 100 * bitlen(j - i));
      }
    }
    return Math.min(...costs);
  };
  const best = [0];
  for (let j = 1; j <= T.length; j++) {
    let least = Infinity;
    for (let i = 0; i < j; i++) least = Math.min(least, (best[i] as number) + piece(i, j));
    best.push(least);
  }
  return best[T.length] as number;
}

/** A seeded source of integers (xorshift32): the same draws on every run. */
function seeded(seed: number): (n: number) => number {
  let x = seed >>> 0 || 1;
  return (n) => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % n;
  };
}

test("passphrase: the bundled list is the one of section 18 (its SHA-256, as the spec gives it, and 33,468 entries)", () => {
  const spec = readFileSync(join(REPO_DIR, "docs", "format.md"), "utf8");
  const section = spec.slice(spec.indexOf("## 18. Passphrase rule"));
  assert.ok(section.includes("`" + COMMON_PASSWORDS_SHA256 + "`"), "the SHA-256 constant is the one in docs/format.md section 18");
  assert.equal(list.size, 33468);
  assert.equal(list.longest <= 32, true);
});

test("passphrase: a list whose SHA-256 differs is refused, so nothing is judged against it", async () => {
  const good = readFileSync(COMMON_PASSWORDS_FILE);
  const flipped = new Uint8Array(good);
  flipped[0] = (flipped[0] as number) ^ 0x20;
  const crlf = new TextEncoder().encode(good.toString("ascii").replaceAll("\n", "\r\n"));
  for (const data of [flipped, good.subarray(0, good.length - 1), concat(good, utf8("hunter2\n")), crlf, new Uint8Array(0)]) {
    await assert.rejects(CommonPasswords.fromBytes(data), IntegrityError);
  }
  // Only fromBytes makes a list: anything else is refused, not judged.
  const fake = { rank: () => undefined, longest: 0, size: 0 } as unknown as CommonPasswords;
  assert.throws(() => judgePassphrase("correct horse battery staple", [], fake), TypeError);
});

test("passphrase: the browser's list comes from this origin only, is checked, and a failed load is tried again", async () => {
  const url = commonPasswordsUrl();
  assert.ok(url.href.endsWith("/build/test/common-passwords.txt"), "next to the script, under the name the build gives it");
  const good = readFileSync(COMMON_PASSWORDS_FILE);
  const altered = new Uint8Array(good);
  altered[100] = 0x41;
  const fetched: string[] = [];
  let answer: Uint8Array = altered;
  const saved = { fetch: globalThis.fetch, location: Object.getOwnPropertyDescriptor(globalThis, "location") };
  const origin = (value: string) => Object.defineProperty(globalThis, "location", { value: { origin: value }, configurable: true });
  globalThis.fetch = (async (input: RequestInfo | URL) => {
    fetched.push(String(input));
    return new Response(new Uint8Array(answer));
  }) as typeof fetch;
  try {
    origin("https://elders.example");
    await assert.rejects(loadCommonPasswords(), /from this site only/);
    assert.deepEqual(fetched, [], "another origin is refused before anything is fetched");
    origin(url.origin); // the tests run from a file: URL; in the browser this is the page's origin
    await assert.rejects(loadCommonPasswords(), IntegrityError);
    answer = good;
    const loaded = await loadCommonPasswords();
    assert.equal(loaded.size, 33468);
    assert.equal(await loadCommonPasswords(), loaded, "kept once loaded");
    assert.deepEqual(fetched, [url.href, url.href]);
  } finally {
    globalThis.fetch = saved.fetch;
    if (saved.location === undefined) delete (globalThis as { location?: unknown }).location;
    else Object.defineProperty(globalThis, "location", saved.location);
  }
});

test("passphrase: length counts code points, not UTF-16 units", () => {
  const astral = (count: number) => Array.from({ length: count }, (_, i) => String.fromCodePoint(0x1f300 + 2 * i)).join("");
  const eleven = judged(astral(11));
  assert.deepEqual([eleven.reason, eleven.length, astral(11).length], ["too_short", 11, 22]);
  assert.deepEqual(judged(astral(12)), { accepted: true, reason: null, length: 12, estimate: 12 * 600 });
  assert.deepEqual(judged(astral(256)), { accepted: true, reason: null, length: 256, estimate: 256 * 600 });
  assert.deepEqual(judged(astral(257)), { accepted: false, reason: "too_long", length: 257, estimate: null });
  // 256 UTF-16 units but 128 code points is not too long; 129 astral code points (258 units) neither.
  assert.equal(judged(astral(129)).reason, null);
});

test("passphrase: NFC comes first (length, estimate, context words), and lower() folds A-Z only", () => {
  const nfc = "\u00c9\u00e9n caf\u00e9, twee thee";
  const nfd = nfc.normalize("NFD");
  assert.notEqual(nfd.length, nfc.length);
  assert.deepEqual(judged(nfd), judged(nfc));
  assert.equal(judged("e\u0301").estimate, 600, "e + U+0301 is one code point, not ASCII");
  assert.deepEqual([judged("e\u0301".repeat(12)).reason, judged("e\u0301".repeat(11)).reason], ["predictable", "too_short"]);
  // A context word typed in NFD matches the passphrase in NFC, and the reverse.
  assert.equal(judged("zo\u00eb", ["zoe\u0308"]).estimate, 100);
  assert.equal(judged("zoe\u0308", ["zo\u00eb"]).estimate, 100);
  // ASCII lower case only: "ZOË" is not the context word "zoë" ("Ë" stays), "ZOë" is (in upper case).
  assert.equal(judged("ZO\u00eb", ["Zo\u00eb"]).estimate, 200);
  assert.equal(judged("ZO\u00cb", ["zo\u00eb"]).estimate, judged("ZO\u00cb").estimate);
  // The Kelvin sign is K after NFC, so it is the built-in word kluis; fullwidth letters are not.
  assert.equal(judged("\u212aluis").estimate, judged("Kluis").estimate);
  assert.equal(judged("\u212aluis").estimate, 200);
  assert.equal(judged("\uff2b\uff2c\uff35\uff29\uff33").estimate, 5 * 600);
  // "İ" (U+0130) is not folded to "i" (as Unicode's toLowerCase would): it is one more code point.
  assert.equal(judged("\u0130stanbul").estimate, 600 + (judged("stanbul").estimate as number));
  assert.notEqual(judged("\u0130stanbul").estimate, judged("Istanbul").estimate);
  // The common-password lookup is after NFC and ASCII lower case: "1QAZ2WSX3EDC" is common.
  assert.equal(judged("1QAZ2WSX3EDC").reason, "common");
});

test("passphrase: a lone surrogate anywhere is not text; a surrogate pair is one code point", () => {
  for (const p of ["\ud800Ik woon in Loppersum", "Ik woon in Loppersum\udfff", "Ik woon in \udc00\ud800 Loppersum", "\ud800"]) {
    const v = judged(p);
    assert.deepEqual([v.reason, v.estimate], ["not_text", null]);
  }
  assert.equal(judged("\ud800".repeat(300)).reason, "not_text", "not_text is checked before too_long");
  assert.equal(judged("Ik woon in Loppersum sinds 1985 \ud83c\udfe0").reason, null);
  assert.equal(judged("Ik woon in Loppersum sinds 1985 \ud83c\udfe0", ["\ud800x"]).reason, null, "a context word need not be valid text");
});

test("passphrase: a context word counts from two code points (an astral one is one); kluis is always there", () => {
  assert.equal(judged("x\u{1F3E0}y", ["\u{1F3E0}"]).estimate, judged("x\u{1F3E0}y").estimate);
  assert.equal(judged("\u{1F3E0}\u{1F3E1}", ["\u{1F3E0}\u{1F3E1}"]).estimate, 100);
  assert.equal(judged("\u{1F3E0}\u{1F3E1}").estimate, 1200);
  assert.equal(judged("q", ["q"]).estimate, 470);
  assert.equal(judged("kluis").estimate, 100);
  assert.equal(judged("kluis", ["kluis", "KLUIS"]).estimate, 100);
});

test("passphrase: sequences and repeats are read in lower case, their cost does not grow with upper case", () => {
  assert.deepEqual(judged("aBcDeFgHiJkL"), { accepted: false, reason: "predictable", length: 12, estimate: 900 });
  assert.deepEqual(judged("abABabABabAB").estimate, 470 + 470 + 100);
  assert.equal(judged("ab").estimate, 940, "a sequence is at least 3 long");
  assert.equal(judged("abc").estimate, 700);
  assert.equal(judged("a").estimate, 470);
  assert.equal(judged("").estimate, 0);
});

test("passphrase: the estimate is the spec's least-cost split, for random text of every kind of piece", () => {
  const next = seeded(18);
  const bits = ["a", "b", "c", "d", "A", "B", "1", "2", "3", "0", "@", "4", "!", "$", " ", "-", "\u00e9", "e\u0301", "\u{1F3E0}", "\u{1F3E1}", "z", "y", "x"];
  const words = ["wachtwoord", "huis", "kluis", "kees", "abc", "w@chtw00rd", "Huis", "groningen", "zoë", "passw0rd", "qwerty"];
  for (let n = 0; n < 400; n++) {
    let text = "";
    const parts = next(9);
    for (let k = 0; k < parts; k++) {
      const last = text;
      const r = next(10);
      if (r < 3) text += words[next(words.length)];
      else if (r < 5 && last.length > 0) text += last.slice(last.length - 1 - next(Math.min(last.length, 4)));
      else text += bits[next(bits.length)];
    }
    const context = next(2) === 0 ? [] : ["Kees", "zoe\u0308"];
    const verdict = judged(text, context);
    if (verdict.estimate === null) continue;
    assert.equal(verdict.estimate, specEstimate(text, context), JSON.stringify({ text, context }));
  }
});

test("passphrase: requireStrongPassphrase throws WeakPassphrase with the reason, never the passphrase", () => {
  const secret = "wachtwoord2024!";
  assert.throws(
    () => requireStrongPassphrase(secret, [], list),
    (error: unknown) => error instanceof WeakPassphrase && error.reason === "predictable" && !error.message.includes(secret) && /22 bits/.test(error.message),
  );
  requireStrongPassphrase("Ik woon in Loppersum sinds 1985", [], list);
  assert.deepEqual([...REASONS], ["not_text", "too_short", "too_long", "common", "predictable"]);
  assert.equal(estimateBits(4999), 49);
  assert.equal(estimateBits(MIN_ESTIMATE), 50);
});

test("passphrase: the generator gives the vector's passphrase from its SHAKE-256 source", () => {
  const stream = createHash("shake256", { outputLength: 64 }).update("kluis/test-vectors/passphrase/generated").digest();
  let at = 0;
  const source = (n: number) => {
    const value = stream.readUInt16BE(at) % n;
    at += 2;
    return value;
  };
  assert.equal(generatePassphrase([], list, source), "extra iron volume autumn talent opera");
});

test("passphrase: whatever the injected source gives, a generated passphrase passes the rule", () => {
  const positions = new Map(wordlist.map((w, i) => [w, i]));
  for (let seed = 1; seed <= 300; seed++) {
    const context = seed % 3 === 0 ? ["abandon", "zoo", "Kees"] : [];
    const p = generatePassphrase(context, list, seeded(seed));
    const words = p.split(" ");
    assert.equal(words.length, GENERATED_WORDS);
    assert.ok(words.every((w) => positions.has(w)), p);
    assert.equal(judged(p, context).accepted, true, p);
  }
  // One word six times is refused, so the generator draws again.
  const twice = [...Array(6).fill(0), 1, 2, 3, 4, 5, 6];
  const sameWord = Array(6).fill(wordlist[0]).join(" ");
  assert.equal(judged(sameWord).reason, "predictable");
  assert.equal(generatePassphrase([], list, () => twice.shift() as number), wordlist.slice(1, 7).join(" "));
  // Six context words are refused with that context (and accepted without it).
  const contextWords = wordlist.slice(100, 106);
  const draws = [100, 101, 102, 103, 104, 105, 7, 8, 9, 10, 11, 12];
  assert.equal(judged(contextWords.join(" "), contextWords).reason, "predictable");
  assert.equal(judged(contextWords.join(" ")).accepted, true);
  assert.equal(generatePassphrase(contextWords, list, () => draws.shift() as number), wordlist.slice(7, 13).join(" "));
  // A source that only ever gives refused draws is not random: give up, never return one.
  let calls = 0;
  assert.throws(() => generatePassphrase([], list, () => (calls++, 0)), /not random/);
  assert.equal(calls, GENERATOR_ATTEMPTS * GENERATED_WORDS);
  for (const bad of [-1, 2048, 1.5, Number.NaN]) assert.throws(() => generatePassphrase([], list, () => bad), RangeError);
  // The default source is the platform's CSPRNG.
  const p = generatePassphrase(["kees"], list);
  assert.equal(p.split(" ").length, 6);
  assert.equal(judged(p, ["kees"]).accepted, true);
  for (let i = 0; i < 1000; i++) {
    const x = secureRandomBelow(3);
    assert.ok(x === 0 || x === 1 || x === 2);
  }
});

test("passphrase rule: a lone surrogate is not_text even where normalize() replaces it with U+FFFD (as Firefox does)", async () => {
  const list = await commonPasswords();
  const original = String.prototype.normalize;
  // Firefox's String.prototype.normalize turns a lone surrogate into U+FFFD; V8 keeps it.
  String.prototype.normalize = function (this: string, form?: string): string {
    return original.call(this.replace(/[\uD800-\uDFFF]/gu, "\uFFFD"), form);
  };
  try {
    const verdict = judgePassphrase("Ik woon in Loppersum sinds 1985\ud800", [], list);
    assert.equal(verdict.reason, "not_text");
    assert.equal(verdict.length, 32);
    assert.equal(verdict.estimate, null);
    // A decomposed letter next to a lone surrogate is still composed (NFC between them).
    assert.equal(judgePassphrase("e\u0301\ud800", [], list).length, 2);
  } finally {
    String.prototype.normalize = original;
  }
});
