/**
 * The Kluis client inside the worker: the checks of the Python client (client_sdk/accounts.py,
 * base.py, trust.py, dossiers.py, documents.py, accesslog.py), made identically, on the formats
 * of ../vault. It owns the session (token, private keys, dossier keys, file keys); what it
 * hands the page is only what verified: names, numbers, and a document's content after every
 * check passed.
 *
 * Each method says which Python method it follows. Where the Python client keeps state per
 * device (pins, KDF floor, dossier owners, the last index, versions seen, the log head), this
 * one keeps it in IndexedDB per account (store.ts).
 */

import { equal, fromHex, toHex, type Bytes } from "../vault/bytes.js";
import { bundleKdfParams, openBundle, PURPOSE_PASSPHRASE, PURPOSE_RECOVERY, sealBundleWithNonce } from "../vault/bundle.js";
import { randomBytes } from "../vault/crypto.js";
import { decodeIndex, indexHash, openIndex, sealIndex, verifyIndex, type DossierIndex, type IndexEntry } from "../vault/dossier-index.js";
import { ExpiredError, IntegrityError, KeyMismatchError, MalformedError, RollbackError, SecurityError, WrongPassphrase } from "../vault/errors.js";
import { decodeGrant, KIND_DOCUMENT, KIND_DOSSIER, openGrant, RIGHTS_WRITE, sealGrant, verifyGrant } from "../vault/grant.js";
import { checkPayloadDigest, decodeHeader, headerHash, openHeader, sealHeader, type OpenedHeader } from "../vault/header.js";
import { checkKdfParams, kdfParamsEqual, newKdfParams, passphraseKeys, type KdfParams, type PassphraseKeys } from "../vault/kdf.js";
import { decodeIdentity, isValidUsername, privateIdentityFromKeys, privateKeysBytes, type Identity, type PrivateIdentity } from "../vault/keys.js";
import { verifyChain } from "../vault/logchain.js";
import type { DocumentMetadata, DossierMetadata } from "../vault/metadata.js";
import { ageFileKey, decryptPayload, encryptPayload, PayloadDecryptor } from "../vault/payload.js";
import { DEFAULT_PART_POLICY, payloadSize, uploadInParts, type PartPolicy } from "./parts.js";
import { parseRecoveryCode, recoveryKeys, recoveryWords } from "../vault/recovery.js";
import { Api, b64, unb64, type Transport } from "./api.js";
import { loadCommonPasswords, requireStrongPassphrase, type CommonPasswords } from "../vault/passphrase.js";
import { ClientError, TamperedLogError, TooLarge, UnconfirmedVersionError, UnverifiedKeyError, WithheldDocumentError } from "./errors.js";
import { WriteBatch } from "./writebatch.js";
import { MAX_FILE_BYTES, type SaveTarget, type DocumentSummary, type DossierSummary, type LogLine, type PublicIdentityInfo, type Role, type TransferProgress, type VersionSummary } from "./protocol.js";
import { AccountMemory, kdfFloor, raiseKdfFloor, type TrustStore } from "./store.js";


export type ProgressFn = (p: TransferProgress) => void;

const ID = /^[0-9a-f]{32}$/;

export function checkId(value: unknown, what: string): string {
  if (typeof value !== "string" || !ID.test(value)) throw new MalformedError(`server answer: ${what} is not an id`);
  return value;
}

export function newId(): string {
  return toHex(randomBytes(16));
}

export function now(): bigint {
  return BigInt(Math.floor(Date.now() / 1000));
}

export function obj(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new MalformedError(`server answer: ${what} is not an object`);
  return value as Record<string, unknown>;
}

export function list(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw new MalformedError(`server answer: ${what} is not a list`);
  return value;
}

export function int(value: unknown, what: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value)) throw new MalformedError(`server answer: ${what} is not an integer`);
  return value;
}

/** accounts.py `typed_username`: a mistake in a typed name is a user error. */
function typedUsername(username: string): string {
  if (!isValidUsername(username)) {
    throw new ClientError("a username is 1-64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit");
  }
  return username;
}

function kdfToJson(p: KdfParams): Record<string, unknown> {
  return { algorithm: "argon2id", memory_kib: p.memoryKib, iterations: p.iterations, parallelism: p.parallelism, salt: b64(p.salt) };
}

/** accounts.py `kdf_from_json`. */
function kdfFromJson(value: unknown): KdfParams {
  if (typeof value !== "object" || value === null || (value as Record<string, unknown>)["algorithm"] !== "argon2id") {
    throw new MalformedError("server answer: unknown key-derivation parameters");
  }
  const v = value as Record<string, unknown>;
  const n = (x: unknown): number => {
    if (typeof x !== "number" || !Number.isSafeInteger(x)) throw new MalformedError("server answer: malformed key-derivation parameters");
    return x;
  };
  return { algorithm: 1, memoryKib: n(v["memory_kib"]), iterations: n(v["iterations"]), parallelism: n(v["parallelism"]), salt: unb64(v["salt"], "salt") };
}

/** dossiers.py `VersionRecord`: a version as the server lists it, untrusted until opened. */
export interface VersionRecord {
  documentId: string;
  version: bigint;
  header: Bytes;
  authorId: string;
}

function versionRecord(value: unknown): VersionRecord {
  try {
    const v = obj(value, "document version");
    return {
      documentId: checkId(v["document_id"], "document id"),
      version: BigInt(int(v["version"], "version")),
      header: unb64(v["header"], "header"),
      authorId: checkId(v["author_id"], "author id"),
    };
  } catch (error) {
    if (error instanceof MalformedError) throw new MalformedError("server answer: malformed document version");
    throw error;
  }
}

export interface Contact {
  identity: Identity;
  verified: boolean;
}

/** base.py `Dossier`: a dossier as this client verified it. */
export interface Dossier {
  dossierId: string;
  owner: Contact;
  role: Role;
  index: DossierIndex;
  metadata: DossierMetadata | null;
  keys: Map<bigint, Bytes>;
  created: number;
}

/** dossiers.py `DocumentInfo`, internal (bigint versions, the header kept). */
interface DocumentInfo extends Omit<DocumentSummary, "version"> {
  version: bigint;
  header: Bytes;
}

interface Choice {
  record: VersionRecord;
  confirmed: boolean;
  hashed: Bytes;
  newer: bigint;
  unconfirmed: VersionRecord | null;
}

type WriteRights = Map<string, Set<string>>; // `${user id}/${epoch}` -> key ids (hex)

function entryOf(index: DossierIndex, documentId: string): IndexEntry | undefined {
  const id = fromHex(documentId);
  return index.entries.find((e) => equal(e.documentId, id));
}

/** index.py `header_hash_of`: the header hash the index lists for exactly that version. */
function headerHashOf(index: DossierIndex, documentId: string, version: bigint): Bytes | null {
  const entry = entryOf(index, documentId);
  return entry !== undefined && entry.version === version ? entry.headerHash : null;
}

function summary(info: DocumentInfo): DocumentSummary {
  const { header: _header, version, ...rest } = info;
  return { ...rest, version: Number(version) };
}

/**
 * What organisations.ts adds to opening a dossier and listing it (docs/client.md 13.4, 14.1):
 * the keys grants to my organisations give me, and the receipts signed after a listing.
 */
export interface OrganisationAccess {
  dossierKeys(dossierId: string, owner: Identity, rows: Record<string, unknown>[]): Promise<{ keys: Map<bigint, Bytes>; role: Role }>;
  acknowledge(dossierId: string, infos: { documentId: string; version: bigint; header: Bytes; confirmed: boolean }[]): Promise<string[]>;
}

export class Kluis {
  readonly api: Api;
  private me: PrivateIdentity | null = null;
  private memory: AccountMemory | null = null;
  private contacts = new Map<string, Contact>();

  constructor(
    private readonly store: TrustStore,
    base: string,
    transport?: Transport,
    /** The passphrase rule's list: fetched from this site by default (tests pass the file's). */
    private readonly commonPasswords: () => Promise<CommonPasswords> = loadCommonPasswords,
  ) {
    this.api = new Api(base, transport);
  }

