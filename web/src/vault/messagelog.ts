/**
 * A group's message chain (docs/format.md section 19.4): verifying the messages the server returns,
 * in its order, from the start or from the last state this device accepted; the state in its
 * stored JSON form; and a public post's revisions for a reader without an account (19.5).
 */

import { equal, fromHex, isZero, toHex, type Bytes } from "./bytes.js";
import { IntegrityError, KeyMismatchError, MalformedError, RollbackError } from "./errors.js";
import { atLeast, checkGroup, roleIn } from "./group.js";
import { decodePost } from "./content.js";
import {
  decodeMessage,
  KIND_EPOCH_START,
  KIND_EVENT,
  KIND_EVENT_REPLY,
  KIND_POST,
  KIND_POST_DELETION,
  KIND_PUBLIC_POST,
  messageHash,
  verifySender,
  ZERO_HASH,
  type Message,
  type MessageKind,
} from "./message.js";
import { KIND_CONVERSATION, KIND_GROUP, ROLE_ADMIN, ROLE_EDITOR, ROLE_MEMBER, type IdentityOf, type OrgChain, type Role, type Roster } from "./organisation.js";

const WHAT = "message chain";

/** The table of 19.3: who may send each kind (in the message's epoch), and in which kind of group. */
const KINDS: Record<MessageKind, { sender: Role; where: readonly number[] }> = {
  1: { sender: ROLE_ADMIN, where: [KIND_GROUP, KIND_CONVERSATION] },
  2: { sender: ROLE_EDITOR, where: [KIND_GROUP] },
  3: { sender: ROLE_MEMBER, where: [KIND_GROUP] },
  4: { sender: ROLE_MEMBER, where: [KIND_CONVERSATION] },
  5: { sender: ROLE_EDITOR, where: [KIND_GROUP] },
  6: { sender: ROLE_EDITOR, where: [KIND_GROUP] },
  7: { sender: ROLE_ADMIN, where: [KIND_GROUP] },
  8: { sender: ROLE_EDITOR, where: [KIND_GROUP] },
  9: { sender: ROLE_MEMBER, where: [KIND_GROUP] },
};

export interface PostState {
  /** The hash of the post's first revision (hex). */
  first: string;
  kind: typeof KIND_POST | typeof KIND_PUBLIC_POST;
}

/** What a device keeps of a verified chain (19.4). Hashes and ids are lowercase hex. */
export interface ChainState {
  count: number;
  /** The hash of the last message; zero while the chain is empty. */
  head: Bytes;
  /** The current epoch; 0 before any epoch start. */
  epoch: number;
  /** Sender id -> its last sequence. */
  sequences: Map<string, bigint>;
  /** Each live post by its latest revision's hash. */
  posts: Map<string, PostState>;
  /** The first revision's hash of every deleted post. */
  deleted: Set<string>;
  /** The hash of every event. */
  events: Set<string>;
}

export function emptyState(): ChainState {
  return { count: 0, head: ZERO_HASH, epoch: 0, sequences: new Map(), posts: new Map(), deleted: new Set(), events: new Set() };
}

function copyState(s: ChainState): ChainState {
  return { ...s, sequences: new Map(s.sequences), posts: new Map(s.posts), deleted: new Set(s.deleted), events: new Set(s.events) };
}

export interface VerifiedMessage {
  message: Message;
  hash: Bytes;
}

export interface GroupContext {
  /** The group's verified chain (14.2) and its roster (14.4). */
  chain: OrgChain;
  roster: Roster;
  /** The trusted identity of a sender; throws (`KeyMismatchError`) for one it does not know. */
  identityOf: IdentityOf;
}

/** Checks 1, 2 and 4 of 19.4 for one message. */
async function parseAndSender(data: Uint8Array, g: GroupContext): Promise<{ message: Message; hash: Bytes }> {
  const message = decodeMessage(data); // 1
  if (!equal(message.groupId, g.chain.orgId)) throw new IntegrityError(`${WHAT}: a message of another group`); // 2
  return { message, hash: await messageHash(message) };
}

async function checkSender(message: Message, g: GroupContext): Promise<void> {
  const sender = await g.identityOf(message.senderId); // 4
  verifySender(message, sender);
}

/** Check 6 of 19.4: the kind belongs to the group's kind, the epoch is in its chain, the sender held the role. */
function checkRole(message: Message, g: GroupContext): void {
  const rule = KINDS[message.kind];
  if (!rule.where.includes(g.chain.kind)) throw new IntegrityError(`${WHAT}: a message of kind ${message.kind} does not belong in this ${g.chain.kind === KIND_CONVERSATION ? "conversation" : "group"}`);
  if (message.epoch > g.chain.epoch) throw new KeyMismatchError(`${WHAT}: epoch ${message.epoch} is not in the group's chain`);
  if (!atLeast(roleIn(g.chain, g.roster, message.epoch, message.senderId), rule.sender)) {
    throw new IntegrityError(`${WHAT}: the sender had no right to send a message of kind ${message.kind} in epoch ${message.epoch}`);
  }
}

