/**
 * Section 19 beyond what the vector files check on their own: K_e from an opened membership, the
 * writers (a message rebuilt byte for byte, an archive key and a chat line that open), the bodies
 * of 19.5 both ways, a chain extended by a written message, and the stored state refused when
 * damaged.
 */

import assert from "node:assert/strict";
import { test } from "node:test";

import { concat, u64, type Bytes } from "../src/vault/bytes.js";
import {
  decodeEvent,
  decodePost,
  decodeReply,
  decodeText,
  encodeEvent,
  encodePost,
  encodeReply,
  encodeText,
} from "../src/vault/content.js";
import { ready } from "../src/vault/crypto.js";
import { IntegrityError, MalformedError, SignatureError } from "../src/vault/errors.js";
import { eventIcs, icsTime } from "../src/vault/ics.js";
import { checkGroup, epochKey, openArchiveKey, sealArchiveKey, verifyArchiveKey } from "../src/vault/group.js";
import { decodeIdentity, privateIdentityFromKeys, type PrivateIdentity } from "../src/vault/keys.js";
import {
  decodeMessage,
  KIND_ANNOUNCEMENT,
  KIND_CHAT,
  KIND_EVENT_REPLY,
  messageHash,
  openMessage,
  sealMessage,
  verifySender,
  ZERO_HASH,
} from "../src/vault/message.js";
import { stateFromJson, stateToJson, verifyMessages, verifyPublicPost, type GroupContext } from "../src/vault/messagelog.js";
import {
  decodeMembership,
  epochKeys,
  KIND_CONVERSATION,
  KIND_GROUP,
  KIND_MUNICIPALITY,
  openMembership,
  ROLE_ADMIN,
  ROLE_EDITOR,
  ROLE_MEMBER,
  roleRank,
  verifyChain,
  verifyMembership,
  verifyRoster,
  type IdentityOf,
  type Role,
} from "../src/vault/organisation.js";

import { h, hex, loadVector, type Vector } from "./helpers.js";

await ready();

const archive = loadVector("archive-success.json");
const log = loadVector("messagelog-success.json");
const epochStart = loadVector("message-success-epoch-start.json");
const event = loadVector("message-success-event.json");
const aliceVector = loadVector("identity-alice.json");

async function privateOf(obj: any): Promise<PrivateIdentity> {
  return privateIdentityFromKeys(h(obj.user_id), obj.username, obj.key_version, h(obj.private_keys));
}

function lookup(list: string[]): IdentityOf {
  const known = Promise.all(list.map((x) => decodeIdentity(h(x))));
  return async (id) => {
    const found = (await known).find((i) => hex(i.userId) === hex(id));
    if (found === undefined) throw new Error("unknown");
    return found;
  };
}

async function group(v: Vector): Promise<GroupContext> {
  const identityOf = lookup(v.identities);
  const chain = await verifyChain((v.records as string[]).map(h), { authorOf: identityOf });
  return { chain, roster: await verifyRoster(chain, (v.memberships as string[]).map(h), identityOf), identityOf };
}

/** Dave (new in epoch 2) opens his membership of epoch 2. */
async function dave(g: GroupContext): Promise<{ me: PrivateIdentity; org: PrivateIdentity }> {
  const me = await privateOf(archive.member);
  const data = (archive.memberships as string[]).map(h).find((m) => {
    const d = decodeMembership(m);
    return hex(d.memberId) === hex(me.public.userId) && d.epoch === 2;
  });
  assert.ok(data !== undefined, "Dave's membership of epoch 2");
  const admin = await g.identityOf(decodeMembership(data).adminId);
  const { org } = await openMembership(data, epochKeys(g.chain, 2), me, admin);
  return { me, org };
}

test("K_e of an opened membership is the epoch key the vectors encrypt under", async () => {
  const g = await group(archive);
  const { org } = await dave(g);
  assert.equal(hex(await epochKey(org)), event.epoch_key);
  assert.equal(hex(await epochKey(org)), epochStart.epoch_key);
  assert.notEqual(hex(await epochKey(org)), archive.epoch_key, "epoch 1 has another key");
});

test("Alice's epoch start, written again, is the vector's message byte for byte", async () => {
  const alice = await privateOf(aliceVector);
  const m = decodeMessage(h(epochStart.message));
  const rebuilt = await sealMessage(alice, {
    groupId: m.groupId,
    epoch: m.epoch,
    kind: m.kind,
    sequence: m.sequence,
    previousHash: m.previousHash,
    reference: m.reference,
    sentAt: m.sentAt,
    plaintext: new Uint8Array(0),
    epochKey: h(epochStart.epoch_key),
    nonce: m.body.slice(0, 24),
  });
  assert.equal(hex(rebuilt), epochStart.message);
  assert.equal(hex(await messageHash(rebuilt)), epochStart.message_hash);
});

