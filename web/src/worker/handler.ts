/**
 * The vault worker's request handler: the same function runs inside the Web Worker
 * (worker.ts) and in the Node tests, which call it directly.
 */

import { bundleKdfParams, openBundle, PURPOSE_PASSPHRASE } from "../vault/bundle.js";
import { copy, toHex, type Bytes } from "../vault/bytes.js";
import { blake3, randomBytes, ready, sha256, sodiumVersion, warmArgon2id } from "../vault/crypto.js";
import {
  DowngradeError,
  ERRORS,
  KeyMismatchError,
  MalformedError,
  RollbackError,
  SecurityError,
  SignatureError,
  VaultError,
  WeakPassphrase,
  WrongPassphrase,
  type ErrorName,
} from "../vault/errors.js";
import { checkKdfParams, decodeKdfParams, DEFAULT_MEMORY_KIB, kdfParamsEqual, passphraseKeys, type KdfParams } from "../vault/kdf.js";
import { decodeIdentity, type PrivateIdentity } from "../vault/keys.js";
import type { CommonPasswords } from "../vault/passphrase.js";
import { ageFileKey, decryptPayload, encryptPayload, type PayloadDigest } from "../vault/payload.js";
import type { Transport } from "./api.js";
import { ApiError, CLIENT_ERRORS, TamperedLogError, UnverifiedKeyError, WithheldDocumentError, WithheldKeyError, type ClientErrorName } from "./errors.js";
import { Groups } from "./groups.js";
import { Kluis, type ProgressFn } from "./kluis.js";
import { Organisations } from "./organisations.js";
import { dossierZip } from "./archive.js";
import { exportDossier } from "./export.js";
import { NOTIFY_TOPICS, notifyOff, notifyOn, notifyStatus } from "./notify.js";
import type { CallType, Calls, DigestInfo, Request, Response, SaveTarget, SecurityCheck, WireError } from "./protocol.js";
import { CALL_TYPES } from "./protocol.js";
import { serverOrigin } from "./origin.js";
import { Sharing } from "./sharing.js";
import { defaultStore, type TrustStore } from "./store.js";

/** A failure the handler reports by name (not a vault error). */
export class ProtocolError extends Error {
  constructor(
    readonly wireName: "ProtocolError" | "NotLoggedIn",
    message: string,
  ) {
    super(message);
    this.name = wireName;
  }
}

interface Session {
  /** Between login steps 1 and 2. */
  pending: { bundleKey: Bytes; params: KdfParams } | null;
  me: PrivateIdentity | null;
  fileKeys: Map<string, Bytes>;
}

export interface Handled {
  response: Response;
  /** Buffers to transfer with the response (the page receives them; the worker loses them). */
  transfer: ArrayBuffer[];
}

function bytesField(value: unknown, field: string, size?: number): Bytes {
  if (!(value instanceof Uint8Array)) throw new ProtocolError("ProtocolError", `${field} must be a Uint8Array`);
  if (size !== undefined && value.length !== size) throw new ProtocolError("ProtocolError", `${field} must be ${size} bytes`);
  return copy(value);
}

function stringField(value: unknown, field: string): string {
  if (typeof value !== "string") throw new ProtocolError("ProtocolError", `${field} must be a string`);
  return value;
}

/** A file handle the page passes (File System Access), or none. */
function saveTarget(target: SaveTarget | undefined): SaveTarget | undefined {
  if (target !== undefined && (typeof target !== "object" || target === null || typeof target.createWritable !== "function")) {
    throw new ProtocolError("ProtocolError", "target must be a file handle");
  }
  return target;
}

/** An id the page names (it goes into a server path): 32 lower-case hex digits. */
function idField(value: unknown, field: string): string {
  const text = stringField(value, field);
  if (!/^[0-9a-f]{32}$/.test(text)) throw new ProtocolError("ProtocolError", `${field} must be an id`);
  return text;
}

function digestInfo(d: PayloadDigest): DigestInfo {
  return { size: d.size, blake3: d.blake3, plaintextSize: d.plaintextSize };
}

