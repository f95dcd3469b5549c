/**
 * Sharing inside the worker: contacts and their verification (docs/client.md section 3),
 * sharing a dossier or one document (10), who has access, revoking with a new dossier key
 * (11), and the shares to me (12), with the checks of client_sdk/trust.py and sharing.py, on
 * the verified dossier of kluis.ts. What it hands the page is only what verified.
 *
 * The recipients of a rotation are taken from the grants this browser proves the owner signed,
 * never from the server's rows (K5, S18); the keys they are sealed to are the keys those grants
 * name or keys the user verified since (K2).
 */

import { equal, fromHex, toHex, type Bytes } from "../vault/bytes.js";
import { randomBytes } from "../vault/crypto.js";
import { ExpiredError, KeyMismatchError, MalformedError, SecurityError } from "../vault/errors.js";
import { decodeGrant, KIND_DOCUMENT, KIND_DOSSIER, openGrant, RIGHTS_READ, RIGHTS_WRITE, sealGrant, verifyGrant, type Grant, type GrantKind, type Rights } from "../vault/grant.js";
import { decodeIdentity, normaliseFingerprint, type Identity } from "../vault/keys.js";
import { b64, unb64 } from "./api.js";
import { ApiError, ClientError, UnverifiedKeyError, WithheldKeyError } from "./errors.js";
import type { Dossier, Kluis } from "./kluis.js";
import { trustedOrganisation } from "./orgtrust.js";
import type { AccessRow, ContactInfo, OrganisationInfo, ShareOutcome, SharedRow } from "./protocol.js";

/** A typed controlecode in its display form; a malformed one is the user's typing mistake. */
export function typedFingerprint(text: string): string {
  try {
    return normaliseFingerprint(text);
  } catch (error) {
    if (error instanceof MalformedError) throw new ClientError(error.message);
    throw error;
  }
}

function now(): bigint {
  return BigInt(Math.floor(Date.now() / 1000));
}

function live(grant: Grant, at: bigint): boolean {
  return grant.expiresAt === 0n || grant.expiresAt > at;
}

/** `grant_in` of a dossier's own endpoints (client_sdk/api.py `_grant_in`). */
function grantIn(data: Bytes): Record<string, unknown> {
  const g = decodeGrant(data);
  return {
    grant: b64(data),
    grant_id: toHex(g.grantId),
    kind: g.kind,
    document_id: g.kind === KIND_DOCUMENT ? toHex(g.documentId) : null,
    number: Number(g.number),
    recipient_id: toHex(g.recipientId),
    rights: g.rights,
    expires_at: Number(g.expiresAt),
  };
}

export class Sharing {
  constructor(private readonly kluis: Kluis) {}

  // -- contacts (trust.py) --------------------------------------------------------------------
  /** Steps 1-2 of section 3 by username: the record verifies and is for that name (K2). */
  private async record(username: string): Promise<Identity> {
    const answer = await this.kluis.api.call("GET", `/users/${encodeURIComponent(username)}`);
    if (typeof answer !== "object" || answer === null) throw new MalformedError("server answer: user is not an object");
    const identity = await decodeIdentity(unb64((answer as Record<string, unknown>)["identity"], "identity"));
    if (identity.username !== username) {
      throw new UnverifiedKeyError(`the server answered with the identity of ${identity.username} for ${username}`);
    }
    return identity;
  }

  private info(identity: Identity, state: ContactInfo["state"], pinnedFingerprint: string | null = null): ContactInfo {
    return { userId: toHex(identity.userId), username: identity.username, fingerprint: identity.fingerprint, state, pinnedFingerprint };
  }

