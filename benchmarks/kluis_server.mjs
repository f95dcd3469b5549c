// A `kluis server` on loopback for the browser benchmarks: SQLite and files in `root/data`, its
// output in `root/server.log`. A file, not a pipe: the benchmarks run the CLI and Python
// synchronously (spawnSync), and a pipe nobody reads meanwhile fills with the request log and
// stalls the server mid-request.
import { spawn } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const KLUIS = join(resolve(dirname(fileURLToPath(import.meta.url)), ".."), ".venv", "bin", "kluis");

/** Start it with `env` added to this process's; answers its URL and a `stop()` that waits for the exit. */
export async function startKluisServer(root, env = {}) {
  const log = join(root, "server.log");
  const fd = openSync(log, "w");
  const child = spawn(KLUIS, ["server", "--host", "127.0.0.1", "--port", "0", "--data-dir", join(root, "data")], {
    stdio: ["ignore", fd, fd],
    env: { ...process.env, ...env },
  });
  closeSync(fd);
  for (;;) {
    const m = readFileSync(log, "utf8").match(/Kluis server listening on (http:\/\/\S+)/);
    if (m) break;
    if (child.exitCode !== null) throw new Error(`kluis server exited ${child.exitCode}: ${readFileSync(log, "utf8")}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const url = readFileSync(log, "utf8").match(/Kluis server listening on (http:\/\/\S+)/)[1];
  return {
    url,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    },
  };
}