  /** Grants to my organisations and receipts (organisations.ts), when set. */
  organisations: OrganisationAccess | null = null;

  /** When and how payloads go up in parts (the tests lower it). */
  partPolicy: PartPolicy = DEFAULT_PART_POLICY;

  // -- the session ----------------------------------------------------------------------------
  /** The logged-in account's keys and this device's memory (also for groups.ts and organisations.ts). */
  session(): { me: PrivateIdentity; memory: AccountMemory } {
    if (this.me === null || this.memory === null) throw new ClientError("log in first");
    return { me: this.me, memory: this.memory };
  }

  get myId(): string {
    return toHex(this.session().me.public.userId);
  }

  private info(me: PrivateIdentity): PublicIdentityInfo {
    const id = me.public;
    return { userId: toHex(id.userId), username: id.username, keyVersion: id.keyVersion, keyId: toHex(id.keyId), fingerprint: id.fingerprint };
  }

  /** Forget the keys and the token (the server session ends too, when it answers). */
  async logout(): Promise<void> {
    const token = this.api.token;
    this.wipe();
    if (token !== null) {
      this.api.token = token;
      try {
        await this.api.call("POST", "/auth/logout");
      } catch {
        // unreachable or already ended: the keys are gone from this browser either way
      } finally {
        this.api.token = null;
      }
    }
  }

  wipe(): void {
    if (this.me) for (const k of [this.me.boxSecret, this.me.signingSeed, this.me.ageSecret, this.me.signingSecretKey]) k.fill(0);
    this.me = null;
    this.memory = null;
    this.contacts.clear();
    this.api.token = null;
  }

  // -- accounts (accounts.py) -----------------------------------------------------------------
  /** accounts.py `_authenticate`: a refusal is reported exactly like a bundle that does not open (L15). */
  private async authenticate(path: string, body: Record<string, unknown>): Promise<unknown> {
    try {
      return await this.api.call("POST", path, body);
    } catch (error) {
      if (error instanceof Error && "status" in error && (error as { status: number }).status === 401) {
        throw new WrongPassphrase("the passphrase does not open the key bundle");
      }
      throw error;
    }
  }

  /** accounts.py `_check_published` (K1): the server's record must carry exactly my keys. */
  private async checkPublished(me: PrivateIdentity, user: unknown, memory: AccountMemory): Promise<void> {
    const u = obj(user, "user");
    const published = await decodeIdentity(unb64(u["identity"], "identity"));
    if (!equal(published.encoded, me.public.encoded)) {
      throw new KeyMismatchError("the server's record of your account carries keys that are not yours");
    }
    const userId = toHex(me.public.userId);
    const pin = await memory.pin(userId);
    if (pin !== null && pin.keyId !== toHex(me.public.keyId)) {
      throw new KeyMismatchError("your own keys differ from the ones pinned on this device");
    }
    await memory.savePin(userId, { username: me.public.username, keyId: toHex(me.public.keyId), fingerprint: me.public.fingerprint, verified: true });
  }

  /** accounts.py `_start_session`: K1 first; only then the KDF floor is raised and the session kept. */
  private async startSession(answer: unknown, me: PrivateIdentity, keys: PassphraseKeys): Promise<PublicIdentityInfo> {
    const a = obj(answer, "login answer");
    const memory = new AccountMemory(this.store, toHex(me.public.userId));
    await this.checkPublished(me, a["user"], memory);
    await raiseKdfFloor(this.store, me.public.username, keys.params.memoryKib, keys.params.iterations);
    if (typeof a["token"] !== "string" || a["token"].length === 0) throw new MalformedError("server answer: no session token");
    this.api.token = a["token"];
    this.me = me;
    this.memory = memory;
    this.contacts.clear();
    return this.info(me);
  }

  /** accounts.py `_previous_kdf`: the strongest parameters this browser used for the account. */
  private async previousKdf(username: string, salt: Bytes): Promise<KdfParams | null> {
    const floor = await kdfFloor(this.store, username);
    return floor === null ? null : { algorithm: 1, memoryKib: floor.memoryKib, iterations: floor.iterations, parallelism: 1, salt };
  }

  /**
   * accounts.py `register`: keys made here, the passphrase bundle and the recovery bundle sealed
   * here, then a login with the same keys. Answers the recovery code's 24 words, to be shown
   * once. The passphrase rule (format section 18) is applied here as in the SDK, before anything
   * is derived or sent; the page applies it first, to say why.
   */
  async register(username: string, passphrase: string, progress: ProgressFn): Promise<{ identity: PublicIdentityInfo; recoveryWords: string }> {
    typedUsername(username);
    if (passphrase.length === 0) throw new ClientError("the passphrase must not be empty");
    requireStrongPassphrase(passphrase, [username], await this.commonPasswords());
    this.wipe();
    const userId = randomBytes(16);
    const me = await privateIdentityFromKeys(userId, username, 1, randomBytes(96));
    progress({ phase: "kdf", done: 0, total: 1 });
    const keys = await passphraseKeys(passphrase, newKdfParams(randomBytes(16)));
    progress({ phase: "kdf", done: 1, total: 1 });
    const entropy = randomBytes(32);
    const words = await recoveryWords(entropy);
    const recovery = await recoveryKeys(entropy);
    entropy.fill(0);
    const privateKeys = privateKeysBytes(me);
    const passphraseBundle = sealBundleWithNonce(privateKeys, { purpose: PURPOSE_PASSPHRASE, userId, keyVersion: 1, kdfParams: keys.params }, keys.bundleKey, randomBytes(24));
    const recoveryBundle = sealBundleWithNonce(privateKeys, { purpose: PURPOSE_RECOVERY, userId, keyVersion: 1, kdfParams: null }, recovery.bundleKey, randomBytes(24));
    privateKeys.fill(0);
    progress({ phase: "login", done: 0, total: 1 });
    await this.api.call("POST", "/users", {
      user_id: toHex(userId),
      username,
      display_name: username,
      identity: b64(me.public.encoded),
      kdf: kdfToJson(keys.params),
      passphrase_bundle: b64(passphraseBundle),
      recovery_bundle: b64(recoveryBundle),
      auth_key: b64(keys.authKey),
      recovery_auth_key: b64(recovery.authKey),
    });
    const answer = await this.authenticate("/auth/login", { username, auth_key: b64(keys.authKey) });
    const identity = await this.startSession(answer, me, keys);
    progress({ phase: "login", done: 1, total: 1 });
    return { identity, recoveryWords: words };
  }

  /**
   * accounts.py `login`: prelogin; the KDF policy (floor, ceiling, never below what this
   * browser used) before Argon2 runs; the login; the bundle opened under the parameters it
   * names, against the published identity; then `startSession` (K1, the pin, the floor).
   */
  async login(username: string, passphrase: string, progress: ProgressFn): Promise<PublicIdentityInfo> {
    typedUsername(username);
    if (passphrase.length === 0) throw new ClientError("the passphrase must not be empty");
    this.wipe();
    progress({ phase: "prelogin", done: 0, total: 1 });
    const pre = obj(await this.api.call("POST", "/auth/prelogin", { username }), "prelogin answer");
    const params = kdfFromJson(pre["kdf"]);
    const previous = await this.previousKdf(username, params.salt);
    checkKdfParams(params, previous); // DowngradeError before anything is derived (L14)
    progress({ phase: "kdf", done: 0, total: 1 });
    const keys = await passphraseKeys(passphrase, params, previous);
    progress({ phase: "kdf", done: 1, total: 1 });
    progress({ phase: "login", done: 0, total: 1 });
    const answer = obj(await this.authenticate("/auth/login", { username, auth_key: b64(keys.authKey) }), "login answer");
    const me = await this.openAnswer(answer, keys, username);
    const identity = await this.startSession(answer, me, keys);
    progress({ phase: "login", done: 1, total: 1 });
    return identity;
  }

