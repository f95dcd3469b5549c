/**
 * The worker protocol, tested under Node with the very handler the Web Worker runs (called
 * directly), and through the page-side client over a fake port that clones every message as
 * postMessage does.
 */

import assert from "node:assert/strict";
import { test } from "node:test";

import { PURPOSE_PASSPHRASE, sealBundleWithNonce } from "../src/vault/bundle.js";
import { ready, randomBytes } from "../src/vault/crypto.js";
import { WeakPassphrase, WrongPassphrase } from "../src/vault/errors.js";
import { encodeKdfParams, newKdfParams, passphraseKeys } from "../src/vault/kdf.js";
import { privateIdentityFromKeys, privateKeysBytes } from "../src/vault/keys.js";
import { createHandler } from "../src/worker/handler.js";
import { fromWireError, VaultClient, WorkerError } from "../src/worker/client.js";
import type { Envelope, Request, Response } from "../src/worker/protocol.js";

import { commonPasswords, hex } from "./helpers.js";

await ready();

const PASSPHRASE = "Schade aan de Hoofdstraat 12 \u2713";
const USERNAME = "bewoner.loppersum";

/** An account made here as registration makes one: keys, KDF parameters, a purpose-1 bundle. */
const account = await (async () => {
  const userId = randomBytes(16);
  const me = await privateIdentityFromKeys(userId, USERNAME, 1, randomBytes(96));
  const params = newKdfParams(randomBytes(16));
  const keys = await passphraseKeys(PASSPHRASE, params);
  const bundle = sealBundleWithNonce(
    privateKeysBytes(me),
    { purpose: PURPOSE_PASSPHRASE, userId, keyVersion: 1, kdfParams: params },
    keys.bundleKey,
    randomBytes(24),
  );
  return { userId, me, params, keys, bundle };
})();

function loginRequests(passphrase = PASSPHRASE): { derive: Request; unlock: Request } {
  return {
    derive: { type: "deriveLoginKey", passphrase, kdfParams: encodeKdfParams(account.params), previousKdfParams: null },
    unlock: { type: "unlockBundle", bundle: account.bundle, userId: account.userId, keyVersion: 1, username: USERNAME, pinnedIdentity: account.me.public.encoded },
  };
}

async function call(handle: ReturnType<typeof createHandler>, request: Request): Promise<Response> {
  // Requests and responses cross postMessage: both must survive the structured clone.
  const { response } = await handle(structuredClone(request));
  return structuredClone(response);
}

function ok<T extends Response>(response: T): Extract<T, { ok: true }>["result"] {
  if (!response.ok) assert.fail(`expected success, got ${response.error.name}: ${response.error.message}`);
  return (response as Extract<T, { ok: true }>).result;
}

test("init answers the libsodium version", async () => {
  const handle = createHandler();
  const result = ok(await call(handle, { type: "init" })) as { sodiumVersion: string };
  assert.match(result.sodiumVersion, /^\d+\.\d+\.\d+/);
});

test("login: Argon2id and the bundle open in the worker; only the login key and public data come out", async () => {
  const handle = createHandler();
  const { derive, unlock } = loginRequests();
  const derived = ok(await call(handle, derive)) as { authKey: Uint8Array };
  assert.deepEqual(Object.keys(derived), ["authKey"]);
  assert.equal(hex(derived.authKey), hex(account.keys.authKey));
  const unlocked = ok(await call(handle, unlock)) as { identity: Record<string, unknown> };
  assert.deepEqual(unlocked.identity, {
    userId: hex(account.userId),
    username: USERNAME,
    keyVersion: 1,
    keyId: hex(account.me.public.keyId),
    fingerprint: account.me.public.fingerprint,
  });
});

test("login against a pinned identity with other keys: KeyMismatchError", async () => {
  const handle = createHandler();
  const { derive, unlock } = loginRequests();
  ok(await call(handle, derive));
  const other = await privateIdentityFromKeys(account.userId, USERNAME, 1, randomBytes(96));
  const response = await call(handle, { ...(unlock as Extract<Request, { type: "unlockBundle" }>), pinnedIdentity: other.public.encoded });
  assert.ok(!response.ok && response.error.name === "KeyMismatchError", JSON.stringify(response));
});

test("login with a wrong passphrase: WrongPassphrase, and nothing is unlocked", async () => {
  const handle = createHandler();
  const { derive, unlock } = loginRequests("correct horse battery staple");
  ok(await call(handle, derive));
  const failed = await call(handle, unlock);
  assert.ok(!failed.ok && failed.error.name === "WrongPassphrase", JSON.stringify(failed));
  const sealed = await call(handle, { type: "sealPayload", plaintext: new Uint8Array(3) });
  assert.ok(!sealed.ok && sealed.error.name === "NotLoggedIn");
});

