/**
 * The typed request/response protocol between the page and the vault worker.
 *
 * The worker owns every secret key: the passphrase's bundle key, the private identity and the
 * file keys it makes. The page sends requests and gets back only what may leave the worker:
 * the login key for the server (`authKey`), public identity data, ciphertext, and the plaintext
 * of what the user opens. File keys stay inside and are named by an opaque reference.
 *
 * Every message is structured-clone data (Uint8Array, bigint, strings, numbers), so it crosses
 * `postMessage` unchanged; large byte arrays are transferred, not copied.
 */

import type { ErrorName } from "../vault/errors.js";
import type { PassphraseReason } from "../vault/passphrase.js";
import type { ClientErrorName } from "./errors.js";

export interface PublicIdentityInfo {
  userId: string;
  username: string;
  keyVersion: number;
  /** key_id in hex (docs/format.md section 3). */
  keyId: string;
  /** The 12 groups of 5 digits people compare (the "controlecode"). */
  fingerprint: string;
}

export interface DigestInfo {
  size: bigint;
  blake3: Uint8Array;
  plaintextSize: bigint;
}

/**
 * The largest file this browser opens in memory (the payload and the plaintext are both held
 * until every check passed). Uploads have no cap of their own: a large one goes in parts.
 */
export const MAX_FILE_BYTES = 100 * 1000 * 1000;

/** The part of File System Access's FileSystemWritableFileStream the worker uses. */
export interface SaveWritable {
  write(data: Uint8Array<ArrayBuffer>): Promise<void>;
  close(): Promise<void>;
  abort(): Promise<void>;
}

/** The part of a FileSystemFileHandle (from `showSaveFilePicker`) the worker uses. */
export interface SaveTarget {
  readonly kind: "file";
  readonly name: string;
  createWritable(options?: { keepExistingData?: boolean }): Promise<SaveWritable>;
  remove?(): Promise<void>;
}

export type Role = "owner" | "write" | "read" | "document";

/** A dossier as the worker verified it (its owner, its signed index, the keys granted). */
export interface DossierSummary {
  dossierId: string;
  /** null for a dossier whose key this account does not hold (documents shared on their own). */
  title: string | null;
  role: Role;
  owner: string;
  ownerId: string;
  ownerVerified: boolean;
  /** Unix seconds. */
  created: number;
  documentCount: number;
}

/** One document at the version opened by default; every field comes from a verified header. */
export interface DocumentSummary {
  dossierId: string;
  documentId: string;
  version: number;
  name: string;
  mediaType: string;
  title: string;
  /** Plaintext bytes. */
  size: number;
  modified: number;
  created: number;
  /** The author's username, from a verified signature. */
  author: string;
  authorId: string;
  /** The author's controlecode was compared out of band (or it is this account). */
  authorVerified: boolean;
  /** The dossier owner confirms this version (her signed index lists it, or she wrote it). */
  confirmed: boolean;
  newerVersion: number;
  unconfirmedVersion: number;
  unconfirmedAuthor: string;
  notAdoptedBecause: string;
}

export interface VersionSummary {
  version: number;
  name: string;
  size: number;
  created: number;
  author: string;
  authorVerified: boolean;
  confirmed: boolean;
}

/** One access-log entry, its chain verified, with names instead of ids. */
export interface LogLine {
  seq: number;
  at: number;
  actor: string;
  actorIsMe: boolean;
  /** upload, download, share, revoke (docs/api.md). */
  action: string;
  documentId: string | null;
  /** From the verified header of the document's current version, when this account can read it. */
  documentName: string | null;
  version: number | null;
  subject: string | null;
}

// -- organisations, the case inbox and receipts (worker/organisations.ts) -----------------------

/** An organisation whose key chain and signed roster this device verified. */
export interface OrganisationSummary {
  orgId: string;
  name: string;
  /** 1 municipality, 2 institution, 3 contractor, 4 engineering (vault/kinds.py). */
  kind: number;
  epoch: number;
  /** The organisation's controlecode (F_org, 12 groups of 5 digits). */
  fingerprint: string;
  /** Verified by this device or by the operator (docs/client.md 13.1). */
  verified: boolean;
  operatorVerified: boolean;
  /** My role in the signed roster of the current epoch. */
  myRole: "admin" | "member" | null;
}

export interface OrganisationMember {
  userId: string;
  username: string;
  role: "admin" | "member";
  verified: boolean;
}

export interface OrganisationView extends OrganisationSummary {
  members: OrganisationMember[];
}

