/**
 * Grants (docs/format.md section 8): a key (one dossier epoch's key, or one document version's
 * file key) sealed to a recipient's box key inside a statement signed by the granter.
 */

import { ascii, atLeastOne, concat, equal, isZero, Reader, u64, u8, type Bytes } from "./bytes.js";
import { boxSeal, boxSealOpen, derive } from "./crypto.js";
import { ExpiredError, IntegrityError, KeyMismatchError, MalformedError } from "./errors.js";
import { fileKeyCommitment } from "./header.js";
import { ID_SIZE, SIGNATURE_SIZE, signWithLabel, splitSigned, verifyBy, type Identity, type PrivateIdentity } from "./keys.js";
import { DOSSIER_KEY_COMMITMENT, GRANT_SIGNATURE } from "./labels.js";

const MAGIC = "KLGR";
const WHAT = "grant";
export const KIND_DOSSIER = 1;
export const KIND_DOCUMENT = 2;
export const RIGHTS_READ = 1;
export const RIGHTS_WRITE = 2;
export type GrantKind = typeof KIND_DOSSIER | typeof KIND_DOCUMENT;
export type Rights = typeof RIGHTS_READ | typeof RIGHTS_WRITE;
const SEALED_KEY_SIZE = 80;
const ZERO_ID = new Uint8Array(ID_SIZE);

export interface Grant {
  grantId: Bytes;
  kind: GrantKind;
  dossierId: Bytes;
  documentId: Bytes;
  /** Kind 1: the dossier key epoch; kind 2: the document version. */
  number: bigint;
  rights: Rights;
  granterId: Bytes;
  granterKeyId: Bytes;
  recipientId: Bytes;
  recipientKeyId: Bytes;
  issuedAt: bigint;
  /** 0 = does not expire. */
  expiresAt: bigint;
  counter: bigint;
  keyCommitment: Bytes;
  sealedKey: Bytes;
  signature: Bytes;
  encoded: Bytes;
}

/** Step 1: parse (`MalformedError`). */
export function decodeGrant(data: Uint8Array): Grant {
  const r = new Reader(data, WHAT);
  r.header(MAGIC);
  const grantId = r.bytes(ID_SIZE);
  const kind = r.u8();
  const dossierId = r.bytes(ID_SIZE);
  const documentId = r.bytes(ID_SIZE);
  const number = r.u64();
  const rights = r.u8();
  const g = {
    granterId: r.bytes(ID_SIZE),
    granterKeyId: r.bytes(32),
    recipientId: r.bytes(ID_SIZE),
    recipientKeyId: r.bytes(32),
    issuedAt: r.u64(),
    expiresAt: r.u64(),
    counter: r.u64(),
    keyCommitment: r.bytes(32),
    sealedKey: r.bytes(SEALED_KEY_SIZE),
    signature: r.bytes(SIGNATURE_SIZE),
  };
  r.end();
  if (kind !== KIND_DOSSIER && kind !== KIND_DOCUMENT) throw new MalformedError(`${WHAT}: unknown kind ${kind}`);
  if (rights !== RIGHTS_READ && rights !== RIGHTS_WRITE) throw new MalformedError(`${WHAT}: unknown rights ${rights}`);
  if ((kind === KIND_DOSSIER) !== isZero(documentId)) {
    throw new MalformedError(`${WHAT}: document_id must be zero exactly for a dossier grant`);
  }
  atLeastOne(number, WHAT, "number");
  atLeastOne(g.counter, WHAT, "counter");
  return { grantId, kind, dossierId, documentId, number, rights, ...g, encoded: r.consumed() };
}

/** derive(dossier_key, "kluis/v1/dossier-key-commitment", dossier_id || epoch). */
export async function dossierKeyCommitment(dossierKey: Uint8Array, dossierId: Uint8Array, epoch: bigint): Promise<Bytes> {
  return derive(dossierKey, DOSSIER_KEY_COMMITMENT, concat(dossierId, u64(epoch)));
}

async function commitmentOf(kind: GrantKind, key: Uint8Array, dossierId: Uint8Array, documentId: Uint8Array, number: bigint): Promise<Bytes> {
  return kind === KIND_DOSSIER ? dossierKeyCommitment(key, dossierId, number) : fileKeyCommitment(key, dossierId, documentId, number);
}

export interface GrantTarget {
  kind: GrantKind;
  dossierId: Uint8Array;
  /** Kind 2 only; kind 1 means 16 zero bytes. */
  documentId?: Uint8Array | null;
  number: bigint;
}

