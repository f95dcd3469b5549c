/**
 * "Alles downloaden" in the browser (docs/client.md 17): the export zip holds every confirmed
 * version as an age file for the resident's own key, the key protected with the passphrase she
 * chose, manifest.json, README.txt and open.sh. The real `age` binary opens each file with
 * `age -d -i kluis-identity.age` (asking for that passphrase on a terminal), byte for byte.
 */

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";

import { unzipSync } from "fflate";
import type { Browser } from "playwright-core";

import { addFileInUi, createDossierInUi, device, expectAccessible, KluisServer, launch, PYTHON, REPO, registerInUi, screenshot, type Device } from "./harness.js";

const EXPORT_PASSPHRASE = "oude boerderij aan het wad";
const FIRST = "%PDF-1.4\n% Schaderapport, eerste opname.\n".repeat(50);
const SECOND = "%PDF-1.4\n% Schaderapport, na de tweede opname.\n".repeat(70);
const PHOTO = Buffer.from(Array.from({ length: 90_000 }, (_, i) => (i * 31 + 7) % 256));

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

/** `age` on a pseudo-terminal, the passphrase typed at its prompt (tests/vault/test_agefile.py). */
function ageWithPassphrase(args: string[], cwd: string): void {
  const script = [
    "import os, sys",
    "from tests.vault.test_agefile import run_with_passphrase",
    `os.chdir(${JSON.stringify(cwd)})`,
    `sys.exit(run_with_passphrase(${JSON.stringify(args)}, ${JSON.stringify(EXPORT_PASSPHRASE)}))`,
  ].join("\n");
  const run = spawnSync(PYTHON, ["-c", script], { encoding: "utf8", cwd: REPO });
  assert.equal(run.status, 0, `age ${args.join(" ")} failed:\n${run.stdout}\n${run.stderr}`);
}

test("the export made in the browser opens with the real age binary and the passphrase chosen for it", async () => {
  const { page } = bram;
  await registerInUi(page, "bram");
  await createDossierInUi(page, "Schade Molenweg 7");
  await addFileInUi(page, "schaderapport.pdf", FIRST);
  const [chooser] = await Promise.all([page.waitForEvent("filechooser"), page.getByRole("button", { name: "Nieuwe versie van schaderapport.pdf toevoegen" }).click()]);
  await chooser.setFiles({ name: "schaderapport.pdf", mimeType: "application/pdf", buffer: Buffer.from(SECOND) });
  await page.getByText("Versie 2 van schaderapport.pdf is toegevoegd.").waitFor();
  await addFileInUi(page, "foto gevel.jpg", PHOTO, "image/jpeg");

  await page.getByRole("link", { name: "Alles downloaden" }).click();
  await page.getByRole("heading", { level: 1, name: "Alles downloaden" }).waitFor();
  await expectAccessible(page, "alles downloaden");
  // A mistake of her own: the two passphrases differ; nothing is made.
  await page.getByLabel("Wachtwoordzin voor de sleutel").fill(EXPORT_PASSPHRASE);
  await page.getByLabel("Wachtwoordzin nog een keer").fill("iets anders");
  await page.getByRole("button", { name: "Zip-bestand maken en opslaan" }).click();
  await page.getByText("De twee wachtwoordzinnen zijn niet gelijk.").waitFor();
  await page.getByLabel("Wachtwoordzin nog een keer").fill(EXPORT_PASSPHRASE);
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Zip-bestand maken en opslaan" }).click()]);
  await page.getByText(/is opgeslagen, met 3 gecontroleerde documentversies\./).waitFor();
  await screenshot(page, "65-alles-downloaden");

  const entries = unzipSync(readFileSync((await download.path()) as string));
  assert.deepEqual(Object.keys(entries).sort(), [
    "README.txt",
    "foto gevel.v1.jpg.age",
    "kluis-identity.age",
    "manifest.json",
    "open.sh",
    "schaderapport.v1.pdf.age",
    "schaderapport.v2.pdf.age",
  ]);
  const manifest = JSON.parse(Buffer.from(entries["manifest.json"] as Uint8Array).toString("utf8")) as { dossier: string; documents: { file: string; version: number; latest: boolean; author: string }[] };
  assert.equal(manifest.dossier, "Schade Molenweg 7");
  assert.deepEqual(
    manifest.documents.map((d) => [d.file, d.version, d.latest, d.author]),
    [
      ["foto gevel.v1.jpg.age", 1, true, "bram"],
      ["schaderapport.v1.pdf.age", 1, false, "bram"],
      ["schaderapport.v2.pdf.age", 2, true, "bram"],
    ],
  );
  assert.match(Buffer.from(entries["README.txt"] as Uint8Array).toString("utf8"), /^Kluis export of the dossier "Schade Molenweg 7"/);

  const dir = join(server.root, "export");
  mkdirSync(dir);
  for (const [name, data] of Object.entries(entries)) writeFileSync(join(dir, name), data);
  const expected: Record<string, Buffer> = {
    "schaderapport.v1.pdf": Buffer.from(FIRST),
    "schaderapport.v2.pdf": Buffer.from(SECOND),
    "foto gevel.v1.jpg": PHOTO,
  };
  for (const [name, content] of Object.entries(expected)) {
    ageWithPassphrase(["-d", "-i", "kluis-identity.age", "-o", name, `${name}.age`], dir);
    assert.deepEqual(readFileSync(join(dir, name)), content, `${name} opened with age`);
  }
  // The wrong passphrase opens nothing.
  const script = [
    "import os, sys",
    "from tests.vault.test_agefile import run_with_passphrase",
    `os.chdir(${JSON.stringify(dir)})`,
    `sys.exit(run_with_passphrase(["-d", "-i", "kluis-identity.age", "-o", "fout.pdf", "schaderapport.v1.pdf.age"], "niet de goede zin"))`,
  ].join("\n");
  assert.notEqual(spawnSync(PYTHON, ["-c", script], { cwd: REPO }).status, 0);
  assert.deepEqual(bram.problems, []);
});
