/**
 * Organisations (docs/format.md section 14): the key chain of OrgKeys records, the organisation
 * fingerprint, memberships that hand an epoch's keys to members, who counts as an admin, and
 * re-wrapped grants.
 */

import { ascii, concat, equal, isZero, Reader, u32, u64, u8, vbytes, type Bytes } from "./bytes.js";
import { blake3, boxSeal, boxSealOpen, randomBytes, sha512 } from "./crypto.js";
import { IntegrityError, KeyMismatchError, MalformedError, RollbackError, SecurityError, SignatureError } from "./errors.js";
import { decodeGrant, type Grant } from "./grant.js";
import {
  decodeIdentity,
  formatFingerprint,
  ID_SIZE,
  privateIdentityFromKeys,
  PRIVATE_KEYS_SIZE,
  privateKeysBytes,
  SIGNATURE_SIZE,
  signWithLabel,
  splitSigned,
  verifyBy,
  verifyWithLabel,
  type Identity,
  type PrivateIdentity,
} from "./keys.js";
import {
  ORGANISATION_FINGERPRINT,
  ORGANISATION_KEYS_SIGNATURE,
  ORGANISATION_MEMBERSHIP_SIGNATURE,
  ORGANISATION_SUCCESSION_SIGNATURE,
} from "./labels.js";

export const KIND_MUNICIPALITY = 1;
export const KIND_INSTITUTION = 2;
export const KIND_CONTRACTOR = 3;
export const KIND_ENGINEERING = 4;
/** A village group (section 19.1). */
export const KIND_GROUP = 5;
/** Two users' personal messages (section 19.1). */
export const KIND_CONVERSATION = 6;
export const ROLE_MEMBER = 1;
export const ROLE_ADMIN = 2;
/** Groups only (section 19.1): a member who may also write posts and events. */
export const ROLE_EDITOR = 3;
export type Role = typeof ROLE_MEMBER | typeof ROLE_ADMIN | typeof ROLE_EDITOR;

/** The order of roles (19.1): member < editor < admin. The wire values are not an order. */
export function roleRank(role: Role): number {
  return role === ROLE_ADMIN ? 3 : role === ROLE_EDITOR ? 2 : 1;
}

const KEYS_MAGIC = "KLOK";
const MEMBERSHIP_MAGIC = "KLOM";
const IDENTITY_MAX = 1024;
const SEALED_KEYS_SIZE = PRIVATE_KEYS_SIZE + 48;

/** Looks up the trusted identity of a user id (an author or admin); throws if it knows none. */
export type IdentityOf = (userId: Uint8Array) => Identity | Promise<Identity>;

// -- OrgKeys -------------------------------------------------------------------------------------

export interface OrgKeys {
  kind: number;
  /** The epoch's identity record: user_id = org id, key_version = epoch, username = name. */
  identity: Identity;
  previousKeyId: Bytes;
  authorId: Bytes;
  authorKeyId: Bytes;
  createdAt: bigint;
  authorSignature: Bytes;
  /** Present exactly when epoch > 1. */
  succession: Bytes | null;
  /** The bytes the author signed, and (followed by the author signature) the successor signed. */
  body: Bytes;
  encoded: Bytes;
}

export function orgEpoch(record: OrgKeys): number {
  return record.identity.keyVersion;
}

/** Parse an OrgKeys record (`MalformedError`; `SignatureError` for the embedded identity). */
export async function decodeOrgKeys(data: Uint8Array): Promise<OrgKeys> {
  const what = "organisation keys";
  const r = new Reader(data, what);
  r.header(KEYS_MAGIC);
  const kind = r.u8();
  if (kind < KIND_MUNICIPALITY || kind > KIND_CONVERSATION) throw new MalformedError(`${what}: unknown kind ${kind}`);
  const identityBytes = r.vbytes(IDENTITY_MAX, "identity");
  const identity = await decodeIdentity(identityBytes);
  const previousKeyId = r.bytes(32);
  const authorId = r.bytes(ID_SIZE);
  const authorKeyId = r.bytes(32);
  const createdAt = r.u64();
  const body = r.consumed();
  const authorSignature = r.bytes(SIGNATURE_SIZE);
  const epoch = identity.keyVersion;
  const succession = epoch > 1 ? r.bytes(SIGNATURE_SIZE) : null;
  r.end();
  if (epoch === 1 && !isZero(previousKeyId)) throw new MalformedError(`${what}: epoch 1 names a previous key`);
  if (epoch > 1 && isZero(previousKeyId)) throw new MalformedError(`${what}: epoch ${epoch} names no previous key`);
  return { kind, identity, previousKeyId, authorId, authorKeyId, createdAt, authorSignature, succession, body, encoded: r.consumed() };
}

