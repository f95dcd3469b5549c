/**
 * The dossier index (docs/format.md section 9, format version 2, and version 1 for reading): the
 * owner's signed list of the dossier's documents. Its counter exposes rollback, and the hash of
 * its predecessor exposes a fork: an index signed on top of an older one than this reader saw.
 *
 * Self-contained on purpose: everything about the index's bytes and checks is in this file, so a
 * new index version changes this file and its vectors only.
 */

import { ascii, atLeastOne, compare, concat, equal, isZero, Reader, toHex, u32, u64, vbytes, type Bytes } from "./bytes.js";
import { blake3, derive, randomBytes, xchachaOpen, xchachaSeal } from "./crypto.js";
import { DowngradeError, IntegrityError, KeyMismatchError, MalformedError, RollbackError } from "./errors.js";
import type { DossierKeys } from "./header.js";
import { ID_SIZE, SIGNATURE_SIZE, signWithLabel, splitSigned, verifyBy, type Identity, type PrivateIdentity } from "./keys.js";
import { DOSSIER_INDEX_SIGNATURE, DOSSIER_METADATA_AD, DOSSIER_METADATA_KEY } from "./labels.js";
import { decodeDossierMetadata, encodeDossierMetadata, type DossierMetadata } from "./metadata.js";

const MAGIC = "KLIX";
/** The version this client writes; version 1 (no predecessor) is only read. */
export const INDEX_VERSION = 2;
const HASH = 32;
const WHAT = "dossier index";
export const METADATA_MAX = 8192;
const NONCE = 24;
const SEALED_MIN = NONCE + 16;
const ENTRY_SIZE = ID_SIZE + 8 + 32;
const DELETION_SIZE = ID_SIZE + 8 + 8;

export interface IndexEntry {
  documentId: Bytes;
  /** The latest version. */
  version: bigint;
  /** BLAKE3 of that version's header. */
  headerHash: Bytes;
}

export interface IndexDeletion {
  documentId: Bytes;
  /** The last version that existed. */
  version: bigint;
  deletedAt: bigint;
}

export interface DossierIndex {
  formatVersion: 1 | 2;
  dossierId: Bytes;
  ownerId: Bytes;
  ownerKeyId: Bytes;
  counter: bigint;
  /** BLAKE3 of the whole predecessor (all zero for counter 1); null in format version 1. */
  previousHash: Bytes | null;
  epoch: bigint;
  metadata: Bytes;
  entries: IndexEntry[];
  deletions: IndexDeletion[];
  signature: Bytes;
  encoded: Bytes;
}

function checkSorted(ids: Bytes[], list: string): void {
  for (let i = 1; i < ids.length; i++) {
    if (compare(ids[i - 1] as Bytes, ids[i] as Bytes) >= 0) {
      throw new MalformedError(`${WHAT}: ${list} are not in strictly ascending document_id order`);
    }
  }
}

/** Step 1: parse, including order, duplicates and overlap (`MalformedError`). */
export function decodeIndex(data: Uint8Array): DossierIndex {
  const r = new Reader(data, WHAT);
  const formatVersion = r.headerVersion(MAGIC, [1, 2]) as 1 | 2;
  const dossierId = r.bytes(ID_SIZE);
  const ownerId = r.bytes(ID_SIZE);
  const ownerKeyId = r.bytes(32);
  const counter = r.u64();
  const previousHash = formatVersion === 2 ? r.bytes(HASH) : null;
  const epoch = r.u64();
  const metadata = r.vbytes(METADATA_MAX, "metadata");
  const entryCount = r.u32();
  if (entryCount * ENTRY_SIZE > r.remaining) throw new MalformedError(`${WHAT}: truncated`);
  const entries: IndexEntry[] = [];
  for (let i = 0; i < entryCount; i++) {
    entries.push({ documentId: r.bytes(ID_SIZE), version: r.u64(), headerHash: r.bytes(32) });
  }
  const deletionCount = r.u32();
  if (deletionCount * DELETION_SIZE > r.remaining) throw new MalformedError(`${WHAT}: truncated`);
  const deletions: IndexDeletion[] = [];
  for (let i = 0; i < deletionCount; i++) {
    deletions.push({ documentId: r.bytes(ID_SIZE), version: r.u64(), deletedAt: r.u64() });
  }
  const signature = r.bytes(SIGNATURE_SIZE);
  r.end();
  atLeastOne(counter, WHAT, "counter");
  atLeastOne(epoch, WHAT, "epoch");
  if (previousHash !== null && (counter === 1n) !== isZero(previousHash)) {
    throw new MalformedError(`${WHAT}: only the first index (counter 1) names no predecessor`);
  }
  if (metadata.length < SEALED_MIN) throw new MalformedError(`${WHAT}: metadata too short to be sealed`);
  for (const e of entries) atLeastOne(e.version, WHAT, "entry version");
  for (const d of deletions) atLeastOne(d.version, WHAT, "deletion version");
  checkSorted(entries.map((e) => e.documentId), "entries");
  checkSorted(deletions.map((d) => d.documentId), "deletions");
  const live = new Set(entries.map((e) => e.documentId.join(",")));
  if (deletions.some((d) => live.has(d.documentId.join(",")))) {
    throw new MalformedError(`${WHAT}: a document is both listed and deleted`);
  }
  return { formatVersion, dossierId, ownerId, ownerKeyId, counter, previousHash, epoch, metadata, entries, deletions, signature, encoded: r.consumed() };
}