  /**
   * accounts.py `change_passphrase`: the rule first (nothing derived or sent for a refused
   * passphrase); then a fresh login with the current passphrase (the same checks as `login`),
   * and only the passphrase bundle is sealed again, under new parameters never below the old
   * ones. The keys, and everything shared, stay. The server ends every other session.
   */
  async changePassphrase(current: string, next: string, progress: ProgressFn): Promise<PublicIdentityInfo> {
    const username = this.session().me.public.username;
    if (current.length === 0 || next.length === 0) throw new ClientError("the passphrase must not be empty");
    requireStrongPassphrase(next, [username], await this.commonPasswords());
    const replaced = this.api.token;
    progress({ phase: "prelogin", done: 0, total: 1 });
    const pre = obj(await this.api.call("POST", "/auth/prelogin", { username }), "prelogin answer");
    const params = kdfFromJson(pre["kdf"]);
    const previous = await this.previousKdf(username, params.salt);
    checkKdfParams(params, previous); // L14, before anything is derived
    progress({ phase: "kdf", done: 0, total: 2 });
    const keys = await passphraseKeys(current, params, previous);
    const answer = obj(await this.authenticate("/auth/login", { username, auth_key: b64(keys.authKey) }), "login answer");
    const me = await this.openAnswer(answer, keys, username);
    const identity = await this.startSession(answer, me, keys);
    try {
      progress({ phase: "kdf", done: 1, total: 2 });
      const newKeys = await passphraseKeys(next, newKdfParams(randomBytes(16), keys.params), keys.params);
      progress({ phase: "kdf", done: 2, total: 2 });
      const privateKeys = privateKeysBytes(me);
      const bundle = sealBundleWithNonce(privateKeys, { purpose: PURPOSE_PASSPHRASE, userId: me.public.userId, keyVersion: me.public.keyVersion, kdfParams: newKeys.params }, newKeys.bundleKey, randomBytes(24));
      privateKeys.fill(0);
      progress({ phase: "login", done: 0, total: 1 });
      await this.api.call("PUT", "/me/passphrase", {
        current_auth_key: b64(keys.authKey),
        passphrase_bundle: b64(bundle),
        auth_key: b64(newKeys.authKey),
        kdf: kdfToJson(newKeys.params),
      });
      await raiseKdfFloor(this.store, username, newKeys.params.memoryKib, newKeys.params.iterations);
    } finally {
      // The session this device had before the fresh login: the change ended it; without a
      // change nothing did, so it is ended here, not left behind.
      await this.endToken(replaced);
    }
    progress({ phase: "login", done: 1, total: 1 });
    return identity;
  }

  /**
   * accounts.py `recover`: the recovery code read as format section 5 reads it
   * (InvalidRecoveryCode), the rule for the new passphrase, then the recovery bundle opened
   * against the published identity (K1) and a new passphrase bundle set; a session starts.
   */
  async recover(username: string, code: string, next: string, progress: ProgressFn): Promise<PublicIdentityInfo> {
    typedUsername(username);
    const entropy = await parseRecoveryCode(code);
    const recovery = await recoveryKeys(entropy);
    entropy.fill(0);
    if (next.length === 0) throw new ClientError("the passphrase must not be empty");
    requireStrongPassphrase(next, [username], await this.commonPasswords());
    this.wipe();
    progress({ phase: "login", done: 0, total: 2 });
    const auth = b64(recovery.authKey);
    const answer = obj(await this.authenticate("/auth/recovery", { username, recovery_auth_key: auth }), "recovery answer");
    const user = obj(answer["user"], "user");
    const published = await decodeIdentity(unb64(user["identity"], "identity"));
    const me = await openBundle(unb64(answer["recovery_bundle"], "recovery_bundle"), recovery.bundleKey, {
      purpose: PURPOSE_RECOVERY,
      userId: published.userId,
      keyVersion: published.keyVersion,
      username,
      pinned: published,
    });
    await this.checkPublished(me, answer["user"], new AccountMemory(this.store, toHex(me.public.userId)));
    const previous = await this.previousKdf(username, new Uint8Array(16));
    progress({ phase: "kdf", done: 0, total: 1 });
    const keys = await passphraseKeys(next, newKdfParams(randomBytes(16), previous ?? undefined), previous);
    progress({ phase: "kdf", done: 1, total: 1 });
    const privateKeys = privateKeysBytes(me);
    const bundle = sealBundleWithNonce(privateKeys, { purpose: PURPOSE_PASSPHRASE, userId: me.public.userId, keyVersion: me.public.keyVersion, kdfParams: keys.params }, keys.bundleKey, randomBytes(24));
    privateKeys.fill(0);
    const login = await this.api.call("POST", "/auth/reset-passphrase", {
      username,
      recovery_auth_key: auth,
      passphrase_bundle: b64(bundle),
      auth_key: b64(keys.authKey),
      kdf: kdfToJson(keys.params),
    });
    const identity = await this.startSession(login, me, keys);
    progress({ phase: "login", done: 2, total: 2 });
    return identity;
  }

  /** End a session token that is no longer this device's (best effort). */
  private async endToken(token: string | null): Promise<void> {
    if (token === null || token === this.api.token) return;
    // The call reads the token before its first await: swap it for that moment only.
    const current = this.api.token;
    this.api.token = token;
    const ended = this.api.call("POST", "/auth/logout");
    this.api.token = current;
    try {
      await ended;
    } catch {
      // already ended (the change ends every other session) or unreachable
    }
  }

  /** accounts.py `_open`: the bundle, against the published identity record. */
  private async openAnswer(answer: Record<string, unknown>, keys: PassphraseKeys, username: string): Promise<PrivateIdentity> {
    const user = obj(answer["user"], "user");
    const published = await decodeIdentity(unb64(user["identity"], "identity"));
    const bundle = unb64(answer["passphrase_bundle"], "passphrase_bundle");
    // The bundle authenticates its parameters; different ones cannot open it. The policy
    // applies to them as to any (DowngradeError).
    const inside = bundleKdfParams(bundle);
    checkKdfParams(inside);
    if (!kdfParamsEqual(inside, keys.params)) throw new WrongPassphrase("the passphrase does not open the key bundle");
    return openBundle(bundle, keys.bundleKey, {
      purpose: PURPOSE_PASSPHRASE,
      userId: published.userId,
      keyVersion: published.keyVersion,
      username,
      pinned: published,
    });
  }

  // -- contacts (base.py, trust.py) -----------------------------------------------------------
  /** base.py `_contact_from_user` and trust.py `check_record` / `trust`. */
  async contactFromUser(user: unknown, expect: { username?: string; userId?: string }): Promise<Contact> {
    const { me, memory } = this.session();
    const u = obj(user, "user");
    const identity = await decodeIdentity(unb64(u["identity"], "identity"));
    if (expect.username !== undefined && identity.username !== expect.username) {
      throw new UnverifiedKeyError(`the server answered with the identity of ${identity.username} for ${expect.username}`);
    }
    const userId = toHex(identity.userId);
    if (expect.userId !== undefined && userId !== expect.userId) {
      throw new UnverifiedKeyError(`the server answered with another user's identity for ${expect.userId}`);
    }
    if (equal(identity.userId, me.public.userId)) {
      if (!equal(identity.encoded, me.public.encoded)) throw new UnverifiedKeyError("the server shows other keys for your own account");
      return { identity: me.public, verified: true };
    }
    // trust.py `trust`: pin on first sight; afterwards insist on the pinned keys, name and id.
    for (const otherId of await memory.pinnedUnder(identity.username)) {
      const other = await memory.pin(otherId);
      if (otherId !== userId && other !== null && other.username === identity.username) {
        throw new UnverifiedKeyError(
          `the server now gives ${identity.username} a different account than the one pinned on this device: pinned fingerprint ${other.fingerprint}, the server now shows ${identity.fingerprint}`,
        );
      }
    }
    const pin = await memory.pin(userId);
    let contact: Contact;
    if (pin === null) {
      await memory.savePin(userId, { username: identity.username, keyId: toHex(identity.keyId), fingerprint: identity.fingerprint, verified: false });
      contact = { identity, verified: false };
    } else if (pin.username !== identity.username) {
      throw new UnverifiedKeyError(`the server shows the account pinned on this device as ${pin.username} under the name ${identity.username}`);
    } else if (pin.keyId !== toHex(identity.keyId)) {
      throw new UnverifiedKeyError(`the keys of ${identity.username} changed: pinned fingerprint ${pin.fingerprint}, the server now shows ${identity.fingerprint}`);
    } else {
      contact = { identity, verified: pin.verified };
    }
    this.contacts.set(userId, contact);
    return contact;
  }

