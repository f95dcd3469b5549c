/**
 * The vault worker (a module Web Worker): owns every secret key; the page talks to it only
 * through the protocol of protocol.ts.
 */

import type { Envelope, ProgressEnvelope, Request, Response } from "./protocol.js";
import { createHandler } from "./handler.js";

interface WorkerScope {
  onmessage: ((event: MessageEvent<Envelope<Request>>) => void) | null;
  postMessage(message: Envelope<Response> | ProgressEnvelope, transfer: Transferable[]): void;
}

const scope = globalThis as unknown as WorkerScope;
const handle = createHandler({ warmKdf: true });

// One request at a time, in order: a login must finish before the next call sees its keys.
let queue: Promise<void> = Promise.resolve();

scope.onmessage = (event) => {
  const { id, body } = event.data;
  if (body.type === "groupWait") {
    // A live wait holds for up to half a minute: it must not hold back the calls behind it.
    void handle(body).then(({ response }) => scope.postMessage({ id, body: response }, []));
    return;
  }
  queue = queue.then(async () => {
    // Progress at most every 100 ms (a large upload reports thousands of times).
    let last = 0;
    const { response, transfer } = await handle(body, (progress) => {
      const t = Date.now();
      if (t - last < 100 && progress.done !== 0 && progress.done !== progress.total) return;
      last = t;
      scope.postMessage({ id, progress }, []);
    });
    scope.postMessage({ id, body: response }, transfer);
  });
};
