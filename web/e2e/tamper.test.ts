/**
 * The server operator tampers with what it stores, between the resident's steps (its SQLite
 * rows and blob files edited directly, as tests/adversarial/harness.py does), and the browser
 * fails closed, visibly: the full-page "Veiligheidscontrole mislukt", the check that failed in
 * plain Dutch, and nothing saved (no download happens). Four classes of threats.md:
 * D9 (a flipped payload byte), D7/K4 (a header swapped in from another document), D13 (a
 * document withheld), D12 (an older signed index put back).
 */

import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";

import type { Browser } from "playwright-core";

import { addFileInUi, createDossierInUi, device, expectAccessible, expectSecurityPage, KluisServer, launch, registerInUi, screenshot, type Device } from "./harness.js";

let server: KluisServer;
let browser: Browser;
let anna: Device;
let downloads = 0;
const docs: Record<string, string> = {};

function newestDocument(): string {
  return server.operator("print(db.execute('SELECT document_id FROM versions ORDER BY rowid DESC LIMIT 1').fetchone()[0])").trim();
}

function blobPath(documentId: string): string {
  const key = server.operator(`print(db.execute('SELECT blob_key FROM versions WHERE document_id = ? AND version = 1', (${JSON.stringify(documentId)},)).fetchone()[0])`).trim();
  return join(server.dataDir, "blobs", key.slice(0, 2), key);
}

async function openDossier(): Promise<void> {
  const back = anna.page.getByRole("button", { name: "Terug naar mijn dossiers" });
  if (await back.isVisible()) await back.click();
  await anna.page.goto("/#/dossiers");
  await anna.page.getByRole("link", { name: "Schade Kerkstraat 3" }).click();
}

before(async () => {
  server = await KluisServer.start();
  browser = await launch();
  anna = await device(browser, server);
  anna.page.on("download", () => downloads++);
  await registerInUi(anna.page, "anna");
  await createDossierInUi(anna.page, "Schade Kerkstraat 3");
  await addFileInUi(anna.page, "schaderapport.pdf", "%PDF-1.4 schaderapport ".repeat(200));
  docs["report"] = newestDocument();
  await addFileInUi(anna.page, "offerte-aannemer.pdf", "%PDF-1.4 offerte ".repeat(100));
  docs["quote"] = newestDocument();
  await anna.page.goto("/#/dossiers");
  await createDossierInUi(anna.page, "Schade schuur");
  await addFileInUi(anna.page, "foto-schuur.jpg", "JPEG stand-in ".repeat(100), "image/jpeg");
  docs["barn"] = newestDocument();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test("D9: a flipped byte in a stored payload: the download stops on the security page, nothing is saved", async () => {
  const path = blobPath(docs["report"] as string);
  const original = readFileSync(path);
  const flipped = Buffer.from(original);
  flipped[100] = (flipped[100] as number) ^ 0x01;
  writeFileSync(path, flipped);
  try {
    await openDossier();
    await anna.page.getByRole("button", { name: "schaderapport.pdf downloaden" }).click();
    await expectSecurityPage(anna, "content", /De inhoud van een document is veranderd/);
    await expectAccessible(anna.page, "veiligheidscontrole mislukt (D9)");
    await screenshot(anna.page, "20-veiligheidscontrole-inhoud");
    assert.equal(downloads, 0);
  } finally {
    writeFileSync(path, original);
  }
  // Put back, the same document opens: the failure saved nothing and broke nothing.
  await anna.page.getByRole("button", { name: "Terug naar mijn dossiers" }).click();
  await anna.page.getByRole("link", { name: "Schade Kerkstraat 3" }).click();
  const [download] = await Promise.all([anna.page.waitForEvent("download"), anna.page.getByRole("button", { name: "schaderapport.pdf downloaden" }).click()]);
  assert.equal(download.suggestedFilename(), "schaderapport.pdf");
  downloads = 0;
});

test("D7/K4: another document's header swapped in: the dossier does not open, the security page says so", async () => {
  const report = docs["report"] as string;
  const quote = docs["quote"] as string;
  const take = (doc: string): string => `db.execute('SELECT header FROM versions WHERE document_id = ? AND version = 1', (${JSON.stringify(doc)},)).fetchone()[0]`;
  server.operator(`
report, quote = ${take(report)}, ${take(quote)}
db.execute('UPDATE versions SET header = ? WHERE document_id = ? AND version = 1', (quote, ${JSON.stringify(report)}))
open(data / 'report-header', 'wb').write(report)`);
  try {
    await openDossier();
    await expectSecurityPage(anna, "header", /De gegevens bij een document kloppen niet/);
    await screenshot(anna.page, "21-veiligheidscontrole-verwisseld");
    assert.equal(downloads, 0);
    assert.equal(await anna.page.locator("tr[data-document]").count(), 0, "no document is listed");
  } finally {
    server.operator(`db.execute('UPDATE versions SET header = ? WHERE document_id = ? AND version = 1', (open(data / 'report-header', 'rb').read(), ${JSON.stringify(report)}))`);
  }
});

test("D13: a document the owner's signed index lists is withheld: the dossier does not open, the security page says so", async () => {
  const barn = JSON.stringify(docs["barn"]);
  server.operator(`
db.execute('DELETE FROM versions WHERE document_id = ?', (${barn},))
db.execute('DELETE FROM documents WHERE document_id = ?', (${barn},))`);
  const back = anna.page.getByRole("button", { name: "Terug naar mijn dossiers" });
  if (await back.isVisible()) await back.click();
  await anna.page.goto("/#/dossiers");
  await anna.page.getByRole("link", { name: "Schade schuur" }).click();
  await expectSecurityPage(anna, "withheld", /houdt een document achter/);
  await screenshot(anna.page, "23-veiligheidscontrole-achtergehouden");
  assert.equal(downloads, 0);
});

test("D12: an older signed index put back: the dossier does not open, the security page names the rollback", async () => {
  // The operator keeps the index as it is now; the resident adds a document (a newer index).
  const report = JSON.stringify(docs["report"]);
  server.operator(`
dossier = db.execute('SELECT dossier_id FROM versions WHERE document_id = ?', (${report},)).fetchone()[0]
row = db.execute('SELECT "index", index_counter FROM dossiers WHERE dossier_id = ?', (dossier,)).fetchone()
open(data / 'old-index', 'wb').write(row[0])
open(data / 'old-counter', 'w').write(str(row[1]))`);
  await openDossier();
  await addFileInUi(anna.page, "foto-scheur.jpg", "JPEG stand-in ".repeat(300), "image/jpeg");
  // ... then puts the older one back, counter and all.
  server.operator(`
dossier = db.execute('SELECT dossier_id FROM versions WHERE document_id = ?', (${report},)).fetchone()[0]
db.execute('UPDATE dossiers SET "index" = ?, index_counter = ? WHERE dossier_id = ?', (open(data / 'old-index', 'rb').read(), int(open(data / 'old-counter').read()), dossier))`);
  // Every dossier is verified before it is listed: the list itself stops.
  await anna.page.getByRole("link", { name: "Terug naar mijn dossiers" }).click();
  await expectSecurityPage(anna, "rollback", /oudere versie/);
  await screenshot(anna.page, "22-veiligheidscontrole-oudere-versie");
  assert.equal(downloads, 0);
  assert.deepEqual(anna.problems, []);
});
