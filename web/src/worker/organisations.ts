/**
 * Organisations inside the worker (docs/client.md sections 13 and 14): fetching and pinning an
 * organisation's key chain, creating one, adding and removing members (with the new epoch and
 * the re-wrap of every grant to it), the organisation's case inbox, opening grants to an
 * organisation as a member, and receipts: signed as a member after a listing, checked as the
 * owner. It follows client_sdk/directory.py, organisations.py, keyring.py, inbox.py and
 * receipts.py; each method names the Python method it follows.
 *
 * Kluis (kluis.ts) calls `dossierKeys` while it loads a dossier I do not own and `acknowledge`
 * after a listing, through the `OrganisationAccess` seam, so that it imports nothing from here.
 */
import { fromHex, toHex, type Bytes } from "../vault/bytes.js";
import { ExpiredError, IntegrityError, KeyMismatchError, SecurityError } from "../vault/errors.js";
import { decodeGrant, KIND_DOCUMENT, KIND_DOSSIER, openGrant, RIGHTS_WRITE, sealGrant, verifyGrant, type Grant } from "../vault/grant.js";
import { decodeHeader, headerHash } from "../vault/header.js";
import { isValidUsername, type Identity, type PrivateIdentity } from "../vault/keys.js";
import {
  checkRewrap,
  KIND_CONTRACTOR,
  KIND_ENGINEERING,
  KIND_INSTITUTION,
  KIND_MUNICIPALITY,
  newOrganisation,
  nextEpoch,
  openMembership,
  ROLE_ADMIN,
  ROLE_MEMBER,
  sealMembership,
  type OrgChain,
  type Roster,
} from "../vault/organisation.js";
import { decodeReceipt, sealReceipt, verifyReceipt, type Receipt } from "../vault/receipt.js";
import { b64, unb64 } from "./api.js";
import { ApiError, ClientError } from "./errors.js";
import { checkId, int, list, newId, now, obj, type Kluis, type OrganisationAccess } from "./kluis.js";
import { trustedOrganisation } from "./orgtrust.js";
import type { InboxCase, OrganisationSummary, OrganisationView, ReceiptSummary, Role } from "./protocol.js";

/** The kinds a person creates here (vault/kinds.py INSTITUTION_KINDS); groups are village-web's. */
export const ORGANISATION_KINDS: Readonly<Record<string, number>> = {
  municipality: KIND_MUNICIPALITY,
  institution: KIND_INSTITUTION,
  contractor: KIND_CONTRACTOR,
  engineering: KIND_ENGINEERING,
};

/** receipts.py CLOCK_SKEW: seconds a member's clock may differ from the owner's. */
const CLOCK_SKEW = 300n;

/** directory.py `Organisation`: a chain this device verified, its roster, and my keys of it. */
interface VerifiedOrg {
  orgId: string;
  chain: OrgChain;
  roster: Roster;
  /** The organisation's private keys of the epochs I hold a membership of. */
  keys: Map<number, PrivateIdentity>;
  verified: boolean;
  operatorVerified: boolean;
}

function roleName(role: number | undefined): "admin" | "member" | null {
  return role === ROLE_ADMIN ? "admin" : role === undefined ? null : "member";
}

function inForce(grant: Grant, t: bigint): boolean {
  return grant.issuedAt <= t + CLOCK_SKEW && (grant.expiresAt === 0n || t < grant.expiresAt + CLOCK_SKEW);
}

export class Organisations implements OrganisationAccess {
  /** Per session: which organisations gave me each dossier I opened (receipts are signed for them). */
  private readonly access = new Map<string, Set<string>>();
  /** Per call of a listing: an organisation fetched and verified once. */
  private cache = new Map<string, VerifiedOrg>();

  constructor(private readonly kluis: Kluis) {}

  private async identityOf(userId: Uint8Array): Promise<Identity> {
    return (await this.kluis.contactById(toHex(userId))).identity;
  }

