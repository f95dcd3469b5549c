/**
 * Sharing in the browser, end to end against a real `kluis server`, with two and more real
 * accounts, each in its own browser context (its own IndexedDB: another device):
 *
 * - a resident shares a dossier with a contractor, who finds it under "Gedeeld met mij" and
 *   opens the document; the access log says so in a sentence; she revokes, the dossier gets a
 *   new key, and the contractor cannot read a document added afterwards, also when the server
 *   gives his old grant rows back (S18); a grantee the server made up gets no new key (K5);
 * - a changed key blocks sharing with an explanation that cannot be clicked away; comparing
 *   the controlecode (typed, or the other side's QR code scanned from a picture) lifts it, and
 *   a wrong one pins nothing;
 * - the server answering with another user's record (K2), withholding the owner's own grants
 *   (K3): the security page, and nothing is shared;
 * - organisations: one the operator verified (`kluis server admin verify-org`) is shared with
 *   at once, one nobody verified only after an explicit confirmation; a member reads through
 *   the organisation with the `kluis` CLI, also after a rotation; the operator's record of a
 *   fingerprint that is not the chain's, and a pinned organisation's name given to another
 *   (K6): the security page, nothing shared;
 * - one document on its own; share and revoke by keyboard alone; axe-core on each new screen.
 */

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { after, before, test } from "node:test";

import type { Browser, Page } from "playwright-core";

import {
  addFileInUi,
  createDossierInUi,
  device,
  expectAccessible,
  expectSecurityPage,
  KLUIS,
  KluisServer,
  launch,
  registerInUi,
  screenshot,
  tabTo,
  type Device,
} from "./harness.js";

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

function dossierIdOf(page: Page): string {
  const m = /#\/dossiers\/([0-9a-f]{32})/.exec(page.url());
  assert.ok(m, `not on a dossier's page: ${page.url()}`);
  return m[1] as string;
}

function userId(username: string): string {
  return server.operator(`print(db.execute('SELECT user_id FROM users WHERE username = ?', (${JSON.stringify(username)},)).fetchone()[0])`).trim();
}

/** The grant rows of a recipient in a dossier, as the server keeps them (for the operator to give back). */
function grantRows(dossierId: string, recipientId: string): string {
  return server
    .operator(
      `import base64
rows = db.execute('SELECT grant_id, kind, document_id, number, recipient_id, rights, expires_at, dossier_id, granter_id, "grant", created_at FROM grants WHERE dossier_id = ? AND recipient_id = ?', (${JSON.stringify(dossierId)}, ${JSON.stringify(recipientId)})).fetchall()
print(json.dumps([[base64.b64encode(v).decode() if isinstance(v, bytes) else v for v in r] for r in rows]))`,
    )
    .trim();
}

function giveBack(rows: string): void {
  server.operator(`import base64
for r in json.loads(${JSON.stringify(rows)}):
    r[9] = base64.b64decode(r[9])
    db.execute('INSERT OR IGNORE INTO grants (grant_id, kind, document_id, number, recipient_id, rights, expires_at, dossier_id, granter_id, "grant", created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)', r)`);
}

/** How many grants the server holds for a recipient in a dossier (optionally of one epoch or version). */
function grantCount(dossierId: string, recipientId: string, number?: number): number {
  const extra = number === undefined ? "" : ` AND number = ${number}`;
  return Number(server.operator(`print(db.execute('SELECT count(*) FROM grants WHERE dossier_id = ? AND recipient_id = ?${extra}', (${JSON.stringify(dossierId)}, ${JSON.stringify(recipientId)})).fetchone()[0])`).trim());
}

/** A well-formed, self-signed identity record for `username`'s user id with keys the operator holds (K2, K6). */
function forgeIdentity(username: string): void {
  server.operator(`
from vault.keys import PrivateIdentity
from vault.identity import Identity
identity, = db.execute('SELECT identity FROM users WHERE username = ?', (${JSON.stringify(username)},)).fetchone()
real = Identity.decode(identity)
forged = PrivateIdentity.generate(real.user_id, real.username, real.key_version).public.encode()
db.execute('UPDATE users SET identity = ? WHERE username = ?', (forged, ${JSON.stringify(username)}))`);
}