test("an archive key Alice writes opens as Dave with the key it gives; as Bob's it does not", async () => {
  const g = await group(archive);
  const alice = await privateOf(aliceVector);
  const { me } = await dave(g);
  const written = sealArchiveKey(alice, g.chain, me.public, { epoch: 1, grantedIn: 2, epochKey: h(archive.epoch_key), issuedAt: 1800000000n });
  const opened = openArchiveKey(written, g.chain, g.roster, me, alice.public);
  assert.equal(verifyArchiveKey(written, g.chain, g.roster, alice.public).grantedIn, 2);
  assert.equal(opened.epoch, 1);
  assert.equal(hex(opened.epochKey), archive.epoch_key);
  const flipped = concat(written);
  flipped[62] = (flipped[62] as number) ^ 1; // inside member_id (from byte 61): someone else's
  assert.throws(() => openArchiveKey(flipped, g.chain, g.roster, me, alice.public), (e) => e instanceof Error && e.name === "KeyMismatchError");
  // Anyone may verify it, but a member id that is no member of epoch 2 is refused there too.
  assert.throws(() => verifyArchiveKey(flipped, g.chain, g.roster, alice.public), (e) => e instanceof IntegrityError);
  assert.throws(() => sealArchiveKey(alice, g.chain, me.public, { epoch: 2, grantedIn: 2, epochKey: h(archive.epoch_key), issuedAt: 1n }), RangeError);
});

test("a chat line Dave writes opens under K_e of its epoch only, as its sender's only", async () => {
  const g = await group(archive);
  const { me, org } = await dave(g);
  const key = await epochKey(org);
  const written = await sealMessage(me, {
    groupId: g.chain.orgId,
    epoch: 2,
    kind: KIND_CHAT,
    sequence: 1n,
    previousHash: h(epochStart.message_hash),
    reference: ZERO_HASH,
    sentAt: 1800000000n,
    plaintext: encodeText({ text: "Goedemorgen, buren! ☀" }),
    epochKey: key,
  });
  const m = decodeMessage(written);
  verifySender(m, me.public);
  assert.throws(() => verifySender(m, { ...me.public, signingKey: (g.chain.current.identity.signingKey) }), SignatureError);
  const opened = await openMessage(m, key);
  assert.deepEqual(opened.content, { kind: KIND_CHAT, text: { text: "Goedemorgen, buren! ☀" } });
  await assert.rejects(openMessage(m, h(archive.epoch_key)), IntegrityError);
  await assert.rejects(openMessage(m, null), IntegrityError);
  // The same body under another kind's header does not open.
  const moved = await sealMessage(me, {
    groupId: g.chain.orgId, epoch: 2, kind: KIND_ANNOUNCEMENT, sequence: 1n, previousHash: ZERO_HASH,
    reference: ZERO_HASH, sentAt: 1n, plaintext: encodeText({ text: "x" }), epochKey: key,
  });
  const spliced = decodeMessage(moved);
  await assert.rejects(openMessage({ ...spliced, body: m.body }, key), IntegrityError);
});

test("the chain goes on: Dave's reply to the event verifies on top of the state; an announcement by him does not", async () => {
  const g = await group(log);
  const before = stateFromJson(log.result);
  const { me } = await dave(g);
  const eventHash = (log.result.events as string[])[0] as string;
  const write = (kind: typeof KIND_EVENT_REPLY | typeof KIND_ANNOUNCEMENT, plaintext: Bytes, reference: Bytes) =>
    sealMessage(me, {
      groupId: g.chain.orgId,
      epoch: 2,
      kind,
      sequence: (before.sequences.get(hex(me.public.userId)) ?? 0n) + 1n,
      previousHash: before.head,
      reference,
      sentAt: 1800000000n,
      plaintext,
      epochKey: h(event.epoch_key),
    });
  const reply = await write(KIND_EVENT_REPLY, encodeReply({ answer: 1 }), h(eventHash));
  const { state, messages } = await verifyMessages(g, before, [reply]);
  assert.equal(state.count, before.count + 1);
  assert.equal(hex(state.head), hex(await messageHash(reply)));
  assert.equal(messages.length, 1);
  assert.deepEqual(stateToJson(before), log.result, "the old state is not changed");
  const announcement = await write(KIND_ANNOUNCEMENT, encodeText({ text: "Ik ben geen redacteur" }), ZERO_HASH);
  await assert.rejects(verifyMessages(g, before, [announcement]), IntegrityError);
  const noEvent = await write(KIND_EVENT_REPLY, encodeReply({ answer: 2 }), before.head);
  await assert.rejects(verifyMessages(g, before, [noEvent]), IntegrityError);
});