/** One dossier in an organisation's inbox; `failure` says why it did not verify (never opened then). */
export interface InboxCase {
  dossierId: string;
  title: string | null;
  owner: string;
  ownerVerified: boolean;
  kind: "dossier" | "document";
  rights: "read" | "write";
  /** Unix seconds, from the owner's signed grant. */
  sharedAt: number;
  expires: number;
  /** Shared after this account last looked at the inbox. */
  isNew: boolean;
  failure: string | null;
}

/** A receipt the owner's device verified (docs/client.md 14.2). */
export interface ReceiptSummary {
  receiptId: string;
  organisation: string;
  orgVerified: boolean;
  member: string;
  openedAt: number;
  documents: number;
}

// -- sharing (sharing.ts) ----------------------------------------------------------------------

/**
 * A contact as this browser trusts it (docs/client.md section 3): `new` seen for the first time
 * now, `unverified` pinned on first use, `verified` its controlecode compared, `changed` the
 * server now shows other keys (or another account) than the ones pinned, `me` my own account.
 */
export interface ContactInfo {
  userId: string;
  username: string;
  /** The controlecode of the keys the server shows now. */
  fingerprint: string;
  state: "new" | "unverified" | "verified" | "changed" | "me";
  /** For `changed`: the controlecode pinned on this device. */
  pinnedFingerprint: string | null;
}

/** An organisation as section 13.1 verified it; `verifiedBy` null: nobody compared its fingerprint. */
export interface OrganisationInfo {
  orgId: string;
  name: string;
  fingerprint: string;
  verifiedBy: "you" | "operator" | null;
  firstSeen: boolean;
}

export interface ShareOutcome {
  recipient: string;
  verified: boolean;
  firstSeen: boolean;
  grants: number;
  /** A document shared on its own: versions left out because the owner does not confirm them. */
  unconfirmed: number[];
}

/** One recipient of my own signed grants in a dossier (who has access, and until when). */
export interface AccessRow {
  recipientId: string;
  name: string;
  /** false: an organisation (named by its id's first characters). */
  person: boolean;
  verified: boolean;
  /** Their share of the whole dossier; `currentKey` false: they hold old keys only. */
  dossier: { rights: "read" | "write"; expiresAt: number; expired: boolean; currentKey: boolean } | null;
  documents: { documentId: string; name: string; versions: number[]; expiresAt: number; expired: boolean }[];
  /** Unix seconds: the first grant. */
  since: number;
}

/** One share to me, every grant of it opened (section 12). */
export interface SharedRow {
  dossierId: string;
  /** null: the whole dossier. */
  documentId: string | null;
  granter: string;
  granterVerified: boolean;
  rights: "read" | "write";
  /** Unix seconds; 0 = no end date. */
  expiresAt: number;
  since: number;
  /** The dossier's key epochs, or the document's versions. */
  numbers: number[];
  /** The dossier's title from its signed index (a whole-dossier share). */
  title: string | null;
}

/** What a long call reports while it runs. */
export interface TransferProgress {
  phase: "prelogin" | "kdf" | "login" | "encrypt" | "upload" | "download" | "decrypt";
  done: number;
  total: number;
  file?: string;
  /** Which of `count` files (adding several at once). */
  index?: number;
  count?: number;
}

// -- village groups and conversations (format section 19; worker/groups.ts) -----------------------

export type GroupRole = "admin" | "editor" | "member";

/** A group or conversation this account is in, verified, with its unread count. */
export interface GroupSummary {
  groupId: string;
  name: string;
  kind: "group" | "conversation";
  /** The other member of a conversation. */
  withUser: string | null;
  /** Messages of others this browser has not shown yet. */
  unread: number;
}

export interface GroupMemberInfo {
  userId: string;
  username: string;
  role: GroupRole;
  /** The controlecode was compared out of band (or it is this account). */
  verified: boolean;
  me: boolean;
}

/** What every verified message shown carries: its hash, its signer (a verified identity), when. */
interface MessageBase {
  hash: string;
  sender: string;
  senderId: string;
  mine: boolean;
  /** The sender's clock, Unix seconds. */
  sentAt: number;
}

export interface ChatLine extends MessageBase {
  /** 2 announcement, 3 chat, 4 personal. */
  kind: number;
  text: string;
}

export interface PostInfo extends MessageBase {
  /** The hash of the post's first revision. */
  first: string;
  title: string;
  /** Markdown, rendered by the page without HTML and without remote images. */
  markdown: string;
  public: boolean;
  edited: boolean;
  deleted: boolean;
}