/** Back from the security page (it stays until the person leaves it). */
async function leaveSecurityPage(d: Device): Promise<void> {
  await d.page.getByRole("button", { name: "Terug naar mijn dossiers" }).click();
  await d.page.getByRole("heading", { level: 1, name: "Mijn dossiers" }).waitFor();
}

async function openShare(page: Page, dossierId: string): Promise<void> {
  await page.goto(`/#/dossiers/${dossierId}/delen`);
  await page.getByRole("heading", { level: 1, name: "Dossier delen" }).waitFor();
  await page.getByText("Deze lijst komt uit de toegangen die u zelf heeft ondertekend.").waitFor();
}

/** Up to the form with the controlecode and the choices (the recipient's keys checked). */
async function chooseRecipient(page: Page, username: string): Promise<void> {
  await page.getByLabel("Gebruikersnaam van de ander").fill(username);
  await page.getByRole("button", { name: "Volgende" }).click();
}

async function shareInUi(page: Page, dossierId: string, username: string, options: { write?: boolean; until?: string } = {}): Promise<void> {
  await openShare(page, dossierId);
  await chooseRecipient(page, username);
  await page.getByRole("heading", { level: 2, name: `U deelt met ${username}` }).waitFor();
  if (options.write) await page.getByLabel("Lezen en documenten toevoegen").check();
  if (options.until) await page.getByLabel("Delen tot en met (niet verplicht)").fill(options.until);
  await page.getByRole("button", { name: "Delen", exact: true }).click();
  await page.getByText(`Gedeeld met ${username}.`).waitFor();
}

async function residentWithDossier(username: string, title: string, file = "schaderapport.pdf"): Promise<{ d: Device; dossierId: string }> {
  const d = await device(browser, server);
  await registerInUi(d.page, username);
  await createDossierInUi(d.page, title);
  await addFileInUi(d.page, file, `%PDF-1.4 ${title}`);
  return { d, dossierId: dossierIdOf(d.page) };
}

async function account(username: string): Promise<Device> {
  const d = await device(browser, server);
  await registerInUi(d.page, username);
  return d;
}