test("login refuses parameters below the policy before deriving (DowngradeError)", async () => {
  const handle = createHandler();
  const weak = encodeKdfParams({ algorithm: 1, memoryKib: 32768, iterations: 3, parallelism: 1, salt: new Uint8Array(16) });
  const started = Date.now();
  const response = await call(handle, { type: "deriveLoginKey", passphrase: PASSPHRASE, kdfParams: weak, previousKdfParams: null });
  assert.ok(!response.ok && response.error.name === "DowngradeError", JSON.stringify(response));
  assert.ok(Date.now() - started < 200, "refused before Argon2id ran");
});

test("unlock before deriving, unknown and malformed requests are protocol errors", async () => {
  const handle = createHandler();
  const { unlock } = loginRequests();
  const early = await call(handle, unlock);
  assert.ok(!early.ok && early.error.name === "ProtocolError");
  const unknown = await call(handle, { type: "exportEverything" } as unknown as Request);
  assert.ok(!unknown.ok && unknown.error.name === "ProtocolError");
  const bad = await call(handle, { type: "deriveLoginKey", passphrase: PASSPHRASE, kdfParams: "01" } as unknown as Request);
  assert.ok(!bad.ok && bad.error.name === "ProtocolError");
});

test("seal and open a payload: the file key stays in the worker; tampering is an IntegrityError", async () => {
  const handle = createHandler();
  const { derive, unlock } = loginRequests();
  ok(await call(handle, derive));
  ok(await call(handle, unlock));
  const plaintext = new Uint8Array(150_000).map((_, i) => (i * 7) % 256);
  const sealed = ok(await call(handle, { type: "sealPayload", plaintext })) as {
    payload: Uint8Array;
    fileKeyRef: string;
    digest: { size: bigint; plaintextSize: bigint; blake3: Uint8Array };
  };
  assert.deepEqual(Object.keys(sealed).sort(), ["digest", "fileKeyRef", "payload"]);
  assert.equal(sealed.payload.length, 16 + 150_000 + 3 * 16);
  assert.equal(sealed.digest.size, BigInt(sealed.payload.length));
  assert.equal(sealed.digest.plaintextSize, 150_000n);
  const opened = ok(await call(handle, { type: "openPayload", payload: sealed.payload, fileKeyRef: sealed.fileKeyRef })) as { plaintext: Uint8Array };
  assert.ok(Buffer.from(opened.plaintext).equals(Buffer.from(plaintext)));

  const tampered = sealed.payload.slice();
  tampered[100] = (tampered[100] as number) ^ 1;
  const failed = await call(handle, { type: "openPayload", payload: tampered, fileKeyRef: sealed.fileKeyRef });
  assert.ok(!failed.ok && failed.error.name === "IntegrityError", JSON.stringify(failed));
  const unknownRef = await call(handle, { type: "openPayload", payload: sealed.payload, fileKeyRef: "00" });
  assert.ok(!unknownRef.ok && unknownRef.error.name === "ProtocolError");

  ok(await call(handle, { type: "logout" }));
  const after = await call(handle, { type: "openPayload", payload: sealed.payload, fileKeyRef: sealed.fileKeyRef });
  assert.ok(!after.ok && after.error.name === "NotLoggedIn");
});

test("the page-side client pairs answers with requests and rebuilds vault errors", async () => {
  const handle = createHandler();
  const listeners: ((event: MessageEvent<Envelope<Response>>) => void)[] = [];
  const port = {
    postMessage(message: Envelope<Request>) {
      const { id, body } = structuredClone(message);
      void handle(body).then(({ response }) => {
        for (const listener of listeners) listener({ data: structuredClone({ id, body: response }) } as MessageEvent<Envelope<Response>>);
      });
    },
    addEventListener(_type: "message", listener: (event: MessageEvent<Envelope<Response>>) => void) {
      listeners.push(listener);
    },
  };
  const client = new VaultClient(port);
  const { derive, unlock } = loginRequests("wrong");
  const [init] = await Promise.all([client.call({ type: "init" }), client.call(derive as Extract<Request, { type: "deriveLoginKey" }>)]);
  assert.match(init.sodiumVersion, /^\d+/);
  await assert.rejects(client.call(unlock as Extract<Request, { type: "unlockBundle" }>), WrongPassphrase);
  await assert.rejects(client.call({ type: "sealPayload", plaintext: new Uint8Array(1) }), (e: unknown) => e instanceof WorkerError && e.name === "NotLoggedIn");
});

test("a refused passphrase crosses to the page as WeakPassphrase with its reason as a typed code", async () => {
  const handle = createHandler({ commonPasswords, transport: { fetch: async () => assert.fail("nothing is sent for a refused passphrase"), upload: async () => assert.fail("nothing is sent") } });
  for (const [passphrase, reason] of [
    ["kort", "too_short"],
    ["wachtwoord123", "predictable"],
    ["x\ud800 en verder een lange zin", "not_text"],
  ] as const) {
    const response = await call(handle, { type: "register", username: "anna", passphrase });
    assert.ok(!response.ok);
    assert.equal(response.error.name, "WeakPassphrase");
    assert.equal(response.error.reason, reason, passphrase);
    const rebuilt = fromWireError(response.error);
    assert.ok(rebuilt instanceof WeakPassphrase);
    assert.equal(rebuilt.reason, reason);
  }
});
