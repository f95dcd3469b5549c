"""The key transparency log's core (vault/tlog.py and friends): what appending and verifying cost.

Run from the repository root:

    .venv/bin/python benchmarks/tlog.py [--entries 100000] [--big 10000000] [--repeat 2000]

1. Appends --entries identity entries (74 bytes each, as format 17.1 writes them) to an in-memory
   log: SHA-256 of every leaf and of every node it completes, as a server does on append.
2. In that tree: an inclusion proof of a leaf and a consistency proof from an older size, built
   from the stored nodes and from C2SP tiles, and verified --repeat times each.
3. The same for a tree of --big leaves, simulated: every leaf is the same entry, so every node
   of one level has the same hash and any node is known in O(1). Proofs need only O(log n)
   nodes, so building and verifying them costs what it would in a real tree of that size.
4. The rest of a client's check of a lookup (format 17.6): opening a checkpoint with the log
   signature and two witness cosignatures, verifying a VRF label, and all of verify_lookup.

Prints proof sizes and the median time per operation. No targets: these are the numbers the
server and client integration is planned with.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from vault import vrf  # noqa: E402
from vault.checkpoint import Checkpoint, TrustedLog, open_checkpoint, sign_checkpoint  # noqa: E402
from vault.cosignature import Cosigner, WitnessPolicy  # noqa: E402
from vault.keylookup import verify_lookup  # noqa: E402
from vault.keys import PrivateIdentity  # noqa: E402
from vault.logentry import LogEntry, Namespace, prove_label, verify_label  # noqa: E402
from vault.note import Ed25519Signer  # noqa: E402
from vault.tlog import (  # noqa: E402
    HASH_SIZE,
    MemoryTree,
    Node,
    TileHashReader,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    tile_data,
    tree_hash,
    verify_consistency,
    verify_inclusion,
)

ORIGIN = "kluis.example/log"


def per_call(fn: Callable[[], object], repeat: int, rounds: int = 5) -> float:
    """Median over `rounds` of the mean seconds per call of `repeat` calls."""
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(repeat):
            fn()
        samples.append((time.perf_counter() - start) / repeat)
    return statistics.median(samples)


def us(seconds: float) -> str:
    return f"{seconds * 1e6:8.1f} us"


def row(what: str, value: str) -> None:
    print(f"  {what:<58} {value}")


class UniformTree:
    """A tree of `size` copies of one entry: the node at level l is h_l for every index."""

    def __init__(self, size: int, entry: bytes) -> None:
        self.size = size
        self.levels = [leaf_hash(entry)]
        while len(self.levels) < 64:
            self.levels.append(node_hash(self.levels[-1], self.levels[-1]))

    def read(self, nodes: Sequence[Node]) -> list[bytes]:
        return [self.levels[level] for level, _ in nodes]


def proofs(
    name: str,
    size: int,
    read: Callable[[Sequence[Node]], Sequence[bytes]],
    leaf: bytes,
    index: int,
    old: int,
    repeat: int,
) -> None:
    root, old_root = tree_hash(size, read), tree_hash(old, read)
    incl = inclusion_proof(index, size, read)
    cons = consistency_proof(old, size, read)
    print(f"\n{name}: {size:,} leaves")
    row(
        f"inclusion proof of leaf {index:,}",
        f"{len(incl)} hashes, {len(incl) * HASH_SIZE} bytes",
    )
    row(
        f"consistency proof from {old:,}",
        f"{len(cons)} hashes, {len(cons) * HASH_SIZE} bytes",
    )
    row(
        "build the inclusion proof from stored nodes",
        us(per_call(lambda: inclusion_proof(index, size, read), max(1, repeat // 10))),
    )
    row(
        "build the consistency proof from stored nodes",
        us(per_call(lambda: consistency_proof(old, size, read), max(1, repeat // 10))),
    )
    row(
        "verify the inclusion proof",
        us(per_call(lambda: verify_inclusion(leaf, index, size, incl, root), repeat)),
    )
    row(
        "verify the consistency proof",
        us(per_call(lambda: verify_consistency(old, size, old_root, root, cons), repeat)),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--big", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=2000)
    args = parser.parse_args()
    n, repeat = args.entries, args.repeat

    # 1. append
    entries = [
        LogEntry.identity(hashlib.sha256(b"label %d" % i).digest(), 1, b"record %d" % i).encode()
        for i in range(n)
    ]
    tree = MemoryTree()
    start = time.perf_counter()
    for entry in entries:
        tree.append(entry)
    elapsed = time.perf_counter() - start
    print(f"append: {n:,} entries of {len(entries[0])} bytes")
    row("total", f"{elapsed:8.2f} s")
    row("per entry (leaf hash, completed nodes, dict store)", us(elapsed / n))
    row("nodes stored", f"{tree.node_count:,}")

    # 2. proofs in the real tree
    index, old = n // 3, n // 2 + 7
    proofs("stored nodes", n, tree.read, leaf_hash(entries[index]), index, old, repeat)
    tiles: dict[object, bytes] = {}

    def fetch(tile: object) -> bytes:
        if tile not in tiles:
            tiles[tile] = tile_data(tile, tree.read)  # type: ignore[arg-type]
        return tiles[tile]

    reader = TileHashReader(n, fetch)
    inclusion_proof(index, n, reader)
    consistency_proof(old, n, reader)
    row("tiles fetched for both proofs", f"{len(tiles)} ({sum(map(len, tiles.values())):,} B)")
    row(
        "build both proofs from tiles already fetched",
        us(
            per_call(
                lambda: (inclusion_proof(index, n, reader), consistency_proof(old, n, reader)),
                max(1, repeat // 10),
            )
        ),
    )

    # 3. a simulated large tree
    big = UniformTree(args.big, entries[0])
    proofs(
        "simulated (one entry repeated)",
        args.big,
        big.read,
        big.levels[0],
        args.big // 3,
        args.big // 2 + 7,
        repeat,
    )

    # 4. the rest of a lookup check
    log = Ed25519Signer(ORIGIN, hashlib.sha256(b"log").digest())
    witnesses = [Cosigner(f"w{i}.example/w", hashlib.sha256(b"w%d" % i).digest()) for i in range(3)]
    trusted = TrustedLog(
        ORIGIN, log.verifier, WitnessPolicy(tuple(w.verifier for w in witnesses), 2)
    )
    vrf_secret = hashlib.sha256(b"vrf").digest()
    vrf_key = vrf.public_key(vrf_secret)
    alice = PrivateIdentity.from_private_keys(b"\x0a" * 16, "alice", 1, bytes(range(96)))
    label, proof = prove_label(vrf_secret, Namespace.USER, "alice")
    lookup_tree = MemoryTree()
    for entry in entries[:1000]:
        lookup_tree.append(entry)
    at = lookup_tree.append(LogEntry.identity(label, 1, alice.public.encode()).encode())
    previous = Checkpoint(ORIGIN, 500, lookup_tree.root(500))
    cp = Checkpoint(ORIGIN, lookup_tree.size, lookup_tree.root())
    note = sign_checkpoint(cp, log, witnesses[0].at(1), witnesses[1].at(2))
    print("\na lookup (format 17.6)")
    row(
        "open a checkpoint (log signature, 2 of 3 cosignatures)",
        us(per_call(lambda: open_checkpoint(note, trusted), repeat // 10)),
    )
    row(
        "prove a VRF label (server)",
        us(per_call(lambda: prove_label(vrf_secret, Namespace.USER, "alice"), repeat // 10)),
    )
    row(
        "verify a VRF label",
        us(per_call(lambda: verify_label(vrf_key, Namespace.USER, "alice", proof), repeat // 10)),
    )
    answer = {
        "log": trusted,
        "vrf_key": vrf_key,
        "previous": previous,
        "checkpoint": note,
        "consistency": lookup_tree.consistency_proof(500),
        "namespace": Namespace.USER,
        "name": "alice",
        "label_proof": proof,
        "record": alice.public.encode(),
        "index": at,
        "inclusion": lookup_tree.inclusion_proof(at),
    }
    row(
        "verify_lookup, all five checks",
        us(per_call(lambda: verify_lookup(**answer), repeat // 10)),
    )  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
