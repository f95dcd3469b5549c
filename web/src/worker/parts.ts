/**
 * Uploading a payload in parts (docs/api.md, "Uploads in parts"), from the worker, and resuming
 * after a dropped connection: client_sdk/parts.py again, for the browser.
 *
 * The file is read in pieces of 4 MiB (`Blob.slice`), encrypted into part-sized buffers, and
 * each full part is sent with its BLAKE3 (`Kluis-Part-BLAKE3`); the whole payload's BLAKE3 comes
 * from the encryptor as it produces the bytes. Memory is two parts plus one piece, whatever the
 * file's size: one part is on its way (XMLHttpRequest, in the browser's network process) while
 * the next is encrypted into the other buffer, and a buffer is filled again only once the server
 * answered that it stored and checked its part. At most one part is sent at a time.
 *
 * After a network error, an answer 5xx or 429, or a part damaged on the way (422
 * `digest_mismatch`), it waits (0.5 s, doubling up to 30 s), asks `GET /uploads/{id}` which parts
 * arrived, checks that every part the server said it stored is still there with its hash, and
 * sends the part again unless it arrived (then only the answer was lost). After `retries`
 * failures in a row it gives up and aborts the upload. The completion is asked for the same way.
 * The size is declared up front (from the file's size); a file whose size changes while it is
 * read stops the upload instead of sending something else.
 */

import { toHex } from "../vault/bytes.js";
import { blake3 } from "../vault/crypto.js";
import { IntegrityError, MalformedError } from "../vault/errors.js";
import { CHUNK_SIZE, NONCE_SIZE, PayloadEncryptor, TAG_SIZE, type PayloadDigest } from "../vault/payload.js";
import type { Api } from "./api.js";
import { ApiError, ClientError, ServerUnreachable } from "./errors.js";

const MIB = 1 << 20;

export interface PartPolicy {
  /** A payload larger than this goes up in parts; a smaller one in one request. */
  threshold: number;
  /** 5 MiB (S3's minimum, and the server's) to 256 MiB. */
  partSize: number;
  retries: number;
  backoffMs: number;
  maxBackoffMs: number;
}

export const DEFAULT_PART_POLICY: PartPolicy = { threshold: 8 * MIB, partSize: 8 * MIB, retries: 8, backoffMs: 500, maxBackoffMs: 30_000 };

/** How many bytes of the file are read and encrypted at a time (each read of a File is slow). */
const PIECE = 4 * MIB;
const UPLOAD_ID = /^[0-9a-f]{32}$/;
export const FILE_CHANGED = "the file changed while it was being uploaded; nothing was stored, try again";

/** vault/payload.py `payload_size`: the nonce, and every chunk with its tag. */
export function payloadSize(plaintextSize: number): number {
  const chunks = Math.max(1, Math.ceil(plaintextSize / CHUNK_SIZE));
  return NONCE_SIZE + plaintextSize + chunks * TAG_SIZE;
}

export type Sleep = (ms: number) => Promise<void>;
const realSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether a failed request may go better a moment later (parts.py `_worth_again`). */
function worthAgain(error: unknown, part: boolean): boolean {
  if (error instanceof ServerUnreachable) return true;
  if (!(error instanceof ApiError)) return false;
  if (error.status >= 500 || error.status === 429) return true;
  return part && (error.code === "digest_mismatch" || error.code === "bad_request");
}

/**
 * Encrypt `file` under `ageKey` and upload the payload in parts; answers the completed upload's
 * id and the payload's digest. `progress(done, total)` counts payload bytes the server stored.
 */
export async function uploadInParts(
  api: Api,
  file: Blob,
  ageKey: Uint8Array,
  policy: PartPolicy,
  progress: (done: number, total: number) => void,
  sleep: Sleep = realSleep,
): Promise<{ uploadId: string; digest: PayloadDigest }> {
  const size = payloadSize(file.size);
  const created = obj(await api.call("POST", "/uploads/parts", { size, part_size: policy.partSize }), "the new upload");
  const uploadId = created["upload_id"];
  if (typeof uploadId !== "string" || !UPLOAD_ID.test(uploadId)) throw new MalformedError("server answer: the upload id is not 32 hex digits");
  const count = Math.ceil(size / policy.partSize);
  const stored = new Map<number, string>();
  let inFlight: Promise<void> | null = null;
  try {
    const encryptor = await PayloadEncryptor.create(ageKey);
    // Two part buffers: one on its way to the server while the next is encrypted into the other.
    const buffers = [new Uint8Array(Math.min(policy.partSize, size)), new Uint8Array(count > 1 ? policy.partSize : 0)];
    let current = 0;
    let buffer = buffers[0] as Uint8Array;
    let filled = 0;
    let number = 0;
    let sent = 0;
    const flush = async (): Promise<void> => {
      number += 1;
      const part = buffer.subarray(0, filled);
      // At most one part on the way: once it is stored, its buffer is free for the part after this.
      if (inFlight !== null) await inFlight;
      inFlight = sendPart(api, uploadId, number, part, stored, policy, sleep, (done) => progress(sent + done, size)).then(() => {
        sent += part.length;
        progress(sent, size);
      });
      inFlight.catch(() => undefined); // raised at the next await of it
      current = 1 - current;
      buffer = buffers[current] as Uint8Array;
      filled = 0;
    };
    let written = 0;
    const write = async (pieces: Uint8Array[]): Promise<void> => {
      for (const piece of pieces) {
        written += piece.length;
        if (written > size) throw new ClientError(FILE_CHANGED);
        let at = 0;
        while (at < piece.length) {
          const n = Math.min(piece.length - at, buffer.length - filled);
          buffer.set(piece.subarray(at, at + n), filled);
          filled += n;
          at += n;
          if (filled === buffer.length) await flush();
        }
      }
    };
    progress(0, size);
    for (let at = 0; at < file.size; at += PIECE) {
      const plaintext = new Uint8Array(await file.slice(at, at + PIECE).arrayBuffer());
      await write(encryptor.push(plaintext));
      plaintext.fill(0);
    }
    const end = encryptor.finish();
    await write(end.chunks);
    if (filled > 0) await flush();
    if (inFlight !== null) await inFlight;
    const digest = end.digest;
    if (Number(digest.size) !== size || number !== count) throw new ClientError(FILE_CHANGED);
    for (const b of buffers) b.fill(0);
    await complete(api, uploadId, digest, policy, sleep);
    return { uploadId, digest };
  } catch (error) {
    await (inFlight as Promise<void> | null)?.catch(() => undefined); // nothing still on its way when the upload is aborted
    try {
      await api.call("DELETE", `/uploads/${uploadId}`); // else the server removes it after its grace period
    } catch {
      // the server is away: its cleanup removes the upload later
    }
    throw error;
  }
}

