/**
 * The resident's whole flow in Chromium, in Dutch, by mouse: create an account (the recovery
 * code shown once and two of its words asked back), a dossier, add a report and a photo,
 * download the report (byte for byte), preview the photo, add a new version, open an older
 * version, read the access log, switch language, log out and in again. axe-core checks every
 * screen against WCAG 2.2 AA; every screen is photographed at 1280 px, and again at 320 px
 * wide and at 200% zoom.
 */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";

import type { Browser, Page } from "playwright-core";

import { axeScreens, device, expectAccessible, KluisServer, launch, PASSPHRASE, pngBytes, screenshot, type Device } from "./harness.js";

const REPORT = "%PDF-1.4\n% Schaderapport: scheur in de gevel, 3 mm breed.\n".repeat(50);
const REPORT_V2 = "%PDF-1.4\n% Schaderapport, herzien: scheur nu 5 mm breed.\n".repeat(50);

let server: KluisServer;
let browser: Browser;
let anna: Device;

before(async () => {
  server = await KluisServer.start();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  console.log(`axe checked: ${axeScreens.join(", ")}`);
});

async function look(page: Page, name: string): Promise<void> {
  await expectAccessible(page, name);
  await screenshot(page, name);
}

async function loginAs(page: Page, username: string): Promise<void> {
  await page.getByLabel("Gebruikersnaam").fill(username);
  await page.getByLabel("Wachtwoordzin").fill(PASSPHRASE);
  await page.getByRole("button", { name: "Inloggen" }).click();
  await page.getByRole("heading", { level: 1, name: "Mijn dossiers" }).waitFor();
}

