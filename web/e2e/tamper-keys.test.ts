/**
 * The server operator substitutes keys or weakens the login, and the browser fails closed
 * (tests/adversarial/test_keys.py and test_login_and_sharing.py, replayed against the browser):
 * K1 (my own identity record rewritten), K2 (a contact's keys swapped after this browser pinned
 * them, or another user's record given on first sight), L14 (weaker Argon2id parameters in the
 * prelogin) end on the full security page, with no session kept and, for L14, no login key
 * sent. L15 (a damaged key bundle) is the one case that must not show it: it reads exactly as
 * a wrong passphrase, so the server learns nothing from the difference.
 */

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import type { Browser, Request } from "playwright-core";

import { device, expectAccessible, expectSecurityPage, KluisServer, launch, loginInUi, PASSPHRASE, registerInUi, screenshot, type Device } from "./harness.js";

let server: KluisServer;
let browser: Browser;

before(async () => {
  server = await KluisServer.start();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** Every request the page and its worker made, as "METHOD /path". */
function recordRequests(d: Device): string[] {
  const seen: string[] = [];
  d.context.on("request", (r: Request) => {
    seen.push(`${r.method()} ${new URL(r.url()).pathname}`);
  });
  return seen;
}

function cli(profile: string, args: string[]): string {
  const run = server.cli(profile, args);
  assert.equal(run.status, 0, `kluis ${args.join(" ")} failed (${run.status}):\n${run.stdout}\n${run.stderr}`);
  return run.stdout;
}

/** A well-formed, self-signed identity record for `username`'s user id with keys the operator holds. */
function forgeIdentity(username: string): void {
  server.operator(`
from vault.keys import PrivateIdentity
user_id, identity = db.execute('SELECT user_id, identity FROM users WHERE username = ?', (${JSON.stringify(username)},)).fetchone()
from vault.identity import Identity
real = Identity.decode(identity)
forged = PrivateIdentity.generate(real.user_id, real.username, real.key_version).public.encode()
db.execute('UPDATE users SET identity = ? WHERE username = ?', (forged, ${JSON.stringify(username)}))`);
}

/** The browser kept no session: leaving the page the failure showed (without a reload, which
 * would forget the worker's keys anyway), the dossiers' address shows the login page. */
async function expectLoggedOut(d: Device): Promise<void> {
  const back = d.page.getByRole("button", { name: "Terug naar mijn dossiers" });
  if (await back.isVisible()) await back.click();
  await d.page.goto("/#/dossiers");
  await d.page.getByRole("heading", { level: 1, name: "Inloggen" }).waitFor();
}

async function tryLogin(d: Device, username: string, passphrase = PASSPHRASE): Promise<void> {
  await d.page.goto("/#/inloggen");
  await d.page.getByRole("heading", { level: 1, name: "Inloggen" }).waitFor();
  await d.page.getByLabel("Gebruikersnaam").fill(username);
  await d.page.getByLabel("Wachtwoordzin").fill(passphrase);
  await d.page.getByRole("button", { name: "Inloggen" }).click();
}

test("K1: the server rewrites my identity record: the login stops on the security page, no session is kept", async () => {
  const first = await device(browser, server);
  await registerInUi(first.page, "carola");
  await first.context.close();
  forgeIdentity("carola");
  // The device that registered pinned its keys; a new device has only the bundle to go by.
  const laptop = await device(browser, server);
  await tryLogin(laptop, "carola");
  await expectSecurityPage(laptop, "keys", /De sleutels van een account kloppen niet/);
  await expectAccessible(laptop.page, "veiligheidscontrole mislukt (K1)");
  await screenshot(laptop.page, "24-veiligheidscontrole-eigen-sleutels");
  await expectLoggedOut(laptop);
  await laptop.context.close();
});

test("K1: the server shows another user's record and bundle as mine: the login is refused, no session is kept", async () => {
  const a = await device(browser, server);
  await registerInUi(a.page, "dirk");
  await a.context.close();
  cli("profile-eva", ["register", "eva"]);
  server.operator(`
identity, bundle = db.execute("SELECT identity, passphrase_bundle FROM users WHERE username = 'eva'").fetchone()
db.execute("UPDATE users SET identity = ?, passphrase_bundle = ? WHERE username = 'dirk'", (identity, bundle))`);
  const laptop = await device(browser, server);
  await tryLogin(laptop, "dirk");
  // Either the bundle does not open (a wrong passphrase) or the keys are not dirk's: never a session.
  const failure = laptop.page.getByTestId("security-failure");
  const wrong = laptop.page.getByText("De gebruikersnaam of de wachtwoordzin klopt niet. Probeer het opnieuw.");
  await failure.or(wrong).first().waitFor();
  await expectLoggedOut(laptop);
  await laptop.context.close();
});

test("K2: a contact's keys swapped after this browser pinned them: the shared dossier does not open, the security page says so", async () => {
  const anna = await device(browser, server);
  await registerInUi(anna.page, "anna");
  cli("profile-bouwer", ["register", "bouwer"]);
  cli("profile-bouwer", ["dossier", "create", "Schade Dorpsstraat 1"]);
  const [dossier] = JSON.parse(cli("profile-bouwer", ["dossier", "list", "--json"])) as { id: string }[];
  cli("profile-bouwer", ["add", (dossier as { id: string }).id, server.file("offerte.pdf", "%PDF-1.4 offerte ".repeat(50))]);
  cli("profile-bouwer", ["share", (dossier as { id: string }).id, "anna"]);
  // anna's browser sees bouwer's dossier and pins bouwer's keys on first sight.
  await anna.page.reload();
  await loginInUi(anna.page, "anna");
  await anna.page.getByRole("link", { name: "Schade Dorpsstraat 1" }).waitFor();
  forgeIdentity("bouwer");
  await anna.page.reload();
  await tryLogin(anna, "anna");
  await expectSecurityPage(anna, "keys", /De sleutels van een account kloppen niet/);
  await expectAccessible(anna.page, "veiligheidscontrole mislukt (K2)");
  await screenshot(anna.page, "25-veiligheidscontrole-sleutels-contact");
  assert.deepEqual(anna.problems, []);
  await anna.context.close();
});

test("K2: on first sight the server answers with another user's record for the owner: the dossier list stops on the security page", async () => {
  const fenna = await device(browser, server);
  await registerInUi(fenna.page, "fenna");
  cli("profile-gerrit", ["register", "gerrit"]);
  cli("profile-gerrit", ["dossier", "create", "Schade Kerkpad 9"]);
  const [dossier] = JSON.parse(cli("profile-gerrit", ["dossier", "list", "--json"])) as { id: string }[];
  cli("profile-gerrit", ["share", (dossier as { id: string }).id, "fenna"]);
  cli("profile-mallory", ["register", "mallory"]);
  // Before fenna's browser ever sees gerrit, the operator answers for gerrit with mallory's record.
  server.operator(`
identity = db.execute("SELECT identity FROM users WHERE username = 'mallory'").fetchone()[0]
db.execute("UPDATE users SET identity = ? WHERE username = 'gerrit'", (identity,))`);
  await fenna.page.reload();
  await tryLogin(fenna, "fenna");
  await expectSecurityPage(fenna, "keys", /De sleutels van een account kloppen niet/);
  assert.equal(await fenna.page.getByRole("link", { name: "Schade Kerkpad 9" }).count(), 0);
  await fenna.context.close();
});

test("L14: the server asks for weaker Argon2id parameters: the security page, and no login key is sent", async () => {
  const h = await device(browser, server);
  await registerInUi(h.page, "hanna");
  await h.context.close();
  server.operator(`db.execute("UPDATE users SET kdf_memory_kib = 8192, kdf_iterations = 1 WHERE username = 'hanna'")`);
  const laptop = await device(browser, server);
  const seen = recordRequests(laptop);
  await tryLogin(laptop, "hanna");
  await expectSecurityPage(laptop, "kdf", /zwakkere beveiliging van uw wachtwoordzin/);
  await expectAccessible(laptop.page, "veiligheidscontrole mislukt (L14)");
  await screenshot(laptop.page, "26-veiligheidscontrole-zwakkere-beveiliging");
  assert.ok(seen.includes("POST /api/v1/auth/prelogin"), `the prelogin was asked: ${seen.join(", ")}`);
  assert.deepEqual(seen.filter((r) => r.includes("/auth/login")), [], "no login key derived from weak parameters is sent");
  await expectLoggedOut(laptop);
  await laptop.context.close();
});

test("L15: a damaged key bundle reads exactly as a wrong passphrase (no security page, no session)", async () => {
  const i = await device(browser, server);
  await registerInUi(i.page, "ingrid");
  await i.context.close();
  const laptop = await device(browser, server);
  await tryLogin(laptop, "ingrid", `${PASSPHRASE} typo`);
  const alert = laptop.page.locator(".utrecht-alert");
  await alert.waitFor();
  const wrong = await alert.innerText();
  server.operator(`
bundle = bytearray(db.execute("SELECT passphrase_bundle FROM users WHERE username = 'ingrid'").fetchone()[0])
bundle[-5] ^= 1
db.execute("UPDATE users SET passphrase_bundle = ? WHERE username = 'ingrid'", (bytes(bundle),))`);
  await laptop.page.reload();
  await tryLogin(laptop, "ingrid");
  await laptop.page.locator(".utrecht-alert").waitFor();
  assert.equal(await laptop.page.locator(".utrecht-alert").innerText(), wrong, "a tampered bundle says exactly what a wrong passphrase says");
  assert.equal(await laptop.page.getByTestId("security-failure").count(), 0);
  await expectAccessible(laptop.page, "inloggen mislukt (L15)");
  await expectLoggedOut(laptop);
  await laptop.context.close();
});
