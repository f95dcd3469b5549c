"""Write the test vectors of docs/format.md section 17 (the key transparency log) into
tests/vectors/, one JSON file per scenario: tlog (tree, proofs, tiles), note, checkpoint, vrf,
logentry, operator and ktlookup.

Run by hand, never by the tests:  .venv/bin/python tests/vectors/generate_tlog.py
Every input is fixed (seeds, names, times) and every signature deterministic (Ed25519, the
ECVRF), so running it again writes the same bytes. Fields are described in
tests/vectors/README.md.
"""

from __future__ import annotations

import base64
import dataclasses
import json
from pathlib import Path
from typing import Any

import nacl.bindings
import nacl.signing

# Run as a script from the repository root: tests/vectors is on sys.path. The same users as
# the other vectors, and the organisation "ncg" of the section 14 vectors.
from generate_organisations import RECORD1, RECORD2  # type: ignore[import-not-found]
from generate_structures import ALICE, BOB, flip, seed  # type: ignore[import-not-found]

from vault import labels, vrf
from vault.checkpoint import Checkpoint, sign_checkpoint
from vault.cosignature import Cosigner
from vault.keys import PrivateIdentity
from vault.logentry import (
    LogEntry,
    Namespace,
    OperatorKey,
    OperatorStatement,
    Status,
    label_input,
    make_operator_key,
    make_statement,
    prove_label,
)
from vault.note import Ed25519Signer, Note, Signature, parse_note, sign_note
from vault.organisation import OrgKeys, organisation_fingerprint_digest
from vault.tlog import (
    EMPTY_ROOT,
    MemoryTree,
    Tile,
    encode_entry_bundle,
    tile_data,
    tiles_for_size,
)

OUT = Path(__file__).resolve().parent
PREFIXES = ("tlog", "note", "checkpoint", "vrf", "logentry", "operator", "ktlookup")

ORIGIN = "kluis.example/log"
LOG = Ed25519Signer(ORIGIN, seed("tlog/log-key", 32))
WITNESSES = [
    Cosigner(f"witness-{n}.example/w", seed(f"tlog/witness/{n}", 32)) for n in ("a", "b", "c")
]
QUORUM = 2
VRF_SECRET = seed("tlog/vrf-key", 32)
VRF_KEY = vrf.public_key(VRF_SECRET)
OPERATOR_SEED = seed("tlog/operator-key", 32)
NOW = 1_800_000_000
STRANGER = Ed25519Signer(ORIGIN, seed("tlog/stranger", 32))  # the log's name, another key

# Alice's second keys (a rotation): the record the lookups look up.
ALICE2 = PrivateIdentity.from_private_keys(ALICE.user_id, "alice", 2, seed("tlog/alice/2", 96))
MALLORY_AS_ALICE = PrivateIdentity.from_private_keys(
    ALICE.user_id, "alice", 2, seed("tlog/alice/2/not-logged", 96)
)


def write(scenario: str, structure: str, description: str, expect: str, **fields: Any) -> None:
    doc = {"structure": structure, "description": description, "expect": expect, **fields}
    (OUT / f"{structure}-{scenario}.json").write_text(json.dumps(doc, indent=2) + "\n")


def resign(body: bytes, label: bytes) -> bytes:
    """`body` signed by the operator key (Sign of format section 1), after a change to it."""
    signature = nacl.signing.SigningKey(OPERATOR_SEED).sign(label + b"\x00" + body).signature
    return body + signature


def hexes(hashes: list[bytes]) -> list[str]:
    return [h.hex() for h in hashes]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def replace_signature(data: bytes, index: int, signature: Signature) -> bytes:
    note = parse_note(data)
    sigs = list(note.signatures)
    sigs[index] = signature
    return Note(note.text, tuple(sigs)).encode()


def flipped_signature(data: bytes, index: int, at: int = 0) -> bytes:
    sig = parse_note(data).signatures[index]
    return replace_signature(data, index, Signature(sig.name, sig.key_id, flip(sig.signature, at)))


# -- tlog: the tree, proofs and tiles --------------------------------------------------------------
TLOG_ENTRIES = [f"kluis tlog vector entry {i}".encode() for i in range(20)]
TLOG = MemoryTree()
for _e in TLOG_ENTRIES:
    TLOG.append(_e)


def inclusion(index: int, size: int, **changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "kind": "inclusion",
        "entry": TLOG_ENTRIES[index].hex(),
        "leaf_hash": TLOG.read([(0, index)])[0].hex(),
        "index": index,
        "size": size,
        "proof": hexes(TLOG.inclusion_proof(index, size)),
        "root": TLOG.root(size).hex(),
    }
    fields.update(changes)
    return fields


def consistency(old: int, new: int, **changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "kind": "consistency",
        "old_size": old,
        "new_size": new,
        "old_root": TLOG.root(old).hex(),
        "new_root": TLOG.root(new).hex(),
        "proof": hexes(TLOG.consistency_proof(old, new)),
    }
    fields.update(changes)
    return fields


