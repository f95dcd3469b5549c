"""A version's evidence commitment as the client makes and checks it (docs/format.md section 20).

On add and update the client hashes the plaintext (SHA-256) while it encrypts it, derives the
version's salt from the new file key, and sends the commitment with the commit; the server
appends it to the log in the same transaction and answers with the entry, its index, the
checkpoint it signed and the inclusion proof, which are checked here before the version counts
as written.

Nothing is stored for it. The salt is derived from the version's file key, which the encrypted
header already carries to every reader of the version (any device of the author, any grantee),
so each of them can rebuild the commitment; the proof and the checkpoint are public, never
change once the log holds them, and are fetched (and checked again, with the witnesses'
cosignatures) whenever an evidence package is made. Keeping them in the encrypted metadata
would change the header format and be stale by the time the witnesses cosign.

The log's parameters come from the environment until the profile pins them:
`KLUIS_LOG_KEY` (the log's verifier key, `<origin>+<key ID>+<base64>`, as `kluis server`
prints it and the operator publishes it), `KLUIS_LOG_WITNESSES` (the witnesses' verifier keys,
separated by white space) and `KLUIS_LOG_QUORUM` (how many of them must have cosigned;
all of them when not set).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from vault.checkpoint import Checkpoint, TrustedLog
from vault.cosignature import WitnessPolicy, parse_witness_vkey
from vault.errors import MalformedError
from vault.evidence import check_commitment, verify_evidence
from vault.note import parse_note, parse_vkey
from vault.tlog import leaf_hash, verify_inclusion

from .errors import ClientError

LOG_KEY_ENV = "KLUIS_LOG_KEY"
WITNESSES_ENV = "KLUIS_LOG_WITNESSES"
QUORUM_ENV = "KLUIS_LOG_QUORUM"


class Sha256Reader:
    """A read-only file object over `source` that hashes (SHA-256) every byte read through it,
    so the commitment is of exactly the bytes that were encrypted."""

    def __init__(self, source: io.BufferedReader) -> None:
        self.source = source
        self.hasher = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.source.read(size)
        self.hasher.update(data)
        return data

    def readinto(self, buffer: Any) -> int:
        got = self.source.readinto(buffer)
        if got:
            self.hasher.update(memoryview(buffer)[:got])
        return got or 0

    def fileno(self) -> int:
        return self.source.fileno()

    def close(self) -> None:
        self.source.close()

    def __enter__(self) -> Sha256Reader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def trusted_log(environ: Mapping[str, str] | None = None) -> TrustedLog | None:
    """The log's parameters from the environment (None when no log key is set; ClientError for
    a key, witness or quorum that does not parse)."""
    env = os.environ if environ is None else environ
    text = env.get(LOG_KEY_ENV, "").strip()
    if not text:
        return None
    try:
        key = parse_vkey(text)
        witnesses = tuple(parse_witness_vkey(w) for w in env.get(WITNESSES_ENV, "").split())
        quorum = int(env.get(QUORUM_ENV, "").strip() or len(witnesses))
        return TrustedLog(key.name, key, WitnessPolicy(witnesses, quorum))
    except (MalformedError, ValueError) as exc:
        raise ClientError(
            f"the log's parameters ({LOG_KEY_ENV}, {WITNESSES_ENV}, {QUORUM_ENV}): {exc}"
        ) from None


@dataclass(frozen=True)
class ServedEvidence:
    """`evidence` of a commit's answer or of `GET .../evidence`, parsed, not yet checked."""

    entry: bytes
    index: int
    checkpoint: bytes
    size: int
    inclusion: list[bytes]

    @classmethod
    def from_json(cls, value: Any) -> ServedEvidence:
        try:
            served = cls(
                entry=base64.b64decode(value["entry"], validate=True),
                index=_integer(value["index"]),
                checkpoint=str(value["checkpoint"]).encode("utf-8"),
                size=_integer(value["size"]),
                inclusion=[base64.b64decode(h, validate=True) for h in value["inclusion"]],
            )
        except (KeyError, TypeError, ValueError, binascii.Error) as exc:
            raise MalformedError("server answer: malformed evidence") from exc
        return served

    def json(self) -> dict[str, Any]:
        return {
            "entry": self.entry.hex(),
            "index": self.index,
            "tree_size": self.size,
            "inclusion": [h.hex() for h in self.inclusion],
        }


def _integer(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError("not a non-negative integer")
    return value


def check_at_commit(
    served: ServedEvidence, *, file_hash: bytes, salt: bytes, log: TrustedLog | None
) -> None:
    """Check a commit's evidence: the entry is this version's commitment and is in the tree of
    the checkpoint the log signed for it (MalformedError, IntegrityError, SignatureError).

    The witnesses cosign only after the commit, so here the log's signature is what counts; the
    quorum is checked when an evidence package is made. Without the log's key (not configured)
    the proof is checked against the checkpoint's root as written, which catches a server that
    appended something else, not one that signs a tree of its own."""
    if log is None:
        check_commitment(served.entry, file_hash, salt)
        checkpoint = Checkpoint.parse(parse_note(served.checkpoint).text)
        verify_inclusion(
            leaf_hash(served.entry),
            served.index,
            checkpoint.size,
            served.inclusion,
            checkpoint.root,
        )
        return
    verify_evidence(
        file_hash=file_hash,
        salt=salt,
        entry=served.entry,
        index=served.index,
        inclusion=served.inclusion,
        checkpoint=served.checkpoint,
        log=TrustedLog(log.origin, log.key),  # the log alone: no cosignature yet
    )
