/**
 * Organisations and the case inbox, end to end (docs/client.md sections 13 and 14): an IMG
 * administrator creates the organisation and adds a colleague in the browser; a resident shares
 * a dossier with it from the command line (which checks the browser's key chain); the colleague
 * finds it in the inbox, opens it (the signed receipt goes out), downloads a document; the
 * resident sees the receipt, checked, in the browser and with `kluis receipts`. Then the
 * administrator removes the colleague (a new key): the colleague no longer sees the case, and
 * the administrator reads the document the resident added afterwards. A lying server: a receipt
 * with a changed signature, and an organisation key record changed, each end on the security page.
 */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";

import { unzipSync } from "fflate";
import type { Browser } from "playwright-core";

import { axeScreens, device, expectAccessible, expectSecurityPage, KluisServer, launch, loginInUi, PASSPHRASE, registerInUi, screenshot, type Device } from "./harness.js";

const REPORT = "%PDF-1.4\n% Schaderapport: scheur in de achtergevel, opname 3 december.\n".repeat(30);
const PHOTO = Buffer.from(Array.from({ length: 150_000 }, (_, i) => (i * 13 + 5) % 256));
const LATER = "%PDF-1.4\n% Aanvulling na de tweede opname.\n".repeat(10);

let server: KluisServer;
let browser: Browser;
let anna: Device; // IMG's administrator
let piet: Device; // an IMG colleague
let bram: Device; // the resident, in the browser too
let dossierId = "";
let orgId = "";

before(async () => {
  server = await KluisServer.start();
  browser = await launch();
  anna = await device(browser, server);
  piet = await device(browser, server);
  bram = await device(browser, server);
});

after(async () => {
  console.log(`axe checked: ${axeScreens.join(", ")}`);
  await browser?.close();
  await server?.stop();
});

function resident(args: string[], status = 0): string {
  const run = server.cli("profile-bram", args);
  assert.equal(run.status, status, `kluis ${args.join(" ")} gave ${run.status}:\n${run.stdout}\n${run.stderr}`);
  return run.stdout;
}