test("a resident shares with a contractor, who opens it in his own browser; revoke gives a new key, and later documents stay closed even with his old rows back (S18, K5)", async () => {
  const { d: anna, dossierId } = await residentWithDossier("anna", "Schade Hoofdstraat 1");
  const wierda = await account("wierda");
  const bert = await account("bert");
  const mallory = await account("mallory");

  await openShare(anna.page, dossierId);
  await screenshot(anna.page, "60-delen-leeg");
  await expectAccessible(anna.page, "Dossier delen");
  await chooseRecipient(anna.page, "wierda");
  await anna.page.getByText("Kluis ziet wierda voor het eerst op dit apparaat.", { exact: false }).waitFor();
  assert.match(await anna.page.getByTestId("controlecode").innerText(), /^(\d{5}\s+){11}\d{5}$/);
  await expectAccessible(anna.page, "Dossier delen: met wie");
  await screenshot(anna.page, "61-delen-controlecode");
  await anna.page.getByLabel("Delen tot en met (niet verplicht)").fill(`${new Date().getFullYear() + 1}-12-03`);
  await anna.page.getByRole("button", { name: "Delen", exact: true }).click();
  await anna.page.getByText("Gedeeld met wierda.").waitFor();
  await anna.page.getByText(`kan het hele dossier lezen, tot en met 3 december ${new Date().getFullYear() + 1}`).waitFor();
  await shareInUi(anna.page, dossierId, "bert", { write: true });
  await anna.page.getByText("kan het hele dossier lezen en documenten toevoegen, zonder einddatum").waitFor();
  await screenshot(anna.page, "62-delen-wie-heeft-toegang");

  // The contractor, in his own browser: "Gedeeld met mij", then the dossier and the document.
  await wierda.page.getByRole("link", { name: "Gedeeld met mij" }).click();
  await wierda.page.getByRole("heading", { level: 1, name: "Gedeeld met mij" }).waitFor();
  const shared = wierda.page.getByTestId("shared-list");
  await shared.getByText("gedeeld door anna", { exact: false }).waitFor();
  await expectAccessible(wierda.page, "Gedeeld met mij");
  await screenshot(wierda.page, "63-gedeeld-met-mij");
  await shared.getByRole("link", { name: "Schade Hoofdstraat 1" }).click();
  await wierda.page.locator('tr[data-document="schaderapport.pdf"]').waitFor();
  const download = wierda.page.waitForEvent("download");
  await wierda.page.getByRole("button", { name: "schaderapport.pdf downloaden" }).click();
  const saved = await (await download).createReadStream();
  const chunks: Buffer[] = [];
  for await (const c of saved) chunks.push(c as Buffer);
  assert.equal(Buffer.concat(chunks).toString(), "%PDF-1.4 Schade Hoofdstraat 1");

  // The resident reads it in her verified access log.
  await anna.page.goto(`/#/dossiers/${dossierId}/logboek`);
  await anna.page.getByText(/^wierda opende schaderapport\.pdf op \d+ \w+ om \d\d:\d\d$/).waitFor();

  // K5: the server files a copy of bert's grant row under mallory's id; a rotation must not
  // wrap a key for a grantee the server made up.
  const malloryId = userId("mallory");
  server.operator(`import secrets
row = list(db.execute('SELECT grant_id, kind, document_id, number, recipient_id, rights, expires_at, dossier_id, granter_id, "grant", created_at FROM grants WHERE dossier_id = ? AND recipient_id = ?', (${JSON.stringify(dossierId)}, ${JSON.stringify(userId("bert"))})).fetchone())
row[0] = secrets.token_hex(16)
row[4] = ${JSON.stringify(malloryId)}
db.execute('INSERT INTO grants (grant_id, kind, document_id, number, recipient_id, rights, expires_at, dossier_id, granter_id, "grant", created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)', row)`);

  const wierdaId = userId("wierda");
  const oldRows = grantRows(dossierId, wierdaId);
  await openShare(anna.page, dossierId);
  await anna.page.getByRole("button", { name: "Toegang intrekken: wierda" }).click();
  await anna.page.getByText("Wat al gedownload is, blijft bij de ander.", { exact: false }).waitFor();
  await expectAccessible(anna.page, "Toegang intrekken: bevestigen");
  await screenshot(anna.page, "64-toegang-intrekken");
  await anna.page.getByRole("button", { name: "Ja, toegang intrekken" }).click();
  await anna.page.getByText("De toegang van wierda is ingetrokken.").waitFor();
  await anna.page.getByText("Het dossier heeft een nieuwe sleutel.", { exact: false }).waitFor();
  await screenshot(anna.page, "65-nieuwe-sleutel");
  assert.equal(grantCount(dossierId, wierdaId), 0);
  assert.equal(grantCount(dossierId, userId("bert"), 2), 1, "bert, who keeps his share, gets the new key");
  assert.equal(grantCount(dossierId, malloryId, 2), 0, "K5: no new key for a grantee the server made up");
  assert.equal(await anna.page.getByTestId("access-row").filter({ hasText: "wierda" }).count(), 0);

  await anna.page.goto(`/#/dossiers/${dossierId}`);
  await addFileInUi(anna.page, "na-de-intrekking.pdf", "%PDF-1.4 written after the revoke");

  // Bert still reads everything, the later document too.
  await bert.page.goto(`/#/dossiers/${dossierId}`);
  await bert.page.locator('tr[data-document="na-de-intrekking.pdf"]').waitFor();

  // S18: the server gives the contractor's old rows back; his browser refuses the dossier
  // (it has no key for the new epoch) and shows nothing of the later document.
  giveBack(oldRows);
  await wierda.page.goto("/#/dossiers");
  await expectSecurityPage(wierda, "index", /niet de lijst die de eigenaar heeft ondertekend/);
  assert.equal(await wierda.page.getByText("na-de-intrekking.pdf").count(), 0);
  for (const d of [anna, wierda, bert, mallory]) await d.context.close();
});

