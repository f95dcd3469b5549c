// Build the web client with esbuild (runs on Node 18 and later).
//
//   node build.mjs [--outdir DIR]   the static bundle: index.html and assets/ (main.js, worker.js,
//                                    style.css, and common-passwords.txt: the passphrase rule's
//                                    list, fetched when needed, never in a script; default
//                                    ../server/web/static, served at /)
//   node build.mjs --tests          the Node tests, compiled to build/test/*.test.mjs
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

if (args.includes("--tests")) {
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
    entryPoints: { main: join(here, "src", "main.ts"), worker: join(here, "src", "worker", "worker.ts") },
    outdir: join(outdir, "assets"),
    platform: "browser",
    minify: true,
    sourcemap: false,
    // libsodium only reaches for Node's crypto module when it runs under Node.
    external: ["crypto"],
  });
  await copyFile(join(here, "src", "index.html"), join(outdir, "index.html"));
  for (const name of ["style.css", "icon.svg"]) await copyFile(join(here, "src", name), join(outdir, "assets", name));
  // The passphrase rule's list (format section 18), the same bytes as the Python client's; the
  // browser checks its SHA-256 before use, and so does the build, so a bundle that would refuse
  // to judge every passphrase is never built.
  const list = join(here, "..", "vault", "data", "common-passwords.txt");
  const digest = createHash("sha256").update(await readFile(list)).digest("hex");
  const expected = /COMMON_PASSWORDS_SHA256 = "([0-9a-f]{64})"/.exec(await readFile(join(here, "src", "vault", "passphrase.ts"), "utf8"))?.[1];
  if (digest !== expected) throw new Error(`${list}: SHA-256 ${digest}, but src/vault/passphrase.ts expects ${expected}`);
  await copyFile(list, join(outdir, "assets", "common-passwords.txt"));
}
