/**
 * The vector suite in a browser page: fetch every file of tests/vectors/ and the common-password
 * list from the page's own origin, load ../vectors.test.ts (bundled with node-shims.ts in place
 * of Node's modules), run its tests one by one and publish the results on `globalThis` and in
 * the page, for the e2e test that drives Firefox ESR and Chromium (e2e/vectors.test.ts).
 */

import { fetched, registered } from "./node-shims.js";

export interface VectorResult {
  name: string;
  ok: boolean;
  error?: string;
}

export interface VectorRun {
  userAgent: string;
  files: number;
  results: VectorResult[];
  millis: number;
}

async function run(): Promise<VectorRun> {
  const started = performance.now();
  const [vectors, list] = await Promise.all([
    fetch("vectors.json").then((r) => r.json() as Promise<Record<string, string>>),
    fetch("common-passwords.txt").then((r) => r.arrayBuffer()),
  ]);
  fetched.vectors = vectors;
  fetched.commonPasswords = new Uint8Array(list);
  await import("../vectors.test.js");
  const results: VectorResult[] = [];
  for (const { name, fn } of registered) {
    try {
      await fn();
      results.push({ name, ok: true });
    } catch (error) {
      const e = error as Error;
      results.push({ name, ok: false, error: `${e?.name ?? "Error"}: ${e?.message ?? String(error)}` });
    }
  }
  return { userAgent: navigator.userAgent, files: Object.keys(vectors).length, results, millis: Math.round(performance.now() - started) };
}

const out = document.getElementById("result") as HTMLElement;
run().then(
  (done) => {
    (globalThis as unknown as { kluisVectors: VectorRun }).kluisVectors = done;
    const failed = done.results.filter((r) => !r.ok).length;
    out.textContent = `${done.results.length - failed} passed, ${failed} failed`;
  },
  (error: unknown) => {
    (globalThis as unknown as { kluisVectors: { fatal: string } }).kluisVectors = { fatal: String((error as Error)?.stack ?? error) };
    out.textContent = `fatal: ${String(error)}`;
  },
);
