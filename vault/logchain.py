"""The hash chain of a dossier's access log (docs/format.md section 16).

The server writes the log and the client checks it, so the rule that links the entries lives
here once, for both: a second copy on either side could drift and make every honest log look
tampered with (or, worse, a tampered one look honest).

    hash = SHA-256(prev_hash || canonical_json(entry's ENTRY_FIELDS)), lowercase hex

where prev_hash is the previous entry's hash (64 zeros before the first entry) and canonical
JSON sorts the keys, uses "," and ":" without spaces, writes non-ASCII characters as UTF-8
rather than escapes, and writes a missing field as null.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Final, Literal

from .errors import IntegrityError, MalformedError

__all__ = ["ENTRY_FIELDS", "GENESIS_HASH", "Action", "entry_hash", "verify_chain"]

GENESIS_HASH: Final = "0" * 64
Action = Literal["upload", "download", "share", "revoke"]  # what an entry records
ENTRY_FIELDS: Final = ("seq", "at", "actor_id", "action", "document_id", "version", "subject_id")


def entry_hash(prev_hash: str, entry: Mapping[str, object]) -> str:
    """Return the hash of `entry` linked to `prev_hash` (both lowercase hex)."""
    body = {name: entry.get(name) for name in ENTRY_FIELDS}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(bytes.fromhex(prev_hash) + canonical.encode("utf-8")).hexdigest()


def verify_chain(entries: Sequence[object]) -> None:
    """Check that `entries` are the log from its first entry on, each linked to the one before.

    Raises `MalformedError` for an entry that lacks a field or has one of the wrong type, and
    `IntegrityError` for an entry out of place (its `seq` is not its 1-based position) or whose
    `prev_hash` or `hash` does not follow from the entries before it.
    """
    prev = GENESIS_HASH
    for position, entry in enumerate(entries, start=1):
        if not isinstance(entry, Mapping):
            raise MalformedError(f"access log: entry {position} is malformed")
        seq, prev_hash, this_hash = entry.get("seq"), entry.get("prev_hash"), entry.get("hash")
        if isinstance(seq, bool) or not isinstance(seq, int) or not isinstance(prev_hash, str):
            raise MalformedError(f"access log: entry {position} is malformed")
        if not isinstance(this_hash, str):
            raise MalformedError(f"access log: entry {position} is malformed")
        if seq != position:
            raise IntegrityError(f"access log: entry {position} is missing or out of order")
        try:
            expected = entry_hash(prev, entry)
        except (TypeError, ValueError) as exc:  # a field JSON cannot carry
            raise MalformedError(f"access log: entry {position} is malformed") from exc
        if prev_hash != prev or this_hash != expected:
            raise IntegrityError(f"access log: entry {position} was altered")
        prev = this_hash