/** F_org over the organisation id, kind, name and the keys of epoch 1. */
export async function organisationFingerprintDigest(genesis: OrgKeys): Promise<Bytes> {
  const id = genesis.identity;
  return sha512(
    concat(ascii(ORGANISATION_FINGERPRINT), Uint8Array.of(0), id.userId, u8(genesis.kind), vbytes(ascii(id.username)), id.signingKey, id.boxKey),
  );
}

// -- the chain ---------------------------------------------------------------------------------

export interface ChainPin {
  /** The display form of F_org this device trusts. */
  fingerprint: string;
  /** The highest epoch seen, and that epoch's key_id. */
  epoch: number;
  keyId: Uint8Array;
  /**
   * BLAKE3-256 of every epoch record this device verified, epoch 1 first; empty in a pin kept
   * before the hashes were (then only the key id of `epoch` is checked, and the pin completed).
   */
  recordHashes: readonly Uint8Array[];
}

export interface OrgChain {
  records: OrgKeys[];
  /** BLAKE3-256 of each record exactly as received (section 14.2, check 7). */
  hashes: Bytes[];
  orgId: Bytes;
  name: string;
  kind: number;
  /** The newest epoch. */
  epoch: number;
  current: OrgKeys;
  fingerprintDigest: Bytes;
  fingerprint: string;
  /** F_org[0:32], inside receipts. */
  fingerprintId: Bytes;
}

export function epochKeys(chain: OrgChain, epoch: number): OrgKeys {
  const record = chain.records[epoch - 1];
  if (!Number.isInteger(epoch) || epoch < 1 || record === undefined) {
    throw new KeyMismatchError(`organisation ${chain.name}: no epoch ${epoch}`);
  }
  return record;
}

export function chainPin(chain: OrgChain): ChainPin {
  return { fingerprint: chain.fingerprint, epoch: chain.epoch, keyId: chain.current.identity.keyId, recordHashes: chain.hashes };
}

export interface ChainExpectation {
  authorOf: IdentityOf;
  orgId?: Uint8Array | null;
  name?: string | null;
  pin?: ChainPin | null;
}

/** Verify an organisation's records, epoch 1 first (section 14.2, checks 1-7). */
export async function verifyChain(records: readonly Uint8Array[], expect: ChainExpectation): Promise<OrgChain> {
  const what = "organisation keys";
  if (records.length === 0) throw new IntegrityError(`${what}: the chain is empty`);
  const chain: OrgKeys[] = [];
  for (const [i, data] of records.entries()) {
    const record = await decodeOrgKeys(data); // 1
    const epoch = orgEpoch(record);
    if (epoch !== i + 1) throw new IntegrityError(`${what}: epoch ${epoch} where epoch ${i + 1} belongs`); // 2
    const first = chain[0];
    const previous = chain[chain.length - 1];
    if (first !== undefined && previous !== undefined) {
      if (
        !equal(record.identity.userId, first.identity.userId) ||
        record.identity.username !== first.identity.username ||
        record.kind !== first.kind
      ) {
        throw new IntegrityError(`${what}: epochs of different organisations`); // 3
      }
      if (!equal(record.previousKeyId, previous.identity.keyId)) {
        throw new IntegrityError(`${what}: epoch ${epoch} does not follow epoch ${epoch - 1}`); // 4
      }
      const signed = concat(record.body, record.authorSignature);
      if (record.succession === null || !verifyWithLabel(previous.identity.signingKey, ORGANISATION_SUCCESSION_SIGNATURE, signed, record.succession)) {
        throw new SignatureError(`${what}: epoch ${epoch} is not signed by the key of epoch ${epoch - 1}`);
      }
    }
    const author = await expect.authorOf(record.authorId); // 5
    if (!equal(author.userId, record.authorId) || !equal(author.keyId, record.authorKeyId)) {
      throw new KeyMismatchError(`${what}: the author of epoch ${epoch} is not who it names`);
    }
    verifyBy(author, ORGANISATION_KEYS_SIGNATURE, record.body, record.authorSignature, `${what} epoch ${epoch}`);
    chain.push(record);
  }
  const genesis = chain[0] as OrgKeys;
  const current = chain[chain.length - 1] as OrgKeys;
  const digest = await organisationFingerprintDigest(genesis);
  const verified: OrgChain = {
    records: chain,
    hashes: await Promise.all(records.map((data) => blake3(data))),
    orgId: genesis.identity.userId,
    name: genesis.identity.username,
    kind: genesis.kind,
    epoch: chain.length,
    current,
    fingerprintDigest: digest,
    fingerprint: formatFingerprint(digest),
    fingerprintId: digest.slice(0, 32),
  };
  if (expect.orgId != null && !equal(verified.orgId, expect.orgId)) {
    throw new IntegrityError(`${what}: the server answered with another organisation`); // 6
  }
  if (expect.name != null && verified.name !== expect.name) {
    throw new KeyMismatchError(`${what}: the server answered with ${verified.name} for ${expect.name}`);
  }
  if (expect.pin != null) checkPin(verified, expect.pin); // 7
  return verified;
}

