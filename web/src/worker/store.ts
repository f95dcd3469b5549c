/**
 * What this browser remembers between visits, as the Python client's trust.json
 * (client_sdk/profile.py): everything it has *learned* and must not forget, because a lying
 * server could otherwise make it forget. Kept in IndexedDB, one record per fact:
 *
 * - `kdf/<username>`: the strongest KDF parameters this browser used for the account (L14),
 *   read before the account is unlocked, so it is keyed by username;
 * - per account (`<user id>/...`): the pinned identity of every user seen (K1, K2), the owner
 *   of every dossier seen, the highest dossier index counter and its hash (D12), the highest
 *   version of every document seen (D12), and the last access-log entry seen (the log chain).
 *
 * No secret is kept here: no key, no token, no passphrase, no document. Private keys live only
 * in the worker's memory and are gone when the tab closes or the user logs out (W25). The page
 * cannot reach this database's handle: it is opened in the worker.
 */

export interface TrustStore {
  get(key: string): Promise<unknown>;
  /** Several facts at once, written in one transaction. */
  put(entries: Record<string, unknown>): Promise<void>;
}

/** For the Node tests, and as the fallback where IndexedDB is missing (then nothing lasts). */
export class MemoryStore implements TrustStore {
  readonly data = new Map<string, unknown>();

  async get(key: string): Promise<unknown> {
    return structuredClone(this.data.get(key));
  }

  async put(entries: Record<string, unknown>): Promise<void> {
    for (const [key, value] of Object.entries(entries)) this.data.set(key, structuredClone(value));
  }
}

const DB_NAME = "kluis-trust";
const STORE = "facts";

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error("IndexedDB request failed"));
  });
}

export class IndexedDbStore implements TrustStore {
  private db: Promise<IDBDatabase> | null = null;

  constructor(private readonly name: string = DB_NAME) {}

  private open(): Promise<IDBDatabase> {
    if (this.db === null) {
      this.db = new Promise((resolve, reject) => {
        const req = indexedDB.open(this.name, 1);
        req.onupgradeneeded = () => req.result.createObjectStore(STORE);
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error ?? new Error("IndexedDB does not open"));
        req.onblocked = () => reject(new Error("IndexedDB is blocked by another tab"));
      });
    }
    return this.db;
  }

  async get(key: string): Promise<unknown> {
    const db = await this.open();
    return request(db.transaction(STORE, "readonly").objectStore(STORE).get(key));
  }

  async put(entries: Record<string, unknown>): Promise<void> {
    const db = await this.open();
    const tx = db.transaction(STORE, "readwrite", { durability: "strict" });
    const store = tx.objectStore(STORE);
    for (const [key, value] of Object.entries(entries)) store.put(value, key);
    await new Promise<void>((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error ?? new Error("IndexedDB write failed"));
      tx.onabort = () => reject(tx.error ?? new Error("IndexedDB write aborted"));
    });
  }
}

/** The store of the page's own server, or (`kluis web`) of the remote server at `origin`. */
export function defaultStore(origin?: string): TrustStore {
  return typeof indexedDB === "undefined" ? new MemoryStore() : new IndexedDbStore(origin === undefined ? DB_NAME : `${DB_NAME} ${origin}`);
}

export interface Pin {
  username: string;
  keyId: string;
  fingerprint: string;
  verified: boolean;
}

/**
 * An organisation as this browser verified it (docs/client.md section 13.1 step 5): its name,
 * fingerprint, newest epoch and that epoch's key id (hex), the BLAKE3 hash (hex) of every
 * epoch record, and whether the person compared its fingerprint on this device.
 */
export interface OrganisationPin {
  name: string;
  fingerprint: string;
  epoch: number;
  keyId: string;
  recordHashes: string[];
  verified: boolean;
}

/** The facts of one account on this browser, with the typed accessors the client uses. */
export class AccountMemory {
  constructor(
    private readonly store: TrustStore,
    private readonly userId: string,
  ) {}

  private key(section: string, id: string): string {
    return `${this.userId}/${section}/${id}`;
  }

  private async read(section: string, id: string): Promise<unknown> {
    return this.store.get(this.key(section, id));
  }

  async pin(userId: string): Promise<Pin | null> {
    const v = await this.read("pins", userId);
    return isPin(v) ? v : null;
  }

  /** The pins held under a username (an index kept next to the pins). */
  async pinnedUnder(username: string): Promise<string[]> {
    const v = await this.read("names", username);
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
  }

  async savePin(userId: string, pin: Pin): Promise<void> {
    const ids = await this.pinnedUnder(pin.username);
    const entries: Record<string, unknown> = { [this.key("pins", userId)]: pin };
    if (!ids.includes(userId)) entries[this.key("names", pin.username)] = [...ids, userId];
    await this.store.put(entries);
  }

  async organisationPin(orgId: string): Promise<OrganisationPin | null> {
    const v = await this.read("organisations", orgId);
    return isOrganisationPin(v) ? v : null;
  }

  /** The organisation pinned under a name (an index kept next to the pins). */
  async organisationNamed(name: string): Promise<string | null> {
    const v = await this.read("organisation-names", name);
    return typeof v === "string" ? v : null;
  }

  async saveOrganisationPin(orgId: string, pin: OrganisationPin): Promise<void> {
    await this.store.put({ [this.key("organisations", orgId)]: pin, [this.key("organisation-names", pin.name)]: orgId });
  }

