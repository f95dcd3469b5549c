/**
 * Every file of tests/vectors/ inside real browsers: Debian's Firefox ESR (puppeteer-core over
 * WebDriver BiDi; Playwright cannot drive Debian's Firefox) and Debian's Chromium
 * (playwright-core). The Node vector suite (test/vectors.test.ts) is bundled for the browser
 * with test/browser/node-shims.ts in place of Node's modules and run by test/browser/runner.ts
 * in a page served from a loopback server of this test: success and failure vectors alike, one
 * result per file, and every file must have run.
 */

import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { type AddressInfo } from "node:net";
import { extname, join, resolve } from "node:path";
import { after, before, test } from "node:test";

import { build, type Plugin } from "esbuild";
import puppeteer from "puppeteer-core";

import { launch, REPO, WEB } from "./harness.js";

const FIREFOX = process.env["KLUIS_FIREFOX"] ?? "/usr/bin/firefox-esr";
const PAGE_DIR = join(WEB, "build", "vectors-page");
const VECTORS_DIR = join(REPO, "tests", "vectors");
const SHIMS = join(WEB, "test", "browser", "node-shims.ts");

interface VectorResult {
  name: string;
  ok: boolean;
  error?: string;
}
type VectorRun = { userAgent: string; files: number; results: VectorResult[]; millis: number } | { fatal: string };

let server: Server;
let url: string;
const files = readdirSync(VECTORS_DIR).filter((f) => f.endsWith(".json")).sort();

/** Node's modules, as far as the vector tests use them, from node-shims.ts. */
const nodeShims: Plugin = {
  name: "node-shims",
  setup(b) {
    b.onResolve({ filter: /^node:/ }, () => ({ path: SHIMS }));
  },
};

const TYPES: Record<string, string> = { ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".json": "application/json", ".txt": "text/plain; charset=utf-8" };

before(async () => {
  await build({
    entryPoints: { runner: join(WEB, "test", "browser", "runner.ts") },
    outdir: PAGE_DIR,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "browser",
    target: ["es2022"],
    logLevel: "warning",
    legalComments: "none",
    keepNames: true,
    external: ["crypto"],
    inject: [SHIMS],
    plugins: [nodeShims],
  });
  const vectors: Record<string, string> = {};
  for (const name of files) vectors[name] = readFileSync(join(VECTORS_DIR, name), "utf8");
  const assets: Record<string, Buffer> = {
    "/": Buffer.from('<!doctype html><html lang="en"><meta charset="utf-8"><title>Kluis vectors</title><p id="result">running</p><script type="module" src="runner.js"></script></html>'),
    "/vectors.json": Buffer.from(JSON.stringify(vectors)),
    "/common-passwords.txt": readFileSync(join(REPO, "vault", "data", "common-passwords.txt")),
  };
  server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    let body = assets[path];
    if (body === undefined && /^\/[\w.-]+\.js$/.test(path)) {
      try {
        body = readFileSync(resolve(PAGE_DIR, path.slice(1)));
      } catch {
        body = undefined;
      }
    }
    if (body === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": TYPES[path === "/" ? ".html" : extname(path)] ?? "application/octet-stream", "cache-control": "no-store" });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});

after(async () => {
  await new Promise((r) => server?.close(r));
});

function check(browser: string, run: VectorRun): void {
  assert.ok(!("fatal" in run), `${browser}: the vector page failed: ${"fatal" in run ? run.fatal : ""}`);
  assert.equal(run.files, files.length, `${browser}: every vector file reached the page`);
  const failed = run.results.filter((r) => !r.ok);
  assert.deepEqual(failed, [], `${browser}: vectors failed`);
  const ran = new Set(run.results.map((r) => r.name));
  for (const name of files) assert.ok(ran.has(name), `${browser}: ${name} did not run`);
  console.log(`# ${browser}: ${run.results.length} tests (${files.length} vector files) passed in ${run.millis} ms (${run.userAgent})`);
}

test("every vector passes in Firefox ESR (WebDriver BiDi)", async () => {
  const browser = await puppeteer.launch({ browser: "firefox", executablePath: FIREFOX, headless: true, protocol: "webDriverBiDi" });
  try {
    const page = await browser.newPage();
    await page.goto(url);
    await page.waitForFunction(() => (globalThis as { kluisVectors?: unknown }).kluisVectors !== undefined, { timeout: 600_000, polling: 500 });
    check("Firefox ESR", (await page.evaluate(() => (globalThis as unknown as { kluisVectors: VectorRun }).kluisVectors)) as VectorRun);
  } finally {
    await browser.close();
  }
});

test("every vector passes in Chromium", async () => {
  const browser = await launch();
  try {
    const page = await browser.newPage();
    await page.goto(url);
    await page.waitForFunction(() => (globalThis as { kluisVectors?: unknown }).kluisVectors !== undefined, undefined, { timeout: 600_000, polling: 500 });
    check("Chromium", (await page.evaluate(() => (globalThis as unknown as { kluisVectors: VectorRun }).kluisVectors)) as VectorRun);
  } finally {
    await browser.close();
  }
});
