/**
 * The key transparency log's tree (docs/format.md section 17.3): the Merkle tree of RFC 6962 /
 * RFC 9162 section 2.1 with SHA-256, and the client's checks of its inclusion and consistency
 * proofs (RFC 9162 2.1.3.2 and 2.1.4.2, step by step).
 *
 * Tree sizes and leaf indexes are `bigint` (they go up to 2^63 - 1). A tree is read through a
 * `HashReader`, which answers the hashes of complete subtrees (nodes); `tiles.ts` builds one
 * from the log's tiles, `MemoryTree` from entries in memory.
 */

import { concat, equal, fromHex, type Bytes } from "./bytes.js";
import { sha256 } from "./crypto.js";
import { IntegrityError, MalformedError } from "./errors.js";

export const HASH_SIZE = 32;
export const MAX_TREE_SIZE = (1n << 63n) - 1n;
/** A proof in a tree below 2^63 entries has at most 63 hashes. */
export const MAX_PROOF_HASHES = 63;
/** MTH({}) = SHA-256() (the Go checksum database takes 32 zero bytes instead). */
export const EMPTY_ROOT: Bytes = fromHex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

/** MTH({d}) = SHA-256(0x00 || d). */
export async function leafHash(entry: Uint8Array): Promise<Bytes> {
  return sha256(concat(Uint8Array.of(0), entry));
}

/** An interior node: SHA-256(0x01 || left || right). */
export async function nodeHash(left: Uint8Array, right: Uint8Array): Promise<Bytes> {
  return sha256(concat(Uint8Array.of(1), left, right));
}

/** The root of D[index * 2^level : (index + 1) * 2^level], a complete subtree. */
export interface TreeNode {
  level: number;
  index: bigint;
}

/** The hash of each node asked for, in the order asked; every node is complete in the tree. */
export type HashReader = (nodes: readonly TreeNode[]) => Promise<Bytes[]>;

export function checkTreeSize(size: bigint, what = "tree size"): bigint {
  if (typeof size !== "bigint" || size < 0n || size > MAX_TREE_SIZE) {
    throw new MalformedError(`${what} must be an integer from 0 to 2^63 - 1`);
  }
  return size;
}

/**
 * MTH(D[0:size]): the complete subtrees the size decomposes into (largest first), folded from
 * the right, which is what the recursion of RFC 6962 2.1 computes.
 */
export async function treeHash(size: bigint, read: HashReader): Promise<Bytes> {
  checkTreeSize(size);
  if (size === 0n) return EMPTY_ROOT;
  const nodes: TreeNode[] = [];
  let start = 0n;
  for (let level = 63; level >= 0; level--) {
    if ((size >> BigInt(level)) & 1n) {
      nodes.push({ level, index: start >> BigInt(level) });
      start += 1n << BigInt(level);
    }
  }
  const hashes = await read(nodes);
  if (hashes.length !== nodes.length) throw new MalformedError("tree: the hash reader answered the wrong number of hashes");
  let root = hashes[hashes.length - 1] as Bytes;
  for (let i = hashes.length - 2; i >= 0; i--) root = await nodeHash(hashes[i] as Bytes, root);
  return root;
}

// -- what the client verifies ------------------------------------------------------------------

function checkHashes(proof: readonly Uint8Array[], what: string): void {
  if (proof.length > MAX_PROOF_HASHES) throw new MalformedError(`${what}: ${proof.length} hashes, more than any tree needs`);
  for (const hash of proof) {
    if (hash.length !== HASH_SIZE) throw new MalformedError(`${what}: every hash is 32 bytes`);
  }
}

/**
 * Check that `leaf` (a leaf hash) is entry `index` of the tree of `size` entries whose root is
 * `root` (RFC 9162 2.1.3.2): `MalformedError` for sizes and hashes out of range,
 * `IntegrityError` for an index not below the size or a proof that does not lead to the root.
 */