def tlog_vectors() -> None:
    write(
        "roots",
        "tlog",
        "the roots of the first 0 to 20 entries",
        "success",
        kind="roots",
        entries=[e.hex() for e in TLOG_ENTRIES],
        leaf_hashes=hexes(TLOG.read([(0, i) for i in range(20)])),
        roots=[TLOG.root(n).hex() for n in range(21)],
    )
    ok = "success"
    write("inclusion", "tlog", "entry 5 of 13", ok, **inclusion(5, 13))
    write("inclusion-last", "tlog", "the last entry, 12 of 13", ok, **inclusion(12, 13))
    write("inclusion-one-leaf", "tlog", "the only entry of a tree of 1", ok, **inclusion(0, 1))
    write("inclusion-full", "tlog", "entry 9 of 16 (a full tree)", ok, **inclusion(9, 16))
    good = inclusion(5, 13)
    proof = TLOG.inclusion_proof(5, 13)
    bad = "IntegrityError"
    write(
        "inclusion-flipped-hash",
        "tlog",
        "the second proof hash has one bit flipped",
        bad,
        **{**good, "proof": hexes([proof[0], flip(proof[1], 0), *proof[2:]])},
    )
    write(
        "inclusion-missing-hash",
        "tlog",
        "the last proof hash is missing",
        bad,
        **{**good, "proof": hexes(proof[:-1])},
    )
    write(
        "inclusion-extra-hash",
        "tlog",
        "a hash appended to the proof",
        bad,
        **{**good, "proof": hexes([*proof, proof[0]])},
    )
    write(
        "inclusion-wrong-index",
        "tlog",
        "entry 5's proof presented as entry 4's",
        bad,
        **{**good, "index": 4},
    )
    write(
        "inclusion-other-tree",
        "tlog",
        "the proof of entry 5 in the tree of 13 checked against the tree of 14",
        bad,
        **{**good, "size": 14, "root": TLOG.root(14).hex()},
    )
    write(
        "inclusion-wrong-leaf",
        "tlog",
        "entry 6's leaf hash with entry 5's proof",
        bad,
        **{**good, "entry": TLOG_ENTRIES[6].hex(), "leaf_hash": TLOG.read([(0, 6)])[0].hex()},
    )
    write(
        "inclusion-index-not-below-size",
        "tlog",
        "leaf index 13 in a tree of 13",
        bad,
        **{**good, "index": 13, "proof": []},
    )
    write(
        "inclusion-short-hash",
        "tlog",
        "a proof hash of 31 bytes",
        "MalformedError",
        **{**good, "proof": hexes([proof[0][:31], *proof[1:]])},
    )

    write("consistency", "tlog", "from 7 entries to 13", ok, **consistency(7, 13))
    write("consistency-power-of-two", "tlog", "from 8 entries to 13", ok, **consistency(8, 13))
    write("consistency-one", "tlog", "from 1 entry to 20", ok, **consistency(1, 20))
    write("consistency-equal", "tlog", "from 13 to 13: empty proof", ok, **consistency(13, 13))
    write(
        "consistency-from-empty",
        "tlog",
        "from the empty tree to 13: empty proof",
        ok,
        **consistency(0, 13),
    )
    good = consistency(7, 13)
    proof = TLOG.consistency_proof(7, 13)
    write(
        "consistency-flipped-hash",
        "tlog",
        "the first proof hash has one bit flipped",
        bad,
        **{**good, "proof": hexes([flip(proof[0], 31), *proof[1:]])},
    )
    write(
        "consistency-missing-hash",
        "tlog",
        "the last proof hash is missing",
        bad,
        **{**good, "proof": hexes(proof[:-1])},
    )
    write(
        "consistency-extra-hash",
        "tlog",
        "a hash appended to the proof",
        bad,
        **{**good, "proof": hexes([*proof, proof[0]])},
    )
    write(
        "consistency-wrong-old-root",
        "tlog",
        "the old root of 7 entries is that of 6",
        bad,
        **{**good, "old_root": TLOG.root(6).hex()},
    )
    write(
        "consistency-wrong-new-root",
        "tlog",
        "the new root of 13 entries is that of 14",
        bad,
        **{**good, "new_root": TLOG.root(14).hex()},
    )
    write(
        "consistency-empty-proof",
        "tlog",
        "no proof from 7 to 13",
        bad,
        **{**good, "proof": []},
    )
    write(
        "consistency-shrinks",
        "tlog",
        "from 13 entries to 7",
        bad,
        **{
            **consistency(7, 13),
            "old_size": 13,
            "new_size": 7,
            "old_root": TLOG.root(13).hex(),
            "new_root": TLOG.root(7).hex(),
            "proof": [],
        },
    )
    write(
        "consistency-equal-sizes-other-root",
        "tlog",
        "two different roots for a tree of 13",
        bad,
        **{**consistency(13, 13), "new_root": TLOG.root(12).hex()},
    )
    write(
        "consistency-proof-from-empty",
        "tlog",
        "a hash where the empty tree needs none",
        bad,
        **{**consistency(0, 13), "proof": hexes([TLOG.root(1)])},
    )

    # Tiles of a tree of 300 entries: "kluis tile entry <i>" for i = 0..299.
    tile_entries = [f"kluis tile entry {i}".encode() for i in range(300)]
    tiles_tree = MemoryTree()
    for e in tile_entries:
        tiles_tree.append(e)
    tiles = tiles_for_size(300)
    write(
        "tiles",
        "tlog",
        "the hash tiles and an entry bundle of a tree of 300 entries",
        ok,
        kind="tiles",
        entries=[e.hex() for e in tile_entries],
        size=300,
        root=tiles_tree.root().hex(),
        tiles=[
            {
                "level": t.level,
                "index": t.index,
                "width": t.width,
                "path": t.path,
                "data": tile_data(t, tiles_tree.read).hex(),
            }
            for t in tiles
        ],
        bundle={
            "path": Tile(None, 1, 44).path,
            "data": encode_entry_bundle(tile_entries[256:300]).hex(),
        },
        tiles_of_sizes={
            str(n): [t.path for t in tiles_for_size(n)] for n in (1, 255, 256, 257, 65536)
        },
        paths=[
            {"level": lv, "index": ix, "width": w, "path": Tile(lv, ix, w).path}
            for lv, ix, w in (
                (0, 0, 256),
                (0, 1234067, 256),
                (1, 1234067, 17),
                (2, 1000, 1),
                (63, 999, 255),
                (None, 5, 1),
                (None, 1_000_000, 256),
            )
        ],
    )
    for name, path, what in (
        ("leading-zero-group", "tile/0/x000/001", "a leading 000 group"),
        ("inner-group-without-x", "tile/0/001/002", "an inner group without its x"),
        ("full-width-suffix", "tile/0/001.p/256", "a partial tile of width 256"),
        ("width-leading-zero", "tile/0/001.p/016", "a width with a leading zero"),
        ("level-64", "tile/64/000", "tile level 64"),
    ):
        write(
            f"tile-path-{name}",
            "tlog",
            f"not a canonical tile path: {what}",
            "MalformedError",
            kind="tile-path",
            path=path,
        )