test("the bodies of 19.5 read and write the same bytes", () => {
  const post = { title: "Straatfeest", markdown: "**Zaterdag** om 14:00", attachments: [{ dossierId: new Uint8Array(16).fill(1), documentId: new Uint8Array(16).fill(2) }] };
  assert.deepEqual(decodePost(encodePost(post)), post);
  const plain = h(event.plaintext);
  assert.equal(hex(encodeEvent(decodeEvent(plain))), event.plaintext);
  for (const answer of [1, 2, 3] as const) assert.deepEqual(decodeReply(encodeReply({ answer })), { answer });
  assert.equal(decodeText(encodeText({ text: "é\u0000 tab\tok" })).text, "é\u0000 tab\tok", "a chat line may hold control characters");
});

test("the bodies of 19.5 refuse what the section lists", () => {
  const v = (data: Uint8Array) => concat(Uint8Array.of(0, 0, 0, data.length), data);
  const bad = (f: () => unknown) => assert.throws(f, MalformedError);
  bad(() => decodeText(v(Uint8Array.of(0xef, 0xbb, 0xbf, 0x41)))); // a BOM
  bad(() => decodeText(v(Uint8Array.of(0xc0, 0x80)))); // overlong
  bad(() => decodeText(v(Uint8Array.of(0xed, 0xa0, 0x80)))); // a surrogate
  bad(() => decodeText(v(new Uint8Array(0))));
  bad(() => decodeText(v(new Uint8Array(4097).fill(0x61))));
  bad(() => decodeText(concat(v(Uint8Array.of(0x61)), Uint8Array.of(0))));
  bad(() => decodePost(concat(v(Uint8Array.of(0x61, 0x0a)), v(new Uint8Array(0)), Uint8Array.of(0)))); // a newline in a title
  bad(() => decodePost(concat(v(Uint8Array.of(0x61)), v(new Uint8Array(0)), Uint8Array.of(33), new Uint8Array(33 * 32))));
  bad(() => decodeReply(Uint8Array.of(0)));
  bad(() => decodeReply(Uint8Array.of(4)));
  const e = decodeEvent(h(event.plaintext));
  const empty = v(new Uint8Array(0));
  assert.equal(decodeEvent(concat(v(Uint8Array.of(0x61)), u64(9n), u64(9n), empty, empty)).endsAt, 9n);
  bad(() => decodeEvent(concat(v(Uint8Array.of(0x61)), u64(10n), u64(9n), empty, empty))); // ends before it starts
  bad(() => decodeEvent(concat(v(Uint8Array.of(0x61)), u64(1n), u64(2n), v(Uint8Array.of(0x0a)), empty))); // a newline in the location
  bad(() => decodeEvent(concat(v(new Uint8Array(0)), u64(1n), u64(2n), empty, empty))); // no title
  assert.throws(() => encodeText({ text: "\ud800" }), RangeError);
  assert.throws(() => encodePost({ title: "a\u007f", markdown: "", attachments: [] }), RangeError);
  assert.throws(() => encodeEvent({ ...e, endsAt: e.startsAt - 1n }), RangeError);
});

test("a stored state that is damaged is refused", () => {
  const good = log.result as Record<string, unknown>;
  assert.deepEqual(stateToJson(stateFromJson(good)), good);
  const damaged: unknown[] = [
    null,
    [],
    { ...good, extra: 1 },
    { ...good, head: "00" },
    { ...good, count: -1 },
    { ...good, count: 1.5 },
    { ...good, epoch: "2" },
    { ...good, sequences: { ...(good.sequences as object), "00": 1 } },
    { ...good, sequences: { ...(good.sequences as object), ["ab".repeat(16)]: 0 } },
    { ...good, posts: [{ latest: "00".repeat(32), first: "00".repeat(32), kind: 7 }] },
    { ...good, deleted: ["zz".repeat(32)] },
    { ...good, events: "none" },
  ];
  for (const d of damaged) assert.throws(() => stateFromJson(d), MalformedError, JSON.stringify(d));
});

test("a public post's checks run in the order of 19.5: a members-only revision is refused before its signature is checked", async () => {
  const v = loadVector("publicpost-members-only.json");
  const g = await group(v);
  const revisions = (v.revisions as string[]).map(h);
  const first = revisions[0] as Bytes;
  first[first.length - 1] = (first[first.length - 1] as number) ^ 1;
  await assert.rejects(verifyPublicPost(g, revisions), (e) => e instanceof IntegrityError && !(e instanceof MalformedError));
  const ok = loadVector("publicpost-success.json");
  const tampered = (ok.revisions as string[]).map(h);
  const t = tampered[0] as Bytes;
  t[t.length - 1] = (t[t.length - 1] as number) ^ 1;
  await assert.rejects(verifyPublicPost(await group(ok), tampered), SignatureError);
});