export async function verifyInclusion(
  leaf: Uint8Array,
  index: bigint,
  size: bigint,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): Promise<void> {
  checkHashes(proof, "inclusion proof");
  checkTreeSize(size);
  checkTreeSize(index, "leaf index");
  if (leaf.length !== HASH_SIZE || root.length !== HASH_SIZE) {
    throw new MalformedError("inclusion proof: a leaf hash and a root are 32 bytes");
  }
  if (index >= size) throw new IntegrityError(`inclusion proof: leaf ${index} is not in a tree of ${size} leaves`);
  let fn = index;
  let sn = size - 1n;
  let r: Uint8Array = leaf;
  for (const p of proof) {
    if (sn === 0n) throw new IntegrityError("inclusion proof: longer than the tree is deep");
    if ((fn & 1n) === 1n || fn === sn) {
      r = await nodeHash(p, r);
      while (fn !== 0n && (fn & 1n) === 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n || !equal(r, root)) throw new IntegrityError(`inclusion proof: leaf ${index} is not in this tree of ${size}`);
}

/**
 * Check that the tree of `oldSize` entries with root `oldRoot` is a prefix of the tree of
 * `newSize` entries with root `newRoot` (RFC 9162 2.1.4.2). From size 0 the proof is empty and
 * the old root is MTH({}); between equal sizes the proof is empty and the roots are equal; a
 * tree never shrinks. `IntegrityError` for every proof that does not hold.
 */
export async function verifyConsistency(
  oldSize: bigint,
  newSize: bigint,
  oldRoot: Uint8Array,
  newRoot: Uint8Array,
  proof: readonly Uint8Array[],
): Promise<void> {
  checkHashes(proof, "consistency proof");
  checkTreeSize(oldSize, "old tree size");
  checkTreeSize(newSize, "new tree size");
  if (oldRoot.length !== HASH_SIZE || newRoot.length !== HASH_SIZE) {
    throw new MalformedError("consistency proof: a root is 32 bytes");
  }
  if (oldSize > newSize) throw new IntegrityError(`consistency proof: a tree of ${oldSize} cannot grow to ${newSize}`);
  if (oldSize === 0n) {
    if (proof.length !== 0 || !equal(oldRoot, EMPTY_ROOT)) throw new IntegrityError("consistency proof: the empty tree needs no proof");
    return;
  }
  if (oldSize === newSize) {
    if (proof.length !== 0 || !equal(oldRoot, newRoot)) throw new IntegrityError(`consistency proof: two different trees of size ${newSize}`);
    return;
  }
  if (proof.length === 0) throw new IntegrityError("consistency proof: empty"); // step 1
  // Step 2: an old size that is a power of two is itself a node of the new tree.
  const path = (oldSize & (oldSize - 1n)) === 0n ? [oldRoot, ...proof] : [...proof];
  let fn = oldSize - 1n; // step 3
  let sn = newSize - 1n;
  while ((fn & 1n) === 1n) { // step 4
    fn >>= 1n;
    sn >>= 1n;
  }
  let fr = path[0] as Uint8Array; // step 5
  let sr = fr;
  for (const c of path.slice(1)) { // step 6
    if (sn === 0n) throw new IntegrityError("consistency proof: longer than the tree is deep");
    if ((fn & 1n) === 1n || fn === sn) {
      fr = await nodeHash(c, fr);
      sr = await nodeHash(c, sr);
      while (fn !== 0n && (fn & 1n) === 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      sr = await nodeHash(sr, c);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n || !equal(fr, oldRoot) || !equal(sr, newRoot)) { // step 7
    throw new IntegrityError(`consistency proof: the tree of ${oldSize} is not a prefix of this tree of ${newSize}`);
  }
}

// -- a tree in memory (the vectors' trees; a log keeps the same nodes) ---------------------------

/** Every node of a log of entries held in memory: append entries, read nodes, compute roots. */
export class MemoryTree {
  /** levels[l][i] is the hash of node (l, i). */
  private readonly levels: Bytes[][] = [[]];

  get size(): bigint {
    return BigInt((this.levels[0] as Bytes[]).length);
  }

  async append(entry: Uint8Array): Promise<void> {
    let hash = await leafHash(entry);
    for (let level = 0; ; level++) {
      const row = (this.levels[level] ??= []);
      row.push(hash);
      if (row.length % 2 === 1) return;
      hash = await nodeHash(row[row.length - 2] as Bytes, hash);
    }
  }

  readonly read: HashReader = async (nodes) =>
    nodes.map(({ level, index }) => {
      const hash = this.levels[level]?.[Number(index)];
      if (hash === undefined) throw new RangeError(`tree: node (${level}, ${index}) is not complete`);
      return hash;
    });

  async root(size: bigint = this.size): Promise<Bytes> {
    return treeHash(size, this.read);
  }
}