# -- note ------------------------------------------------------------------------------------------
ALICE_KEY = Ed25519Signer("alice.example/key", seed("tlog/note/alice", 32))
BOB_KEY = Ed25519Signer("bob.example/key", seed("tlog/note/bob", 32))
NOTE_TEXT = "Wat je niet weet,\nkun je niet delen.\n"


def note_vectors() -> None:
    spec = (
        "This is an example message.\n\n"
        "\u2014 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1"
        "ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
    ).encode()
    spec_vkey = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"

    def note(
        name: str,
        description: str,
        expect: str,
        data: bytes,
        vkeys: list[str],
        text: str | None = None,
        verified: list[str] | None = None,
    ) -> None:
        fields: dict[str, Any] = {"note": data.hex(), "vkeys": vkeys}
        if expect == "success":
            fields |= {"text": text, "verified": verified}
        write(name, "note", description, expect, **fields)

    note(
        "spec-example",
        "the example of the C2SP signed-note specification",
        "success",
        spec,
        [spec_vkey],
        "This is an example message.\n",
        [spec_vkey],
    )
    both = sign_note(NOTE_TEXT, [ALICE_KEY, BOB_KEY])
    a, b = ALICE_KEY.verifier.vkey, BOB_KEY.verifier.vkey
    note(
        "two-signers",
        "signed by two keys, both trusted",
        "success",
        both,
        [a, b],
        NOTE_TEXT,
        [a, b],
    )
    note(
        "unknown-signer-ignored",
        "signed by two keys, one trusted: the other is ignored",
        "success",
        both,
        [b],
        NOTE_TEXT,
        [b],
    )
    empty_lines = sign_note("first\n\nthird\n", [ALICE_KEY])
    note(
        "text-with-empty-line",
        "the text may hold empty lines; the last one ends it",
        "success",
        empty_lines,
        [a],
        "first\n\nthird\n",
        [a],
    )
    same_name = Signature(ALICE_KEY.name, b"\x00\x00\x00\x00", b"\x00" * 64)
    note(
        "same-name-other-id-ignored",
        "a line with the trusted key's name but another key ID is not the trusted key's",
        "success",
        sign_note(NOTE_TEXT, [ALICE_KEY], existing=[same_name]),
        [a],
        NOTE_TEXT,
        [a],
    )
    note(
        "no-trusted-signature",
        "signed only by a key not trusted",
        "SignatureError",
        both,
        [Ed25519Signer("carol.example/key", seed("tlog/note/carol", 32)).verifier.vkey],
    )
    note(
        "bad-signature",
        "the trusted key's signature has one bit flipped",
        "SignatureError",
        flipped_signature(both, 1),
        [a, b],
    )
    note(
        "bad-signature-untrusted-ignored",
        "an untrusted key's bad signature is ignored; the trusted one verifies",
        "success",
        flipped_signature(both, 1),
        [a],
        NOTE_TEXT,
        [a],
    )
    bad_again = parse_note(flipped_signature(both, 0)).signatures[0]
    twice = Note(NOTE_TEXT, (*parse_note(both).signatures, bad_again)).encode()
    note(
        "second-signature-by-trusted-key-bad",
        "the trusted key signed twice and its second signature fails",
        "SignatureError",
        twice,
        [a],
    )
    note(
        "changed-text",
        "one character of the text changed after signing",
        "SignatureError",
        both.replace(b"delen", b"Delen"),
        [a, b],
    )
    text = NOTE_TEXT.encode()
    one = sign_note(NOTE_TEXT, [ALICE_KEY])
    sig_line = one[len(text) + 1 :]
    mal = "MalformedError"
    note(
        "no-blank-line",
        "the signature follows the text with no blank line",
        mal,
        text + sig_line,
        [a],
    )
    note("no-signature", "a blank line and nothing after it", mal, text + b"\n", [a])
    note("no-final-newline", "the signature line does not end in a newline", mal, one[:-1], [a])
    note(
        "hyphen-not-em-dash",
        "the signature line starts with '-' instead of an em dash",
        mal,
        text + b"\n- " + sig_line[4:],
        [a],
    )
    encoded = sig_line.split(b" ")[-1].rstrip(b"\n")
    note(
        "base64-without-padding",
        "the signature's base64 lacks its padding",
        mal,
        one.replace(encoded, encoded.rstrip(b"=")),
        [a],
    )
    alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    assert encoded.endswith(b"=") and not encoded.endswith(b"==")  # 68 bytes: 2 unused bits
    last = alphabet.index(encoded[-2:-1])
    noncanonical = encoded[:-2] + alphabet[last | 1 : (last | 1) + 1] + b"="
    note(
        "base64-non-canonical",
        "the signature's base64 has non-zero padding bits",
        mal,
        one.replace(encoded, noncanonical),
        [a],
    )
    note(
        "signature-too-short",
        "a signature of only a key ID",
        mal,
        text + b"\n\xe2\x80\x94 alice.example/key " + b64(ALICE_KEY.key_id).encode() + b"\n",
        [a],
    )
    note(
        "name-with-plus", "a key name with '+'", mal, one.replace(b"alice.example", b"alice+x"), [a]
    )
    note("control-character", "a tab in the text", mal, b"a\tb\n\n" + sig_line, [a])
    note("not-utf8", "a byte 0xff in the text", mal, b"\xff\n\n" + sig_line, [a])
    filler = Signature("x", b"\x00" * 4, b"\x00")
    many = one + filler.line.encode() * 100  # one trusted signature and 100 others
    note("too-many-signatures", "101 signature lines", mal, many, [a])


