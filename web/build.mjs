// Build the web client with esbuild (runs on Node 18 and later).
//
//   node build.mjs [--outdir DIR]   the static bundle: index.html (with SRI), manifest.json (every
//                                    file's SHA-384, for `kluis web verify`) and assets/ (main.js, worker.js,
//                                    style.css with the NL Design System components, and
//                                    common-passwords.txt: the passphrase rule's list, fetched
//                                    when needed, never in a script; default
//                                    ../server/web/static, served at /)
//   node build.mjs --tests          the Node tests, compiled to build/test/*.test.mjs
//   node build.mjs --e2e            the browser tests, compiled to build/e2e/*.test.mjs
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { copyFile, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const MANIFEST = "manifest.json";
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : fallback;
};

const common = {
  bundle: true,
  format: "esm",
  target: ["es2022"],
  logLevel: "warning",
  legalComments: "linked",
  charset: "utf8",
};

if (args.includes("--e2e")) {
  // The browser tests (e2e/): run by Node against a real server; packages stay outside the bundle.
  const outdir = join(here, "build", "e2e");
  await rm(outdir, { recursive: true, force: true });
  const tests = (await readdir(join(here, "e2e"))).filter((f) => f.endsWith(".test.ts"));
  await build({
    ...common,
    entryPoints: tests.map((f) => join(here, "e2e", f)),
    outdir,
    outExtension: { ".js": ".mjs" },
    platform: "node",
    target: ["node20"],
    packages: "external",
    sourcemap: "inline",
    legalComments: "none",
  });
} else if (args.includes("--tests")) {
  const outdir = join(here, "build", "test");
  await rm(outdir, { recursive: true, force: true });
  const tests = (await readdir(join(here, "test"))).filter((f) => f.endsWith(".test.ts"));
  await build({
    ...common,
    entryPoints: tests.map((f) => join(here, "test", f)),
    outdir,
    outExtension: { ".js": ".mjs" },
    platform: "node",
    target: ["node18"],
    sourcemap: "inline",
    legalComments: "none",
    // libsodium's Node branch calls require("crypto"): give the ESM bundle a require. Node 18
    // (Debian 12's) has Web Crypto only as node:crypto's webcrypto, not yet as globalThis.crypto.
    banner: {
      js: [
        'import { createRequire as __kluisRequire } from "node:module";',
        'import { webcrypto as __kluisWebcrypto } from "node:crypto";',
        "const require = __kluisRequire(import.meta.url);",
        'if (globalThis.crypto === undefined) Object.defineProperty(globalThis, "crypto", { value: __kluisWebcrypto, configurable: true });',
      ].join("\n"),
    },
  });
} else {
  const outdir = resolve(here, option("--outdir", "../server/web/static"));
  await rm(outdir, { recursive: true, force: true });
  await mkdir(outdir, { recursive: true });
  const browser = {
    ...common,
    outdir: join(outdir, "assets"),
    platform: "browser",
    minify: true,
    // Error classes are named by their class (vault/errors.ts: `new.target.name`), and the
    // worker sends that name to the page: minifying must not rename them.
    keepNames: true,
    sourcemap: false,
    // libsodium only reaches for Node's crypto module when it runs under Node.
    external: ["crypto"],
  };
  // The worker first: the page checks the worker's bytes against this hash before it runs them
  // (Subresource Integrity for the worker, src/worker/client.ts), so main.js carries it.
  await build({ ...browser, entryPoints: { worker: join(here, "src", "worker", "worker.ts"), style: join(here, "src", "style.css") } });
  const workerIntegrity = sri(await readFile(join(outdir, "assets", "worker.js")));
  await build({ ...browser, entryPoints: { main: join(here, "src", "main.tsx") }, define: { __KLUIS_WORKER_INTEGRITY__: JSON.stringify(workerIntegrity) } });
  // Every script and style the page loads carries its SHA-384 (index.html's `integrity`).
  let page = await readFile(join(here, "src", "index.html"), "utf8");
  for (const name of ["main.js", "style.css"]) {
    const tag = new RegExp(`(<(?:script|link)\\b[^>]*\\b(?:src|href)="assets/${name.replace(".", "\\.")}")`);
    if (!tag.test(page)) throw new Error(`src/index.html does not load assets/${name}`);
    page = page.replace(tag, `$1 integrity="${sri(await readFile(join(outdir, "assets", name)))}"`);
  }
  await writeFile(join(outdir, "index.html"), page);
  await copyFile(join(here, "src", "icon.svg"), join(outdir, "assets", "icon.svg"));
  // The passphrase rule's list (format section 18), the same bytes as the Python client's; the
  // browser checks its SHA-256 before use, and so does the build, so a bundle that would refuse
  // to judge every passphrase is never built.
  const list = join(here, "..", "vault", "data", "common-passwords.txt");
  const digest = createHash("sha256").update(await readFile(list)).digest("hex");
  const expected = /COMMON_PASSWORDS_SHA256 = "([0-9a-f]{64})"/.exec(await readFile(join(here, "src", "vault", "passphrase.ts"), "utf8"))?.[1];
  if (digest !== expected) throw new Error(`${list}: SHA-256 ${digest}, but src/vault/passphrase.ts expects ${expected}`);
  await copyFile(list, join(outdir, "assets", "common-passwords.txt"));
  await writeManifest(outdir);
}

/** `sha384-<base64>`: the form of a Subresource Integrity value. */
function sri(bytes) {
  return "sha384-" + createHash("sha384").update(bytes).digest("base64");
}

/**
 * manifest.json: every file of the bundle (paths relative to the bundle, sorted) with its size
 * and SHA-384, shipped in the Python package next to the bundle; `kluis web verify URL` compares
 * what a server serves with it (client_sdk/webverify.py). Not served by the server itself.
 */
async function writeManifest(outdir) {
  const files = [];
  const walk = async (dir, prefix) => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = prefix + entry.name;
      if (entry.isDirectory()) await walk(join(dir, entry.name), path + "/");
      else if (path !== MANIFEST) {
        const bytes = await readFile(join(dir, entry.name));
        files.push({ path, size: bytes.length, sha384: createHash("sha384").update(bytes).digest("hex") });
      }
    }
  };
  await walk(outdir, "");
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  await writeFile(join(outdir, MANIFEST), JSON.stringify({ format: "kluis-web-manifest/1", files }, null, 2) + "\n");
}