  /**
   * A contact as this browser trusts it (section 3, steps 1-7). A changed key, or another
   * account under a pinned name, is not thrown here: the contact screen must show the new
   * controlecode next to the pinned one so that the person can compare and decide. Sharing
   * (`share`) goes through the same steps and refuses it.
   */
  async contact(username: string): Promise<ContactInfo> {
    const { me, memory } = this.kluis.session();
    if (username === me.public.username) return this.info(me.public, "me");
    const identity = await this.record(username);
    const userId = toHex(identity.userId);
    const seenBefore = (await memory.pin(userId)) !== null;
    try {
      const contact = await this.kluis.contactFromUser({ identity: b64(identity.encoded) }, { username });
      return this.info(identity, contact.verified ? "verified" : seenBefore ? "unverified" : "new");
    } catch (error) {
      if (!(error instanceof UnverifiedKeyError)) throw error;
      const pinned = (await memory.pin(userId)) ?? (await this.pinnedUnderName(username));
      return this.info(identity, "changed", pinned?.fingerprint ?? null);
    }
  }

  private async pinnedUnderName(username: string): Promise<{ fingerprint: string } | null> {
    const { memory } = this.kluis.session();
    for (const id of await memory.pinnedUnder(username)) {
      const pin = await memory.pin(id);
      if (pin !== null && pin.username === username) return pin;
    }
    return null;
  }

  /**
   * trust.py `verify`: the typed controlecode against the keys the server shows now. A mismatch
   * pins nothing (`KeyMismatchError`); a match pins them verified, replacing a changed pin, and
   * another account pinned under the name loses the name.
   */
  async verifyContact(username: string, typed: string): Promise<ContactInfo> {
    const { me, memory } = this.kluis.session();
    if (username === me.public.username) throw new ClientError("this is your own account");
    const fingerprint = typedFingerprint(typed);
    const identity = await this.record(username);
    if (fingerprint !== identity.fingerprint) {
      throw new UnverifiedKeyError(`the fingerprint you entered does not match the keys the server shows for ${username} (${identity.fingerprint}); do not trust this account`);
    }
    const userId = toHex(identity.userId);
    for (const otherId of await memory.pinnedUnder(username)) {
      const other = await memory.pin(otherId);
      if (otherId !== userId && other !== null) {
        await memory.savePin(otherId, { ...other, username: "", verified: false });
        this.kluis.forgetContact(otherId);
      }
    }
    await memory.savePin(userId, { username, keyId: toHex(identity.keyId), fingerprint: identity.fingerprint, verified: true });
    this.kluis.forgetContact(userId);
    return this.info(identity, "verified");
  }

  // -- sharing (sharing.py) -------------------------------------------------------------------
  private async owned(dossierId: string): Promise<Dossier> {
    const dossier = await this.kluis.loadDossier(dossierId);
    if (dossier.role !== "owner") throw new ClientError("only the owner of a dossier can share it or revoke access");
    return dossier;
  }

  /** The dossier's grants that this browser proves I signed (format section 8, as granter). */
  private async signedByMe(dossierId: string): Promise<Grant[]> {
    const { me } = this.kluis.session();
    const out: Grant[] = [];
    for (const row of await this.kluis.grantRows(dossierId)) {
      try {
        out.push(verifyGrant(unb64(row["grant"], "grant"), fromHex(dossierId), me.public));
      } catch (error) {
        if (error instanceof SecurityError) continue; // a row in my name I did not sign tells nothing
        throw error;
      }
    }
    return out;
  }

  private async nextCounter(dossierId: string): Promise<bigint> {
    let top = 0n;
    for (const row of await this.kluis.grantRows(dossierId)) {
      const counter = decodeGrant(unb64(row["grant"], "grant")).counter;
      if (counter > top) top = counter;
    }
    return top + 1n;
  }

  private async dossierGrants(dossier: Dossier, keys: Map<bigint, Bytes>, recipient: Identity, rights: Rights, expiresAt: bigint, counter: bigint): Promise<Bytes[]> {
    const { me } = this.kluis.session();
    const out: Bytes[] = [];
    const epochs = [...keys.keys()].sort((a, b) => (a < b ? -1 : 1));
    for (const epoch of epochs) {
      out.push(
        await sealGrant(me, recipient, {
          grantId: randomBytes(16),
          kind: KIND_DOSSIER,
          dossierId: fromHex(dossier.dossierId),
          number: epoch,
          rights,
          issuedAt: now(),
          expiresAt,
          counter: counter++,
          key: keys.get(epoch) as Bytes,
        }),
      );
    }
    return out;
  }