# -- checkpoint ------------------------------------------------------------------------------------
CP_TREE = MemoryTree()
for _e in TLOG_ENTRIES:
    CP_TREE.append(_e)
CP13 = Checkpoint(ORIGIN, 13, CP_TREE.root(13))
CP7 = Checkpoint(ORIGIN, 7, CP_TREE.root(7))


def cosigned(cp: Checkpoint, witnesses: tuple[int, ...] = (0, 1), at: int = NOW - 60) -> bytes:
    return sign_checkpoint(cp, LOG, *(WITNESSES[i].at(at) for i in witnesses))


def log_params() -> dict[str, Any]:
    return {
        "origin": ORIGIN,
        "log_vkey": LOG.verifier.vkey,
        "witness_vkeys": [w.verifier.vkey for w in WITNESSES],
        "quorum": QUORUM,
    }


def cp_json(cp: Checkpoint) -> dict[str, Any]:
    return {"size": cp.size, "root": cp.root.hex()}


def checkpoint_vectors() -> None:
    def cp(
        name: str,
        description: str,
        expect: str,
        note: bytes,
        *,
        previous: Checkpoint | None = CP7,
        proof: list[bytes] | None = None,
        now: int | None = NOW,
        max_age: int | None = 86_400,
    ) -> None:
        if proof is None:
            proof = CP_TREE.consistency_proof(previous.size, 13) if previous else []
        fields: dict[str, Any] = {
            **log_params(),
            "now": now,
            "max_age": max_age,
            "note": note.hex(),
            "previous": cp_json(previous) if previous else None,
            "consistency": hexes(proof),
        }
        if expect == "success":
            opened = Checkpoint.parse(parse_note(note).text)
            verifiers = {w.verifier.key_id: w.verifier for w in WITNESSES}
            fields |= {
                "size": opened.size,
                "root": opened.root.hex(),
                "cosigned": {
                    verifiers[s.key_id].vkey: int.from_bytes(s.signature[:8], "big")
                    for s in parse_note(note).signatures
                    if s.key_id in verifiers and s.name == verifiers[s.key_id].name
                },
            }
        write(name, "checkpoint", description, expect, **fields)

    good = cosigned(CP13)
    cp("success", "13 entries, the log and two of three witnesses, extending 7", "success", good)
    cp(
        "success-first",
        "the first checkpoint a device sees: nothing to extend",
        "success",
        good,
        previous=None,
    )
    cp("success-same", "the checkpoint the device already holds", "success", good, previous=CP13)
    cp(
        "success-three-witnesses",
        "all three witnesses cosigned",
        "success",
        cosigned(CP13, (0, 1, 2)),
    )
    cp(
        "success-no-freshness",
        "old cosignatures count when no maximum age is asked",
        "success",
        cosigned(CP13, at=NOW - 10**6),
        now=None,
        max_age=None,
    )
    with_ext = sign_note(
        CP13.text() + "kluis-extension: opaque\n", [LOG, WITNESSES[0].at(NOW), WITNESSES[1].at(NOW)]
    )
    cp(
        "success-extension-line",
        "an extension line after the root (signed; Kluis writes none)",
        "success",
        with_ext,
    )
    sig = "SignatureError"
    cp(
        "not-signed-by-log",
        "only the witnesses' cosignatures, no log signature",
        sig,
        sign_note(CP13.text(), [WITNESSES[0].at(NOW), WITNESSES[1].at(NOW)]),
    )
    cp(
        "signed-by-other-key",
        "signed by another key under the log's name",
        sig,
        sign_checkpoint(CP13, STRANGER, WITNESSES[0].at(NOW - 60), WITNESSES[1].at(NOW - 60)),
    )
    cp(
        "bad-log-signature",
        "the log's signature has one bit flipped",
        sig,
        flipped_signature(good, 0),
    )
    cp(
        "one-witness",
        "only one of the two witness cosignatures required",
        sig,
        cosigned(CP13, (2,)),
    )
    cp(
        "bad-cosignature",
        "a trusted witness's cosignature has one bit flipped",
        sig,
        flipped_signature(cosigned(CP13, (0, 1, 2)), 3, 20),
    )
    cp(
        "cosignature-time-changed",
        "a cosignature's timestamp changed after signing",
        sig,
        flipped_signature(good, 1, 7),
    )
    note = parse_note(cosigned(CP13, (0,)))
    again = parse_note(sign_note(CP13.text(), [WITNESSES[0].at(NOW - 30)])).signatures[0]
    cp(
        "one-witness-twice",
        "the same witness cosigned twice: it counts once",
        sig,
        Note(note.text, (*note.signatures, again)).encode(),
    )
    cp(
        "stale-cosignature",
        "one of the two cosignatures is older than the maximum age",
        sig,
        sign_checkpoint(CP13, LOG, WITNESSES[0].at(NOW - 60), WITNESSES[1].at(NOW - 86_401)),
    )
    cp(
        "future-cosignature",
        "one of the two cosignatures is dated after now",
        sig,
        sign_checkpoint(CP13, LOG, WITNESSES[0].at(NOW - 60), WITNESSES[1].at(NOW + 3600)),
    )
    other_origin = Checkpoint("kluis.example/other", 13, CP13.root)
    cp(
        "other-origin",
        "signed by the log's key, but naming another origin",
        "IntegrityError",
        sign_note(other_origin.text(), [LOG, WITNESSES[0].at(NOW), WITNESSES[1].at(NOW)]),
    )
    cp(
        "empty-tree-with-root",
        "size 0 with a root other than the empty tree's",
        "IntegrityError",
        cosigned(Checkpoint(ORIGIN, 0, CP_TREE.root(1))),
        previous=None,
    )
    mal = "MalformedError"

    def signed_text(text: str) -> bytes:
        return sign_note(text, [LOG, WITNESSES[0].at(NOW), WITNESSES[1].at(NOW)])

    root = b64(CP13.root)
    cp("two-lines", "a signed text of only origin and size", mal, signed_text(f"{ORIGIN}\n13\n"))
    cp("size-leading-zero", "the size written 013", mal, signed_text(f"{ORIGIN}\n013\n{root}\n"))
    cp(
        "root-31-bytes",
        "a root hash of 31 bytes",
        mal,
        signed_text(f"{ORIGIN}\n13\n{b64(CP13.root[:31])}\n"),
    )
    cp(
        "empty-extension-line",
        "an empty line after the root",
        mal,
        signed_text(f"{ORIGIN}\n13\n{root}\n\n"),
    )
    cp(
        "rollback",
        "a checkpoint of 7 entries after one of 13 was seen",
        "RollbackError",
        cosigned(CP7),
        previous=CP13,
        proof=[],
    )
    forked = Checkpoint(ORIGIN, 13, CP_TREE.root(12))
    cp(
        "fork-same-size",
        "another root for the 13 entries the device saw",
        "IntegrityError",
        cosigned(forked),
        previous=CP13,
        proof=[],
    )
    cp(
        "bad-consistency-proof",
        "the consistency proof from 7 has a flipped hash",
        "IntegrityError",
        good,
        proof=[flip(CP_TREE.consistency_proof(7, 13)[0], 0), *CP_TREE.consistency_proof(7, 13)[1:]],
    )
    cp(
        "missing-consistency-proof",
        "no consistency proof from 7 to 13",
        "IntegrityError",
        good,
        proof=[],
    )


