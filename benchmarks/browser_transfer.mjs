// The browser client against the Python client, side by side in one run (issue 16, "Performance").
//
//   make web && node benchmarks/browser_transfer.mjs [--size-mib 1024] [--repeat 1] [--list-documents 0]
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
//   save dialog answered with a file of the origin private file system);
// * the browser's memory during that upload and download: the resident set of every Chromium
//   process this benchmark started, summed, sampled every 100 ms, peak above the figure before;
// * with --list-documents N (N tiny documents added through the Python client first, which takes
//   a while): the dossier's list the first time on a device, `kluis ls DOSSIER --json` on a newly
//   logged-in profile against the browser just logged in (click to the list on screen: every
//   document verified in the worker, the first page of rows shown with the count).
//
// A benchmark, never a test: it prints a table and the ratios, nothing passes or fails.
import { spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from "node:fs";
import { randomFillSync } from "node:crypto";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { startKluisServer } from "./kluis_server.mjs";
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
const LIST_DOCUMENTS = option("--list-documents", 0);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const root = mkdtempSync(join(tmpdir(), "kluis-bench-browser-"));
const server = await startKluisServer(root);
const url = server.url;
const cli = (cliArgs, profile = "profile") => {
  const started = performance.now();
  const run = spawnSync(KLUIS, cliArgs, { encoding: "utf8", cwd: root, maxBuffer: 1 << 28, env: { ...process.env, KLUIS_SERVER: url, KLUIS_PROFILE: join(root, profile), KLUIS_PASSPHRASE: PASSPHRASE, NO_COLOR: "1" } });
  if (run.status !== 0) throw new Error(`kluis ${cliArgs.join(" ")}: ${run.stdout}${run.stderr}`);
  return { out: run.stdout, seconds: (performance.now() - started) / 1000 };
};

/** KiB resident, summed over the Chromium processes descended from this one (Linux /proc). */
function chromiumRssKib() {
  const parent = new Map();
  const names = new Map();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      names.set(Number(entry), stat.slice(stat.indexOf("(") + 1, close));
      parent.set(Number(entry), Number(stat.slice(close + 2).split(" ")[1]));
    } catch {
      // the process ended while we looked
    }
  }
  const ours = (pid) => {
    for (let p = pid; p > 1; p = parent.get(p) ?? 0) if (p === process.pid) return true;
    return false;
  };
  let kib = 0;
  for (const [pid, name] of names) {
    if (!name.startsWith("chrom") || !ours(pid)) continue;
    try {
      const rss = readFileSync(`/proc/${pid}/status`, "utf8").match(/^VmRSS:\s+(\d+) kB/m);
      if (rss) kib += Number(rss[1]);
    } catch {
      // ended
    }
  }
  return kib;
}

