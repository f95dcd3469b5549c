/**
 * Groups and conversations (docs/format.md sections 19.1 and 19.2): organisations of kind 5 or 6,
 * their shape (names, a conversation's two admins), who holds which role in an epoch, the epoch
 * key K_e, and archive keys (an earlier epoch's K_e given to one member by an admin).
 */

import { ascii, concat, equal, Reader, toHex, u32, u64, type Bytes } from "./bytes.js";
import { boxSeal, boxSealOpen, derive } from "./crypto.js";
import { IntegrityError, KeyMismatchError, MalformedError } from "./errors.js";
import { ID_SIZE, SIGNATURE_SIZE, signWithLabel, splitSigned, verifyBy, type Identity, type PrivateIdentity } from "./keys.js";
import { GROUP_ARCHIVE_KEY_SIGNATURE, GROUP_EPOCH_KEY } from "./labels.js";
import {
  epochKeys,
  KIND_CONVERSATION,
  KIND_GROUP,
  ROLE_ADMIN,
  roleRank,
  type OrgChain,
  type Role,
  type Roster,
} from "./organisation.js";

export const EPOCH_KEY_SIZE = 32;
export const CONVERSATION_PREFIX = "dm-";

/** The name a conversation must have: `dm-` and its id in lowercase hex (19.1). */
export function conversationName(groupId: Uint8Array): string {
  return CONVERSATION_PREFIX + toHex(groupId);
}

/**
 * The role a user holds in an epoch by the verified roster (19.1): the epoch's author and every
 * admin are admins; otherwise the highest role of its accepted memberships; null for no member.
 */
export function roleIn(chain: OrgChain, roster: Roster, epoch: number, userId: Uint8Array): Role | null {
  const record = epochKeys(chain, epoch);
  const id = toHex(userId);
  if (equal(record.authorId, userId) || roster.admins[epoch - 1]?.has(id)) return ROLE_ADMIN;
  const m = roster.members[epoch - 1]?.get(id);
  return m === undefined ? null : m.role;
}

/** Whether `role` is at least `needed` in the order member < editor < admin. */
export function atLeast(role: Role | null, needed: Role): boolean {
  return role !== null && roleRank(role) >= roleRank(needed);
}

/** The user ids (hex) of everyone in an epoch: its author, its admins and its accepted members. */
export function membersOf(chain: OrgChain, roster: Roster, epoch: number): Set<string> {
  const record = epochKeys(chain, epoch);
  return new Set([toHex(record.authorId), ...(roster.admins[epoch - 1] ?? []), ...(roster.members[epoch - 1]?.keys() ?? [])]);
}

/**
 * Section 19.1: the chain is a group or a conversation; a conversation is named `dm-<id hex>` and
 * has exactly two members in every epoch, both admins; a group's name does not start with `dm-`
 * (`IntegrityError`). Runs after the chain (14.2) and its roster (14.4) verified.
 */
export function checkGroup(chain: OrgChain, roster: Roster): void {
  if (chain.kind === KIND_GROUP) {
    if (chain.name.startsWith(CONVERSATION_PREFIX)) throw new IntegrityError(`group ${chain.name}: a group's name cannot start with dm-`);
    return;
  }
  if (chain.kind !== KIND_CONVERSATION) throw new IntegrityError(`organisation ${chain.name}: not a group or a conversation`);
  if (chain.name !== conversationName(chain.orgId)) throw new IntegrityError(`conversation ${chain.name}: not named after its id`);
  for (let epoch = 1; epoch <= chain.epoch; epoch++) {
    const members = membersOf(chain, roster, epoch);
    const admins = roster.admins[epoch - 1] ?? new Set<string>();
    if (members.size !== 2 || [...members].some((id) => !admins.has(id))) {
      throw new IntegrityError(`conversation ${chain.name}: epoch ${epoch} does not have exactly two members, both admins`);
    }
  }
}

// -- the epoch key ------------------------------------------------------------------------------

/** K_e = derive(box_secret || signing_seed, "kluis/v1/group-epoch-key", group_id || epoch u64). */
export function epochKey(org: PrivateIdentity): Promise<Bytes> {
  const id = org.public;
  return derive(concat(org.boxSecret, org.signingSeed), GROUP_EPOCH_KEY, concat(id.userId, u64(id.keyVersion)));
}

// -- archive keys -------------------------------------------------------------------------------

const ARCHIVE_MAGIC = "KLGA";
const SEALED_KEY_SIZE = EPOCH_KEY_SIZE + 48;

export interface ArchiveKey {
  groupId: Bytes;
  /** The earlier epoch whose key is given. */
  epoch: number;
  epochKeyId: Bytes;
  /** The epoch in which the admin gives it (> epoch). */
  grantedIn: number;
  memberId: Bytes;
  memberKeyId: Bytes;
  adminId: Bytes;
  adminKeyId: Bytes;
  issuedAt: bigint;
  sealedKey: Bytes;
  signature: Bytes;
  encoded: Bytes;
}