# -- vrf -------------------------------------------------------------------------------------------
RFC_9381_B3 = [
    ("example16", "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", ""),
    ("example17", "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb", "72"),
    ("example18", "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7", "af82"),
]


def vrf_vectors() -> None:
    def vector(
        scenario: str,
        description: str,
        expect: str,
        public: bytes,
        alpha: bytes,
        pi: bytes,
        secret: bytes | None = None,
        **extra: Any,
    ) -> None:
        fields: dict[str, Any] = {"public_key": public.hex(), "alpha": alpha.hex(), "pi": pi.hex()}
        if expect == "success":
            fields |= {
                "secret_key": secret.hex() if secret else None,
                "beta": vrf.verify(public, alpha, pi).hex(),
                **extra,
            }
        write(scenario, "vrf", description, expect, **fields)

    for name, sk_hex, alpha_hex in RFC_9381_B3:
        sk, alpha = bytes.fromhex(sk_hex), bytes.fromhex(alpha_hex)
        vector(
            f"rfc9381-{name}",
            f"RFC 9381 Appendix B.3, {name.replace('example', 'example ')}",
            "success",
            vrf.public_key(sk),
            alpha,
            vrf.prove(sk, alpha),
            sk,
        )
    alpha = label_input(Namespace.USER, "alice")
    pi = vrf.prove(VRF_SECRET, alpha)
    vector(
        "label-alice",
        "the Kluis label of the user alice",
        "success",
        VRF_KEY,
        alpha,
        pi,
        VRF_SECRET,
        namespace=1,
        name="alice",
        label=vrf.proof_to_hash(pi)[:32].hex(),
    )
    org_alpha = label_input(Namespace.ORGANISATION, "ncg")
    org_pi = vrf.prove(VRF_SECRET, org_alpha)
    vector(
        "label-ncg",
        "the Kluis label of the organisation ncg",
        "success",
        VRF_KEY,
        org_alpha,
        org_pi,
        VRF_SECRET,
        namespace=2,
        name="ncg",
        label=vrf.proof_to_hash(org_pi)[:32].hex(),
    )
    sig, mal = "SignatureError", "MalformedError"
    vector("flipped-c", "one bit of c flipped", sig, VRF_KEY, alpha, flip(pi, 40))
    vector("flipped-s", "one bit of s flipped", sig, VRF_KEY, alpha, flip(pi, 60))
    vector(
        "other-input",
        "alice's proof for the input of 'alicia'",
        sig,
        VRF_KEY,
        label_input(Namespace.USER, "alicia"),
        pi,
    )
    vector(
        "other-namespace",
        "alice's user proof for the organisation alice",
        sig,
        VRF_KEY,
        label_input(Namespace.ORGANISATION, "alice"),
        pi,
    )
    vector(
        "other-key",
        "a proof checked under another VRF key",
        sig,
        vrf.public_key(seed("tlog/other-vrf-key", 32)),
        alpha,
        pi,
    )
    t8 = bytes.fromhex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05")
    mauled = nacl.bindings.crypto_core_ed25519_add(pi[:32], t8) + pi[32:]
    vector(
        "gamma-with-torsion",
        "Gamma plus a point of order 8 (same output, proof refused)",
        sig,
        VRF_KEY,
        alpha,
        mauled,
    )
    s = int.from_bytes(pi[48:], "little") + vrf.Q
    vector(
        "unreduced-s",
        "s + q in place of s",
        mal,
        VRF_KEY,
        alpha,
        pi[:48] + s.to_bytes(32, "little"),
    )
    vector(
        "gamma-not-a-point",
        "a Gamma with no x on the curve (y = 2)",
        mal,
        VRF_KEY,
        alpha,
        bytes([2] + [0] * 31) + pi[32:],
    )
    vector(
        "gamma-non-canonical",
        "Gamma encoded with y = p",
        mal,
        VRF_KEY,
        alpha,
        ((1 << 255) - 19).to_bytes(32, "little") + pi[32:],
    )
    vector("short-proof", "79 bytes", mal, VRF_KEY, alpha, pi[:79])
    vector("small-order-key", "a public key of order 8", mal, t8, alpha, pi)
    vector("identity-key", "the identity as public key", mal, bytes([1] + [0] * 31), alpha, pi)


