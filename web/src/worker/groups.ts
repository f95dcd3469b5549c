/**
 * Village groups and personal conversations inside the worker (docs/format.md section 19,
 * docs/client.md): a group is an organisation of kind 5 and a conversation one of kind 6, so
 * the group's key chain, roster and memberships are verified exactly as section 14 says
 * (vault/organisation.ts), then its message chain (vault/messagelog.ts), and only then is
 * anything decrypted and handed to the page. The first failure stops everything (fail closed):
 * the page gets a SecurityError and shows the security page, never a partial list.
 *
 * What this browser keeps per group (store.ts `groupSeen`): the chain pin (a fork or an older
 * chain is refused), the state of the message chain it accepted (a later answer must extend
 * it: a chain cut back is a rollback, another message at an old place a fork) and how many
 * messages were shown (the unread count).
 */

import { equal, fromHex, toHex, type Bytes } from "../vault/bytes.js";
import { randomBytes } from "../vault/crypto.js";
import { encodeEvent, encodePost, encodeReply, encodeText, type Answer } from "../vault/content.js";
import { IntegrityError, MalformedError, RollbackError, SecurityError } from "../vault/errors.js";
import { atLeast, checkGroup, conversationName, epochKey, membersOf, roleIn } from "../vault/group.js";
import { eventIcs } from "../vault/ics.js";
import { isValidUsername, type Identity, type PrivateIdentity } from "../vault/keys.js";
import {
  KIND_ANNOUNCEMENT,
  KIND_CHAT,
  KIND_EPOCH_START,
  KIND_EVENT,
  KIND_EVENT_REPLY,
  KIND_PERSONAL,
  KIND_POST,
  KIND_POST_DELETION,
  KIND_PUBLIC_POST,
  decodeMessage,
  messageHash,
  openMessage,
  type Content,
  sealMessage,
  ZERO_HASH,
  type MessageKind,
} from "../vault/message.js";
import { stateFromJson, stateToJson, verifyMessages, type ChainState, type VerifiedMessage } from "../vault/messagelog.js";
import {
  chainPin,
  epochKeys,
  KIND_CONVERSATION,
  KIND_GROUP,
  newEpochKeys,
  openMembership,
  ROLE_ADMIN,
  ROLE_EDITOR,
  ROLE_MEMBER,
  sealMembership,
  sealOrgKeys,
  verifyChain,
  verifyRoster,
  type ChainPin,
  type OrgChain,
  type Role,
  type Roster,
} from "../vault/organisation.js";
import { b64, unb64 } from "./api.js";
import { ApiError, ClientError } from "./errors.js";
import type { Kluis } from "./kluis.js";
import type { ChatLine, EventInfo, GroupMemberInfo, GroupRole, GroupSummary, GroupView, PostInfo, SendGroupMessage } from "./protocol.js";

/** The server's page size for messages (docs/api.md: at most 1000). */
const PAGE = 1000;
/** How long one `wait` listens before it answers "nothing new" (the page asks again). */
const WAIT_MS = 25_000;
/**
 * How long a verified chain and roster are used for new messages before they are fetched again
 * (a live chat would otherwise verify the group's keys for every line). A message that does not
 * verify against them is verified once more against a fresh chain and roster before anything
 * fails, so a rotation or a new member is never taken for tampering; the member list shown may
 * lag this long behind an addition.
 */
const GROUP_RECHECK_MS = 60_000;
/** How many of the newest chat lines a view decrypts and shows. */
const CHAT_SHOWN = 200;
/** How often a message is signed again on top of a newer head (409 stale_head) before giving up. */
const SEND_ATTEMPTS = 4;

const ROLE_NAMES: Record<Role, GroupRole> = { [ROLE_ADMIN]: "admin", [ROLE_EDITOR]: "editor", [ROLE_MEMBER]: "member" };
const ROLE_VALUES: Record<GroupRole, Role> = { admin: ROLE_ADMIN, editor: ROLE_EDITOR, member: ROLE_MEMBER };

