"""Checkpoints of the key transparency log (C2SP tlog-checkpoint v1; docs/format.md section 17.3).

A checkpoint is a signed note whose text is exactly

    <origin>\\n            the log's identity, for Kluis "<deployment host>/log"
    <tree size>\\n         decimal, no leading zeros ("0" for the empty tree)
    <root hash>\\n         base64 of the 32-byte RFC 6962 root of the tree of that size
    [<extension line>\\n]  optional, non-empty; Kluis logs write none

signed by the log's Ed25519 key, whose key name is the origin, and cosigned by witnesses
(`vault.cosignature`). A client trusts a checkpoint only after `open_checkpoint` (log signature,
text, origin, witness quorum, in that order), and moves to a newer one only after
`check_extension` proved the newer tree extends the one it holds (consistency proof).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from .cosignature import WitnessPolicy
from .errors import IntegrityError, MalformedError, RollbackError, SignatureError
from .note import Ed25519Verifier, Signer, b64decode, open_note, sign_note
from .tlog import EMPTY_ROOT, HASH_SIZE, MAX_TREE_SIZE, verify_consistency

__all__ = [
    "Checkpoint",
    "TrustedLog",
    "VerifiedCheckpoint",
    "check_extension",
    "kluis_origin",
    "open_checkpoint",
    "sign_checkpoint",
]

ORIGIN_SUFFIX: Final = "/log"
# A deployment host as Kluis writes it: a lower-case DNS name, optionally with a port.
_LABEL: Final = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST: Final = re.compile(rf"{_LABEL}(?:\.{_LABEL})*(?::[1-9][0-9]{{0,4}})?")
MAX_HOST: Final = 253
_SIZE: Final = re.compile(r"0|[1-9][0-9]*")
MAX_LINE: Final = 1024


def kluis_origin(host: str) -> str:
    """The origin (and log key name) of a Kluis deployment's log: "<host>/log"."""
    if not isinstance(host, str) or len(host) > MAX_HOST or not _HOST.fullmatch(host):
        raise ValueError(f"not a lower-case host name: {host!r}")
    return host + ORIGIN_SUFFIX


@dataclass(frozen=True)
class Checkpoint:
    """The text of a checkpoint: which log, how many entries, and their root."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_line(self.origin, "origin")
        if isinstance(self.size, bool) or not 0 <= self.size <= MAX_TREE_SIZE:
            raise MalformedError("checkpoint: the tree size is from 0 to 2**63 - 1")
        if not isinstance(self.root, bytes) or len(self.root) != HASH_SIZE:
            raise MalformedError("checkpoint: the root hash is 32 bytes")
        for line in self.extensions:
            _check_line(line, "extension line")

    def text(self) -> str:
        root = base64.b64encode(self.root).decode("ascii")
        lines = (self.origin, str(self.size), root, *self.extensions)
        return "".join(f"{line}\n" for line in lines)

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Parse a checkpoint's note text strictly (MalformedError)."""
        if not isinstance(text, str) or not text.endswith("\n"):
            raise MalformedError("checkpoint: the text ends in a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise MalformedError("checkpoint: fewer than three lines")
        origin, size_text, root_text, *extensions = lines
        if not _SIZE.fullmatch(size_text) or len(size_text) > 19:
            raise MalformedError("checkpoint: the tree size is a decimal number")
        root = b64decode(root_text, "checkpoint root hash")
        return cls(origin, int(size_text), root, tuple(extensions))


def _check_line(line: str, what: str) -> None:
    if not isinstance(line, str) or not line or len(line) > MAX_LINE:
        raise MalformedError(f"checkpoint: the {what} is a non-empty line")
    if any(ord(ch) < 0x20 for ch in line):
        raise MalformedError(f"checkpoint: the {what} contains a control character")


def sign_checkpoint(checkpoint: Checkpoint, log: Signer, *more: Signer) -> bytes:
    """The checkpoint as a signed note, signed by the log's key (and any `more` signers)."""
    if log.name != checkpoint.origin:
        raise ValueError("the log's key name is the checkpoint's origin")
    return sign_note(checkpoint.text(), [log, *more])


@dataclass(frozen=True)
class TrustedLog:
    """What a client is configured with: the log's origin, its key and the witness policy."""

    origin: str
    key: Ed25519Verifier
    witnesses: WitnessPolicy = field(default_factory=lambda: WitnessPolicy((), 0))

    def __post_init__(self) -> None:
        _check_line(self.origin, "origin")
        if self.key.name != self.origin:
            raise ValueError("the log's key name must be its origin")


@dataclass(frozen=True)
class VerifiedCheckpoint:
    """A checkpoint the log signed and enough witnesses cosigned; `cosigned` maps each
    witness's verifier key to the time of its cosignature."""

    checkpoint: Checkpoint
    note: bytes
    cosigned: dict[str, int]


def open_checkpoint(
    data: bytes, log: TrustedLog, *, now: int | None = None, max_age: int | None = None
) -> VerifiedCheckpoint:
    """Verify a signed checkpoint, each failure stopping everything:

    1. it is a signed note (MalformedError) whose signatures by the log's key and the trusted
       witnesses all verify (SignatureError);
    2. the log's key signed it (SignatureError);
    3. its text is a checkpoint (MalformedError) of the log's origin (IntegrityError); a tree of
       size 0 has the empty root (IntegrityError);
    4. at least the policy's threshold of trusted witnesses cosigned it (SignatureError), counting
       only cosignatures made in [now - max_age, now] when both are given.
    """
    opened = open_note(data, [log.key, *log.witnesses.witnesses])
    if not opened.signed_by(log.key):
        raise SignatureError("checkpoint: not signed by the log's key")
    checkpoint = Checkpoint.parse(opened.text)
    if checkpoint.origin != log.origin:
        raise IntegrityError(f"checkpoint: of the log {checkpoint.origin!r}, not {log.origin!r}")
    if checkpoint.size == 0 and checkpoint.root != EMPTY_ROOT:
        raise IntegrityError("checkpoint: an empty tree with a root other than the empty root")
    cosigned = log.witnesses.check(opened, now=now, max_age=max_age)
    return VerifiedCheckpoint(checkpoint, data, cosigned)


def check_extension(previous: Checkpoint | None, new: Checkpoint, proof: Sequence[bytes]) -> None:
    """Check that `new` extends `previous`, the newest checkpoint this device accepted before:

    - another origin: IntegrityError;
    - a smaller tree: RollbackError;
    - a tree of the same size with another root, or a larger tree that `proof` does not show to
      extend the previous one (RFC 9162 consistency proof): IntegrityError, a fork of the log.

    With no previous checkpoint, anything passes (and `proof` must be empty).
    """
    if previous is None:
        if proof:
            raise MalformedError("consistency proof: nothing to be consistent with")
        return
    if new.origin != previous.origin:
        raise IntegrityError(f"checkpoint: of the log {new.origin!r}, not {previous.origin!r}")
    if new.size < previous.size:
        raise RollbackError(
            f"checkpoint: a tree of {new.size} entries after one of {previous.size} was seen"
        )
    verify_consistency(previous.size, new.size, previous.root, new.root, proof)
