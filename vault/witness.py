"""The messages of C2SP tlog-witness `add-checkpoint` (docs/format.md section 17.5): how a log
asks a witness to cosign, and how it reads the answer. Only the bytes; the HTTP exchange, the
witness's stored state and its checks belong to the server and the witness process.

    request  = "old " <size> "\\n"  (decimal, no leading zeros)
               <base64 hash> "\\n"   (0 to 63 lines: a consistency proof from <size>)
               "\\n"
               <checkpoint, a signed note>
    response = one or more note signature lines, "— <name> <base64>\\n", the cosignatures
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from .errors import MalformedError
from .note import MAX_NOTE_SIZE, Note, Signature, b64decode, parse_note
from .tlog import HASH_SIZE, MAX_PROOF_HASHES, MAX_TREE_SIZE

__all__ = [
    "AddCheckpoint",
    "add_cosignatures",
    "parse_add_checkpoint",
    "parse_cosignature_lines",
]

_OLD: Final = re.compile(r"old (0|[1-9][0-9]{0,18})")


@dataclass(frozen=True)
class AddCheckpoint:
    """An add-checkpoint request: the size the log believes the witness holds, the consistency
    proof from it to the checkpoint, and the signed checkpoint itself."""

    old_size: int
    proof: tuple[bytes, ...]
    checkpoint: bytes

    def encode(self) -> bytes:
        if isinstance(self.old_size, bool) or not 0 <= self.old_size <= MAX_TREE_SIZE:
            raise ValueError("the old size is from 0 to 2**63 - 1")
        if len(self.proof) > MAX_PROOF_HASHES or any(len(h) != HASH_SIZE for h in self.proof):
            raise ValueError("a consistency proof is at most 63 hashes of 32 bytes")
        lines = [f"old {self.old_size}", *(base64.b64encode(h).decode("ascii") for h in self.proof)]
        return ("\n".join(lines) + "\n\n").encode("ascii") + self.checkpoint


def parse_add_checkpoint(body: bytes) -> AddCheckpoint:
    """Parse a request (MalformedError: the witness answers 400). The checkpoint is returned
    as bytes, for the witness to open with the log's key (`vault.checkpoint.open_checkpoint`)."""
    if not isinstance(body, bytes) or len(body) > MAX_NOTE_SIZE + 64 * (MAX_PROOF_HASHES + 1):
        raise MalformedError("add-checkpoint: not a request")
    head, sep, checkpoint = body.partition(b"\n\n")
    if not sep:
        raise MalformedError("add-checkpoint: no blank line before the checkpoint")
    try:
        lines = head.decode("ascii").split("\n")
    except UnicodeDecodeError as exc:
        raise MalformedError("add-checkpoint: the header is not ASCII") from exc
    m = _OLD.fullmatch(lines[0])
    if m is None or int(m.group(1)) > MAX_TREE_SIZE:
        raise MalformedError("add-checkpoint: the first line is 'old <size>'")
    if len(lines) - 1 > MAX_PROOF_HASHES:
        raise MalformedError("add-checkpoint: more than 63 proof lines")
    proof = []
    for line in lines[1:]:
        h = b64decode(line, "add-checkpoint proof line")
        if len(h) != HASH_SIZE:
            raise MalformedError("add-checkpoint: a proof line is a 32-byte hash")
        proof.append(h)
    return AddCheckpoint(int(m.group(1)), tuple(proof), checkpoint)


def parse_cosignature_lines(body: bytes) -> list[Signature]:
    """The signature lines of a witness's 200 answer (MalformedError if it is not one or more
    well-formed lines). Which of them count is decided by opening the checkpoint with them."""
    if not isinstance(body, bytes) or not body:
        raise MalformedError("add-checkpoint response: empty")
    # parse them as the signature block of a note with a placeholder text
    return list(parse_note(b"x\n\n" + body).signatures)


def add_cosignatures(checkpoint: bytes, cosignatures: Sequence[Signature]) -> bytes:
    """The checkpoint with `cosignatures` appended after its own lines (those already present
    are not repeated)."""
    note = parse_note(checkpoint)
    have = set(note.signatures)
    extra = tuple(s for s in cosignatures if s not in have)
    return Note(note.text, (*note.signatures, *extra)).encode()