export async function indexHash(data: Uint8Array): Promise<Bytes> {
  return blake3(data);
}

function context(dossierId: Uint8Array, epoch: bigint): Bytes {
  return concat(dossierId, u64(epoch));
}

async function metadataKey(dossierKey: Uint8Array, dossierId: Uint8Array, epoch: bigint): Promise<Bytes> {
  return derive(dossierKey, DOSSIER_METADATA_KEY, context(dossierId, epoch));
}

function metadataAd(dossierId: Uint8Array, epoch: bigint): Bytes {
  return concat(ascii(DOSSIER_METADATA_AD), Uint8Array.of(0), context(dossierId, epoch));
}

export interface IndexExpectation {
  dossierId: Uint8Array;
  /** The dossier owner's trusted identity. */
  owner: Identity;
  dossierKeys: DossierKeys;
  /**
   * What this reader remembers of the last index of this dossier it accepted (L of step 4):
   * its bytes (`previous`), or, from a memory kept before format version 2, only its counter
   * (`highestSeen`) and index hash (`previousHash`); nothing (counter 0) if it never saw one.
   */
  highestSeen: bigint;
  previous?: Uint8Array | null;
  previousHash?: Uint8Array | null;
}

export interface OpenedIndex {
  index: DossierIndex;
  metadata: DossierMetadata;
}

/**
 * Steps 1-4 of section 9, for a reader who holds no dossier key (a document shared on its own):
 * the index is the owner's, signed, and not older than what this client saw.
 */
export async function verifyIndex(data: Uint8Array, expect: Omit<IndexExpectation, "dossierKeys">): Promise<DossierIndex> {
  const index = decodeIndex(data); // 1
  if (!equal(index.dossierId, expect.dossierId)) throw new IntegrityError(`${WHAT}: belongs to another dossier`); // 2
  if (!equal(index.ownerId, expect.owner.userId) || !equal(index.ownerKeyId, expect.owner.keyId)) {
    throw new KeyMismatchError(`${WHAT}: owner is not the expected identity`);
  }
  const { body, signature } = splitSigned(index.encoded);
  verifyBy(expect.owner, DOSSIER_INDEX_SIGNATURE, body, signature, WHAT); // 3
  await checkDescent(index, expect); // 4
  return index;
}

/** Verify an index, steps 1-5 of section 9. */
export async function openIndex(data: Uint8Array, expect: IndexExpectation): Promise<OpenedIndex> {
  const index = await verifyIndex(data, expect); // 1-4
  const dossierKey = expect.dossierKeys.get(index.epoch); // 5
  if (dossierKey === undefined) throw new IntegrityError(`${WHAT}: no dossier key for epoch ${index.epoch}`);
  const key = await metadataKey(dossierKey, index.dossierId, index.epoch);
  const plaintext = xchachaOpen(key, index.metadata.slice(0, NONCE), index.metadata.slice(NONCE), metadataAd(index.dossierId, index.epoch));
  if (plaintext === null) throw new IntegrityError(`${WHAT}: metadata does not decrypt`);
  return { index, metadata: decodeDossierMetadata(plaintext) };
}

