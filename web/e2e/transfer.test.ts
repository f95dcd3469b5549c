/**
 * Large documents from the browser: a file over the part threshold goes up in parts from the
 * worker (src/worker/parts.ts), the connection drops in the middle of a part and the upload
 * resumes (the worker asks which parts arrived and sends the missing one again), and the
 * result opens with `kluis get`, byte for byte. Downloads with File System Access: the worker
 * writes into the file the person chose, which appears only after every check passed, and a
 * payload the server changed leaves no file at all.
 */

import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";

import type { Browser } from "playwright-core";

import { addFileInUi, createDossierInUi, device, expectAccessible, expectSecurityPage, KluisServer, launch, loginInUi, privateFile, registerInUi, screenshot, type Device } from "./harness.js";

const MIB = 1 << 20;
/** 20 MiB: three parts of 8 MiB (the default part size), the last one smaller. */
const SIZE = 20 * MIB + 12345;

let server: KluisServer;
let browser: Browser;
let carla: Device;

before(async () => {
  server = await KluisServer.start();
  browser = await launch();
  carla = await device(browser, server);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test("a 20 MiB video goes up in parts, survives a dropped connection, and opens with kluis get", async () => {
  const { page, context } = carla;
  await registerInUi(page, "carla");
  await createDossierInUi(page, "Schade Dorpsweg 1");

  const video = Buffer.alloc(SIZE);
  for (let i = 0; i < SIZE; i++) video[i] = (i * 31 + (i >> 16)) & 0xff;
  const path = join(server.root, "scheur-video.mp4");
  writeFileSync(path, video);

  // The network as the server sees it: part 2's first attempt is cut off mid-way.
  const requests: string[] = [];
  let dropped = 0;
  await context.route(
    (url) => url.pathname.startsWith("/api/v1/uploads"),
    async (route) => {
      const request = route.request();
      const what = `${request.method()} ${new URL(request.url()).pathname.replace(/[0-9a-f]{32}/, "ID")}`;
      requests.push(what);
      if (what === "PUT /api/v1/uploads/ID/parts/2" && dropped === 0) {
        dropped += 1;
        await route.abort("connectionreset");
        return;
      }
      await route.continue();
    },
  );

  await page.getByTestId("add-files").setInputFiles(path);
  await page.getByText("1 document toegevoegd.").waitFor({ timeout: 120_000 });
  await page.locator('tr[data-document="scheur-video.mp4"]').waitFor();
  await screenshot(page, "40-groot-bestand-in-delen");
  await expectAccessible(page, "groot-bestand-in-delen");

  assert.equal(dropped, 1);
  assert.deepEqual(requests, [
    "POST /api/v1/uploads/parts",
    "PUT /api/v1/uploads/ID/parts/1",
    "PUT /api/v1/uploads/ID/parts/2", // cut off
    "GET /api/v1/uploads/ID", // which parts arrived?
    "PUT /api/v1/uploads/ID/parts/2", // again
    "PUT /api/v1/uploads/ID/parts/3",
    "POST /api/v1/uploads/ID/complete",
  ]);

  // The command line, another device of carla's, opens it.
  const cli = (args: string[]): string => {
    const run = server.cli("profile-carla", args);
    assert.equal(run.status, 0, `kluis ${args.join(" ")} failed (${run.status}):\n${run.stdout}\n${run.stderr}`);
    return run.stdout;
  };
  cli(["login", "carla"]);
  const [dossier] = JSON.parse(cli(["dossier", "list", "--json"])) as { id: string }[];
  const listed = JSON.parse(cli(["ls", (dossier as { id: string }).id, "--json"])) as { id: string; name: string; size: number; confirmed_by_owner: boolean }[];
  const doc = listed.find((d) => d.name === "scheur-video.mp4");
  assert.ok(doc?.confirmed_by_owner);
  const out = join(server.root, "uit-de-browser.mp4");
  cli(["get", doc.id, "-o", out]);
  assert.ok(readFileSync(out).equals(video), "kluis get gives the file byte for byte");
  assert.deepEqual(carla.problems.filter((p) => !/ERR_CONNECTION_RESET|Failed to load resource/.test(p)), []);
});

test("with File System Access a document is saved into the chosen file, and a changed payload leaves no file", async () => {
  const laptop = await device(browser, server, { fileSystemAccess: "private" });
  const { page } = laptop;
  let downloads = 0;
  page.on("download", () => (downloads += 1));
  await loginInUi(page, "carla");
  await page.getByRole("link", { name: "Schade Dorpsweg 1" }).click();
  const letter = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 13 + 5) % 256));
  await addFileInUi(page, "brief-img.pdf", letter);

  await page.getByRole("button", { name: "brief-img.pdf downloaden" }).click();
  await page.getByText("brief-img.pdf is gecontroleerd en opgeslagen.").waitFor();
  const saved = await privateFile(page, "brief-img.pdf");
  assert.ok(saved !== null && saved.equals(letter), "the chosen file holds the document, byte for byte");
  assert.equal(downloads, 0, "no Blob download: the worker wrote the file");

  // The operator flips one byte in the middle of the stored payload (D9).
  const documentId = server.operator("print(db.execute('SELECT document_id FROM versions ORDER BY rowid DESC LIMIT 1').fetchone()[0])").trim();
  const key = server.operator(`print(db.execute('SELECT blob_key FROM versions WHERE document_id = ? AND version = 1', (${JSON.stringify(documentId)},)).fetchone()[0])`).trim();
  const blob = join(server.dataDir, "blobs", key.slice(0, 2), key);
  const bytes = readFileSync(blob);
  const middle = Math.floor(bytes.length / 2);
  bytes.writeUInt8(bytes.readUInt8(middle) ^ 0x01, middle);
  writeFileSync(blob, bytes);
  await page.evaluate(async () => (await navigator.storage.getDirectory()).removeEntry("brief-img.pdf"));

  await page.getByRole("button", { name: "brief-img.pdf downloaden" }).click();
  await expectSecurityPage(laptop, "content", /inhoud van een document is veranderd/);
  assert.equal(await privateFile(page, "brief-img.pdf"), null, "no file, not even an empty or partial one");
  const left = await page.evaluate(async () => {
    const names: string[] = [];
    for await (const name of (await navigator.storage.getDirectory()).keys()) names.push(name);
    return names;
  });
  assert.deepEqual(left, [], "no temporary file left behind either");
  assert.equal(downloads, 0);
  await laptop.context.close();
});
