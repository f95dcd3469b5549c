/**
 * The end-to-end harness: a real `kluis server` process on a free loopback port with a fresh
 * data directory, Debian's Chromium driven by playwright-core, axe-core's WCAG 2.2 AA checks,
 * screenshots into build/screenshots/, the `kluis` command line against the same server, and
 * the server operator's tools for the tamper tests (its SQLite database and blob files edited
 * between steps, as tests/adversarial/harness.py does).
 */

import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { deflateSync } from "node:zlib";

import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
/** web/ (the compiled tests run from web/build/e2e/). */
export const WEB = resolve(here, "../..");
export const REPO = resolve(WEB, "..");
export const VENV_BIN = join(REPO, ".venv", "bin");
export const KLUIS = join(VENV_BIN, "kluis");
export const PYTHON = join(VENV_BIN, "python");
export const SCREENSHOTS = join(WEB, "build", "screenshots");
const CHROMIUM = process.env["KLUIS_CHROMIUM"] ?? "/usr/bin/chromium";
const AXE = readFileSync(join(WEB, "node_modules", "axe-core", "axe.min.js"), "utf8");

export const PASSPHRASE = "scheur in de gevel boven de voordeur 2026";

// -- the server --------------------------------------------------------------------------------
export class KluisServer {
  private constructor(
    readonly url: string,
    readonly dataDir: string,
    readonly root: string,
    private readonly process: ChildProcess,
  ) {}

  /** `env`: settings of its own (KLUIS_WEB_ORIGINS, ...). */
  static async start(env: Record<string, string> = {}): Promise<KluisServer> {
    const root = mkdtempSync(join(tmpdir(), "kluis-e2e-"));
    const dataDir = join(root, "data");
    // Its output goes to a file, not a pipe: while a test runs `kluis` synchronously (cli(),
    // spawnSync) nothing here drains a pipe, and a full one would stall the server mid-request.
    const log = join(root, "server.log");
    const out = openSync(log, "w");
    const child = spawn(KLUIS, ["server", "--host", "127.0.0.1", "--port", "0", "--data-dir", dataDir], {
      stdio: ["ignore", out, out],
      env: { ...process.env, PYTHONUNBUFFERED: "1", ...env },
    });
    closeSync(out);
    const url = await new Promise<string>((resolveUrl, reject) => {
      const look = (): void => {
        const output = readFileSync(log, "utf8");
        const m = output.match(/Kluis server listening on (http:\/\/\S+)/);
        if (m) resolveUrl(m[1] as string);
        else if (child.exitCode !== null) reject(new Error(`kluis server exited with ${child.exitCode}:\n${output}`));
        else setTimeout(look, 50);
      };
      look();
    });
    return new KluisServer(url, dataDir, root, child);
  }

  async stop(): Promise<void> {
    if (this.process.exitCode === null) {
      const exited = new Promise((r) => this.process.once("exit", r));
      this.process.kill("SIGTERM");
      await exited;
    }
    rmSync(this.root, { recursive: true, force: true });
  }

  get dbPath(): string {
    return join(this.dataDir, "kluis.db");
  }

  /** Run Python with the server's database at hand (`db` is a sqlite3 connection, `data` the data dir). */
  operator(code: string): string {
    const script = [
      "import json, sqlite3, sys",
      "from pathlib import Path",
      `data = Path(${JSON.stringify(this.dataDir)})`,
      "db = sqlite3.connect(data / 'kluis.db', timeout=30)",
      code,
      "db.commit()",
    ].join("\n");
    const run = spawnSync(PYTHON, ["-c", script], { encoding: "utf8", cwd: REPO });
    assert.equal(run.status, 0, `operator script failed:\n${run.stderr}`);
    return run.stdout;
  }

  /** `kluis ...` against this server, with its own profile directory (another device). */
  cli(profile: string, args: string[], env: Record<string, string> = {}): { status: number; stdout: string; stderr: string } {
    const run = spawnSync(KLUIS, args, {
      encoding: "utf8",
      cwd: this.root,
      env: { ...process.env, KLUIS_SERVER: this.url, KLUIS_PROFILE: join(this.root, profile), KLUIS_PASSPHRASE: PASSPHRASE, NO_COLOR: "1", ...env },
    });
    return { status: run.status ?? -1, stdout: run.stdout, stderr: run.stderr };
  }