test("an event as an RFC 5545 calendar: one VEVENT, its UID, UTC times, escaped text, lines of at most 75 octets", () => {
  const e = decodeEvent(h(event.plaintext));
  const long = { ...e, title: "Vergadering; agenda, punt \\ één", description: "Regel 1\r\nRegel 2\n" + "ë".repeat(100) };
  const ics = eventIcs(h(event.message_hash), long, 1800000000n);
  assert.ok(ics.endsWith("\r\n") && !ics.replace(/\r\n/g, "").includes("\n"), "CRLF line ends only");
  const physical = ics.split("\r\n").slice(0, -1);
  for (const line of physical) assert.ok(Buffer.byteLength(line, "utf8") <= 75, `${line} is longer than 75 octets`);
  const lines = ics.replace(/\r\n /g, "").split("\r\n");
  assert.equal(lines.filter((l) => l === "BEGIN:VEVENT").length, 1);
  assert.ok(lines.includes(`UID:${event.message_hash}@kluis`));
  assert.ok(lines.includes("DTSTAMP:20270115T080000Z"));
  assert.ok(lines.includes(`DTSTART:${icsTime(e.startsAt)}`) && icsTime(e.startsAt).endsWith("Z"));
  assert.ok(lines.includes("SUMMARY:Vergadering\\; agenda\\, punt \\\\ één"));
  assert.ok(lines.includes("DESCRIPTION:Regel 1\\nRegel 2\\n" + "ë".repeat(100)));
  assert.ok(!lines.some((l) => l.startsWith("LOCATION:")) || e.location !== "");
  // The same bytes as vault/ics.py writes for this event (the order of lines of format 19.5).
  assert.equal(
    eventIcs(h(event.message_hash), { ...long, description: long.description + "\u0001x\ty" }, 1800000000n),
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Kluis//Kluis v1//NL\r\nBEGIN:VEVENT\r\n" +
      `UID:${event.message_hash}@kluis\r\nDTSTAMP:20270115T080000Z\r\nDTSTART:20270116T080000Z\r\nDTEND:20270116T090000Z\r\n` +
      "SUMMARY:Vergadering\\; agenda\\, punt \\\\ één\r\nLOCATION:Dorpshuis\r\n" +
      `DESCRIPTION:Regel 1\\nRegel 2\\n${"ë".repeat(22)}\r\n ${"ë".repeat(37)}\r\n ${"ë".repeat(37)}\r\n ëëëëx\ty\r\n` +
      "END:VEVENT\r\nEND:VCALENDAR\r\n",
  );
  assert.equal(icsTime(0n), "19700101T000000Z");
  assert.equal(icsTime(253402300799n), "99991231T235959Z");
  assert.throws(() => icsTime(253402300800n), MalformedError);
});

test("19.1: a group's name does not start with dm-, a conversation's is dm-<id>, other kinds are no group; role 3 only in a group", async () => {
  const g = await group(archive);
  checkGroup(g.chain, g.roster);
  assert.throws(() => checkGroup({ ...g.chain, name: "dm-hoofdstraat" }, g.roster), IntegrityError);
  assert.throws(() => checkGroup({ ...g.chain, kind: KIND_MUNICIPALITY }, g.roster), IntegrityError);
  const c = await group(loadVector("messagelog-success-conversation.json"));
  checkGroup(c.chain, c.roster);
  assert.equal(c.chain.name, `dm-${hex(c.chain.orgId)}`);
  assert.throws(() => checkGroup({ ...c.chain, kind: KIND_GROUP }, c.roster), IntegrityError, "a group may not take a conversation's name");
  // Bob's editor membership of epoch 1 verifies against the group's record, and is malformed against another kind's.
  const editor = (archive.memberships as string[]).map(h).find((m) => decodeMembership(m).role === ROLE_EDITOR && decodeMembership(m).epoch === 1);
  assert.ok(editor !== undefined);
  const record = epochKeys(g.chain, 1);
  const admin = await g.identityOf(decodeMembership(editor).adminId);
  assert.equal(verifyMembership(editor, record, admin).role, ROLE_EDITOR);
  for (const kind of [KIND_MUNICIPALITY, KIND_CONVERSATION]) assert.throws(() => verifyMembership(editor, { ...record, kind }, admin), MalformedError);
  assert.deepEqual(([ROLE_MEMBER, ROLE_ADMIN, ROLE_EDITOR] as Role[]).sort((a, b) => roleRank(a) - roleRank(b)), [ROLE_MEMBER, ROLE_EDITOR, ROLE_ADMIN]);
});
