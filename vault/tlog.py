"""The Merkle tree of the key transparency log: RFC 6962 / RFC 9162 hashing and proofs, and the
C2SP tlog-tiles layout (docs/format.md section 17).

A log is a sequence of entries D[0], D[1], ...; its tree of size n has the root

    MTH({})      = SHA-256()                                         (the empty tree)
    MTH({d})     = SHA-256(0x00 || d)                                (a leaf)
    MTH(D[0:n])  = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n]))       k = largest power of 2 < n

Everything here is pure: the server's storage and the client's downloads are reached through a
`HashReader`, a function that returns the hashes of complete subtrees (*nodes*) it is asked for.
A node `(level, index)` is MTH(D[index * 2**level : (index + 1) * 2**level]); level 0 holds the
leaf hashes. A log stores every node once it is complete (`new_nodes`); the tiles of C2SP
tlog-tiles are those nodes, 256 per file, at every eighth level (`tile_data`, `TileHashReader`).

- The server builds proofs: `tree_hash`, `inclusion_proof`, `consistency_proof` (RFC 6962 PATH and
  PROOF, section 2.1.1 and 2.1.2), each reading its O(log n) nodes in one call.
- The client verifies them: `verify_inclusion` and `verify_consistency` run the algorithms of
  RFC 9162 sections 2.1.3.2 and 2.1.4.2 step by step, and raise `IntegrityError` when a proof does
  not lead to the root it was given (`MalformedError` when it does not even parse).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from .errors import IntegrityError, MalformedError

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "MAX_ENTRY_SIZE",
    "MAX_PROOF_HASHES",
    "MAX_TREE_SIZE",
    "TILE_HEIGHT",
    "TILE_WIDTH",
    "HashReader",
    "MemoryTree",
    "Node",
    "Tile",
    "TileHashReader",
    "consistency_proof",
    "decode_entry_bundle",
    "encode_entry_bundle",
    "inclusion_proof",
    "leaf_hash",
    "new_nodes",
    "new_tiles",
    "node_hash",
    "parse_tile_path",
    "tile_data",
    "tiles_for_size",
    "tree_hash",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE: Final = 32
# Tree sizes are below 2**63 (C2SP tlog-cosignature bounds times the same way, and the Go
# implementations use int64); a proof in such a tree has at most 63 hashes (tlog-witness).
MAX_TREE_SIZE: Final = 2**63 - 1
MAX_PROOF_HASHES: Final = 63
EMPTY_ROOT: Final = hashlib.sha256(b"").digest()
LEAF_PREFIX: Final = b"\x00"
NODE_PREFIX: Final = b"\x01"

TILE_HEIGHT: Final = 8
TILE_WIDTH: Final = 1 << TILE_HEIGHT  # hashes in a full tile, and entries in a full bundle
MAX_TILE_LEVEL: Final = 63
MAX_ENTRY_SIZE: Final = 0xFFFF  # an entry bundle prefixes each entry with a u16 length

Node = tuple[int, int]
"""(level, index): the root of D[index * 2**level : (index + 1) * 2**level]."""

HashReader = Callable[[Sequence[Node]], Sequence[bytes]]
"""Returns the hash of each node asked for, in the order asked. Every node asked for is complete
in the tree the caller names; a reader that cannot answer raises (its own error)."""


def leaf_hash(entry: bytes) -> bytes:
    """MTH of one entry: SHA-256(0x00 || entry)."""
    return hashlib.sha256(LEAF_PREFIX + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """An interior node: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def _check_size(size: int, what: str) -> int:
    if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= MAX_TREE_SIZE:
        raise MalformedError(f"{what} must be an integer from 0 to 2**63 - 1")
    return size