# -- logentry and operator -------------------------------------------------------------------------
OPERATOR_RECORD = make_operator_key(OPERATOR_SEED, origin=ORIGIN, key_version=1, created_at=NOW)
ORG = OrgKeys.decode(RECORD1)
F_ORG = organisation_fingerprint_digest(
    ORG.org_id, ORG.kind, ORG.name, ORG.identity.signing_key, ORG.identity.box_key
)[:32]


def statement(**changes: Any) -> bytes:
    fields: dict[str, Any] = {
        "origin": ORIGIN,
        "org_id": ORG.org_id,
        "org_fingerprint": F_ORG,
        "status": Status.VERIFIED,
        "stated_at": NOW,
    }
    fields.update(changes)
    seed_ = fields.pop("seed", OPERATOR_SEED)
    return make_statement(seed_, **fields)


STATEMENT = statement()
ALICE_LABEL, ALICE_PROOF = prove_label(VRF_SECRET, Namespace.USER, "alice")
BOB_LABEL, BOB_PROOF = prove_label(VRF_SECRET, Namespace.USER, "bob")
NCG_LABEL, NCG_PROOF = prove_label(VRF_SECRET, Namespace.ORGANISATION, "ncg")
LOG_ENTRIES = [
    LogEntry.operator_key(OPERATOR_RECORD),
    LogEntry.identity(BOB_LABEL, 1, BOB.public.encode()),
    LogEntry.identity(ALICE_LABEL, 1, ALICE.public.encode()),
    LogEntry.organisation(NCG_LABEL, 1, RECORD1),
    LogEntry.verification(NCG_LABEL, STATEMENT),
    LogEntry.organisation(NCG_LABEL, 2, RECORD2),
    LogEntry.identity(ALICE_LABEL, 2, ALICE2.public.encode()),
]