/** Run `action` while sampling Chromium's memory; the peak above the figure before, in MiB. */
async function peakMemory(action) {
  const before = chromiumRssKib();
  let peak = before;
  const timer = setInterval(() => {
    peak = Math.max(peak, chromiumRssKib());
  }, 100);
  try {
    await action();
  } finally {
    clearInterval(timer);
  }
  return (Math.max(peak, chromiumRssKib()) - before) / 1024;
}

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

  // -- the list of --list-documents documents: filled through the Python client, then kluis ls --
  let cliList = null;
  if (LIST_DOCUMENTS > 0) {
    cli(["dossier", "create", "Lijst"]);
    const fill = spawnSync(PYTHON, ["-c", `
import sys, tempfile
from pathlib import Path
sys.path.insert(0, "benchmarks")
from dossier_scale import fill
from client_sdk import Client
client = Client(${JSON.stringify(url)}, ${JSON.stringify(join(root, "filler"))})
client.login("bench", ${JSON.stringify(PASSPHRASE)})
lijst = next(d.dossier_id for d in client.dossiers() if d.metadata is not None and d.metadata.title == "Lijst")
with tempfile.TemporaryDirectory(dir=${JSON.stringify(root)}) as tmp:
    fill(client, lijst, ${LIST_DOCUMENTS}, 500, Path(tmp) / "fotos")
print(lijst)
`], { encoding: "utf8", cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
    if (fill.status !== 0) throw new Error("filling the list failed");
    const lijst = fill.stdout.trim().split("\n").pop();
    cli(["login", "bench"], "cli-list");
    cliList = cli(["ls", lijst, "--json"], "cli-list").seconds;
  }

  // -- the browser -------------------------------------------------------------------------------
  // A persistent profile, as a resident's browser has: a fresh context would be off the record,
  // where the origin private file system (the download's target here) lives in memory.
  const context = await chromium.launchPersistentContext(join(root, "chromium-profile"), {
    executablePath: process.env.KLUIS_CHROMIUM ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu"],
    baseURL: url,
    locale: "nl-NL",
  });
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
  let browserList = null;
  if (LIST_DOCUMENTS > 0) {
    const t = performance.now();
    await page.getByRole("link", { name: "Lijst" }).click();
    // The worker answers with the whole verified list; the page then shows its first 100 rows.
    const firstPage = Math.min(LIST_DOCUMENTS, 100);
    await page.waitForFunction((n) => document.querySelectorAll("[data-testid=documents] tbody tr").length === n, firstPage, { timeout: 600_000, polling: 100 });
    browserList = (performance.now() - t) / 1000;
    await page.getByRole("link", { name: "Terug naar mijn dossiers" }).click();
  }
  await page.getByRole("link", { name: "Bench" }).click();
  const browserUploads = [];
  const uploadMemory = [];
  for (let i = 0; i < REPEAT; i++) {
    const named = join(root, `browser-${i}.bin`);
    spawnSync("ln", ["-f", file, named]);
    const t = performance.now();
    uploadMemory.push(await peakMemory(async () => {
      await page.getByTestId("add-files").setInputFiles(named);
      await page.getByText("1 document toegevoegd.").waitFor({ timeout: 3_600_000 });
    }));
    browserUploads.push((performance.now() - t) / 1000);
  }
  const browserDownloads = [];
  const downloadMemory = [];
  for (let i = 0; i < REPEAT; i++) {
    await page.evaluate(async () => {
      const dir = await navigator.storage.getDirectory();
      for await (const name of dir.keys()) await dir.removeEntry(name);
    });
    const t = performance.now();
    downloadMemory.push(await peakMemory(async () => {
      await page.getByRole("button", { name: "browser-0.bin downloaden" }).click();
      await page.getByText("browser-0.bin is gecontroleerd en opgeslagen.").waitFor({ timeout: 3_600_000 });
    }));
    browserDownloads.push((performance.now() - t) / 1000);
    const saved = await page.evaluate(async () => (await (await (await navigator.storage.getDirectory()).getFileHandle("browser-0.bin")).getFile()).size);
    if (saved !== SIZE_MIB * 1024 * 1024) throw new Error(`the browser saved ${saved} bytes`);
  }
  await context.close();
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
  rows.push([`Chromium's memory during the ${mib} MiB upload (all its processes, peak above before)`, `${Math.max(...uploadMemory).toFixed(0)} MiB`, "target: flat, under 300 MiB"]);
  rows.push([`Chromium's memory during the ${mib} MiB download`, `${Math.max(...downloadMemory).toFixed(0)} MiB`, "target: flat, under 300 MiB"]);
  if (cliList !== null && browserList !== null) {
    rows.push([`list ${LIST_DOCUMENTS} documents, first time on a device: kluis ls --json`, `${cliList.toFixed(2)} s`, ""]);
    rows.push([`list ${LIST_DOCUMENTS} documents, first time in the browser (all verified, first page shown)`, `${browserList.toFixed(2)} s`, `${(browserList / cliList).toFixed(2)}x kluis ls (target ≤ 2x)`]);
  }
} finally {
  await server.stop();
  rmSync(root, { recursive: true, force: true });
}
console.log(`| what | measured | compared |\n|---|---:|---|`);
for (const [what, value, note] of rows) console.log(`| ${what} | ${value} | ${note} |`);
