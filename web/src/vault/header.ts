/**
 * The document header (docs/format.md section 7): one signed header per document version,
 * carrying the wrapped file key, the commitment to it, the payload digest and the sealed
 * metadata.
 */

import { ascii, atLeastOne, concat, equal, Reader, u64, vbytes, type Bytes } from "./bytes.js";
import { blake3, derive, randomBytes, xchachaOpen, xchachaSeal } from "./crypto.js";
import { IntegrityError, KeyMismatchError, MalformedError } from "./errors.js";
import { ID_SIZE, SIGNATURE_SIZE, signWithLabel, splitSigned, verifyBy, type Identity, type PrivateIdentity } from "./keys.js";
import {
  DOCUMENT_HEADER_SIGNATURE,
  DOSSIER_WRAP_KEY,
  FILE_KEY_COMMITMENT,
  FILE_KEY_WRAP_AD,
  METADATA_AD,
  METADATA_KEY,
} from "./labels.js";
import { decodeDocumentMetadata, encodeDocumentMetadata, type DocumentMetadata } from "./metadata.js";
import type { PayloadDigest } from "./payload.js";

const MAGIC = "KLDH";
const WHAT = "document header";
export const METADATA_MAX = 65536;
const NONCE = 24;
const SEALED_MIN = NONCE + 16;

/** Dossier keys by epoch. */
export type DossierKeys = ReadonlyMap<bigint, Uint8Array>;

export interface DocumentHeader {
  dossierId: Bytes;
  documentId: Bytes;
  version: bigint;
  authorId: Bytes;
  authorKeyId: Bytes;
  epoch: bigint;
  wrappedFileKey: Bytes;
  keyCommitment: Bytes;
  payloadSize: bigint;
  payloadHash: Bytes;
  createdAt: bigint;
  metadata: Bytes;
  signature: Bytes;
  encoded: Bytes;
}

export function decodeHeader(data: Uint8Array): DocumentHeader {
  const r = new Reader(data, WHAT);
  r.header(MAGIC);
  const h = {
    dossierId: r.bytes(ID_SIZE),
    documentId: r.bytes(ID_SIZE),
    version: r.u64(),
    authorId: r.bytes(ID_SIZE),
    authorKeyId: r.bytes(32),
    epoch: r.u64(),
    wrappedFileKey: r.bytes(72),
    keyCommitment: r.bytes(32),
    payloadSize: r.u64(),
    payloadHash: r.bytes(32),
    createdAt: r.u64(),
    metadata: r.vbytes(METADATA_MAX, "metadata"),
    signature: r.bytes(SIGNATURE_SIZE),
  };
  r.end();
  atLeastOne(h.version, WHAT, "version");
  atLeastOne(h.epoch, WHAT, "epoch");
  if (h.metadata.length < SEALED_MIN) throw new MalformedError(`${WHAT}: metadata too short to be sealed`);
  return { ...h, encoded: r.consumed() };
}

/** ids = dossier_id || document_id || version (u64). */
function idsOf(dossierId: Uint8Array, documentId: Uint8Array, version: bigint): Bytes {
  return concat(dossierId, documentId, u64(version));
}

export async function wrapKey(dossierKey: Uint8Array, dossierId: Uint8Array, epoch: bigint): Promise<Bytes> {
  return derive(dossierKey, DOSSIER_WRAP_KEY, concat(dossierId, u64(epoch)));
}

export async function fileKeyCommitment(fileKey: Uint8Array, dossierId: Uint8Array, documentId: Uint8Array, version: bigint): Promise<Bytes> {
  return derive(fileKey, FILE_KEY_COMMITMENT, idsOf(dossierId, documentId, version));
}

function wrapAd(ids: Uint8Array, epoch: bigint): Bytes {
  return concat(ascii(FILE_KEY_WRAP_AD), Uint8Array.of(0), ids, u64(epoch));
}

function metadataAd(ids: Uint8Array): Bytes {
  return concat(ascii(METADATA_AD), Uint8Array.of(0), ids);
}

/** BLAKE3 of all header bytes, signature included: how the dossier index names a header. */
export async function headerHash(data: Uint8Array): Promise<Bytes> {
  return blake3(data);
}

export interface OpenedHeader {
  header: DocumentHeader;
  fileKey: Bytes;
  metadata: DocumentMetadata;
}

export interface HeaderExpectation {
  dossierId: Uint8Array;
  documentId: Uint8Array;
  /** The version asked for, if the caller asked for one. */
  version?: bigint;
  /** The author identity the reader trusts. */
  author: Identity;
}

/**
 * Verify a header (steps 1-7 of section 7). Give `dossierKeys` (step 5 unwraps the file key) or
 * `fileKey` (from a document grant; step 6 then binds it to this header). Step 8 is
 * `checkPayloadDigest`, after streaming the payload.
 */
