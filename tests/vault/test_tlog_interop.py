"""Interoperability: what vault.tlog, vault.note, vault.checkpoint and vault.cosignature produce is
checked by Go's golang.org/x/mod/sumdb/{tlog,note} (the Go checksum database's code, Debian
package golang-golang-x-mod-dev), through the small program in tests/interop/tlogoracle.

The program is built here with the Debian Go toolchain in GOPATH mode against
/usr/share/gocode, offline. `make system-deps` installs both packages (the test fails, it does
not skip, when they are missing).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import os
import random
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from vault.checkpoint import Checkpoint, sign_checkpoint
from vault.cosignature import Cosigner
from vault.note import Ed25519Signer, Note, Signature, open_note, parse_note, sign_note
from vault.tlog import MemoryTree, tile_data, tiles_for_size

ORACLE = Path(__file__).resolve().parents[1] / "interop" / "tlogoracle"
GOPATH = Path("/usr/share/gocode")
SIZE = 70_000  # the tile example of C2SP tlog-tiles: full and partial tiles on three levels
ORIGIN = "kluis.example/log"
LOG = Ed25519Signer(ORIGIN, hashlib.sha256(b"interop log").digest())
WITNESSES = [Cosigner(f"w{i}.example/witness", hashlib.sha256(b"w%d" % i).digest()) for i in (1, 2)]
NOW = 1_800_000_000


def go_build(source: Path, out: Path) -> Path:
    """Build the Go program in `source` into `out` with Debian's toolchain, offline, in GOPATH
    mode against /usr/share/gocode (golang.org/x/mod)."""
    go = shutil.which("go")
    assert go, "the Go toolchain is missing: run `make system-deps` (Debian package golang-go)"
    assert (GOPATH / "src/golang.org/x/mod/sumdb/note/note.go").is_file(), (
        "golang.org/x/mod is missing: run `make system-deps` (golang-golang-x-mod-dev)"
    )
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(out),
        "GO111MODULE": "off",
        "GOPATH": str(GOPATH),
        "GOCACHE": str(out / "cache"),
        "GOFLAGS": "",
        "GOPROXY": "off",
        "GOTOOLCHAIN": "local",
        "CGO_ENABLED": "0",
    }
    binary = out / source.name
    build = subprocess.run(
        [go, "build", "-o", str(binary), "."],
        cwd=source,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert build.returncode == 0, build.stderr
    return binary


@pytest.fixture(scope="module")
def oracle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return go_build(ORACLE, tmp_path_factory.mktemp("go"))


def ask(oracle: Path, request: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run(
        [str(oracle)], input=json.dumps(request), capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


ENTRIES = [hashlib.sha256(b"%d" % i).digest()[: i % 97] + b"kluis %d" % i for i in range(SIZE)]


@functools.cache
def tree() -> MemoryTree:
    """The log of ENTRIES, built once per process and only when a test runs (not at collection
    time in every pytest-xdist worker)."""
    log = MemoryTree()
    for entry in ENTRIES:
        log.append(entry)
    return log


def flip(h: bytes) -> bytes:
    return bytes([h[0] ^ 1]) + h[1:]


def test_go_computes_the_same_roots(oracle: Path) -> None:
    rng = random.Random(1)
    sizes = [*range(1, 300), 511, 512, 513, 65535, 65536, 65537, SIZE]
    sizes += rng.sample(range(1, SIZE), 100)
    answer = ask(
        oracle,
        {
            "entries": [e.hex() for e in ENTRIES],
            "tree_hashes": [{"size": n, "hash": tree().root(n).hex()} for n in sizes],
        },
    )
    assert all(answer["tree_hashes"]), [
        n for n, ok in zip(sizes, answer["tree_hashes"], strict=True) if not ok
    ]


def test_go_accepts_our_inclusion_proofs_and_proves_the_same(oracle: Path) -> None:
    pairs = [(i, n) for n in range(1, 40) for i in range(n)]
    rng = random.Random(2)
    pairs += [(rng.randrange(n), n) for n in rng.sample(range(40, SIZE + 1), 300)]
    pairs += [(0, SIZE), (SIZE - 1, SIZE), (65535, 65536), (65536, 65537)]
    good = [
        {
            "index": i,
            "size": n,
            "leaf": ENTRIES[i].hex(),
            "proof": [h.hex() for h in tree().inclusion_proof(i, n)],
            "root": tree().root(n).hex(),
        }
        for i, n in pairs
    ]
    bad = []
    for case in good[::7]:  # a changed proof hash, a changed root, another leaf, a short proof
        proof = [bytes.fromhex(h) for h in case["proof"]]
        if proof:
            bad.append({**case, "proof": [flip(proof[0]).hex(), *case["proof"][1:]]})
            bad.append({**case, "proof": case["proof"][:-1]})
        bad.append({**case, "root": flip(bytes.fromhex(case["root"])).hex()})
        bad.append({**case, "leaf": (ENTRIES[case["index"]] + b"!").hex()})
    answer = ask(oracle, {"entries": [e.hex() for e in ENTRIES], "inclusion": good + bad})
    assert answer["inclusion"][: len(good)] == [True] * len(good)
    assert answer["inclusion"][len(good) :] == [False] * len(bad)
    for case, go_proof in zip(good, answer["go_inclusion"], strict=False):
        assert go_proof == case["proof"] or (go_proof is None and case["proof"] == [])


def test_go_accepts_our_consistency_proofs_and_proves_the_same(oracle: Path) -> None:
    pairs = [(m, n) for n in range(1, 40) for m in range(1, n + 1)]
    rng = random.Random(3)
    pairs += [tuple(sorted(rng.sample(range(1, SIZE + 1), 2))) for _ in range(300)]
    pairs += [(1, SIZE), (SIZE - 1, SIZE), (65536, SIZE), (256, 257)]
    good = [
        {
            "old": m,
            "new": n,
            "old_root": tree().root(m).hex(),
            "new_root": tree().root(n).hex(),
            "proof": [h.hex() for h in tree().consistency_proof(m, n)],
        }
        for m, n in pairs
    ]
    bad = []
    for case in good[::7]:
        if case["proof"]:
            first = flip(bytes.fromhex(case["proof"][0])).hex()
            bad.append({**case, "proof": [first, *case["proof"][1:]]})
            bad.append({**case, "proof": case["proof"][:-1]})
        bad.append({**case, "new_root": flip(bytes.fromhex(case["new_root"])).hex()})
        if case["old"] != case["new"]:
            bad.append({**case, "old_root": flip(bytes.fromhex(case["old_root"])).hex()})
    answer = ask(oracle, {"entries": [e.hex() for e in ENTRIES], "consistency": good + bad})
    assert answer["consistency"][: len(good)] == [True] * len(good)
    assert answer["consistency"][len(good) :] == [False] * len(bad)
    for case, go_proof in zip(good, answer["go_consistency"], strict=False):
        assert (go_proof or []) == case["proof"]


def test_go_writes_the_same_tiles(oracle: Path) -> None:
    tiles = tiles_for_size(SIZE) + tiles_for_size(300) + tiles_for_size(65536)
    answer = ask(
        oracle,
        {
            "entries": [e.hex() for e in ENTRIES],
            "tiles": [
                {"level": t.level, "index": t.index, "width": t.width, "size": SIZE} for t in tiles
            ],
        },
    )
    for tile, go_path, go_data in zip(
        tiles, answer["tile_paths"], answer["tile_data"], strict=True
    ):
        # Go's sumdb tiles name their height: tile/8/<L>/<N>; C2SP fixes it at 8 and omits it.
        assert go_path == tile.path.replace("tile/", "tile/8/", 1)
        assert go_data == tile_data(tile, tree().read).hex()


def checkpoint_note(size: int) -> bytes:
    cp = Checkpoint(ORIGIN, size, tree().root(size))
    return sign_checkpoint(cp, LOG, *(w.at(NOW + i) for i, w in enumerate(WITNESSES)))


def test_go_opens_our_signed_checkpoints_and_cosignatures(oracle: Path) -> None:
    log_vkey = LOG.verifier.vkey
    witness_vkeys = [w.verifier.vkey for w in WITNESSES]
    data = checkpoint_note(SIZE)
    note = parse_note(data)
    sig = note.signatures[2]
    broken_cosig = Note(
        note.text, (*note.signatures[:2], Signature(sig.name, sig.key_id, flip(sig.signature)))
    ).encode()
    broken_log = Note(
        note.text,
        (
            Signature(
                note.signatures[0].name,
                note.signatures[0].key_id,
                flip(note.signatures[0].signature),
            ),
            *note.signatures[1:],
        ),
    ).encode()
    stranger = sign_note(note.text, [Ed25519Signer(ORIGIN, b"\x09" * 32)])
    requests = [
        {"vkeys": [log_vkey], "note": data.decode()},
        {"vkeys": witness_vkeys, "note": data.decode()},
        {"vkeys": [log_vkey, *witness_vkeys], "note": checkpoint_note(12345).decode()},
        {"vkeys": witness_vkeys, "note": broken_cosig.decode()},
        {"vkeys": [log_vkey], "note": broken_log.decode()},
        {"vkeys": [log_vkey], "note": stranger.decode()},
    ]
    answer = ask(oracle, {"entries": [e.hex() for e in ENTRIES], "notes": requests})
    first, witnessed, other, bad_cosig, bad_log, unknown = answer["notes"]
    assert first["ok"] and first["verified"] == [ORIGIN] and first["text"] == note.text
    assert first["size"] == SIZE and first["root_is_go"]
    assert witnessed["ok"] and witnessed["verified"] == [w.name for w in WITNESSES]
    assert other["ok"] and other["size"] == 12345 and other["root_is_go"]
    assert len(other["verified"]) == 3
    assert not bad_cosig["ok"] and "invalid signature" in bad_cosig["error"]
    assert not bad_log["ok"] and "invalid signature" in bad_log["error"]
    assert not unknown["ok"] and "no verifiable signatures" in unknown["error"]


def test_go_signs_exactly_what_we_sign(oracle: Path) -> None:
    text = Checkpoint(ORIGIN, SIZE, tree().root(SIZE)).text()
    seed = base64.b64encode(b"\x01" + LOG.seed).decode()
    skey = f"PRIVATE+KEY+{ORIGIN}+{LOG.key_id.hex()}+{seed}"
    answer = ask(oracle, {"entries": [], "sign": [{"skey": skey, "text": text}]})
    go_note = answer["signed"][0].encode()
    assert go_note == sign_note(text, [LOG])
    assert open_note(go_note, [LOG.verifier]).text == text