  /**
   * sharing.py `share`: a dossier (every epoch key I hold) or one document (every confirmed
   * version's file key) for a person, whose keys pass section 3 (a changed key is refused).
   */
  async share(target: { dossierId: string; documentId: string | null }, username: string, write: boolean, expiresAt: number, allowUnverified: boolean): Promise<ShareOutcome> {
    const { me } = this.kluis.session();
    if (username === me.public.username) throw new ClientError("you cannot share with yourself: you already hold every key");
    if (!Number.isSafeInteger(expiresAt) || expiresAt < 0 || (expiresAt !== 0 && BigInt(expiresAt) <= now())) throw new ClientError("the end date must lie in the future");
    const contact = await this.recipient(username, allowUnverified);
    const recipient = contact.identity;
    if (equal(recipient.userId, me.public.userId)) throw new ClientError("you cannot share with yourself: you already hold every key");
    const expiry = BigInt(expiresAt);
    let grants: Bytes[];
    let unconfirmed: number[] = [];
    let dossierId = target.dossierId;
    if (target.documentId === null) {
      const dossier = await this.owned(dossierId);
      if (dossier.keys.size === 0) {
        // K3: never a fresh key because the server says there is none.
        throw new WithheldKeyError("the server shows none of your own grants for this dossier, so there is no key to share; nothing was shared");
      }
      grants = await this.dossierGrants(dossier, dossier.keys, recipient, write ? RIGHTS_WRITE : RIGHTS_READ, expiry, await this.nextCounter(dossierId));
    } else {
      const found = await this.kluis.documentVersions(target.documentId);
      dossierId = found.dossierId;
      if (dossierId !== target.dossierId) throw new MalformedError("server answer: the document is in another dossier");
      await this.owned(dossierId);
      // The listing checks withholding and rollback, and adopts what my grants allow (K4).
      await this.kluis.documents(dossierId);
      const dossier = await this.owned(dossierId);
      const { versions } = await this.kluis.documentVersions(target.documentId);
      let counter = await this.nextCounter(dossierId);
      grants = [];
      for (const record of versions) {
        if (!(await this.kluis.ownerConfirms(dossier, record))) {
          unconfirmed.push(Number(record.version));
          continue;
        }
        const opened = await this.kluis.openVersion(dossier, record);
        grants.push(
          await sealGrant(me, recipient, {
            grantId: randomBytes(16),
            kind: KIND_DOCUMENT,
            dossierId: fromHex(dossierId),
            documentId: fromHex(record.documentId),
            number: record.version,
            rights: RIGHTS_READ,
            issuedAt: now(),
            expiresAt: expiry,
            counter: counter++,
            key: opened.fileKey,
          }),
        );
        opened.fileKey.fill(0);
      }
      if (grants.length === 0) throw new ClientError(`document ${target.documentId.slice(0, 8)} has no version you confirmed; nothing was shared`);
    }
    await this.kluis.api.call("POST", `/dossiers/${dossierId}/grants`, { grants: grants.map(grantIn) });
    return { recipient: username, verified: contact.verified, firstSeen: contact.firstSeen, grants: grants.length, unconfirmed };
  }

  /**
   * sharing.py `_share_recipient`: whom a share seals keys to, every check made here. A person
   * through section 3; `@name` through section 13.1, its current epoch only (13.2), and refused
   * if nobody verified it unless the person confirmed sharing anyway.
   */
  private async recipient(username: string, allowUnverified: boolean): Promise<{ identity: Identity; verified: boolean; firstSeen: boolean }> {
    if (username.startsWith("@")) {
      const org = await trustedOrganisation(this.kluis, { name: username.slice(1) });
      if (!org.verified && !allowUnverified) {
        throw new ClientError(`${org.chain.name} is not verified: neither the server's operator nor you confirmed its fingerprint (${org.chain.fingerprint})`);
      }
      return { identity: org.chain.current.identity, verified: org.verified, firstSeen: org.firstSeen };
    }
    const firstSeen = (await this.kluis.session().memory.pinnedUnder(username)).length === 0;
    const contact = await this.kluis.contactFromUser(await this.kluis.api.call("GET", `/users/${encodeURIComponent(username)}`), { username });
    return { ...contact, firstSeen };
  }