export async function openHeader(
  data: Uint8Array,
  expect: HeaderExpectation,
  keys: { dossierKeys: DossierKeys } | { fileKey: Uint8Array },
): Promise<OpenedHeader> {
  const header = decodeHeader(data); // 1
  if (!equal(header.dossierId, expect.dossierId) || !equal(header.documentId, expect.documentId)) {
    throw new IntegrityError(`${WHAT}: belongs to another dossier or document (swapped)`); // 2
  }
  if (expect.version !== undefined && header.version !== expect.version) {
    throw new IntegrityError(`${WHAT}: is for version ${header.version}, not ${expect.version}`);
  }
  if (!equal(header.authorId, expect.author.userId) || !equal(header.authorKeyId, expect.author.keyId)) {
    throw new KeyMismatchError(`${WHAT}: author is not the expected identity`); // 3
  }
  const { body, signature } = splitSigned(header.encoded);
  verifyBy(expect.author, DOCUMENT_HEADER_SIGNATURE, body, signature, WHAT); // 4
  const ids = idsOf(header.dossierId, header.documentId, header.version);
  let fileKey: Bytes;
  if ("dossierKeys" in keys) {
    // 5
    const dossierKey = keys.dossierKeys.get(header.epoch);
    if (dossierKey === undefined) throw new IntegrityError(`${WHAT}: no dossier key for epoch ${header.epoch}`);
    const key = await wrapKey(dossierKey, header.dossierId, header.epoch);
    const unwrapped = xchachaOpen(key, header.wrappedFileKey.slice(0, NONCE), header.wrappedFileKey.slice(NONCE), wrapAd(ids, header.epoch));
    if (unwrapped === null || unwrapped.length !== 32) throw new IntegrityError(`${WHAT}: the file key does not unwrap`);
    fileKey = unwrapped;
  } else {
    fileKey = concat(keys.fileKey);
  }
  const commitment = await fileKeyCommitment(fileKey, header.dossierId, header.documentId, header.version);
  if (!equal(commitment, header.keyCommitment)) throw new IntegrityError(`${WHAT}: file key does not match the key commitment`); // 6
  const metadataKey = await derive(fileKey, METADATA_KEY);
  const plaintext = xchachaOpen(metadataKey, header.metadata.slice(0, NONCE), header.metadata.slice(NONCE), metadataAd(ids));
  if (plaintext === null) throw new IntegrityError(`${WHAT}: metadata does not decrypt`); // 7
  const metadata = decodeDocumentMetadata(plaintext);
  return { header, fileKey, metadata };
}

/** Step 8: what streaming the payload produced must be what the header signed. */
export function checkPayloadDigest(opened: OpenedHeader, digest: PayloadDigest): void {
  if (digest.size !== opened.header.payloadSize) throw new IntegrityError(`${WHAT}: payload size differs from the signed size`);
  if (!equal(digest.blake3, opened.header.payloadHash)) throw new IntegrityError(`${WHAT}: payload hash differs from the signed hash`);
  if (digest.plaintextSize !== BigInt(opened.metadata.size)) throw new IntegrityError(`${WHAT}: plaintext size differs from the metadata`);
}

export interface HeaderFields {
  dossierId: Uint8Array;
  documentId: Uint8Array;
  version: bigint;
  epoch: bigint;
  dossierKey: Uint8Array;
  fileKey: Uint8Array;
  payloadSize: bigint;
  payloadHash: Uint8Array;
  metadata: DocumentMetadata;
  createdAt: bigint;
  /** Fixed nonces reproduce a known header (vectors); leave them out for fresh ones. */
  wrapNonce?: Uint8Array;
  metadataNonce?: Uint8Array;
}

/** Write and sign a header as `author`. */
export async function sealHeader(author: PrivateIdentity, f: HeaderFields): Promise<Bytes> {
  atLeastOne(f.version, WHAT, "version");
  atLeastOne(f.epoch, WHAT, "epoch");
  const ids = idsOf(f.dossierId, f.documentId, f.version);
  const wrapNonce = f.wrapNonce ?? randomBytes(NONCE);
  const metadataNonce = f.metadataNonce ?? randomBytes(NONCE);
  const key = await wrapKey(f.dossierKey, f.dossierId, f.epoch);
  const wrapped = concat(wrapNonce, xchachaSeal(key, wrapNonce, f.fileKey, wrapAd(ids, f.epoch)));
  const metadataKey = await derive(f.fileKey, METADATA_KEY);
  const metadata = concat(metadataNonce, xchachaSeal(metadataKey, metadataNonce, encodeDocumentMetadata(f.metadata), metadataAd(ids)));
  if (metadata.length > METADATA_MAX) throw new RangeError("document metadata is too large to seal");
  const body = concat(
    ascii(MAGIC),
    Uint8Array.of(1),
    f.dossierId,
    f.documentId,
    u64(f.version),
    author.public.userId,
    author.public.keyId,
    u64(f.epoch),
    wrapped,
    await fileKeyCommitment(f.fileKey, f.dossierId, f.documentId, f.version),
    u64(f.payloadSize),
    f.payloadHash,
    u64(f.createdAt),
    vbytes(metadata),
  );
  return concat(body, signWithLabel(author.signingSecretKey, DOCUMENT_HEADER_SIGNATURE, body));
}