export interface OpenedGrant {
  grant: Grant;
  key: Bytes;
}

function checkGranter(grant: Grant, granter: Identity): void {
  if (!equal(grant.granterId, granter.userId) || !equal(grant.granterKeyId, granter.keyId)) {
    throw new KeyMismatchError(`${WHAT}: granter is not the expected identity`);
  }
  const { body, signature } = splitSigned(grant.encoded);
  verifyBy(granter, GRANT_SIGNATURE, body, signature, WHAT);
}

/** Open a grant as its recipient `me` at time `now` (Unix seconds), steps 1-7 of section 8. */
export async function openGrant(
  data: Uint8Array,
  target: GrantTarget,
  me: PrivateIdentity,
  granter: Identity,
  now: bigint,
): Promise<OpenedGrant> {
  const grant = decodeGrant(data); // 1
  const documentId = target.kind === KIND_DOSSIER ? ZERO_ID : target.documentId;
  if (
    grant.kind !== target.kind ||
    !equal(grant.dossierId, target.dossierId) ||
    documentId == null ||
    !equal(grant.documentId, documentId) ||
    grant.number !== target.number
  ) {
    throw new IntegrityError(`${WHAT}: is for another target`); // 2
  }
  if (!equal(grant.recipientId, me.public.userId) || !equal(grant.recipientKeyId, me.public.keyId)) {
    throw new KeyMismatchError(`${WHAT}: is addressed to someone else`); // 3
  }
  checkGranter(grant, granter); // 4, 5
  if (grant.expiresAt !== 0n && grant.expiresAt <= now) throw new ExpiredError(`${WHAT}: expired`); // 6
  const key = boxSealOpen(grant.sealedKey, me.public.boxKey, me.boxSecret); // 7
  if (key === null || key.length !== 32) throw new IntegrityError(`${WHAT}: the sealed key does not open`);
  const commitment = await commitmentOf(grant.kind, key, grant.dossierId, grant.documentId, grant.number);
  if (!equal(commitment, grant.keyCommitment)) throw new IntegrityError(`${WHAT}: the key does not match its commitment`);
  return { grant, key };
}

/** Verify a grant as its granter, who cannot unseal it: checks 1, 4 and 5, and the dossier. */
export function verifyGrant(data: Uint8Array, dossierId: Uint8Array, granter: Identity): Grant {
  const grant = decodeGrant(data);
  if (!equal(grant.dossierId, dossierId)) throw new IntegrityError(`${WHAT}: is for another dossier`);
  checkGranter(grant, granter);
  return grant;
}

export interface GrantFields {
  grantId: Uint8Array;
  kind: GrantKind;
  dossierId: Uint8Array;
  documentId?: Uint8Array | null;
  number: bigint;
  rights: Rights;
  issuedAt: bigint;
  expiresAt: bigint;
  counter: bigint;
  key: Uint8Array;
  /** A given sealed key reproduces a known grant (vectors); leave it out to seal the key. */
  sealedKey?: Uint8Array;
  keyCommitment?: Uint8Array;
}

/** Write and sign a grant from `granter` to `recipient`. */
export async function sealGrant(granter: PrivateIdentity, recipient: Identity, f: GrantFields): Promise<Bytes> {
  atLeastOne(f.number, WHAT, "number");
  atLeastOne(f.counter, WHAT, "counter");
  const documentId = f.kind === KIND_DOSSIER ? ZERO_ID : f.documentId;
  if (documentId == null || (f.kind === KIND_DOCUMENT && isZero(documentId))) throw new RangeError("a document grant names its document");
  const commitment = f.keyCommitment ?? (await commitmentOf(f.kind, f.key, f.dossierId, documentId, f.number));
  const sealed = f.sealedKey ?? boxSeal(f.key, recipient.boxKey);
  const body = concat(
    ascii(MAGIC),
    Uint8Array.of(1),
    f.grantId,
    u8(f.kind),
    f.dossierId,
    documentId,
    u64(f.number),
    u8(f.rights),
    granter.public.userId,
    granter.public.keyId,
    recipient.userId,
    recipient.keyId,
    u64(f.issuedAt),
    u64(f.expiresAt),
    u64(f.counter),
    commitment,
    sealed,
  );
  return concat(body, signWithLabel(granter.signingSecretKey, GRANT_SIGNATURE, body));
}