test("a resident registers, keeps a dossier and reads its log, in Dutch, by mouse", async () => {
  anna = await device(browser, server);
  const { page } = anna;

  await page.getByRole("heading", { level: 1, name: "Inloggen" }).waitFor();
  assert.equal(await page.evaluate(() => document.documentElement.lang), "nl");
  await look(page, "01-inloggen");

  await page.getByRole("link", { name: "Account aanmaken" }).click();
  await page.getByRole("heading", { level: 1, name: "Account aanmaken" }).waitFor();
  await look(page, "02-account-aanmaken");
  await page.getByLabel("Gebruikersnaam").fill("anna");
  // The passphrase rule (format section 18): a common password is refused, and says why.
  await page.getByLabel("Wachtwoordzin", { exact: true }).fill("password1234");
  await page.getByLabel("Wachtwoordzin nog een keer").fill("password1234");
  await page.getByRole("button", { name: "Account aanmaken" }).click();
  await page.getByText("Deze wachtwoordzin wordt heel veel gebruikt").waitFor();
  await look(page, "02c-account-aanmaken-zwakke-wachtwoordzin");
  await page.getByLabel("Wachtwoordzin", { exact: true }).fill(PASSPHRASE);
  await page.getByLabel("Wachtwoordzin nog een keer").fill(PASSPHRASE + " ");
  await page.getByRole("button", { name: "Account aanmaken" }).click();
  await page.getByText("De twee wachtwoordzinnen zijn niet hetzelfde").waitFor();
  await look(page, "02b-account-aanmaken-fout");
  await page.getByLabel("Wachtwoordzin nog een keer").fill(PASSPHRASE);
  await page.getByRole("button", { name: "Account aanmaken" }).click();

  await page.getByRole("heading", { level: 1, name: "Uw herstelcode" }).waitFor();
  const words = (await page.getByTestId("recovery-words").locator(".kluis-words__w").allTextContents()).map((w) => w.trim());
  assert.equal(words.length, 24);
  await look(page, "03-herstelcode");
  await page.getByRole("button", { name: "Ik heb de code opgeschreven" }).click();
  await page.getByRole("heading", { level: 1, name: "Controleer uw herstelcode" }).waitFor();
  const labels = await page.locator("label").allTextContents();
  const positions = labels.map((l) => Number(l.replace("Woord ", "")));
  assert.equal(positions.length, 2);
  // A wrong word is refused, with the reason next to the field.
  await page.getByLabel(`Woord ${positions[0]}`, { exact: true }).fill("fout");
  await page.getByLabel(`Woord ${positions[1]}`, { exact: true }).fill(words[(positions[1] as number) - 1] as string);
  await page.getByRole("button", { name: "Controleren" }).click();
  await page.getByText("Dit woord klopt niet").waitFor();
  await look(page, "04-herstelcode-controleren");
  await page.getByLabel(`Woord ${positions[0]}`, { exact: true }).fill((words[(positions[0] as number) - 1] as string).toUpperCase());
  await page.getByRole("button", { name: "Controleren" }).click();

  await page.getByRole("heading", { level: 1, name: "Mijn dossiers" }).waitFor();
  await page.getByText("U heeft nog geen dossier.").waitFor();
  await page.getByText("Ingelogd als anna").waitFor();
  await look(page, "05-mijn-dossiers-leeg");

  await page.getByRole("button", { name: "Dossier maken" }).click();
  await page.getByText("Geef het dossier een naam.").waitFor();
  await page.getByLabel("Naam van het dossier").fill("Schade Hoofdstraat 12, Loppersum");
  await page.getByRole("button", { name: "Dossier maken" }).click();
  await page.getByRole("heading", { level: 1, name: "Schade Hoofdstraat 12, Loppersum" }).waitFor();
  await page.getByText("Er staan nog geen documenten in dit dossier.").waitFor();
  await look(page, "06-dossier-leeg");

  // Two files at once through the file picker.
  await page.getByTestId("add-files").setInputFiles([
    { name: "schaderapport.pdf", mimeType: "application/pdf", buffer: Buffer.from(REPORT) },
    { name: "foto-scheur-gevel.png", mimeType: "image/png", buffer: Buffer.from(pngBytes()) },
  ]);
  await page.getByText("2 documenten toegevoegd.").waitFor();
  const rows = page.getByTestId("documents").locator("tbody tr");
  await rows.nth(1).waitFor();
  assert.equal(await rows.count(), 2);
  const report = page.locator('tr[data-document="schaderapport.pdf"]');
  await report.getByText("Ondertekend en ongewijzigd").waitFor();
  assert.match(await report.innerText(), /schaderapport\.pdf[\s\S]*1[\s\S]*u[\s\S]*2,9 kB[\s\S]*Ondertekend en ongewijzigd/);
  await look(page, "07-dossier-met-documenten");

  // Download: the bytes the browser saves are the bytes that went in.
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "schaderapport.pdf downloaden" }).click()]);
  assert.equal(download.suggestedFilename(), "schaderapport.pdf");
  assert.equal(readFileSync((await download.path()) as string, "utf8"), REPORT);
  await page.getByText("schaderapport.pdf is gecontroleerd en opgeslagen.").waitFor();

  // Preview: the decrypted photo shown as a blob: URL in an <img>.
  await page.getByRole("button", { name: "foto-scheur-gevel.png bekijken" }).click();
  const dialog = page.getByRole("dialog", { name: "Voorbeeld van foto-scheur-gevel.png" });
  await dialog.waitFor();
  const image = dialog.getByRole("img", { name: "Foto foto-scheur-gevel.png" });
  assert.match((await image.getAttribute("src")) ?? "", /^blob:/);
  await page.waitForFunction(() => (document.querySelector("[data-testid=preview-image]") as HTMLImageElement | null)?.naturalWidth === 160);
  await look(page, "08-voorbeeld-foto");
  await dialog.getByRole("button", { name: "Voorbeeld sluiten" }).click();
  await dialog.waitFor({ state: "detached" });

  // Drag and drop onto the box adds too; the photo button asks a phone for its camera.
  const photo = page.getByTestId("add-photo");
  assert.equal(await photo.getAttribute("accept"), "image/*");
  assert.equal(await photo.getAttribute("capture"), "environment");
  const dropped = await page.evaluateHandle(() => {
    const transfer = new DataTransfer();
    transfer.items.add(new File(["Offerte herstel gevel: 4.250 euro"], "offerte.txt", { type: "text/plain" }));
    return transfer;
  });
  await page.getByTestId("dropzone").dispatchEvent("drop", { dataTransfer: dropped });
  await page.getByText("1 document toegevoegd.").waitFor();
  await page.locator('tr[data-document="offerte.txt"]').getByText("Ondertekend en ongewijzigd").waitFor();

  // A new version through the row's button and the file chooser.
  const [chooser] = await Promise.all([page.waitForEvent("filechooser"), page.getByRole("button", { name: "Nieuwe versie van schaderapport.pdf toevoegen" }).click()]);
  await chooser.setFiles({ name: "schaderapport.pdf", mimeType: "application/pdf", buffer: Buffer.from(REPORT_V2) });
  await page.getByText("Versie 2 van schaderapport.pdf is toegevoegd.").waitFor();
  await report.locator("td").first().getByText("2").waitFor();

  // Every version, newest first; the first one still opens.
  await page.getByRole("link", { name: "Alle versies van schaderapport.pdf" }).click();
  await page.getByRole("heading", { level: 1, name: "Versies van schaderapport.pdf" }).waitFor();
  const versionRows = page.getByTestId("versions").locator("tbody tr");
  await versionRows.nth(1).waitFor();
  assert.equal(await versionRows.count(), 2);
  await look(page, "09-versies");
  const [old] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "schaderapport.pdf downloaden, versie 1" }).click()]);
  assert.equal(readFileSync((await old.path()) as string, "utf8"), REPORT);
  await page.getByRole("link", { name: "Terug naar het dossier" }).click();

  // The access log, in sentences.
  await page.getByRole("link", { name: "Logboek: wie heeft wat geopend" }).click();
  await page.getByRole("heading", { level: 1, name: "Wie heeft wat geopend" }).waitFor();
  await page.getByText("Het logboek is gecontroleerd").waitFor();
  const log = await page.getByTestId("log").innerText();
  assert.match(log, /U voegde schaderapport\.pdf toe op \d+ \w+ om \d\d:\d\d/);
  assert.match(log, /U voegde foto-scheur-gevel\.png toe op/);
  assert.match(log, /U opende schaderapport\.pdf op \d+ \w+ om \d\d:\d\d/);
  assert.match(log, /U voegde versie 2 van schaderapport\.pdf toe op/);
  await look(page, "10-logboek");

  // English, remembered across a reload (which also forgets the keys: log in again).
  await page.getByRole("button", { name: "Read this in English" }).click();
  await page.getByRole("heading", { level: 1, name: "Who opened what" }).waitFor();
  await screenshot(page, "11-logboek-english");
  await page.reload();
  await page.getByRole("heading", { level: 1, name: "Log in" }).waitFor();
  assert.equal(await page.evaluate(() => document.documentElement.lang), "en");
  await expectAccessible(page, "log in (English)");
  await page.getByRole("button", { name: "Lees dit in het Nederlands" }).click();
  await page.getByRole("heading", { level: 1, name: "Inloggen" }).waitFor();

  // Log in again: the progress is shown while Argon2id runs in the worker.
  await page.getByLabel("Gebruikersnaam").fill("anna");
  await page.getByLabel("Wachtwoordzin").fill("niet mijn wachtwoordzin");
  await page.getByRole("button", { name: "Inloggen" }).click();
  await page.getByText("De gebruikersnaam of de wachtwoordzin klopt niet.").waitFor();
  await look(page, "12-inloggen-fout");
  await page.getByLabel("Wachtwoordzin").fill(PASSPHRASE);
  await page.getByRole("button", { name: "Inloggen" }).click();
  await page.getByRole("status").filter({ hasText: /Stap \d van 3/ }).first().waitFor();
  await page.getByRole("heading", { level: 1, name: "Mijn dossiers" }).waitFor();
  await page.getByRole("link", { name: "Schade Hoofdstraat 12, Loppersum" }).waitFor();
  assert.match(await page.getByTestId("dossier-list").innerText(), /3 documenten/);
  await look(page, "13-mijn-dossiers");

  await page.getByRole("button", { name: "Uitloggen" }).click();
  await page.getByText("U bent uitgelogd.").waitFor();
  await look(page, "14-uitgelogd");
  assert.deepEqual(anna.problems, []);
});

test("every screen at 320 px wide and at 200% zoom", async () => {
  for (const [label, options] of [
    ["320px", { width: 320, height: 640 }],
    ["zoom200", { width: 1280, height: 900, zoom: 2 }],
  ] as const) {
    const d = await device(browser, server, options);
    const { page } = d;
    await page.getByRole("heading", { level: 1, name: "Inloggen" }).waitFor();
    await look(page, `${label}-01-inloggen`);
    await loginAs(page, "anna");
    await look(page, `${label}-02-mijn-dossiers`);
    await page.getByRole("link", { name: "Schade Hoofdstraat 12, Loppersum" }).click();
    await page.locator('tr[data-document="schaderapport.pdf"]').waitFor();
    await look(page, `${label}-03-dossier`);
    // Nothing is cut off sideways: the page does not scroll horizontally.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `${label}: the page is ${overflow} px wider than the window`);
    await page.getByRole("link", { name: "Logboek: wie heeft wat geopend" }).click();
    await page.getByTestId("log").waitFor();
    await look(page, `${label}-04-logboek`);
    await page.goto("/#/account-aanmaken");
    await d.context.close();
  }
});