  /** Drop a contact kept for this session (its pin changed: sharing.ts `verifyContact`). */
  forgetContact(userId: string): void {
    this.contacts.delete(userId);
  }

  async contactById(userId: string): Promise<Contact> {
    const { me } = this.session();
    const cached = this.contacts.get(userId);
    if (cached !== undefined) return cached;
    if (userId === toHex(me.public.userId)) return { identity: me.public, verified: true };
    return this.contactFromUser(await this.api.call("GET", `/users/by-id/${userId}`), { userId });
  }

  /** base.py `contact`: a typed username, looked up and pinned (section 3). */
  async contactByName(username: string): Promise<Contact> {
    const name = typedUsername(username);
    return this.contactFromUser(await this.api.call("GET", `/users/${name}`), { username: name });
  }

  // -- dossiers (base.py) ---------------------------------------------------------------------
  async grantRows(dossierId: string): Promise<Record<string, unknown>[]> {
    const rows = list(await this.api.call("GET", `/dossiers/${dossierId}/grants`), "grants");
    return rows.filter((g): g is Record<string, unknown> => typeof g === "object" && g !== null && !Array.isArray(g));
  }

  private async myGrants(dossierId: string): Promise<Record<string, unknown>[]> {
    const mine = this.myId;
    return (await this.grantRows(dossierId)).filter((g) => g["recipient_id"] === mine);
  }

  /** base.py `_dossier_keys`: every dossier-key grant addressed to me; only the owner may grant them. */
  private async dossierKeys(dossierId: string, owner: Identity, rows?: Record<string, unknown>[]): Promise<{ keys: Map<bigint, Bytes>; role: Role }> {
    const { me } = this.session();
    const keys = new Map<bigint, Bytes>();
    let role: Role = "document";
    const all = rows ?? (await this.grantRows(dossierId));
    for (const item of all.filter((g) => g["recipient_id"] === this.myId)) {
      if (item["kind"] !== KIND_DOSSIER) continue;
      const number = typeof item["number"] === "number" && Number.isSafeInteger(item["number"]) ? BigInt(item["number"]) : -1n;
      let opened;
      try {
        opened = await openGrant(unb64(item["grant"], "grant"), { kind: KIND_DOSSIER, dossierId: fromHex(dossierId), number }, me, owner, now());
      } catch (error) {
        if (error instanceof ExpiredError) continue;
        throw error;
      }
      keys.set(opened.grant.number, opened.key);
      if (opened.grant.rights === RIGHTS_WRITE) role = "write";
      else if (role === "document") role = "read";
    }
    if (this.organisations !== null && !equal(owner.userId, me.public.userId)) {
      // 13.4: grants to my organisations, opened with their epoch keys.
      const viaOrgs = await this.organisations.dossierKeys(dossierId, owner, all);
      for (const [epoch, key] of viaOrgs.keys) keys.set(epoch, key);
      if (viaOrgs.role === "write" || (viaOrgs.role === "read" && role === "document")) role = viaOrgs.role;
    }
    return { keys, role };
  }

  /**
   * base.py `load_dossier`: its owner, its index and the keys granted to me, verified. `given`:
   * the dossier and its grant rows as a batch answer gave them (the organisation inbox).
   */
  async loadDossier(dossierId: string, given?: { answer: Record<string, unknown>; rows: Record<string, unknown>[] }): Promise<Dossier> {
    const { memory } = this.session();
    const answer = given?.answer ?? obj(await this.api.call("GET", `/dossiers/${dossierId}`), "dossier");
    if (answer["dossier_id"] !== dossierId) throw new MalformedError("server answer: not the dossier that was asked for");
    const owner = await this.contactFromUser(answer["owner"], {});
    const ownerId = toHex(owner.identity.userId);
    const pinned = await memory.dossierOwner(dossierId);
    if (pinned === null) await memory.saveDossierOwner(dossierId, ownerId);
    else if (pinned !== ownerId) {
      // K4/D7: a dossier never changes hands; a new owner is the server's substitute.
      throw new KeyMismatchError(`dossier ${dossierId.slice(0, 8)}: the server names ${owner.identity.username} as its owner, but this device knows it as someone else's`);
    }
    let granted: { keys: Map<bigint, Bytes>; role: Role };
    try {
      granted = await this.dossierKeys(dossierId, owner.identity, given?.rows);
    } catch (error) {
      // K2: the owner the server names did not grant me the dossier's key; the server shows
      // another account as the owner (first sight: nothing pinned yet to compare it with).
      if (error instanceof KeyMismatchError && !(error instanceof UnverifiedKeyError)) {
        throw new UnverifiedKeyError(`dossier ${dossierId.slice(0, 8)}: the server names ${owner.identity.username} as its owner, but the dossier's key was granted by another account (${error.message})`);
      }
      throw error;
    }
    const role: Role = ownerId === this.myId ? "owner" : granted.role;
    const indexBytes = unb64(answer["index"], "index");
    const seen = await memory.indexSeen(dossierId);
    // Descent from the last index this browser accepted (format section 9, step 4): a fork
    // signed on top of an older index is refused, whatever its counter.
    const expect = {
      dossierId: fromHex(dossierId),
      owner: owner.identity,
      highestSeen: seen?.counter ?? 0n,
      previous: seen?.bytes ?? null,
      previousHash: seen !== null ? fromHex(seen.hash) : null,
    };
    let index: DossierIndex;
    let metadata: DossierMetadata | null = null;
    if (granted.keys.size > 0) {
      const opened = await openIndex(indexBytes, { ...expect, dossierKeys: granted.keys });
      index = opened.index;
      metadata = opened.metadata;
    } else {
      index = await verifyIndex(indexBytes, expect); // a document-only grantee checks it too
    }
    await memory.saveIndexSeen(dossierId, index.counter, toHex(await indexHash(indexBytes)), index.encoded);
    const created = typeof answer["created_at"] === "number" ? answer["created_at"] : 0;
    return { dossierId, owner, role, index, metadata, keys: granted.keys, created };
  }

  private async dossierIds(): Promise<string[]> {
    return list(await this.api.call("GET", "/dossiers"), "dossiers").map((d) => checkId(obj(d, "dossier")["dossier_id"], "dossier id"));
  }

  private dossierSummary(d: Dossier, documentCount: number): DossierSummary {
    return {
      dossierId: d.dossierId,
      title: d.metadata?.title ?? null,
      role: d.role,
      owner: d.owner.identity.username,
      ownerId: toHex(d.owner.identity.userId),
      ownerVerified: d.owner.verified,
      created: d.metadata?.created ?? d.created,
      documentCount,
    };
  }

  /** dossiers.py `dossiers`: every dossier I can see, each verified. */
  async dossiers(): Promise<DossierSummary[]> {
    const out: DossierSummary[] = [];
    for (const id of await this.dossierIds()) {
      const d = await this.loadDossier(id);
      out.push(this.dossierSummary(d, d.index.entries.length));
    }
    return out.sort((a, b) => b.created - a.created || a.dossierId.localeCompare(b.dossierId));
  }

  /** dossiers.py `create_dossier`. */
  async createDossier(title: string): Promise<string> {
    const { me, memory } = this.session();
    const trimmed = title.trim();
    if (trimmed.length === 0 || [...trimmed].length > 1024) throw new ClientError("a dossier title is 1 to 1024 characters");
    const dossierId = newId();
    const did = fromHex(dossierId);
    const key = randomBytes(32);
    const index = await sealIndex(me, {
      dossierId: did,
      counter: 1n,
      previousHash: new Uint8Array(32),
      epoch: 1n,
      dossierKey: key,
      metadata: { title: trimmed, created: Number(now()) },
      entries: [],
      deletions: [],
    });
    const grant = await sealGrant(me, me.public, {
      grantId: randomBytes(16),
      kind: KIND_DOSSIER,
      dossierId: did,
      number: 1n,
      rights: RIGHTS_WRITE,
      issuedAt: now(),
      expiresAt: 0n,
      counter: 1n,
      key,
    });
    await this.api.call("POST", "/dossiers", {
      dossier_id: dossierId,
      index: b64(index),
      grants: [
        {
          grant: b64(grant),
          grant_id: toHex(decodeGrant(grant).grantId),
          kind: KIND_DOSSIER,
          document_id: null,
          number: 1,
          recipient_id: toHex(me.public.userId),
          rights: RIGHTS_WRITE,
          expires_at: 0,
        },
      ],
    });
    await memory.saveIndexSeen(dossierId, 1n, toHex(await indexHash(index)), index);
    await memory.saveDossierOwner(dossierId, toHex(me.public.userId));
    return dossierId;
  }

