/**
 * A new passphrase in the browser, with the CLI's rules: "Wachtwoordzin wijzigen" (the current
 * passphrase, then a new one that meets format section 18, whose reason for a refusal is shown
 * in Dutch) and "Account herstellen" with the recovery code as it was printed (format section
 * 5 reads it: numbers, capitals, extra spaces), for an account made in the browser and one made
 * with `kluis register`. Afterwards the new passphrase logs in, in the browser and in the CLI;
 * the old one no longer does. Every new screen at 1280 px and 320 px, axe-checked, by keyboard.
 */

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import type { Browser, Page } from "playwright-core";

import { device, expectAccessible, KluisServer, launch, PASSPHRASE, registerInUi, screenshot } from "./harness.js";

const NEW_PASSPHRASE = "lantaarn boven de schuurdeur scheef gezakt";
const RECOVERED = "molen aan de Kanaalweg met nieuwe wieken 1953";

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

async function logIn(page: Page, username: string, passphrase: string): Promise<void> {
  await page.goto("/#/inloggen");
  await page.getByRole("heading", { level: 1, name: "Inloggen" }).waitFor();
  await page.getByLabel("Gebruikersnaam").fill(username);
  await page.getByLabel("Wachtwoordzin").fill(passphrase);
  await page.getByRole("button", { name: "Inloggen" }).click();
}

async function logOut(page: Page): Promise<void> {
  await page.getByRole("button", { name: "Uitloggen" }).click();
  await page.getByRole("heading", { level: 1, name: "Inloggen" }).waitFor();
}

test("change the passphrase: the rule's reason in Dutch, a wrong current passphrase refused, then only the new one logs in", async () => {
  const d = await device(browser, server);
  const { page } = d;
  await registerInUi(page, "anna");
  await page.getByRole("link", { name: "Wachtwoordzin wijzigen" }).click();
  await page.getByRole("heading", { level: 1, name: "Wachtwoordzin wijzigen" }).waitFor();
  await expectAccessible(page, "wachtwoordzin wijzigen");
  await screenshot(page, "40-wachtwoordzin-wijzigen");

  // A new passphrase the rule refuses: the field says why, nothing is sent.
  await page.getByLabel("Huidige wachtwoordzin").fill(PASSPHRASE);
  await page.getByLabel("Nieuwe wachtwoordzin", { exact: true }).fill("kort");
  await page.getByLabel("Nieuwe wachtwoordzin nog een keer").fill("kort");
  await page.getByRole("button", { name: "Wachtwoordzin wijzigen" }).click();
  await page.getByText("Deze wachtwoordzin is te kort.", { exact: false }).waitFor();
  await expectAccessible(page, "wachtwoordzin wijzigen, te kort");
  await page.getByLabel("Nieuwe wachtwoordzin", { exact: true }).fill("annaanna2026annaanna");
  await page.getByLabel("Nieuwe wachtwoordzin nog een keer").fill("annaanna2026annaanna");
  await page.getByRole("button", { name: "Wachtwoordzin wijzigen" }).click();
  await page.getByText("Deze wachtwoordzin is te makkelijk te raden.", { exact: false }).waitFor();

  // A wrong current passphrase.
  await page.getByLabel("Huidige wachtwoordzin").fill(`${PASSPHRASE} typo`);
  await page.getByLabel("Nieuwe wachtwoordzin", { exact: true }).fill(NEW_PASSPHRASE);
  await page.getByLabel("Nieuwe wachtwoordzin nog een keer").fill(NEW_PASSPHRASE);
  await page.getByRole("button", { name: "Wachtwoordzin wijzigen" }).click();
  await page.getByText("Uw huidige wachtwoordzin klopt niet. Probeer het opnieuw.").waitFor();
  await screenshot(page, "41-wachtwoordzin-wijzigen-fout");

  await page.getByLabel("Huidige wachtwoordzin").fill(PASSPHRASE);
  await page.getByRole("button", { name: "Wachtwoordzin wijzigen" }).click();
  await page.getByText("Uw wachtwoordzin is gewijzigd.", { exact: false }).waitFor();
  await expectAccessible(page, "wachtwoordzin gewijzigd");
  await screenshot(page, "42-wachtwoordzin-gewijzigd");
  await page.getByRole("link", { name: "Naar mijn dossiers" }).click();
  await page.getByRole("heading", { level: 1, name: "Mijn dossiers" }).waitFor();
  await logOut(page);

  await logIn(page, "anna", PASSPHRASE);
  await page.getByText("De gebruikersnaam of de wachtwoordzin klopt niet.", { exact: false }).waitFor();
  await logIn(page, "anna", NEW_PASSPHRASE);
  await page.getByRole("heading", { level: 1, name: "Mijn dossiers" }).waitFor();
  // The CLI, another device, logs in with the new passphrase too.
  const cli = server.cli("profile-anna-cli", ["login", "anna"], { KLUIS_PASSPHRASE: NEW_PASSPHRASE });
  assert.equal(cli.status, 0, cli.stderr);
  assert.deepEqual(d.problems, []);
  await d.context.close();
});

