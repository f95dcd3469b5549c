/**
 * The page's side of the worker protocol: typed calls that resolve with the worker's result or
 * reject with the vault error it named (so `instanceof WrongPassphrase` works on the page).
 */

import { ERRORS } from "../vault/errors.js";
import type { CallType, Envelope, Request, RequestOf, Response, ResultOf, WireError } from "./protocol.js";

/** A failure the worker reported that is not a vault error. */
export class WorkerError extends Error {
  constructor(readonly wire: WireError) {
    super(wire.message);
    this.name = wire.name;
  }
}

export function fromWireError(wire: WireError): Error {
  if (Object.hasOwn(ERRORS, wire.name)) {
    const cls = ERRORS[wire.name as keyof typeof ERRORS];
    return new cls(wire.message);
  }
  return new WorkerError(wire);
}

interface Port {
  postMessage(message: Envelope<Request>, transfer: Transferable[]): void;
  addEventListener(type: "message", listener: (event: MessageEvent<Envelope<Response>>) => void): void;
}

export class VaultClient {
  private next = 1;
  private readonly waiting = new Map<number, { resolve: (r: unknown) => void; reject: (e: Error) => void }>();

  constructor(private readonly port: Port) {
    port.addEventListener("message", (event) => {
      const { id, body } = event.data;
      const entry = this.waiting.get(id);
      if (entry === undefined) return;
      this.waiting.delete(id);
      if (body.ok) entry.resolve(body.result);
      else entry.reject(fromWireError(body.error));
    });
  }

  /** Start the worker from the built bundle (worker.js next to main.js). */
  static start(url: URL): VaultClient {
    return new VaultClient(new Worker(url, { type: "module", name: "kluis-vault" }) as unknown as Port);
  }

  call<K extends CallType>(request: RequestOf<K>, transfer: Transferable[] = []): Promise<ResultOf<K>> {
    const id = this.next++;
    return new Promise<ResultOf<K>>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (r: unknown) => void, reject });
      this.port.postMessage({ id, body: request }, transfer);
    });
  }
}

