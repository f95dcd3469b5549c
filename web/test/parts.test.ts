/**
 * The browser's upload in parts (src/worker/parts.ts) against a fake server that keeps parts as
 * docs/api.md says and can drop a connection: the parts join into a payload that decrypts to the
 * file with the digest the client reports, a dropped part is resent after asking which parts
 * arrived, a part whose answer was lost is not sent again, a server that lost a stored part or
 * stored other bytes is refused, and the client gives up (and aborts) after its retries.
 */

import assert from "node:assert/strict";
import { test } from "node:test";

import { toHex } from "../src/vault/bytes.js";
import { blake3, randomBytes, ready } from "../src/vault/crypto.js";
import { IntegrityError } from "../src/vault/errors.js";
import { ageFileKey, decryptPayload } from "../src/vault/payload.js";
import { Api } from "../src/worker/api.js";
import { ClientError, ServerUnreachable } from "../src/worker/errors.js";
import { payloadSize, uploadInParts, type PartPolicy } from "../src/worker/parts.js";

await ready();

const POLICY: PartPolicy = { threshold: 100_000, partSize: 100_000, retries: 3, backoffMs: 1, maxBackoffMs: 1 };
const ID = "ab".repeat(16);

interface Fake {
  api: Api;
  seen: string[];
  parts: Map<number, Uint8Array>;
  joined(): Uint8Array;
  aborted: boolean;
}

type Hook = (method: string, path: string, attempt: number) => "drop" | "drop-after-storing" | "damage" | "other-answer" | null;

/** A server that keeps parts as docs/api.md says; `hook` drops, damages or lies on request. */
function fakeServer(hook: Hook = () => null): Fake {
  const seen: string[] = [];
  const parts = new Map<number, Uint8Array>();
  const attempts = new Map<string, number>();
  let declared = 0;
  let complete: { size: number; blake3: string } | null = null;
  const fake: Fake = {
    api: null as unknown as Api,
    seen,
    parts,
    aborted: false,
    joined() {
      const numbers = [...parts.keys()].sort((a, b) => a - b);
      const out = new Uint8Array(numbers.reduce((n, k) => n + (parts.get(k) as Uint8Array).length, 0));
      let at = 0;
      for (const k of numbers) {
        out.set(parts.get(k) as Uint8Array, at);
        at += (parts.get(k) as Uint8Array).length;
      }
      return out;
    },
  };
  const json = (status: number, body: unknown): Response => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
  const transport = {
    async fetch(url: string, init: RequestInit): Promise<Response> {
      const path = url.replace(/^.*\/api\/v1/, "");
      const method = init.method ?? "GET";
      const key = `${method} ${path}`;
      seen.push(key);
      const attempt = (attempts.get(key) ?? 0) + 1;
      attempts.set(key, attempt);
      const what = hook(method, path, attempt);
      if (what === "drop") throw new TypeError("network error");
      if (method === "POST" && path === "/uploads/parts") {
        declared = JSON.parse(String(init.body)).size;
        return json(201, { upload_id: ID, state: "receiving", size: declared, parts: [] });
      }
      const part = path.match(/^\/uploads\/[0-9a-f]{32}\/parts\/(\d+)$/);
      if (method === "PUT" && part) {
        const number = Number(part[1]);
        let data = new Uint8Array(init.body as Uint8Array);
        const sent = (init.headers as Record<string, string>)["kluis-part-blake3"];
        if (what === "damage") data = data.map((b, i) => (i === 0 ? b ^ 1 : b));
        const digest = toHex(await blake3(data));
        if (digest !== sent) return json(422, { code: "digest_mismatch" });
        parts.set(number, data);
        if (what === "drop-after-storing") throw new TypeError("network error");
        if (what === "other-answer") return json(200, { number, size: data.length, blake3: "00".repeat(32) });
        return json(200, { number, size: data.length, blake3: digest });
      }
      if (method === "GET" && path === `/uploads/${ID}`) {
        if (complete !== null) return json(200, { upload_id: ID, state: "complete", size: complete.size, blake3: complete.blake3, parts: [] });
        const list = await Promise.all([...parts].map(async ([number, data]) => ({ number, size: data.length, blake3: toHex(await blake3(data)) })));
        return json(200, { upload_id: ID, state: "receiving", size: declared, parts: list });
      }
      if (method === "POST" && path === `/uploads/${ID}/complete`) {
        const whole = fake.joined();
        complete = { size: whole.length, blake3: toHex(await blake3(whole)) };
        if (what === "drop-after-storing") throw new TypeError("network error");
        return json(200, { upload_id: ID, ...complete });
      }
      if (method === "DELETE" && path === `/uploads/${ID}`) {
        fake.aborted = true;
        return new Response(null, { status: 204 });
      }
      return json(404, { code: "not_found" });
    },
    // Parts go by XMLHttpRequest in the browser: the same server, a Blob body.
    async upload(url: string, body: Blob, headers: Record<string, string>, progress: (done: number, total: number) => void, method = "POST"): Promise<{ status: number; text: string }> {
      const response = await transport.fetch(url, { method, headers, body: new Uint8Array(await body.arrayBuffer()) });
      progress(body.size, body.size);
      return { status: response.status, text: await response.text() };
    },
  };
  fake.api = new Api("http://server", transport);
  return fake;
}

function file(size: number): File {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i += 65536) data.set(randomBytes(Math.min(65536, size - i)), i);
  return new File([data], "foto.jpg");
}

