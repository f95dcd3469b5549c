/**
 * The server the app talks to (worker/origin.ts): `/config.json` names it when the page is
 * served by `kluis web` (null when the page's own server serves it); the worker sends every
 * call to exactly that origin, chosen once, before any other call.
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import { commonPasswords } from "./helpers.js";

import type { Transport } from "../src/worker/api.js";
import { createHandler } from "../src/worker/handler.js";
import { readConfig, serverOrigin } from "../src/worker/origin.js";
import { MemoryStore } from "../src/worker/store.js";

test("only an exact http(s) origin is a server", () => {
  for (const good of ["https://kluis.example.nl", "http://127.0.0.1:8000", "http://[::1]:8000"]) assert.equal(serverOrigin(good), good);
  for (const bad of ["https://kluis.example.nl/", "https://Kluis.example.nl", "https://kluis.example.nl/app", "https://a@kluis.example.nl", "javascript:alert(1)", "data:text/html,x", "blob:https://kluis.example.nl/x", "kluis.example.nl", "https://kluis.example.nl?x", "", null, 3]) {
    assert.equal(serverOrigin(bad), null, String(bad));
  }
});

test("the config names this page's own server (null) or one origin; anything else is refused", () => {
  assert.equal(readConfig('{"format":"kluis-web-config/1","server":null}'), null);
  assert.equal(readConfig('{"format":"kluis-web-config/1","server":"https://kluis.example.nl"}'), "https://kluis.example.nl");
  for (const bad of ["", "[]", "{}", '{"format":"kluis-web-config/2","server":null}', '{"format":"kluis-web-config/1"}', '{"format":"kluis-web-config/1","server":"https://kluis.example.nl/x"}', '{"format":"kluis-web-config/1","server":"javascript:x"}']) {
    assert.throws(() => readConfig(bad), Error, bad);
  }
});

function recording(): { transport: Transport; urls: string[] } {
  const urls: string[] = [];
  return {
    urls,
    transport: {
      async fetch(url: string): Promise<Response> {
        urls.push(url);
        return new Response(JSON.stringify({ code: "unavailable" }), { status: 503 });
      },
      async upload(): Promise<{ status: number; text: string }> {
        throw new Error("no uploads here");
      },
    },
  };
}

test("after init with a server, the worker calls that server and no other", async () => {
  const { transport, urls } = recording();
  const handle = createHandler({ base: "http://127.0.0.1:8765", transport, store: new MemoryStore(), commonPasswords });
  const init = await handle({ type: "init", server: "https://kluis.example.nl" });
  assert.equal(init.response.ok, true);
  const login = await handle({ type: "login", username: "anna", passphrase: "lange zin over de scheur in de gevel" });
  assert.equal(login.response.ok, false);
  assert.ok(urls.length > 0);
  for (const url of urls) assert.ok(url.startsWith("https://kluis.example.nl/api/v1/"), url);
  // Chosen once: another server after a call is refused; the same one, or none, is fine.
  const again = await handle({ type: "init", server: "https://elders.example" });
  assert.equal(again.response.ok, false);
  assert.equal(!again.response.ok && again.response.error.name, "ProtocolError");
  assert.equal((await handle({ type: "init", server: "https://kluis.example.nl" })).response.ok, true);
  assert.equal((await handle({ type: "init" })).response.ok, true);
});

test("without a server the worker calls the page's own; a server that is not an origin is refused", async () => {
  const { transport, urls } = recording();
  const handle = createHandler({ base: "http://page.example", transport, store: new MemoryStore(), commonPasswords });
  const bad = await handle({ type: "init", server: "https://kluis.example.nl/kluis" });
  assert.equal(bad.response.ok, false);
  assert.equal((await handle({ type: "init", server: null })).response.ok, true);
  await handle({ type: "login", username: "anna", passphrase: "lange zin over de scheur in de gevel" });
  assert.ok(urls.length > 0);
  for (const url of urls) assert.ok(url.startsWith("http://page.example/api/v1/"), url);
});
