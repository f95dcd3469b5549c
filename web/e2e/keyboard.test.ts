/**
 * The same flow by keyboard alone: only Tab, Enter and Space move and act (and typing fills a
 * field). Every control is reached with Tab in a sensible order, shows where the focus is, and
 * works with Enter or Space: the skip link, account creation with the recovery check, a
 * dossier, adding a file through the file picker, downloading, the log, logging out.
 */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";

import type { Browser, Page } from "playwright-core";

import { device, expectAccessible, focused, KluisServer, launch, PASSPHRASE, registerInUi, screenshot, tabTo } from "./harness.js";

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

test("the resident's flow by keyboard alone", async () => {
  const d = await device(browser, server);
  const { page } = d;
  await page.getByRole("heading", { level: 1, name: "Inloggen" }).waitFor();

  // The skip link comes first and moves the focus to the content.
  await page.locator("body").focus();
  await tabTo(page, "Direct naar de inhoud");
  await screenshot(page, "40-toetsenbord-direct-naar-inhoud");
  await page.keyboard.press("Enter");
  assert.equal((await focused(page)).tag, "main");

  await tabTo(page, "Account aanmaken");
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { level: 1, name: "Account aanmaken" }).waitFor();
  await tabTo(page, "Gebruikersnaam");
  await page.keyboard.type("carla");
  await tabTo(page, "Wachtwoordzin");
  await page.keyboard.type(PASSPHRASE);
  await tabTo(page, "Wachtwoordzin nog een keer");
  await page.keyboard.type(PASSPHRASE);
  await page.keyboard.press("Enter");

  await page.getByRole("heading", { level: 1, name: "Uw herstelcode" }).waitFor();
  const words = (await page.getByTestId("recovery-words").locator(".kluis-words__w").allTextContents()).map((w) => w.trim());
  await tabTo(page, "Ik heb de code opgeschreven");
  await page.keyboard.press("Space");
  await page.getByRole("heading", { level: 1, name: "Controleer uw herstelcode" }).waitFor();
  for (const label of await page.locator("label").allTextContents()) {
    await tabTo(page, label);
    await page.keyboard.type(words[Number(label.replace("Woord ", "")) - 1] as string);
  }
  await page.keyboard.press("Enter");

  await page.getByRole("heading", { level: 1, name: "Mijn dossiers" }).waitFor();
  await tabTo(page, "Naam van het dossier");
  await page.keyboard.type("Schade Dorpsweg 1, Krewerd");
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { level: 1, name: "Schade Dorpsweg 1, Krewerd" }).waitFor();

  // The file picker opens with Space on its (visually a button) label's input.
  await tabTo(page, "Bestanden kiezen");
  await screenshot(page, "41-toetsenbord-bestanden-kiezen");
  const [chooser] = await Promise.all([page.waitForEvent("filechooser"), page.keyboard.press("Space")]);
  await chooser.setFiles({ name: "brief-img.pdf", mimeType: "application/pdf", buffer: Buffer.from("%PDF-1.4 besluit IMG") });
  await page.getByText("1 document toegevoegd.").waitFor();

  await tabTo(page, "brief-img.pdf downloaden");
  const [download] = await Promise.all([page.waitForEvent("download"), page.keyboard.press("Enter")]);
  assert.equal(readFileSync((await download.path()) as string, "utf8"), "%PDF-1.4 besluit IMG");

  await tabTo(page, "Logboek: wie heeft wat geopend");
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { level: 1, name: "Wie heeft wat geopend" }).waitFor();
  assert.match(await page.getByTestId("log").innerText(), /U opende brief-img\.pdf op/);
  await expectAccessible(page, "logboek (toetsenbord)");

  await page.locator("body").focus();
  await tabTo(page, "Uitloggen");
  await page.keyboard.press("Enter");
  await page.getByText("U bent uitgelogd.").waitFor();
  assert.deepEqual(d.problems, []);
});

// -- organisations (screens/organisations.tsx) ---------------------------------------------------
test("an organisation by keyboard alone: create it, add a member, remove the member after the confirmation", async () => {
  const admin = await device(browser, server);
  const colleague = await device(browser, server);
  await registerInUi(colleague.page, "kees-gemeente");
  const { page } = admin;
  await registerInUi(page, "gea-gemeente");
  await page.locator("body").focus();
  await tabTo(page, "Organisaties");
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { level: 1, name: "Mijn organisaties" }).waitFor();
  await tabTo(page, "Naam van de organisatie");
  await page.keyboard.type("gemeente-midden-groningen");
  await tabTo(page, "Soort organisatie");
  await page.keyboard.press("ArrowUp"); // institution -> municipality (a select moves with the arrows)
  await tabTo(page, "Organisatie aanmaken");
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { level: 1, name: "gemeente-midden-groningen" }).waitFor();
  await page.getByText("Gemeente · Niet gecontroleerd").waitFor();

  await tabTo(page, "Gebruikersnaam van het nieuwe lid");
  await page.keyboard.type("kees-gemeente");
  await tabTo(page, "Ook beheerder van de organisatie");
  await tabTo(page, "Lid toevoegen");
  await page.keyboard.press("Enter");
  await page.getByText("kees-gemeente is nu lid.").waitFor();

  await page.locator("body").focus();
  await tabTo(page, "kees-gemeente verwijderen uit de organisatie");
  await page.keyboard.press("Space");
  await tabTo(page, "Ja, verwijder kees-gemeente");
  await screenshot(page, "67-toetsenbord-lid-verwijderen");
  await expectAccessible(page, "lid verwijderen (toetsenbord)");
  await page.keyboard.press("Enter");
  await page.getByText(/kees-gemeente is verwijderd\. De organisatie heeft een nieuwe sleutel/).waitFor();
  assert.equal(await page.locator('[data-member="kees-gemeente"]').count(), 0);
  assert.deepEqual(admin.problems, []);
});

