/**
 * The browser and the Python client are one system: a document added in the browser opens with
 * `kluis get` (the command line, another device of the same resident, against the same
 * server), and one added with `kluis add` opens in the browser, verified, byte for byte.
 */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";

import type { Browser } from "playwright-core";

import { addFileInUi, createDossierInUi, device, expectAccessible, KluisServer, launch, loginInUi, registerInUi, screenshot, type Device } from "./harness.js";

const INSPECTION = "%PDF-1.4\n% Inspectierapport, opname 12 november: scheur in de achtergevel.\n".repeat(40);
const DRAWING = Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 7 + 3) % 251));

let server: KluisServer;
let browser: Browser;
let bram: Device;

before(async () => {
  server = await KluisServer.start();
  browser = await launch();
  bram = await device(browser, server);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

function cli(args: string[]): string {
  const run = server.cli("profile-bram-laptop", args);
  assert.equal(run.status, 0, `kluis ${args.join(" ")} failed (${run.status}):\n${run.stdout}\n${run.stderr}`);
  return run.stdout;
}

test("a document added in the browser opens with kluis get, one added with kluis add opens in the browser, and a dossier shared with the CLI opens read-only in another browser", async () => {
  const { page } = bram;
  await registerInUi(page, "bram");
  await createDossierInUi(page, "Schade Molenweg 7");
  await addFileInUi(page, "inspectierapport.pdf", INSPECTION);

  // The command line: same account, another device.
  cli(["login", "bram"]);
  const [dossier] = JSON.parse(cli(["dossier", "list", "--json"])) as { id: string; title: string }[];
  assert.equal(dossier?.title, "Schade Molenweg 7");
  const listed = JSON.parse(cli(["ls", dossier.id, "--json"])) as { id: string; name: string; confirmed_by_owner: boolean }[];
  const doc = listed.find((d) => d.name === "inspectierapport.pdf");
  assert.ok(doc?.confirmed_by_owner, "the CLI verifies the browser's document as confirmed by the owner");
  const out = join(server.root, "uit-de-browser.pdf");
  cli(["get", doc.id, "-o", out]);
  assert.equal(readFileSync(out, "utf8"), INSPECTION);

  // The other way: kluis add, then the browser lists, verifies and opens it.
  cli(["add", dossier.id, server.file("bouwtekening.dwg", DRAWING)]);
  await page.reload(); // a new visit: the keys are gone, log in again
  await loginInUi(page, "bram");
  await page.getByRole("link", { name: "Schade Molenweg 7" }).click();
  const row = page.locator('tr[data-document="bouwtekening.dwg"]');
  await row.getByText("Ondertekend en ongewijzigd").waitFor();
  await screenshot(page, "30-dossier-met-document-uit-kluis-add");
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "bouwtekening.dwg downloaden" }).click()]);
  assert.deepEqual(readFileSync((await download.path()) as string), DRAWING);

  // And the browser's download shows in the log the CLI reads.
  const log = JSON.parse(cli(["log", dossier.id, "--json"])) as { action: string; who: string }[];
  assert.deepEqual(
    log.map((e) => e.action),
    ["upload", "download", "upload", "download"],
  );
  assert.deepEqual(bram.problems, []);

  // A contractor registered with the CLI, given the dossier to read with `kluis share`, opens
  // it in a browser of its own: shared by bram, read only, the documents verified.
  const wierda = (args: string[]): string => {
    const run = server.cli("profile-wierda", args);
    assert.equal(run.status, 0, `kluis ${args.join(" ")} failed:\n${run.stdout}\n${run.stderr}`);
    return run.stdout;
  };
  wierda(["register", "bouwbedrijf-wierda"]);
  cli(["share", dossier.id, "bouwbedrijf-wierda"]);
  const contractor = await device(browser, server);
  await loginInUi(contractor.page, "bouwbedrijf-wierda");
  await contractor.page.getByText("Gedeeld door bram").waitFor();
  await contractor.page.getByRole("link", { name: "Schade Molenweg 7" }).click();
  await contractor.page.getByText("U kunt dit dossier lezen, maar er niets aan toevoegen.").waitFor();
  const shared = contractor.page.locator('tr[data-document="inspectierapport.pdf"]');
  await shared.getByText("Ondertekend en ongewijzigd").waitFor();
  assert.match(await shared.innerText(), /bram/);
  assert.equal(await contractor.page.getByTestId("add-files").count(), 0, "a reader is offered no upload");
  await screenshot(contractor.page, "31-aannemer-alleen-lezen");
  const [opened] = await Promise.all([contractor.page.waitForEvent("download"), contractor.page.getByRole("button", { name: "inspectierapport.pdf downloaden" }).click()]);
  assert.equal(readFileSync((await opened.path()) as string, "utf8"), INSPECTION);
  assert.deepEqual(contractor.problems, []);
});

test("a dossier of many documents shows them a page at a time, with a count, a 'more' button and a search", async () => {
  const carla = await device(browser, server);
  const { page } = carla;
  await registerInUi(page, "carla");
  await createDossierInUi(page, "Fotoboek Molenweg 7");
  const run = (args: string[]): string => {
    const r = server.cli("profile-carla", args);
    assert.equal(r.status, 0, `kluis ${args.slice(0, 2).join(" ")} failed:\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
  };
  run(["login", "carla"]);
  const [boek] = JSON.parse(run(["dossier", "list", "--json"])) as { id: string; title: string }[];
  assert.equal(boek?.title, "Fotoboek Molenweg 7");
  const names = Array.from({ length: 130 }, (_, i) => `foto-${String(i).padStart(3, "0")}.jpg`);
  run(["add", boek.id, ...names.map((name, i) => server.file(name, `foto ${i} van de scheur\n`))]);

  await page.reload();
  await loginInUi(page, "carla");
  await page.getByRole("link", { name: "Fotoboek Molenweg 7" }).click();
  const rows = page.locator("[data-testid=documents] tbody tr");
  await page.getByText("100 van de 130 documenten staan hier.").waitFor();
  assert.equal(await rows.count(), 100);
  await page.getByRole("button", { name: "Meer documenten tonen" }).click();
  await page.getByText("130 van de 130 documenten staan hier.").waitFor();
  assert.equal(await rows.count(), 130);
  assert.equal(await page.getByRole("button", { name: "Meer documenten tonen" }).count(), 0, "nothing more to show");

  const search = page.getByLabel("Zoeken in dit dossier (naam of titel)");
  await search.fill("FOTO-12");
  await page.locator('tr[data-document="foto-129.jpg"]').waitFor();
  assert.deepEqual(await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-document"))), names.filter((n) => n.startsWith("foto-12")));
  await expectAccessible(page, "dossier-zoeken");
  await search.fill("dakgoot");
  await page.getByText("Geen document gevonden met ‘dakgoot’.").waitFor();
  assert.equal(await rows.count(), 0);
  await screenshot(page, "32-dossier-zoeken-geen-resultaat");
  assert.deepEqual(carla.problems, []);
});