/** Parse an ArchiveKey (check 1 of 19.2, `MalformedError`). */
export function decodeArchiveKey(data: Uint8Array): ArchiveKey {
  const what = "archive key";
  const r = new Reader(data, what);
  r.header(ARCHIVE_MAGIC);
  const a = {
    groupId: r.bytes(ID_SIZE),
    epoch: r.u32(),
    epochKeyId: r.bytes(32),
    grantedIn: r.u32(),
    memberId: r.bytes(ID_SIZE),
    memberKeyId: r.bytes(32),
    adminId: r.bytes(ID_SIZE),
    adminKeyId: r.bytes(32),
    issuedAt: r.u64(),
    sealedKey: r.bytes(SEALED_KEY_SIZE),
    signature: r.bytes(SIGNATURE_SIZE),
  };
  r.end();
  if (a.epoch < 1 || a.grantedIn < 1) throw new MalformedError(`${what}: epochs must be at least 1`);
  if (a.epoch >= a.grantedIn) throw new MalformedError(`${what}: epoch ${a.epoch} given in epoch ${a.grantedIn}, not a later one`);
  return { ...a, encoded: r.consumed() };
}

/** Checks 2-6 of 19.2 on a parsed ArchiveKey; `me` (the opener) is checked only when given. */
function checkArchiveKey(a: ArchiveKey, chain: OrgChain, roster: Roster, admin: Identity, me: PrivateIdentity | null): void {
  const what = "archive key";
  if (!equal(a.groupId, chain.orgId)) throw new IntegrityError(`${what}: for another group`); // 2
  if (a.grantedIn > chain.epoch) throw new IntegrityError(`${what}: given in epoch ${a.grantedIn}, which the group's chain does not have`);
  if (!equal(a.epochKeyId, epochKeys(chain, a.epoch).identity.keyId)) throw new IntegrityError(`${what}: names other keys than epoch ${a.epoch}'s`);
  if (me !== null && (!equal(a.memberId, me.public.userId) || !equal(a.memberKeyId, me.public.keyId))) {
    throw new KeyMismatchError(`${what}: addressed to someone else, or to other keys`); // 3
  }
  if (roleIn(chain, roster, a.grantedIn, a.memberId) === null) throw new IntegrityError(`${what}: given to someone who is no member of epoch ${a.grantedIn}`);
  if (!equal(a.adminId, admin.userId) || !equal(a.adminKeyId, admin.keyId)) {
    throw new KeyMismatchError(`${what}: not signed by the administrator it names`); // 4
  }
  const { body, signature } = splitSigned(a.encoded);
  verifyBy(admin, GROUP_ARCHIVE_KEY_SIGNATURE, body, signature, what); // 5
  if (roleIn(chain, roster, a.grantedIn, a.adminId) !== ROLE_ADMIN) {
    throw new IntegrityError(`${what}: signed by someone who is no admin of epoch ${a.grantedIn}`); // 6
  }
}

/**
 * What anyone holding the group's verified chain and roster can check of an ArchiveKey (19.2,
 * checks 1, 2, 4, 5, 6, and that the member is one of epoch `granted_in`).
 */
export function verifyArchiveKey(data: Uint8Array, chain: OrgChain, roster: Roster, admin: Identity): ArchiveKey {
  const a = decodeArchiveKey(data); // 1
  checkArchiveKey(a, chain, roster, admin, null);
  return a;
}

/**
 * Open an ArchiveKey as its member (the seven checks of 19.2, in order) with the group's verified
 * chain and roster; returns the earlier epoch and its K_e.
 */
export function openArchiveKey(
  data: Uint8Array,
  chain: OrgChain,
  roster: Roster,
  me: PrivateIdentity,
  admin: Identity,
): { archive: ArchiveKey; epoch: number; epochKey: Bytes } {
  const a = decodeArchiveKey(data); // 1
  checkArchiveKey(a, chain, roster, admin, me); // 2-6
  const key = boxSealOpen(a.sealedKey, me.public.boxKey, me.boxSecret); // 7
  if (key === null || key.length !== EPOCH_KEY_SIZE) throw new IntegrityError("archive key: the sealed key does not open");
  return { archive: a, epoch: a.epoch, epochKey: key };
}

/** Write an ArchiveKey: `admin` gives `member` the K_e of `epoch` in epoch `grantedIn`. */
export function sealArchiveKey(
  admin: PrivateIdentity,
  chain: OrgChain,
  member: Identity,
  fields: { epoch: number; grantedIn: number; epochKey: Uint8Array; issuedAt: bigint },
): Bytes {
  if (fields.epochKey.length !== EPOCH_KEY_SIZE) throw new RangeError("an epoch key is 32 bytes");
  if (fields.epoch < 1 || fields.epoch >= fields.grantedIn) throw new RangeError("an archive key gives an earlier epoch");
  const body = concat(
    ascii(ARCHIVE_MAGIC),
    Uint8Array.of(1),
    chain.orgId,
    u32(fields.epoch),
    epochKeys(chain, fields.epoch).identity.keyId,
    u32(fields.grantedIn),
    member.userId,
    member.keyId,
    admin.public.userId,
    admin.public.keyId,
    u64(fields.issuedAt),
    boxSeal(fields.epochKey, member.boxKey),
  );
  return concat(body, signWithLabel(admin.signingSecretKey, GROUP_ARCHIVE_KEY_SIGNATURE, body));
}
