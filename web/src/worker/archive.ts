/**
 * A zip built in the worker and streamed out: the whole case (every document at the version the
 * listing verified) for an organisation's staff, and the export (export.ts). Where the browser
 * has File System Access the zip goes, as it is made, into the file the person chose, which the
 * browser keeps as a temporary file until the last check passed (closed) or one failed (aborted
 * and removed, so no half zip is left); elsewhere it is held in memory up to MAX_FILE_BYTES and
 * handed to the page only when complete. Entries are stored, not compressed: documents (PDF,
 * photos) and age files hardly compress, and storing keeps memory flat.
 */
import { Zip, ZipPassThrough } from "fflate";

import { ClientError, TooLarge } from "./errors.js";
import type { Kluis, ProgressFn } from "./kluis.js";
import { MAX_FILE_BYTES, type SaveTarget, type SaveWritable } from "./protocol.js";

/** One entry being written: its bytes, then `end` once they all verified. */
export interface ZipEntry {
  write(data: Uint8Array): void;
  end(): void;
}

export class ZipStream {
  private readonly zip: Zip;
  private queue: Promise<void> = Promise.resolve();
  private failure: unknown = null;
  private held: Uint8Array[] = [];
  private size = 0;
  private readonly names = new Set<string>();

  private constructor(private readonly writable: SaveWritable | null) {
    this.zip = new Zip((error, chunk) => {
      if (error !== null) {
        this.failure ??= error;
        return;
      }
      if (this.writable === null) {
        this.size += chunk.length;
        if (this.size > MAX_FILE_BYTES) this.failure ??= new TooLarge("the zip is larger than this browser holds in memory");
        else this.held.push(chunk);
      } else {
        const out = this.writable;
        this.queue = this.queue.then(() => out.write(chunk as Uint8Array<ArrayBuffer>));
      }
    });
  }

  /** A zip into `target` (File System Access), or held in memory without one. */
  static async open(target?: SaveTarget): Promise<ZipStream> {
    return new ZipStream(target === undefined ? null : await target.createWritable({ keepExistingData: false }));
  }

  /** A name not used yet in this zip: "rapport.pdf", then "rapport (2).pdf". */
  private unique(name: string): string {
    const dot = name.lastIndexOf(".");
    const [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ""];
    let candidate = name;
    for (let n = 2; this.names.has(candidate); n++) candidate = `${stem} (${n})${ext}`;
    this.names.add(candidate);
    return candidate;
  }

  entry(name: string, modified?: number): ZipEntry {
    const file = new ZipPassThrough(this.unique(name));
    if (modified !== undefined && modified > 0) file.mtime = modified * 1000;
    this.zip.add(file);
    return { write: (data) => file.push(data, false), end: () => file.push(new Uint8Array(0), true) };
  }

  /** A SaveTarget for one entry: what Kluis.open streams a document into, ended only after its checks. */
  target(name: string, modified?: number): SaveTarget {
    return {
      kind: "file",
      name,
      createWritable: async () => {
        const entry = this.entry(name, modified);
        return {
          write: async (data) => entry.write(data),
          close: async () => entry.end(),
          abort: async () => undefined, // the whole zip is aborted by the caller
        };
      },
    };
  }

  private async check(): Promise<void> {
    await this.queue;
    if (this.failure !== null) throw this.failure instanceof Error ? this.failure : new ClientError("the zip could not be written");
  }

  /** Finish: the file put in place (answers null), or the zip as a Blob. */
  async close(): Promise<Blob | null> {
    this.zip.end();
    await this.check();
    if (this.writable !== null) {
      await this.writable.close();
      return null;
    }
    const blob = new Blob(this.held as Uint8Array<ArrayBuffer>[], { type: "application/zip" });
    this.held = [];
    return blob;
  }

  /** Give up: nothing of it stays (the chosen file removed). */
  async abort(target?: SaveTarget): Promise<void> {
    this.zip.terminate();
    this.held = [];
    if (this.writable !== null) {
      await this.writable.abort().catch(() => undefined);
      await target?.remove?.().catch(() => undefined);
    }
  }
}

/** Run `write` into a zip; on any failure the zip is aborted and the error goes on. */
export async function writeZip(target: SaveTarget | undefined, write: (zip: ZipStream) => Promise<void>): Promise<Blob | null> {
  const zip = await ZipStream.open(target);
  try {
    await write(zip);
    return await zip.close();
  } catch (error) {
    await zip.abort(target);
    throw error;
  }
}

/**
 * A whole dossier (a case) as a zip: its listing verified first (which, for staff, signs the
 * organisation's receipt, as `kluis ls` does), then every confirmed document at the version
 * listed, each through the download's checks (docs/client.md 7) before its entry ends.
 */
export async function dossierZip(kluis: Kluis, dossierId: string, progress: ProgressFn, target?: SaveTarget): Promise<{ files: number; content: Blob | null }> {
  const listed = await kluis.documents(dossierId);
  const documents = listed.documents.filter((d) => d.confirmed);
  const content = await writeZip(target, async (zip) => {
    for (const d of documents) await kluis.open(d.documentId, d.version, false, progress, zip.target(d.name, d.modified));
  });
  return { files: documents.length, content };
}
