// An organisation's case inbox of --cases dossiers, listed in real Chromium (issue 18,
// "Performance": under 2 s for 1,000 cases), next to the Python client's `inbox` of the same.
//
//   make web && node benchmarks/browser_inbox.mjs [--cases 1000] [--repeat 2]
//
// Starts its own `kluis server` on loopback (temporary data directory). Setup, through the
// Python client (benchmarks/org_rotation.py `share_many`; its time is printed, not measured): a
// resident and a staff member register, the staff member creates the organisation "img", and
// the resident shares --cases dossiers with it. Then Debian's Chromium (headless) logs in as
// the staff member and opens the inbox --repeat times: from navigation to the list's count on
// screen, with every case checked in the worker (the owner's key, the signed index opened with
// the dossier key from the organisation's grant, each grant) over the one-call
// `GET /organisations/{id}/inbox`. For comparison, `Client.inbox("img")` in Python (which
// checks the grants but opens no index, so it shows no titles) on the same server.
//
// A benchmark, never a test: it prints the timings and the ratio, nothing passes or fails.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { startKluisServer } from "./kluis_server.mjs";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { chromium } = await import(join(ROOT, "web", "node_modules", "playwright-core", "index.mjs"));
const PYTHON = join(ROOT, ".venv", "bin", "python");
const PASSPHRASE = "benchmark passphrase, 2026 kaasschaaf";
const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : fallback);
const CASES = option("--cases", 1000);
const REPEAT = option("--repeat", 2);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const root = mkdtempSync(join(tmpdir(), "kluis-bench-inbox-"));
const server = await startKluisServer(root);
const url = server.url;

/** Python as a child process: answers what it printed, or fails with what it wrote to stderr. */
function python(code) {
  return new Promise((ok, fail) => {
    const child = spawn(PYTHON, ["-c", code], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (c) => (out += c));
    child.stderr.on("data", (c) => (err += c));
    child.on("exit", (code) => (code === 0 ? ok(out.trim()) : fail(new Error(`python failed:\n${err}`))));
  });
}

const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"] });
try {
  const started = performance.now();
  const orgId = await python(`
import sys, time
sys.path.insert(0, "benchmarks")
from org_rotation import share_many
from client_sdk import Client
url, root = ${JSON.stringify(url)}, ${JSON.stringify(root)}
resident, staff = Client(url, root + "/profile-anna"), Client(url, root + "/profile-ada")
resident.register("anna", ${JSON.stringify(PASSPHRASE)})
staff.register("ada", ${JSON.stringify(PASSPHRASE)})
org = staff.create_organisation("img", "institution")
share_many(resident, "img", ${CASES})
print(org.org_id)
`);
  console.log(`setup: ${CASES} dossiers shared with img in ${((performance.now() - started) / 1000).toFixed(1)} s`);

  const py = Number(
    await python(`
import time
from client_sdk import Client
c = Client(${JSON.stringify(url)}, ${JSON.stringify(join(root, "profile-ada"))})
c.login("ada", ${JSON.stringify(PASSPHRASE)})
c.inbox("img")  # the first one pins every owner
t = time.perf_counter(); items = c.inbox("img"); t = time.perf_counter() - t
assert len(items) == ${CASES}, len(items)
print(t)
`),
  );

  const context = await browser.newContext({ baseURL: url, locale: "nl-NL", viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(600_000);
  await page.goto("/#/inloggen");
  await page.getByLabel("Gebruikersnaam").fill("ada");
  await page.getByLabel("Wachtwoordzin").fill(PASSPHRASE);
  await page.getByRole("button", { name: "Inloggen" }).click();
  await page.getByRole("heading", { level: 1, name: "Mijn organisaties" }).or(page.getByRole("heading", { level: 1, name: "Mijn dossiers" })).waitFor();
  const visits = [];
  for (let i = 0; i < REPEAT; i++) {
    await page.goto("/#/organisaties");
    await page.getByRole("heading", { level: 1, name: "Mijn organisaties" }).waitFor();
    const t = performance.now();
    await page.goto(`/#/organisaties/${orgId}/dossiers`);
    await page.getByText(`${CASES} van ${CASES} dossiers`).waitFor();
    visits.push((performance.now() - t) / 1000);
    console.log(`browser inbox, visit ${i + 1}: ${visits[i].toFixed(2)} s`);
  }
  console.log(`\n| what | ${CASES} cases |`);
  console.log("|---|---|");
  console.log(`| browser: the inbox listed and checked (first visit, owners pinned on first sight) | ${visits[0].toFixed(2)} s |`);
  if (visits.length > 1) console.log(`| browser: later visits (median) | ${median(visits.slice(1)).toFixed(2)} s |`);
  console.log(`| Python \`Client.inbox\` (grants checked, no index opened), second call | ${py.toFixed(2)} s |`);
  console.log(`\nbrowser (later visits) / Python: ${(median(visits.slice(visits.length > 1 ? 1 : 0)) / py).toFixed(2)}`);
} finally {
  await browser.close();
  await server.stop();
  rmSync(root, { recursive: true, force: true });
}
