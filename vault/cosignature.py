"""Witness cosignatures of checkpoints (C2SP tlog-cosignature v1, Ed25519) and the k-of-n policy
a client applies to them (docs/format.md section 17.4).

A witness that checked a checkpoint is consistent with every earlier one it saw signs, as a note
signature of type 0x04 (key ID SHA-256(name || 0x0A || 0x04 || public key)[:4]):

    timestamp u64 || Ed25519(witness key, "cosignature/v1\\n" || "time <timestamp>\\n" || note text)

where the timestamp is POSIX seconds below 2**63 and the note text is the whole checkpoint body.
A `WitnessPolicy` names the trusted witnesses and how many of them must have cosigned.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import nacl.signing

from .errors import MalformedError, SignatureError
from .note import (
    ED25519_KEY_SIZE,
    ED25519_SIGNATURE_SIZE,
    OpenedNote,
    check_key_name,
    check_signing_seed,
    ed25519_verify,
    format_vkey,
    key_id,
    split_vkey,
)

__all__ = [
    "MAX_TIMESTAMP",
    "SIG_COSIGNATURE_V1",
    "CosignatureVerifier",
    "Cosigner",
    "TimestampedSigner",
    "WitnessPolicy",
    "cosignature_message",
    "parse_witness_vkey",
]

SIG_COSIGNATURE_V1: Final = 0x04
HEADER: Final = b"cosignature/v1\n"
TIMESTAMP_SIZE: Final = 8
COSIGNATURE_SIZE: Final = TIMESTAMP_SIZE + ED25519_SIGNATURE_SIZE
MAX_TIMESTAMP: Final = 2**63 - 1


def cosignature_message(text: bytes, timestamp: int) -> bytes:
    """What an Ed25519 cosignature signs: the header line, the time line, the checkpoint text."""
    if isinstance(timestamp, bool) or not 0 <= timestamp <= MAX_TIMESTAMP:
        raise ValueError("a cosignature timestamp is from 0 to 2**63 - 1")
    return HEADER + b"time " + str(timestamp).encode("ascii") + b"\n" + text


@dataclass(frozen=True)
class CosignatureVerifier:
    """A witness's Ed25519 cosigning key (type 0x04)."""

    name: str
    public_key: bytes

    def __post_init__(self) -> None:
        check_key_name(self.name)
        if not isinstance(self.public_key, bytes) or len(self.public_key) != ED25519_KEY_SIZE:
            raise MalformedError("an Ed25519 public key is 32 bytes")

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, SIG_COSIGNATURE_V1, self.public_key)

    @property
    def vkey(self) -> str:
        return format_vkey(self.name, self.key_id, SIG_COSIGNATURE_V1, self.public_key)

    @staticmethod
    def timestamp(signature: bytes) -> int:
        """The time a cosignature claims (its first 8 bytes, big-endian)."""
        if len(signature) != COSIGNATURE_SIZE:
            raise MalformedError("a cosignature is 72 bytes")
        return int.from_bytes(signature[:TIMESTAMP_SIZE], "big")

    def verify(self, text: bytes, signature: bytes) -> bool:
        if len(signature) != COSIGNATURE_SIZE:
            return False
        timestamp = self.timestamp(signature)
        if timestamp > MAX_TIMESTAMP:
            return False
        message = cosignature_message(text, timestamp)
        return ed25519_verify(self.public_key, message, signature[TIMESTAMP_SIZE:])


def parse_witness_vkey(vkey: str) -> CosignatureVerifier:
    """A witness's verifier key of type 0x04; MalformedError for anything else."""
    name, _kid, sig_type, public_key = split_vkey(vkey)
    if sig_type != SIG_COSIGNATURE_V1:
        raise MalformedError(f"verifier key: type {sig_type:#04x} is not a v1 cosignature key")
    return CosignatureVerifier(name, public_key)


@dataclass(frozen=True, repr=False)
class Cosigner:
    """A witness's signing side (a 32-byte Ed25519 seed). `at(t)` cosigns with timestamp t."""

    name: str
    seed: bytes

    def __post_init__(self) -> None:
        check_signing_seed(self.name, self.seed)

    def __repr__(self) -> str:
        return f"Cosigner(name={self.name!r}, <seed hidden>)"

    @property
    def verifier(self) -> CosignatureVerifier:
        public_key = bytes(nacl.signing.SigningKey(self.seed).verify_key)
        return CosignatureVerifier(self.name, public_key)

    def at(self, timestamp: int) -> TimestampedSigner:
        return TimestampedSigner(self, timestamp)


@dataclass(frozen=True)
class TimestampedSigner:
    """A `vault.note.Signer` that cosigns with a fixed timestamp."""

    cosigner: Cosigner
    timestamp: int

    @property
    def name(self) -> str:
        return self.cosigner.name

    @property
    def key_id(self) -> bytes:
        return self.cosigner.verifier.key_id

    def sign(self, text: bytes) -> bytes:
        message = cosignature_message(text, self.timestamp)
        signature = nacl.signing.SigningKey(self.cosigner.seed).sign(message).signature
        return self.timestamp.to_bytes(TIMESTAMP_SIZE, "big") + signature


@dataclass(frozen=True)
class WitnessPolicy:
    """At least `threshold` of `witnesses` must have cosigned a checkpoint.

    A threshold of 0 trusts the log alone. Two witnesses may not share a public key (they would
    be one witness counted twice), nor a name and key ID.
    """

    witnesses: tuple[CosignatureVerifier, ...]
    threshold: int

    def __post_init__(self) -> None:
        if len({w.public_key for w in self.witnesses}) != len(self.witnesses):
            raise ValueError("two witnesses in one policy share a public key")
        if len({(w.name, w.key_id) for w in self.witnesses}) != len(self.witnesses):
            raise ValueError("two witnesses in one policy share a name and key ID")
        if isinstance(self.threshold, bool) or not 0 <= self.threshold <= len(self.witnesses):
            raise ValueError("a witness threshold is from 0 to the number of witnesses")

    def cosigned(
        self, opened: OpenedNote, *, now: int | None = None, max_age: int | None = None
    ) -> dict[str, int]:
        """The trusted witnesses whose cosignature on `opened` verified, with their timestamps.

        With `now` and `max_age`, only cosignatures made in [now - max_age, now] count.
        """
        out: dict[str, int] = {}
        for verifier, signature in opened.verified:
            if not isinstance(verifier, CosignatureVerifier) or verifier not in self.witnesses:
                continue
            timestamp = verifier.timestamp(signature)
            if now is not None and max_age is not None and not now - max_age <= timestamp <= now:
                continue
            out[verifier.vkey] = timestamp
        return out

    def check(
        self, opened: OpenedNote, *, now: int | None = None, max_age: int | None = None
    ) -> dict[str, int]:
        """Raise SignatureError unless enough trusted witnesses cosigned `opened` (see
        `cosigned`); return who did and when."""
        got = self.cosigned(opened, now=now, max_age=max_age)
        if len(got) < self.threshold:
            recent = "" if max_age is None else f" within {max_age} seconds"
            raise SignatureError(
                f"checkpoint: {len(got)} of the {self.threshold} witness cosignatures "
                f"required{recent}"
            )
        return got
