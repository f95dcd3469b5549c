// A long group chat in the browser (issue 19, "Performance").
//
//   make web && node benchmarks/browser_chat.mjs [--messages 10000] [--sends 10]
//
// Starts its own `kluis server` on loopback (temporary data directory; SQLite) and Debian's
// Chromium (headless, through web/node_modules/playwright-core). Two accounts and a group are made
// with the Python client (client_sdk, vault), and --messages chat messages signed by both members
// are written into the server's database directly (how they get there does not matter here; the
// browser verifies each one as any other). Then, in the browser, it measures:
//
// * a new device opening the chat: every message verified (hash chain, Ed25519 signature, sender,
//   role, epoch; format 19.4) and the last 200 decrypted, from the click to the newest line on
//   screen;
// * the same browser opening it again in a new session: the messages up to the state it kept are
//   linked to it by their hashes (no signature again), the rest verified, the last 200 decrypted
//   (the target: under 1 s for 10,000 messages);
// * a message sent in one member's browser until it is on screen in the other's (live over
//   Server-Sent Events: the worker hears the new position, fetches, verifies, decrypts), --sends
//   times, median and worst (target: under 200 ms on loopback).
//
// A benchmark, never a test: it prints figures, nothing passes or fails.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { startKluisServer } from "./kluis_server.mjs";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { chromium } = await import(join(ROOT, "web", "node_modules", "playwright-core", "index.mjs"));
const PYTHON = join(ROOT, ".venv", "bin", "python");
const PASSPHRASE = "scheur in de gevel boven de voordeur 2026";
const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : fallback);
const MESSAGES = option("--messages", 10_000);
const SENDS = option("--sends", 10);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const root = mkdtempSync(join(tmpdir(), "kluis-bench-chat-"));
const server = await startKluisServer(root, { KLUIS_MESSAGE_POST_MAX: "100000" });
const url = server.url;

// -- the accounts, the group and its messages (Python) ---------------------------------------------
const seed = spawnSync(PYTHON, ["-c", `
import os, sqlite3, sys, time
from pathlib import Path
from client_sdk.client import Client
from vault.content import Text
from vault.group import epoch_key
from vault.kinds import OrgKind, Role
from vault.message import NO_HASH, MessageKind, message_hash, seal_message
from vault.organisation import make_membership, new_organisation
url, root, count, passphrase = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
now = int(time.time()) - count
anna = Client(url, str(root / "p-anna")); anna.register("anna", passphrase)
bert = Client(url, str(root / "p-bert")); bert.register("bert", passphrase)
gid = os.urandom(16)
org, record = new_organisation(anna.me, org_id=gid, name="bench-chat", kind=OrgKind.GROUP, created_at=now)
anna.api.create_organisation(gid.hex(), "bench-chat", int(OrgKind.GROUP), record, make_membership(anna.me, org, anna.me.public, role=Role.ADMIN, issued_at=now))
anna.api.add_member(gid.hex(), bert.my_id, int(Role.MEMBER), 1, make_membership(anna.me, org, bert.me.public, role=Role.MEMBER, issued_at=now))
key = epoch_key(org)
rows, sequences, previous = [], {}, NO_HASH
for i in range(count):
    sender = anna.me if i % 2 == 0 else bert.me
    sequences[sender.user_id] = sequences.get(sender.user_id, 0) + 1
    message = seal_message(sender, group_id=gid, epoch=1, kind=MessageKind.EPOCH_START if i == 0 else MessageKind.CHAT,
        sequence=sequences[sender.user_id], previous_hash=previous, reference=NO_HASH, sent_at=now + i,
        body=b"" if i == 0 else Text(f"Bericht {i}: morgen komt de aannemer om acht uur, wie is er thuis?").encode(), epoch_key=key)
    previous = message_hash(message)
    rows.append((gid.hex(), i + 1, sender.user_id.hex(), previous.hex(), message, now + i))
db = sqlite3.connect(root / "data" / "kluis.db", timeout=30)
db.executemany("INSERT INTO group_messages (org_id, position, sender_id, message_hash, message, created_at) VALUES (?, ?, ?, ?, ?, ?)", rows)
db.commit()
print(gid.hex())
`, url, root, String(MESSAGES), PASSPHRASE], { encoding: "utf8", cwd: ROOT });
if (seed.status !== 0) throw new Error(`seeding failed:\n${seed.stderr}`);
const groupId = seed.stdout.trim();
const last = `Bericht ${MESSAGES - 1}: morgen komt de aannemer om acht uur, wie is er thuis?`;

const browser = await chromium.launch({ executablePath: process.env.KLUIS_CHROMIUM ?? "/usr/bin/chromium", args: ["--headless", "--no-sandbox", "--disable-gpu"] });
try {
  const login = async (page, username) => {
    await page.goto("/#/inloggen");
    await page.getByLabel("Gebruikersnaam").fill(username);
    await page.getByLabel("Wachtwoordzin").fill(PASSPHRASE);
    await page.getByRole("button", { name: "Inloggen" }).click();
    await page.getByRole("heading", { level: 1, name: "Mijn dossiers" }).waitFor({ timeout: 120_000 });
  };
  // The server's share: the requests made while the chat opens, each from its start to the end
  // of its answer (they run one after another in the worker).
  let waiting = null;
  const openChat = async (page) => {
    const requests = [];
    const seen = (r) => requests.push(r.timing().responseEnd);
    page.on("requestfinished", seen);
    const t = performance.now();
    await page.goto(`/#/groepen/${groupId}/chat`);
    await page.getByTestId("chat").getByText(last).waitFor({ timeout: 300_000 });
    const took = (performance.now() - t) / 1000;
    page.off("requestfinished", seen);
    waiting = { count: requests.length, seconds: requests.reduce((a, b) => a + b, 0) / 1000 };
    return took;
  };
  const anna = await (await browser.newContext({ baseURL: url, locale: "nl-NL" })).newPage();
  const bert = await (await browser.newContext({ baseURL: url, locale: "nl-NL" })).newPage();
  await login(anna, "anna");
  const firstOpen = await openChat(anna);
  const firstWaiting = waiting;
  await anna.reload();
  await login(anna, "anna");
  const againOpen = await openChat(anna);
  const againWaiting = waiting;
  await login(bert, "bert");
  await openChat(bert);

  const delivery = [];
  for (let i = 0; i < SENDS; i++) {
    const text = `Live ${i} ${Date.now()}`;
    await anna.getByLabel("Uw bericht").fill(text);
    const t = performance.now();
    await anna.getByRole("button", { name: "Versturen" }).click();
    await bert.getByTestId("chat").getByText(text).waitFor({ timeout: 30_000 });
    delivery.push(performance.now() - t);
    await anna.getByTestId("chat").getByText(text).waitFor();
  }
  console.log(`chat of ${MESSAGES} messages, Chromium ${browser.version()}, loopback, SQLite`);
  const share = (w) => `${w.count} requests, ${w.seconds.toFixed(2)} s of it waiting for the server`;
  console.log(`  a new device opens it (all verified, last 200 decrypted):     ${firstOpen.toFixed(2)} s (${share(firstWaiting)})`);
  console.log(`  a new session on the same browser (state kept; target < 1 s): ${againOpen.toFixed(2)} s (${share(againWaiting)})`);
  console.log(`  a sent message on the other member's screen (${SENDS}x; target < 200 ms): median ${median(delivery).toFixed(0)} ms, worst ${Math.max(...delivery).toFixed(0)} ms`);
} finally {
  await browser.close();
  await server.stop();
  rmSync(root, { recursive: true, force: true });
}