/** Check 7: the pinned fingerprint, at least the pinned epochs, and no fork at any epoch seen. */
export function checkPin(chain: OrgChain, pin: ChainPin): void {
  if (chain.fingerprint !== pin.fingerprint) {
    throw new KeyMismatchError(`organisation ${chain.name}: its keys changed without a signature from the trusted keys`);
  }
  if (chain.epoch < pin.epoch) {
    throw new RollbackError(`organisation ${chain.name}: epoch ${chain.epoch} shown, epoch ${pin.epoch} seen before`);
  }
  if (pin.recordHashes.length !== 0 && pin.recordHashes.length !== pin.epoch) {
    throw new IntegrityError(`organisation ${chain.name}: the pin needs one record hash per epoch seen`);
  }
  for (const [i, seen] of pin.recordHashes.entries()) {
    if (!equal(chain.hashes[i] as Bytes, seen)) {
      throw new KeyMismatchError(`organisation ${chain.name}: its key chain has forked at epoch ${i + 1}: another record than this device verified`);
    }
  }
  if (!equal(epochKeys(chain, pin.epoch).identity.keyId, pin.keyId)) {
    throw new KeyMismatchError(`organisation ${chain.name}: epoch ${pin.epoch} now has other keys than this device saw`);
  }
}

// -- memberships -------------------------------------------------------------------------------

export interface Membership {
  orgId: Bytes;
  epoch: number;
  orgKeyId: Bytes;
  memberId: Bytes;
  memberKeyId: Bytes;
  role: Role;
  adminId: Bytes;
  adminKeyId: Bytes;
  issuedAt: bigint;
  sealedKeys: Bytes;
  signature: Bytes;
  encoded: Bytes;
}

export function decodeMembership(data: Uint8Array): Membership {
  const what = "membership";
  const r = new Reader(data, what);
  r.header(MEMBERSHIP_MAGIC);
  const orgId = r.bytes(ID_SIZE);
  const epoch = r.u32();
  const orgKeyId = r.bytes(32);
  const memberId = r.bytes(ID_SIZE);
  const memberKeyId = r.bytes(32);
  const role = r.u8();
  const m = {
    adminId: r.bytes(ID_SIZE),
    adminKeyId: r.bytes(32),
    issuedAt: r.u64(),
    sealedKeys: r.bytes(SEALED_KEYS_SIZE),
    signature: r.bytes(SIGNATURE_SIZE),
  };
  r.end();
  if (epoch < 1) throw new MalformedError(`${what}: epoch must be at least 1`);
  if (role !== ROLE_MEMBER && role !== ROLE_ADMIN && role !== ROLE_EDITOR) throw new MalformedError(`${what}: unknown role ${role}`);
  return { orgId, epoch, orgKeyId, memberId, memberKeyId, role, ...m, encoded: r.consumed() };
}

function checkRecord(m: Membership, record: OrgKeys): void {
  if (!equal(m.orgId, record.identity.userId) || m.epoch !== orgEpoch(record)) {
    throw new IntegrityError("membership: for another organisation or epoch");
  }
  if (!equal(m.orgKeyId, record.identity.keyId)) throw new IntegrityError("membership: names other keys than the epoch's");
  if (m.role === ROLE_EDITOR && record.kind !== KIND_GROUP) {
    throw new MalformedError("membership: the editor role exists only in groups"); // 19.1
  }
}

