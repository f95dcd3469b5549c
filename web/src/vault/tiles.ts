/**
 * The log served as C2SP tlog-tiles (docs/format.md section 17.3): tile paths in their one
 * canonical spelling, which tiles a tree has, a tile's bytes, a `HashReader` built from tiles
 * alone, and entry bundles.
 *
 * Tiles are not authenticated by themselves: whatever a client computes from them (a root, a
 * proof) is checked against a root the log signed.
 */

import { concat, type Bytes } from "./bytes.js";
import { MalformedError } from "./errors.js";
import { checkTreeSize, HASH_SIZE, nodeHash, type HashReader, type TreeNode } from "./tlog.js";

export const TILE_HEIGHT = 8;
/** Hashes in a full tile, and entries in a full bundle. */
export const TILE_WIDTH = 256;
export const MAX_TILE_LEVEL = 63;
/** An entry bundle prefixes each entry with a u16 length. */
export const MAX_BUNDLE_ENTRY = 0xffff;

/**
 * Tile `index` of tile level `level` (the nodes of tree level 8 * level), `width` hashes wide
 * (256 for a full tile); `level` null names an entry bundle of `width` entries.
 */
export interface Tile {
  level: number | null;
  index: bigint;
  width: number;
}

export function tile(level: number | null, index: bigint, width = TILE_WIDTH): Tile {
  if (level !== null && (!Number.isInteger(level) || level < 0 || level > MAX_TILE_LEVEL)) {
    throw new RangeError("a tile level is from 0 to 63");
  }
  if (index < 0n || !Number.isInteger(width) || width < 1 || width > TILE_WIDTH) {
    throw new RangeError("a tile index is >= 0 and its width from 1 to 256");
  }
  return { level, index, width };
}

/** `tile/<L>/<N>[.p/<W>]`, or `tile/entries/<N>[.p/<W>]` for an entry bundle. */
export function tilePath(t: Tile): string {
  const groups = [(t.index % 1000n).toString().padStart(3, "0")];
  for (let n = t.index / 1000n; n > 0n; n /= 1000n) groups.push(`x${(n % 1000n).toString().padStart(3, "0")}`);
  const level = t.level === null ? "entries" : String(t.level);
  const partial = t.width === TILE_WIDTH ? "" : `.p/${t.width}`;
  return `tile/${level}/${groups.reverse().join("/")}${partial}`;
}

const TILE_PATH = /^tile\/(0|[1-9][0-9]?|entries)\/((?:x[0-9]{3}\/)*)([0-9]{3})(?:\.p\/([1-9][0-9]{0,2}))?$/;

/** Parse a tile or entry-bundle path, accepting only its canonical spelling (`MalformedError`). */
export function parseTilePath(path: string): Tile {
  const m = TILE_PATH.exec(path);
  if (m === null) throw new MalformedError(`not a tile path: ${JSON.stringify(path)}`);
  const [, levelText, prefix, last, widthText] = m as unknown as [string, string, string, string, string | undefined];
  const digits = [...prefix.split("/").filter((g) => g !== "").map((g) => g.slice(1)), last];
  if (digits.length > 1 && digits[0] === "000") throw new MalformedError(`not a tile path: ${JSON.stringify(path)} (leading zero group)`);
  const width = widthText === undefined ? TILE_WIDTH : Number(widthText);
  const level = levelText === "entries" ? null : Number(levelText);
  if ((widthText !== undefined && width >= TILE_WIDTH) || (level ?? 0) > MAX_TILE_LEVEL) {
    throw new MalformedError(`not a tile path: ${JSON.stringify(path)}`);
  }
  return tile(level, BigInt(digits.join("")), width);
}

/**
 * Every hash tile of a tree of `size` entries, level 0 first: per level L, the
 * floor(size / 256^(L+1)) full tiles, then a partial tile of floor(size / 256^L) mod 256
 * hashes if that is not 0.
 */
export function tilesForSize(size: bigint): Tile[] {
  checkTreeSize(size);
  const out: Tile[] = [];
  for (let level = 0; size >> BigInt(TILE_HEIGHT * level) > 0n; level++) {
    const hashes = size >> BigInt(TILE_HEIGHT * level);
    const full = hashes >> BigInt(TILE_HEIGHT);
    for (let n = 0n; n < full; n++) out.push(tile(level, n));
    const width = Number(hashes % BigInt(TILE_WIDTH));
    if (width !== 0) out.push(tile(level, full, width));
  }
  return out;
}

