/**
 * The vault worker (a module Web Worker): owns every secret key; the page talks to it only
 * through the protocol of protocol.ts.
 */

import type { Envelope, Request, Response } from "./protocol.js";
import { createHandler } from "./handler.js";

interface WorkerScope {
  onmessage: ((event: MessageEvent<Envelope<Request>>) => void) | null;
  postMessage(message: Envelope<Response>, transfer: Transferable[]): void;
}

const scope = globalThis as unknown as WorkerScope;
const handle = createHandler();

// One request at a time, in order: a login must finish before the next call sees its keys.
let queue: Promise<void> = Promise.resolve();

scope.onmessage = (event) => {
  const { id, body } = event.data;
  queue = queue.then(async () => {
    const { response, transfer } = await handle(body);
    scope.postMessage({ id, body: response }, transfer);
  });
};