/** The check a security failure belongs to, by its class and by what the call was doing. */
function checkOf(error: SecurityError, context: SecurityCheck): SecurityCheck {
  if (error instanceof RollbackError) return "rollback";
  if (error instanceof WithheldDocumentError) return "withheld";
  if (error instanceof TamperedLogError) return "log";
  if (error instanceof DowngradeError) return "kdf";
  // An organisation's keys or a receipt (worker/organisations.ts): the page names that, whatever class.
  if (context === "organisation" || context === "receipt") return context;
  // An account's keys are not the ones this device may trust (K1, K2): whatever the call was
  // doing, the page says that, not that the list or a document was wrong.
  if (error instanceof UnverifiedKeyError || error instanceof WithheldKeyError) return "keys";
  if (error instanceof KeyMismatchError) return context === "header" || context === "index" ? context : "keys";
  if (error instanceof SignatureError) return context === "answer" ? "keys" : context;
  if (error instanceof MalformedError && context !== "content" && context !== "header") return "answer";
  return context;
}

/** What a call does, for the security page when a check in it fails without a class of its own. */
const CONTEXT: Partial<Record<CallType, SecurityCheck>> = {
  login: "keys",
  register: "keys",
  changePassphrase: "keys",
  recover: "keys",
  dossiers: "index",
  createDossier: "index",
  documents: "header",
  versions: "header",
  addDocuments: "header",
  addVersion: "header",
  openDocument: "header",
  accessLog: "log",
  contact: "keys",
  verifyContact: "keys",
  organisationByName: "keys",
  verifyOrganisation: "keys",
  share: "index",
  access: "index",
  revoke: "index",
  sharedWithMe: "keys",
  groups: "messages",
  group: "messages",
  createGroup: "messages",
  startConversation: "messages",
  addGroupMember: "messages",
  removeGroupMember: "messages",
  sendGroupMessage: "messages",
  groupWait: "messages",
  organisations: "organisation",
  organisation: "organisation",
  createOrganisation: "organisation",
  addMember: "organisation",
  removeMember: "organisation",
  inbox: "organisation",
  dossierZip: "header",
  exportDossier: "header",
  receipts: "receipt",
};

/**
 * The calls about one person: there a contact's keys that are not the ones this browser may
 * trust get the page that explains a changed controlecode and what to do about it.
 */
const CONTACT_CALLS: ReadonlySet<CallType> = new Set(["contact", "verifyContact", "organisationByName", "verifyOrganisation", "share"]);

function toWireError(error: unknown, type?: CallType): WireError {
  if (error instanceof SecurityError && Object.hasOwn(ERRORS, error.name) || error instanceof SecurityError && Object.hasOwn(CLIENT_ERRORS, error.name)) {
    // A payload that does not decrypt, or differs from its signed digest, is the content's check.
    const context = error instanceof VaultError && /^payload|payload (size|hash)|plaintext size/.test(error.message) ? "content" : (CONTEXT[type as CallType] ?? "answer");
    const check = error instanceof UnverifiedKeyError && CONTACT_CALLS.has(type as CallType) ? "contact" : checkOf(error, context);
    return { name: error.name as ErrorName | ClientErrorName, message: error.message, check };
  }
  if (error instanceof ApiError) return { name: "ApiError", message: error.message, status: error.status, code: error.code };
  if (error instanceof VaultError && Object.hasOwn(CLIENT_ERRORS, error.name)) return { name: error.name as ClientErrorName, message: error.message };
  if (error instanceof WeakPassphrase) return error.reason === null ? { name: "WeakPassphrase", message: error.message } : { name: "WeakPassphrase", message: error.message, reason: error.reason };
  if (error instanceof VaultError && Object.hasOwn(ERRORS, error.name)) return { name: error.name as ErrorName, message: error.message };
  if (error instanceof ProtocolError) return { name: error.wireName, message: error.message };
  // Anything else is a bug or a library failure: name it generically, never echo secrets.
  return { name: "Error", message: error instanceof Error ? error.message : "unexpected failure" };
}

export interface HandlerOptions {
  /** Where the trust memory lives (IndexedDB in the browser). */
  store?: TrustStore;
  /** The server's origin (the page's own in the browser). */
  base?: string;
  transport?: Transport;
  /** The passphrase rule's list (the browser fetches its own copy; the Node tests read the file). */
  commonPasswords?: () => Promise<CommonPasswords>;
  /** After `init`, grow the heap for the login's Argon2id (the Web Worker does; tests need not). */
  warmKdf?: boolean;
}

export type Handle = (request: Request, progress?: ProgressFn) => Promise<Handled>;