test("a changed key blocks sharing with an explanation; a wrong controlecode pins nothing; the right one lifts the block (K6)", async () => {
  const { d: anna, dossierId } = await residentWithDossier("carla", "Scheuren schuur");
  const dirk = await account("dirk");
  await shareInUi(anna.page, dossierId, "dirk");
  const dirkId = userId("dirk");
  const before = grantCount(dossierId, dirkId);

  // The operator gives dirk keys it holds itself.
  forgeIdentity("dirk");
  await openShare(anna.page, dossierId);
  await chooseRecipient(anna.page, "dirk");
  const blocked = anna.page.getByTestId("contact-changed");
  await blocked.waitFor();
  await blocked.getByText("Kluis deelt niets tot u de nieuwe controlecode samen met dirk heeft vergeleken.", { exact: false }).waitFor();
  assert.equal(await anna.page.getByRole("button", { name: "Delen", exact: true }).count(), 0, "no way to share past the block");
  assert.equal(await blocked.getByRole("button").count(), 0, "the explanation cannot be clicked away");
  await expectAccessible(anna.page, "Delen: sleutel veranderd");
  await screenshot(anna.page, "66-delen-sleutel-veranderd");

  // Comparing with dirk's real code (his own browser shows it) does not match: nothing pinned.
  await dirk.page.goto("/#/contacten");
  const realCode = await dirk.page.getByTestId("controlecode").innerText();
  await anna.page.getByRole("link", { name: "Controlecode vergelijken" }).click();
  await anna.page.getByRole("heading", { level: 1, name: "Controlecode van dirk" }).waitFor();
  await anna.page.getByText("De sleutels van dirk zijn veranderd.", { exact: false }).waitFor();
  await expectAccessible(anna.page, "Contact: sleutel veranderd");
  await anna.page.getByLabel("Controlecode die dirk u gaf").fill(realCode);
  await anna.page.getByRole("button", { name: "Controleren" }).click();
  await expectSecurityPage(anna, "contact", /iemand zich voordoet als deze persoon/);
  await leaveSecurityPage(anna);
  await anna.page.goto(`/#/dossiers/${dossierId}/delen`);
  await chooseRecipient(anna.page, "dirk");
  await anna.page.getByTestId("contact-changed").waitFor();
  assert.equal(grantCount(dossierId, dirkId), before, "nothing was shared");

  // A typing mistake is the user's own: a message on the form.
  await anna.page.goto("/#/contacten/dirk");
  await anna.page.getByLabel("Controlecode die dirk u gaf").fill("12345 6789");
  await anna.page.getByRole("button", { name: "Controleren" }).click();
  await anna.page.getByText("Een controlecode heeft 60 cijfers, in 12 groepen van 5.").first().waitFor();

  // Dirk really has new keys (say, a new phone): they compare the new code and the block lifts.
  const newCode = await anna.page.getByTestId("controlecode").innerText();
  await anna.page.getByLabel("Controlecode die dirk u gaf").fill(newCode);
  await anna.page.getByRole("button", { name: "Controleren" }).click();
  await anna.page.getByText("De controlecode klopt. dirk is nu gecontroleerd.").waitFor();
  await openShare(anna.page, dossierId);
  await chooseRecipient(anna.page, "dirk");
  await anna.page.getByText("U heeft de controlecode van dirk gecontroleerd.").waitFor();
  for (const d of [anna, dirk]) await d.context.close();
});

