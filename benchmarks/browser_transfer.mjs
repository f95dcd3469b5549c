// The browser client against the Python client, side by side in one run (issue 16, "Performance").
//
//   make web && node benchmarks/browser_transfer.mjs [--size-mib 1024] [--repeat 1]
//
// Starts its own `kluis server` on loopback (temporary data directory) and Debian's Chromium
// (headless, through web/node_modules/playwright-core), and measures:
//
// * the login page's JavaScript, gzipped (level 9): main.js, which the page loads, and worker.js,
//   which the page starts at once (the vault worker: Argon2id, libsodium, BLAKE3);
// * the login page usable: from navigation to the login form's heading on screen;
// * the KDF: Argon2id at the floor (64 MiB, 3 passes) in Python (argon2-cffi, as the CLI does it),
//   against a whole login in the browser (click to the dossier list: Argon2id in the worker,
//   two requests and opening the key bundle; Argon2id is nearly all of it);
// * upload of one file of --size-mib MiB: `kluis add` (encrypt, hash, parts) against the browser
//   (the file picked, encrypted and hashed in the worker, sent in parts) to the same server;
// * its download: `kluis get` against the browser streaming it through File System Access (the
//   save dialog answered with a file of the origin private file system).
//
// A benchmark, never a test: it prints a table and the ratios, nothing passes or fails.
import { spawn, spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { randomFillSync } from "node:crypto";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { chromium } = await import(join(ROOT, "web", "node_modules", "playwright-core", "index.mjs"));
const KLUIS = join(ROOT, ".venv", "bin", "kluis");
const PYTHON = join(ROOT, ".venv", "bin", "python");
const PASSPHRASE = "scheur in de gevel boven de voordeur 2026";
const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : fallback);
const SIZE_MIB = option("--size-mib", 1024);
const REPEAT = option("--repeat", 1);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const root = mkdtempSync(join(tmpdir(), "kluis-bench-browser-"));
const server = spawn(KLUIS, ["server", "--host", "127.0.0.1", "--port", "0", "--data-dir", join(root, "data")], { stdio: ["ignore", "pipe", "pipe"] });
const url = await new Promise((ok, fail) => {
  let out = "";
  const seen = (c) => {
    out += c;
    const m = out.match(/Kluis server listening on (http:\/\/\S+)/);
    if (m) ok(m[1]);
  };
  server.stdout.on("data", seen);
  server.stderr.on("data", seen);
  server.on("exit", (code) => fail(new Error(`server exited ${code}: ${out}`)));
});
const cli = (cliArgs) => {
  const started = performance.now();
  const run = spawnSync(KLUIS, cliArgs, { encoding: "utf8", cwd: root, env: { ...process.env, KLUIS_SERVER: url, KLUIS_PROFILE: join(root, "profile"), KLUIS_PASSPHRASE: PASSPHRASE, NO_COLOR: "1" } });
  if (run.status !== 0) throw new Error(`kluis ${cliArgs.join(" ")}: ${run.stdout}${run.stderr}`);
  return { out: run.stdout, seconds: (performance.now() - started) / 1000 };
};