/** A handler with its own session state (one per worker). */
export function createHandler(options: HandlerOptions = {}): Handle {
  const session: Session = { pending: null, me: null, fileKeys: new Map() };
  const base = options.base ?? (typeof location === "undefined" ? "" : location.origin);
  let kluis = new Kluis(options.store ?? defaultStore(), base, options.transport, options.commonPasswords);
  let village: Groups | null = null;
  const villageOf = (): Groups => (village ??= new Groups(kluis));
  let organisations = new Organisations(kluis);
  kluis.organisations = organisations;
  let server = base;
  let used = false; // a call other than init ran: the server can no longer change
  let report: ProgressFn = () => undefined;

  const requireMe = (): PrivateIdentity => {
    if (session.me === null) throw new ProtocolError("NotLoggedIn", "log in first");
    return session.me;
  };

  const calls: { [K in CallType]: (r: Extract<Request, { type: K }>) => Promise<{ result: Calls[K]["result"]; transfer?: ArrayBuffer[] }> } = {
    async init(r) {
      await ready();
      if (r.server != null) {
        const origin = serverOrigin(r.server);
        if (origin === null) throw new ProtocolError("ProtocolError", "init: server is not an http(s) origin");
        if (origin !== server) {
          if (used) throw new ProtocolError("ProtocolError", "init: the server is chosen before any other call");
          // What this device remembers (pins, the KDF floor, ...) is kept per server.
          kluis = new Kluis(options.store ?? defaultStore(origin), origin, options.transport, options.commonPasswords);
          village = null;
          organisations = new Organisations(kluis);
          kluis.organisations = organisations;
          server = origin;
        }
      }
      // Known answers: BLAKE3 of nothing, and SHA-256 (Web Crypto) of nothing.
      const checks = [
        [toHex(await blake3(new Uint8Array(0))), "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"],
        [toHex(await sha256(new Uint8Array(0))), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"],
      ];
      if (checks.some(([got, want]) => got !== want)) throw new Error("a hash function gave a wrong answer");
      // After this answer, while the login form is filled in: the first Argon2id needs the heap.
      if (options.warmKdf === true) setTimeout(() => warmArgon2id(DEFAULT_MEMORY_KIB), 0);
      return { result: { sodiumVersion: sodiumVersion() } };
    },

    async deriveLoginKey(r) {
      const params = decodeKdfParams(bytesField(r.kdfParams, "kdfParams"));
      const previous = r.previousKdfParams == null ? null : decodeKdfParams(bytesField(r.previousKdfParams, "previousKdfParams"));
      checkKdfParams(params, previous);
      const passphrase = stringField(r.passphrase, "passphrase");
      if (passphrase.length === 0) throw new ProtocolError("ProtocolError", "the passphrase must not be empty");
      const keys = await passphraseKeys(passphrase, params, previous);
      session.pending = { bundleKey: keys.bundleKey, params };
      session.me = null;
      return { result: { authKey: keys.authKey } };
    },

    async unlockBundle(r) {
      const pending = session.pending;
      if (pending === null) throw new ProtocolError("ProtocolError", "derive the login key first");
      const bundle = bytesField(r.bundle, "bundle");
      // The bundle names the parameters it was sealed with; they are the ones derived with, or
      // the bundle key cannot open it (and the policy applies to them as to any).
      const inside = bundleKdfParams(bundle);
      checkKdfParams(inside);
      if (!kdfParamsEqual(inside, pending.params)) throw new WrongPassphrase("the passphrase does not open the key bundle");
      const me = await openBundle(bundle, pending.bundleKey, {
        purpose: PURPOSE_PASSPHRASE,
        userId: bytesField(r.userId, "userId", 16),
        keyVersion: r.keyVersion,
        username: stringField(r.username, "username"),
        pinned: await decodeIdentity(bytesField(r.pinnedIdentity, "pinnedIdentity")),
      });
      session.pending = null;
      session.me = me;
      const id = me.public;
      return {
        result: {
          identity: { userId: toHex(id.userId), username: id.username, keyVersion: id.keyVersion, keyId: toHex(id.keyId), fingerprint: id.fingerprint },
        },
      };
    },

    async sealPayload(r) {
      requireMe();
      const fileKey = randomBytes(32);
      const { payload, digest } = await encryptPayload(await ageFileKey(fileKey), bytesField(r.plaintext, "plaintext"));
      const fileKeyRef = toHex(randomBytes(16));
      session.fileKeys.set(fileKeyRef, fileKey);
      return { result: { payload, fileKeyRef, digest: digestInfo(digest) }, transfer: [payload.buffer] };
    },

    async openPayload(r) {
      requireMe();
      const fileKey = session.fileKeys.get(stringField(r.fileKeyRef, "fileKeyRef"));
      if (fileKey === undefined) throw new ProtocolError("ProtocolError", "no file key with that reference");
      const { plaintext, digest } = await decryptPayload(await ageFileKey(fileKey), bytesField(r.payload, "payload"));
      return { result: { plaintext, digest: digestInfo(digest) }, transfer: [plaintext.buffer] };
    },

    async register(r) {
      return { result: await kluis.register(stringField(r.username, "username"), stringField(r.passphrase, "passphrase"), report) };
    },

    async login(r) {
      return { result: { identity: await kluis.login(stringField(r.username, "username"), stringField(r.passphrase, "passphrase"), report) } };
    },

    async changePassphrase(r) {
      return { result: { identity: await kluis.changePassphrase(stringField(r.current, "current"), stringField(r.next, "next"), report) } };
    },

    async recover(r) {
      return { result: { identity: await kluis.recover(stringField(r.username, "username"), stringField(r.recoveryCode, "recoveryCode"), stringField(r.next, "next"), report) } };
    },

    async dossiers() {
      return { result: { dossiers: await kluis.dossiers() } };
    },

    async createDossier(r) {
      return { result: { dossierId: await kluis.createDossier(stringField(r.title, "title")) } };
    },

    async documents(r) {
      return { result: await kluis.documents(stringField(r.dossierId, "dossierId")) };
    },

    async versions(r) {
      return { result: { versions: await kluis.versions(stringField(r.documentId, "documentId")) } };
    },

    async addDocuments(r) {
      if (!Array.isArray(r.files) || r.files.some((f) => !(f instanceof Blob) || typeof (f as File).name !== "string")) throw new ProtocolError("ProtocolError", "files must be File objects");
      return { result: { documents: await kluis.addDocuments(stringField(r.dossierId, "dossierId"), r.files, report) } };
    },

    async addVersion(r) {
      if (!(r.file instanceof Blob) || typeof r.file.name !== "string") throw new ProtocolError("ProtocolError", "file must be a File");
      return { result: { document: await kluis.addVersion(stringField(r.documentId, "documentId"), r.file, report) } };
    },

    async dossierZip(r) {
      return { result: await dossierZip(kluis, idField(r.dossierId, "dossierId"), report, saveTarget(r.target)) };
    },

    async exportDossier(r) {
      return { result: await exportDossier(kluis, idField(r.dossierId, "dossierId"), stringField(r.passphrase, "passphrase"), report, saveTarget(r.target)) };
    },

    async openDocument(r) {
      const version = r.version === null ? null : Number(r.version);
      if (version !== null && (!Number.isSafeInteger(version) || version < 1)) throw new ProtocolError("ProtocolError", "version must be a whole number from 1");
      const target = saveTarget(r.target);
      const opened = await kluis.open(stringField(r.documentId, "documentId"), version, false, report, target);
      return { result: { document: opened.info, content: opened.content } };
    },

    async accessLog(r) {
      return { result: await kluis.accessLog(stringField(r.dossierId, "dossierId")) };
    },

    async organisations() {
      return { result: { organisations: await organisations.mine() } };
    },

    async organisation(r) {
      return { result: { organisation: await organisations.view(idField(r.orgId, "orgId")) } };
    },

    async createOrganisation(r) {
      return { result: { organisation: await organisations.create(stringField(r.name, "name"), stringField(r.kind, "kind")) } };
    },

    async addMember(r) {
      return { result: { organisation: await organisations.addMember(idField(r.orgId, "orgId"), stringField(r.username, "username"), r.admin === true) } };
    },

    async removeMember(r) {
      return { result: await organisations.removeMember(idField(r.orgId, "orgId"), idField(r.userId, "userId")) };
    },

    async inbox(r) {
      return { result: await organisations.inbox(idField(r.orgId, "orgId")) };
    },

    async receipts(r) {
      return { result: { receipts: await organisations.receipts(idField(r.dossierId, "dossierId")) } };
    },

    // Logged in or not, the server decides (401): these calls carry no key of the worker's.
    async notifyStatus() {
      return { result: { choice: await notifyStatus(kluis.api) } };
    },

    async notifyOn(r) {
      const topics = Array.isArray(r.topics) ? r.topics : [];
      if (!Array.isArray(r.topics) || topics.some((t) => !NOTIFY_TOPICS.includes(t))) throw new ProtocolError("ProtocolError", "topics must be a list of known topics");
      return { result: { choice: await notifyOn(kluis.api, stringField(r.email, "email"), topics) } };
    },

    async notifyOff() {
      await notifyOff(kluis.api);
      return { result: {} };
    },

    async contact(r) {
      return { result: { contact: await new Sharing(kluis).contact(stringField(r.username, "username")) } };
    },

    async verifyContact(r) {
      return { result: { contact: await new Sharing(kluis).verifyContact(stringField(r.username, "username"), stringField(r.fingerprint, "fingerprint")) } };
    },

    async share(r) {
      const documentId = r.documentId === null ? null : stringField(r.documentId, "documentId");
      if (typeof r.write !== "boolean" || typeof r.allowUnverified !== "boolean" || typeof r.expiresAt !== "number") {
        throw new ProtocolError("ProtocolError", "write and allowUnverified must be booleans, expiresAt a number");
      }
      const target = { dossierId: stringField(r.dossierId, "dossierId"), documentId };
      return { result: await new Sharing(kluis).share(target, stringField(r.username, "username"), r.write, r.expiresAt, r.allowUnverified) };
    },

    async organisationByName(r) {
      return { result: { organisation: await new Sharing(kluis).organisation(stringField(r.name, "name")) } };
    },

    async verifyOrganisation(r) {
      return { result: { organisation: await new Sharing(kluis).verifyOrganisation(stringField(r.name, "name"), stringField(r.fingerprint, "fingerprint")) } };
    },

    async access(r) {
      return { result: await new Sharing(kluis).access(stringField(r.dossierId, "dossierId")) };
    },

    async revoke(r) {
      const documentId = r.documentId === null ? null : stringField(r.documentId, "documentId");
      return { result: await new Sharing(kluis).revoke(stringField(r.dossierId, "dossierId"), stringField(r.recipientId, "recipientId"), documentId) };
    },

    async sharedWithMe() {
      return { result: { shares: await new Sharing(kluis).sharedWithMe() } };
    },

    async logout() {
      village?.wipe();
      await kluis.logout();
      for (const key of session.fileKeys.values()) key.fill(0);
      session.fileKeys.clear();
      if (session.pending) session.pending.bundleKey.fill(0);
      if (session.me) for (const k of [session.me.boxSecret, session.me.signingSeed, session.me.ageSecret, session.me.signingSecretKey]) k.fill(0);
      session.pending = null;
      session.me = null;
      return { result: {} };
    },

    // -- village groups and conversations (groups.ts) --
    async groups() {
      return { result: { groups: await villageOf().list() } };
    },

    async group(r) {
      return { result: { group: await villageOf().view(stringField(r.groupId, "groupId")) } };
    },

    async createGroup(r) {
      return { result: { groupId: await villageOf().create(stringField(r.name, "name")) } };
    },

    async startConversation(r) {
      return { result: { groupId: await villageOf().startConversation(stringField(r.username, "username")) } };
    },

    async addGroupMember(r) {
      if (r.role !== "admin" && r.role !== "editor" && r.role !== "member") throw new ProtocolError("ProtocolError", "role must be admin, editor or member");
      await villageOf().addMember(stringField(r.groupId, "groupId"), stringField(r.username, "username"), r.role);
      return { result: {} };
    },

    async removeGroupMember(r) {
      await villageOf().removeMember(stringField(r.groupId, "groupId"), stringField(r.userId, "userId"));
      return { result: {} };
    },

    async sendGroupMessage(r) {
      await villageOf().send(r.message);
      return { result: {} };
    },

    async groupWait(r) {
      if (!Number.isSafeInteger(r.after) || r.after < 0) throw new ProtocolError("ProtocolError", "after must be a whole number from 0");
      return { result: await villageOf().wait(stringField(r.groupId, "groupId"), r.after) };
    },
  };

  return async (request: Request, progress?: ProgressFn): Promise<Handled> => {
    const type = (request as { type?: unknown } | null)?.type;
    if (typeof type !== "string" || !(CALL_TYPES as readonly string[]).includes(type)) {
      return { response: { type: "unknown", ok: false, error: { name: "ProtocolError", message: "unknown request type" } }, transfer: [] };
    }
    const known = type as CallType;
    if (known !== "init") used = true;
    // groupWait runs beside the queued calls (worker.ts) and reports nothing: it leaves their reporter alone.
    const reports = known !== "groupWait";
    if (reports) report = progress ?? (() => undefined);
    try {
      await ready();
      const call = calls[known] as (r: Request) => Promise<{ result: unknown; transfer?: ArrayBuffer[] }>;
      const { result, transfer } = await call(request);
      return { response: { type: known, ok: true, result } as Response, transfer: transfer ?? [] };
    } catch (error) {
      return { response: { type: known, ok: false, error: toWireError(error, known) }, transfer: [] };
    } finally {
      if (reports) report = () => undefined;
    }
  };
}