test("QR verification: the resident scans a picture of the contractor's own QR code, and an unrelated code verifies nothing", async () => {
  const anna = await account("femke");
  const wierda = await account("gerrit");
  await wierda.page.goto("/#/contacten");
  await wierda.page.getByTestId("contact-qr").waitFor();
  await expectAccessible(wierda.page, "Contacten");
  await screenshot(wierda.page, "67-contacten-eigen-qr");
  const picture = await wierda.page.getByTestId("contact-qr").screenshot();
  const ownCode = await wierda.page.getByTestId("controlecode").innerText();

  await anna.page.goto("/#/contacten/gerrit");
  await anna.page.getByText("U heeft de controlecode van gerrit nog niet gecontroleerd.").waitFor();
  await expectAccessible(anna.page, "Contact controleren");
  await screenshot(anna.page, "68-contact-controleren");
  assert.equal(await anna.page.getByTestId("controlecode").innerText(), ownCode);

  // Her own QR code is not gerrit's: refused, nothing verified.
  await anna.page.goto("/#/contacten");
  const hers = await anna.page.getByTestId("contact-qr").screenshot();
  await anna.page.goto("/#/contacten/gerrit");
  await anna.page.getByTestId("qr-image").setInputFiles({ name: "qr.png", mimeType: "image/png", buffer: hers });
  await anna.page.getByText("Kluis vond geen QR-code van Kluis op deze foto.", { exact: false }).waitFor();

  await anna.page.getByTestId("qr-image").setInputFiles({ name: "qr.png", mimeType: "image/png", buffer: picture });
  await anna.page.getByText("De controlecode klopt. gerrit is nu gecontroleerd.").waitFor();
  await anna.page.goto("/#/contacten");
  await anna.page.goto("/#/contacten/gerrit");
  await anna.page.getByText("U heeft de controlecode van gerrit gecontroleerd.").waitFor();
  for (const d of [anna, wierda]) await d.context.close();
});

test("K2 and K3: another user's record for the name, or the owner's own grants withheld: the security page, nothing shared", async () => {
  const { d: anna, dossierId } = await residentWithDossier("hanna", "Fundering");
  const ids = await account("ids");
  await account("jan").then((d) => d.context.close());

  // K2: asked for "ids", the server answers with jan's record.
  const idsRecord = server.operator(`import base64
print(base64.b64encode(db.execute('SELECT identity FROM users WHERE username = ?', ('ids',)).fetchone()[0]).decode())`).trim();
  server.operator(`db.execute('UPDATE users SET identity = (SELECT identity FROM users WHERE username = ?) WHERE username = ?', ('jan', 'ids'))`);
  await openShare(anna.page, dossierId);
  await chooseRecipient(anna.page, "ids");
  await expectSecurityPage(anna, "contact", /iemand zich voordoet/);
  await leaveSecurityPage(anna);
  const idsId = userId("ids");
  assert.equal(grantCount(dossierId, idsId), 0);
  assert.equal(grantCount(dossierId, userId("jan")), 0);
  server.operator(`import base64
db.execute('UPDATE users SET identity = ? WHERE username = ?', (base64.b64decode(${JSON.stringify(idsRecord)}), 'ids'))`);

  // K3: the server withholds every grant of the owner's own: no key is made up, nothing shared.
  const annaId = userId("hanna");
  const own = grantRows(dossierId, annaId);
  await openShare(anna.page, dossierId);
  await chooseRecipient(anna.page, "ids");
  await anna.page.getByRole("heading", { level: 2, name: "U deelt met ids" }).waitFor();
  server.operator(`db.execute('DELETE FROM grants WHERE dossier_id = ? AND recipient_id = ?', (${JSON.stringify(dossierId)}, ${JSON.stringify(annaId)}))`);
  await anna.page.getByRole("button", { name: "Delen", exact: true }).click();
  await expectSecurityPage(anna, "keys", /.+/);
  assert.equal(grantCount(dossierId, idsId), 0);
  giveBack(own);
  for (const d of [anna, ids]) await d.context.close();
});