def logentry_vectors() -> None:
    def entry(
        name: str, description: str, expect: str, data: bytes, success: dict[str, Any] | None = None
    ) -> None:
        write(
            name,
            "logentry",
            description,
            expect,
            entry=data.hex(),
            **(success if expect == "success" else {}),
        )

    identity = LOG_ENTRIES[6]
    entry(
        "identity",
        "alice's second identity record",
        "success",
        identity.encode(),
        {
            "kind": 1,
            "label": ALICE_LABEL.hex(),
            "version": 2,
            "record": ALICE2.public.encode().hex(),
            "record_hash": (identity.digest or b"").hex(),
        },
    )
    entry(
        "organisation",
        "epoch 2 of the organisation ncg",
        "success",
        LOG_ENTRIES[5].encode(),
        {
            "kind": 2,
            "label": NCG_LABEL.hex(),
            "version": 2,
            "record": RECORD2.hex(),
            "record_hash": (LOG_ENTRIES[5].digest or b"").hex(),
        },
    )
    key = LOG_ENTRIES[0]
    entry(
        "operator-key",
        "the operator's key, logged whole",
        "success",
        key.encode(),
        {
            "kind": 3,
            "record": OPERATOR_RECORD.hex(),
            "origin": ORIGIN,
            "key_version": 1,
            "signing_key": OperatorKey.decode(OPERATOR_RECORD).signing_key.hex(),
            "created_at": NOW,
        },
    )
    entry(
        "verification",
        "the operator's statement that it verified ncg",
        "success",
        LOG_ENTRIES[4].encode(),
        {
            "kind": 4,
            "label": NCG_LABEL.hex(),
            "record": STATEMENT.hex(),
            "record_hash": (LOG_ENTRIES[4].digest or b"").hex(),
        },
    )
    good = identity.encode()
    mal = "MalformedError"
    entry("wrong-magic", "magic KLKX", mal, b"KLKX" + good[4:])
    entry("wrong-version", "format version 2", mal, good[:4] + b"\x02" + good[5:])
    entry("unknown-kind", "kind 5", mal, good[:5] + b"\x05" + good[6:])
    entry("kind-zero", "kind 0", mal, good[:5] + b"\x00" + good[6:])
    entry("version-zero", "key version 0", mal, good[:38] + b"\x00\x00\x00\x00" + good[42:])
    entry("trailing-byte", "one byte after the record hash", mal, good + b"\x00")
    entry("truncated", "the last byte of the record hash missing", mal, good[:-1])
    entry(
        "kind-4-with-version",
        "a verification entry with a version field",
        mal,
        good[:5] + b"\x04" + good[6:],
    )
    bad_key = OPERATOR_RECORD[:-1] + bytes([OPERATOR_RECORD[-1] ^ 1])
    entry(
        "operator-key-bad-signature",
        "the operator key's self-signature has a bit flipped",
        "SignatureError",
        good[:5] + b"\x03" + len(bad_key).to_bytes(4, "big") + bad_key,
    )
    key = OperatorKey.decode(OPERATOR_RECORD)
    zero_version = resign(
        dataclasses.replace(key, key_version=0).body(), labels.OPERATOR_KEY_SIGNATURE
    )
    entry(
        "operator-key-version-zero",
        "an operator key of key version 0, re-signed",
        mal,
        good[:5] + b"\x03" + len(zero_version).to_bytes(4, "big") + zero_version,
    )

    def op(name: str, description: str, expect: str, data: bytes, **over: Any) -> None:
        fields = {
            "statement": data.hex(),
            "operator_key": OPERATOR_RECORD.hex(),
            "org_id": ORG.org_id.hex(),
            "org_fingerprint": F_ORG.hex(),
            **over,
        }
        if expect == "success":
            fields |= {
                "status": data[-64 - 8 - 1],
                "stated_at": int.from_bytes(data[-72:-64], "big"),
            }
        write(name, "operator", description, expect, **fields)

    op("verified", "ncg verified, signed by the logged operator key", "success", STATEMENT)
    op(
        "withdrawn",
        "the verification of ncg withdrawn",
        "success",
        statement(status=Status.WITHDRAWN, stated_at=NOW + 86_400),
    )
    op(
        "other-deployment",
        "a statement made for another log's origin",
        "IntegrityError",
        statement(origin="other.example/log"),
    )
    op(
        "other-operator-key",
        "signed by another key that names itself",
        "KeyMismatchError",
        statement(seed=seed("tlog/other-operator", 32)),
    )
    op(
        "bad-signature",
        "the signature has one bit flipped",
        "SignatureError",
        flip(STATEMENT, len(STATEMENT) - 1),
    )
    op(
        "other-organisation",
        "about another organisation id",
        "IntegrityError",
        statement(org_id=bytes(16)),
    )
    op(
        "other-fingerprint",
        "the operator vouched for other keys",
        "KeyMismatchError",
        statement(org_fingerprint=bytes(32)),
    )
    body = dataclasses.replace(OperatorStatement.decode(STATEMENT), status=3).body()  # type: ignore[arg-type]
    unknown = resign(body, labels.OPERATOR_VERIFICATION_SIGNATURE)
    op("unknown-status", "status 3, re-signed", "MalformedError", unknown)
    op("trailing-byte", "a byte after the signature", "MalformedError", STATEMENT + b"\x00")


# -- ktlookup --------------------------------------------------------------------------------------
KT = MemoryTree()
for _entry in LOG_ENTRIES:
    KT.append(_entry.encode())
KT_OLD = Checkpoint(ORIGIN, 3, KT.root(3))
KT_NOW = Checkpoint(ORIGIN, KT.size, KT.root())