function checkAdmin(m: Membership, admin: Identity): void {
  if (!equal(m.adminId, admin.userId) || !equal(m.adminKeyId, admin.keyId)) {
    throw new KeyMismatchError("membership: not signed by the administrator it names");
  }
  const { body, signature } = splitSigned(m.encoded);
  verifyBy(admin, ORGANISATION_MEMBERSHIP_SIGNATURE, body, signature, "membership");
}

/** Checks 1, 2, 4 and 5 of section 14.3 (anyone can run them). */
export function verifyMembership(data: Uint8Array, record: OrgKeys, admin: Identity): Membership {
  const m = decodeMembership(data);
  checkRecord(m, record);
  checkAdmin(m, admin);
  return m;
}

/** Open a membership as its member (checks 1-7); returns the epoch's private keys. */
export async function openMembership(
  data: Uint8Array,
  record: OrgKeys,
  me: PrivateIdentity,
  admin: Identity,
): Promise<{ membership: Membership; org: PrivateIdentity }> {
  const m = decodeMembership(data); // 1
  checkRecord(m, record); // 2
  if (!equal(m.memberId, me.public.userId) || !equal(m.memberKeyId, me.public.keyId)) {
    throw new KeyMismatchError("membership: addressed to someone else, or to other keys"); // 3
  }
  checkAdmin(m, admin); // 4, 5
  const keys = boxSealOpen(m.sealedKeys, me.public.boxKey, me.boxSecret); // 6
  if (keys === null || keys.length !== PRIVATE_KEYS_SIZE) throw new IntegrityError("membership: the sealed keys do not open");
  const id = record.identity;
  const org = await privateIdentityFromKeys(id.userId, id.username, id.keyVersion, keys);
  if (!equal(org.public.signingKey, id.signingKey) || !equal(org.public.boxKey, id.boxKey)) {
    throw new KeyMismatchError("membership: the sealed keys are not the epoch's published keys"); // 7
  }
  return { membership: m, org };
}

/** Write a membership: `admin` gives `org`'s epoch keys to `member` with `role`. */
export function sealMembership(
  admin: PrivateIdentity,
  org: PrivateIdentity,
  member: Identity,
  role: Role,
  issuedAt: bigint,
): Bytes {
  const body = concat(
    ascii(MEMBERSHIP_MAGIC),
    Uint8Array.of(1),
    org.public.userId,
    u32(org.public.keyVersion),
    org.public.keyId,
    member.userId,
    member.keyId,
    u8(role),
    admin.public.userId,
    admin.public.keyId,
    u64(issuedAt),
    boxSeal(privateKeysBytes(org), member.boxKey),
  );
  return concat(body, signWithLabel(admin.signingSecretKey, ORGANISATION_MEMBERSHIP_SIGNATURE, body));
}

// -- roles -------------------------------------------------------------------------------------

const idKey = (id: Uint8Array): string => Array.from(id, (b) => b.toString(16).padStart(2, "0")).join("");

export interface Roster {
  /** Per epoch (index epoch - 1): member id (hex) -> the accepted membership with the highest role (19.1's order). */
  members: Map<string, Membership>[];
  /** Per epoch: admin ids (hex), the epoch's author included. */
  admins: Set<string>[];
}

/**
 * Section 14.4: per epoch, the admins are its author and whoever an admin of that epoch made
 * admin (repeated until nothing changes); memberships that do not verify, or whose signer is no
 * admin of their epoch, are ignored. The author of epoch k > 1 must be an admin of epoch k-1
 * (`IntegrityError`).
 */
