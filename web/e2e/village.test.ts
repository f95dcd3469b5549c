/**
 * The village platform in the browser (issue 19, format section 19), three residents on three
 * browser profiles against one real `kluis server`: a group made, members added, a news post
 * (Markdown shown as text: no HTML, no remote image), the group chat live between two browsers
 * (no reload), a meeting with a reply and its .ics, personal messages with an unread count, a
 * member removed who then cannot read what is written after; and the operator altering, dropping,
 * replaying, forging (a valid signature by a non-member) and cutting back stored messages, each
 * ending on the security page with nothing of the group shown.
 * axe-core on every new screen; screenshots in build/screenshots/ (3x-).
 */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";

import type { Browser } from "playwright-core";

import { device, expectAccessible, expectSecurityPage, KluisServer, launch, loginInUi, PASSPHRASE, registerInUi, screenshot, type Device } from "./harness.js";

const GROUP = "dorpsbelangen-krewerd";

let server: KluisServer;
let browser: Browser;
let anna: Device;
let bert: Device;
let carla: Device;

function groupId(): string {
  return server.operator(`print(db.execute("SELECT org_id FROM organisations WHERE name = '${GROUP}'").fetchone()[0])`).trim();
}

/** Nothing wider than the window (a phone of 360 px): no sideways scrolling. */
async function fitsTheWindow(d: Device, screen: string): Promise<void> {
  const overflow = await d.page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `${screen}: the page is ${overflow} px wider than the window`);
}

async function openTab(d: Device, tab: "nieuws" | "chat" | "agenda" | "leden"): Promise<void> {
  await d.page.goto(`/#/groepen/${groupId()}/${tab}`);
  await d.page.getByRole("heading", { level: 1, name: GROUP }).waitFor();
}