async function sendPart(
  api: Api,
  uploadId: string,
  number: number,
  data: Uint8Array,
  stored: Map<number, string>,
  policy: PartPolicy,
  sleep: Sleep,
  progress: (done: number) => void,
): Promise<void> {
  const digest = toHex(await blake3(data));
  await retrying(
    policy,
    sleep,
    true,
    `part ${number}`,
    async () => {
      const answer = obj(await api.putPart(uploadId, number, data, digest, (done) => progress(Math.min(done, data.length))), "the part");
      if (answer["number"] !== number || answer["size"] !== data.length || answer["blake3"] !== digest) {
        throw new IntegrityError(`the server stored other bytes than this device sent as part ${number}`);
      }
      return true;
    },
    async () => ((await arrived(api, uploadId, stored)).get(number) === digest ? true : null),
  );
  stored.set(number, digest);
}

async function complete(api: Api, uploadId: string, digest: PayloadDigest, policy: PartPolicy, sleep: Sleep): Promise<void> {
  const wanted = toHex(digest.blake3);
  const check = (answer: Record<string, unknown>): true => {
    if (answer["size"] !== Number(digest.size) || answer["blake3"] !== wanted) throw new IntegrityError("the server stored other bytes than this device sent");
    return true;
  };
  await retrying(
    policy,
    sleep,
    false,
    "the completion",
    async () => check(obj(await api.call("POST", `/uploads/${uploadId}/complete`, { size: Number(digest.size), blake3: wanted }), "the completion")),
    async () => {
      const state = obj(await api.call("GET", `/uploads/${uploadId}`), "the upload");
      return state["state"] === "complete" ? check(state) : null;
    },
  );
}

/** The parts the server has, after checking it still has every one it said it stored. */
async function arrived(api: Api, uploadId: string, stored: Map<number, string>): Promise<Map<number, string>> {
  const state = obj(await api.call("GET", `/uploads/${uploadId}`), "the upload");
  const parts = state["parts"];
  if (state["upload_id"] !== uploadId || !Array.isArray(parts)) throw new MalformedError("server answer: not the upload that was asked for");
  const have = new Map<number, string>();
  for (const p of parts) {
    if (typeof p === "object" && p !== null && typeof p.number === "number" && typeof p.blake3 === "string") have.set(p.number, p.blake3);
  }
  for (const [number, digest] of stored) {
    if (have.get(number) !== digest) throw new ClientError(`the server no longer has part ${number} of this upload, which it had stored; nothing was stored, try again`);
  }
  return have;
}

/** `attempt()`; after a failure worth trying again, wait, ask `recovered()` whether it happened after all, and try again. */
async function retrying(
  policy: PartPolicy,
  sleep: Sleep,
  part: boolean,
  what: string,
  attempt: () => Promise<true>,
  recovered: () => Promise<true | null>,
): Promise<void> {
  let failures = 0;
  for (;;) {
    try {
      await attempt();
      return;
    } catch (error) {
      if (!worthAgain(error, part)) throw error;
      failures += 1;
      if (failures > policy.retries) {
        throw new ServerUnreachable(`gave up uploading after ${failures} failed attempts at ${what}; the upload was abandoned, try again later`);
      }
    }
    await sleep(Math.min(policy.maxBackoffMs, policy.backoffMs * 2 ** (failures - 1)));
    try {
      if ((await recovered()) !== null) return;
    } catch (error) {
      if (!worthAgain(error, false)) throw error; // still away or busy: the next attempt says
    }
  }
}

function obj(answer: unknown, what: string): Record<string, unknown> {
  if (typeof answer !== "object" || answer === null || Array.isArray(answer)) throw new MalformedError(`server answer: ${what} is not an object`);
  return answer as Record<string, unknown>;
}
