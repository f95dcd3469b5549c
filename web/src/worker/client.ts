/**
 * The page's side of the worker protocol: typed calls that resolve with the worker's result or
 * reject with the vault error it named (so `instanceof WrongPassphrase` works on the page).
 */

import { ERRORS, WeakPassphrase } from "../vault/errors.js";
import { ApiError, CLIENT_ERRORS } from "./errors.js";
import type { CallType, Envelope, ProgressEnvelope, Request, RequestOf, Response, ResultOf, SecurityCheck, TransferProgress, WireError } from "./protocol.js";

/** A failure the worker reported that is not a vault error. */
export class WorkerError extends Error {
  constructor(readonly wire: WireError) {
    super(wire.message);
    this.name = wire.name;
  }
}

/** The check a SecurityError failed, as the worker named it (for the security page). */
const CHECKS = new WeakMap<Error, SecurityCheck>();

export function securityCheckOf(error: Error): SecurityCheck | undefined {
  return CHECKS.get(error);
}

export function fromWireError(wire: WireError): Error {
  let error: Error;
  if (wire.name === "ApiError") error = new ApiError(wire.status ?? 0, wire.code ?? "error", wire.message);
  else if (wire.name === "WeakPassphrase") error = new WeakPassphrase(wire.message, wire.reason ?? null);
  else if (Object.hasOwn(ERRORS, wire.name)) error = new ERRORS[wire.name as keyof typeof ERRORS](wire.message);
  else if (Object.hasOwn(CLIENT_ERRORS, wire.name)) error = new CLIENT_ERRORS[wire.name as Exclude<keyof typeof CLIENT_ERRORS, "ApiError">](wire.message);
  else error = new WorkerError(wire);
  if (wire.check !== undefined) CHECKS.set(error, wire.check);
  return error;
}

interface Port {
  postMessage(message: Envelope<Request>, transfer: Transferable[]): void;
  addEventListener(type: "message", listener: (event: MessageEvent<Envelope<Response> | ProgressEnvelope>) => void): void;
}

interface Waiting {
  resolve: (r: unknown) => void;
  reject: (e: Error) => void;
  progress?: ((p: TransferProgress) => void) | undefined;
}

export class VaultClient {
  private next = 1;
  private readonly waiting = new Map<number, Waiting>();

  constructor(private readonly port: Port) {
    port.addEventListener("message", (event) => {
      const data = event.data;
      const entry = this.waiting.get(data.id);
      if (entry === undefined) return;
      if ("progress" in data) {
        entry.progress?.(data.progress);
        return;
      }
      this.waiting.delete(data.id);
      if (data.body.ok) entry.resolve(data.body.result);
      else entry.reject(fromWireError(data.body.error));
    });
  }

  /** Start the worker from a script URL as it is (the tests; the app uses `startVerified`). */
  static start(url: URL): VaultClient {
    return new VaultClient(new Worker(url, { type: "module", name: "kluis-vault" }) as unknown as Port);
  }

  /**
   * Start the worker from the built bundle, checked first: a browser has no `integrity` for
   * `new Worker(url)`, so the page fetches worker.js with the SHA-384 the build put into main.js
   * (`fetch(..., { integrity })` fails on other bytes) and runs exactly those bytes, as a blob:
   * URL. Calls made before it runs wait; if the check fails, every call fails with an
   * IntegrityError (check "code") and no worker runs.
   */
  static startVerified(url: URL, integrity: string): VaultClient {
    const port = new DeferredPort();
    const client = new VaultClient(port);
    fetch(url, { integrity, cache: "no-store", credentials: "same-origin", redirect: "error" })
      .then(async (response) => {
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        const source = URL.createObjectURL(new Blob([await response.arrayBuffer()], { type: "text/javascript" }));
        port.attach(new Worker(source, { type: "module", name: "kluis-vault" }) as unknown as Port);
      })
      .catch((error: unknown) => {
        const failure = fromWireError({
          name: "IntegrityError",
          message: `the vault worker's code (${url.pathname}) did not match the hash this page carries: ${error instanceof Error ? error.message : String(error)}`,
          check: "code",
        });
        port.fail();
        client.failAll(failure);
      });
    return client;
  }

  private failed: Error | null = null;

  private failAll(error: Error): void {
    this.failed = error;
    for (const entry of this.waiting.values()) entry.reject(error);
    this.waiting.clear();
  }

  call<K extends CallType>(request: RequestOf<K>, transfer: Transferable[] = [], progress?: (p: TransferProgress) => void): Promise<ResultOf<K>> {
    const id = this.next++;
    return new Promise<ResultOf<K>>((resolve, reject) => {
      if (this.failed !== null) {
        reject(this.failed);
        return;
      }
      this.waiting.set(id, { resolve: resolve as (r: unknown) => void, reject, progress });
      this.port.postMessage({ id, body: request }, transfer);
    });
  }
}


/** A port whose worker comes later: messages wait in order until `attach`. */
class DeferredPort implements Port {
  private port: Port | null = null;
  private dead = false;
  private readonly queued: [Envelope<Request>, Transferable[]][] = [];
  private readonly listeners: ((event: MessageEvent<Envelope<Response> | ProgressEnvelope>) => void)[] = [];

  attach(port: Port): void {
    this.port = port;
    for (const listener of this.listeners) port.addEventListener("message", listener);
    for (const [message, transfer] of this.queued.splice(0)) port.postMessage(message, transfer);
  }

  fail(): void {
    this.dead = true;
    this.queued.length = 0;
  }

  postMessage(message: Envelope<Request>, transfer: Transferable[]): void {
    if (this.dead) return;
    if (this.port === null) this.queued.push([message, transfer]);
    else this.port.postMessage(message, transfer);
  }

  addEventListener(type: "message", listener: (event: MessageEvent<Envelope<Response> | ProgressEnvelope>) => void): void {
    this.listeners.push(listener);
    this.port?.addEventListener(type, listener);
  }
}