def _split(n: int) -> int:
    """The largest power of two smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


# -- which nodes a range, a path and a proof are made of -------------------------------------------
def _range_nodes(start: int, end: int) -> list[Node]:
    """The nodes whose hashes give MTH(D[start:end]), left to right.

    Every range the RFC's recursion produces starts at a multiple of the smallest power of two
    not below its size, so its left part of k leaves (k the largest power of two below its size)
    is a complete node, and so on down its right edge.
    """
    nodes: list[Node] = []
    while end - start > 1 and (end - start) & (end - start - 1):
        k = _split(end - start)
        nodes.append((k.bit_length() - 1, start >> (k.bit_length() - 1)))
        start += k
    size = end - start
    level = size.bit_length() - 1
    nodes.append((level, start >> level))
    return nodes


def _path_ranges(m: int, start: int, end: int) -> list[tuple[int, int]]:
    """RFC 6962 2.1.1 PATH(m, D[start:end]) as the ranges whose MTH form it, in proof order."""
    ranges: list[tuple[int, int]] = []
    while end - start > 1:
        k = _split(end - start)
        if m < k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            m -= k
            start += k
    ranges.reverse()
    return ranges


def _subproof_ranges(m: int, start: int, end: int) -> list[tuple[int, int]]:
    """RFC 6962 2.1.2 SUBPROOF(m, D[start:end], true) as ranges, in proof order."""
    ranges: list[tuple[int, int]] = []
    complete = True  # the b flag: is D[start:start+m] still a subtree the verifier knows?
    while m != end - start:
        k = _split(end - start)
        if m <= k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            m -= k
            start += k
            complete = False
    if not complete:
        ranges.append((start, end))
    ranges.reverse()
    return ranges


def _hash_ranges(ranges: Sequence[tuple[int, int]], read: HashReader) -> list[bytes]:
    plans = [_range_nodes(start, end) for start, end in ranges]
    wanted = sorted({node for plan in plans for node in plan})
    got = _read(read, wanted)
    out = []
    for plan in plans:
        h = got[plan[-1]]
        for node in reversed(plan[:-1]):
            h = node_hash(got[node], h)
        out.append(h)
    return out


def _read(read: HashReader, nodes: Sequence[Node]) -> dict[Node, bytes]:
    if not nodes:
        return {}
    hashes = list(read(nodes))
    if len(hashes) != len(nodes) or any(len(h) != HASH_SIZE for h in hashes):
        raise MalformedError("tree: the hash reader answered with the wrong number of hashes")
    return dict(zip(nodes, hashes, strict=True))


# -- what the server computes ----------------------------------------------------------------------
def tree_hash(size: int, read: HashReader) -> bytes:
    """MTH(D[0:size]): the root a checkpoint of this size carries."""
    _check_size(size, "tree size")
    if size == 0:
        return EMPTY_ROOT
    return _hash_ranges([(0, size)], read)[0]


def inclusion_proof(index: int, size: int, read: HashReader) -> list[bytes]:
    """The audit path of leaf `index` in the tree of `size` leaves (RFC 6962 2.1.1)."""
    _check_size(size, "tree size")
    _check_size(index, "leaf index")
    if index >= size:
        raise ValueError(f"leaf {index} is not in a tree of {size} leaves")
    return _hash_ranges(_path_ranges(index, 0, size), read)


def consistency_proof(old_size: int, new_size: int, read: HashReader) -> list[bytes]:
    """The proof that the tree of `old_size` leaves is a prefix of the tree of `new_size`
    (RFC 6962 2.1.2). Empty when old_size is 0 or equals new_size."""
    _check_size(old_size, "old tree size")
    _check_size(new_size, "new tree size")
    if old_size > new_size:
        raise ValueError(f"a tree of {old_size} leaves is not a prefix of one of {new_size}")
    if old_size in (0, new_size):
        return []
    return _hash_ranges(_subproof_ranges(old_size, 0, new_size), read)


def new_nodes(size: int, leaf: bytes, read: HashReader) -> list[tuple[Node, bytes]]:
    """The nodes that become complete when `leaf` (a leaf hash) is appended to a tree of `size`
    leaves: the leaf itself, then each parent it completes. A log stores them all."""
    _check_size(size, "tree size")
    if size == MAX_TREE_SIZE:
        raise ValueError("the tree is full")
    if len(leaf) != HASH_SIZE:
        raise ValueError("a leaf hash is 32 bytes")
    siblings: list[Node] = []
    level, index = 0, size
    while index & 1:
        siblings.append((level, index - 1))
        level, index = level + 1, index >> 1
    got = _read(read, siblings)
    out: list[tuple[Node, bytes]] = [((0, size), leaf)]
    h = leaf
    for level, index in siblings:
        h = node_hash(got[(level, index)], h)
        out.append(((level + 1, index >> 1), h))
    return out


# -- what the client verifies ----------------------------------------------------------------------
def _check_hashes(proof: Sequence[bytes], what: str) -> list[bytes]:
    if not isinstance(proof, list | tuple):
        raise MalformedError(f"{what}: not a list of hashes")
    if len(proof) > MAX_PROOF_HASHES:
        raise MalformedError(f"{what}: {len(proof)} hashes, more than any tree needs")
    for h in proof:
        if not isinstance(h, bytes | bytearray) or len(h) != HASH_SIZE:
            raise MalformedError(f"{what}: every hash is 32 bytes")
    return [bytes(h) for h in proof]


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that `leaf` (a leaf hash) is entry `index` of the tree of `size` leaves whose root
    is `root` (RFC 9162 2.1.3.2). Raises IntegrityError if it is not."""
    path = _check_hashes(proof, "inclusion proof")
    _check_size(size, "tree size")
    _check_size(index, "leaf index")
    if len(leaf) != HASH_SIZE or len(root) != HASH_SIZE:
        raise MalformedError("inclusion proof: a leaf hash and a root are 32 bytes")
    if index >= size:
        raise IntegrityError(f"inclusion proof: leaf {index} is not in a tree of {size} leaves")
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            raise IntegrityError("inclusion proof: longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0 or r != root:
        raise IntegrityError(f"inclusion proof: leaf {index} is not in this tree of {size}")


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the tree of `old_size` leaves with root `old_root` is a prefix of the tree of
    `new_size` leaves with root `new_root` (RFC 9162 2.1.4.2; for old_size 0 or equal sizes, the
    proof is empty and, for equal sizes, the roots are equal). Raises IntegrityError if not."""
    path = _check_hashes(proof, "consistency proof")
    _check_size(old_size, "old tree size")
    _check_size(new_size, "new tree size")
    if len(old_root) != HASH_SIZE or len(new_root) != HASH_SIZE:
        raise MalformedError("consistency proof: a root is 32 bytes")
    if old_size > new_size:
        raise IntegrityError(f"consistency proof: a tree of {old_size} cannot grow to {new_size}")
    if old_size == 0:
        if path or old_root != EMPTY_ROOT:
            raise IntegrityError("consistency proof: the empty tree needs no proof")
        return
    if old_size == new_size:
        if path or old_root != new_root:
            raise IntegrityError(f"consistency proof: two different trees of size {new_size}")
        return
    if not path:
        raise IntegrityError("consistency proof: empty")
    if old_size & (old_size - 1) == 0:  # step 2: a power of two is itself a node of the new tree
        path = [old_root, *path]
    fn, sn = old_size - 1, new_size - 1  # step 3
    while fn & 1:  # step 4
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]  # step 5
    for c in path[1:]:  # step 6
        if sn == 0:
            raise IntegrityError("consistency proof: longer than the tree is deep")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0 or fr != old_root or sr != new_root:  # step 7
        raise IntegrityError(
            f"consistency proof: the tree of {old_size} is not a prefix of this tree of {new_size}"
        )


# -- an in-memory log (tests, benchmarks, vector generators; a server keeps the same nodes) --------
class MemoryTree:
    """Every node of a log, in a dict: append entries, ask for roots and proofs."""

    def __init__(self) -> None:
        self.size = 0
        self._nodes: dict[Node, bytes] = {}

    @property
    def node_count(self) -> int:
        """How many nodes are stored (about twice the number of entries)."""
        return len(self._nodes)

    def read(self, nodes: Sequence[Node]) -> list[bytes]:
        return [self._nodes[node] for node in nodes]

    def append(self, entry: bytes) -> int:
        """Append one entry; return its index."""
        return self.append_hash(leaf_hash(entry))

    def append_hash(self, leaf: bytes) -> int:
        index = self.size
        self._nodes.update(new_nodes(index, leaf, self.read))
        self.size += 1
        return index

    def root(self, size: int | None = None) -> bytes:
        return tree_hash(self.size if size is None else size, self.read)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        return inclusion_proof(index, self.size if size is None else size, self.read)

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        return consistency_proof(old_size, self.size if new_size is None else new_size, self.read)


# -- C2SP tlog-tiles -------------------------------------------------------------------------------
@dataclass(frozen=True, order=True)
class Tile:
    """Tile `index` of tile level `level` (the nodes of tree level 8 * level), `width` hashes wide
    (256 for a full tile). `level` None names an entry bundle of `width` entries."""

    level: int | None
    index: int
    width: int = TILE_WIDTH

    def __post_init__(self) -> None:
        if self.level is not None and not 0 <= self.level <= MAX_TILE_LEVEL:
            raise ValueError("a tile level is from 0 to 63")
        if self.index < 0 or not 1 <= self.width <= TILE_WIDTH:
            raise ValueError("a tile index is >= 0 and its width from 1 to 256")

    @property
    def path(self) -> str:
        """`tile/<L>/<N>[.p/<W>]`, or `tile/entries/<N>[.p/<W>]` for an entry bundle."""
        level = "entries" if self.level is None else str(self.level)
        partial = "" if self.width == TILE_WIDTH else f".p/{self.width}"
        return f"tile/{level}/{_encode_tile_index(self.index)}{partial}"

    @property
    def start(self) -> int:
        """The first entry this tile (or bundle) covers."""
        return self.index << (TILE_HEIGHT * ((self.level or 0) + 1))


def _encode_tile_index(index: int) -> str:
    groups = [f"{index % 1000:03d}"]
    index //= 1000
    while index:
        groups.append(f"x{index % 1000:03d}")
        index //= 1000
    return "/".join(reversed(groups))


_TILE_PATH: Final = re.compile(
    r"tile/(0|[1-9][0-9]?|entries)/((?:x[0-9]{3}/)*)([0-9]{3})(?:\.p/([1-9][0-9]{0,2}))?"
)


def parse_tile_path(path: str) -> Tile:
    """Parse a tile or entry-bundle path, accepting only its one canonical spelling."""
    m = _TILE_PATH.fullmatch(path) if isinstance(path, str) else None
    if m is None:
        raise MalformedError(f"not a tile path: {path!r}")
    level_text, prefix, last, width_text = m.groups()
    digits = [g[1:] for g in prefix.split("/") if g] + [last]
    if len(digits) > 1 and digits[0] == "000":
        raise MalformedError(f"not a tile path: {path!r} (leading zero group)")
    width = TILE_WIDTH if width_text is None else int(width_text)
    level = None if level_text == "entries" else int(level_text)
    if (width_text is not None and width >= TILE_WIDTH) or (level or 0) > MAX_TILE_LEVEL:
        raise MalformedError(f"not a tile path: {path!r}")
    return Tile(level, int("".join(digits)), width)


def tiles_for_size(size: int) -> list[Tile]:
    """Every hash tile a tree of `size` leaves has: its full tiles and, per level, the partial
    tile of width floor(size / 256**level) mod 256 if that is not 0 (C2SP tlog-tiles)."""
    _check_size(size, "tree size")
    tiles: list[Tile] = []
    level = 0
    while size >> (TILE_HEIGHT * level):
        hashes = size >> (TILE_HEIGHT * level)
        tiles.extend(Tile(level, n) for n in range(hashes >> TILE_HEIGHT))
        if hashes % TILE_WIDTH:
            tiles.append(Tile(level, hashes >> TILE_HEIGHT, hashes % TILE_WIDTH))
        level += 1
    return tiles


def new_tiles(old_size: int, new_size: int) -> list[Tile]:
    """The hash tiles a log writes when it grows from `old_size` to `new_size`: those of the new
    size that the old size did not have (a partial tile that grew is a new file)."""
    _check_size(old_size, "old tree size")
    _check_size(new_size, "new tree size")
    if old_size > new_size:
        raise ValueError("a tree does not shrink")
    old = set(tiles_for_size(old_size))
    return [t for t in tiles_for_size(new_size) if t not in old]


def tile_data(tile: Tile, read: HashReader) -> bytes:
    """The bytes of a hash tile: its `width` hashes of tree level 8 * level, concatenated."""
    if tile.level is None:
        raise ValueError("an entry bundle holds entries, not hashes")
    level = TILE_HEIGHT * tile.level
    first = tile.index << TILE_HEIGHT
    hashes = list(read([(level, first + i) for i in range(tile.width)]))
    if len(hashes) != tile.width or any(len(h) != HASH_SIZE for h in hashes):
        raise MalformedError("tree: the hash reader answered with the wrong number of hashes")
    return b"".join(hashes)


class TileHashReader:
    """A `HashReader` for a tree of `size` leaves built from its tiles: `fetch(tile)` returns a
    tile's bytes (a client downloads them; a proof computed from them is then verified against
    a signed root, which is what makes them trustworthy). Tiles are fetched once each."""

    def __init__(self, size: int, fetch: Callable[[Tile], bytes]) -> None:
        self.size = _check_size(size, "tree size")
        self._fetch = fetch
        self._tiles: dict[Tile, bytes] = {}

    def tile_for(self, level: int, index: int) -> Tile:
        """The tile holding what node (level, index) is computed from, in this tree."""
        tile_level = level // TILE_HEIGHT
        first = index << (level % TILE_HEIGHT)  # its first hash at tree level 8 * tile_level
        n = first >> TILE_HEIGHT
        hashes = self.size >> (TILE_HEIGHT * tile_level)
        return Tile(tile_level, n, min(TILE_WIDTH, hashes - (n << TILE_HEIGHT)))

    def _tile(self, tile: Tile) -> bytes:
        data = self._tiles.get(tile)
        if data is None:
            data = self._fetch(tile)
            if not isinstance(data, bytes) or len(data) != tile.width * HASH_SIZE:
                raise MalformedError(f"{tile.path}: not {tile.width} hashes")
            self._tiles[tile] = data
        return data

    def __call__(self, nodes: Sequence[Node]) -> list[bytes]:
        out = []
        for level, index in nodes:
            if level < 0 or index < 0 or (index + 1) << level > self.size:
                raise ValueError(
                    f"node ({level}, {index}) is not complete in a tree of {self.size}"
                )
            tile = self.tile_for(level, index)
            data = self._tile(tile)
            height = level % TILE_HEIGHT
            first = (index << height) - (tile.index << TILE_HEIGHT)
            hashes = [
                data[i * HASH_SIZE : (i + 1) * HASH_SIZE]
                for i in range(first, first + (1 << height))
            ]
            while len(hashes) > 1:
                hashes = [node_hash(hashes[i], hashes[i + 1]) for i in range(0, len(hashes), 2)]
            out.append(hashes[0])
        return out


def encode_entry_bundle(entries: Iterable[bytes]) -> bytes:
    """An entry bundle: each entry prefixed with its length as a big-endian u16."""
    out = []
    for entry in entries:
        if len(entry) > MAX_ENTRY_SIZE:
            raise ValueError("an entry in a bundle is at most 65535 bytes")
        out.append(len(entry).to_bytes(2, "big") + entry)
    return b"".join(out)


def decode_entry_bundle(data: bytes, width: int) -> list[bytes]:
    """The `width` entries of a bundle; MalformedError for fewer, more or truncated ones."""
    if not isinstance(data, bytes):
        raise MalformedError("entry bundle: expected bytes")
    entries, pos = [], 0
    while pos < len(data):
        if pos + 2 > len(data):
            raise MalformedError("entry bundle: truncated")
        size = int.from_bytes(data[pos : pos + 2], "big")
        if pos + 2 + size > len(data):
            raise MalformedError("entry bundle: truncated")
        entries.append(data[pos + 2 : pos + 2 + size])
        pos += 2 + size
    if len(entries) != width:
        raise MalformedError(f"entry bundle: {len(entries)} entries where {width} were expected")
    return entries