  async dossierOwner(dossierId: string): Promise<string | null> {
    const v = await this.read("owners", dossierId);
    return typeof v === "string" ? v : null;
  }

  async saveDossierOwner(dossierId: string, ownerId: string): Promise<void> {
    await this.store.put({ [this.key("owners", dossierId)]: ownerId });
  }

  /**
   * The last index of a dossier this browser accepted: its counter and hash, and its bytes (a
   * memory from before format version 2 has no bytes; format section 9, step 4).
   */
  async indexSeen(dossierId: string): Promise<{ counter: bigint; hash: string; bytes: Uint8Array | null } | null> {
    const v = await this.read("indexes", dossierId);
    if (!Array.isArray(v) || typeof v[0] !== "string" || typeof v[1] !== "string") return null;
    const bytes = v[2] instanceof Uint8Array ? v[2] : null;
    return { counter: BigInt(v[0]), hash: v[1], bytes };
  }

  async saveIndexSeen(dossierId: string, counter: bigint, hash: string, bytes: Uint8Array): Promise<void> {
    await this.store.put({ [this.key("indexes", dossierId)]: [counter.toString(), hash, bytes] });
  }

  async versionSeen(documentId: string): Promise<bigint> {
    const v = await this.read("versions", documentId);
    return typeof v === "string" ? BigInt(v) : 0n;
  }

  /** Remember versions as seen; only ever raises a number. */
  async saveVersionsSeen(versions: ReadonlyMap<string, bigint>): Promise<void> {
    const entries: Record<string, unknown> = {};
    for (const [doc, version] of versions) {
      if (version > (await this.versionSeen(doc))) entries[this.key("versions", doc)] = version.toString();
    }
    if (Object.keys(entries).length > 0) await this.store.put(entries);
  }

  async logHead(dossierId: string): Promise<{ seq: number; hash: string } | null> {
    const v = await this.read("logs", dossierId);
    if (!Array.isArray(v) || typeof v[0] !== "number" || typeof v[1] !== "string") return null;
    return { seq: v[0], hash: v[1] };
  }

  async saveLogHead(dossierId: string, seq: number, hash: string): Promise<void> {
    await this.store.put({ [this.key("logs", dossierId)]: [seq, hash] });
  }

  // -- groups (groups.ts) ----------------------------------------------------------------------
  /**
   * What this browser accepted of a group: its chain pin (format 14.2, check 7), the state of its
   * message chain (19.4, the messagelog JSON) and how many messages were shown (for unread counts).
   */
  async groupSeen(groupId: string): Promise<GroupSeen | null> {
    const v = await this.read("groups", groupId);
    if (typeof v !== "object" || v === null) return null;
    const g = v as Record<string, unknown>;
    return typeof g["shown"] === "number" ? { pin: g["pin"] ?? null, state: g["state"] ?? null, shown: g["shown"] } : null;
  }

  async saveGroupSeen(groupId: string, seen: GroupSeen): Promise<void> {
    await this.store.put({ [this.key("groups", groupId)]: seen });
  }

  // -- the organisation inbox (worker/organisations.ts) ---------------------------------------
  /** When this account last looked at an organisation's inbox (Unix seconds; 0: never). */
  async inboxVisit(orgId: string): Promise<number> {
    const v = await this.read("visits", orgId);
    return typeof v === "number" ? v : 0;
  }

  async saveInboxVisit(orgId: string, at: number): Promise<void> {
    await this.store.put({ [this.key("visits", orgId)]: at });
  }
}

/** A group's memory as stored; `pin` and `state` are checked by their readers (groups.ts). */
export interface GroupSeen {
  pin: unknown;
  state: unknown;
  shown: number;
}

function isPin(v: unknown): v is Pin {
  if (typeof v !== "object" || v === null) return false;
  const p = v as Record<string, unknown>;
  return typeof p["username"] === "string" && typeof p["keyId"] === "string" && typeof p["fingerprint"] === "string" && typeof p["verified"] === "boolean";
}

function isOrganisationPin(v: unknown): v is OrganisationPin {
  if (typeof v !== "object" || v === null) return false;
  const p = v as Record<string, unknown>;
  return (
    typeof p["name"] === "string" &&
    typeof p["fingerprint"] === "string" &&
    typeof p["epoch"] === "number" &&
    typeof p["keyId"] === "string" &&
    Array.isArray(p["recordHashes"]) &&
    p["recordHashes"].every((h) => typeof h === "string") &&
    typeof p["verified"] === "boolean"
  );
}

/** The KDF floor of an account on this browser (L14), by username. */
export async function kdfFloor(store: TrustStore, username: string): Promise<{ memoryKib: number; iterations: number } | null> {
  const v = await store.get(`kdf/${username}`);
  if (!Array.isArray(v) || typeof v[0] !== "number" || typeof v[1] !== "number") return null;
  return { memoryKib: v[0], iterations: v[1] };
}

export async function raiseKdfFloor(store: TrustStore, username: string, memoryKib: number, iterations: number): Promise<void> {
  const old = (await kdfFloor(store, username)) ?? { memoryKib: 0, iterations: 0 };
  await store.put({ [`kdf/${username}`]: [Math.max(old.memoryKib, memoryKib), Math.max(old.iterations, iterations)] });
}