/** Step 4: the index descends from the last one this reader accepted (L), checks a-e. */
async function checkDescent(index: DossierIndex, expect: Omit<IndexExpectation, "dossierKeys">): Promise<void> {
  const last = expect.previous != null ? decodeIndex(expect.previous) : null;
  const lastCounter = last?.counter ?? expect.highestSeen;
  if (lastCounter === 0n) return; // nothing remembered
  const lastHash = last !== null ? await indexHash(last.encoded) : (expect.previousHash ?? null);
  if (index.counter < lastCounter) {
    throw new RollbackError(`${WHAT}: counter ${index.counter} is below ${lastCounter}, seen before`); // a
  }
  if (index.counter === lastCounter) {
    if (lastHash !== null && !equal(await indexHash(index.encoded), lastHash)) {
      throw new RollbackError(`${WHAT}: another index with counter ${index.counter}, seen before`); // b
    }
    return;
  }
  if (last?.formatVersion === 2 && index.formatVersion === 1) {
    throw new DowngradeError(`${WHAT}: format version 1 after version 2 was seen`); // c
  }
  if (index.counter === lastCounter + 1n && index.previousHash !== null && lastHash !== null && !equal(index.previousHash, lastHash)) {
    throw new RollbackError(`${WHAT}: counter ${index.counter} was signed on top of another index than the one seen (a fork)`); // d
  }
  if (last === null) return;
  if (index.epoch < last.epoch) {
    throw new RollbackError(`${WHAT}: key epoch ${index.epoch} is older than epoch ${last.epoch}, seen before`); // e
  }
  const live = new Map(index.entries.map((e) => [toHex(e.documentId), e.version]));
  const deleted = new Map(index.deletions.map((d) => [toHex(d.documentId), d.version]));
  for (const e of last.entries) {
    const id = toHex(e.documentId);
    const version = live.get(id) ?? deleted.get(id);
    if (version === undefined || version < e.version) {
      throw new RollbackError(`${WHAT}: document ${id} at version ${e.version}, seen before, is missing or older`);
    }
  }
  for (const d of last.deletions) {
    const id = toHex(d.documentId);
    const version = deleted.get(id);
    if (version === undefined || version < d.version) {
      throw new RollbackError(`${WHAT}: the deletion of document ${id}, seen before, is missing`);
    }
  }
}

export interface IndexFields {
  dossierId: Uint8Array;
  counter: bigint;
  /** The index hash of the index this one is signed on top of; all zero for counter 1. */
  previousHash: Uint8Array;
  epoch: bigint;
  dossierKey: Uint8Array;
  metadata: DossierMetadata;
  entries: Iterable<IndexEntry>;
  deletions: Iterable<IndexDeletion>;
  /** A fixed nonce reproduces a known index (vectors); leave it out for a fresh one. */
  metadataNonce?: Uint8Array;
}

/** Write and sign an index as its owner; entries and deletions are sorted here. */
export async function sealIndex(owner: PrivateIdentity, f: IndexFields): Promise<Bytes> {
  atLeastOne(f.counter, WHAT, "counter");
  atLeastOne(f.epoch, WHAT, "epoch");
  const entries = [...f.entries].sort((a, b) => compare(a.documentId, b.documentId));
  const deletions = [...f.deletions].sort((a, b) => compare(a.documentId, b.documentId));
  const nonce = f.metadataNonce ?? randomBytes(NONCE);
  const key = await metadataKey(f.dossierKey, f.dossierId, f.epoch);
  const metadata = concat(nonce, xchachaSeal(key, nonce, encodeDossierMetadata(f.metadata), metadataAd(f.dossierId, f.epoch)));
  const body = concat(
    ascii(MAGIC),
    Uint8Array.of(INDEX_VERSION),
    f.dossierId,
    owner.public.userId,
    owner.public.keyId,
    u64(f.counter),
    f.previousHash,
    u64(f.epoch),
    vbytes(metadata),
    u32(entries.length),
    ...entries.map((e) => concat(e.documentId, u64(e.version), e.headerHash)),
    u32(deletions.length),
    ...deletions.map((d) => concat(d.documentId, u64(d.version), u64(d.deletedAt))),
  );
  const encoded = concat(body, signWithLabel(owner.signingSecretKey, DOSSIER_INDEX_SIGNATURE, body));
  decodeIndex(encoded); // a writer never writes what a reader refuses (duplicates, overlap, predecessor)
  return encoded;
}
