/**
 * The login checks of client_sdk/accounts.py, made by the worker's client against a scripted
 * server (a fake transport): the KDF policy runs before Argon2 and before anything is sent
 * (L14), a refused login reads like a wrong passphrase (L15), the bundle must open to the
 * published identity and that identity must be the one pinned on this browser (K1), and the
 * KDF floor and the pin are saved only after every check passed.
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import { commonPasswords } from "./helpers.js";

import { argon2id, ready, randomBytes, warmArgon2id } from "../src/vault/crypto.js";
import { DowngradeError, KeyMismatchError, WeakPassphrase, WrongPassphrase } from "../src/vault/errors.js";
import { privateIdentityFromKeys } from "../src/vault/keys.js";
import { b64 } from "../src/worker/api.js";
import { Kluis } from "../src/worker/kluis.js";
import { kdfFloor, MemoryStore } from "../src/worker/store.js";

await ready();

const PASSPHRASE = "lange zin over de scheur in de gevel";

type Handler = (path: string, body: any) => { status: number; body: unknown };

/** A server that answers from `handler` and records every request. */
function scripted(handler: Handler): { transport: ConstructorParameters<typeof Kluis>[2]; seen: string[] } {
  const seen: string[] = [];
  const transport = {
    async fetch(url: string, init: RequestInit): Promise<Response> {
      const path = url.replace(/^.*\/api\/v1/, "");
      seen.push(`${init.method} ${path}`);
      const { status, body } = handler(path, init.body ? JSON.parse(String(init.body)) : null);
      return new Response(body === null ? null : JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
    },
    async upload(): Promise<{ status: number; text: string }> {
      throw new Error("no uploads here");
    },
  };
  return { transport, seen };
}

/** Register through the client against a server that keeps what it is given. */
async function registered(store: MemoryStore): Promise<{ users: any; login: () => any }> {
  const users: any = {};
  const login = (): any => ({ token: "t", expires_at: 0, user: { user_id: users.user_id, username: users.username, identity: users.identity }, passphrase_bundle: users.passphrase_bundle });
  const { transport } = scripted((path, body) => {
    if (path === "/users") {
      Object.assign(users, body);
      return { status: 201, body: { user: body } };
    }
    if (path === "/auth/login") return { status: 200, body: login() };
    return { status: 404, body: { code: "not_found" } };
  });
  const words = (await new Kluis(store, "http://server", transport, commonPasswords).register("anna", PASSPHRASE, () => undefined)).recoveryWords;
  assert.equal(words.split(" ").length, 24);
  return { users, login };
}

test("a weaker KDF than this browser used is refused before Argon2 runs and before anything is sent", async () => {
  const store = new MemoryStore();
  const { users } = await registered(store);
  assert.deepEqual(await kdfFloor(store, "anna"), { memoryKib: 65536, iterations: 3 });
  // Also below the fixed floor, and below what this browser used: both refuse.
  for (const kdf of [{ ...users.kdf, memory_kib: 32768 }, { ...users.kdf, iterations: 2 }]) {
    const { transport, seen } = scripted((path) => (path === "/auth/prelogin" ? { status: 200, body: { kdf } } : { status: 500, body: null }));
    await assert.rejects(new Kluis(store, "http://server", transport).login("anna", PASSPHRASE, () => undefined), DowngradeError);
    assert.deepEqual(seen, ["POST /auth/prelogin"], "nothing derived from the passphrase was sent");
  }
});

test("a refused login is a wrong passphrase; a substituted identity is a key mismatch and saves nothing", async () => {
  const store = new MemoryStore();
  const { users, login } = await registered(store);
  const floor = await kdfFloor(store, "anna");

  const refused = scripted((path) => (path === "/auth/prelogin" ? { status: 200, body: { kdf: users.kdf } } : { status: 401, body: { code: "unauthorized" } }));
  await assert.rejects(new Kluis(store, "http://server", refused.transport).login("anna", PASSPHRASE, () => undefined), WrongPassphrase);

  // The server publishes another key pair under anna's name (K1): the bundle's keys are not it.
  const other = await privateIdentityFromKeys(Buffer.from(users.user_id, "hex"), "anna", 1, randomBytes(96));
  const substituted = scripted((path) =>
    path === "/auth/prelogin" ? { status: 200, body: { kdf: users.kdf } } : { status: 200, body: { ...login(), user: { ...login().user, identity: b64(other.public.encoded) } } },
  );
  const kluis = new Kluis(store, "http://server", substituted.transport);
  await assert.rejects(kluis.login("anna", PASSPHRASE, () => undefined), KeyMismatchError);
  assert.equal(kluis.api.token, null, "no session is kept");
  assert.deepEqual(await kdfFloor(store, "anna"), floor);

  // The real answer logs in, and the pin made at registration matches.
  const fine = scripted((path) => (path === "/auth/prelogin" ? { status: 200, body: { kdf: users.kdf } } : { status: 200, body: login() }));
  const me = await new Kluis(store, "http://server", fine.transport).login("anna", PASSPHRASE, () => undefined);
  assert.equal(me.username, "anna");
  assert.deepEqual(fine.seen, ["POST /auth/prelogin", "POST /auth/login"]);
});

test("on a browser that pinned other keys for the account, its own login is refused (the pin is checked, not replaced)", async () => {
  const store = new MemoryStore();
  const { users, login } = await registered(store);
  const pinKey = `${users.user_id}/pins/${users.user_id}`;
  const pin = store.data.get(pinKey) as { keyId: string };
  assert.equal(typeof pin.keyId, "string", "registration pinned the account's own keys");
  // This browser remembers other keys for the account (as after the server replaced them).
  store.data.set(pinKey, { ...pin, keyId: "00".repeat(32) });
  const { transport } = scripted((path) => (path === "/auth/prelogin" ? { status: 200, body: { kdf: users.kdf } } : { status: 200, body: login() }));
  const kluis = new Kluis(store, "http://server", transport);
  await assert.rejects(kluis.login("anna", PASSPHRASE, () => undefined), (e: unknown) => e instanceof KeyMismatchError && /pinned on this device/.test(e.message));
  assert.equal((store.data.get(pinKey) as { keyId: string }).keyId, "00".repeat(32), "the pin is not overwritten");
  assert.equal(kluis.api.token, null);
});

test("a weak passphrase is refused by the worker before anything is derived or sent (format section 18)", async () => {
  for (const weak of ["1234", "wachtwoord123", "anna anna anna anna"]) {
    const { transport, seen } = scripted(() => ({ status: 500, body: null }));
    const kluis = new Kluis(new MemoryStore(), "http://server", transport, commonPasswords);
    await assert.rejects(kluis.register("anna", weak, () => undefined), WeakPassphrase);
    assert.deepEqual(seen, [], weak);
  }
});

test("warming Argon2id (done while the passphrase is typed) changes no derivation that follows", async () => {
  const password = new TextEncoder().encode("Schade aan de Hoofdstraat 12");
  const salt = new Uint8Array(16).fill(9);
  const before = argon2id(password, salt, 1, 8192);
  warmArgon2id(16384);
  assert.deepEqual(argon2id(password, salt, 1, 8192), before);
  assert.notDeepEqual(argon2id(password, salt, 2, 8192), before);
});