  // -- listing (dossiers.py) ------------------------------------------------------------------
  private async listing(dossierId: string): Promise<Map<string, VersionRecord[]>> {
    const out = new Map<string, VersionRecord[]>();
    for (const raw of list(await this.api.call("GET", `/dossiers/${dossierId}/documents`), "documents")) {
      const item = obj(raw, "document");
      const documentId = checkId(item["document_id"], "document id");
      const versions = list(item["versions"], "versions").map(versionRecord);
      versions.sort((a, b) => (a.version < b.version ? -1 : a.version > b.version ? 1 : 0));
      if (versions.length === 0 || versions.some((v) => v.documentId !== documentId)) {
        throw new MalformedError("server answer: a document's versions do not match it");
      }
      out.set(documentId, versions);
    }
    return out;
  }

  /** dossiers.py `_check_listing` (D13), then `_check_not_rolled_back` (D12). */
  private async checkListing(dossier: Dossier, latest: Map<string, bigint>, shown: Map<string, bigint>): Promise<void> {
    const withheld = dossier.index.entries.filter((e) => !latest.has(toHex(e.documentId)));
    if (dossier.role !== "document" && withheld.length > 0) {
      const names = withheld.map((e) => toHex(e.documentId).slice(0, 8)).join(", ");
      throw new WithheldDocumentError(`the server withholds ${withheld.length} document(s) that the owner's signed index lists (${names}) without a signed deletion`);
    }
    const deleted = dossier.index.deletions.find((d) => latest.has(toHex(d.documentId)));
    if (deleted !== undefined) {
      throw new RollbackError(`document ${toHex(deleted.documentId).slice(0, 8)}: the owner's signed index records it as deleted after version ${deleted.version}, but the server still lists it`);
    }
    await this.checkNotRolledBack(dossier, latest, shown);
  }

  /** dossiers.py `_check_not_rolled_back` (D12). */
  private async checkNotRolledBack(dossier: Dossier, latest: Map<string, bigint>, shown?: Map<string, bigint>): Promise<void> {
    const { memory } = this.session();
    for (const [documentId, version] of latest) {
      const entry = entryOf(dossier.index, documentId);
      if (entry !== undefined && version < entry.version) {
        throw new RollbackError(`document ${documentId.slice(0, 8)}: the server offers version ${version}, the owner's signed index lists version ${entry.version}`);
      }
      const offered = shown?.get(documentId) ?? version;
      const seen = await memory.versionSeen(documentId);
      if (offered < seen) {
        throw new RollbackError(`document ${documentId.slice(0, 8)}: the server offers version ${offered}, but this device has seen version ${seen}`);
      }
    }
  }

  /** dossiers.py `open_version`: one version's header, under its author's trusted identity. */
  async openVersion(dossier: Dossier, record: VersionRecord, author?: Contact): Promise<OpenedHeader> {
    const who = (author ?? (await this.contactById(record.authorId))).identity;
    const expect = { dossierId: fromHex(dossier.dossierId), documentId: fromHex(record.documentId), version: record.version, author: who };
    if (dossier.keys.size > 0) return openHeader(record.header, expect, { dossierKeys: dossier.keys });
    return openHeader(record.header, expect, { fileKey: await this.documentFileKey(dossier, record) });
  }

  /** dossiers.py `_document_file_key`: the file key of one version from a document grant to me. */
  private async documentFileKey(dossier: Dossier, record: VersionRecord): Promise<Bytes> {
    const { me } = this.session();
    for (const item of await this.myGrants(dossier.dossierId)) {
      if (item["kind"] === KIND_DOCUMENT && item["document_id"] === record.documentId && item["number"] === Number(record.version)) {
        const target = { kind: KIND_DOCUMENT, dossierId: fromHex(dossier.dossierId), documentId: fromHex(record.documentId), number: record.version } as const;
        return (await openGrant(unb64(item["grant"], "grant"), target, me, dossier.owner.identity, now())).key;
      }
    }
    throw new KeyMismatchError(`no key for document ${record.documentId.slice(0, 8)} version ${record.version} was shared with you`);
  }

  /** dossiers.py `_granted_versions`: without the dossier key, the versions grant rows claim to give me. */
  private async grantedVersions(dossier: Dossier): Promise<Map<string, Set<bigint>>> {
    const granted = new Map<string, Set<bigint>>();
    if (dossier.keys.size > 0) return granted;
    for (const item of await this.myGrants(dossier.dossierId)) {
      const number = item["number"];
      if (item["kind"] === KIND_DOCUMENT && typeof number === "number" && Number.isSafeInteger(number)) {
        const doc = String(item["document_id"]);
        if (!granted.has(doc)) granted.set(doc, new Set());
        granted.get(doc)?.add(BigInt(number));
      }
    }
    return granted;
  }

  /** dossiers.py `_owner_confirms`. */
  async ownerConfirms(dossier: Dossier, record: VersionRecord, hashed?: Bytes): Promise<boolean> {
    const listed = headerHashOf(dossier.index, record.documentId, record.version);
    if (listed !== null) {
      if (!equal(listed, hashed ?? (await headerHash(record.header)))) {
        throw new IntegrityError(`document ${record.documentId.slice(0, 8)} version ${record.version}: the header differs from the one the owner's signed index lists`);
      }
      return true;
    }
    const owner = dossier.owner.identity;
    if (record.authorId !== toHex(owner.userId)) return false;
    const header = decodeHeader(record.header);
    return equal(header.authorId, owner.userId) && equal(header.authorKeyId, owner.keyId);
  }

  /** dossiers.py `_choose`: the version of a document opened by default. */
  private async choose(dossier: Dossier, versions: VersionRecord[], granted: Map<string, Set<bigint>>): Promise<Choice> {
    const latest = versions[versions.length - 1] as VersionRecord;
    let candidates = versions;
    let newer = 0n;
    const mine = granted.get(latest.documentId);
    if (dossier.keys.size === 0 && mine !== undefined && mine.size > 0 && !mine.has(latest.version)) {
      const shared = versions.filter((v) => mine.has(v.version));
      if (shared.length > 0) {
        candidates = shared;
        const entry = entryOf(dossier.index, latest.documentId);
        const top = shared[shared.length - 1] as VersionRecord;
        if (entry !== undefined && entry.version > top.version) newer = entry.version;
      }
    }
    const top = candidates[candidates.length - 1] as VersionRecord;
    for (let i = candidates.length - 1; i >= 0; i--) {
      const record = candidates[i] as VersionRecord;
      const hashed = await headerHash(record.header);
      if (headerHashOf(dossier.index, record.documentId, record.version) !== null || (await this.ownerConfirms(dossier, record, hashed))) {
        return { record, confirmed: true, hashed, newer, unconfirmed: record === top ? null : top };
      }
    }
    return { record: top, confirmed: false, hashed: await headerHash(top.header), newer, unconfirmed: null };
  }

  /** dossiers.py `_info`. */
  private async docInfo(
    dossier: Dossier,
    record: VersionRecord,
    m: DocumentMetadata,
    extra: { newer?: bigint; hashed?: Bytes; unconfirmed?: [bigint, string]; notAdoptedBecause?: string } = {},
  ): Promise<DocumentInfo> {
    const confirmed = await this.ownerConfirms(dossier, record, extra.hashed);
    const contact = await this.contactById(record.authorId);
    return {
      dossierId: dossier.dossierId,
      documentId: record.documentId,
      version: record.version,
      name: m.name,
      mediaType: m.media_type,
      title: m.title,
      size: m.size,
      modified: m.modified,
      created: m.created,
      author: contact.identity.username,
      authorId: record.authorId,
      authorVerified: contact.verified,
      confirmed,
      header: record.header,
      newerVersion: Number(extra.newer ?? 0n),
      unconfirmedVersion: Number(extra.unconfirmed?.[0] ?? 0n),
      unconfirmedAuthor: extra.unconfirmed?.[1] ?? "",
      notAdoptedBecause: extra.notAdoptedBecause ?? "",
    };
  }