test("an organisation made in the browser: a colleague's inbox, the case, the receipt checked by the resident, and a removed member", async () => {
  await registerInUi(anna.page, "anna-img");
  await registerInUi(piet.page, "piet-img");

  // Anna creates IMG in the browser and adds Piet.
  await anna.page.getByRole("link", { name: "Organisaties" }).click();
  await anna.page.getByRole("heading", { level: 1, name: "Mijn organisaties" }).waitFor();
  await anna.page.getByText("U bent nog geen lid van een organisatie.").waitFor();
  await expectAccessible(anna.page, "organisaties");
  await anna.page.getByLabel("Naam van de organisatie").fill("img");
  await anna.page.getByLabel("Soort organisatie").selectOption("institution");
  await anna.page.getByRole("button", { name: "Organisatie aanmaken" }).click();
  await anna.page.getByRole("heading", { level: 1, name: "img" }).waitFor();
  await anna.page.getByText("Niet gecontroleerd").waitFor();
  orgId = anna.page.url().split("/").pop() as string;
  await anna.page.getByLabel("Gebruikersnaam van het nieuwe lid").fill("piet-img");
  await anna.page.getByRole("button", { name: "Lid toevoegen" }).click();
  await anna.page.getByText("piet-img is nu lid.").waitFor();
  await anna.page.locator('[data-member="piet-img"]').getByText("(lid)").waitFor();
  await expectAccessible(anna.page, "organisatie");
  await screenshot(anna.page, "60-organisatie-img");

  // Bram shares a dossier with @img from the command line: the CLI verifies the chain and the
  // memberships the browser wrote (format section 14).
  resident(["register", "bram"]);
  dossierId = resident(["dossier", "create", "Schade Molenweg 7"]).trim();
  resident(["add", dossierId, server.file("schaderapport.pdf", REPORT)]);
  resident(["add", dossierId, server.file("foto-gevel.jpg", PHOTO)]);
  resident(["share", dossierId, "@img", "--allow-unverified"]);

  // Piet's inbox: the case, decrypted and checked, searchable.
  await piet.page.getByRole("link", { name: "Organisaties" }).click();
  await piet.page.getByRole("link", { name: "Binnengekomen dossiers van img" }).click();
  const inbox = piet.page.getByTestId("inbox");
  await inbox.getByRole("link", { name: "Schade Molenweg 7" }).waitFor();
  await inbox.getByText("Van bram").waitFor();
  await inbox.getByText("nieuw").waitFor();
  await expectAccessible(piet.page, "binnengekomen dossiers");
  await screenshot(piet.page, "61-binnengekomen-dossiers");
  await piet.page.getByRole("searchbox", { name: "Zoeken" }).fill("molenweg bram");
  await piet.page.getByText("1 van 1 dossiers").waitFor();
  await piet.page.getByRole("searchbox", { name: "Zoeken" }).fill("kerkstraat");
  await piet.page.getByText("0 van 1 dossiers").waitFor();
  await piet.page.getByRole("searchbox", { name: "Zoeken" }).fill("");
  await piet.page.getByLabel("Laat zien").selectOption("new");
  await piet.page.getByText("1 van 1 dossiers").waitFor();

  // The case: the document, the receipt sent, the download.
  await inbox.getByRole("link", { name: "Schade Molenweg 7" }).click();
  await piet.page.getByRole("heading", { level: 1, name: "Schade Molenweg 7" }).waitFor();
  await piet.page.getByText("Kluis heeft namens img een ondertekende ontvangstbevestiging naar de bewoner gestuurd.").waitFor();
  await expectAccessible(piet.page, "dossier uit de inbox");
  await screenshot(piet.page, "62-dossier-uit-de-inbox");
  const [download] = await Promise.all([piet.page.waitForEvent("download"), piet.page.getByRole("button", { name: "schaderapport.pdf downloaden" }).click()]);
  assert.equal(readFileSync((await download.path()) as string, "utf8"), REPORT);

  // The whole case as a zip, made in the browser: every document, checked, byte for byte.
  const [zipped] = await Promise.all([piet.page.waitForEvent("download"), piet.page.getByRole("button", { name: "Alles downloaden als zip-bestand" }).click()]);
  assert.equal(zipped.suggestedFilename(), "Schade Molenweg 7.zip");
  const entries = unzipSync(readFileSync((await zipped.path()) as string));
  assert.deepEqual(Object.keys(entries).sort(), ["foto-gevel.jpg", "schaderapport.pdf"]);
  assert.equal(Buffer.from(entries["schaderapport.pdf"] as Uint8Array).toString("utf8"), REPORT);
  assert.deepEqual(Buffer.from(entries["foto-gevel.jpg"] as Uint8Array), PHOTO);
  await piet.page.getByText("Schade Molenweg 7.zip is opgeslagen, met 2 gecontroleerde documenten.").waitFor();

  // A second visit: nothing new, and no second receipt for what a receipt covers already.
  await piet.page.goto(`/#/organisaties/${orgId}/dossiers`);
  await piet.page.getByTestId("inbox").getByRole("link", { name: "Schade Molenweg 7" }).waitFor();
  assert.equal(await piet.page.getByTestId("inbox").getByText("nieuw").count(), 0);

  // The resident: the receipt, checked by the Python client and in the browser.
  const receipts = JSON.parse(resident(["receipts", dossierId, "--json"])) as { organisation: string; member: string; status: string }[];
  assert.deepEqual(
    receipts.map((r) => [r.organisation, r.member, r.status]),
    [["img", "piet-img", "verified"]],
  );
  await loginInUi(bram.page, "bram");
  await bram.page.getByRole("link", { name: "Schade Molenweg 7" }).click();
  await bram.page.getByRole("link", { name: "Ontvangstbevestigingen" }).click();
  const shown = bram.page.getByTestId("receipts");
  await shown.getByText(/^Ontvangen door img op \d+ december 2026 om \d\d:\d\d, ondertekend$/).waitFor();
  await shown.getByText("2 documenten · geopend door piet-img · organisatie niet gecontroleerd").waitFor();
  await expectAccessible(bram.page, "ontvangstbevestigingen");
  await screenshot(bram.page, "63-ontvangstbevestigingen");

  // Anna removes Piet: a new key for img, every share re-wrapped.
  await anna.page.reload();
  await loginInUi(anna.page, "anna-img");
  await anna.page.goto(`/#/organisaties/${orgId}`);
  await anna.page.getByRole("button", { name: "piet-img verwijderen uit de organisatie" }).click();
  await anna.page.getByRole("button", { name: "Ja, verwijder piet-img" }).click();
  await anna.page.getByText(/piet-img is verwijderd\. De organisatie heeft een nieuwe sleutel \(1 gedeelde/).waitFor();
  assert.equal(await anna.page.locator('[data-member="piet-img"]').count(), 0);

  // Bram adds a document afterwards (his client follows img's rotation first, 13.5).
  resident(["add", dossierId, server.file("aanvulling.pdf", LATER)]);

  // Piet: not a member any more; the case is gone for him.
  await piet.page.goto("/#/organisaties");
  await piet.page.getByText("U bent nog geen lid van een organisatie.").waitFor();
  await piet.page.goto(`/#/organisaties/${orgId}/dossiers/${dossierId}`);
  await piet.page.getByRole("alert").waitFor();
  assert.equal(await piet.page.getByTestId("case-documents").count(), 0);

  // Anna, still a member, reads the new document through the new key.
  await anna.page.goto(`/#/organisaties/${orgId}/dossiers/${dossierId}`);
  await anna.page.locator('[data-document="aanvulling.pdf"]').waitFor();
  const [later] = await Promise.all([anna.page.waitForEvent("download"), anna.page.getByRole("button", { name: "aanvulling.pdf downloaden" }).click()]);
  assert.equal(readFileSync((await later.path()) as string, "utf8"), LATER);
  for (const d of [anna, piet, bram]) assert.deepEqual(d.problems.filter((p) => !p.includes("status of 40")), []);
});

test("a receipt whose signature the server changed shows the security page", async () => {
  server.operator(`
row = db.execute("SELECT receipt_id, receipt FROM receipts").fetchone()
data = bytearray(row[1]); data[-1] ^= 1
db.execute("UPDATE receipts SET receipt = ? WHERE receipt_id = ?", (bytes(data), row[0]))
`);
  await bram.page.goto(`/#/dossiers/${dossierId}`);
  await bram.page.goto(`/#/dossiers/${dossierId}/ontvangstbevestigingen`);
  await expectSecurityPage(bram, "receipt", /ontvangstbevestiging klopt niet/);
  await expectAccessible(bram.page, "veiligheidscontrole ontvangstbevestiging");
});

test("a share with the organisation that the dossier's owner did not sign is listed as not to be trusted, and does not open (K5)", async () => {
  // Mallory shares a dossier of her own with img; the operator then names bram as its owner.
  const mallory = (args: string[]): string => {
    const run = server.cli("profile-mallory", args);
    assert.equal(run.status, 0, `kluis ${args.join(" ")} failed:\n${run.stdout}\n${run.stderr}`);
    return run.stdout;
  };
  mallory(["register", "mallory"]);
  const forged = mallory(["dossier", "create", "Schade Kerkstraat 1"]).trim();
  mallory(["share", forged, "@img", "--allow-unverified"]);
  server.operator(`
bram = db.execute("SELECT user_id FROM users WHERE username = 'bram'").fetchone()[0]
db.execute("UPDATE dossiers SET owner_id = ? WHERE dossier_id = ?", (bram, ${JSON.stringify(forged)}))
`);
  await anna.page.goto(`/#/organisaties/${orgId}/dossiers`);
  const inbox = anna.page.getByTestId("inbox");
  await inbox.getByRole("link", { name: "Schade Molenweg 7" }).waitFor();
  await inbox.getByText("Dit dossier is niet te vertrouwen").waitFor();
  assert.equal(await inbox.getByText("Schade Kerkstraat 1").count(), 0, "nothing of the forged case is shown as if it were verified");
  await anna.page.getByText("2 van 2 dossiers").waitFor();
  await expectAccessible(anna.page, "binnengekomen dossiers met een niet te vertrouwen dossier");
  await screenshot(anna.page, "66-niet-te-vertrouwen-dossier");
  // Opened by its address, it ends on the security page: nothing of it is shown.
  await anna.page.goto(`/#/organisaties/${orgId}/dossiers/${forged}`);
  await expectSecurityPage(anna, "keys", /sleutels van een account kloppen niet/);
  // "Mijn dossiers" lists it too (through img), and fails closed the same way; once the share
  // is gone, Anna's lists are whole again.
  await anna.page.getByRole("button", { name: "Terug naar mijn dossiers" }).click();
  await expectSecurityPage(anna, "keys", /sleutels van een account kloppen niet/);
  server.operator(`
db.execute("DELETE FROM grants WHERE dossier_id = ? AND recipient_id = ?", (${JSON.stringify(forged)}, ${JSON.stringify(orgId)}))
mallory = db.execute("SELECT user_id FROM users WHERE username = 'mallory'").fetchone()[0]
db.execute("UPDATE dossiers SET owner_id = ? WHERE dossier_id = ?", (mallory, ${JSON.stringify(forged)}))
`);
  await anna.page.getByRole("button", { name: "Terug naar mijn dossiers" }).click();
  await anna.page.getByTestId("dossier-list").getByRole("link", { name: "Schade Molenweg 7" }).waitFor();
  assert.equal(await anna.page.getByTestId("security-failure").count(), 0);
});

test("a receipt signed by an organisation the resident never gave the dossier shows the security page", async () => {
  // Mallory makes an organisation of her own and signs, with its real keys, a receipt for
  // bram's dossier; the server (which would refuse to file it) slips it in among his receipts.
  const mallory = server.cli("profile-mallory", ["org", "create", "nep", "--kind", "contractor"]);
  assert.equal(mallory.status, 0, mallory.stderr);
  server.operator(`
import os, time
from client_sdk import Client
from vault.receipt import ReceiptEntry, make_receipt, Receipt
c = Client(${JSON.stringify(server.url)}, ${JSON.stringify(`${server.root}/profile-mallory`)})
c.login("mallory", ${JSON.stringify(PASSPHRASE)})
org = c.organisation("nep")
data = make_receipt(org.current_keys(), org_fingerprint=org.chain.fingerprint_id, member=c.me.public,
                    dossier_id=bytes.fromhex(${JSON.stringify(dossierId)}), opened_at=int(time.time()),
                    entries=[ReceiptEntry(os.urandom(16), 1, os.urandom(32), os.urandom(32))])
db.execute("DELETE FROM receipts")
db.execute("INSERT INTO receipts (receipt_id, dossier_id, org_id, submitted_by, receipt, created_at) VALUES (?, ?, ?, ?, ?, ?)",
           (Receipt.decode(data).receipt_id.hex(), ${JSON.stringify(dossierId)}, org.org_id, c.my_id, data, int(time.time())))
c.close()
`);
  const laptop = await device(browser, server); // another device of bram's: nothing remembered
  await loginInUi(laptop.page, "bram");
  await laptop.page.goto(`/#/dossiers/${dossierId}/ontvangstbevestigingen`);
  await expectSecurityPage(laptop, "receipt", /ontvangstbevestiging klopt niet/);
});

test("an organisation whose key record the server changed shows the security page", async () => {
  // The operator changes one byte of img's epoch 1 record (its author's signature).
  server.operator(`
org_id = ${JSON.stringify(orgId)}
record = bytearray(db.execute("SELECT record FROM org_key_records WHERE org_id = ? AND epoch = 1", (org_id,)).fetchone()[0])
record[-1] ^= 1
db.execute("UPDATE org_key_records SET record = ? WHERE org_id = ? AND epoch = 1", (bytes(record), org_id))
`);
  await anna.page.goto(`/#/organisaties/${orgId}/dossiers`);
  await expectSecurityPage(anna, "organisation", /sleutels van een organisatie kloppen niet/);
  await screenshot(anna.page, "64-veiligheidscontrole-organisatie");
});
