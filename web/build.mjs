// Build the web client with esbuild (runs on Node 18 and later).
//
//   node build.mjs [--outdir DIR]   the static bundle: index.html and assets/ (main.js, worker.js,
//                                    style.css with the NL Design System components, and
//                                    common-passwords.txt: the passphrase rule's list, fetched
//                                    when needed, never in a script; default
//                                    ../server/web/static, served at /)
//   node build.mjs --tests          the Node tests, compiled to build/test/*.test.mjs
//   node build.mjs --e2e            the browser tests, compiled to build/e2e/*.test.mjs
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { copyFile, mkdir, readdir, readFile, rm } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
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
  await build({
    ...common,
    entryPoints: { main: join(here, "src", "main.tsx"), worker: join(here, "src", "worker", "worker.ts"), style: join(here, "src", "style.css") },
    outdir: join(outdir, "assets"),
    platform: "browser",
    minify: true,
    // Error classes are named by their class (vault/errors.ts: `new.target.name`), and the
    // worker sends that name to the page: minifying must not rename them.
    keepNames: true,
    sourcemap: false,
    // libsodium only reaches for Node's crypto module when it runs under Node.
    external: ["crypto"],
  });
  await copyFile(join(here, "src", "index.html"), join(outdir, "index.html"));
  await copyFile(join(here, "src", "icon.svg"), join(outdir, "assets", "icon.svg"));
  // The passphrase rule's list (format section 18), the same bytes as the Python client's; the
  // browser checks its SHA-256 before use, and so does the build, so a bundle that would refuse
  // to judge every passphrase is never built.
  const list = join(here, "..", "vault", "data", "common-passwords.txt");
  const digest = createHash("sha256").update(await readFile(list)).digest("hex");
  const expected = /COMMON_PASSWORDS_SHA256 = "([0-9a-f]{64})"/.exec(await readFile(join(here, "src", "vault", "passphrase.ts"), "utf8"))?.[1];
  if (digest !== expected) throw new Error(`${list}: SHA-256 ${digest}, but src/vault/passphrase.ts expects ${expected}`);
  await copyFile(list, join(outdir, "assets", "common-passwords.txt"));
}
