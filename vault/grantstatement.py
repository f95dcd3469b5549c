"""The grant statement: the signed, public part of a grant (docs/format.md section 8).

A grant is a key sealed to a recipient inside a statement signed by the granter. This module is
the statement without the key: its fields in wire order, parsing (`Grant.decode`), and the
granter's signature (`verify_grant`, checks 1, 4 and 5 of `vault.grant.open_grant`). It holds
and opens no secret, so code that may not touch secret keys (the server, see the import
contracts in pyproject.toml) can read grants with it; sealing and opening are `vault.grant`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from . import labels
from .encoding import ID_SIZE, Reader, Writer, check_length
from .errors import IntegrityError, KeyMismatchError, MalformedError, SignatureError
from .identity import Identity
from .kinds import GrantKind, Rights

GRANT_MAGIC: Final = b"KLGR"
FORMAT_VERSION: Final = 1
KEY_SIZE: Final = 32
KEY_ID_SIZE: Final = 32
COMMITMENT_SIZE: Final = 32
SEALED_KEY_SIZE: Final = KEY_SIZE + 48  # crypto_box_seal: ephemeral key 32 + tag 16
SIGNATURE_SIZE: Final = 64
NO_DOCUMENT: Final = bytes(ID_SIZE)
NEVER_EXPIRES: Final = 0
WHAT: Final = "grant"


_KINDS: Final = frozenset(GrantKind)
_RIGHTS: Final = frozenset(Rights)


@dataclass(frozen=True)
class Grant:
    """The fields of a grant, in wire order. Holds no secret (the key inside is sealed)."""

    grant_id: bytes
    kind: GrantKind
    dossier_id: bytes
    document_id: bytes
    number: int
    rights: Rights
    granter_id: bytes
    granter_key_id: bytes
    recipient_id: bytes
    recipient_key_id: bytes
    issued_at: int
    expires_at: int
    counter: int
    key_commitment: bytes
    sealed_key: bytes
    signature: bytes = field(repr=False)

    def body(self) -> bytes:
        """Every byte the signature covers."""
        return (
            Writer()
            .raw(GRANT_MAGIC)
            .u8(FORMAT_VERSION)
            .fixed(self.grant_id, ID_SIZE)
            .u8(self.kind)
            .fixed(self.dossier_id, ID_SIZE)
            .fixed(self.document_id, ID_SIZE)
            .u64(self.number)
            .u8(self.rights)
            .fixed(self.granter_id, ID_SIZE)
            .fixed(self.granter_key_id, KEY_ID_SIZE)
            .fixed(self.recipient_id, ID_SIZE)
            .fixed(self.recipient_key_id, KEY_ID_SIZE)
            .u64(self.issued_at)
            .u64(self.expires_at)
            .u64(self.counter)
            .fixed(self.key_commitment, COMMITMENT_SIZE)
            .fixed(self.sealed_key, SEALED_KEY_SIZE)
            .getvalue()
        )

    def encode(self) -> bytes:
        return self.body() + Writer().fixed(self.signature, SIGNATURE_SIZE).getvalue()

    @classmethod
    def decode(cls, data: bytes) -> Grant:
        """Parse (step 1, `MalformedError`). Checks no signature and trusts nothing."""
        r = Reader(data, WHAT)
        r.magic(GRANT_MAGIC)
        if r.u8() != FORMAT_VERSION:
            raise MalformedError(f"{WHAT}: unsupported format version")
        grant_id = r.raw(ID_SIZE)
        kind = r.u8()
        dossier_id = r.raw(ID_SIZE)
        document_id = r.raw(ID_SIZE)
        number = r.u64()
        rights = r.u8()
        granter_id, granter_key_id = r.raw(ID_SIZE), r.raw(KEY_ID_SIZE)
        recipient_id, recipient_key_id = r.raw(ID_SIZE), r.raw(KEY_ID_SIZE)
        issued_at, expires_at, counter = r.u64(), r.u64(), r.u64()
        key_commitment = r.raw(COMMITMENT_SIZE)
        sealed_key = r.raw(SEALED_KEY_SIZE)
        signature = r.raw(SIGNATURE_SIZE)
        r.end()
        if kind not in _KINDS:
            raise MalformedError(f"{WHAT}: unknown kind {kind}")
        if rights not in _RIGHTS:
            raise MalformedError(f"{WHAT}: unknown rights {rights}")
        if (document_id == NO_DOCUMENT) != (kind == GrantKind.DOSSIER):
            raise MalformedError(f"{WHAT}: document_id must be zero exactly for a dossier grant")
        # Epochs, versions and grant counters all start at 1 (sections 7, 8 and 10).
        if number < 1:
            raise MalformedError(f"{WHAT}: epoch or version must be at least 1")
        if counter < 1:
            raise MalformedError(f"{WHAT}: counter must be at least 1")
        return cls(
            grant_id,
            GrantKind(kind),
            dossier_id,
            document_id,
            number,
            Rights(rights),
            granter_id,
            granter_key_id,
            recipient_id,
            recipient_key_id,
            issued_at,
            expires_at,
            counter,
            key_commitment,
            sealed_key,
            signature,
        )

    peek = decode


def check_signed_by(grant: Grant, granter: Identity) -> None:
    """Checks 4 and 5: made by exactly this granter identity, and its signature verifies."""
    if grant.granter_id != granter.user_id or grant.granter_key_id != granter.key_id:
        raise KeyMismatchError(f"{WHAT}: granter is not the expected identity")
    try:
        granter.verify(labels.GRANT_SIGNATURE, grant.body(), grant.signature)
    except SignatureError as exc:
        raise SignatureError(f"{WHAT}: signature does not verify") from exc


def verify_grant(data: bytes, *, granter: Identity, dossier_id: bytes) -> Grant:
    """Check that `granter` signed this grant for this dossier (checks 1, 4, 5); nothing is
    unsealed and expiry is left to the caller, who reads it from the returned, signed grant."""
    check_length(dossier_id, ID_SIZE, "dossier_id")
    grant = Grant.decode(data)
    if grant.dossier_id != dossier_id:
        raise IntegrityError(f"{WHAT}: is for another dossier")
    check_signed_by(grant, granter)
    return grant
