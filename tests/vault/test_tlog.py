"""vault.tlog: RFC 6962 / 9162 trees and proofs, checked against a naive tree built here from the
RFC's own definitions, and C2SP tlog-tiles paths, tiles and bundles."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vault.errors import IntegrityError, MalformedError
from vault.tlog import (
    EMPTY_ROOT,
    MemoryTree,
    Node,
    Tile,
    TileHashReader,
    consistency_proof,
    decode_entry_bundle,
    encode_entry_bundle,
    inclusion_proof,
    leaf_hash,
    new_tiles,
    node_hash,
    parse_tile_path,
    tile_data,
    tiles_for_size,
    tree_hash,
    verify_consistency,
    verify_inclusion,
)

# The Certificate Transparency test tree (RFC 6962 reference implementation): eight entries and
# the roots of their first 1..8, a few audit paths and consistency proofs.
CT_ENTRIES = [bytes.fromhex(h) for h in (
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
)]  # fmt: skip
CT_ROOTS = [bytes.fromhex(h) for h in (
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
)]  # fmt: skip
CT_PROOFS = {
    ("inclusion", 0, 8): [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    ("consistency", 1, 8): [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    ("consistency", 6, 8): [
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
    ("consistency", 2, 5): [
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
}


# -- the reference: RFC 6962 section 2.1, word for word, over a list of leaf hashes ----------------
class Reference:
    def __init__(self, leaves: Sequence[bytes]) -> None:
        self.leaves = list(leaves)

    @functools.cache  # noqa: B019 (the instances live as long as one test)
    def mth(self, start: int, end: int) -> bytes:
        n = end - start
        if n == 0:
            return hashlib.sha256(b"").digest()
        if n == 1:
            return self.leaves[start]
        k = 1
        while k * 2 < n:
            k *= 2
        return hashlib.sha256(
            b"\x01" + self.mth(start, start + k) + self.mth(start + k, end)
        ).digest()

    def path(self, m: int, start: int, end: int) -> list[bytes]:
        n = end - start
        if n == 1:
            return []
        k = 1
        while k * 2 < n:
            k *= 2
        if m < k:
            return [*self.path(m, start, start + k), self.mth(start + k, end)]
        return [*self.path(m - k, start + k, end), self.mth(start, start + k)]

    def subproof(self, m: int, start: int, end: int, b: bool) -> list[bytes]:
        n = end - start
        if m == n:
            return [] if b else [self.mth(start, end)]
        k = 1
        while k * 2 < n:
            k *= 2
        if m <= k:
            return [*self.subproof(m, start, start + k, b), self.mth(start + k, end)]
        return [*self.subproof(m - k, start + k, end, False), self.mth(start, start + k)]

    def proof(self, m: int, n: int) -> list[bytes]:
        return self.subproof(m, 0, n, True) if 0 < m < n else []


def random_leaves(n: int, seed: int = 0) -> list[bytes]:
    return [leaf_hash(f"{seed}/{i}".encode()) for i in range(n)]


def tree_of(leaves: Sequence[bytes]) -> MemoryTree:
    tree = MemoryTree()
    for leaf in leaves:
        tree.append_hash(leaf)
    return tree


BIG = 300
BIG_LEAVES = random_leaves(BIG)
BIG_TREE = tree_of(BIG_LEAVES)
BIG_REF = Reference(BIG_LEAVES)


# -- known answers ---------------------------------------------------------------------------------
def test_the_empty_tree_is_the_hash_of_nothing() -> None:
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert MemoryTree().root() == EMPTY_ROOT


def test_leaf_and_node_hashes_carry_their_prefixes() -> None:
    assert leaf_hash(b"ab") == hashlib.sha256(b"\x00ab").digest()
    assert (
        node_hash(b"l" * 32, b"r" * 32) == hashlib.sha256(b"\x01" + b"l" * 32 + b"r" * 32).digest()
    )


def test_the_certificate_transparency_roots() -> None:
    tree = MemoryTree()
    for size, entry in enumerate(CT_ENTRIES, start=1):
        tree.append(entry)
        assert tree.root() == CT_ROOTS[size - 1]


@pytest.mark.parametrize("kind, old, size", list(CT_PROOFS))
def test_the_certificate_transparency_proofs(kind: str, old: int, size: int) -> None:
    tree = MemoryTree()
    for entry in CT_ENTRIES:
        tree.append(entry)
    expected = [bytes.fromhex(h) for h in CT_PROOFS[(kind, old, size)]]
    if kind == "inclusion":
        assert tree.inclusion_proof(old, size) == expected
        verify_inclusion(leaf_hash(CT_ENTRIES[old]), old, size, expected, CT_ROOTS[size - 1])
    else:
        assert tree.consistency_proof(old, size) == expected
        verify_consistency(old, size, CT_ROOTS[old - 1], CT_ROOTS[size - 1], expected)


# -- against the reference -------------------------------------------------------------------------
def test_roots_of_every_size_up_to_300_match_the_reference() -> None:
    for size in range(BIG + 1):
        assert BIG_TREE.root(size) == BIG_REF.mth(0, size)


def test_every_inclusion_proof_up_to_64_leaves_matches_and_verifies() -> None:
    for size in range(1, 65):
        root = BIG_REF.mth(0, size)
        for index in range(size):
            proof = BIG_TREE.inclusion_proof(index, size)
            assert proof == BIG_REF.path(index, 0, size)
            verify_inclusion(BIG_LEAVES[index], index, size, proof, root)


def test_every_consistency_proof_up_to_64_leaves_matches_and_verifies() -> None:
    for size in range(0, 65):
        for old in range(0, size + 1):
            proof = BIG_TREE.consistency_proof(old, size)
            assert proof == BIG_REF.proof(old, size)
            verify_consistency(old, size, BIG_REF.mth(0, old), BIG_REF.mth(0, size), proof)


pairs = st.integers(1, BIG).flatmap(lambda n: st.tuples(st.integers(0, n - 1), st.just(n)))


@settings(max_examples=300, deadline=None)
@given(pairs)
def test_random_inclusion_proofs_up_to_300_leaves(pair: tuple[int, int]) -> None:
    index, size = pair
    proof = BIG_TREE.inclusion_proof(index, size)
    assert proof == BIG_REF.path(index, 0, size)
    verify_inclusion(BIG_LEAVES[index], index, size, proof, BIG_REF.mth(0, size))


@settings(max_examples=300, deadline=None)
@given(pairs)
def test_random_consistency_proofs_up_to_300_leaves(pair: tuple[int, int]) -> None:
    old, size = pair[0] + 1, pair[1]
    proof = BIG_TREE.consistency_proof(old, size)
    assert proof == BIG_REF.proof(old, size)
    verify_consistency(old, size, BIG_REF.mth(0, old), BIG_REF.mth(0, size), proof)


# -- what a verifier refuses -----------------------------------------------------------------------
def flip(data: bytes, at: int = 0) -> bytes:
    return data[:at] + bytes([data[at] ^ 1]) + data[at + 1 :]


@settings(max_examples=200, deadline=None)
@given(pairs, st.data())
def test_any_changed_inclusion_proof_is_refused(pair: tuple[int, int], data: st.DataObject) -> None:
    index, size = pair
    proof, root, leaf = (
        BIG_TREE.inclusion_proof(index, size),
        BIG_REF.mth(0, size),
        BIG_LEAVES[index],
    )
    bad: list[tuple[bytes, int, int, list[bytes], bytes]] = [
        (flip(leaf), index, size, proof, root),
        (leaf, index, size, proof, flip(root, 31)),
        (leaf, index, size, [*proof, leaf], root),
    ]
    if proof:
        at = data.draw(st.integers(0, len(proof) - 1))
        bad.append((leaf, index, size, [*proof[:at], flip(proof[at]), *proof[at + 1 :]], root))
        bad.append((leaf, index, size, proof[:-1], root))
        bad.append((leaf, index, size, proof[::-1], root) if len(set(proof)) > 1 else bad[0])
    other = data.draw(st.integers(0, size - 1))
    if BIG_LEAVES[other] != leaf:
        bad.append((leaf, other, size, proof, root))
    if size > 1 and BIG_REF.mth(0, size - 1) != root:
        bad.append((leaf, index, size - 1, proof, BIG_REF.mth(0, size - 1)))
    for args in bad:
        with pytest.raises(IntegrityError):
            verify_inclusion(*args)


@settings(max_examples=200, deadline=None)
@given(pairs, st.data())
def test_any_changed_consistency_proof_is_refused(
    pair: tuple[int, int], data: st.DataObject
) -> None:
    old, size = pair[0] + 1, pair[1]
    proof = BIG_TREE.consistency_proof(old, size)
    old_root, new_root = BIG_REF.mth(0, old), BIG_REF.mth(0, size)
    bad = [
        (old, size, flip(old_root), new_root, proof),
        (old, size, old_root, flip(new_root, 31), proof),
        (old, size, old_root, new_root, [*proof, new_root]),
    ]
    if proof:
        at = data.draw(st.integers(0, len(proof) - 1))
        bad.append(
            (old, size, old_root, new_root, [*proof[:at], flip(proof[at]), *proof[at + 1 :]])
        )
        bad.append((old, size, old_root, new_root, proof[:-1]))
    if old < size:
        bad.append((old, size, new_root, new_root, proof))  # the new root claimed as the old
        bad.append((old + 1, size, old_root, new_root, proof) if old + 1 < size else bad[0])
    for args in bad:
        with pytest.raises(IntegrityError):
            verify_consistency(*args)


def test_a_tree_that_shrinks_is_not_consistent() -> None:
    with pytest.raises(IntegrityError):
        verify_consistency(8, 7, BIG_REF.mth(0, 8), BIG_REF.mth(0, 7), [])


def test_two_trees_of_one_size_must_have_one_root() -> None:
    verify_consistency(7, 7, BIG_REF.mth(0, 7), BIG_REF.mth(0, 7), [])
    with pytest.raises(IntegrityError):
        verify_consistency(7, 7, BIG_REF.mth(0, 7), BIG_REF.mth(1, 8), [])
    with pytest.raises(IntegrityError):
        verify_consistency(7, 7, BIG_REF.mth(0, 7), BIG_REF.mth(0, 7), [BIG_LEAVES[0]])


def test_the_empty_tree_is_a_prefix_of_every_tree_without_proof() -> None:
    verify_consistency(0, 5, EMPTY_ROOT, BIG_REF.mth(0, 5), [])
    with pytest.raises(IntegrityError):
        verify_consistency(0, 5, EMPTY_ROOT, BIG_REF.mth(0, 5), [BIG_LEAVES[0]])
    with pytest.raises(IntegrityError):
        verify_consistency(0, 5, BIG_LEAVES[0], BIG_REF.mth(0, 5), [])


def test_an_empty_proof_between_different_sizes_is_refused() -> None:
    with pytest.raises(IntegrityError):
        verify_consistency(4, 8, BIG_REF.mth(0, 4), BIG_REF.mth(0, 8), [])


def test_a_leaf_outside_the_tree_is_refused() -> None:
    with pytest.raises(IntegrityError):
        verify_inclusion(BIG_LEAVES[0], 5, 5, [], BIG_REF.mth(0, 5))
    with pytest.raises(IntegrityError):
        verify_inclusion(BIG_LEAVES[0], 0, 0, [], EMPTY_ROOT)


def test_the_one_leaf_tree_is_its_leaf() -> None:
    verify_inclusion(BIG_LEAVES[0], 0, 1, [], BIG_LEAVES[0])
    with pytest.raises(IntegrityError):
        verify_inclusion(BIG_LEAVES[0], 0, 1, [BIG_LEAVES[1]], BIG_LEAVES[0])


@pytest.mark.parametrize(
    "proof",
    [[b"\x00" * 31], [b"\x00" * 33], ["00" * 32], [b"\x00" * 32] * 64, b"\x00" * 32, None],
)
def test_a_proof_that_is_not_a_list_of_hashes_is_malformed(proof: object) -> None:
    root = BIG_REF.mth(0, 5)
    with pytest.raises(MalformedError):
        verify_inclusion(BIG_LEAVES[0], 0, 5, proof, root)  # type: ignore[arg-type]
    with pytest.raises(MalformedError):
        verify_consistency(3, 5, BIG_REF.mth(0, 3), root, proof)  # type: ignore[arg-type]


@pytest.mark.parametrize("size", [-1, 2**63, True, 1.0])
def test_sizes_outside_the_tree_range_are_malformed(size: object) -> None:
    with pytest.raises(MalformedError):
        verify_inclusion(BIG_LEAVES[0], 0, size, [], BIG_LEAVES[0])  # type: ignore[arg-type]
    with pytest.raises(MalformedError):
        verify_consistency(0, size, EMPTY_ROOT, EMPTY_ROOT, [])  # type: ignore[arg-type]


def test_roots_and_leaves_must_be_32_bytes() -> None:
    with pytest.raises(MalformedError):
        verify_inclusion(BIG_LEAVES[0][:31], 0, 1, [], BIG_LEAVES[0])
    with pytest.raises(MalformedError):
        verify_consistency(1, 1, BIG_LEAVES[0], BIG_LEAVES[0] + b"\x00", [])


def test_the_server_side_refuses_impossible_requests() -> None:
    with pytest.raises(ValueError):
        BIG_TREE.inclusion_proof(10, 10)
    with pytest.raises(ValueError):
        BIG_TREE.consistency_proof(11, 10)


def test_a_hash_reader_that_answers_wrongly_is_refused() -> None:
    with pytest.raises(MalformedError):
        tree_hash(3, lambda nodes: [b"\x00" * 32])
    with pytest.raises(MalformedError):
        tree_hash(3, lambda nodes: [b"\x00" * 31 for _ in nodes])


def test_proofs_need_only_logarithmically_many_nodes() -> None:
    asked: list[Node] = []

    def read(nodes: Sequence[Node]) -> list[bytes]:
        asked.extend(nodes)
        return [hashlib.sha256(repr(n).encode()).digest() for n in nodes]

    size = 10**12 + 12345
    inclusion_proof(size // 3, size, read)
    consistency_proof(size // 2 + 7, size, read)
    tree_hash(size, read)
    assert len(asked) < 3 * 2 * 41  # at most 2 log2(n) per computation


# -- tiles -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "tile, path",
    [
        (Tile(0, 0), "tile/0/000"),
        (Tile(0, 1234067), "tile/0/x001/x234/067"),
        (Tile(1, 1234067, 17), "tile/1/x001/x234/067.p/17"),
        (Tile(2, 1000), "tile/2/x001/000"),
        (Tile(63, 999, 255), "tile/63/999.p/255"),
        (Tile(None, 5, 1), "tile/entries/005.p/1"),
        (Tile(None, 1_000_000), "tile/entries/x001/x000/000"),
    ],
)
def test_tile_paths(tile: Tile, path: str) -> None:
    assert tile.path == path
    assert parse_tile_path(path) == tile


@pytest.mark.parametrize(
    "path",
    [
        "tile/0/x000/001",  # a leading zero group
        "tile/0/01",
        "tile/0/0001",
        "tile/0/001/002",  # an inner group without x
        "tile/0/x001",
        "tile/00/001",
        "tile/64/001",
        "tile/0/001.p/0",
        "tile/0/001.p/256",
        "tile/0/001.p/016",
        "tile/0/001.p/",
        "tile/data/001",
        "tile/entries/x001/x234/067.p/1/",
        "/tile/0/000",
        "tile/-1/000",
        "tile/0/\u0661\u0662\u0663",  # Arabic-Indic digits are not ASCII digits
    ],
)
def test_non_canonical_tile_paths_are_refused(path: str) -> None:
    with pytest.raises(MalformedError):
        parse_tile_path(path)


def test_the_tiles_of_a_tree_of_70000_are_those_of_the_spec() -> None:
    tiles = tiles_for_size(70_000)
    assert [t for t in tiles if t.level == 0 and t.width == 256] == [Tile(0, n) for n in range(273)]
    assert Tile(0, 273, 112) in tiles and Tile(1, 0) in tiles and Tile(1, 1, 17) in tiles
    assert Tile(2, 0, 1) in tiles and len(tiles) == 273 + 1 + 1 + 1 + 1


def test_a_tree_of_256_has_one_full_tile_and_a_partial_one_above() -> None:
    assert tiles_for_size(256) == [Tile(0, 0), Tile(1, 0, 1)]
    assert tiles_for_size(0) == []


def test_new_tiles_are_those_the_old_tree_did_not_have() -> None:
    assert new_tiles(255, 257) == [Tile(0, 0), Tile(0, 1, 1), Tile(1, 0, 1)]
    assert new_tiles(10, 10) == []
    with pytest.raises(ValueError):
        new_tiles(11, 10)


def tiles_of(tree: MemoryTree, size: int) -> Callable[[Tile], bytes]:
    def fetch(tile: Tile) -> bytes:
        assert tile in tiles_for_size(size)
        return tile_data(tile, tree.read)

    return fetch


@pytest.mark.parametrize("size", [1, 2, 255, 256, 257, 300, 511, 512, 70_000])
def test_proofs_computed_from_tiles_equal_those_from_the_nodes(size: int) -> None:
    tree = BIG_TREE if size <= BIG else tree_of(random_leaves(size, seed=size))
    reader = TileHashReader(size, tiles_of(tree, size))
    assert tree_hash(size, reader) == tree.root(size)
    for index in {0, size // 2, size - 1}:
        assert inclusion_proof(index, size, reader) == tree.inclusion_proof(index, size)
    for old in {1, size // 3, size - 1}:
        if 0 < old < size:
            assert consistency_proof(old, size, reader) == tree.consistency_proof(old, size)


def test_a_tile_of_the_wrong_length_is_malformed() -> None:
    reader = TileHashReader(300, lambda tile: b"\x00" * 32 * (tile.width - 1))
    with pytest.raises(MalformedError):
        tree_hash(300, reader)


def test_a_tile_reader_refuses_nodes_outside_its_tree() -> None:
    reader = TileHashReader(300, tiles_of(BIG_TREE, 300))
    with pytest.raises(ValueError):
        reader([(1, 150)])
    with pytest.raises(ValueError):
        reader([(9, 0)])


def test_a_forged_tile_leads_to_a_proof_that_does_not_verify() -> None:
    good = tiles_of(BIG_TREE, 300)

    def forged(tile: Tile) -> bytes:
        data = good(tile)
        return flip(data, 5 * 32) if tile == Tile(0, 0) else data

    proof = inclusion_proof(4, 300, TileHashReader(300, forged))
    with pytest.raises(IntegrityError):
        verify_inclusion(BIG_LEAVES[4], 4, 300, proof, BIG_TREE.root(300))


def test_entry_bundles_round_trip() -> None:
    entries = [b"", b"a", b"\x00" * 300, b"x" * 65535]
    data = encode_entry_bundle(entries)
    assert data[:2] == b"\x00\x00" and data[2:5] == b"\x00\x01a"
    assert decode_entry_bundle(data, 4) == entries


@pytest.mark.parametrize(
    "data, width",
    [
        (b"\x00\x01ab", 1),  # a trailing byte
        (b"\x00\x02a", 1),  # truncated entry
        (b"\x00", 1),  # truncated length
        (b"\x00\x01a", 2),  # fewer entries than the width
        (b"\x00\x01a\x00\x00", 1),  # more
        (b"", 1),
    ],
)
def test_malformed_entry_bundles_are_refused(data: bytes, width: int) -> None:
    with pytest.raises(MalformedError):
        decode_entry_bundle(data, width)


def test_an_entry_too_long_for_a_bundle_is_refused() -> None:
    with pytest.raises(ValueError):
        encode_entry_bundle([b"x" * 65536])
