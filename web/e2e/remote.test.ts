/**
 * `kluis web --server URL`: the web app of the installed package, served on 127.0.0.1 by the
 * user's own `kluis`, talking to a remote `kluis server` through CORS (KLUIS_WEB_ORIGINS names
 * the local page's origin). The page registers, creates a dossier, adds a document, logs out
 * and in, and lists the dossier, all on the remote server (the CLI finds them there); it shows
 * which server it works with; its CSP allows exactly that server. A page whose origin the
 * server does not name cannot reach it.
 */

import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { after, before, test } from "node:test";

import type { Browser } from "playwright-core";

import { addFileInUi, createDossierInUi, device, expectAccessible, KLUIS, KluisServer, launch, loginInUi, PASSPHRASE, registerInUi, screenshot } from "./harness.js";

const REPORT = "%PDF-1.4 scheur in de gevel\n";
const BIG = new Uint8Array(randomBytes(9 * 1024 * 1024 + 123));

/** A free loopback port (for the origin the server must name before the page runs). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0));
    });
  });
}

/** `kluis web --server URL --port PORT`, until it printed its local address. */
async function kluisWeb(server: string, port: number): Promise<{ url: string; process: ChildProcess; output: () => string }> {
  const child = spawn(KLUIS, ["web", "--server", server, "--port", String(port)], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1" } });
  let output = "";
  const url = await new Promise<string>((resolveUrl, reject) => {
    const seen = (chunk: Buffer): void => {
      output += chunk.toString();
      const m = output.match(/^ {2}(http:\/\/127\.0\.0\.1:\d+)\/$/m);
      if (m) resolveUrl(m[1] as string);
    };
    child.stdout?.on("data", seen);
    child.stderr?.on("data", seen);
    child.on("exit", (code) => reject(new Error(`kluis web exited with ${code}:\n${output}`)));
  });
  return { url, process: child, output: () => output };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    await exited;
  }
}

let server: KluisServer;
let local: { url: string; process: ChildProcess };
let stranger: { url: string; process: ChildProcess };
let browser: Browser;

before(async () => {
  const port = await freePort();
  server = await KluisServer.start({ KLUIS_WEB_ORIGINS: `http://127.0.0.1:${port}` });
  local = await kluisWeb(server.url, port);
  stranger = await kluisWeb(server.url, 0); // an origin the server does not name
  browser = await launch();
});

after(async () => {
  await browser?.close();
  if (local) await stop(local.process);
  if (stranger) await stop(stranger.process);
  await server?.stop();
});

test("the page from kluis web registers, adds, logs in and lists on the remote server, and says which server it works with", async () => {
  assert.notEqual(new URL(local.url).origin, new URL(server.url).origin);
  const answer = await fetch(local.url + "/");
  const csp = answer.headers.get("content-security-policy") ?? "";
  assert.match(csp, new RegExp(`(^|; )connect-src 'self' ${server.url.replace(/[.]/g, "\\.")}(;|$)`));
  assert.equal(answer.headers.get("integrity-policy"), "blocked-destinations=(script)");

  const d = await device(browser, local);
  const { page } = d;
  assert.equal(new URL(page.url()).origin, local.url);
  await page.getByText(`Server: ${server.url}`).waitFor();
  await registerInUi(page, "anna");
  await createDossierInUi(page, "Schade Molenweg 7");
  await addFileInUi(page, "rapport.pdf", REPORT);
  // Over 8 MiB: up in parts (PUT with kluis-part-blake3, a preflight of its own).
  await addFileInUi(page, "opname.bin", BIG, "application/octet-stream");
  // And down again, in the browser: the payload through CORS, checked, byte for byte.
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "rapport.pdf downloaden" }).click()]);
  assert.equal(readFileSync((await download.path()) as string, "utf8"), REPORT);
  await expectAccessible(page, "kluis web: dossier");
  await screenshot(page, "70-kluis-web-dossier");
  await page.getByRole("button", { name: "Uitloggen" }).click();
  await page.getByRole("heading", { level: 1, name: "Inloggen" }).waitFor();
  await loginInUi(page, "anna");
  await page.getByRole("link", { name: "Schade Molenweg 7" }).waitFor();
  await expectAccessible(page, "kluis web: mijn dossiers");
  await screenshot(page, "71-kluis-web-dossiers");
  assert.deepEqual(d.problems, []);

  // Everything is on the remote server: the CLI, logged in there, finds it.
  const login = server.cli("profile-anna", ["login", "anna"], { KLUIS_PASSPHRASE: PASSPHRASE });
  assert.equal(login.status, 0, login.stderr);
  const listed = server.cli("profile-anna", ["dossier", "list", "--json"]);
  assert.equal(listed.status, 0, listed.stderr);
  const dossiers = JSON.parse(listed.stdout) as { id: string; title: string }[];
  assert.deepEqual(dossiers.map((x) => x.title), ["Schade Molenweg 7"]);
  const files = JSON.parse(server.cli("profile-anna", ["ls", (dossiers[0] as { id: string }).id, "--json"]).stdout) as { name: string }[];
  assert.deepEqual(files.map((f) => f.name).sort(), ["opname.bin", "rapport.pdf"]);
  const out = join(server.root, "opname.bin");
  const got = server.cli("profile-anna", ["get", "opname.bin", "-o", out]);
  assert.equal(got.status, 0, got.stderr);
  assert.ok(readFileSync(out).equals(Buffer.from(BIG)), "the document in parts arrived whole on the remote server");
  await d.context.close();
});

test("a page from an origin the server does not name cannot reach it", async () => {
  const d = await device(browser, stranger);
  const { page } = d;
  await page.getByText(`Server: ${server.url}`).waitFor();
  await page.goto(stranger.url + "/#/inloggen");
  await page.getByRole("heading", { level: 1, name: "Inloggen" }).waitFor();
  await page.getByLabel("Gebruikersnaam").fill("anna");
  await page.getByLabel("Wachtwoordzin").fill(PASSPHRASE);
  await page.getByRole("button", { name: "Inloggen" }).click();
  // The browser refuses the answer (no Access-Control-Allow-Origin for this origin): to the
  // page, the server did not answer.
  await page.getByText("De server van Kluis geeft geen antwoord.", { exact: false }).waitFor();
  await screenshot(page, "72-kluis-web-andere-herkomst");
  assert.equal(await page.getByRole("heading", { level: 1, name: "Mijn dossiers" }).count(), 0);
  // And the server answered it without CORS headers (what the browser went by).
  const preflight = await fetch(server.url + "/api/v1/auth/prelogin", {
    method: "OPTIONS",
    headers: { origin: stranger.url, "access-control-request-method": "POST", "access-control-request-headers": "content-type" },
  });
  assert.equal(preflight.headers.get("access-control-allow-origin"), null);
  const allowed = await fetch(server.url + "/api/v1/auth/prelogin", {
    method: "OPTIONS",
    headers: { origin: local.url, "access-control-request-method": "POST", "access-control-request-headers": "content-type" },
  });
  assert.equal(allowed.headers.get("access-control-allow-origin"), local.url);
  await d.context.close();
});