  /** directory.py `organisation` (docs/client.md 13.1): steps 1-5 in orgtrust.ts, then 6. */
  async fetch(orgId: string): Promise<VerifiedOrg> {
    const { me } = this.kluis.session();
    const { chain, roster, verifiedBy, operatorVerified } = await trustedOrganisation(this.kluis, { orgId });
    const keys = new Map<number, PrivateIdentity>();
    const myId = toHex(me.public.userId);
    for (const [i, members] of roster.members.entries()) {
      const mine = members.get(myId);
      if (mine === undefined) continue;
      const record = chain.records[i];
      if (record === undefined) continue;
      const opened = await openMembership(mine.encoded, record, me, await this.identityOf(mine.adminId)); // 6
      keys.set(i + 1, opened.org);
    }
    const verified: VerifiedOrg = { orgId, chain, roster, keys, verified: verifiedBy === "you", operatorVerified };
    this.cache.set(orgId, verified);
    return verified;
  }

  private async cached(orgId: string): Promise<VerifiedOrg> {
    return this.cache.get(orgId) ?? this.fetch(orgId);
  }

  private summary(org: VerifiedOrg): OrganisationSummary {
    const myRole = org.roster.members[org.chain.epoch - 1]?.get(this.kluis.myId)?.role;
    return {
      orgId: org.orgId,
      name: org.chain.name,
      kind: org.chain.kind,
      epoch: org.chain.epoch,
      fingerprint: org.chain.fingerprint,
      verified: org.verified || org.operatorVerified,
      operatorVerified: org.operatorVerified,
      myRole: roleName(myRole),
    };
  }

