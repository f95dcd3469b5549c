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

  /** Start the worker from the built bundle (worker.js next to main.js). */
  static start(url: URL): VaultClient {
    return new VaultClient(new Worker(url, { type: "module", name: "kluis-vault" }) as unknown as Port);
  }

  call<K extends CallType>(request: RequestOf<K>, transfer: Transferable[] = [], progress?: (p: TransferProgress) => void): Promise<ResultOf<K>> {
    const id = this.next++;
    return new Promise<ResultOf<K>>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (r: unknown) => void, reject, progress });
      this.port.postMessage({ id, body: request }, transfer);
    });
  }
}

