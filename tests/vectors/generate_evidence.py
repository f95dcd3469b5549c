"""Write the test vectors of docs/format.md section 20 (evidence: a version's commitment in the
log) into tests/vectors/, one JSON file per scenario, structure `evidence`.

Run by hand, never by the tests:  .venv/bin/python tests/vectors/generate_evidence.py
Every input is fixed, so running it again writes the same bytes. Fields are described in
tests/vectors/README.md. The log, its key, its witnesses and quorum are those of the section 17
vectors (generate_tlog.py).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

# Run as a script from the repository root: tests/vectors is on sys.path.
from generate_structures import seed  # type: ignore[import-not-found]
from generate_tlog import LOG, NOW, ORIGIN, WITNESSES, log_params  # type: ignore[import-not-found]

from vault.checkpoint import Checkpoint, sign_checkpoint
from vault.evidence import commitment, commitment_entry, evidence_salt
from vault.logentry import LogEntry
from vault.note import Ed25519Signer, sign_note
from vault.tlog import MemoryTree

OUT = Path(__file__).resolve().parent

FILE = b"foto van de scheur in de keukenmuur, 3 december\n" * 3
FILE_KEY = seed("evidence/file-key", 32)
DOSSIER_ID = seed("evidence/dossier", 16)
DOCUMENT_ID = seed("evidence/document", 16)
VERSION = 2
FILE_HASH = hashlib.sha256(FILE).digest()
SALT = evidence_salt(FILE_KEY, DOSSIER_ID, DOCUMENT_ID, VERSION)
ENTRY = commitment_entry(SALT, FILE_HASH)
INDEX = 5
SIZE = 9
# Witness a cosigned at NOW - 300, b at NOW - 120, c at NOW - 60: the quorum of 2 vouches for
# NOW - 120, the second earliest.
TIMES = (NOW - 300, NOW - 120, NOW - 60)


def tree(entry: bytes, size: int = SIZE, index: int = INDEX, tag: str = "") -> MemoryTree:
    t = MemoryTree()
    for i in range(size):
        t.append(entry if i == index else b"other entry " + tag.encode() + bytes([i]))
    return t


TREE = tree(ENTRY)
CP = Checkpoint(ORIGIN, SIZE, TREE.root())


def cosigned(cp: Checkpoint, witnesses: tuple[int, ...] = (0, 1, 2)) -> str:
    return sign_checkpoint(cp, LOG, *(WITNESSES[i].at(TIMES[i]) for i in witnesses)).decode()


def write(scenario: str, description: str, expect: str, **changes: Any) -> None:
    fields: dict[str, Any] = {
        "file": FILE.hex(),
        "file_key": FILE_KEY.hex(),
        "dossier_id": DOSSIER_ID.hex(),
        "document_id": DOCUMENT_ID.hex(),
        "version": VERSION,
        "entry": ENTRY.hex(),
        "index": INDEX,
        "inclusion": [h.hex() for h in TREE.inclusion_proof(INDEX)],
        "checkpoint": cosigned(CP),
        "log": log_params(),
    }
    fields.update(changes)
    if expect == "success":
        fields.setdefault("file_hash", FILE_HASH.hex())
        fields.setdefault("salt", SALT.hex())
        fields.setdefault("commitment", commitment(SALT, FILE_HASH).hex())
        fields.setdefault("existed_by", TIMES[1])
    doc = {"structure": "evidence", "description": description, "expect": expect, **fields}
    (OUT / f"evidence-{scenario}.json").write_text(json.dumps(doc, indent=2) + "\n")


def main() -> None:
    write("success", "version 2 of a photo, cosigned by all three witnesses", "success")
    write(
        "success-log-only",
        "a reader that trusts the log alone (quorum 0): no time is vouched for",
        "success",
        log={**log_params(), "quorum": 0},
        existed_by=None,
    )
    write(
        "success-first-of-two",
        "witnesses a and b cosigned: the quorum's time is b's",
        "success",
        checkpoint=cosigned(CP, (0, 1)),
    )
    flipped = bytearray(FILE)
    flipped[7] ^= 0x01
    write(
        "changed-byte", "one bit of the file flipped", "IntegrityError", file=bytes(flipped).hex()
    )
    write(
        "other-salt",
        "the salt of version 1 of the same document (the reader derives it from version 1)",
        "IntegrityError",
        version=1,
    )
    other = tree(ENTRY, tag="another")
    write(
        "other-checkpoint",
        "the inclusion proof of another tree than the checkpoint's",
        "IntegrityError",
        inclusion=[h.hex() for h in other.inclusion_proof(INDEX)],
        checkpoint=cosigned(Checkpoint(ORIGIN, SIZE, TREE.root())),
        index=INDEX,
    )
    write(
        "proof-for-other-size",
        "a checkpoint of 8 entries with the proof of the tree of 9",
        "IntegrityError",
        checkpoint=cosigned(Checkpoint(ORIGIN, 8, TREE.root(8))),
    )
    write("wrong-index", "the entry claimed at index 4", "IntegrityError", index=4)
    write(
        "one-witness",
        "only witness a cosigned; the quorum is 2",
        "SignatureError",
        checkpoint=cosigned(CP, (0,)),
    )
    write(
        "not-signed-by-log",
        "the checkpoint carries the witnesses' cosignatures but not the log's signature",
        "SignatureError",
        checkpoint=sign_checkpoint_without_log(CP),
    )
    write(
        "entry-version-1",
        "the commitment written as LogEntry format version 1",
        "MalformedError",
        entry=(ENTRY[:4] + b"\x01" + ENTRY[5:]).hex(),
    )
    identity_like = LogEntry.verification(bytes(32), b"a statement").encode()
    write(
        "not-a-commitment",
        "an entry of kind 4 where the commitment should be",
        "MalformedError",
        entry=identity_like.hex(),
    )
    write(
        "entry-truncated",
        "the commitment's last byte missing",
        "MalformedError",
        entry=ENTRY[:-1].hex(),
    )


def sign_checkpoint_without_log(cp: Checkpoint) -> str:
    """The checkpoint's text with only witness cosignatures (a log key by another name signs
    first, since a note needs at least one signature and its verifier ignores unknown keys)."""
    stranger = Ed25519Signer("stranger.example/log", seed("evidence/stranger", 32))
    signers = [stranger, *(WITNESSES[i].at(TIMES[i]) for i in (0, 1, 2))]
    return sign_note(cp.text(), signers).decode()


if __name__ == "__main__":
    main()