  file(name: string, content: Uint8Array | string): string {
    const path = join(this.root, "files", name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
    return path;
  }
}

// -- the browser -------------------------------------------------------------------------------
export async function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

export interface Device {
  context: BrowserContext;
  page: Page;
  /** Every problem the page reported: console errors, uncaught exceptions. */
  problems: string[];
}

/** A fresh browser profile (its own IndexedDB: a new device), in Dutch. */
export async function device(
  browser: Browser,
  server: Pick<KluisServer, "url">,
  options: { width?: number; height?: number; zoom?: number; fileSystemAccess?: "none" | "private" } = {},
): Promise<Device> {
  const zoom = options.zoom ?? 1;
  const context = await browser.newContext({
    viewport: { width: Math.round((options.width ?? 1280) / zoom), height: Math.round((options.height ?? 900) / zoom) },
    deviceScaleFactor: zoom,
    locale: "nl-NL",
    timezoneId: "Europe/Amsterdam",
    acceptDownloads: true,
    baseURL: server.url,
  });
  // Headless Chromium has File System Access, but nobody answers its save dialog: by default the
  // page gets none (downloads as a browser without it: a Blob and a `download` event); with
  // "private" the dialog answers at once with a file of the origin private file system, which
  // the test reads back (privateFile).
  if ((options.fileSystemAccess ?? "none") === "none") {
    await context.addInitScript("delete globalThis.showSaveFilePicker;");
  } else {
    await context.addInitScript(
      "globalThis.showSaveFilePicker = async ({ suggestedName }) => (await navigator.storage.getDirectory()).getFileHandle(suggestedName, { create: true });",
    );
  }
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
  page.on("console", (msg) => {
    if (msg.type() === "error") problems.push(`console: ${msg.text()}`);
  });
  await page.goto("/");
  return { context, page, problems };
}

/** A file of the page's origin private file system (what a "private" save dialog saved), or null. */
export async function privateFile(page: Page, name: string): Promise<Buffer | null> {
  const bytes = await page.evaluate(async (n) => {
    const dir = await navigator.storage.getDirectory();
    try {
      const file = await (await dir.getFileHandle(n)).getFile();
      return Array.from(new Uint8Array(await file.arrayBuffer()));
    } catch {
      return null;
    }
  }, name);
  return bytes === null ? null : Buffer.from(bytes);
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[]; failureSummary?: string }[];
}

/** axe-core with the WCAG 2.0-2.2 A and AA rules on the page as it is now: no violations. */
export async function expectAccessible(page: Page, screen: string): Promise<void> {
  // The page's CSP forbids inline script; axe is evaluated through the DevTools protocol,
  // which the CSP does not govern.
  await page.evaluate(AXE);
  const violations = (await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(ctx: unknown, opts: unknown): Promise<{ violations: unknown[] }> } }).axe;
    const result = await axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"] }, resultTypes: ["violations"] });
    return result.violations;
  })) as AxeViolation[];
  const text = violations.map((v) => `${v.id} (${v.impact}): ${v.help}\n  ${v.nodes.map((n) => `${n.target.join(" ")} ${n.failureSummary ?? ""}`).join("\n  ")}`).join("\n");
  assert.equal(violations.length, 0, `axe found WCAG 2.2 AA violations on ${screen}:\n${text}`);
  axeScreens.push(screen);
}

/** The screens axe checked in this process (the test prints them). */
export const axeScreens: string[] = [];