export interface EventInfo extends MessageBase {
  title: string;
  startsAt: number;
  endsAt: number;
  location: string;
  description: string;
  /** The event as an RFC 5545 calendar (format 19.5, vault/ics.ts). */
  ics: string;
  replies: { yes: string[]; no: string[]; maybe: string[] };
  /** 1 yes, 2 no, 3 maybe. */
  myAnswer: number | null;
}

export interface GroupView {
  groupId: string;
  name: string;
  kind: "group" | "conversation";
  fingerprint: string;
  epoch: number;
  myRole: GroupRole | null;
  members: GroupMemberInfo[];
  chat: ChatLine[];
  /** Newest first. */
  posts: PostInfo[];
  /** By start time. */
  events: EventInfo[];
  /** Messages that verified but that this account has no key for (written before it joined). */
  unreadable: number;
  /** How many messages verified: the position the live stream counts from. */
  position: number;
}

export type SendGroupMessage = { groupId: string } & (
  | { what: "chat"; text: string }
  | { what: "post"; title: string; markdown: string; public: boolean }
  | { what: "event"; title: string; startsAt: number; endsAt: number; location: string; description: string }
  | { what: "reply"; eventHash: string; answer: 1 | 2 | 3 }
);

/** What a user may be mailed about (docs/api.md "Notifications"). */
export type NotifyTopic = "shares" | "receipts" | "messages" | "group_posts";

/** The server's notification settings for me: offered at all, my address (null: off), my topics. */
export interface NotifyChoice {
  offered: boolean;
  email: string | null;
  topics: NotifyTopic[];
}