  /** An organisation (`@name` without the @) as 13.1 verifies it, for the page to show before sharing. */
  async organisation(name: string): Promise<OrganisationInfo> {
    const org = await trustedOrganisation(this.kluis, { name });
    return { orgId: toHex(org.chain.orgId), name: org.chain.name, fingerprint: org.chain.fingerprint, verifiedBy: org.verifiedBy, firstSeen: org.firstSeen };
  }

  /**
   * directory.py `verify_org`: the person compared the organisation's fingerprint (say, with a
   * letter) and typed it; it must be the chain's (else `UnverifiedKeyError`, nothing pinned as
   * verified), and then this browser keeps the organisation as verified by the person.
   */
  async verifyOrganisation(name: string, typed: string): Promise<OrganisationInfo> {
    const fingerprint = typedFingerprint(typed);
    const org = await trustedOrganisation(this.kluis, { name });
    if (fingerprint !== org.chain.fingerprint) {
      throw new UnverifiedKeyError(`the fingerprint you entered does not match organisation ${name} (${org.chain.fingerprint}); do not trust it`);
    }
    const { memory } = this.kluis.session();
    const orgId = toHex(org.chain.orgId);
    const pin = await memory.organisationPin(orgId);
    if (pin === null) throw new MalformedError("organisation pin missing after verification"); // trustedOrganisation just wrote it
    await memory.saveOrganisationPin(orgId, { ...pin, verified: true });
    return { orgId, name: org.chain.name, fingerprint: org.chain.fingerprint, verifiedBy: "you", firstSeen: false };
  }

