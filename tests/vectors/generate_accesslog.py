"""Write the test vectors of docs/format.md section 16 (the access-log chain) into tests/vectors/.

Run by hand, never by the tests:  .venv/bin/python tests/vectors/generate_accesslog.py
Every input is fixed, so running it again writes the same bytes. Fields are described in
tests/vectors/README.md.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from vault.logchain import GENESIS_HASH, entry_hash

OUT = Path(__file__).resolve().parent
ALICE = "a11ce000000000000000000000000001"
BOB = "b0b00000000000000000000000000002"
DOCUMENT = "d0c00000000000000000000000000a0a"

EVENTS: list[dict[str, Any]] = [
    {"at": 1764000000, "actor_id": ALICE, "action": "upload", "document_id": DOCUMENT,
     "version": 1, "subject_id": None},
    {"at": 1764000060, "actor_id": ALICE, "action": "share", "document_id": None,
     "version": None, "subject_id": BOB},
    {"at": 1764003600, "actor_id": BOB, "action": "download", "document_id": DOCUMENT,
     "version": 1, "subject_id": None},
]  # fmt: skip


def chain(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    entries, prev = [], GENESIS_HASH
    for seq, event in enumerate(events, start=1):
        entry = {"seq": seq, **event, "prev_hash": prev}
        entry["hash"] = prev = entry_hash(prev, entry)
        entries.append(entry)
    return entries


def write(name: str, description: str, expect: str, entries: list[dict[str, Any]]) -> None:
    doc = {"structure": "accesslog", "description": description, "expect": expect}
    (OUT / f"accesslog-{name}.json").write_text(
        json.dumps({**doc, "entries": entries}, indent=2) + "\n"
    )


def main() -> None:
    for old in OUT.glob("accesslog-*.json"):
        old.unlink()
    good = chain(EVENTS)
    write("chain", "three linked entries: upload, share, download", "success", good)

    altered = copy.deepcopy(good)
    altered[2]["action"] = "upload"  # the download relabelled, its hash left as it was
    write(
        "altered-entry", "entry 3's action changed after it was hashed", "IntegrityError", altered
    )

    relinked = copy.deepcopy(good)
    relinked[1]["subject_id"] = ALICE
    relinked[1]["hash"] = entry_hash(relinked[1]["prev_hash"], relinked[1])
    write(
        "rehashed-middle",
        "entry 2 altered and re-hashed, entry 3 still links to the original",
        "IntegrityError",
        relinked,
    )

    write(
        "missing-entry",
        "entry 2 dropped: entry 3 follows entry 1",
        "IntegrityError",
        [good[0], good[2]],
    )

    renumbered = chain(EVENTS[:1] + EVENTS[2:])
    renumbered[1]["seq"] = 3
    renumbered[1]["hash"] = entry_hash(renumbered[1]["prev_hash"], renumbered[1])
    write(
        "gap",
        "entry 2 dropped and entry 3 re-linked to entry 1, keeping its number",
        "IntegrityError",
        renumbered,
    )

    malformed = copy.deepcopy(good)
    malformed[0]["seq"] = "1"
    write("malformed-seq", "entry 1's seq is a string", "MalformedError", malformed)


if __name__ == "__main__":
    main()