test("one document on its own: the contractor reads that document and not the others", async () => {
  const { d: anna, dossierId } = await residentWithDossier("karin", "Woonkamer", "offerte.pdf");
  await addFileInUi(anna.page, "prive.pdf", "%PDF-1.4 not for the contractor");
  const lucas = await account("lucas");
  await anna.page.getByRole("link", { name: "offerte.pdf delen" }).click();
  await anna.page.getByRole("heading", { level: 1, name: "Document delen" }).waitFor();
  await anna.page.getByText("Kies met wie u offerte.pdf deelt.", { exact: false }).waitFor();
  await chooseRecipient(anna.page, "lucas");
  await anna.page.getByRole("heading", { level: 2, name: "U deelt met lucas" }).waitFor();
  assert.equal(await anna.page.getByLabel("Lezen en documenten toevoegen").count(), 0, "a document is shared to read only");
  await anna.page.getByRole("button", { name: "Delen", exact: true }).click();
  await anna.page.getByText("Gedeeld met lucas.").waitFor();
  await anna.page.getByText("kan offerte.pdf lezen, zonder einddatum").waitFor();

  await lucas.page.goto("/#/gedeeld-met-mij");
  await lucas.page.getByRole("link", { name: "Document van karin" }).click();
  await lucas.page.locator('tr[data-document="offerte.pdf"]').waitFor();
  assert.equal(await lucas.page.locator('tr[data-document="prive.pdf"]').count(), 0);
  for (const d of [anna, lucas]) await d.context.close();
});

test("share and revoke by keyboard alone", async () => {
  const { d: anna, dossierId } = await residentWithDossier("marit", "Keuken");
  const nina = await account("nina");
  const { page } = anna;
  await page.goto(`/#/dossiers/${dossierId}`);
  await page.locator('tr[data-document="schaderapport.pdf"]').waitFor();
  await tabTo(page, "Delen en toegang");
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { level: 1, name: "Dossier delen" }).waitFor();
  await page.getByText("U heeft dit dossier nog met niemand gedeeld.").waitFor();
  await tabTo(page, "Gebruikersnaam van de ander");
  await page.keyboard.type("nina");
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { level: 2, name: "U deelt met nina" }).waitFor();
  // A radio group is one Tab stop; the arrow keys choose within it.
  await tabTo(page, "Alleen lezen");
  await page.keyboard.press("ArrowDown");
  assert.ok(await page.getByLabel("Lezen en documenten toevoegen").isChecked());
  await tabTo(page, "Delen");
  await page.keyboard.press("Enter");
  await page.getByText("Gedeeld met nina.").waitFor();
  await page.getByText("kan het hele dossier lezen en documenten toevoegen, zonder einddatum").waitFor();
  await tabTo(page, "Toegang intrekken: nina");
  await page.keyboard.press("Enter");
  await tabTo(page, "Ja, toegang intrekken");
  await page.keyboard.press("Space");
  await page.getByText("Het dossier heeft een nieuwe sleutel.", { exact: false }).waitFor();
  await page.getByText("U heeft dit dossier nog met niemand gedeeld.").waitFor();
  assert.equal(grantCount(dossierId, userId("nina")), 0);

  // On a phone-sized window nothing is cut off sideways.
  await page.setViewportSize({ width: 320, height: 640 });
  for (const [hash, name, ready] of [
    [`/#/dossiers/${dossierId}/delen`, "delen", "U heeft dit dossier nog met niemand gedeeld."],
    ["/#/contacten", "contacten", "Uw eigen controlecode"],
    ["/#/contacten/nina", "contact", "Vraag nina om de eigen controlecode voor te lezen."],
    ["/#/gedeeld-met-mij", "gedeeld-met-mij", "Er is nog niets met u gedeeld."],
  ] as const) {
    await page.goto(hash);
    await page.getByText(ready).first().waitFor();
    await screenshot(page, `320px-7x-${name}`);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `${name}: the page is ${overflow} px wider than the window`);
  }
  for (const d of [anna, nina]) await d.context.close();
});

function cli(profile: string, args: string[]): string {
  const run = server.cli(profile, args);
  assert.equal(run.status, 0, `kluis ${args.join(" ")} failed (${run.status}):\n${run.stdout}\n${run.stderr}`);
  return run.stdout;
}