before(async () => {
  server = await KluisServer.start();
  browser = await launch();
  anna = await device(browser, server);
  bert = await device(browser, server, { width: 360, height: 740 }); // a phone
  carla = await device(browser, server);
  await registerInUi(anna.page, "anna");
  await registerInUi(bert.page, "bert");
  await registerInUi(carla.page, "carla");
  for (const d of [anna, carla]) d.page.on("dialog", (dialog) => void dialog.accept());
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test("a group is made, two members added by username, the members listed with their roles", async () => {
  const page = anna.page;
  await page.getByRole("link", { name: "Groepen" }).click();
  await page.getByRole("heading", { level: 1, name: "Mijn groepen" }).waitFor();
  await expectAccessible(page, "mijn groepen (leeg)");
  await page.getByLabel("Naam van de groep").fill("Dorpsbelangen Krewerd");
  await page.getByRole("button", { name: "Groep maken" }).click();
  await page.getByText("Gebruik alleen kleine letters").first().waitFor(); // a typing mistake, said at the field
  await page.getByLabel("Naam van de groep").fill(GROUP);
  await page.getByRole("button", { name: "Groep maken" }).click();
  await page.getByRole("heading", { level: 1, name: GROUP }).waitFor();
  await page.getByRole("link", { name: "Leden" }).click();
  await page.getByTestId("members").waitFor();
  for (const [name, role] of [["bert", "Redacteur"], ["carla", "Lid"]] as const) {
    await page.getByLabel("Gebruikersnaam").fill(name);
    await page.getByLabel("Rol").selectOption({ label: role });
    await page.getByRole("button", { name: "Toevoegen" }).click();
    await page.getByText(`${name} is lid van de groep.`).waitFor();
    await page.locator(`tr[data-member="${name}"]`).waitFor();
  }
  assert.match(await page.locator('tr[data-member="anna"]').innerText(), /Beheerder van de groep/);
  assert.match(await page.locator('tr[data-member="bert"]').innerText(), /Redacteur/);
  assert.match(await page.locator('tr[data-member="carla"]').innerText(), /Lid/);
  await page.getByLabel("Gebruikersnaam").fill("niemand");
  await page.getByRole("button", { name: "Toevoegen" }).click();
  await page.getByText("Er is geen account met de gebruikersnaam niemand.").waitFor(); // a plain error, not the security page
  assert.equal(await page.getByTestId("security-failure").count(), 0);
  await expectAccessible(page, "groep: leden");
  await screenshot(page, "30-groep-leden");
});

test("a news post: Markdown shown as text only, no HTML run, no remote image fetched", async () => {
  const remote: string[] = [];
  bert.page.on("request", (r) => {
    if (!r.url().startsWith(server.url)) remote.push(r.url());
  });
  await openTab(anna, "nieuws");
  await anna.page.getByLabel("Titel").fill("Informatieavond versterking");
  await anna.page
    .getByLabel("Tekst")
    .fill("# Programma\n\nOp **donderdag** in het *dorpshuis*.\n\n- inloop 19:00\n- start 19:30\n\n<script>alert(1)</script> <img src=x onerror=alert(2)>\n\n![foto](https://voorbeeld.example/foto.png)");
  await anna.page.getByRole("button", { name: "Plaatsen" }).click();
  await anna.page.getByRole("heading", { level: 2, name: "Informatieavond versterking" }).waitFor();

  await bert.page.getByRole("link", { name: "Groepen" }).click();
  await bert.page.getByRole("link", { name: GROUP }).click();
  const post = bert.page.getByRole("article", { name: "Informatieavond versterking" });
  await post.waitFor();
  await post.getByRole("heading", { level: 3, name: "Programma" }).waitFor();
  assert.equal(await post.locator("strong").innerText(), "donderdag");
  assert.equal(await post.locator("li").count(), 2);
  assert.match(await post.innerText(), /<script>alert\(1\)<\/script> <img src=x onerror=alert\(2\)>/);
  assert.equal(await post.locator("img, script").count(), 0);
  assert.deepEqual(remote, []);
  await expectAccessible(bert.page, "groep: nieuws (telefoon)");
  await fitsTheWindow(bert, "nieuws (telefoon)");
  await screenshot(bert.page, "31-groep-nieuws-telefoon");
  await expectAccessible(anna.page, "groep: nieuws (beheerder)");
  await screenshot(anna.page, "32-groep-nieuws");
});

test("the group chat is live: a message sent in one browser appears in the other without a reload", async () => {
  await openTab(anna, "chat");
  await openTab(bert, "chat");
  await bert.page.getByText("Er zijn nog geen berichten.").waitFor();
  await anna.page.getByLabel("Uw bericht").fill("Wie komt donderdag helpen met de stoelen?");
  await anna.page.getByRole("button", { name: "Versturen" }).click();
  await bert.page.getByTestId("chat").getByText("Wie komt donderdag helpen met de stoelen?").waitFor({ timeout: 10_000 });
  await bert.page.getByLabel("Uw bericht").fill("Ik kom om zeven uur.");
  await bert.page.getByRole("button", { name: "Versturen" }).click();
  await anna.page.getByTestId("chat").getByText("Ik kom om zeven uur.").waitFor({ timeout: 10_000 });
  assert.match(await anna.page.getByTestId("chat").innerText(), /bert/);
  // Both at once: one of them signed on a head that is no longer the newest (409 stale_head),
  // verifies the other's message and signs again on top of it; both arrive, in both browsers.
  await anna.page.getByLabel("Uw bericht").fill("Tegelijk van anna");
  await bert.page.getByLabel("Uw bericht").fill("Tegelijk van bert");
  await Promise.all([anna.page.getByRole("button", { name: "Versturen" }).click(), bert.page.getByRole("button", { name: "Versturen" }).click()]);
  for (const d of [anna, bert]) for (const text of ["Tegelijk van anna", "Tegelijk van bert"]) await d.page.getByTestId("chat").getByText(text).waitFor({ timeout: 10_000 });
  await bert.page.getByRole("button", { name: "Versturen" }).click();
  await bert.page.getByText("Schrijf eerst een bericht.").waitFor();
  // By keyboard only: the field, Tab to the button, Enter; then Tab to nothing but native controls.
  await bert.page.getByLabel("Uw bericht").focus();
  await bert.page.keyboard.type("Met het toetsenbord verstuurd.");
  await bert.page.keyboard.press("Tab");
  assert.equal(await bert.page.evaluate(() => document.activeElement?.textContent), "Versturen");
  await bert.page.keyboard.press("Enter");
  await anna.page.getByTestId("chat").getByText("Met het toetsenbord verstuurd.").waitFor({ timeout: 10_000 });
  await expectAccessible(anna.page, "groep: chat");
  await screenshot(anna.page, "33-groep-chat");
  await expectAccessible(bert.page, "groep: chat (telefoon)");
  await fitsTheWindow(bert, "chat (telefoon)");
  await screenshot(bert.page, "34-groep-chat-telefoon");
});

test("a meeting in the agenda: a member answers ja, the counts follow, the .ics has the event", async () => {
  await openTab(anna, "agenda");
  await anna.page.getByLabel("Titel").fill("Bijeenkomst in het dorpshuis");
  await anna.page.getByLabel("Begint op").fill("2026-12-17T19:30");
  await anna.page.getByLabel("Eindigt op").fill("2026-12-17T21:00");
  await anna.page.getByLabel("Waar").fill("Dorpshuis, Kerkpad 1");
  await anna.page.getByRole("button", { name: "Bijeenkomst toevoegen" }).click();
  await anna.page.getByRole("heading", { level: 2, name: "Bijeenkomst in het dorpshuis" }).waitFor();

  await openTab(carla, "agenda");
  const event = carla.page.getByRole("article", { name: "Bijeenkomst in het dorpshuis" });
  await event.getByRole("button", { name: "Ja", exact: true }).click();
  await event.getByText("Ja: 1 · Nee: 0 · Misschien: 0").waitFor();
  assert.equal(await event.getByRole("button", { name: "Ja", exact: true }).getAttribute("aria-pressed"), "true");
  await event.getByRole("button", { name: "Misschien", exact: true }).click(); // a later answer replaces the earlier
  await event.getByText("Ja: 0 · Nee: 0 · Misschien: 1").waitFor();
  await anna.page.getByText("Ja: 0 · Nee: 0 · Misschien: 1").waitFor({ timeout: 10_000 }); // live
  assert.equal(await carla.page.getByRole("heading", { name: "Nieuwe bijeenkomst" }).count(), 0, "a member adds no meetings");

  const [download] = await Promise.all([
    anna.page.waitForEvent("download"),
    anna.page.getByRole("button", { name: "Bijeenkomst in het dorpshuis in mijn agenda zetten (.ics-bestand)" }).click(),
  ]);
  assert.equal(download.suggestedFilename(), "Bijeenkomst in het dorpshuis.ics");
  const ics = readFileSync((await download.path()) as string, "utf8");
  assert.match(ics, /^BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-\/\/Kluis\/\/Kluis v1\/\/NL\r\nBEGIN:VEVENT\r\n/);
  assert.match(ics, /\r\nDTSTART:20261217T183000Z\r\nDTEND:20261217T200000Z\r\n/); // 19:30 in Amsterdam, winter time
  assert.match(ics, /\r\nSUMMARY:Bijeenkomst in het dorpshuis\r\nLOCATION:Dorpshuis\\, Kerkpad 1\r\n/);
  await expectAccessible(carla.page, "groep: agenda");
  await screenshot(carla.page, "35-groep-agenda");
});

test("personal messages: a conversation, the unread count in the other's inbox, the message read", async () => {
  await anna.page.getByRole("link", { name: "Berichten" }).click();
  await anna.page.getByRole("heading", { level: 1, name: "Persoonlijke berichten" }).waitFor();
  await expectAccessible(anna.page, "berichten (leeg)");
  await anna.page.getByLabel("Gebruikersnaam van de ander").fill("bert");
  await anna.page.getByRole("button", { name: "Gesprek beginnen" }).click();
  await anna.page.getByRole("heading", { level: 1, name: "Gesprek met bert" }).waitFor();
  await anna.page.getByLabel("Uw bericht").fill("Bert, heb jij de sleutel van het dorpshuis?");
  await anna.page.getByRole("button", { name: "Versturen" }).click();
  await anna.page.getByTestId("chat").getByText("Bert, heb jij de sleutel van het dorpshuis?").waitFor();

  await bert.page.getByRole("link", { name: "Berichten" }).click();
  const link = bert.page.getByRole("link", { name: "Gesprek met anna" });
  await link.waitFor();
  assert.equal(await bert.page.getByTestId("unread").innerText(), "1 nieuw bericht");
  await expectAccessible(bert.page, "berichten (telefoon)");
  await fitsTheWindow(bert, "berichten (telefoon)");
  await screenshot(bert.page, "36-berichten-telefoon");
  await link.click();
  await bert.page.getByTestId("chat").getByText("Bert, heb jij de sleutel van het dorpshuis?").waitFor();
  await expectAccessible(bert.page, "gesprek (telefoon)");
  await fitsTheWindow(bert, "gesprek (telefoon)");
  await bert.page.getByRole("link", { name: "Terug naar mijn berichten" }).click();
  await bert.page.getByRole("link", { name: "Gesprek met anna" }).waitFor();
  assert.equal(await bert.page.getByTestId("unread").count(), 0, "read now");
});

test("a removed member is told at once, and cannot read what is written after, even if the server keeps her in", async () => {
  await openTab(carla, "chat");
  await carla.page.getByTestId("chat").getByText("Ik kom om zeven uur.").waitFor();
  await openTab(anna, "leden");
  await anna.page.getByRole("button", { name: "carla uit de groep verwijderen" }).click();
  await anna.page.getByText("carla is uit de groep verwijderd. De groep heeft een nieuwe sleutel.").waitFor();
  assert.equal(await anna.page.locator('tr[data-member="carla"]').count(), 0);
  await carla.page.getByText("U bent geen lid meer van deze groep.").waitFor({ timeout: 10_000 }); // live
  await openTab(anna, "chat");
  await anna.page.getByLabel("Uw bericht").fill("Alleen voor wie nog lid is.");
  await anna.page.getByRole("button", { name: "Versturen" }).click();
  await bert.page.goto(`/#/groepen/${groupId()}/chat`);
  await bert.page.getByTestId("chat").getByText("Alleen voor wie nog lid is.").waitFor();

  // The operator puts carla back in the server's roster: her browser verifies the chain (the
  // new epoch has no membership for her) and cannot open the new message.
  server.operator(`db.execute("INSERT INTO org_members (org_id, user_id, role, added_at) SELECT org_id, (SELECT user_id FROM users WHERE username = 'carla'), 1, 0 FROM organisations WHERE name = '${GROUP}'")`);
  await openTab(carla, "nieuws"); // carla's screen stopped when she was removed: open it again
  await carla.page.getByRole("link", { name: "Groepschat" }).click();
  await carla.page.getByTestId("chat").getByText("Ik kom om zeven uur.").waitFor();
  assert.doesNotMatch(await carla.page.locator("main").innerText(), /Alleen voor wie nog lid is/);
  await carla.page.getByText("oudere berichten").waitFor();
  assert.equal(await carla.page.getByTestId("security-failure").count(), 0);
});

test("the operator alters, drops, replays, forges or cuts back stored messages: the group does not open on a new session, the security page says so", async () => {
  const id = JSON.stringify(groupId());
  // Every row as it is now, to put back after each case.
  server.operator(`open(data / 'messages', 'w').write(json.dumps([[c.hex() if isinstance(c, bytes) else c for c in r] for r in db.execute("SELECT org_id, position, sender_id, message_hash, message, created_at FROM group_messages WHERE org_id = ?", (${id},)).fetchall()]))`);
  const restore = `
db.execute("DELETE FROM group_messages WHERE org_id = ?", (${id},))
for org, p, sender, h, m, at in json.loads(open(data / 'messages').read()):
    db.execute("INSERT INTO group_messages (org_id, position, sender_id, message_hash, message, created_at) VALUES (?, ?, ?, ?, ?, ?)", (org, p, sender, h, bytes.fromhex(m), at))`;
  const last = `n = db.execute("SELECT max(position) FROM group_messages WHERE org_id = ?", (${id},)).fetchone()[0]`;
  const cases: [string, string, string, RegExp][] = [
    [
      "altered",
      `m = bytearray(db.execute("SELECT message FROM group_messages WHERE org_id = ? AND position = 3", (${id},)).fetchone()[0])
m[-70] ^= 1
db.execute("UPDATE group_messages SET message = ? WHERE org_id = ? AND position = 3", (bytes(m), ${id}))`,
      "messages",
      /De berichten van een groep kloppen niet/,
    ],
    [
      "dropped",
      `${last}
db.execute("DELETE FROM group_messages WHERE org_id = ? AND position = 3", (${id},))
for p in range(4, n + 1):
    db.execute("UPDATE group_messages SET position = ? WHERE org_id = ? AND position = ?", (p - 1, ${id}, p))`,
      "messages",
      /De berichten van een groep kloppen niet/,
    ],
    [
      "replayed",
      `${last}
db.execute("INSERT INTO group_messages (org_id, position, sender_id, message_hash, message, created_at) SELECT org_id, ?, sender_id, message_hash, message, created_at FROM group_messages WHERE org_id = ? AND position = 4", (n + 1, ${id}))`,
      "messages",
      /De berichten van een groep kloppen niet/,
    ],
    [
      // A real account that is no member signs a message on top of the newest: its signature is
      // valid, its right to write in this group is not (check 6 of 19.4).
      "forged by a non-member",
      `import os, time
from client_sdk.client import Client
from vault.content import Text
from vault.message import MessageKind, message_hash, seal_message
dave = Client(${JSON.stringify(server.url)}, str(data.parent / "profile-dave"))
dave.register("dave", ${JSON.stringify(PASSPHRASE)})
position, head = db.execute("SELECT position, message_hash FROM group_messages WHERE org_id = ? ORDER BY position DESC LIMIT 1", (${id},)).fetchone()
epoch = db.execute("SELECT epoch FROM organisations WHERE org_id = ?", (${id},)).fetchone()[0]
m = seal_message(dave.me, group_id=bytes.fromhex(${id}), epoch=epoch, kind=MessageKind.CHAT, sequence=1, previous_hash=bytes.fromhex(head), reference=bytes(32), sent_at=int(time.time()), body=Text("De vergadering gaat niet door.").encode(), epoch_key=os.urandom(32))
db.execute("INSERT INTO group_messages (org_id, position, sender_id, message_hash, message, created_at) VALUES (?, ?, ?, ?, ?, ?)", (${id}, position + 1, dave.my_id, message_hash(m).hex(), m, int(time.time())))`,
      "messages",
      /De berichten van een groep kloppen niet/,
    ],
    ["cut back", `${last}\ndb.execute("DELETE FROM group_messages WHERE org_id = ? AND position = ?", (${id}, n))`, "rollback", /oudere versie/],
  ];
  for (const [what, tamper, check, text] of cases) {
    server.operator(tamper);
    try {
      // A new session verifies the whole chain, and against what this browser accepted before.
      await bert.page.reload();
      await loginInUi(bert.page, "bert");
      await bert.page.goto(`/#/groepen/${JSON.parse(id) as string}/chat`);
      await expectSecurityPage(bert, check, text);
      assert.equal(await bert.page.getByTestId("chat").count(), 0, `${what}: nothing of the group is shown`);
      if (what === "altered") {
        await expectAccessible(bert.page, "veiligheidscontrole mislukt (groepsbericht)");
        await fitsTheWindow(bert, "veiligheidscontrole mislukt (telefoon)");
        await screenshot(bert.page, "37-veiligheidscontrole-groepsbericht");
      }
    } finally {
      server.operator(restore);
    }
  }
  // Put back, the group opens again: the failures kept nothing.
  await bert.page.reload();
  await loginInUi(bert.page, "bert");
  await bert.page.goto(`/#/groepen/${JSON.parse(id) as string}/chat`);
  await bert.page.getByTestId("chat").getByText("Alleen voor wie nog lid is.").waitFor();
  assert.deepEqual(anna.problems, []);
});