/** Each call: what the page sends and what the worker answers. */
export interface Calls {
  /**
   * Load libsodium and BLAKE3 (both WebAssembly) and check each against a known answer; answers
   * which libsodium runs. `server`: the origin of the Kluis server to talk to when it is not the
   * page's own (the page served by `kluis web`, worker/origin.ts); only before any other call.
   */
  init: {
    request: { server?: string | null };
    result: { sodiumVersion: string };
  };
  /**
   * Login step 1: Argon2id over the passphrase with the KDF parameters the server's prelogin
   * returned (26-byte KdfParams), after the policy check against the strongest this device used
   * before. Answers the login key; the bundle key stays in the worker for step 2.
   */
  deriveLoginKey: {
    request: { passphrase: string; kdfParams: Uint8Array; previousKdfParams: Uint8Array | null };
    result: { authKey: Uint8Array };
  };
  /** Login step 2: open the key bundle the server returned; the keys stay in the worker. */
  unlockBundle: {
    request: { bundle: Uint8Array; userId: Uint8Array; keyVersion: number; username: string; pinnedIdentity: Uint8Array };
    result: { identity: PublicIdentityInfo };
  };
  /** Encrypt a document's content under a fresh file key (kept in the worker, named by `fileKeyRef`). */
  sealPayload: {
    request: { plaintext: Uint8Array };
    result: { payload: Uint8Array; fileKeyRef: string; digest: DigestInfo };
  };
  /** Decrypt a payload with a file key the worker holds. */
  openPayload: {
    request: { payload: Uint8Array; fileKeyRef: string };
    result: { plaintext: Uint8Array; digest: DigestInfo };
  };
  /** Create an account (keys, bundles and the recovery code made in the worker) and log in. */
  register: {
    request: { username: string; passphrase: string };
    result: { identity: PublicIdentityInfo; recoveryWords: string };
  };
  /** Log in with the checks of client_sdk/accounts.py (KDF floor, bundle, published keys, pin). */
  login: {
    request: { username: string; passphrase: string };
    result: { identity: PublicIdentityInfo };
  };
  /** A new passphrase (format section 18), after a fresh login with the current one. */
  changePassphrase: {
    request: { current: string; next: string };
    result: { identity: PublicIdentityInfo };
  };
  /** A new passphrase set with the recovery code (section 5), then logged in. */
  recover: {
    request: { username: string; recoveryCode: string; next: string };
    result: { identity: PublicIdentityInfo };
  };
  /** Every dossier this account can see, each verified. */
  dossiers: {
    request: Record<never, never>;
    result: { dossiers: DossierSummary[] };
  };
  createDossier: {
    request: { title: string };
    result: { dossierId: string };
  };
  /** A dossier's documents, verified against its signed index (rollback, withholding). */
  documents: {
    request: { dossierId: string };
    result: { dossier: DossierSummary; documents: DocumentSummary[]; acknowledgedBy: string[] };
  };
  /** Every version of one document, each header verified, newest first. */
  versions: {
    request: { documentId: string };
    result: { versions: VersionSummary[] };
  };
  /** Encrypt and upload files as new documents; the owner's index is signed once at the end. */
  addDocuments: {
    request: { dossierId: string; files: File[] };
    result: { documents: DocumentSummary[] };
  };
  /** A new version of a document. */
  addVersion: {
    request: { documentId: string; file: File };
    result: { document: DocumentSummary };
  };
  /**
   * Download, decrypt and verify. Without `target` the content comes back, as a Blob, only after
   * every check passed (capped at MAX_FILE_BYTES). With `target` (a file the person chose, File
   * System Access) the worker streams the plaintext into its writable, which the browser keeps in
   * a temporary file until `close()`: closed only after every check passed, aborted (and the
   * chosen file removed) otherwise; `content` is then null.
   */
  openDocument: {
    request: { documentId: string; version: number | null; target?: SaveTarget };
    result: { document: DocumentSummary; content: Blob | null };
  };
  /** The dossier's access log, its chain checked against what this browser saw before. */
  accessLog: {
    request: { dossierId: string };
    result: { dossier: DossierSummary; lines: LogLine[] };
  };
  // -- organisations, the case inbox and receipts (worker/organisations.ts) ---------------------
  /** The organisations I am a member of, each verified. */
  organisations: {
    request: Record<never, never>;
    result: { organisations: OrganisationSummary[] };
  };
  organisation: {
    request: { orgId: string };
    result: { organisation: OrganisationView };
  };
  /** `kind`: municipality, institution, contractor or engineering. */
  createOrganisation: {
    request: { name: string; kind: string };
    result: { organisation: OrganisationView };
  };
  addMember: {
    request: { orgId: string; username: string; admin: boolean };
    result: { organisation: OrganisationView };
  };
  /** A new key epoch without the member, and every grant to the organisation re-wrapped. */
  removeMember: {
    request: { orgId: string; userId: string };
    result: { epoch: number; rewrapped: number; skipped: number };
  };
  /** The organisation's inbox of dossiers shared with it, in one server call. */
  inbox: {
    request: { orgId: string };
    result: { organisation: OrganisationSummary; cases: InboxCase[] };
  };
  /**
   * The whole dossier as a zip (worker/archive.ts): every confirmed document, each checked as a
   * download is. With `target` streamed into it (kept only if everything verified), else a Blob.
   */
  dossierZip: {
    request: { dossierId: string; target?: SaveTarget };
    result: { files: number; content: Blob | null };
  };
  /**
   * The export (worker/export.ts): every confirmed version as an age file for my own age key,
   * the key protected with `passphrase`, a manifest, README.txt and open.sh, as one zip.
   */
  exportDossier: {
    request: { dossierId: string; passphrase: string; target?: SaveTarget };
    result: { files: number; documents: number; leftOut: string[]; content: Blob | null };
  };
  /** The dossier's receipts, each checked; the owner only. */
  receipts: {
    request: { dossierId: string };
    result: { receipts: ReceiptSummary[] };
  };
  /** E-mail notifications: the server's record of my choice. */
  notifyStatus: {
    request: Record<never, never>;
    result: { choice: NotifyChoice };
  };
  /** Opt in (or change the address or topics). */
  notifyOn: {
    request: { email: string; topics: NotifyTopic[] };
    result: { choice: NotifyChoice };
  };
  /** Opt out: the server deletes the address. */
  notifyOff: {
    request: Record<never, never>;
    result: Record<never, never>;
  };
  // -- sharing (sharing.ts) --------------------------------------------------------------------
  /** A contact by username, with its controlecode and whether it changed (section 3). */
  contact: {
    request: { username: string };
    result: { contact: ContactInfo };
  };
  /** Pin a contact as verified after comparing the controlecode (typed or scanned). */
  verifyContact: {
    request: { username: string; fingerprint: string };
    result: { contact: ContactInfo };
  };
  /** An organisation by name (without the @), verified (section 13.1), before sharing with it. */
  organisationByName: {
    request: { name: string };
    result: { organisation: OrganisationInfo };
  };
  /** Keep an organisation as verified after the person compared its fingerprint (typed). */
  verifyOrganisation: {
    request: { name: string; fingerprint: string };
    result: { organisation: OrganisationInfo };
  };
  /**
   * Share a dossier (documentId null) or one document with a person or `@organisation`;
   * `expiresAt` Unix seconds, 0 = no end; `allowUnverified`: the person confirmed sharing with an
   * organisation nobody verified (otherwise refused).
   */
  share: {
    request: { dossierId: string; documentId: string | null; username: string; write: boolean; expiresAt: number; allowUnverified: boolean };
    result: ShareOutcome;
  };
  /** Who has access to a dossier, from the owner's own signed grants, and the dossier's epoch. */
  access: {
    request: { dossierId: string };
    result: { epoch: number; rows: AccessRow[] };
  };
  /** End a share; a whole-dossier share gets a new dossier key first (`epoch`, 0 if none). */
  revoke: {
    request: { dossierId: string; recipientId: string; documentId: string | null };
    result: { epoch: number };
  };
  /** "Gedeeld met mij": the shares to me, each opened. */
  sharedWithMe: {
    request: Record<never, never>;
    result: { shares: SharedRow[] };
  };
  /** Forget every key. */
  logout: {
    request: Record<never, never>;
    result: Record<never, never>;
  };
  // -- village groups and conversations (worker/groups.ts) --
  /** My groups and conversations, each verified (chain, roster, messages), with unread counts. */
  groups: {
    request: Record<never, never>;
    result: { groups: GroupSummary[] };
  };
  /** One group as verified: members, chat, news, agenda. */
  group: {
    request: { groupId: string };
    result: { group: GroupView };
  };
  createGroup: {
    request: { name: string };
    result: { groupId: string };
  };
  /** A personal conversation with a user (an existing one is reused). */
  startConversation: {
    request: { username: string };
    result: { groupId: string };
  };
  addGroupMember: {
    request: { groupId: string; username: string; role: GroupRole };
    result: Record<never, never>;
  };
  /** Remove a member: a new epoch for the others (rotation), then its epoch start. */
  removeGroupMember: {
    request: { groupId: string; userId: string };
    result: Record<never, never>;
  };
  sendGroupMessage: {
    request: { message: SendGroupMessage };
    result: Record<never, never>;
  };
  /**
   * Wait (at most about 25 s) for a newer message position on the group's live stream; runs
   * beside the other calls (worker.ts), and only says whether to ask for the group again.
   */
  groupWait: {
    request: { groupId: string; after: number };
    result: { changed: boolean; removed: boolean };
  };
}

