/**
 * Code delivery: the page runs only the code its build pinned. What reaches the browser is
 * changed on the way (Playwright's routing rewrites the server's answer, as a lying server or a
 * proxy would), and Chromium refuses it: a changed worker.js shows the security page (check
 * "code") and no worker runs; a changed main.js does not run (Subresource Integrity); a page
 * whose script lost its `integrity` does not run it (the `Integrity-Policy` header).
 */

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import type { Browser, BrowserContext, Page, Route } from "playwright-core";

import { expectAccessible, KluisServer, launch, screenshot } from "./harness.js";

/** index.html's own text, which main.js replaces as soon as it runs. */
const STATIC_TEXT = "Uw dossier over de schade aan uw huis, veilig bewaard.";

let server: KluisServer;
let browser: Browser;

before(async () => {
  server = await KluisServer.start();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** A fresh profile whose answers for `path` are rewritten by `change` before the page gets them. */
async function changed(
  path: string,
  change: (body: Buffer) => Buffer,
  headers: (h: Record<string, string>) => Record<string, string> = (h) => h,
): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
  const context = await browser.newContext({ locale: "nl-NL", baseURL: server.url });
  await context.route(
    (url) => url.pathname === path,
    async (route: Route) => {
      const response = await route.fetch();
      await route.fulfill({ response, body: change(await response.body()), headers: headers(response.headers()) });
    },
  );
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
  page.on("console", (msg) => {
    if (msg.type() === "error") problems.push(`console: ${msg.text()}`);
  });
  await page.goto("/");
  return { context, page, problems };
}

/** The same bytes with one more statement at the end: valid JavaScript, other hash. */
const appended = (body: Buffer): Buffer => Buffer.concat([body, Buffer.from('\nglobalThis.kluisChanged = "yes";\n')]);

test("the unchanged bundle runs (the login page appears)", async () => {
  const { context, page, problems } = await changed("/nothing", (b) => b);
  await page.getByRole("heading", { level: 1, name: "Inloggen" }).waitFor();
  assert.equal(await page.getByText(STATIC_TEXT).count(), 0);
  assert.equal(page.workers().length, 1);
  assert.deepEqual(problems, []);
  await context.close();
});

test("a changed worker.js is refused: the security page, and no worker runs", async () => {
  const { context, page } = await changed("/assets/worker.js", appended);
  const failure = page.getByTestId("security-failure");
  await failure.waitFor();
  assert.equal(await failure.getAttribute("data-check"), "code");
  assert.match(await page.getByTestId("security-what").innerText(), /andere programmacode/);
  assert.equal(page.workers().length, 0);
  await expectAccessible(page, "code-gewijzigd");
  await screenshot(page, "90-code-gewijzigd");
  await context.close();
});

test("a changed main.js does not run (Subresource Integrity)", async () => {
  const { context, page, problems } = await changed("/assets/main.js", appended);
  // A module script runs before the load event: after it, the page is still index.html's own
  // (main.js replaces it at once), and no worker runs.
  await page.waitForLoadState("load");
  await page.getByText(STATIC_TEXT).waitFor();
  assert.equal(await page.evaluate(() => (globalThis as { kluisChanged?: string }).kluisChanged ?? "no"), "no");
  assert.equal(page.workers().length, 0);
  assert.ok(problems.some((p) => /integrity/i.test(p)), problems.join("\n"));
  await context.close();
});

const stripped = (body: Buffer): Buffer => Buffer.from(body.toString("utf8").replace(/ integrity="[^"]*"/g, ""));

test("a script without integrity is refused (Integrity-Policy)", async () => {
  const { context, page } = await changed("/", stripped);
  await page.waitForLoadState("load");
  assert.doesNotMatch(await page.content(), /integrity=/);
  await page.getByText(STATIC_TEXT).waitFor();
  assert.equal(page.workers().length, 0);
  await context.close();
});

test("the same page without the Integrity-Policy header would run it (what the header adds)", async () => {
  const noPolicy = (h: Record<string, string>): Record<string, string> => Object.fromEntries(Object.entries(h).filter(([k]) => k.toLowerCase() !== "integrity-policy"));
  const { context, page } = await changed("/", stripped, noPolicy);
  await page.getByRole("heading", { level: 1, name: "Inloggen" }).waitFor();
  await context.close();
});