async function opens(fake: Fake, f: File, ageKey: Uint8Array, digest: { size: bigint; blake3: Uint8Array }): Promise<void> {
  const joined = fake.joined();
  assert.equal(joined.length, payloadSize(f.size));
  assert.equal(BigInt(joined.length), digest.size);
  assert.equal(toHex(await blake3(joined)), toHex(digest.blake3));
  const { plaintext } = await decryptPayload(ageKey, joined);
  assert.deepEqual(plaintext, new Uint8Array(await f.arrayBuffer()));
}

test("a file goes up in parts of the part size (the last smaller) that join into its payload", async () => {
  const fake = fakeServer();
  const f = file(350_000);
  const ageKey = await ageFileKey(randomBytes(32));
  const progress: number[] = [];
  const { uploadId, digest } = await uploadInParts(fake.api, f, ageKey, POLICY, (done) => progress.push(done));
  assert.equal(uploadId, ID);
  assert.deepEqual([...fake.parts.keys()], [1, 2, 3, 4]);
  assert.deepEqual([...fake.parts.values()].map((p) => p.length), [100_000, 100_000, 100_000, payloadSize(350_000) - 300_000]);
  assert.equal(progress.at(-1), payloadSize(350_000));
  await opens(fake, f, ageKey, digest);
  assert.equal(fake.aborted, false);
});

test("a connection dropped during a part: the client asks which parts arrived and sends that part again", async () => {
  const fake = fakeServer((method, path, attempt) => (method === "PUT" && path.endsWith("/parts/2") && attempt === 1 ? "drop" : null));
  const f = file(250_000);
  const ageKey = await ageFileKey(randomBytes(32));
  const { digest } = await uploadInParts(fake.api, f, ageKey, POLICY, () => undefined);
  const i = fake.seen.indexOf(`PUT /uploads/${ID}/parts/2`);
  assert.deepEqual(fake.seen.slice(i, i + 3), [`PUT /uploads/${ID}/parts/2`, `GET /uploads/${ID}`, `PUT /uploads/${ID}/parts/2`]);
  assert.equal(fake.seen.filter((s) => s.endsWith("/parts/1")).length, 1, "a part that arrived is not sent again");
  await opens(fake, f, ageKey, digest);
});

test("a part whose answer was lost is found stored and not sent again", async () => {
  const fake = fakeServer((method, path, attempt) => (method === "PUT" && path.endsWith("/parts/1") && attempt === 1 ? "drop-after-storing" : null));
  const f = file(150_000);
  const ageKey = await ageFileKey(randomBytes(32));
  const { digest } = await uploadInParts(fake.api, f, ageKey, POLICY, () => undefined);
  assert.equal(fake.seen.filter((s) => s.endsWith("/parts/1")).length, 1);
  await opens(fake, f, ageKey, digest);
});

test("a part damaged on the way (digest_mismatch) is sent again", async () => {
  const fake = fakeServer((method, path, attempt) => (method === "PUT" && path.endsWith("/parts/2") && attempt === 1 ? "damage" : null));
  const f = file(150_000);
  const ageKey = await ageFileKey(randomBytes(32));
  const { digest } = await uploadInParts(fake.api, f, ageKey, POLICY, () => undefined);
  assert.equal(fake.seen.filter((s) => s.endsWith("/parts/2")).length, 2);
  await opens(fake, f, ageKey, digest);
});

test("a server that answers with another hash for a part is refused, and the upload aborted", async () => {
  const fake = fakeServer((method, path) => (method === "PUT" && path.endsWith("/parts/1") ? "other-answer" : null));
  await assert.rejects(uploadInParts(fake.api, file(150_000), await ageFileKey(randomBytes(32)), POLICY, () => undefined), IntegrityError);
  assert.equal(fake.aborted, true);
});

test("a server that lost a part it had stored is refused when the client resumes", async () => {
  let fake: Fake;
  fake = fakeServer((method, path, attempt) => {
    if (method === "PUT" && path.endsWith("/parts/2") && attempt === 1) {
      fake.parts.delete(1);
      return "drop";
    }
    return null;
  });
  await assert.rejects(uploadInParts(fake.api, file(250_000), await ageFileKey(randomBytes(32)), POLICY, () => undefined), (e: unknown) => e instanceof ClientError && /no longer has part 1/.test(e.message));
  assert.equal(fake.aborted, true);
});

test("after its retries the client gives up and aborts the upload", async () => {
  const fake = fakeServer((method, path) => (method === "PUT" && path.endsWith("/parts/2") ? "drop" : null));
  await assert.rejects(uploadInParts(fake.api, file(250_000), await ageFileKey(randomBytes(32)), POLICY, () => undefined), ServerUnreachable);
  assert.equal(fake.seen.filter((s) => s.endsWith("/parts/2")).length, POLICY.retries + 1);
  assert.equal(fake.aborted, true);
});

test("the completion whose answer was lost is found complete", async () => {
  const fake = fakeServer((method, path, attempt) => (method === "POST" && path.endsWith("/complete") && attempt === 1 ? "drop-after-storing" : null));
  const f = file(150_000);
  const ageKey = await ageFileKey(randomBytes(32));
  const { digest } = await uploadInParts(fake.api, f, ageKey, POLICY, () => undefined);
  assert.equal(fake.seen.filter((s) => s.endsWith("/complete")).length, 1);
  await opens(fake, f, ageKey, digest);
});
