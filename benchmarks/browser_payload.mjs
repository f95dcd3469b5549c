// Encrypt and hash in the browser against the Python client, side by side in one run (issue 16,
// "Performance": at least a quarter of the Python client's file-to-file speed).
//
//   make web-test && node benchmarks/browser_payload.mjs [--size-mib 1024]
//
// The browser: web/src/vault/payload.ts (the code the vault worker runs: libsodium.js
// ChaCha20-Poly1305 and hash-wasm BLAKE3), bundled here by esbuild into a module Web Worker in
// Debian's Chromium (headless, through playwright-core), served from a loopback server of this
// script. The worker encrypts --size-mib MiB made of one 64 MiB random block pushed again and
// again (no disk: reading a File is the upload's cost, measured in browser_transfer.mjs) and
// hashes the payload as the client does. One worker, one core: the web client has no pool yet.
//
// Python: `vault.payload.encrypt_payload` file to file over a random file of the same size (both
// cores: the AEAD and BLAKE3 overlap), as benchmarks/payload_throughput.py measures it.
//
// A benchmark, never a test: it prints a table and the ratios, nothing passes or fails.
import { spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { randomFillSync } from "node:crypto";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const WEB = join(ROOT, "web");
const { build } = await import(join(WEB, "node_modules", "esbuild", "lib", "main.js"));
const { chromium } = await import(join(WEB, "node_modules", "playwright-core", "index.mjs"));
const PYTHON = join(ROOT, ".venv", "bin", "python");
const args = process.argv.slice(2);
const SIZE_MIB = args.includes("--size-mib") ? Number(args[args.indexOf("--size-mib") + 1]) : 1024;

const root = mkdtempSync(join(tmpdir(), "kluis-bench-payload-"));
try {
  // -- the worker, bundled from the vault's own sources ------------------------------------------
  const entry = join(root, "entry.ts");
  writeFileSync(
    entry,
    `import { ready, randomBytes } from ${JSON.stringify(join(WEB, "src", "vault", "crypto.ts"))};
import { PayloadEncryptor } from ${JSON.stringify(join(WEB, "src", "vault", "payload.ts"))};
onmessage = async (event) => {
  await ready();
  const block = new Uint8Array(64 * 1024 * 1024);
  for (let at = 0; at < block.length; at += 65536) crypto.getRandomValues(block.subarray(at, at + 65536));
  const started = performance.now();
  const encryptor = await PayloadEncryptor.create(randomBytes(16));
  let sealed = 0;
  for (let i = 0; i < event.data / 64; i++) for (const piece of encryptor.push(block)) sealed += piece.length;
  const end = encryptor.finish();
  for (const piece of end.chunks) sealed += piece.length;
  postMessage({ seconds: (performance.now() - started) / 1000, sealed, size: Number(end.digest.plaintextSize) });
};
`,
  );
  const bundled = await build({ entryPoints: [entry], bundle: true, format: "esm", platform: "browser", target: "es2022", write: false, logLevel: "error" });
  const files = {
    "/": ["text/html", '<!doctype html><html lang="en"><meta charset="utf-8"><title>payload</title></html>'],
    "/worker.js": ["text/javascript", bundled.outputFiles[0].contents],
  };
  const server = createServer((req, res) => {
    const [type, body] = files[req.url] ?? ["text/plain", "not found"];
    res.writeHead(files[req.url] ? 200 : 404, { "content-type": type });
    res.end(body);
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  const url = `http://127.0.0.1:${server.address().port}/`;

  // -- Python, file to file -----------------------------------------------------------
  const plain = join(root, "opname.bin");
  const fd = openSync(plain, "w");
  const block = Buffer.alloc(1 << 20);
  for (let i = 0; i < SIZE_MIB; i++) writeSync(fd, randomFillSync(block));
  closeSync(fd);
  const python = spawnSync(
    PYTHON,
    [
      "-c",
      `
import json, time
from vault.payload import encrypt_payload
key = bytes(range(16))
with open(${JSON.stringify(plain)}, "rb") as src, open(${JSON.stringify(join(root, "opname.age"))}, "wb") as dst:
    t = time.perf_counter(); encrypt_payload(src, dst, key); file_to_file = time.perf_counter() - t
print(json.dumps({"file": file_to_file}))
`,
    ],
    { encoding: "utf8", cwd: ROOT },
  );
  if (python.status !== 0) throw new Error(python.stderr);
  const py = JSON.parse(python.stdout);

  // -- Chromium ----------------------------------------------------------------------------------
  const browser = await chromium.launch({ executablePath: process.env.KLUIS_CHROMIUM ?? "/usr/bin/chromium", args: ["--headless", "--no-sandbox", "--disable-gpu"] });
  let web;
  try {
    const page = await browser.newPage();
    await page.goto(url);
    web = await page.evaluate(
      (size) =>
        new Promise((ok, fail) => {
          const worker = new Worker("/worker.js", { type: "module" });
          worker.onmessage = (event) => ok(event.data);
          worker.onerror = (event) => fail(new Error(event.message));
          worker.postMessage(size);
        }),
      SIZE_MIB,
    );
  } finally {
    await browser.close();
    server.close();
  }
  if (web.size !== SIZE_MIB * 1024 * 1024) throw new Error(`the browser encrypted ${web.size} bytes`);

  const rate = (s) => `${(SIZE_MIB / s).toFixed(0)} MiB/s`;
  console.log(`| encrypt and hash ${SIZE_MIB} MiB | seconds | speed | browser as a share |\n|---|---:|---:|---:|`);
  console.log(`| Python, file to file (two threads) | ${py.file.toFixed(2)} | ${rate(py.file)} | ${((100 * py.file) / web.seconds).toFixed(0)}% (target ≥ 25%) |`);
  console.log(`| Chromium, one module worker, in memory | ${web.seconds.toFixed(2)} | ${rate(web.seconds)} | |`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