function crc32(data: Uint8Array): number {
  let c = ~0;
  for (const byte of data) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

/** A real PNG photo stand-in: `width` x `height` pixels in a gradient, so previews show something. */
export function pngBytes(width = 160, height = 90): Uint8Array {
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (width * 3 + 1)] = 0;
    for (let x = 0; x < width; x++) {
      const at = y * (width * 3 + 1) + 1 + x * 3;
      raw[at] = Math.floor((255 * x) / width);
      raw[at + 1] = 90;
      raw[at + 2] = Math.floor((255 * y) / height);
    }
  }
  const chunk = (type: string, body: Buffer): Buffer => {
    const head = Buffer.alloc(4);
    head.writeUInt32BE(body.length);
    const typed = Buffer.concat([Buffer.from(type, "ascii"), body]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(typed));
    return Buffer.concat([head, typed, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(raw)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

// -- the resident's steps, by mouse ---------------------------------------------------------------
/** Create an account in the page, write nothing down, answer the two recovery words. */
export async function registerInUi(page: Page, username: string): Promise<string[]> {
  await page.goto("/#/account-aanmaken");
  await page.getByRole("heading", { level: 1, name: "Account aanmaken" }).waitFor();
  await page.getByLabel("Gebruikersnaam").fill(username);
  await page.getByLabel("Wachtwoordzin", { exact: true }).fill(PASSPHRASE);
  await page.getByLabel("Wachtwoordzin nog een keer").fill(PASSPHRASE);
  await page.getByRole("button", { name: "Account aanmaken" }).click();
  await page.getByRole("heading", { level: 1, name: "Uw herstelcode" }).waitFor();
  const words = (await page.getByTestId("recovery-words").locator(".kluis-words__w").allTextContents()).map((w) => w.trim());
  await page.getByRole("button", { name: "Ik heb de code opgeschreven" }).click();
  for (const label of await page.locator("label").allTextContents()) {
    const n = Number(label.replace("Woord ", ""));
    await page.getByLabel(label, { exact: true }).fill(words[n - 1] as string);
  }
  await page.getByRole("button", { name: "Controleren" }).click();
  await page.getByRole("heading", { level: 1, name: "Mijn dossiers" }).waitFor();
  return words;
}

export async function loginInUi(page: Page, username: string): Promise<void> {
  await page.goto("/#/inloggen");
  await page.getByRole("heading", { level: 1, name: "Inloggen" }).waitFor();
  await page.getByLabel("Gebruikersnaam").fill(username);
  await page.getByLabel("Wachtwoordzin").fill(PASSPHRASE);
  await page.getByRole("button", { name: "Inloggen" }).click();
  await page.getByRole("heading", { level: 1, name: "Mijn dossiers" }).waitFor();
}

export async function createDossierInUi(page: Page, title: string): Promise<void> {
  await page.getByLabel("Naam van het dossier").fill(title);
  await page.getByRole("button", { name: "Dossier maken" }).click();
  await page.getByRole("heading", { level: 1, name: title }).waitFor();
}

export async function addFileInUi(page: Page, name: string, content: Uint8Array | string, mimeType = "application/pdf"): Promise<void> {
  await page.getByTestId("add-files").setInputFiles({ name, mimeType, buffer: Buffer.from(content) });
  await page.getByText("1 document toegevoegd.").waitFor();
  await page.locator(`tr[data-document="${name}"]`).waitFor();
}

/** The security page is shown, for the check named, and nothing was downloaded. */
export async function expectSecurityPage(d: Device, check: string, what: RegExp): Promise<void> {
  const failure = d.page.getByTestId("security-failure");
  await failure.waitFor();
  assert.equal(await failure.getAttribute("data-check"), check);
  await d.page.getByRole("heading", { level: 1, name: "Veiligheidscontrole mislukt" }).waitFor();
  assert.match(await d.page.getByTestId("security-what").innerText(), what);
  await d.page.getByText("Neem geen risico: open dit niet en meld het aan de beheerder van uw dorp.").waitFor();
}

// -- the keyboard -----------------------------------------------------------------------------
export interface Focused {
  tag: string;
  name: string;
  visible: boolean;
}

/** What has the focus: its tag, its accessible-ish name, and whether a focus ring shows. */
export async function focused(page: Page): Promise<Focused> {
  return page.evaluate(() => {
    const el = document.activeElement as HTMLElement | null;
    if (el === null) return { tag: "", name: "", visible: false };
    const labelled = el.getAttribute("aria-label") ?? (el.id ? document.querySelector(`label[for="${el.id}"]`)?.textContent : null) ?? el.closest("label")?.textContent ?? el.textContent ?? "";
    // The ring is on the element, or (a file input inside its label) on the label.
    const ring = (e: Element | null): boolean => {
      if (e === null) return false;
      const s = getComputedStyle(e);
      return (s.outlineStyle !== "none" && s.outlineWidth !== "0px") || s.boxShadow !== "none";
    };
    return { tag: el.tagName.toLowerCase(), name: labelled.trim(), visible: ring(el) || ring(el.closest("label")) };
  });
}

/** Press Tab until the control named `name` has the focus (at most 60 presses). */
export async function tabTo(page: Page, name: string | RegExp): Promise<void> {
  const seen: string[] = [];
  for (let i = 0; i < 60; i++) {
    await page.keyboard.press("Tab");
    const f = await focused(page);
    seen.push(f.name);
    if (typeof name === "string" ? f.name === name : name.test(f.name)) {
      assert.ok(f.visible, `the focus on "${f.name}" is not visible`);
      return;
    }
  }
  assert.fail(`Tab never reached "${name}"; it went through: ${seen.join(" | ")}`);
}