export type CallType = keyof Calls;

/** A request: a discriminated union on `type`. */
export type Request = { [K in CallType]: { type: K } & Calls[K]["request"] }[CallType];
export type RequestOf<K extends CallType> = Extract<Request, { type: K }>;

/** The names an error can carry across the boundary: the vault's, and the protocol's own. */
export type WireErrorName = ErrorName | ClientErrorName | "ProtocolError" | "NotLoggedIn" | "Error";

/**
 * Which check failed, in words the security page can say (set by the worker for every
 * SecurityError): the key-derivation settings, an account's keys, the dossier's signed index,
 * a document's signed header, a document's content, an older version or index than seen
 * before, a document held back, the access log, or an answer that does not parse.
 */
export type SecurityCheck = "kdf" | "keys" | "index" | "header" | "content" | "rollback" | "withheld" | "log" | "answer" | "code" | "messages" | "organisation" | "receipt" | "contact";

export interface WireError {
  name: WireErrorName;
  message: string;
  check?: SecurityCheck;
  /** For a WeakPassphrase: why the rule refused it (format section 18), a code the page words. */
  reason?: PassphraseReason;
  /** For an ApiError: the HTTP status and the problem's stable code. */
  status?: number;
  code?: string;
}

export type Response =
  | { [K in CallType]: { type: K; ok: true; result: Calls[K]["result"] } }[CallType]
  | { type: CallType | "unknown"; ok: false; error: WireError };

export type ResultOf<K extends CallType> = Calls[K]["result"];

/** What crosses postMessage: a request or response with the id that pairs them. */
export interface Envelope<T> {
  id: number;
  body: T;
}

/** Sent by the worker while the call with `id` runs (any number of times, before its response). */
export interface ProgressEnvelope {
  id: number;
  progress: TransferProgress;
}

export const CALL_TYPES: readonly CallType[] = [
  "init",
  "deriveLoginKey",
  "unlockBundle",
  "sealPayload",
  "openPayload",
  "register",
  "login",
  "changePassphrase",
  "recover",
  "dossiers",
  "createDossier",
  "documents",
  "versions",
  "addDocuments",
  "addVersion",
  "openDocument",
  "accessLog",
  "organisations",
  "organisation",
  "createOrganisation",
  "addMember",
  "removeMember",
  "inbox",
  "dossierZip",
  "exportDossier",
  "receipts",
  "notifyStatus",
  "notifyOn",
  "notifyOff",
  "contact",
  "verifyContact",
  "organisationByName",
  "verifyOrganisation",
  "share",
  "access",
  "revoke",
  "sharedWithMe",
  "logout",
  "groups",
  "group",
  "createGroup",
  "startConversation",
  "addGroupMember",
  "removeGroupMember",
  "sendGroupMessage",
  "groupWait",
];
