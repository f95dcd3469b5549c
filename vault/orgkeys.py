"""An organisation's published keys: the record of one epoch and the organisation fingerprint.

The public part of docs/format.md section 14.1, without any secret key: parsing an `OrgKeys`
record (which checks only the embedded identity record's self-signature) and computing the
organisation fingerprint over the epoch-1 keys, id, kind and name. The server imports this
module to check an operator's `verify-org` against what the organisation published; the import
contract in pyproject.toml keeps it away from `vault.organisation`, which unseals memberships
and makes new epochs. Nothing here touches the network or the disk.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Final

from . import labels
from .encoding import ID_SIZE, Reader, Writer
from .errors import MalformedError
from .identity import Identity, check_username, format_fingerprint
from .kinds import OrgKind

ORG_KEYS_MAGIC: Final = b"KLOK"
FORMAT_VERSION: Final = 1
KEY_ID_SIZE: Final = 32
SIGNATURE_SIZE: Final = 64
IDENTITY_MAX: Final = 1024
NO_KEY_ID: Final = bytes(KEY_ID_SIZE)


_KINDS: Final = frozenset(OrgKind)


# -- the fingerprint -------------------------------------------------------------------------------
def organisation_fingerprint_digest(
    org_id: bytes, kind: int, name: str, signing_key: bytes, box_key: bytes
) -> bytes:
    """SHA-512 over the label, the organisation's id, kind and name and its epoch-1 keys."""
    body = (
        Writer()
        .fixed(org_id, ID_SIZE)
        .u8(kind)
        .vbytes(check_username(name).encode("ascii"))
        .fixed(signing_key, 32)
        .fixed(box_key, 32)
        .getvalue()
    )
    return hashlib.sha512(labels.ORGANISATION_FINGERPRINT + b"\x00" + body).digest()


# -- the key record of one epoch -------------------------------------------------------------------
@dataclass(frozen=True)
class OrgKeys:
    """One epoch's public keys, as published (section 14.1). Parsing checks only the embedded
    identity record's self-signature; `verify_chain` checks the rest."""

    kind: OrgKind
    identity: Identity  # user_id = org id, key_version = epoch, username = organisation name
    previous_key_id: bytes
    author_id: bytes
    author_key_id: bytes
    created_at: int
    author_signature: bytes = field(repr=False)
    succession_signature: bytes | None = field(repr=False)

    @property
    def org_id(self) -> bytes:
        return self.identity.user_id

    @property
    def epoch(self) -> int:
        return self.identity.key_version

    @property
    def name(self) -> str:
        return self.identity.username

    @property
    def key_id(self) -> bytes:
        return self.identity.key_id

    def body(self) -> bytes:
        """The bytes the author signs."""
        return (
            Writer()
            .raw(ORG_KEYS_MAGIC)
            .u8(FORMAT_VERSION)
            .u8(self.kind)
            .vbytes(self.identity.encode())
            .fixed(self.previous_key_id, KEY_ID_SIZE)
            .fixed(self.author_id, ID_SIZE)
            .fixed(self.author_key_id, KEY_ID_SIZE)
            .u64(self.created_at)
            .getvalue()
        )

    def signed_by_author(self) -> bytes:
        """The bytes the previous epoch's organisation key signs (body and author signature)."""
        return self.body() + self.author_signature

    def encode(self) -> bytes:
        return self.signed_by_author() + (self.succession_signature or b"")

    @classmethod
    def decode(cls, data: bytes) -> OrgKeys:
        r = Reader(data, "organisation keys")
        r.magic(ORG_KEYS_MAGIC)
        if r.u8() != FORMAT_VERSION:
            raise MalformedError("organisation keys: unsupported format version")
        kind = r.u8()
        identity_bytes = r.vbytes(IDENTITY_MAX)
        previous_key_id = r.raw(KEY_ID_SIZE)
        author_id, author_key_id = r.raw(ID_SIZE), r.raw(KEY_ID_SIZE)
        created_at = r.u64()
        author_signature = r.raw(SIGNATURE_SIZE)
        if kind not in _KINDS:
            raise MalformedError(f"organisation keys: unknown kind {kind}")
        identity = Identity.decode(identity_bytes)  # MalformedError, SignatureError
        succession: bytes | None = None
        if identity.key_version == 1:
            if previous_key_id != NO_KEY_ID:
                raise MalformedError("organisation keys: epoch 1 has no previous key")
        else:
            if previous_key_id == NO_KEY_ID:
                raise MalformedError("organisation keys: a later epoch names its previous key")
            succession = r.raw(SIGNATURE_SIZE)
        r.end()
        return cls(
            OrgKind(kind),
            identity,
            previous_key_id,
            author_id,
            author_key_id,
            created_at,
            author_signature,
            succession,
        )


def genesis_fingerprint_digest(genesis: OrgKeys) -> bytes:
    """The organisation fingerprint's digest, from the organisation's epoch-1 record."""
    if genesis.epoch != 1:
        raise ValueError("the organisation fingerprint is taken over the epoch-1 record")
    g = genesis.identity
    return organisation_fingerprint_digest(
        g.user_id, genesis.kind, g.username, g.signing_key, g.box_key
    )


def organisation_fingerprint(genesis: OrgKeys) -> str:
    """The 12 groups of 5 digits printed on letters, from the epoch-1 record."""
    return format_fingerprint(genesis_fingerprint_digest(genesis))