  /** A name for a grant's recipient: a person through section 3, else an organisation through 13.1. */
  private async recipientName(userId: string): Promise<{ name: string; verified: boolean; person: boolean }> {
    try {
      const contact = await this.kluis.contactById(userId);
      return { name: contact.identity.username, verified: contact.verified, person: true };
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 404)) throw error;
    }
    const org = await trustedOrganisation(this.kluis, { orgId: userId });
    return { name: org.chain.name, verified: org.verified, person: false };
  }

  /** Who has access, from my own signed grants (never the server's columns), newest share first. */
  async access(dossierId: string): Promise<{ epoch: number; rows: AccessRow[] }> {
    const dossier = await this.owned(dossierId);
    const names = new Map((await this.kluis.documents(dossierId)).documents.map((d) => [d.documentId, d.name]));
    const at = now();
    const epoch = dossier.index.epoch;
    const byRecipient = new Map<string, Grant[]>();
    for (const g of await this.signedByMe(dossierId)) {
      const id = toHex(g.recipientId);
      if (id === this.kluis.myId) continue;
      byRecipient.set(id, [...(byRecipient.get(id) ?? []), g]);
    }
    const rows: AccessRow[] = [];
    for (const [recipientId, grants] of byRecipient) {
      const who = await this.recipientName(recipientId);
      const whole = grants.filter((g) => g.kind === KIND_DOSSIER);
      const newest = whole.reduce<Grant | null>((a, g) => (a === null || g.number > a.number || (g.number === a.number && g.issuedAt > a.issuedAt) ? g : a), null);
      const documents = new Map<string, { versions: number[]; grant: Grant }>();
      for (const g of grants.filter((g) => g.kind === KIND_DOCUMENT)) {
        const doc = toHex(g.documentId);
        const entry = documents.get(doc) ?? { versions: [], grant: g };
        entry.versions.push(Number(g.number));
        if (g.issuedAt > entry.grant.issuedAt) entry.grant = g;
        documents.set(doc, entry);
      }
      rows.push({
        recipientId,
        name: who.name,
        person: who.person,
        verified: who.verified,
        dossier:
          newest === null
            ? null
            : { rights: newest.rights === RIGHTS_WRITE ? "write" : "read", expiresAt: Number(newest.expiresAt), expired: !live(newest, at), currentKey: whole.some((g) => g.number === epoch) },
        documents: [...documents].map(([documentId, { versions, grant }]) => ({
          documentId,
          name: names.get(documentId) ?? documentId.slice(0, 8),
          versions: versions.sort((a, b) => a - b),
          expiresAt: Number(grant.expiresAt),
          expired: !live(grant, at),
        })),
        since: Number(grants.reduce((a, g) => (g.issuedAt < a ? g.issuedAt : a), grants[0]?.issuedAt ?? 0n)),
      });
    }
    rows.sort((a, b) => b.since - a.since || a.name.localeCompare(b.name));
    return { epoch: Number(epoch), rows };
  }

  /**
   * sharing.py `revoke` (section 11.1): from my own signed grants, what they hold; none is a
   * ClientError and nothing changes. A document share ends by deleting its rows; a whole-dossier
   * share whose current key they hold first gets a new epoch without them, then the rows go.
   * Answers the new epoch (0: none was needed).
   */
  async revoke(dossierId: string, recipientId: string, documentId: string | null): Promise<{ epoch: number }> {
    if (recipientId === this.kluis.myId) throw new ClientError("you cannot revoke your own access: you own this dossier");
    await this.owned(dossierId);
    // The listing adopts, as the owner, what was written while they could still write.
    await this.kluis.documents(dossierId);
    const dossier = await this.owned(dossierId);
    const theirs = (await this.signedByMe(dossierId)).filter((g) => toHex(g.recipientId) === recipientId);
    const whole = theirs.filter((g) => g.kind === KIND_DOSSIER);
    const docs = theirs.filter((g) => g.kind === KIND_DOCUMENT && (documentId === null || toHex(g.documentId) === documentId));
    if (docs.length === 0 && (documentId !== null || whole.length === 0)) {
      throw new ClientError("they hold no share of their own here, so nothing was revoked");
    }
    const query = `recipient_id=${recipientId}`;
    if (documentId !== null) {
      await this.kluis.api.call("DELETE", `/dossiers/${dossierId}/grants?${query}&document_id=${documentId}`);
      return { epoch: 0 };
    }
    // The new key goes out before the old rows are deleted, so a server that keeps them (or
    // fails half-way) leaves them with old keys only (S18).
    let epoch = 0n;
    if (whole.some((g) => g.number === dossier.index.epoch)) epoch = await this.rotate(dossier, recipientId);
    await this.kluis.api.call("DELETE", `/dossiers/${dossierId}/grants?${query}`);
    return { epoch: Number(epoch) };
  }

  /**
   * sharing.py `rotate` (section 11.2): a fresh key for a new epoch, granted to me and to the
   * recipients of my own verified, unexpired dossier grants for the current epoch (not the one
   * leaving), each with the rights and expiry of that signed grant, sealed to the keys it names
   * or keys verified since; then the index is signed under the new epoch.
   */
  private async rotate(dossier: Dossier, leaving: string): Promise<bigint> {
    const { me } = this.kluis.session();
    const at = now();
    const current = dossier.index.epoch;
    const remaining = new Map<string, Grant>();
    for (const g of await this.signedByMe(dossier.dossierId)) {
      const id = toHex(g.recipientId);
      if (g.kind !== KIND_DOSSIER || g.number !== current || !live(g, at) || id === leaving || id === this.kluis.myId) continue;
      const kept = remaining.get(id);
      if (kept === undefined || g.issuedAt > kept.issuedAt) remaining.set(id, g);
    }
    // Every recipient's keys are settled before anything is written (K2).
    const recipients: { identity: Identity; grant: Grant }[] = [];
    for (const [id, grant] of remaining) recipients.push({ identity: await this.rotationRecipient(id, grant), grant });
    const epoch = [...dossier.keys.keys()].reduce((a, b) => (a > b ? a : b), 0n) + 1n;
    const key = randomBytes(32);
    const keys = new Map([[epoch, key]]);
    let counter = await this.nextCounter(dossier.dossierId);
    const grants = await this.dossierGrants(dossier, keys, me.public, RIGHTS_WRITE, 0n, counter++);
    for (const r of recipients) grants.push(...(await this.dossierGrants(dossier, keys, r.identity, r.grant.rights, r.grant.expiresAt, counter++)));
    await this.kluis.api.call("POST", `/dossiers/${dossier.dossierId}/grants`, { grants: grants.map(grantIn), rotation: true });
    key.fill(0);
    await this.kluis.signIndex(dossier, [], epoch);
    return epoch;
  }

  /**
   * sharing.py `_recipient_of`: the keys my grant names, or keys I verified since; for an
   * organisation, its current epoch if the grant's key is one of its verified chain's. Nothing else.
   */
  private async rotationRecipient(userId: string, grant: Grant): Promise<Identity> {
    let contact;
    try {
      contact = await this.kluis.contactById(userId);
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 404)) throw error;
      const { chain } = await trustedOrganisation(this.kluis, { orgId: userId });
      if (!chain.records.some((r) => equal(r.identity.keyId, grant.recipientKeyId))) {
        throw new UnverifiedKeyError(`your own grant to ${chain.name} names a key that is none of its verified epochs`);
      }
      return chain.current.identity;
    }
    if (!equal(contact.identity.keyId, grant.recipientKeyId) && !contact.verified) {
      throw new UnverifiedKeyError(`the server shows other keys for ${contact.identity.username} than your own grant names`);
    }
    return contact.identity;
  }

  // -- shares to me (section 12) --------------------------------------------------------------
  /** sharing.py `shared_with_me`: every grant to me opened; one row per share, newest first. */
  async sharedWithMe(): Promise<SharedRow[]> {
    const { me, memory } = this.kluis.session();
    const rows = await this.kluis.api.call("GET", "/shared");
    if (!Array.isArray(rows)) throw new MalformedError("server answer: shared is not a list");
    const at = now();
    const shares = new Map<string, SharedRow>();
    for (const row of rows) {
      if (typeof row !== "object" || row === null) throw new MalformedError("server answer: a share is not an object");
      const data = unb64((row as Record<string, unknown>)["grant"], "grant");
      const grant = decodeGrant(data);
      const dossierId = toHex(grant.dossierId);
      const owner = await memory.dossierOwner(dossierId);
      if (owner !== null && owner !== toHex(grant.granterId)) {
        throw new KeyMismatchError("grant: not signed by the dossier's owner (this device knows the dossier as someone else's)");
      }
      const granter = await this.kluis.contactById(toHex(grant.granterId));
      const kind = grant.kind as GrantKind;
      try {
        await openGrant(data, { kind, dossierId: grant.dossierId, documentId: grant.documentId, number: grant.number }, me, granter.identity, at);
      } catch (error) {
        if (error instanceof ExpiredError) continue;
        throw error;
      }
      const documentId = kind === KIND_DOCUMENT ? toHex(grant.documentId) : null;
      const rights = grant.rights === RIGHTS_WRITE ? "write" : "read";
      const key = [kind, dossierId, documentId, granter.identity.username, rights, grant.expiresAt].join("/");
      const share = shares.get(key);
      if (share === undefined) {
        shares.set(key, {
          dossierId,
          documentId,
          granter: granter.identity.username,
          granterVerified: granter.verified,
          rights,
          expiresAt: Number(grant.expiresAt),
          since: Number(grant.issuedAt),
          numbers: [Number(grant.number)],
          title: null,
        });
      } else {
        share.numbers.push(Number(grant.number));
        share.since = Math.min(share.since, Number(grant.issuedAt));
      }
    }
    const out = [...shares.values()];
    for (const share of out) {
      share.numbers.sort((a, b) => a - b);
      // The dossier's title is in its signed index, sealed under the key just opened.
      if (share.documentId === null) share.title = (await this.kluis.loadDossier(share.dossierId)).metadata?.title ?? null;
    }
    return out.sort((a, b) => b.since - a.since);
  }
}