/** An organisation made in the CLI by `admin`; its fingerprint. */
function organisation(admin: string, name: string): string {
  const out = cli(admin, ["org", "create", name, "--kind", "institution"]);
  const fingerprint = /\d{5}(?: \d{5}){11}/.exec(out);
  assert.ok(fingerprint, out);
  return fingerprint[0];
}

/** `kluis server admin verify-org`: the operator records the organisation's fingerprint. */
function operatorVerifies(name: string, fingerprint: string): void {
  const run = spawnSync(KLUIS, ["server", "admin", "verify-org", name, "--fingerprint", fingerprint, "--data-dir", server.dataDir], { encoding: "utf8" });
  assert.equal(run.status, 0, run.stderr);
}

function orgGrantCount(dossierId: string, name: string): number {
  return Number(
    server.operator(`print(db.execute('SELECT count(*) FROM grants WHERE dossier_id = ? AND recipient_id = (SELECT org_id FROM organisations WHERE name = ?)', (${JSON.stringify(dossierId)}, ${JSON.stringify(name)})).fetchone()[0])`).trim(),
  );
}

test("organisations: a verified one is shared with, an unverified one only after a clear confirmation; a member reads through it after a rotation (13.2, 11.2)", async () => {
  cli("profile-ada", ["register", "ada"]);
  const verifiedPrint = organisation("profile-ada", "img-test");
  operatorVerifies("img-test", verifiedPrint);
  organisation("profile-ada", "nep-img");
  const { d: anna, dossierId } = await residentWithDossier("olga", "Schade Kerkstraat 4");
  const piet = await account("piet");

  await openShare(anna.page, dossierId);
  await chooseRecipient(anna.page, "@img-test");
  await anna.page.getByText("De beheerder van Kluis heeft gecontroleerd dat dit echt img-test is.").waitFor();
  assert.equal(await anna.page.getByTestId("controlecode").innerText(), verifiedPrint);
  await anna.page.getByRole("button", { name: "Delen", exact: true }).click();
  await anna.page.getByText("Gedeeld met @img-test.").waitFor();
  await anna.page.getByRole("heading", { level: 3, name: "organisatie img-test" }).waitFor();
  const listed = JSON.parse(cli("profile-ada", ["ls", dossierId, "--json"])) as { name: string }[];
  assert.deepEqual(listed.map((d) => d.name), ["schaderapport.pdf"]);

  // Nobody verified nep-img: a plain warning, and no share without the explicit confirmation.
  await chooseRecipient(anna.page, "@nep-img");
  await anna.page.getByTestId("organisation-unverified").getByText("Niemand heeft gecontroleerd dat dit echt nep-img is").waitFor();
  await expectAccessible(anna.page, "Delen met een niet gecontroleerde organisatie");
  await screenshot(anna.page, "69-delen-organisatie-niet-gecontroleerd");
  await anna.page.getByRole("button", { name: "Delen", exact: true }).click();
  await anna.page.getByText("Deze organisatie is niet gecontroleerd. Vink eerst aan dat u toch wilt delen.").waitFor();
  assert.equal(orgGrantCount(dossierId, "nep-img"), 0);
  // A code from a letter that is not nep-img's (it is img-test's): the security page, nothing pinned.
  await anna.page.getByLabel("Controlecode op de brief of e-mail van nep-img").fill(verifiedPrint);
  await anna.page.getByRole("button", { name: "Controleren" }).click();
  await expectSecurityPage(anna, "contact", /.+/);
  await leaveSecurityPage(anna);
  await openShare(anna.page, dossierId);
  await chooseRecipient(anna.page, "@nep-img");
  await anna.page.getByTestId("organisation-unverified").waitFor();
  await anna.page.getByLabel("Ik weet dat niemand heeft gecontroleerd dat dit echt nep-img is. Ik wil toch delen.").check();
  await anna.page.getByRole("button", { name: "Delen", exact: true }).click();
  await anna.page.getByText("Gedeeld met @nep-img.").waitFor();
  assert.ok(orgGrantCount(dossierId, "nep-img") > 0);

  // The person compares a third organisation's code with its letter and types it: verified.
  const letterPrint = organisation("profile-ada", "wmo-test");
  await chooseRecipient(anna.page, "@wmo-test");
  await anna.page.getByTestId("organisation-unverified").waitFor();
  await anna.page.getByLabel("Controlecode op de brief of e-mail van wmo-test").fill(letterPrint.replaceAll(" ", ""));
  await anna.page.getByRole("button", { name: "Controleren" }).click();
  await anna.page.getByText("U heeft de controlecode van wmo-test gecontroleerd.").waitFor();
  await anna.page.getByRole("button", { name: "Delen", exact: true }).click();
  await anna.page.getByText("Gedeeld met @wmo-test.").waitFor();
  assert.ok(orgGrantCount(dossierId, "wmo-test") > 0);

  // Revoking a person rotates the dossier key; the organisations keep access with the new key.
  await shareInUi(anna.page, dossierId, "piet");
  await anna.page.getByRole("button", { name: "Toegang intrekken: piet" }).click();
  await anna.page.getByRole("button", { name: "Ja, toegang intrekken" }).click();
  await anna.page.getByText("Het dossier heeft een nieuwe sleutel.", { exact: false }).waitFor();
  await anna.page.goto(`/#/dossiers/${dossierId}`);
  await addFileInUi(anna.page, "na-rotatie.pdf", "%PDF-1.4 after the rotation");
  const after = JSON.parse(cli("profile-ada", ["ls", dossierId, "--json"])) as { name: string }[];
  assert.deepEqual(after.map((d) => d.name).sort(), ["na-rotatie.pdf", "schaderapport.pdf"]);
  for (const d of [anna, piet]) await d.context.close();
});