const rows = [];
try {
  // -- sizes -------------------------------------------------------------------------------------
  const assets = join(ROOT, "server", "web", "static", "assets");
  const gz = (name) => gzipSync(readFileSync(join(assets, name)), { level: 9 }).length;
  const mainGz = gz("main.js");
  const workerGz = gz("worker.js");

  // -- accounts and the file ----------------------------------------------------------------------
  cli(["register", "bench"]);
  cli(["dossier", "create", "Bench"]);
  const dossierId = JSON.parse(cli(["dossier", "list", "--json"]).out)[0].id;
  const file = join(root, "opname.bin");
  const fd = openSync(file, "w");
  const block = Buffer.alloc(1 << 20);
  for (let i = 0; i < SIZE_MIB; i++) writeSync(fd, randomFillSync(block));
  closeSync(fd);

  // -- Python: Argon2id at the floor, and kluis add ----------------------------------------------
  const kdf = spawnSync(PYTHON, ["-c", `
import time, statistics
from vault.kdf import KdfParams, derive_master_key
times = []
for _ in range(${Math.max(3, REPEAT)}):
    p = KdfParams.new()
    t = time.perf_counter(); derive_master_key(${JSON.stringify(PASSPHRASE)}, p); times.append(time.perf_counter() - t)
print(statistics.median(times))
`], { encoding: "utf8", cwd: ROOT });
  const pythonKdf = Number(kdf.stdout.trim());
  const cliUploads = [];
  for (let i = 0; i < REPEAT; i++) {
    const named = join(root, `cli-${i}.bin`);
    spawnSync("ln", ["-f", file, named]);
    cliUploads.push(cli(["add", dossierId, named]).seconds);
  }

  // -- the browser -------------------------------------------------------------------------------
  const browser = await chromium.launch({ executablePath: process.env.KLUIS_CHROMIUM ?? "/usr/bin/chromium", args: ["--headless", "--no-sandbox", "--disable-gpu"] });
  const context = await browser.newContext({ baseURL: url, locale: "nl-NL" });
  // Downloads through File System Access; the save dialog answers with a file of the origin
  // private file system (nobody clicks in a benchmark).
  await context.addInitScript(
    "globalThis.showSaveFilePicker = async ({ suggestedName }) => (await navigator.storage.getDirectory()).getFileHandle(suggestedName, { create: true });",
  );
  const page = await context.newPage();
  const navStart = performance.now();
  await page.goto("/#/inloggen");
  await page.getByRole("heading", { level: 1, name: "Inloggen" }).waitFor();
  const usable = (performance.now() - navStart) / 1000;
  await page.getByLabel("Gebruikersnaam").fill("bench");
  await page.getByLabel("Wachtwoordzin").fill(PASSPHRASE);
  const loginStart = performance.now();
  await page.getByRole("button", { name: "Inloggen" }).click();
  await page.getByRole("heading", { level: 1, name: "Mijn dossiers" }).waitFor({ timeout: 120_000 });
  const browserLogin = (performance.now() - loginStart) / 1000;
  await page.getByRole("link", { name: "Bench" }).click();
  const browserUploads = [];
  for (let i = 0; i < REPEAT; i++) {
    const named = join(root, `browser-${i}.bin`);
    spawnSync("ln", ["-f", file, named]);
    const t = performance.now();
    await page.getByTestId("add-files").setInputFiles(named);
    await page.getByText("1 document toegevoegd.").waitFor({ timeout: 3_600_000 });
    browserUploads.push((performance.now() - t) / 1000);
  }
  const browserDownloads = [];
  for (let i = 0; i < REPEAT; i++) {
    await page.evaluate(async () => {
      const dir = await navigator.storage.getDirectory();
      for await (const name of dir.keys()) await dir.removeEntry(name);
    });
    const t = performance.now();
    await page.getByRole("button", { name: "browser-0.bin downloaden" }).click();
    await page.getByText("browser-0.bin is gecontroleerd en opgeslagen.").waitFor({ timeout: 3_600_000 });
    browserDownloads.push((performance.now() - t) / 1000);
    const saved = await page.evaluate(async () => (await (await (await navigator.storage.getDirectory()).getFileHandle("browser-0.bin")).getFile()).size);
    if (saved !== SIZE_MIB * 1024 * 1024) throw new Error(`the browser saved ${saved} bytes`);
  }
  await browser.close();
  const listed = JSON.parse(cli(["ls", dossierId, "--json"]).out);
  const docId = listed.find((d) => d.name === "cli-0.bin").id;
  const cliDownloads = [];
  for (let i = 0; i < REPEAT; i++) {
    const out = join(root, `terug-${i}.bin`);
    cliDownloads.push(cli(["get", docId, "-o", out]).seconds);
    rmSync(out);
  }

  const mib = SIZE_MIB;
  rows.push(["login page JS, gzipped: main.js", `${(mainGz / 1024).toFixed(1)} KiB`, ""]);
  rows.push(["login page JS, gzipped: worker.js (started at once)", `${(workerGz / 1024).toFixed(1)} KiB`, `together ${((mainGz + workerGz) / 1024).toFixed(1)} KiB (target ≤ 300 KB)`]);
  rows.push(["login page usable after navigation", `${usable.toFixed(2)} s`, "target < 1 s"]);
  rows.push(["Argon2id 64 MiB, 3 passes: Python", `${pythonKdf.toFixed(2)} s`, ""]);
  rows.push(["log in in the browser (Argon2id in the worker + 2 requests)", `${browserLogin.toFixed(2)} s`, `${(browserLogin / pythonKdf).toFixed(2)}x Python's KDF (target ≤ 2x)`]);
  rows.push([`upload ${mib} MiB: kluis add`, `${median(cliUploads).toFixed(1)} s, ${(mib / median(cliUploads)).toFixed(0)} MiB/s`, ""]);
  rows.push([`upload ${mib} MiB: browser (in parts)`, `${median(browserUploads).toFixed(1)} s, ${(mib / median(browserUploads)).toFixed(0)} MiB/s`, `${((100 * median(cliUploads)) / median(browserUploads)).toFixed(0)}% of the CLI (target ≥ 50%)`]);
  rows.push([`download ${mib} MiB: kluis get`, `${median(cliDownloads).toFixed(1)} s, ${(mib / median(cliDownloads)).toFixed(0)} MiB/s`, ""]);
  rows.push([`download ${mib} MiB: browser (File System Access, streamed)`, `${median(browserDownloads).toFixed(1)} s, ${(mib / median(browserDownloads)).toFixed(0)} MiB/s`, `${((100 * median(cliDownloads)) / median(browserDownloads)).toFixed(0)}% of the CLI (target ≥ 50%)`]);
} finally {
  server.kill("SIGTERM");
  await new Promise((r) => server.once("exit", r));
  rmSync(root, { recursive: true, force: true });
}
console.log(`| what | measured | compared |\n|---|---:|---|`);
for (const [what, value, note] of rows) console.log(`| ${what} | ${value} | ${note} |`);