  /**
   * dossiers.py `documents`: every document at the version opened by default, verified, with a
   * newer unconfirmed version named; fails if the server hides anything. As the owner, versions
   * her own write grants allow are adopted into her index first.
   */
  async documents(dossierId: string): Promise<{ dossier: DossierSummary; documents: DocumentSummary[]; acknowledgedBy: string[] }> {
    const { memory } = this.session();
    let dossier = await this.loadDossier(dossierId);
    const listing = await this.listing(dossierId);
    const latest = new Map([...listing].map(([doc, vs]) => [doc, (vs[vs.length - 1] as VersionRecord).version]));
    const granted = await this.grantedVersions(dossier);
    const choices = new Map<string, Choice>();
    for (const [doc, vs] of listing) choices.set(doc, await this.choose(dossier, vs, granted));
    await this.checkListing(dossier, latest, new Map([...choices].map(([d, c]) => [d, c.record.version])));
    let reasons = new Map<string, string>();
    if (dossier.role === "owner") {
      const adoption = await this.adoptPending(dossier, listing);
      dossier = adoption.dossier;
      reasons = adoption.reasons;
      for (const doc of adoption.adopted) choices.set(doc, await this.choose(dossier, listing.get(doc) as VersionRecord[], granted));
    }
    const infos: DocumentInfo[] = [];
    for (const [doc, c] of choices) {
      const author = await this.contactById(c.record.authorId);
      const opened = await this.openVersion(dossier, c.record, author);
      let unconfirmed: [bigint, string] | undefined;
      if (c.unconfirmed !== null) {
        // Verified before it is named (its author comes from its signature), never opened.
        const above = await this.contactById(c.unconfirmed.authorId);
        await this.openVersion(dossier, c.unconfirmed, above);
        unconfirmed = [c.unconfirmed.version, above.identity.username];
      }
      infos.push(await this.docInfo(dossier, c.record, opened.metadata, { newer: c.newer, hashed: c.hashed, ...(unconfirmed ? { unconfirmed } : {}), notAdoptedBecause: reasons.get(doc) ?? "" }));
    }
    // Remembered as seen: the confirmed versions verified here, not the numbers the server listed.
    await memory.saveVersionsSeen(new Map(infos.filter((i) => i.confirmed).map((i) => [i.documentId, i.version])));
    infos.sort((a, b) => a.name.toLowerCase().localeCompare(b.name.toLowerCase()) || a.documentId.localeCompare(b.documentId));
    // receipts.py `acknowledge` after a listing (14.1), as `kluis ls` does.
    const acknowledgedBy = (await this.organisations?.acknowledge(dossierId, infos)) ?? [];
    return { dossier: this.dossierSummary(dossier, infos.length), documents: infos.map(summary), acknowledgedBy };
  }

  /** Every version of one document, each header verified; for the versions view. */
  async versions(documentId: string): Promise<VersionSummary[]> {
    const { dossierId, versions } = await this.documentVersions(documentId);
    const dossier = await this.loadDossier(dossierId);
    await this.checkNotRolledBack(dossier, new Map([[documentId, (versions[versions.length - 1] as VersionRecord).version]]));
    const granted = await this.grantedVersions(dossier);
    const mine = granted.get(documentId);
    const out: VersionSummary[] = [];
    for (const record of versions) {
      if (dossier.keys.size === 0 && mine !== undefined && !mine.has(record.version)) continue;
      const author = await this.contactById(record.authorId);
      const opened = await this.openVersion(dossier, record, author);
      out.push({
        version: Number(record.version),
        name: opened.metadata.name,
        size: opened.metadata.size,
        created: Number(opened.header.createdAt),
        author: author.identity.username,
        authorVerified: author.verified,
        confirmed: await this.ownerConfirms(dossier, record),
      });
    }
    return out.reverse();
  }

  // -- adoption (dossiers.py, as the owner) ---------------------------------------------------
  /** dossiers.py `_write_rights`: only my own verified, unexpired write grants count. */
  private async writeRights(dossier: Dossier): Promise<WriteRights> {
    const { me } = this.session();
    const rights: WriteRights = new Map();
    for (const item of await this.grantRows(dossier.dossierId)) {
      let grant;
      try {
        grant = verifyGrant(unb64(item["grant"], "grant"), fromHex(dossier.dossierId), me.public);
      } catch (error) {
        if (error instanceof SecurityError) continue; // not a grant I made: it gives nobody anything
        throw error;
      }
      const expired = grant.expiresAt !== 0n && grant.expiresAt <= now();
      if (grant.kind === KIND_DOSSIER && grant.rights === RIGHTS_WRITE && !expired) {
        const key = `${toHex(grant.recipientId)}/${grant.number}`;
        if (!rights.has(key)) rights.set(key, new Set());
        rights.get(key)?.add(toHex(grant.recipientKeyId));
      }
    }
    return rights;
  }

  /** dossiers.py `_not_adoptable`. */
  private async notAdoptable(dossier: Dossier, record: VersionRecord, rights: WriteRights): Promise<string | null> {
    const { me } = this.session();
    const header = decodeHeader(record.header);
    if (record.authorId === this.myId) return equal(header.authorKeyId, me.public.keyId) ? null : "it is signed with keys that are not yours";
    const name = (await this.contactById(record.authorId)).identity.username;
    for (const epoch of new Set([header.epoch, dossier.index.epoch])) {
      const keys = rights.get(`${record.authorId}/${epoch}`) ?? new Set<string>();
      const when = epoch === header.epoch ? `epoch ${epoch}, which the version names` : `the current epoch ${epoch}`;
      if (keys.size === 0) return `${name} holds no write right you granted for ${when}`;
      if (!keys.has(toHex(header.authorKeyId))) return `the write right you granted ${name} for ${when} names other keys than the ones that signed it`;
    }
    return null;
  }

  /** dossiers.py `_adopt_pending`. */
  private async adoptPending(
    dossier: Dossier,
    listing: Map<string, VersionRecord[]>,
  ): Promise<{ dossier: Dossier; adopted: Set<string>; reasons: Map<string, string> }> {
    const deleted = new Set(dossier.index.deletions.map((d) => toHex(d.documentId)));
    const pending = new Map<string, VersionRecord[]>();
    for (const [doc, versions] of listing) {
      const listed = entryOf(dossier.index, doc)?.version ?? 0n;
      if ((versions[versions.length - 1] as VersionRecord).version > listed && !deleted.has(doc)) pending.set(doc, versions.filter((v) => v.version > listed));
    }
    const reasons = new Map<string, string>();
    if (pending.size === 0) return { dossier, adopted: new Set(), reasons };
    const rights = await this.writeRights(dossier);
    const adopted: VersionRecord[] = [];
    for (const [doc, above] of pending) {
      for (let i = above.length - 1; i >= 0; i--) {
        const record = above[i] as VersionRecord;
        const reason = await this.notAdoptable(dossier, record, rights);
        if (reason === null) {
          await this.openVersion(dossier, record); // signature, key, metadata: or raise
          adopted.push(record);
          break;
        }
        if (i === above.length - 1) reasons.set(doc, reason);
      }
    }
    if (adopted.length > 0) dossier = await this.signIndex(dossier, adopted);
    return { dossier, adopted: new Set(adopted.map((r) => r.documentId)), reasons };
  }

