/**
 * The HTTP layer of the worker (client_sdk/transport.py): JSON calls, payloads up and down, and
 * RFC 9457 problems turned into `ApiError`s. It knows nothing about keys; what it returns is a
 * claim until the caller checked it.
 */

import { MalformedError } from "../vault/errors.js";
import { ApiError, ServerUnreachable } from "./errors.js";

export const API_PREFIX = "/api/v1";

/** Standard base64 with padding (docs/api.md), decoded strictly: anything else is malformed. */
export function unb64(value: unknown, what: string): Uint8Array<ArrayBuffer> {
  if (typeof value !== "string" || !/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(value)) {
    throw new MalformedError(`server answer: ${what} is not valid base64`);
  }
  const text = atob(value);
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

export function b64(data: Uint8Array): string {
  let text = "";
  for (let i = 0; i < data.length; i += 0x8000) text += String.fromCharCode(...data.subarray(i, i + 0x8000));
  return btoa(text);
}

export type Progress = (done: number, total: number) => void;

/** How the worker reaches the network; the tests give a fake one. */
export interface Transport {
  fetch(url: string, init: RequestInit): Promise<Response>;
  /**
   * POST (or `method`) a body with upload progress (XMLHttpRequest in the browser); answers
   * status and text. Also for parts: Chromium sends a Blob by XMLHttpRequest several times
   * faster than an ArrayBuffer by fetch from a worker (measured: 8 MiB in about 0.15 s against
   * 1.8 s on loopback).
   */
  upload(url: string, body: Blob, headers: Record<string, string>, progress: Progress, method?: string): Promise<{ status: number; text: string }>;
}

export const browserTransport: Transport = {
  fetch: (url, init) => fetch(url, init),
  upload(url, body, headers, progress, method = "POST") {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open(method, url);
      for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
      xhr.upload.onprogress = (event) => progress(event.loaded, event.lengthComputable ? event.total : body.size);
      xhr.onload = () => resolve({ status: xhr.status, text: xhr.responseText });
      xhr.onerror = () => reject(new TypeError("network error"));
      xhr.onabort = () => reject(new TypeError("aborted"));
      xhr.send(body);
    });
  },
};

function problem(status: number, text: string): ApiError {
  let code = "error";
  let detail = `HTTP ${status}`;
  try {
    const body: unknown = JSON.parse(text);
    if (typeof body === "object" && body !== null) {
      const b = body as Record<string, unknown>;
      if (typeof b["code"] === "string") code = b["code"];
      if (typeof b["detail"] === "string" && b["detail"]) detail = b["detail"];
      else if (typeof b["title"] === "string" && b["title"]) detail = b["title"];
    }
  } catch {
    // not JSON: keep the status
  }
  return new ApiError(status, code, `server: ${detail}`);
}

export class Api {
  token: string | null = null;

  constructor(
    private readonly base: string,
    private readonly transport: Transport = browserTransport,
  ) {}

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return this.token ? { ...extra, authorization: `Bearer ${this.token}` } : extra;
  }

  private async send(method: string, path: string, init: RequestInit): Promise<Response> {
    try {
      return await this.transport.fetch(this.base + API_PREFIX + path, { ...init, method, cache: "no-store", credentials: "omit" });
    } catch {
      throw new ServerUnreachable("the Kluis server did not answer");
    }
  }

  /** A JSON call; answers the parsed body (null for 204). */
  async call(method: string, path: string, json?: unknown): Promise<unknown> {
    const init: RequestInit = { headers: this.headers(json === undefined ? {} : { "content-type": "application/json" }) };
    if (json !== undefined) init.body = JSON.stringify(json);
    const response = await this.send(method, path, init);
    const text = await response.text();
    if (!response.ok) throw problem(response.status, text);
    if (response.status === 204 || text.length === 0) return null;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new MalformedError(`server answer to ${method} ${path} is not JSON`);
    }
  }

  /** POST /uploads; answers the server's {upload_id, size, blake3} (unchecked). */
  async upload(payload: Blob, progress: Progress): Promise<Record<string, unknown>> {
    let answer: { status: number; text: string };
    try {
      answer = await this.transport.upload(
        this.base + API_PREFIX + "/uploads",
        payload,
        this.headers({ "content-type": "application/octet-stream" }),
        progress,
      );
    } catch {
      throw new ServerUnreachable("the upload did not reach the Kluis server");
    }
    if (answer.status < 200 || answer.status >= 300) throw problem(answer.status, answer.text);
    let body: unknown;
    try {
      body = JSON.parse(answer.text);
    } catch {
      throw new MalformedError("server answer to the upload is not JSON");
    }
    if (typeof body !== "object" || body === null || Array.isArray(body)) throw new MalformedError("server answer to the upload is not an object");
    return body as Record<string, unknown>;
  }

  /** PUT one part of an upload in parts, with its BLAKE3; answers the server's {number, size, blake3} (unchecked). */
  async putPart(uploadId: string, number: number, data: Uint8Array, blake3Hex: string, progress: Progress = () => undefined): Promise<unknown> {
    let answer: { status: number; text: string };
    try {
      answer = await this.transport.upload(
        `${this.base}${API_PREFIX}/uploads/${uploadId}/parts/${number}`,
        new Blob([data as Uint8Array<ArrayBuffer>], { type: "application/octet-stream" }),
        this.headers({ "content-type": "application/octet-stream", "kluis-part-blake3": blake3Hex }),
        progress,
        "PUT",
      );
    } catch {
      throw new ServerUnreachable("a part did not reach the Kluis server");
    }
    if (answer.status < 200 || answer.status >= 300) throw problem(answer.status, answer.text);
    try {
      return JSON.parse(answer.text) as unknown;
    } catch {
      throw new MalformedError("server answer to a part is not JSON");
    }
  }

  /**
   * GET a payload piece by piece as it arrives; `limit` bytes at most (more is malformed).
   * `signal` ends it early (a live stream of group events, groups.ts).
   */
  async *downloadPieces(path: string, limit: number, signal?: AbortSignal): AsyncGenerator<Uint8Array<ArrayBuffer>> {
    const response = await this.send("GET", path, signal === undefined ? { headers: this.headers() } : { headers: this.headers(), signal });
    if (!response.ok) throw problem(response.status, await response.text());
    if (response.body === null) {
      const whole = new Uint8Array(await response.arrayBuffer());
      if (whole.length > limit) throw new MalformedError("server answer: the payload is larger than its signed size");
      yield whole;
      return;
    }
    const reader = response.body.getReader();
    let size = 0;
    try {
      for (;;) {
        let next: ReadableStreamReadResult<Uint8Array<ArrayBuffer>>;
        try {
          next = await reader.read();
        } catch {
          throw new ServerUnreachable("the download broke off");
        }
        if (next.done) return;
        size += next.value.length;
        if (size > limit) throw new MalformedError("server answer: the payload is larger than its signed size");
        yield next.value;
      }
    } finally {
      await reader.cancel().catch(() => undefined);
    }
  }

  /** GET a payload into memory, reporting progress; `limit` bytes at most. */
  async download(path: string, limit: number, progress: Progress): Promise<Uint8Array<ArrayBuffer>> {
    const parts: Uint8Array[] = [];
    let size = 0;
    for await (const piece of this.downloadPieces(path, limit)) {
      parts.push(piece);
      size += piece.length;
      progress(size, limit);
    }
    const out = new Uint8Array(size);
    let at = 0;
    for (const part of parts) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  }
}