  /** The organisations I am a member of, each verified (`kluis orgs`). */
  async mine(): Promise<OrganisationSummary[]> {
    this.cache = new Map();
    const out: OrganisationSummary[] = [];
    for (const raw of list(await this.kluis.api.call("GET", "/organisations"), "organisations")) {
      const entry = obj(raw, "organisation");
      const kind = int(entry["kind"], "kind");
      if (entry["my_role"] === null || !Object.values(ORGANISATION_KINDS).includes(kind)) continue;
      out.push(this.summary(await this.fetch(checkId(entry["org_id"], "organisation id"))));
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  /** One organisation with its members (from the signed roster of the current epoch). */
  async view(orgId: string): Promise<OrganisationView> {
    const org = await this.fetch(orgId);
    const members = [];
    for (const [userId, m] of org.roster.members[org.chain.epoch - 1] ?? new Map()) {
      const contact = await this.kluis.contactById(userId);
      members.push({ userId, username: contact.identity.username, role: roleName(m.role) ?? "member", verified: contact.verified });
    }
    members.sort((a, b) => a.username.localeCompare(b.username));
    return { ...this.summary(org), members };
  }

  /** organisations.py `create_organisation`. */
  async create(name: string, kind: string): Promise<OrganisationView> {
    const { me } = this.kluis.session();
    if (!isValidUsername(name)) throw new ClientError("an organisation name is 1-64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit");
    const kindNumber = ORGANISATION_KINDS[kind];
    if (kindNumber === undefined) throw new ClientError(`kind must be one of: ${Object.keys(ORGANISATION_KINDS).join(", ")}`);
    const orgId = newId();
    const { org, record } = await newOrganisation(me, { orgId: fromHex(orgId), name, kind: kindNumber, createdAt: now() });
    const membership = sealMembership(me, org, me.public, ROLE_ADMIN, now());
    await this.kluis.api.call("POST", "/organisations", { org_id: orgId, name, kind: kindNumber, record: b64(record), membership: b64(membership) });
    return this.view(orgId);
  }

  /** organisations.py `_administered`: the current epoch's keys, which only an admin holds. */
  private async administered(orgId: string): Promise<{ org: VerifiedOrg; current: PrivateIdentity }> {
    const org = await this.fetch(orgId);
    const current = org.keys.get(org.chain.epoch);
    if (this.summary(org).myRole !== "admin" || current === undefined) {
      throw new ClientError(`only an administrator of ${org.chain.name} can change its members`);
    }
    return { org, current };
  }

  /** organisations.py `add_member`. */
  async addMember(orgId: string, username: string, admin: boolean): Promise<OrganisationView> {
    const { me } = this.kluis.session();
    const { org, current } = await this.administered(orgId);
    const member = (await this.kluis.contactByName(username)).identity;
    const memberId = toHex(member.userId);
    if (org.roster.members[org.chain.epoch - 1]?.has(memberId)) throw new ClientError(`${username} is already a member of ${org.chain.name}`);
    const role = admin ? ROLE_ADMIN : ROLE_MEMBER;
    const membership = sealMembership(me, current, member, role, now());
    await this.kluis.api.call("POST", `/organisations/${orgId}/members`, { member_id: memberId, role, epoch: org.chain.epoch, membership: b64(membership) });
    return this.view(orgId);
  }

  /**
   * organisations.py `remove_member` (docs/client.md 13.3, format 14.5): epoch n+1 for everyone
   * but the one leaving, sealed to the keys each one's verified membership names, and every
   * grant to the organisation that opens re-wrapped for it.
   */
  async removeMember(orgId: string, userId: string): Promise<{ epoch: number; rewrapped: number; skipped: number }> {
    const { me } = this.kluis.session();
    const { org, current } = await this.administered(orgId);
    if (userId === this.kluis.myId) throw new ClientError("you cannot remove yourself; another administrator can");
    const members = org.roster.members[org.chain.epoch - 1] ?? new Map();
    if (!members.has(userId)) throw new ClientError("that account is not a member of this organisation");
    const next = await nextEpoch(me, current, org.chain.kind, now());
    const memberships = [];
    for (const [memberId, m] of [...members].sort(([a], [b]) => a.localeCompare(b))) {
      if (memberId === userId) continue;
      const role = m.role === ROLE_ADMIN || memberId === this.kluis.myId ? ROLE_ADMIN : ROLE_MEMBER;
      const identity = memberId === this.kluis.myId ? me.public : (await this.kluis.contactById(memberId)).identity;
      if (toHex(identity.keyId) !== toHex(m.memberKeyId)) {
        // K6: a key the server slips in for a remaining member is not the one the admin sealed to.
        throw new KeyMismatchError(`organisation ${org.chain.name}: a member's keys differ from the ones their membership names`);
      }
      memberships.push({ member_id: memberId, role, membership: b64(sealMembership(me, next.org, identity, role, now())) });
    }
    const { grants, skipped } = await this.rewrapAll(org, next.org);
    await this.kluis.api.call("POST", `/organisations/${orgId}/rotate`, {
      epoch: next.org.public.keyVersion,
      record: b64(next.record),
      removed_id: userId,
      memberships,
      grants,
    });
    await this.fetch(orgId); // verify what the server now holds; pin epoch n+1
    return { epoch: next.org.public.keyVersion, rewrapped: grants.length, skipped };
  }

  /** organisations.py `_rewrap_all`: one copy per target, sealed to the new epoch. */
  private async rewrapAll(org: VerifiedOrg, next: PrivateIdentity): Promise<{ grants: Record<string, unknown>[]; skipped: number }> {
    const rows = list(await this.kluis.api.call("GET", `/organisations/${org.orgId}/grants`), "grants").map((r) => obj(r, "grant"));
    const out: Record<string, unknown>[] = [];
    const done = new Set<string>();
    let skipped = 0;
    for (const row of rows) {
      let opened: { grant: Grant; key: Bytes } | null;
      try {
        const owner = (await this.kluis.contactById(checkId(row["owner_id"], "owner id"))).identity;
        const dossierRows = rows.filter((r) => r["dossier_id"] === row["dossier_id"]);
        opened = await this.openOrgGrant(org, owner, row, dossierRows);
      } catch (error) {
        if (error instanceof SecurityError || error instanceof ClientError) {
          skipped += 1;
          continue;
        }
        throw error;
      }
      if (opened === null) continue;
      const g = opened.grant;
      const target = `${g.kind}/${toHex(g.dossierId)}/${toHex(g.documentId)}/${g.number}`;
      if (done.has(target)) continue;
      done.add(target);
      const data = await sealGrant(next, next.public, {
        grantId: fromHex(newId()),
        kind: g.kind,
        dossierId: g.dossierId,
        documentId: g.kind === KIND_DOCUMENT ? g.documentId : null,
        number: g.number,
        rights: g.rights,
        issuedAt: now(),
        expiresAt: g.expiresAt,
        counter: g.counter,
        key: opened.key,
      });
      const made = decodeGrant(data);
      out.push({
        grant: b64(data),
        grant_id: toHex(made.grantId),
        kind: g.kind,
        document_id: g.kind === KIND_DOCUMENT ? toHex(g.documentId) : null,
        number: Number(g.number),
        recipient_id: org.orgId,
        rights: g.rights,
        expires_at: Number(g.expiresAt),
        dossier_id: toHex(g.dossierId),
      });
    }
    return { grants: out, skipped };
  }

  /**
   * keyring.py `open_organisation_grant` (docs/client.md 13.4): a grant to the organisation,
   * opened with its keys of the epoch it names: the owner's original, or the organisation's own
   * re-wrap of it next to the owner's verified original. null if I hold no keys of that epoch
   * or it expired.
   */
  private async openOrgGrant(org: VerifiedOrg, owner: Identity, row: Record<string, unknown>, rows: Record<string, unknown>[]): Promise<{ grant: Grant; key: Bytes } | null> {
    const data = unb64(row["grant"], "grant");
    const grant = decodeGrant(data);
    if (toHex(grant.recipientId) !== org.orgId) throw new KeyMismatchError(`grant: addressed to someone else, not to ${org.chain.name}`);
    const epoch = org.chain.records.findIndex((r) => toHex(r.identity.keyId) === toHex(grant.recipientKeyId)) + 1;
    if (epoch === 0) throw new KeyMismatchError(`grant: not sealed to any key of ${org.chain.name}`);
    const keys = org.keys.get(epoch);
    if (keys === undefined) return null;
    const target = { kind: grant.kind, dossierId: grant.dossierId, documentId: grant.documentId, number: grant.number };
    let granter = owner;
    if (toHex(grant.granterId) === org.orgId) {
      // A re-wrap counts only next to the owner's verified original of the same target (K5).
      const original = rows
        .map((r) => unb64(r["grant"], "grant"))
        .map((d) => decodeGrant(d))
        .find((o) => toHex(o.granterId) === toHex(owner.userId) && o.kind === grant.kind && o.number === grant.number && toHex(o.documentId) === toHex(grant.documentId));
      if (original === undefined) throw new IntegrityError("re-wrapped grant: the owner's original to the organisation is missing");
      verifyGrant(original.encoded, grant.dossierId, owner);
      checkRewrap(grant, original, fromHex(org.orgId));
      granter = keys.public;
    } else if (toHex(grant.granterId) !== toHex(owner.userId)) {
      throw new KeyMismatchError("grant: not signed by the dossier's owner"); // K5
    }
    try {
      return await openGrant(data, target, keys, granter, now());
    } catch (error) {
      if (error instanceof ExpiredError) return null;
      throw error;
    }
  }

  /** OrganisationAccess: the dossier keys grants to my organisations give me (13.4). */
  async dossierKeys(dossierId: string, owner: Identity, rows: Record<string, unknown>[]): Promise<{ keys: Map<bigint, Bytes>; role: Role }> {
    const keys = new Map<bigint, Bytes>();
    let role: Role = "document";
    const myId = this.kluis.myId;
    for (const row of rows) {
      const recipient = row["recipient_id"];
      if (typeof recipient !== "string" || recipient === myId || row["kind"] !== KIND_DOSSIER) continue;
      const orgId = checkId(recipient, "recipient id");
      let org = await this.cached(orgId);
      const sealedTo = toHex(decodeGrant(unb64(row["grant"], "grant")).recipientKeyId);
      // A chain fetched earlier in this session may predate a rotation: fetch it again once.
      if (!org.chain.records.some((r) => toHex(r.identity.keyId) === sealedTo)) org = await this.fetch(orgId);
      const opened = await this.openOrgGrant(org, owner, row, rows);
      if (opened === null) continue;
      keys.set(opened.grant.number, opened.key);
      role = opened.grant.rights === RIGHTS_WRITE ? "write" : role === "write" ? "write" : "read";
      const orgs = this.access.get(dossierId) ?? new Set<string>();
      orgs.add(org.orgId);
      this.access.set(dossierId, orgs);
    }
    return { keys, role };
  }

  /** receipts.py `acknowledge` (docs/client.md 14.1): the names of the organisations that signed. */
  async acknowledge(dossierId: string, infos: { documentId: string; version: bigint; header: Bytes; confirmed: boolean }[]): Promise<string[]> {
    const { me } = this.kluis.session();
    const confirmed = infos.filter((i) => i.confirmed);
    const orgs = this.access.get(dossierId);
    if (orgs === undefined || confirmed.length === 0) return [];
    const rows = list(await this.kluis.api.call("GET", `/dossiers/${dossierId}/receipts`), "receipts").map((r) => obj(r, "receipt"));
    const signed: string[] = [];
    for (const orgId of [...orgs].sort()) {
      // Fresh: a receipt signed with an epoch the organisation has since left would not verify.
      const org = await this.fetch(orgId);
      const current = org.keys.get(org.chain.epoch);
      if (current === undefined) continue; // not a member of the current epoch: nothing to sign with
      const covered = new Set<string>();
      for (const row of rows) {
        if (row["org_id"] !== orgId) continue;
        try {
          for (const e of verifyReceipt(unb64(row["receipt"], "receipt"), fromHex(dossierId), org.chain).entries) covered.add(`${toHex(e.documentId)}/${e.version}`);
        } catch (error) {
          if (!(error instanceof SecurityError)) throw error; // made up or changed: it covers nothing
        }
      }
      const entries = [];
      for (const i of confirmed) {
        if (covered.has(`${i.documentId}/${i.version}`)) continue;
        entries.push({ documentId: fromHex(i.documentId), version: i.version, payloadHash: decodeHeader(i.header).payloadHash, headerHash: await headerHash(i.header) });
      }
      if (entries.length === 0) continue;
      const data = sealReceipt(current, org.chain, me.public, { dossierId: fromHex(dossierId), openedAt: now(), entries });
      try {
        await this.kluis.api.call("POST", `/dossiers/${dossierId}/receipts`, { receipt_id: toHex(decodeReceipt(data).receiptId), org_id: orgId, receipt: b64(data) });
        signed.push(org.chain.name);
      } catch (error) {
        // The member read what it read either way; if filing fails, a later listing signs again.
        if (!(error instanceof ApiError)) throw error;
      }
    }
    return signed;
  }

  /** inbox.py `_organisation_items` over the one-call inbox (docs/client.md 13.6). */
  async inbox(orgId: string): Promise<{ organisation: OrganisationSummary; cases: InboxCase[] }> {
    const { memory } = this.kluis.session();
    this.cache = new Map();
    const org = await this.fetch(orgId);
    if (org.keys.size === 0) throw new ClientError(`you are not a member of ${org.chain.name}`);
    const lastVisit = await memory.inboxVisit(orgId);
    const cases: InboxCase[] = [];
    for (const raw of list(await this.kluis.api.call("GET", `/organisations/${orgId}/inbox`), "inbox")) {
      const item = obj(raw, "inbox case");
      const answer = obj(item["dossier"], "dossier");
      const dossierId = checkId(answer["dossier_id"], "dossier id");
      const rows = list(item["grants"], "grants").map((r) => obj(r, "grant"));
      const shares = rows.map((r) => decodeGrant(unb64(r["grant"], "grant"))).filter((g) => toHex(g.granterId) !== orgId);
      const newest = shares.reduce<Grant | null>((a, g) => (a === null || g.issuedAt > a.issuedAt ? g : a), null);
      const base = {
        dossierId,
        sharedAt: Number(newest?.issuedAt ?? 0n),
        expires: Number(newest?.expiresAt ?? 0n),
        rights: newest?.rights === RIGHTS_WRITE ? ("write" as const) : ("read" as const),
        isNew: Number(newest?.issuedAt ?? 0n) > lastVisit,
      };
      try {
        const dossier = await this.kluis.loadDossier(dossierId, { answer, rows });
        // Every share in the case must be the owner's signed grant to a key of the organisation
        // (or its re-wrap next to that original), or the case is failed (13.6, K5): loading the
        // dossier opened each dossier grant so already; the document grants are checked here.
        for (const row of rows.filter((r) => r["kind"] === KIND_DOCUMENT)) await this.openOrgGrant(org, dossier.owner.identity, row, rows);
        const title = dossier.metadata?.title ?? null;
        cases.push({ ...base, title, owner: dossier.owner.identity.username, ownerVerified: dossier.owner.verified, kind: title === null ? "document" : "dossier", failure: null });
      } catch (error) {
        if (!(error instanceof SecurityError || error instanceof ClientError)) throw error;
        cases.push({ ...base, title: null, owner: "", ownerVerified: false, kind: "dossier", failure: error.message });
      }
    }
    await memory.saveInboxVisit(orgId, Number(now()));
    cases.sort((a, b) => b.sharedAt - a.sharedAt || a.dossierId.localeCompare(b.dossierId));
    return { organisation: this.summary(org), cases };
  }

  /** receipts.py `receipts` (docs/client.md 14.2), failing closed: one receipt that fails stops the view. */
  async receipts(dossierId: string): Promise<ReceiptSummary[]> {
    const { me } = this.kluis.session();
    this.cache = new Map();
    const dossier = await this.kluis.loadDossier(dossierId);
    if (dossier.role !== "owner") {
      throw new ClientError("only the dossier's owner can check its receipts: whether an organisation was given what it acknowledges shows only in the owner's own grants");
    }
    const did = fromHex(dossierId);
    const starts = new Map<bigint, bigint>();
    const given: Grant[] = [];
    for (const row of await this.kluis.grantRows(dossierId)) {
      let grant: Grant;
      try {
        grant = verifyGrant(unb64(row["grant"], "grant"), did, me.public);
      } catch (error) {
        if (error instanceof SecurityError) continue; // not mine: it tells nothing about whom I gave what
        throw error;
      }
      if (toHex(grant.recipientId) === this.kluis.myId) {
        if (grant.kind === KIND_DOSSIER) starts.set(grant.number, (starts.get(grant.number) ?? grant.issuedAt) < grant.issuedAt ? (starts.get(grant.number) as bigint) : grant.issuedAt);
      } else {
        given.push(grant);
      }
    }
    for (let e = 1n; e <= dossier.index.epoch; e++) {
      if (!starts.has(e)) throw new KeyMismatchError(`the server withholds your own grant of the dossier's epoch ${e}, so when that epoch began cannot be told`);
    }
    const signed = new Map(dossier.index.entries.map((e) => [`${toHex(e.documentId)}/${e.version}`, toHex(e.headerHash)]));
    const out: ReceiptSummary[] = [];
    for (const raw of list(await this.kluis.api.call("GET", `/dossiers/${dossierId}/receipts`), "receipts")) {
      const row = obj(raw, "receipt");
      const data = unb64(row["receipt"], "receipt");
      const receipt = decodeReceipt(data);
      const org = await this.cached(toHex(receipt.orgId));
      verifyReceipt(data, did, org.chain);
      for (const e of receipt.entries) {
        const listed = signed.get(`${toHex(e.documentId)}/${e.version}`);
        if (listed !== undefined && listed !== toHex(e.headerHash)) {
          throw new IntegrityError(`receipt: document ${toHex(e.documentId).slice(0, 8)} version ${e.version} is not the one in the dossier's signed index`);
        }
      }
      this.checkShared(receipt, org, given, starts);
      const member = await this.kluis.contactById(toHex(receipt.memberId));
      out.push({
        receiptId: toHex(receipt.receiptId),
        organisation: org.chain.name,
        orgVerified: org.verified || org.operatorVerified,
        member: member.identity.username,
        openedAt: Number(receipt.openedAt),
        documents: receipt.entries.length,
      });
    }
    return out.sort((a, b) => a.openedAt - b.openedAt || a.receiptId.localeCompare(b.receiptId));
  }

  /** receipts.py `_Shares.problem`: the organisation was given every version it lists, then. */
  private checkShared(receipt: Receipt, org: VerifiedOrg, given: Grant[], starts: Map<bigint, bigint>): void {
    const keyIds = new Set(org.chain.records.map((r) => toHex(r.identity.keyId)));
    const mine = given.filter((g) => toHex(g.recipientId) === org.orgId && keyIds.has(toHex(g.recipientKeyId)));
    const name = org.chain.name;
    if (mine.length === 0) throw new KeyMismatchError(`receipt: the dossier was not shared with ${name}, so it had nothing to receive`);
    const t = receipt.openedAt;
    const live = mine.filter((g) => inForce(g, t));
    if (live.length === 0) throw new KeyMismatchError(`receipt: dated when no share of yours with ${name} was in force`);
    let current = 1n;
    for (const [epoch, start] of starts) if (start <= t - CLOCK_SKEW && epoch > current) current = epoch;
    const epochs = live.filter((g) => g.kind === KIND_DOSSIER).map((g) => g.number);
    const whole = epochs.some((e) => e >= current);
    const versions = new Set(live.filter((g) => g.kind === KIND_DOCUMENT).map((g) => `${toHex(g.documentId)}/${g.number}`));
    for (const e of receipt.entries) {
      if (!whole && !versions.has(`${toHex(e.documentId)}/${e.version}`)) {
        throw new KeyMismatchError(`receipt: document ${toHex(e.documentId).slice(0, 8)} version ${e.version} was not shared with ${name} at the receipt's time`);
      }
    }
  }
}