  /**
   * dossiers.py `sign_index`: as owner, the next index with `changed` versions put in, signed on
   * top of the newest index the server shows (verified to descend from the last one this browser
   * accepted), keeping every document and deletion it lists and never lowering a version.
   */
  async signIndex(dossier: Dossier, changed: { documentId: string; version: bigint; header: Bytes }[], epoch?: bigint): Promise<Dossier> {
    const { me, memory } = this.session();
    const newest = await this.loadDossier(dossier.dossierId);
    const entries = new Map(newest.index.entries.map((e) => [toHex(e.documentId), e]));
    for (const c of changed) {
      const hash = await headerHash(c.header);
      const listed = entries.get(c.documentId);
      if (listed !== undefined && listed.version === c.version && !equal(listed.headerHash, hash)) {
        throw new IntegrityError(`dossier index: it lists another header for version ${c.version} of document ${c.documentId.slice(0, 8)}`);
      }
      if (listed === undefined || listed.version < c.version) {
        entries.set(c.documentId, { documentId: fromHex(c.documentId), version: c.version, headerHash: hash });
      }
    }
    // A rotation (sharing.ts) names the new epoch, whose key it has just granted to me.
    const signedEpoch = epoch ?? newest.index.epoch;
    const key = newest.keys.get(signedEpoch);
    if (key === undefined) throw new KeyMismatchError("you do not hold the current key of this dossier (access was revoked)");
    const counter = newest.index.counter + 1n;
    const index = await sealIndex(me, {
      dossierId: fromHex(dossier.dossierId),
      counter,
      previousHash: await indexHash(newest.index.encoded),
      epoch: signedEpoch,
      dossierKey: key,
      metadata: newest.metadata ?? dossier.metadata ?? { title: "", created: 0 },
      entries: entries.values(),
      deletions: newest.index.deletions,
    });
    await this.api.call("PUT", `/dossiers/${dossier.dossierId}/index`, { index: b64(index), counter: Number(counter) });
    await memory.saveIndexSeen(dossier.dossierId, counter, toHex(await indexHash(index)), index);
    return this.loadDossier(dossier.dossierId);
  }

  // -- writing (documents.py) -----------------------------------------------------------------
  private requireWriter(dossier: Dossier): void {
    if (dossier.role !== "owner" && dossier.role !== "write") throw new ClientError("you may read this dossier but not add to it");
  }

  /**
   * documents.py `_encrypt_and_upload`: a payload over `partPolicy.threshold` is encrypted and sent
   * in parts as it is produced, resuming after a dropped connection (parts.ts), with one part in
   * memory; a smaller one is encrypted in memory and sent in one request.
   */
  private async encryptAndUpload(file: File, fileKey: Bytes, progress: ProgressFn): Promise<{ uploadId: string; size: bigint; blake3: Bytes; plaintextSize: bigint }> {
    if (payloadSize(file.size) > this.partPolicy.threshold) {
      const ageKey = await ageFileKey(fileKey);
      const { uploadId, digest } = await uploadInParts(this.api, file, ageKey, this.partPolicy, (done, total) =>
        progress({ phase: "upload", done, total, file: file.name }),
      );
      ageKey.fill(0);
      return { uploadId, size: digest.size, blake3: digest.blake3, plaintextSize: digest.plaintextSize };
    }
    const plaintext = new Uint8Array(await file.arrayBuffer());
    progress({ phase: "encrypt", done: 0, total: plaintext.length, file: file.name });
    const { payload, digest } = await encryptPayload(await ageFileKey(fileKey), plaintext);
    plaintext.fill(0);
    progress({ phase: "upload", done: 0, total: payload.length, file: file.name });
    const answer = await this.api.upload(new Blob([payload], { type: "application/octet-stream" }), (done, total) =>
      progress({ phase: "upload", done, total, file: file.name }),
    );
    if (answer["size"] !== Number(digest.size) || answer["blake3"] !== toHex(digest.blake3)) {
      throw new IntegrityError("the server stored other bytes than this device sent");
    }
    if (typeof answer["upload_id"] !== "string") throw new MalformedError("server answer: no upload id");
    return { uploadId: answer["upload_id"], size: digest.size, blake3: digest.blake3, plaintextSize: digest.plaintextSize };
  }

  /** documents.py `_write_version`. */
  private async writeVersion(dossier: Dossier, documentId: string, version: bigint, file: File, title: string, progress: ProgressFn): Promise<DocumentInfo> {
    const { me } = this.session();
    this.requireWriter(dossier);
    const key = dossier.keys.get(dossier.index.epoch);
    if (key === undefined) throw new KeyMismatchError("you do not hold the current key of this dossier (access was revoked)");
    const fileKey = randomBytes(32); // fresh for every version (D11)
    const up = await this.encryptAndUpload(file, fileKey, progress);
    const header = await sealHeader(me, {
      dossierId: fromHex(dossier.dossierId),
      documentId: fromHex(documentId),
      version,
      epoch: dossier.index.epoch,
      dossierKey: key,
      fileKey,
      payloadSize: up.size,
      payloadHash: up.blake3,
      metadata: {
        name: file.name,
        media_type: file.type || "application/octet-stream",
        title,
        size: Number(up.plaintextSize),
        modified: Math.floor(file.lastModified / 1000),
        created: Number(now()),
      },
      createdAt: now(),
    });
    fileKey.fill(0);
    await this.api.call("POST", `/dossiers/${dossier.dossierId}/documents/${documentId}/versions`, {
      version: Number(version),
      header: b64(header),
      upload_id: up.uploadId,
      payload_size: Number(up.size),
      payload_blake3: toHex(up.blake3),
    });
    const record: VersionRecord = { documentId, version, header, authorId: this.myId };
    return this.docInfo(dossier, record, (await this.openVersion(dossier, record)).metadata);
  }

  /** documents.py `_confirm`: remember the versions written and, as owner, sign them into the index once. */
  private async confirm(dossier: Dossier, infos: DocumentInfo[]): Promise<void> {
    const { memory } = this.session();
    await memory.saveVersionsSeen(new Map(infos.filter((i) => i.confirmed).map((i) => [i.documentId, i.version])));
    if (dossier.role === "owner" && infos.length > 0) await this.signIndex(dossier, infos);
  }

  /** Checks a file a person picked, before anything is uploaded (documents.py `readable_file`). */
  private checkFile(file: File): void {
    const n = [...file.name].length;
    if (n < 1 || n > 255 || file.name === "." || file.name === ".." || /[/\\\u0000-\u001f\u007f]/.test(file.name)) {
      throw new ClientError(`${file.name}: not a name a document may have`);
    }
  }

  /** documents.py `add_many`: every file checked first; the index signed once at the end. */
  async addDocuments(dossierId: string, files: File[], progress: ProgressFn): Promise<DocumentSummary[]> {
    for (const f of files) this.checkFile(f);
    const dossier = await this.loadDossier(dossierId);
    this.requireWriter(dossier);
    const infos: DocumentInfo[] = [];
    try {
      for (const [i, file] of files.entries()) {
        infos.push(await this.writeVersion(dossier, newId(), 1n, file, "", (p) => progress({ ...p, index: i, count: files.length })));
      }
    } finally {
      await this.confirm(dossier, infos);
    }
    return infos.map(summary);
  }

  async documentVersions(documentId: string): Promise<{ dossierId: string; versions: VersionRecord[] }> {
    checkId(documentId, "document id");
    const answer = obj(await this.api.call("GET", `/documents/${documentId}`), "document");
    if (answer["document_id"] !== documentId) throw new MalformedError("server answer: not the document that was asked for");
    const dossierId = checkId(answer["dossier_id"], "dossier id");
    const versions = list(answer["versions"] ?? [], "versions").map(versionRecord);
    versions.sort((a, b) => (a.version < b.version ? -1 : a.version > b.version ? 1 : 0));
    if (versions.length === 0 || versions.some((v) => v.documentId !== documentId)) throw new MalformedError("server answer: a document's versions do not match it");
    return { dossierId, versions };
  }