export async function verifyRoster(chain: OrgChain, memberships: readonly Uint8Array[], identityOf: IdentityOf): Promise<Roster> {
  const byEpoch = new Map<number, Membership[]>();
  for (const data of memberships) {
    let m: Membership;
    try {
      m = decodeMembership(data);
    } catch (error) {
      if (error instanceof MalformedError) continue;
      throw error;
    }
    if (m.epoch >= 1 && m.epoch <= chain.epoch) byEpoch.set(m.epoch, [...(byEpoch.get(m.epoch) ?? []), m]);
  }
  const roster: Roster = { members: [], admins: [] };
  for (const record of chain.records) {
    const epoch = orgEpoch(record);
    const admins = new Set([idKey(record.authorId)]);
    const accepted = new Map<string, Membership>();
    let pending = [...(byEpoch.get(epoch) ?? [])];
    let progress = true;
    while (progress) {
      progress = false;
      for (const m of [...pending]) {
        if (!admins.has(idKey(m.adminId))) continue;
        pending = pending.filter((p) => p !== m);
        progress = true;
        try {
          checkRecord(m, record);
          checkAdmin(m, await identityOf(m.adminId));
        } catch (error) {
          if (error instanceof SecurityError) continue;
          throw error;
        }
        const member = idKey(m.memberId);
        const before = accepted.get(member);
        if (before === undefined || roleRank(m.role) > roleRank(before.role)) accepted.set(member, m);
        if (m.role === ROLE_ADMIN) admins.add(member);
      }
    }
    roster.members.push(accepted);
    roster.admins.push(admins);
    if (epoch > 1 && !(roster.admins[epoch - 2] as Set<string>).has(idKey(record.authorId))) {
      throw new IntegrityError(`organisation ${chain.name}: epoch ${epoch} was made by someone who was no admin of epoch ${epoch - 1}`);
    }
  }
  return roster;
}

// -- re-wrapped grants ---------------------------------------------------------------------------

/**
 * Section 14.5: `rewrap` faithfully copies the owner's `original` (which the caller verified
 * under the owner's trusted identity) and is signed by the very epoch it is addressed to.
 */
export function checkRewrap(rewrap: Grant, original: Grant, orgId: Uint8Array): void {
  if (!equal(rewrap.recipientId, orgId) || !equal(original.recipientId, orgId)) {
    throw new IntegrityError("re-wrapped grant: not a grant to this organisation");
  }
  if (!equal(rewrap.granterId, rewrap.recipientId) || !equal(rewrap.granterKeyId, rewrap.recipientKeyId)) {
    throw new KeyMismatchError("re-wrapped grant: not signed by the epoch it is addressed to");
  }
  if (
    rewrap.kind !== original.kind ||
    !equal(rewrap.dossierId, original.dossierId) ||
    !equal(rewrap.documentId, original.documentId) ||
    rewrap.number !== original.number
  ) {
    throw new IntegrityError("re-wrapped grant: for another target than the original");
  }
  if (!equal(rewrap.keyCommitment, original.keyCommitment)) throw new IntegrityError("re-wrapped grant: commits to another key");
  if (rewrap.rights > original.rights) throw new IntegrityError("re-wrapped grant: gives more rights than the original");
  if (original.expiresAt !== 0n && (rewrap.expiresAt === 0n || rewrap.expiresAt > original.expiresAt)) {
    throw new IntegrityError("re-wrapped grant: expires later than the original");
  }
}

/** Decode both grants and check the re-wrap (parse errors are `MalformedError`). */
export function checkRewrapBytes(rewrap: Uint8Array, original: Uint8Array, orgId: Uint8Array): { rewrap: Grant; original: Grant } {
  const r = decodeGrant(rewrap);
  const o = decodeGrant(original);
  checkRewrap(r, o, orgId);
  return { rewrap: r, original: o };
}

// -- writing a chain ---------------------------------------------------------------------------

/** Fresh keys for an organisation's epoch (its identity record: user_id = org id, key_version = epoch). */
export function newEpochKeys(orgId: Uint8Array, name: string, epoch: number): Promise<PrivateIdentity> {
  return privateIdentityFromKeys(orgId, name, epoch, randomBytes(PRIVATE_KEYS_SIZE));
}

/**
 * Write the OrgKeys record of `org`'s epoch (14.1): signed by `author`, and, after epoch 1, by
 * `previous` (the epoch before, whose keys the author holds) as its successor.
 */
export function sealOrgKeys(author: PrivateIdentity, org: PrivateIdentity, kind: number, previous: PrivateIdentity | null, createdAt: bigint): Bytes {
  if ((org.public.keyVersion === 1) !== (previous === null)) throw new RangeError("organisation keys: epoch 1 has no previous epoch, every later one has");
  const body = concat(
    ascii(KEYS_MAGIC),
    Uint8Array.of(1),
    u8(kind),
    vbytes(org.public.encoded),
    previous === null ? new Uint8Array(32) : previous.public.keyId,
    author.public.userId,
    author.public.keyId,
    u64(createdAt),
  );
  const signed = concat(body, signWithLabel(author.signingSecretKey, ORGANISATION_KEYS_SIGNATURE, body));
  return previous === null ? signed : concat(signed, signWithLabel(previous.signingSecretKey, ORGANISATION_SUCCESSION_SIGNATURE, signed));
}