/** The bytes of a hash tile: its `width` hashes of tree level 8 * level, concatenated. */
export async function tileData(t: Tile, read: HashReader): Promise<Bytes> {
  if (t.level === null) throw new RangeError("an entry bundle holds entries, not hashes");
  const level = TILE_HEIGHT * t.level;
  const first = t.index << BigInt(TILE_HEIGHT);
  const nodes: TreeNode[] = [];
  for (let i = 0; i < t.width; i++) nodes.push({ level, index: first + BigInt(i) });
  const hashes = await read(nodes);
  if (hashes.length !== t.width || hashes.some((h) => h.length !== HASH_SIZE)) {
    throw new MalformedError("tree: the hash reader answered with the wrong hashes");
  }
  return concat(...hashes);
}

/** Fetches a tile's bytes (a client downloads them from `<prefix>/<tile path>`). */
export type TileFetcher = (t: Tile) => Bytes | Promise<Bytes>;

/**
 * A `HashReader` for the tree of `size` entries, computed from its tiles alone; each tile is
 * fetched once. A node of tree level l is computed from the 2^(l mod 8) hashes under it in the
 * tile of level floor(l / 8).
 */
export class TileHashReader {
  private readonly tiles = new Map<string, Bytes>();

  constructor(
    readonly size: bigint,
    private readonly fetch: TileFetcher,
  ) {
    checkTreeSize(size);
  }

  /** The tile, in this tree, holding the hashes node (level, index) is computed from. */
  tileFor(level: number, index: bigint): Tile {
    const tileLevel = Math.floor(level / TILE_HEIGHT);
    const n = (index << BigInt(level % TILE_HEIGHT)) >> BigInt(TILE_HEIGHT);
    const hashes = this.size >> BigInt(TILE_HEIGHT * tileLevel);
    const width = hashes - (n << BigInt(TILE_HEIGHT));
    return tile(tileLevel, n, Number(width < BigInt(TILE_WIDTH) ? width : BigInt(TILE_WIDTH)));
  }

  private async data(t: Tile): Promise<Bytes> {
    const path = tilePath(t);
    let data = this.tiles.get(path);
    if (data === undefined) {
      data = await this.fetch(t);
      if (data.length !== t.width * HASH_SIZE) throw new MalformedError(`${path}: not ${t.width} hashes`);
      this.tiles.set(path, data);
    }
    return data;
  }

  readonly read: HashReader = async (nodes) => {
    const out: Bytes[] = [];
    for (const { level, index } of nodes) {
      if (level < 0 || level > 63 || index < 0n || (index + 1n) << BigInt(level) > this.size) {
        throw new RangeError(`node (${level}, ${index}) is not complete in a tree of ${this.size}`);
      }
      const t = this.tileFor(level, index);
      const data = await this.data(t);
      const first = Number((index << BigInt(level % TILE_HEIGHT)) - (t.index << BigInt(TILE_HEIGHT)));
      let hashes: Bytes[] = [];
      for (let i = first; i < first + (1 << (level % TILE_HEIGHT)); i++) hashes.push(data.slice(i * HASH_SIZE, (i + 1) * HASH_SIZE));
      while (hashes.length > 1) {
        const up: Bytes[] = [];
        for (let i = 0; i < hashes.length; i += 2) up.push(await nodeHash(hashes[i] as Bytes, hashes[i + 1] as Bytes));
        hashes = up;
      }
      out.push(hashes[0] as Bytes);
    }
    return out;
  };
}

// -- entry bundles -------------------------------------------------------------------------------

/** An entry bundle: each entry prefixed with its length as a u16 (big-endian). */
export function encodeEntryBundle(entries: readonly Uint8Array[]): Bytes {
  const parts: Uint8Array[] = [];
  for (const entry of entries) {
    if (entry.length > MAX_BUNDLE_ENTRY) throw new RangeError("an entry in a bundle is at most 65535 bytes");
    parts.push(Uint8Array.of(entry.length >> 8, entry.length & 0xff), entry);
  }
  return concat(...parts);
}

/** The `width` entries of a bundle; `MalformedError` for fewer, more or truncated ones. */
export function decodeEntryBundle(data: Uint8Array, width: number): Bytes[] {
  const entries: Bytes[] = [];
  let at = 0;
  while (at < data.length) {
    if (at + 2 > data.length) throw new MalformedError("entry bundle: truncated");
    const size = ((data[at] as number) << 8) | (data[at + 1] as number);
    if (at + 2 + size > data.length) throw new MalformedError("entry bundle: truncated");
    entries.push(data.slice(at + 2, at + 2 + size));
    at += 2 + size;
  }
  if (entries.length !== width) throw new MalformedError(`entry bundle: ${entries.length} entries where ${width} were expected`);
  return entries;
}