function now(): bigint {
  return BigInt(Math.floor(Date.now() / 1000));
}

function obj(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new MalformedError(`server answer: ${what} is not an object`);
  return value as Record<string, unknown>;
}

function list(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw new MalformedError(`server answer: ${what} is not a list`);
  return value;
}

function checkId(value: unknown, what: string): string {
  if (typeof value !== "string" || !/^[0-9a-f]{32}$/.test(value)) throw new MalformedError(`server answer: ${what} is not an id`);
  return value;
}

/** A pin as stored, or null for none; a damaged one is refused rather than ignored. */
function storedPin(value: unknown): ChainPin | null {
  if (value === null || value === undefined) return null;
  const p = value as Record<string, unknown>;
  const hashes = p["recordHashes"];
  if (
    typeof p["fingerprint"] !== "string" ||
    typeof p["epoch"] !== "number" ||
    !(p["keyId"] instanceof Uint8Array) ||
    !Array.isArray(hashes) ||
    !hashes.every((h) => h instanceof Uint8Array)
  ) {
    throw new MalformedError("this browser's memory of a group is damaged");
  }
  return { fingerprint: p["fingerprint"], epoch: p["epoch"], keyId: p["keyId"], recordHashes: hashes as Uint8Array[] };
}

/** One group as verified in this session. */
interface Loaded {
  chain: OrgChain;
  roster: Roster;
  /** K_e per epoch this account was a member of. */
  keys: Map<number, Bytes>;
  /** The current epoch's private keys, when this account holds them (admins seal and rotate with them). */
  current: PrivateIdentity | null;
  state: ChainState;
  messages: VerifiedMessage[];
  /** Decrypted bodies by message hash (hex), each opened once. */
  opened: Map<string, Content | null>;
  /** When the chain and roster were last fetched and verified (Date.now()). */
  checkedAt: number;
}

export class Groups {
  private loaded = new Map<string, Loaded>();

  constructor(private readonly kluis: Kluis) {}

  /** Forget every group key (logout). */
  wipe(): void {
    for (const g of this.loaded.values()) for (const k of g.keys.values()) k.fill(0);
    this.loaded.clear();
  }

  private identityOf = async (userId: Uint8Array): Promise<Identity> => (await this.kluis.contactById(toHex(userId))).identity;

  // -- reading ----------------------------------------------------------------------------------
  /** GET the group, verify its chain against the pin, its roster and its shape (14.2, 14.4, 19.1). */
  private async verifyGroup(groupId: string): Promise<Omit<Loaded, "state" | "messages" | "opened">> {
    const { me, memory } = this.kluis.session();
    const answer = obj(await this.kluis.api.call("GET", `/organisations/${groupId}`), "group");
    const records = list(answer["records"], "records").map((r, i) => unb64(r, `record ${i + 1}`));
    const memberships = list(answer["memberships"], "memberships").map((m, i) => unb64(obj(m, "membership")["membership"], `membership ${i + 1}`));
    const seen = await memory.groupSeen(groupId);
    const chain = await verifyChain(records, { authorOf: this.identityOf, orgId: fromHex(groupId), pin: storedPin(seen?.pin) });
    const roster = await verifyRoster(chain, memberships, this.identityOf);
    checkGroup(chain, roster);
    const keys = new Map<number, Bytes>();
    let current: PrivateIdentity | null = null;
    for (let epoch = 1; epoch <= chain.epoch; epoch++) {
      const m = roster.members[epoch - 1]?.get(toHex(me.public.userId));
      if (m === undefined) continue;
      const { org } = await openMembership(m.encoded, epochKeys(chain, epoch), me, await this.identityOf(m.adminId));
      keys.set(epoch, await epochKey(org));
      if (epoch === chain.epoch) current = org;
    }
    return { chain, roster, keys, current, checkedAt: Date.now() };
  }