test("K6: the operator's record of another fingerprint, or a pinned organisation's name given to another: the security page, nothing shared", async () => {
  cli("profile-bas", ["register", "bas"]);
  const realPrint = organisation("profile-bas", "gemeente-test");
  operatorVerifies("gemeente-test", realPrint);
  organisation("profile-bas", "gemeente-nep");
  const { d: anna, dossierId } = await residentWithDossier("rita", "Schade Dorpsweg 9");

  // The server marks gemeente-nep as verified with the real municipality's fingerprint.
  server.operator(`db.execute("UPDATE organisations SET verified_fingerprint = ?, verified_at = 1 WHERE name = 'gemeente-nep'", (${JSON.stringify(realPrint)},))`);
  await openShare(anna.page, dossierId);
  await chooseRecipient(anna.page, "@gemeente-nep");
  await expectSecurityPage(anna, "keys", /sleutels van een account kloppen niet/);
  await leaveSecurityPage(anna);
  assert.equal(orgGrantCount(dossierId, "gemeente-nep"), 0);

  // This browser pinned gemeente-test; the server then gives that name to gemeente-nep.
  await openShare(anna.page, dossierId);
  await chooseRecipient(anna.page, "@gemeente-test");
  await anna.page.getByText("De beheerder van Kluis heeft gecontroleerd dat dit echt gemeente-test is.").waitFor();
  server.operator(`db.execute("UPDATE organisations SET name = 'gemeente-oud' WHERE name = 'gemeente-test'")
db.execute("UPDATE organisations SET name = 'gemeente-test', verified_fingerprint = NULL WHERE name = 'gemeente-nep'")`);
  await anna.page.getByRole("button", { name: "Delen", exact: true }).click();
  await expectSecurityPage(anna, "contact", /.+/);
  assert.equal(Number(server.operator(`print(db.execute("SELECT count(*) FROM grants WHERE dossier_id = ? AND recipient_id IN (SELECT org_id FROM organisations)", (${JSON.stringify(dossierId)},)).fetchone()[0])`).trim()), 0);
  await anna.context.close();
});