/**
 * Verify `messages` (in the server's order) after `state` (null: from the chain's start) for a
 * group whose chain and roster verified: the group's shape (19.1), then the eight checks of 19.4
 * per message, in order; the first failure stops everything. Returns the verified messages and
 * the new state, which the caller keeps in place of the old one only now.
 */
export async function verifyMessages(
  g: GroupContext,
  state: ChainState | null,
  messages: readonly Uint8Array[],
): Promise<{ messages: VerifiedMessage[]; state: ChainState }> {
  checkGroup(g.chain, g.roster);
  const s = copyState(state ?? emptyState());
  const out: VerifiedMessage[] = [];
  for (const data of messages) {
    const { message: m, hash } = await parseAndSender(data, g); // 1, 2
    if (!equal(m.previousHash, s.count === 0 ? ZERO_HASH : s.head)) {
      // 3
      throw new IntegrityError(`${WHAT}: message ${s.count + 1} does not follow the message before it`);
    }
    await checkSender(m, g); // 4
    const sender = toHex(m.senderId);
    const last = s.sequences.get(sender) ?? 0n; // 5
    if (m.sequence <= last) throw new RollbackError(`${WHAT}: sequence ${m.sequence} of a sender already at ${last}`);
    if (m.sequence !== last + 1n) throw new IntegrityError(`${WHAT}: sequence ${m.sequence} skips after ${last}`);
    checkRole(m, g); // 6
    if (m.kind === KIND_EPOCH_START) {
      // 7
      if (m.epoch <= s.epoch) throw new RollbackError(`${WHAT}: epoch ${m.epoch} started again, epoch ${s.epoch} is current`);
      s.epoch = m.epoch;
    } else if (s.count === 0) {
      throw new IntegrityError(`${WHAT}: the chain does not begin with an epoch start`);
    } else if (m.epoch < s.epoch) {
      throw new RollbackError(`${WHAT}: a message of epoch ${m.epoch}, epoch ${s.epoch} is current`);
    } else if (m.epoch !== s.epoch) {
      throw new IntegrityError(`${WHAT}: a message of epoch ${m.epoch} before that epoch started`);
    }
    const h = toHex(hash);
    const reference = toHex(m.reference); // 8
    if (m.kind === KIND_POST || m.kind === KIND_PUBLIC_POST) {
      if (isZero(m.reference)) {
        s.posts.set(h, { first: h, kind: m.kind });
      } else {
        const post = s.posts.get(reference);
        if (post === undefined || post.kind !== m.kind) {
          throw new IntegrityError(`${WHAT}: an edit that names no live post's latest revision of its kind`);
        }
        s.posts.delete(reference);
        s.posts.set(h, post);
      }
    } else if (m.kind === KIND_POST_DELETION) {
      const post = s.posts.get(reference);
      if (post === undefined) throw new IntegrityError(`${WHAT}: a deletion that names no live post's latest revision`);
      s.posts.delete(reference);
      s.deleted.add(post.first);
    } else if (m.kind === KIND_EVENT) {
      s.events.add(h);
    } else if (m.kind === KIND_EVENT_REPLY) {
      if (!s.events.has(reference)) throw new IntegrityError(`${WHAT}: a reply that answers no event`);
    }
    s.count += 1;
    s.head = hash;
    s.sequences.set(sender, m.sequence);
    out.push({ message: m, hash });
  }
  return { messages: out, state: s };
}

// -- the state's stored form ----------------------------------------------------------------------

const HASH_HEX = /^[0-9a-f]{64}$/;
const ID_HEX = /^[0-9a-f]{32}$/;

/** The state as the JSON object of the messagelog vectors (lists sorted, `sequences` by id). */
export function stateToJson(s: ChainState): Record<string, unknown> {
  const sequences: Record<string, number> = {};
  for (const id of [...s.sequences.keys()].sort()) sequences[id] = Number(s.sequences.get(id));
  return {
    count: s.count,
    head: toHex(s.head),
    epoch: s.epoch,
    sequences,
    posts: [...s.posts.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([latest, p]) => ({ latest, first: p.first, kind: p.kind })),
    deleted: [...s.deleted].sort(),
    events: [...s.events].sort(),
  };
}

function bad(why: string): never {
  throw new MalformedError(`message chain state: ${why}`);
}