  /** Every message after `after`, in server order (paged). */
  private async fetchMessages(groupId: string, after: number): Promise<Uint8Array[]> {
    const out: Uint8Array[] = [];
    let position = after;
    for (;;) {
      const page = obj(await this.kluis.api.call("GET", `/organisations/${groupId}/messages?after=${position}&limit=${PAGE}`), "messages");
      const rows = list(page["messages"], "messages");
      for (const row of rows) {
        const r = obj(row, "message");
        if (r["position"] !== position + 1) throw new IntegrityError("group messages: the server's positions skip or repeat");
        out.push(unb64(r["message"], "message"));
        position += 1;
      }
      const head = page["head"];
      if (typeof head !== "number" || !Number.isSafeInteger(head)) throw new MalformedError("server answer: head is not a number");
      if (rows.length === 0 || position >= head) return out;
    }
  }

  /**
   * The group verified as it stands now: its chain, roster and keys again (a rotation may have
   * happened), then the messages after those verified before, checked on top of them (19.4).
   * Before means earlier in this session, or else the state this browser kept: the server's
   * messages up to that state must be the very ones accepted then (each links to the one
   * before by its hash, and the last is the kept head; a chain cut back is a rollback, another
   * message at an old place a fork), so their signatures need not be checked again, and a
   * long chat opens in the time it takes to hash it.
   */
  private async load(groupId: string, fresh = false): Promise<Loaded> {
    checkId(groupId, "group id");
    const before = this.loaded.get(groupId);
    if (fresh || before === undefined || Date.now() - before.checkedAt > GROUP_RECHECK_MS) return this.loadWith(groupId, await this.verifyGroup(groupId));
    try {
      return await this.loadWith(groupId, before);
    } catch (error) {
      if (!(error instanceof SecurityError)) throw error;
      return this.loadWith(groupId, await this.verifyGroup(groupId)); // a rotation or a new member since
    }
  }

  private async loadWith(groupId: string, group: Omit<Loaded, "state" | "messages" | "opened">): Promise<Loaded> {
    const { memory } = this.kluis.session();
    const before = this.loaded.get(groupId);
    const seen = await memory.groupSeen(groupId);
    let base: { state: ChainState | null; messages: VerifiedMessage[] };
    let data: Uint8Array[];
    if (before !== undefined) {
      base = { state: before.state, messages: before.messages };
      data = await this.fetchMessages(groupId, before.messages.length);
    } else {
      const kept = seen?.state != null ? stateFromJson(seen.state) : null;
      data = await this.fetchMessages(groupId, 0);
      if (kept === null) {
        base = { state: null, messages: [] };
      } else {
        // The links first: a message dropped or replaced in the middle is said as such, not as a shorter chain.
        const prefix = await linked(group.chain, data.slice(0, kept.count), data.length >= kept.count ? kept.head : null);
        if (data.length < kept.count) {
          throw new RollbackError(`group ${group.chain.name}: the server shows ${data.length} messages, this browser saw ${kept.count}`);
        }
        base = { state: kept, messages: prefix };
        data = data.slice(kept.count);
      }
    }
    const verified = await verifyMessages({ ...group, identityOf: this.identityOf }, base.state, data);
    const messages = base.messages.concat(verified.messages);
    if (data.length > 0 || before === undefined) {
      await memory.saveGroupSeen(groupId, { pin: chainPin(group.chain), state: stateToJson(verified.state), shown: seen?.shown ?? 0 });
    }
    const loaded: Loaded = { ...group, state: verified.state, messages, opened: before?.opened ?? new Map() };
    this.loaded.set(groupId, loaded);
    return loaded;
  }