test("recover an account registered with the CLI, the recovery code pasted as printed; then the new passphrase logs in", async () => {
  const registered = server.cli("profile-piet", ["register", "piet"]);
  assert.equal(registered.status, 0, registered.stderr);
  const printed = registered.stdout.slice(registered.stdout.indexOf("not even Kluis.") + "not even Kluis.".length).trim();
  assert.match(printed, /24/);

  const d = await device(browser, server);
  const { page } = d;
  await page.goto("/#/inloggen");
  await page.getByRole("link", { name: "Account herstellen met uw herstelcode" }).click();
  await page.getByRole("heading", { level: 1, name: "Account herstellen" }).waitFor();
  await expectAccessible(page, "account herstellen");
  await screenshot(page, "43-account-herstellen");

  // A code with a word that is not on the list (format section 5): nothing is sent, the field
  // says so.
  const wrongCode = printed.replace(/[a-z]+(?=[^a-z]*$)/, "kluis");
  assert.notEqual(wrongCode, printed);
  await page.getByLabel("Gebruikersnaam").fill("piet");
  await page.getByLabel("Herstelcode").fill(wrongCode);
  await page.getByLabel("Nieuwe wachtwoordzin", { exact: true }).fill(RECOVERED);
  await page.getByLabel("Nieuwe wachtwoordzin nog een keer").fill(RECOVERED);
  await page.getByRole("button", { name: "Account herstellen" }).click();
  await page.getByText("Deze herstelcode klopt niet.", { exact: false }).waitFor();
  await expectAccessible(page, "account herstellen, code klopt niet");
  await screenshot(page, "44-account-herstellen-fout");

  // As printed: numbered, in columns; upper case and extra spaces are allowed too.
  await page.getByLabel("Herstelcode").fill(`  ${printed.toUpperCase()}  `);
  await page.getByRole("button", { name: "Account herstellen" }).click();
  await page.getByRole("heading", { level: 1, name: "Mijn dossiers" }).waitFor();
  await logOut(page);
  await logIn(page, "piet", RECOVERED);
  await page.getByRole("heading", { level: 1, name: "Mijn dossiers" }).waitFor();
  const cli = server.cli("profile-piet-2", ["login", "piet"], { KLUIS_PASSPHRASE: RECOVERED });
  assert.equal(cli.status, 0, cli.stderr);
  const old = server.cli("profile-piet-3", ["login", "piet"]);
  assert.notEqual(old.status, 0, "the old passphrase no longer logs in");
  assert.deepEqual(d.problems, []);
  await d.context.close();
});

test("both screens at 320 px, and by keyboard alone (Tab, typing, Enter)", async () => {
  const registered = server.cli("profile-klaas", ["register", "klaas"]);
  assert.equal(registered.status, 0, registered.stderr);
  const printed = registered.stdout.slice(registered.stdout.indexOf("not even Kluis.") + "not even Kluis.".length).trim();
  const d = await device(browser, server, { width: 320, height: 720 });
  const { page } = d;
  await page.goto("/#/account-herstellen");
  await page.getByRole("heading", { level: 1, name: "Account herstellen" }).waitFor();
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(wide <= 320, `no sideways scrolling at 320 px (${wide} px wide)`);
  await expectAccessible(page, "account herstellen (320 px)");
  await screenshot(page, "45-account-herstellen-320");
  // By keyboard: from the username field, Tab to each next field and Enter to send.
  await page.getByLabel("Gebruikersnaam").focus();
  await page.keyboard.type("klaas");
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement?.id), "recover-code");
  await page.keyboard.insertText(printed);
  await page.keyboard.press("Tab");
  await page.keyboard.type(RECOVERED);
  await page.keyboard.press("Tab");
  await page.keyboard.type(RECOVERED);
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { level: 1, name: "Mijn dossiers" }).waitFor();

  await page.goto("/#/wachtwoordzin-wijzigen");
  await page.getByRole("heading", { level: 1, name: "Wachtwoordzin wijzigen" }).waitFor();
  const wide2 = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(wide2 <= 320, `no sideways scrolling at 320 px (${wide2} px wide)`);
  await expectAccessible(page, "wachtwoordzin wijzigen (320 px)");
  await screenshot(page, "46-wachtwoordzin-wijzigen-320");
  await page.getByLabel("Huidige wachtwoordzin").focus();
  await page.keyboard.type(RECOVERED);
  await page.keyboard.press("Tab");
  await page.keyboard.type(NEW_PASSPHRASE);
  await page.keyboard.press("Tab");
  await page.keyboard.type(NEW_PASSPHRASE);
  await page.keyboard.press("Enter");
  await page.getByText("Uw wachtwoordzin is gewijzigd.", { exact: false }).waitFor();
  await screenshot(page, "47-wachtwoordzin-gewijzigd-320");
  assert.deepEqual(d.problems, []);
  await d.context.close();
});