function isCount(x: unknown, min: number): x is number {
  return typeof x === "number" && Number.isSafeInteger(x) && x >= min;
}

function hashList(x: unknown, field: string): Set<string> {
  if (!Array.isArray(x) || !x.every((h) => typeof h === "string" && HASH_HEX.test(h))) bad(`${field} is not a list of hashes`);
  const set = new Set(x as string[]);
  if (set.size !== x.length) bad(`${field} repeats a hash`);
  return set;
}

/** Read a stored state back, refusing a damaged one (`MalformedError`). */
export function stateFromJson(obj: unknown): ChainState {
  if (typeof obj !== "object" || obj === null || Array.isArray(obj)) bad("not an object");
  const o = obj as Record<string, unknown>;
  const fields = ["count", "head", "epoch", "sequences", "posts", "deleted", "events"];
  if (Object.keys(o).length !== fields.length || !fields.every((f) => Object.hasOwn(o, f))) bad("other fields than a state's");
  if (!isCount(o.count, 0) || !isCount(o.epoch, 0) || o.epoch > 0xffffffff) bad("count or epoch");
  if (typeof o.head !== "string" || !HASH_HEX.test(o.head)) bad("head");
  const head = fromHex(o.head);
  if ((o.count === 0) !== isZero(head)) bad("the head does not match the count");
  if ((o.count === 0) !== (o.epoch === 0)) bad("the epoch does not match the count");
  if (typeof o.sequences !== "object" || o.sequences === null || Array.isArray(o.sequences)) bad("sequences");
  const sequences = new Map<string, bigint>();
  for (const [id, n] of Object.entries(o.sequences as Record<string, unknown>)) {
    if (!ID_HEX.test(id) || !isCount(n, 1)) bad("a sequence");
    sequences.set(id, BigInt(n));
  }
  if (!Array.isArray(o.posts)) bad("posts");
  const posts = new Map<string, PostState>();
  for (const p of o.posts as unknown[]) {
    if (typeof p !== "object" || p === null || Array.isArray(p)) bad("a post");
    const q = p as Record<string, unknown>;
    if (Object.keys(q).length !== 3 || typeof q.latest !== "string" || typeof q.first !== "string") bad("a post");
    if (!HASH_HEX.test(q.latest) || !HASH_HEX.test(q.first) || (q.kind !== KIND_POST && q.kind !== KIND_PUBLIC_POST)) bad("a post");
    if (posts.has(q.latest)) bad("a post twice");
    posts.set(q.latest, { first: q.first, kind: q.kind });
  }
  return { count: o.count, head, epoch: o.epoch, sequences, posts, deleted: hashList(o.deleted, "deleted"), events: hashList(o.events, "events") };
}

// -- public posts (19.5) -------------------------------------------------------------------------

/**
 * Verify a public post's revisions, first to latest, for a reader without an account (19.5), in
 * this order per revision: parse and group (checks 1, 2 of 19.4); the kind (6, or 7 for a last
 * entry after the first) and that it names the revision before (revision 1: none), `IntegrityError`,
 * also for an empty list; the sender (check 4); the role (check 6); epochs never go back
 * (`RollbackError`). The group's shape (19.1) is checked first.
 */
export async function verifyPublicPost(
  g: GroupContext,
  revisions: readonly Uint8Array[],
): Promise<{ revisions: VerifiedMessage[]; titles: string[]; deleted: boolean }> {
  const what = "public post";
  checkGroup(g.chain, g.roster);
  if (revisions.length === 0) throw new IntegrityError(`${what}: no revisions`);
  const out: VerifiedMessage[] = [];
  const titles: string[] = [];
  let deleted = false;
  let previous: Bytes = ZERO_HASH;
  let epoch = 0;
  for (const [i, data] of revisions.entries()) {
    const { message: m, hash } = await parseAndSender(data, g); // 1, 2
    const last = i === revisions.length - 1;
    if (m.kind !== KIND_PUBLIC_POST && !(m.kind === KIND_POST_DELETION && last && i > 0)) {
      throw new IntegrityError(`${what}: revision ${i + 1} is no public post revision`);
    }
    if (!equal(m.reference, previous)) {
      throw new IntegrityError(`${what}: revision ${i + 1} does not name the revision before it`);
    }
    await checkSender(m, g); // 4
    checkRole(m, g); // 6
    if (m.epoch < epoch) throw new RollbackError(`${what}: revision ${i + 1} is of an older epoch`);
    epoch = m.epoch;
    if (m.kind === KIND_POST_DELETION) deleted = true;
    else titles.push(decodePost(m.body).title);
    previous = hash;
    out.push({ message: m, hash });
  }
  return { revisions: out, titles, deleted };
}
