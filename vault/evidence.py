"""Evidence that a document version existed by a certain time (docs/format.md section 20).

When a version is committed, its author appends a **commitment** to the key transparency log:

    file_hash  = SHA-256(the version's plaintext)
    salt       = derive(file_key, "kluis/v1/evidence-salt", ids)          (32 bytes)
    commitment = SHA-256("kluis/v1/evidence-commitment" || 0x00 || salt || file_hash)
    entry      = "KLKT" || 0x02 || 0x05 || commitment                   (39 bytes)

The salt is as unpredictable as the version's random file key, so the log reveals nothing of the
file and nobody can test a file they hold against it; whoever can read the version can rebuild
the salt from its header, so nothing new is stored. SHA-256 (not BLAKE3) because anyone, with
tools that know nothing of Kluis (Python's hashlib, openssl), must be able to recompute it; the
commitment is also the message imprint of an RFC 3161 timestamp over the same version.

`verify_evidence` is what a client (and the standalone script of an evidence package) checks:
the file's hash and the salt give the entry, the entry is in a tree the log signed and enough
witnesses cosigned, and the time the quorum vouches for is the k-th earliest cosignature.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from typing import BinaryIO, Final

from . import labels
from .checkpoint import TrustedLog, VerifiedCheckpoint, open_checkpoint
from .derive import derive
from .errors import IntegrityError, MalformedError
from .headerstatement import document_ids
from .logentry import EntryKind, LogEntry
from .tlog import leaf_hash, verify_inclusion

__all__ = [
    "HASH_SIZE",
    "SALT_SIZE",
    "Proven",
    "check_commitment",
    "commitment",
    "commitment_entry",
    "commitment_input",
    "evidence_salt",
    "existed_by",
    "file_sha256",
    "verify_evidence",
]

HASH_SIZE: Final = 32
SALT_SIZE: Final = 32
READ_CHUNK: Final = 1 << 20


def file_sha256(source: BinaryIO) -> bytes:
    """SHA-256 of everything `source` still holds, read in pieces."""
    hasher = hashlib.sha256()
    while piece := source.read(READ_CHUNK):
        hasher.update(piece)
    return hasher.digest()


def evidence_salt(file_key: bytes, dossier_id: bytes, document_id: bytes, version: int) -> bytes:
    """The version's salt: secret while its file key is, the same for every reader."""
    return derive(file_key, labels.EVIDENCE_SALT, document_ids(dossier_id, document_id, version))


def commitment_input(salt: bytes, file_hash: bytes) -> bytes:
    """What the commitment hashes (and what an RFC 3161 request is made over: its SHA-256
    message imprint is then the commitment itself)."""
    if len(salt) != SALT_SIZE or len(file_hash) != HASH_SIZE:
        raise MalformedError("evidence: a salt and a file hash are 32 bytes each")
    return labels.EVIDENCE_COMMITMENT + b"\x00" + salt + file_hash


def commitment(salt: bytes, file_hash: bytes) -> bytes:
    """The 32 bytes that go into the log (and are the RFC 3161 message imprint)."""
    return hashlib.sha256(commitment_input(salt, file_hash)).digest()


def commitment_entry(salt: bytes, file_hash: bytes) -> bytes:
    """The LogEntry bytes (kind 5) of a version's commitment."""
    return LogEntry.commitment(commitment(salt, file_hash)).encode()


def check_commitment(entry: bytes, file_hash: bytes, salt: bytes) -> LogEntry:
    """The parsed entry, if it commits to this file hash with this salt: MalformedError for an
    entry that does not parse or is not a commitment, IntegrityError for another commitment
    (another file, or another salt)."""
    parsed = LogEntry.decode(entry)
    if parsed.kind != EntryKind.COMMITMENT or parsed.digest is None:
        raise MalformedError("evidence: the log entry is not a commitment")
    if not hmac.compare_digest(parsed.digest, commitment(salt, file_hash)):
        raise IntegrityError("evidence: the log entry commits to another file or salt")
    return parsed


def existed_by(cosigned: dict[str, int], threshold: int) -> int | None:
    """The time the witness quorum vouches for: the `threshold`-th earliest cosignature (each
    of that many witnesses saw the tree, holding the entry, by then). None with threshold 0:
    the log alone states no time."""
    if threshold == 0:
        return None
    times = sorted(cosigned.values())
    if len(times) < threshold:
        raise IntegrityError("evidence: fewer cosignatures than the quorum")
    return times[threshold - 1]


@dataclass(frozen=True)
class Proven:
    """What a verified piece of evidence shows: this entry is entry `index` of the checkpoint's
    tree, which the quorum had cosigned by `existed_by` (POSIX seconds; None without witnesses)."""

    entry: LogEntry
    index: int
    checkpoint: VerifiedCheckpoint
    existed_by: int | None


def verify_evidence(
    *,
    file_hash: bytes,
    salt: bytes,
    entry: bytes,
    index: int,
    inclusion: Sequence[bytes],
    checkpoint: bytes,
    log: TrustedLog,
) -> Proven:
    """Check a version's evidence, each failure stopping everything:

    1. the entry is the commitment of this file hash and salt (MalformedError, IntegrityError);
    2. the checkpoint opens: the log signed it, of the configured origin, with the witness
       quorum (format 17.4, 17.5: MalformedError, SignatureError, IntegrityError);
    3. the entry is entry `index` of the checkpoint's tree (inclusion proof, IntegrityError).
    """
    parsed = check_commitment(entry, file_hash, salt)
    opened = open_checkpoint(checkpoint, log)
    verify_inclusion(
        leaf_hash(entry), index, opened.checkpoint.size, list(inclusion), opened.checkpoint.root
    )
    return Proven(parsed, index, opened, existed_by(opened.cosigned, log.witnesses.threshold))
