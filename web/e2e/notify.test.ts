/**
 * "Meldingen per e-mail" in the browser: the screen says where the address is asked for that the
 * server keeps it until the person opts out; a typing mistake is refused in Dutch; opting in
 * stores the address and topics (the CLI on another device reads the same from the server);
 * opting out deletes it. On a server without SMTP the screen says none are sent. At 1280 px and
 * 320 px, axe-checked, by keyboard.
 */

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import type { Browser } from "playwright-core";

import { device, expectAccessible, KluisServer, launch, PASSPHRASE, registerInUi, screenshot } from "./harness.js";

const SMTP = {
  KLUIS_SMTP_HOST: "127.0.0.1",
  KLUIS_SMTP_PORT: "9", // nothing listens: no mail is due in these tests anyway
  KLUIS_SMTP_FROM: "kluis@kluis.example.nl",
  KLUIS_SMTP_STARTTLS: "false",
  KLUIS_PUBLIC_URL: "https://kluis.example.nl",
};

let server: KluisServer;
let browser: Browser;

before(async () => {
  server = await KluisServer.start(SMTP);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

function serverChoice(profile: string, username: string): { email: string | null; topics: string[] } {
  const login = server.cli(profile, ["login", username], { KLUIS_PASSPHRASE: PASSPHRASE });
  assert.equal(login.status, 0, login.stderr);
  const status = server.cli(profile, ["notify", "status", "--json"]);
  assert.equal(status.status, 0, status.stderr);
  return JSON.parse(status.stdout) as { email: string | null; topics: string[] };
}

test("opt in with an address and topics, see it stored, then opt out and the address is gone", async () => {
  const d = await device(browser, server);
  const { page } = d;
  await registerInUi(page, "anna");
  await page.getByRole("link", { name: "Meldingen" }).click();
  await page.getByRole("heading", { level: 1, name: "Meldingen per e-mail" }).waitFor();
  await page.getByText("U krijgt nu geen meldingen per e-mail.", { exact: false }).waitFor();
  await page.getByText("de server van Kluis bewaart uw e-mailadres", { exact: false }).waitFor();
  await expectAccessible(page, "meldingen");
  await screenshot(page, "60-meldingen");

  await page.getByLabel("Uw e-mailadres").fill("r.jansen voorbeeld.nl");
  await page.getByRole("button", { name: "Meldingen aanzetten" }).click();
  await page.getByText("Dit is geen e-mailadres.", { exact: false }).first().waitFor();
  assert.equal(await page.evaluate(() => document.activeElement?.id), "notify-email");
  await expectAccessible(page, "meldingen, fout adres");
  await screenshot(page, "61-meldingen-fout");

  await page.getByLabel("Uw e-mailadres").fill("r.jansen@example.nl");
  await page.getByLabel("Er is een nieuw bericht in uw groep").uncheck();
  await page.getByRole("button", { name: "Meldingen aanzetten" }).click();
  await page.getByText("Bewaard. U krijgt meldingen op r.jansen@example.nl.").waitFor();
  await screenshot(page, "62-meldingen-aan");
  assert.deepEqual(serverChoice("profile-anna-cli", "anna"), { offered: true, email: "r.jansen@example.nl", topics: ["messages", "receipts", "shares"] });

  await page.getByRole("button", { name: "Meldingen uitzetten en mijn adres wissen" }).click();
  await page.getByText("De meldingen staan uit. Kluis heeft uw e-mailadres gewist.").waitFor();
  await screenshot(page, "63-meldingen-uit");
  assert.deepEqual(serverChoice("profile-anna-cli", "anna"), { offered: true, email: null, topics: [] });
  assert.deepEqual(d.problems, []);
  await d.context.close();
});

test("at 320 px and by keyboard alone", async () => {
  const d = await device(browser, server, { width: 320, height: 720 });
  const { page } = d;
  await registerInUi(page, "bert");
  await page.goto("/#/meldingen");
  await page.getByRole("heading", { level: 1, name: "Meldingen per e-mail" }).waitFor();
  await page.getByLabel("Uw e-mailadres").waitFor();
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(wide <= 320, `no sideways scrolling at 320 px (${wide} px wide)`);
  await expectAccessible(page, "meldingen (320 px)");
  await screenshot(page, "64-meldingen-320");
  await page.getByLabel("Uw e-mailadres").focus();
  await page.keyboard.type("b.bakker@example.nl");
  await page.keyboard.press("Enter");
  await page.getByText("Bewaard. U krijgt meldingen op b.bakker@example.nl.").waitFor();
  assert.deepEqual(d.problems, []);
  await d.context.close();
});

test("a server without a mail server says it sends no notifications", async () => {
  const plain = await KluisServer.start();
  try {
    const d = await device(browser, plain);
    const { page } = d;
    await registerInUi(page, "cees");
    await page.goto("/#/meldingen");
    await page.getByText("Deze server stuurt geen meldingen per e-mail.", { exact: false }).waitFor();
    assert.equal(await page.getByLabel("Uw e-mailadres").count(), 0);
    await expectAccessible(page, "meldingen, niet aangeboden");
    await screenshot(page, "65-meldingen-niet-aangeboden");
    assert.deepEqual(d.problems, []);
    await d.context.close();
  } finally {
    await plain.stop();
  }
});