  /** documents.py `update`: a new version, with a fresh file key, of an existing document. */
  async addVersion(documentId: string, file: File, progress: ProgressFn): Promise<DocumentSummary> {
    this.checkFile(file);
    const { dossierId, versions } = await this.documentVersions(documentId);
    let dossier = await this.loadDossier(dossierId);
    this.requireWriter(dossier);
    const last = versions[versions.length - 1] as VersionRecord;
    await this.checkNotRolledBack(dossier, new Map([[documentId, last.version]]));
    if (dossier.role === "owner") dossier = (await this.adoptPending(dossier, new Map([[documentId, versions]]))).dossier;
    const choice = await this.choose(dossier, versions, new Map());
    const mine = versions.filter((v) => v.authorId === this.myId);
    const base = choice.confirmed ? choice.record : (mine[mine.length - 1] ?? null);
    const title = base ? (await this.openVersion(dossier, base)).metadata.title : "";
    const info = await this.writeVersion(dossier, documentId, last.version + 1n, file, title, (p) => progress({ ...p, index: 0, count: 1 }));
    await this.confirm(dossier, [info]);
    return summary(info);
  }

  // -- reading (documents.py `get`) -----------------------------------------------------------
  /**
   * Download, decrypt and verify a document in the worker; the content is handed back only
   * after every check passed (the signed header, the payload's chunks, its size and hash, the
   * plaintext size). Without `version`, the latest version the owner confirms.
   */
  /**
   * Stream a payload into a file the person chose (File System Access): each chunk is written
   * once it authenticated, into the writable, which the browser keeps as a temporary file next
   * to the target; `close()`, which puts it in place, only after the last chunk authenticated and
   * the size and BLAKE3 matched the signed header (step 8). On any failure the writable is
   * aborted (the temporary file is deleted) and the empty file the picker made is removed.
   */
  private async saveTo(target: SaveTarget, path: string, opened: OpenedHeader, progress: ProgressFn): Promise<void> {
    const total = Number(opened.header.payloadSize);
    const writable = await target.createWritable({ keepExistingData: false });
    try {
      const decryptor = await PayloadDecryptor.create(await ageFileKey(opened.fileKey));
      const batch = new WriteBatch(writable);
      let done = 0;
      for await (const piece of this.api.downloadPieces(path, total)) {
        for (const plaintext of await decryptor.push(piece)) await batch.write(plaintext);
        done += piece.length;
        progress({ phase: "download", done, total, file: opened.metadata.name });
      }
      const end = await decryptor.finish();
      for (const plaintext of end.chunks) await batch.write(plaintext);
      await batch.flush();
      checkPayloadDigest(opened, end.digest); // step 8: before the file is put in place
      await writable.close();
    } catch (error) {
      await writable.abort().catch(() => undefined);
      await target.remove?.().catch(() => undefined);
      throw error;
    }
  }

  async open(
    documentId: string,
    version: number | null,
    unconfirmed: boolean,
    progress: ProgressFn,
    target?: SaveTarget,
  ): Promise<{ info: DocumentSummary; content: Blob | null }> {
    const { memory } = this.session();
    const { dossierId, versions } = await this.documentVersions(documentId);
    let dossier = await this.loadDossier(dossierId);
    const latest = new Map([[documentId, (versions[versions.length - 1] as VersionRecord).version]]);
    let reasons = new Map<string, string>();
    if (dossier.role === "owner") {
      await this.checkNotRolledBack(dossier, latest);
      const adoption = await this.adoptPending(dossier, new Map([[documentId, versions]]));
      dossier = adoption.dossier;
      reasons = adoption.reasons;
    }
    const granted = await this.grantedVersions(dossier);
    let newer = 0n;
    let above: VersionRecord | null = null;
    let record: VersionRecord;
    if (version === null) {
      const choice = await this.choose(dossier, versions, granted);
      newer = choice.newer;
      if (choice.confirmed && !unconfirmed) {
        record = choice.record;
        above = choice.unconfirmed;
      } else {
        record = choice.unconfirmed ?? choice.record;
      }
      await this.checkNotRolledBack(dossier, latest, new Map([[documentId, record.version]]));
    } else {
      await this.checkNotRolledBack(dossier, latest);
      const found = versions.find((v) => v.version === BigInt(version));
      if (found === undefined) throw new ClientError(`document ${documentId.slice(0, 8)} has no version ${version}`);
      const mine = granted.get(documentId);
      if (mine !== undefined && mine.size > 0 && !mine.has(found.version)) throw new ClientError(`version ${version} was not shared with you`);
      record = found;
    }
    const opened = await this.openVersion(dossier, record);
    let named: [bigint, string] | undefined;
    if (above !== null) {
      const who = await this.contactById(above.authorId);
      await this.openVersion(dossier, above, who);
      named = [above.version, who.identity.username];
    }
    const info = await this.docInfo(dossier, record, opened.metadata, { newer, ...(named ? { unconfirmed: named } : {}), notAdoptedBecause: reasons.get(documentId) ?? "" });
    if (!info.confirmed && !unconfirmed) {
      throw new UnconfirmedVersionError(`document ${documentId.slice(0, 8)}: version ${record.version} by ${info.author} is not confirmed by the dossier's owner`);
    }
    const size = opened.header.payloadSize;
    if (target !== undefined) {
      await this.saveTo(target, `/documents/${documentId}/versions/${record.version}/payload`, opened, progress);
      opened.fileKey.fill(0);
      if (info.confirmed) await memory.saveVersionsSeen(new Map([[documentId, record.version]]));
      return { info: summary(info), content: null };
    }
    if (opened.metadata.size > MAX_FILE_BYTES) throw new TooLarge(`${opened.metadata.name} is larger than this browser opens`);
    const payload = await this.api.download(`/documents/${documentId}/versions/${record.version}/payload`, Number(size), (done) =>
      progress({ phase: "download", done, total: Number(size), file: opened.metadata.name }),
    );
    progress({ phase: "decrypt", done: 0, total: payload.length, file: opened.metadata.name });
    const { plaintext, digest } = await decryptPayload(await ageFileKey(opened.fileKey), payload);
    try {
      checkPayloadDigest(opened, digest); // step 8: before anything reaches the page
    } catch (error) {
      plaintext.fill(0);
      throw error;
    }
    opened.fileKey.fill(0);
    if (info.confirmed) await memory.saveVersionsSeen(new Map([[documentId, record.version]]));
    return { info: summary(info), content: new Blob([plaintext], { type: "application/octet-stream" }) };
  }

  // -- the access log (sharing.py `access_log`, accesslog.py `verify_log`) ---------------------
  async accessLog(dossierId: string): Promise<{ dossier: DossierSummary; lines: LogLine[] }> {
    const { memory } = this.session();
    const listed = await this.documents(dossierId); // the names, from verified headers
    const entries = list(await this.api.call("GET", `/dossiers/${dossierId}/log`), "log");
    try {
      await verifyChain(entries);
    } catch (error) {
      if (error instanceof IntegrityError) throw new TamperedLogError(error.message);
      throw error;
    }
    const remembered = await memory.logHead(dossierId);
    const hashes = entries.map((e) => String((e as Record<string, unknown>)["hash"]));
    if (remembered !== null) {
      if (remembered.seq > entries.length) {
        throw new TamperedLogError(`access log: the server dropped history (this device saw entry ${remembered.seq}, the server now shows ${entries.length})`);
      }
      if (hashes[remembered.seq - 1] !== remembered.hash) throw new TamperedLogError(`access log: entry ${remembered.seq}, seen before, was rewritten`);
    }
    const names = new Map(listed.documents.map((d) => [d.documentId, d.name]));
    const lines: LogLine[] = [];
    for (const raw of entries) {
      const e = raw as Record<string, unknown>;
      const actorId = checkId(e["actor_id"], "actor id");
      const subjectId = e["subject_id"] == null ? null : checkId(e["subject_id"], "subject id");
      const documentId = e["document_id"] == null ? null : checkId(e["document_id"], "document id");
      lines.push({
        seq: int(e["seq"], "seq"),
        at: int(e["at"], "at"),
        actor: (await this.contactById(actorId)).identity.username,
        actorIsMe: actorId === this.myId,
        action: String(e["action"]),
        documentId,
        documentName: documentId === null ? null : (names.get(documentId) ?? null),
        version: e["version"] == null ? null : int(e["version"], "version"),
        subject: subjectId === null ? null : (await this.contactById(subjectId)).identity.username,
      });
    }
    const last = entries.length;
    if (last > 0) await memory.saveLogHead(dossierId, last, hashes[last - 1] as string);
    return { dossier: listed.dossier, lines };
  }
}

