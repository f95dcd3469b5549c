// Revoke with rotation in the browser against the Python client (issue 18, "Performance"):
// a dossier of --documents documents shared with --people people, one of them revoked.
//
//   make web && node benchmarks/browser_revoke.mjs [--documents 1000] [--people 10]
//
// Starts its own `kluis server` on loopback (temporary data directory); the `kluis` CLI makes
// the resident, the dossier (the documents added 100 at a time), the people and the
// shares. Then, in Debian's Chromium (headless, web/node_modules/playwright-core), the resident
// logs in on a fresh browser profile and measures:
//
// * the share screen ready: from navigation to "Wie heeft toegang" listed (the dossier opened
//   and its documents listed and checked, every grant signed by her verified, every recipient
//   looked up and pinned on first sight);
// * revoke with rotation: from "Ja, toegang intrekken" to "nieuwe sleutel" on screen (as the
//   owner: the listing with its checks, a new epoch key sealed to the remaining people, the
//   index signed, the rows deleted);
//
// and, for comparison, `kluis revoke` of a second person in the CLI (a whole process: start-up,
// login from the stored session, the same steps).
//
// A benchmark, never a test: it prints a table and the ratios, nothing passes or fails.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { startKluisServer } from "./kluis_server.mjs";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { chromium } = await import(join(ROOT, "web", "node_modules", "playwright-core", "index.mjs"));
const KLUIS = join(ROOT, ".venv", "bin", "kluis");
const PASSPHRASE = "scheur in de gevel boven de voordeur 2026";
const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : fallback);
const DOCUMENTS = option("--documents", 1000);
const PEOPLE = option("--people", 10);

const root = mkdtempSync(join(tmpdir(), "kluis-bench-revoke-"));
const server = await startKluisServer(root);
const url = server.url;
const cli = (profile, cliArgs) => {
  const started = performance.now();
  const run = spawnSync(KLUIS, cliArgs, { encoding: "utf8", cwd: root, maxBuffer: 1 << 26, env: { ...process.env, KLUIS_SERVER: url, KLUIS_PROFILE: join(root, profile), KLUIS_PASSPHRASE: PASSPHRASE, NO_COLOR: "1" } });
  if (run.status !== 0) throw new Error(`kluis ${cliArgs.slice(0, 3).join(" ")} ...: ${run.stdout.slice(-2000)}${run.stderr.slice(-2000)}`);
  return { out: run.stdout, seconds: (performance.now() - started) / 1000 };
};

let browser;
try {
  cli("anna", ["register", "anna"]);
  const dossierId = cli("anna", ["dossier", "create", "Schade Hoofdstraat 1"]).out.trim();
  const files = join(root, "files");
  mkdirSync(files);
  const paths = [];
  for (let i = 0; i < DOCUMENTS; i++) {
    const path = join(files, `foto-${String(i).padStart(4, "0")}.txt`);
    writeFileSync(path, `document ${i}\n`);
    paths.push(path);
  }
    let addSeconds = 0;
  for (let i = 0; i < paths.length; i += 100) addSeconds += cli("anna", ["add", dossierId, ...paths.slice(i, i + 100)]).seconds;
  const people = Array.from({ length: PEOPLE }, (_, i) => `persoon-${i}`);
  for (const name of people) {
    cli(name, ["register", name]);
    cli("anna", ["share", dossierId, name]);
  }
  console.log(`set-up: ${DOCUMENTS} documents added by the CLI in ${addSeconds.toFixed(1)} s, shared with ${PEOPLE} people`);

  browser = await chromium.launch({ executablePath: process.env.KLUIS_CHROMIUM ?? "/usr/bin/chromium", args: ["--headless", "--no-sandbox", "--disable-gpu"] });
  const context = await browser.newContext({ baseURL: url, locale: "nl-NL" });
  const page = await context.newPage();
  await page.goto("/#/inloggen");
  await page.getByLabel("Gebruikersnaam").fill("anna");
  await page.getByLabel("Wachtwoordzin").fill(PASSPHRASE);
  await page.getByRole("button", { name: "Inloggen" }).click();
  await page.getByRole("heading", { level: 1, name: "Mijn dossiers" }).waitFor({ timeout: 600_000 });

  let started = performance.now();
  await page.goto(`/#/dossiers/${dossierId}/delen`);
  await page.getByText("Deze lijst komt uit de toegangen die u zelf heeft ondertekend.").waitFor({ timeout: 600_000 });
  const ready = (performance.now() - started) / 1000;

  await page.getByRole("button", { name: `Toegang intrekken: ${people[0]}` }).click();
  started = performance.now();
  await page.getByRole("button", { name: "Ja, toegang intrekken" }).click();
  await page.getByText("Het dossier heeft een nieuwe sleutel.", { exact: false }).waitFor({ timeout: 600_000 });
  const revoke = (performance.now() - started) / 1000;

  const viaCli = cli("anna", ["revoke", dossierId, people[1]]).seconds;
  const rows = [
    [`share screen ready (${DOCUMENTS} documents, ${PEOPLE} people, fresh browser)`, `${ready.toFixed(2)} s`, ""],
    [`revoke with rotation in the browser (${PEOPLE - 1} remain)`, `${revoke.toFixed(2)} s`, `${(revoke / viaCli).toFixed(2)}x the CLI`],
    [`kluis revoke in the CLI (whole process, ${PEOPLE - 2} remain)`, `${viaCli.toFixed(2)} s`, ""],
  ];
  const width = Math.max(...rows.map((r) => r[0].length));
  for (const [what, value, ratio] of rows) console.log(`${what.padEnd(width)}  ${value.padStart(9)}  ${ratio}`);
} finally {
  await browser?.close();
  await server.stop();
  rmSync(root, { recursive: true, force: true });
}