def ktlookup_vectors() -> None:
    def answer(**changes: Any) -> dict[str, Any]:
        fields: dict[str, Any] = {
            **log_params(),
            "vrf_key": VRF_KEY.hex(),
            "now": NOW,
            "max_age": 86_400,
            "previous": cp_json(KT_OLD),
            "checkpoint": cosigned(KT_NOW).hex(),
            "consistency": hexes(KT.consistency_proof(3)),
            "namespace": 1,
            "name": "alice",
            "label_proof": ALICE_PROOF.hex(),
            "record": ALICE2.public.encode().hex(),
            "index": 6,
            "inclusion": hexes(KT.inclusion_proof(6)),
        }
        fields.update(changes)
        return fields

    def look(name: str, description: str, expect: str, fields: dict[str, Any]) -> None:
        if expect == "success":
            index = fields["index"]
            fields = {
                **fields,
                "label": (LOG_ENTRIES[index].label or b"").hex(),
                "entry": LOG_ENTRIES[index].encode().hex(),
                "size": KT.size,
                "root": KT.root().hex(),
            }
        write(name, "ktlookup", description, expect, **fields)

    look("success", "alice's current keys, on a device that saw 3 entries", "success", answer())
    look(
        "success-first-lookup",
        "a device that never saw a checkpoint",
        "success",
        answer(previous=None, consistency=[]),
    )
    look(
        "success-organisation",
        "epoch 2 of the organisation ncg",
        "success",
        answer(
            namespace=2,
            name="ncg",
            label_proof=NCG_PROOF.hex(),
            record=RECORD2.hex(),
            index=5,
            inclusion=hexes(KT.inclusion_proof(5)),
        ),
    )
    look(
        "keys-not-logged",
        "a valid identity record for alice that the log does not hold (S22)",
        "IntegrityError",
        answer(record=MALLORY_AS_ALICE.public.encode().hex()),
    )
    look(
        "other-users-record",
        "bob's logged record as the answer for alice",
        "KeyMismatchError",
        answer(record=BOB.public.encode().hex(), index=1, inclusion=hexes(KT.inclusion_proof(1))),
    )
    look(
        "label-proof-of-other-name",
        "bob's label proof for alice",
        "SignatureError",
        answer(label_proof=BOB_PROOF.hex()),
    )
    look(
        "label-proof-malformed",
        "a label proof of 79 bytes",
        "MalformedError",
        answer(label_proof=ALICE_PROOF[:79].hex()),
    )
    record = ALICE2.public.encode()
    look(
        "record-bad-signature",
        "alice's record with its self-signature's last bit flipped",
        "SignatureError",
        answer(record=flip(record, len(record) - 1).hex()),
    )
    look("wrong-index", "entry 6's proof presented for index 5", "IntegrityError", answer(index=5))
    proof = KT.inclusion_proof(6)
    look(
        "inclusion-flipped",
        "the inclusion proof's first hash has a bit flipped",
        "IntegrityError",
        answer(inclusion=hexes([flip(proof[0], 0), *proof[1:]])),
    )
    look(
        "checkpoint-one-witness",
        "the checkpoint has one of the two cosignatures required",
        "SignatureError",
        answer(checkpoint=cosigned(KT_NOW, (2,)).hex()),
    )
    look(
        "checkpoint-other-key",
        "the checkpoint is signed by another key under the log's name",
        "SignatureError",
        answer(
            checkpoint=sign_checkpoint(
                KT_NOW, STRANGER, WITNESSES[0].at(NOW), WITNESSES[1].at(NOW)
            ).hex()
        ),
    )
    look(
        "checkpoint-stale",
        "the cosignatures are older than the maximum age",
        "SignatureError",
        answer(checkpoint=cosigned(KT_NOW, at=NOW - 90_000).hex()),
    )
    look(
        "rollback",
        "a checkpoint of 3 entries on a device that saw 7",
        "RollbackError",
        answer(
            previous=cp_json(KT_NOW),
            checkpoint=cosigned(KT_OLD).hex(),
            consistency=[],
            record=ALICE.public.encode().hex(),
            index=2,
            inclusion=hexes(KT.inclusion_proof(2, 3)),
        ),
    )
    fork = MemoryTree()
    forged_entries = [
        *LOG_ENTRIES[:6],
        LogEntry.identity(ALICE_LABEL, 2, MALLORY_AS_ALICE.public.encode()),
    ]
    for e in forged_entries:
        fork.append(e.encode())
    look(
        "fork",
        "another tree of 7 entries with other keys for alice, on a device that saw the real one",
        "IntegrityError",
        answer(
            previous=cp_json(KT_NOW),
            consistency=[],
            checkpoint=cosigned(Checkpoint(ORIGIN, 7, fork.root())).hex(),
            record=MALLORY_AS_ALICE.public.encode().hex(),
            inclusion=hexes(fork.inclusion_proof(6)),
        ),
    )
    look(
        "bad-consistency",
        "the consistency proof from 3 has a flipped hash",
        "IntegrityError",
        answer(
            consistency=hexes([flip(KT.consistency_proof(3)[0], 5), *KT.consistency_proof(3)[1:]])
        ),
    )


def main() -> None:
    for prefix in PREFIXES:
        for old in OUT.glob(f"{prefix}-*.json"):
            old.unlink()
    tlog_vectors()
    note_vectors()
    checkpoint_vectors()
    vrf_vectors()
    logentry_vectors()
    ktlookup_vectors()
    assert MemoryTree().root() == EMPTY_ROOT


if __name__ == "__main__":
    main()