  private async open(g: Loaded, v: VerifiedMessage): Promise<Content | null> {
    const h = toHex(v.hash);
    if (!g.opened.has(h)) {
      const key = g.keys.get(v.message.epoch) ?? null;
      // Without K_e of that epoch (before this account joined) the message verified but cannot be read.
      g.opened.set(h, key === null && v.message.kind !== KIND_PUBLIC_POST && v.message.kind !== KIND_POST_DELETION ? null : (await openMessage(v.message, key)).content);
    }
    return g.opened.get(h) ?? null;
  }

  private async names(ids: Iterable<string>): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const id of ids) out.set(id, (await this.kluis.contactById(id)).identity.username);
    return out;
  }

  private async members(g: Loaded): Promise<GroupMemberInfo[]> {
    const myId = this.kluis.myId;
    const out: GroupMemberInfo[] = [];
    for (const id of membersOf(g.chain, g.roster, g.chain.epoch)) {
      const contact = await this.kluis.contactById(id);
      const role = roleIn(g.chain, g.roster, g.chain.epoch, fromHex(id)) ?? ROLE_MEMBER;
      out.push({ userId: id, username: contact.identity.username, role: ROLE_NAMES[role], verified: contact.verified, me: id === myId });
    }
    return out.sort((a, b) => a.username.localeCompare(b.username));
  }

  /**
   * Everything the page shows of a group: only what verified, decrypted where this account can.
   * Only what is shown is decrypted (19.4 allows it lazily): the last CHAT_SHOWN chat lines, the
   * live posts and the events by the chain's state, and the replies.
   */
  async view(groupId: string): Promise<GroupView> {
    const g = await this.load(groupId);
    const myId = this.kluis.myId;
    const byHash = new Map(g.messages.map((v, i) => [toHex(v.hash), { v, at: i }]));
    const shown: VerifiedMessage[] = [];
    const chatLines: VerifiedMessage[] = [];
    for (let i = g.messages.length - 1; i >= 0 && chatLines.length < CHAT_SHOWN; i--) {
      const v = g.messages[i] as VerifiedMessage;
      if (v.message.kind === KIND_CHAT || v.message.kind === KIND_PERSONAL || v.message.kind === KIND_ANNOUNCEMENT) chatLines.unshift(v);
    }
    const replies = g.messages.filter((v) => v.message.kind === KIND_EVENT_REPLY);
    const at = (hash: string): VerifiedMessage => {
      const found = byHash.get(hash);
      if (found === undefined) throw new IntegrityError("group messages: the chain's state names a message the chain does not hold");
      return found.v;
    };
    const live = [...g.state.posts].map(([latest, post]) => ({ latest: at(latest), first: at(post.first) }));
    const deleted = [...g.state.deleted].map((first) => at(first));
    const events = [...g.state.events].map((hash) => at(hash));
    shown.push(...chatLines, ...replies, ...live.map((p) => p.latest), ...deleted, ...events);
    const senders = await this.names(new Set(shown.map((v) => toHex(v.message.senderId))));
    const base = (v: VerifiedMessage): { hash: string; sender: string; senderId: string; mine: boolean; sentAt: number } => {
      const sender = toHex(v.message.senderId);
      return { hash: toHex(v.hash), sender: senders.get(sender) ?? sender, senderId: sender, mine: sender === myId, sentAt: Number(v.message.sentAt) };
    };
    let unreadable = 0;
    const open = async (v: VerifiedMessage): Promise<Content | null> => {
      const content = await this.open(g, v);
      if (content === null) unreadable += 1;
      return content;
    };

    const chat: ChatLine[] = [];
    for (const v of chatLines) {
      const content = await open(v);
      if (content !== null && "text" in content) chat.push({ ...base(v), kind: v.message.kind, text: content.text.text });
    }
    const answers = new Map<string, Map<string, Answer>>();
    for (const v of replies) {
      const content = await open(v);
      // A later reply of the same member replaces the earlier one (19.5).
      if (content !== null && "reply" in content) {
        const event = toHex(v.message.reference);
        answers.set(event, (answers.get(event) ?? new Map<string, Answer>()).set(toHex(v.message.senderId), content.reply.answer));
      }
    }
    const posts: (PostInfo & { at: number })[] = [];
    for (const { latest, first } of live) {
      const content = await open(latest);
      if (content === null || !("post" in content)) continue;
      posts.push({
        ...base(latest),
        first: toHex(first.hash),
        title: content.post.title,
        markdown: content.post.markdown,
        public: latest.message.kind === KIND_PUBLIC_POST,
        edited: latest !== first,
        deleted: false,
        at: byHash.get(toHex(first.hash))?.at ?? 0,
      });
    }
    for (const first of deleted) {
      posts.push({ ...base(first), first: toHex(first.hash), title: "", markdown: "", public: first.message.kind === KIND_PUBLIC_POST, edited: false, deleted: true, at: byHash.get(toHex(first.hash))?.at ?? 0 });
    }
    const names = { 1: "yes", 2: "no", 3: "maybe" } as const;
    const eventList: EventInfo[] = [];
    for (const v of events) {
      const content = await open(v);
      if (content === null || !("event" in content)) continue;
      const e = content.event;
      const info: EventInfo = {
        ...base(v),
        title: e.title,
        startsAt: Number(e.startsAt),
        endsAt: Number(e.endsAt),
        location: e.location,
        description: e.description,
        ics: eventIcs(v.hash, e, v.message.sentAt),
        replies: { yes: [], no: [], maybe: [] },
        myAnswer: null,
      };
      for (const [id, answer] of answers.get(info.hash) ?? []) info.replies[names[answer]].push(senders.get(id) ?? id);
      info.myAnswer = answers.get(info.hash)?.get(myId) ?? null;
      eventList.push(info);
    }
    const role = roleIn(g.chain, g.roster, g.chain.epoch, fromHex(myId));
    const { memory } = this.kluis.session();
    const seen = await memory.groupSeen(groupId);
    if (seen !== null) await memory.saveGroupSeen(groupId, { ...seen, shown: g.messages.length });
    return {
      groupId,
      name: g.chain.name,
      kind: g.chain.kind === KIND_CONVERSATION ? "conversation" : "group",
      fingerprint: g.chain.fingerprint,
      epoch: g.chain.epoch,
      myRole: role === null ? null : ROLE_NAMES[role],
      members: await this.members(g),
      chat,
      posts: posts.sort((x, y) => y.at - x.at).map(({ at: _, ...p }) => p),
      events: eventList.sort((x, y) => x.startsAt - y.startsAt),
      unreadable,
      position: g.messages.length,
    };
  }

  /** The groups and conversations this account is in (each verified), with unread counts. */
  async list(): Promise<GroupSummary[]> {
    const { memory } = this.kluis.session();
    const myId = this.kluis.myId;
    const rows = list(await this.kluis.api.call("GET", "/organisations"), "organisations").map((r) => obj(r, "organisation"));
    const out: GroupSummary[] = [];
    for (const row of rows) {
      if ((row["kind"] !== KIND_GROUP && row["kind"] !== KIND_CONVERSATION) || row["my_role"] === null) continue;
      const groupId = checkId(row["org_id"], "org_id");
      const g = await this.load(groupId);
      const seen = await memory.groupSeen(groupId);
      const other = [...membersOf(g.chain, g.roster, g.chain.epoch)].find((id) => id !== myId);
      out.push({
        groupId,
        name: g.chain.name,
        kind: g.chain.kind === KIND_CONVERSATION ? "conversation" : "group",
        withUser: g.chain.kind === KIND_CONVERSATION && other !== undefined ? (await this.kluis.contactById(other)).identity.username : null,
        unread: Math.max(0, g.messages.length - (seen?.shown ?? 0) - this.ownSince(g, seen?.shown ?? 0)),
      });
    }
    return out;
  }

  /** My own messages after the first `shown`: they are not unread. */
  private ownSince(g: Loaded, shown: number): number {
    const myId = this.kluis.myId;
    return g.messages.slice(shown).filter((v) => toHex(v.message.senderId) === myId || v.message.kind === KIND_EPOCH_START).length;
  }

  // -- writing ----------------------------------------------------------------------------------
  /**
   * Sign a message on top of the newest verified one and append it (19.3, "Writing"); on 409
   * stale_head the chain is verified again and the message signed again on top.
   */
  private async append(groupId: string, kind: MessageKind, plaintext: Uint8Array, reference: Uint8Array = ZERO_HASH, verified?: Loaded): Promise<void> {
    const { me } = this.kluis.session();
    let fresh = kind === KIND_EPOCH_START;
    for (let attempt = 1; ; attempt++) {
      // The first attempt signs on top of what this browser verified last (no request before the
      // POST); the server refuses it unless that is still the newest message (409 stale_head) and
      // the epoch the current one (409 version_conflict), and a retry verifies what came since.
      const g = attempt === 1 && verified !== undefined ? verified : await this.load(groupId, fresh);
      const epoch = kind === KIND_EPOCH_START ? g.chain.epoch : g.state.epoch;
      if (kind !== KIND_EPOCH_START && g.state.epoch !== g.chain.epoch) {
        throw new ClientError("the group has a new key that an administrator has not started yet; try again later");
      }
      const key = g.keys.get(epoch);
      if (key === undefined) throw new ClientError("you are not a member of this group");
      const message = await sealMessage(me, {
        groupId: g.chain.orgId,
        epoch,
        kind,
        sequence: (g.state.sequences.get(toHex(me.public.userId)) ?? 0n) + 1n,
        previousHash: g.state.count === 0 ? ZERO_HASH : g.state.head,
        reference,
        sentAt: now(),
        plaintext,
        epochKey: key,
      });
      try {
        await this.kluis.api.call("POST", `/organisations/${groupId}/messages`, { message: b64(message) });
        return;
      } catch (error) {
        if (!(error instanceof ApiError && error.status === 409 && attempt < SEND_ATTEMPTS)) throw error;
        fresh ||= error.code !== "stale_head"; // another epoch: the chain itself changed
      }
    }
  }

  /** Write a message of one of the page's kinds, after the client-side role check (19.3's table). */
  async send(r: SendGroupMessage): Promise<void> {
    // The page shows the group before anything is sent: what it showed is what this signs on.
    const g = this.loaded.get(r.groupId) ?? (await this.load(r.groupId));
    const role = roleIn(g.chain, g.roster, g.chain.epoch, fromHex(this.kluis.myId));
    const writer = atLeast(role, ROLE_EDITOR);
    switch (r.what) {
      case "chat":
        return this.append(r.groupId, g.chain.kind === KIND_CONVERSATION ? KIND_PERSONAL : KIND_CHAT, encodeText({ text: r.text }), ZERO_HASH, g);
      case "post":
        if (!writer) throw new ClientError("only editors and administrators write posts");
        return this.append(r.groupId, r.public ? KIND_PUBLIC_POST : KIND_POST, encodePost({ title: r.title, markdown: r.markdown, attachments: [] }), ZERO_HASH, g);
      case "event":
        if (!writer) throw new ClientError("only editors and administrators add events");
        return this.append(
          r.groupId,
          KIND_EVENT,
          encodeEvent({ title: r.title, startsAt: BigInt(r.startsAt), endsAt: BigInt(r.endsAt), location: r.location, description: r.description }),
          ZERO_HASH,
          g,
        );
      case "reply":
        if (!g.state.events.has(r.eventHash)) throw new ClientError("no such event");
        return this.append(r.groupId, KIND_EVENT_REPLY, encodeReply({ answer: r.answer }), fromHex(r.eventHash), g);
    }
  }

  /** Create a group (kind 5) with this account as its admin, and start its first epoch. */
  async create(name: string): Promise<string> {
    if (!isValidUsername(name) || name.startsWith("dm-")) throw new ClientError("a group name is lowercase letters, digits, - and _, and does not start with dm-");
    const groupId = await this.createOrganisation(name, KIND_GROUP, null);
    await this.append(groupId, KIND_EPOCH_START, new Uint8Array(0));
    return groupId;
  }

  /** A conversation (kind 6) with `username`: both admins of epoch 1 (19.1), then its epoch start. */
  async startConversation(username: string): Promise<string> {
    const other = await this.contactByName(username);
    if (equal(other.userId, this.kluis.session().me.public.userId)) throw new ClientError("a conversation is with someone else");
    for (const g of await this.list()) {
      if (g.kind === "conversation" && g.withUser === other.username) return g.groupId;
    }
    const groupId = await this.createOrganisation(null, KIND_CONVERSATION, other);
    await this.append(groupId, KIND_EPOCH_START, new Uint8Array(0));
    return groupId;
  }

  private async createOrganisation(name: string | null, kind: number, partner: Identity | null): Promise<string> {
    const { me } = this.kluis.session();
    const id = randomBytes(16);
    const orgName = name ?? conversationName(id);
    const org = await newEpochKeys(id, orgName, 1);
    const record = sealOrgKeys(me, org, kind, null, now());
    const groupId = toHex(id);
    const membership = sealMembership(me, org, me.public, ROLE_ADMIN, now());
    await this.kluis.api.call("POST", "/organisations", { org_id: groupId, name: orgName, kind, record: b64(record), membership: b64(membership) });
    if (partner !== null) {
      const theirs = sealMembership(me, org, partner, ROLE_ADMIN, now());
      await this.kluis.api.call("POST", `/organisations/${groupId}/members`, { member_id: toHex(partner.userId), role: ROLE_ADMIN, epoch: 1, membership: b64(theirs) });
    }
    return groupId;
  }

  private async contactByName(username: string): Promise<Identity> {
    if (!isValidUsername(username)) throw new ClientError("a username is lowercase letters, digits, - and _");
    return (await this.kluis.contactFromUser(await this.kluis.api.call("GET", `/users/${username}`), { username })).identity;
  }

  private async administered(groupId: string): Promise<Loaded & { current: PrivateIdentity }> {
    const g = await this.load(groupId, true);
    if (roleIn(g.chain, g.roster, g.chain.epoch, fromHex(this.kluis.myId)) !== ROLE_ADMIN || g.current === null) {
      throw new ClientError("only an administrator of the group changes its members");
    }
    if (g.chain.kind !== KIND_GROUP) throw new ClientError("a conversation's members do not change");
    return { ...g, current: g.current };
  }

  /** Add a member directly (an admin seals the current epoch's keys to them, 14.3). */
  async addMember(groupId: string, username: string, role: GroupRole): Promise<void> {
    const g = await this.administered(groupId);
    const member = await this.contactByName(username);
    if (membersOf(g.chain, g.roster, g.chain.epoch).has(toHex(member.userId))) throw new ClientError(`${username} is already a member`);
    const value = ROLE_VALUES[role];
    const membership = sealMembership(this.kluis.session().me, g.current, member, value, now());
    await this.kluis.api.call("POST", `/organisations/${groupId}/members`, { member_id: toHex(member.userId), role: value, epoch: g.chain.epoch, membership: b64(membership) });
    const cached = this.loaded.get(groupId);
    if (cached !== undefined) cached.checkedAt = 0; // the roster changed: the next view fetches and verifies it
  }

  /**
   * Remove a member: a new epoch (signed by me and by the current epoch's key), its keys sealed to
   * every remaining member with their role, then the epoch start message at once (19.4, "What this
   * cannot see": until then a removed member could still append in the old epoch).
   */
  async removeMember(groupId: string, userId: string): Promise<void> {
    checkId(userId, "member id");
    const g = await this.administered(groupId);
    const { me } = this.kluis.session();
    if (userId === this.kluis.myId) throw new ClientError("you cannot remove yourself; another administrator can");
    const members = membersOf(g.chain, g.roster, g.chain.epoch);
    if (!members.has(userId)) throw new ClientError("not a member of this group");
    const next = await newEpochKeys(g.chain.orgId, g.chain.name, g.chain.epoch + 1);
    const record = sealOrgKeys(me, next, g.chain.kind, g.current, now());
    const memberships = [];
    for (const id of [...members].sort()) {
      if (id === userId) continue;
      const identity = id === this.kluis.myId ? me.public : await this.identityOf(fromHex(id));
      const role = id === this.kluis.myId ? ROLE_ADMIN : (roleIn(g.chain, g.roster, g.chain.epoch, fromHex(id)) ?? ROLE_MEMBER);
      memberships.push({ member_id: id, role, membership: b64(sealMembership(me, next, identity, role, now())) });
    }
    await this.kluis.api.call("POST", `/organisations/${groupId}/rotate`, { epoch: next.public.keyVersion, record: b64(record), removed_id: userId, memberships, grants: [] });
    await this.append(groupId, KIND_EPOCH_START, new Uint8Array(0));
  }

  // -- live -------------------------------------------------------------------------------------
  /**
   * Listen to the group's Server-Sent Events (docs/api.md "Live group events") until its newest
   * position is above `after`, the stream says this account was removed, or WAIT_MS passed. The
   * stream carries only positions; the page then asks for the group, which verifies as always.
   */
  async wait(groupId: string, after: number): Promise<{ changed: boolean; removed: boolean }> {
    checkId(groupId, "group id");
    this.kluis.session();
    const stop = new AbortController();
    const timer = setTimeout(() => stop.abort(), WAIT_MS);
    let text = "";
    try {
      for await (const piece of this.kluis.api.downloadPieces(`/organisations/${groupId}/events?after=${after}`, Number.MAX_SAFE_INTEGER, stop.signal)) {
        text += new TextDecoder().decode(piece);
        let end: number;
        while ((end = text.indexOf("\n\n")) >= 0) {
          const block = text.slice(0, end);
          text = text.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          if (event === "removed") return { changed: true, removed: true };
          const position = Number(/^id: (\d+)$/m.exec(block)?.[1] ?? "0");
          if (event === "message" && position > after) return { changed: true, removed: false };
        }
      }
      return { changed: false, removed: false };
    } catch (error) {
      if (stop.signal.aborted) return { changed: false, removed: false };
      if (error instanceof ApiError && error.status === 403) return { changed: true, removed: true };
      throw error;
    } finally {
      clearTimeout(timer);
      stop.abort();
    }
  }
}

/**
 * Messages this browser verified in an earlier session, given again by the server: each must be
 * of this group and name the one before by its hash, and the last must be the head this browser
 * kept, when `head` is given (`IntegrityError`: another message at a place seen before, a fork). BLAKE3 links them to
 * what was verified then, signatures, roles and epochs included.
 */
async function linked(chain: OrgChain, data: readonly Uint8Array[], head: Uint8Array | null): Promise<VerifiedMessage[]> {
  const out: VerifiedMessage[] = [];
  let previous: Bytes = ZERO_HASH;
  for (const bytes of data) {
    const message = decodeMessage(bytes);
    if (!equal(message.groupId, chain.orgId) || !equal(message.previousHash, previous)) {
      throw new IntegrityError(`group ${chain.name}: message ${out.length + 1} is another than this browser verified before`);
    }
    previous = await messageHash(message);
    out.push({ message, hash: previous });
  }
  if (head !== null && !equal(previous, data.length === 0 ? ZERO_HASH : head)) {
    throw new IntegrityError(`group ${chain.name}: message ${data.length} is another than this browser saw (a fork)`);
  }
  return out;
}
