"""Check the committed vectors of section 17 (the key transparency log): tlog, note, checkpoint,
vrf, logentry, operator and ktlookup. The JSON files are read, never written:
tests/vectors/generate_tlog.py makes them by hand. An expected error is met by that error or a
subclass."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import blake3
import pytest

from vault import errors, vrf
from vault.checkpoint import Checkpoint, TrustedLog, check_extension, open_checkpoint
from vault.cosignature import CosignatureVerifier, WitnessPolicy, parse_witness_vkey
from vault.keylookup import verify_lookup
from vault.logentry import (
    EntryKind,
    LogEntry,
    Namespace,
    OperatorKey,
    label_input,
    verify_statement,
)
from vault.note import Ed25519Verifier, Verifier, open_note, parse_vkey
from vault.tlog import (
    MemoryTree,
    Tile,
    TileHashReader,
    decode_entry_bundle,
    leaf_hash,
    parse_tile_path,
    tile_data,
    tiles_for_size,
    tree_hash,
    verify_consistency,
    verify_inclusion,
)

VECTORS = Path(__file__).resolve().parent.parent / "vectors"
STRUCTURES = ("tlog", "note", "checkpoint", "vrf", "logentry", "operator", "ktlookup")
FILES = sorted(p for p in VECTORS.glob("*.json") if p.name.split("-")[0] in STRUCTURES)


def h(value: str) -> bytes:
    return bytes.fromhex(value)


def hashes(values: list[str]) -> list[bytes]:
    return [h(v) for v in values]


def any_vkey(vkey: str) -> Verifier:
    try:
        return parse_vkey(vkey)
    except errors.MalformedError:
        return parse_witness_vkey(vkey)


def trusted_log(v: dict[str, Any]) -> TrustedLog:
    witnesses = tuple(parse_witness_vkey(k) for k in v["witness_vkeys"])
    return TrustedLog(v["origin"], parse_vkey(v["log_vkey"]), WitnessPolicy(witnesses, v["quorum"]))


def previous_of(v: dict[str, Any]) -> Checkpoint | None:
    p = v["previous"]
    return None if p is None else Checkpoint(v["origin"], p["size"], h(p["root"]))


# -- one procedure per structure ------------------------------------------------------------------
def check_tlog(v: dict[str, Any]) -> None:
    kind = v["kind"]
    if kind == "roots":
        tree = MemoryTree()
        assert tree.root().hex() == v["roots"][0]
        for i, entry in enumerate(v["entries"]):
            assert leaf_hash(h(entry)).hex() == v["leaf_hashes"][i]
            tree.append(h(entry))
            assert tree.root().hex() == v["roots"][i + 1]
    elif kind == "inclusion":
        leaf = leaf_hash(h(v["entry"]))
        assert leaf.hex() == v["leaf_hash"]
        verify_inclusion(leaf, v["index"], v["size"], hashes(v["proof"]), h(v["root"]))
    elif kind == "consistency":
        verify_consistency(
            v["old_size"], v["new_size"], h(v["old_root"]), h(v["new_root"]), hashes(v["proof"])
        )
    elif kind == "tiles":
        check_tiles(v)
    elif kind == "tile-path":
        parse_tile_path(v["path"])
    else:
        raise AssertionError(kind)


def check_tiles(v: dict[str, Any]) -> None:
    entries = hashes(v["entries"])
    tree = MemoryTree()
    for entry in entries:
        tree.append(entry)
    assert tree.size == v["size"] and tree.root().hex() == v["root"]
    served = {}
    for t in v["tiles"]:
        tile = Tile(t["level"], t["index"], t["width"])
        assert tile.path == t["path"] and parse_tile_path(t["path"]) == tile
        assert tile_data(tile, tree.read).hex() == t["data"]
        served[tile] = h(t["data"])
    assert set(served) == set(tiles_for_size(v["size"]))
    assert tree_hash(v["size"], TileHashReader(v["size"], served.__getitem__)).hex() == v["root"]
    bundle = parse_tile_path(v["bundle"]["path"])
    assert bundle.level is None
    first = bundle.index * 256
    assert (
        decode_entry_bundle(h(v["bundle"]["data"]), bundle.width)
        == entries[first : first + bundle.width]
    )
    for size, paths in v["tiles_of_sizes"].items():
        assert [t.path for t in tiles_for_size(int(size))] == paths
    for p in v["paths"]:
        tile = Tile(p["level"], p["index"], p["width"])
        assert tile.path == p["path"] and parse_tile_path(p["path"]) == tile


def check_note(v: dict[str, Any]) -> None:
    verifiers = [any_vkey(k) for k in v["vkeys"]]
    opened = open_note(h(v["note"]), verifiers)
    assert opened.text == v["text"]
    signed = {
        vk.vkey
        for vk, _ in opened.verified
        if isinstance(vk, Ed25519Verifier | CosignatureVerifier)
    }
    assert signed == set(v["verified"])


def check_checkpoint(v: dict[str, Any]) -> None:
    verified = open_checkpoint(h(v["note"]), trusted_log(v), now=v["now"], max_age=v["max_age"])
    check_extension(previous_of(v), verified.checkpoint, hashes(v["consistency"]))
    assert verified.checkpoint.size == v["size"] and verified.checkpoint.root.hex() == v["root"]
    assert verified.cosigned == v["cosigned"]


def check_vrf(v: dict[str, Any]) -> None:
    public, alpha, pi = h(v["public_key"]), h(v["alpha"]), h(v["pi"])
    beta = vrf.verify(public, alpha, pi)
    assert beta.hex() == v["beta"] == vrf.proof_to_hash(pi).hex()
    if v["secret_key"] is not None:
        assert vrf.public_key(h(v["secret_key"])) == public
        assert vrf.prove(h(v["secret_key"]), alpha) == pi
    if "label" in v:
        assert label_input(Namespace(v["namespace"]), v["name"]) == alpha
        assert beta[:32].hex() == v["label"]


def check_logentry(v: dict[str, Any]) -> None:
    data = h(v["entry"])
    entry = LogEntry.decode(data)
    assert entry.encode() == data and entry.kind == v["kind"]
    record = h(v["record"])
    if entry.kind == EntryKind.OPERATOR_KEY:
        key = OperatorKey.decode(record)
        assert entry.record == record and key.origin == v["origin"]
        assert key.key_version == v["key_version"] and key.signing_key.hex() == v["signing_key"]
        assert key.created_at == v["created_at"]
        assert LogEntry.operator_key(record).encode() == data
        return
    assert entry.label is not None and entry.label.hex() == v["label"]
    assert entry.digest == bytes(blake3.blake3(record).digest()) == h(v["record_hash"])
    if entry.kind == EntryKind.VERIFICATION:
        assert LogEntry.verification(entry.label, record).encode() == data
    else:
        assert entry.version == v["version"]
        build = LogEntry.identity if entry.kind == EntryKind.IDENTITY else LogEntry.organisation
        assert build(entry.label, entry.version, record).encode() == data


def check_operator(v: dict[str, Any]) -> None:
    statement = verify_statement(
        h(v["statement"]),
        operator=OperatorKey.decode(h(v["operator_key"])),
        org_id=h(v["org_id"]),
        org_fingerprint=h(v["org_fingerprint"]),
    )
    assert statement.status == v["status"] and statement.stated_at == v["stated_at"]


def check_ktlookup(v: dict[str, Any]) -> None:
    found = verify_lookup(
        log=trusted_log(v),
        vrf_key=h(v["vrf_key"]),
        previous=previous_of(v),
        checkpoint=h(v["checkpoint"]),
        consistency=hashes(v["consistency"]),
        namespace=Namespace(v["namespace"]),
        name=v["name"],
        label_proof=h(v["label_proof"]),
        record=h(v["record"]),
        index=v["index"],
        inclusion=hashes(v["inclusion"]),
        now=v["now"],
        max_age=v["max_age"],
    )
    assert found.label.hex() == v["label"] and found.entry.encode().hex() == v["entry"]
    cp = found.checkpoint.checkpoint
    assert cp.size == v["size"] and cp.root.hex() == v["root"]


CHECKS: dict[str, Callable[[dict[str, Any]], None]] = {
    "tlog": check_tlog,
    "note": check_note,
    "checkpoint": check_checkpoint,
    "vrf": check_vrf,
    "logentry": check_logentry,
    "operator": check_operator,
    "ktlookup": check_ktlookup,
}


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_vector(path: Path) -> None:
    v = json.loads(path.read_text())
    assert v["structure"] == path.name.split("-")[0] and v["description"]
    check = CHECKS[v["structure"]]
    if v["expect"] == "success":
        check(v)
        return
    with pytest.raises(getattr(errors, v["expect"])):
        check(v)


def test_every_structure_has_success_and_failure_vectors() -> None:
    seen: dict[str, set[str]] = {}
    for path in FILES:
        v = json.loads(path.read_text())
        seen.setdefault(v["structure"], set()).add(
            "success" if v["expect"] == "success" else "failure"
        )
    assert seen == {s: {"success", "failure"} for s in STRUCTURES}


def test_failures_outnumber_successes() -> None:
    expects = [json.loads(p.read_text())["expect"] for p in FILES]
    assert sum(e != "success" for e in expects) > 2 * sum(e == "success" for e in expects)


def test_the_files_are_ascii() -> None:
    for path in FILES:
        assert path.read_bytes().isascii(), path.name
