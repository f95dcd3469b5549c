"""Grants: a key sealed to a recipient inside a statement signed by the granter.

Implements docs/format.md section 8. A dossier grant (kind 1) gives one epoch's dossier key; a
document grant (kind 2) gives the file key of one document version. `open_grant` runs the
recipient's checks in the documented order, each failure stopping everything:

    1 parse                     MalformedError
    2 the target asked for      IntegrityError   (a grant for document A never opens B, D7)
    3 addressed to me           KeyMismatchError
    4 from the trusted granter  KeyMismatchError
    5 signature                 SignatureError   (K3, K5)
    6 not expired               ExpiredError
    7 unseal and commitment     IntegrityError

`Grant.decode` (alias `peek`) only parses, so a client can see what a grant claims to be
(target, granter, recipient) before choosing whom to check it against. `verify_grant` runs
checks 1, 4 and 5 without unsealing: a granter uses it to learn whom it really gave what (the
server's copy of rights, expiry or recipient is only a claim). Who may grant what is the opening
client's decision, not this module's.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field
from typing import Final

import nacl.exceptions
import nacl.public

from . import labels
from .derive import derive
from .encoding import ID_SIZE, Reader, Writer
from .errors import ExpiredError, IntegrityError, KeyMismatchError, MalformedError, SignatureError
from .header import check_length, check_u64, file_key_commitment, u64
from .keys import Identity, PrivateIdentity
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


def new_dossier_key() -> bytes:
    """A fresh random dossier key: one per epoch (section 10)."""
    return secrets.token_bytes(KEY_SIZE)


def new_grant_id() -> bytes:
    return secrets.token_bytes(ID_SIZE)


def dossier_key_commitment(dossier_key: bytes, dossier_id: bytes, epoch: int) -> bytes:
    """Binds a dossier key to exactly one (dossier, epoch) (section 8, kind 1)."""
    return derive(dossier_key, labels.DOSSIER_KEY_COMMITMENT, dossier_id + u64(epoch))


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


@dataclass(frozen=True)
class OpenedGrant:
    """A grant that passed all seven checks, and the key it carried."""

    grant: Grant
    key: bytes = field(repr=False)


def make_dossier_grant(
    granter: PrivateIdentity,
    recipient: Identity,
    *,
    dossier_id: bytes,
    epoch: int,
    dossier_key: bytes,
    rights: Rights,
    counter: int,
    issued_at: int,
    expires_at: int = NEVER_EXPIRES,
) -> bytes:
    """Give `recipient` the dossier key of one epoch (kind 1)."""
    check_length(dossier_id, ID_SIZE, "dossier_id")
    check_length(dossier_key, KEY_SIZE, "dossier_key")
    check_u64(epoch, "epoch", 1)
    return _grant_from_parts(
        granter,
        recipient,
        grant_id=new_grant_id(),
        kind=GrantKind.DOSSIER,
        dossier_id=dossier_id,
        document_id=NO_DOCUMENT,
        number=epoch,
        rights=rights,
        issued_at=issued_at,
        expires_at=expires_at,
        counter=counter,
        key_commitment=dossier_key_commitment(dossier_key, dossier_id, epoch),
        sealed_key=_seal(recipient, dossier_key),
    )


def make_document_grant(
    granter: PrivateIdentity,
    recipient: Identity,
    *,
    dossier_id: bytes,
    document_id: bytes,
    version: int,
    file_key: bytes,
    rights: Rights,
    counter: int,
    issued_at: int,
    expires_at: int = NEVER_EXPIRES,
) -> bytes:
    """Give `recipient` the file key of one document version (kind 2)."""
    check_length(dossier_id, ID_SIZE, "dossier_id")
    check_length(document_id, ID_SIZE, "document_id")
    check_length(file_key, KEY_SIZE, "file_key")
    check_u64(version, "version", 1)
    return _grant_from_parts(
        granter,
        recipient,
        grant_id=new_grant_id(),
        kind=GrantKind.DOCUMENT,
        dossier_id=dossier_id,
        document_id=document_id,
        number=version,
        rights=rights,
        issued_at=issued_at,
        expires_at=expires_at,
        counter=counter,
        key_commitment=file_key_commitment(file_key, dossier_id, document_id, version),
        sealed_key=_seal(recipient, file_key),
    )


def _seal(recipient: Identity, key: bytes) -> bytes:
    # libsodium's crypto_box_seal: a fresh ephemeral key each time, so the bytes are random.
    return bytes(nacl.public.SealedBox(nacl.public.PublicKey(recipient.box_key)).encrypt(key))


def _grant_from_parts(
    granter: PrivateIdentity,
    recipient: Identity,
    *,
    grant_id: bytes,
    kind: GrantKind,
    dossier_id: bytes,
    document_id: bytes,
    number: int,
    rights: Rights,
    issued_at: int,
    expires_at: int,
    counter: int,
    key_commitment: bytes,
    sealed_key: bytes,
) -> bytes:
    """Assemble and sign a grant from given parts (the seam for reproducible test vectors)."""
    if type(rights) is not Rights:
        raise TypeError("rights must be a Rights value")
    check_u64(counter, "counter", 1)
    check_u64(issued_at, "issued_at")
    check_u64(expires_at, "expires_at")
    if expires_at != NEVER_EXPIRES and expires_at <= issued_at:
        raise ValueError("a grant must not expire before it is issued")
    unsigned = Grant(
        grant_id=grant_id,
        kind=kind,
        dossier_id=dossier_id,
        document_id=document_id,
        number=number,
        rights=rights,
        granter_id=granter.user_id,
        granter_key_id=granter.public.key_id,
        recipient_id=recipient.user_id,
        recipient_key_id=recipient.key_id,
        issued_at=issued_at,
        expires_at=expires_at,
        counter=counter,
        key_commitment=key_commitment,
        sealed_key=sealed_key,
        signature=b"",
    )
    body = unsigned.body()
    return body + granter.sign(labels.GRANT_SIGNATURE, body)


def open_grant(
    data: bytes,
    *,
    me: PrivateIdentity,
    granter: Identity,
    kind: GrantKind,
    dossier_id: bytes,
    document_id: bytes | None = None,
    number: int,
    now: int,
) -> OpenedGrant:
    """Open a grant addressed to `me` for an expected target, checks 1-7 of section 8.

    The target is (kind, dossier_id, document_id, number): for a dossier grant leave
    `document_id` out and give the epoch as `number`; for a document grant give the document
    and its version.
    """
    if kind == GrantKind.DOSSIER:
        if document_id is not None:
            raise ValueError("a dossier grant has no document_id")
        document_id = NO_DOCUMENT
    elif kind == GrantKind.DOCUMENT:
        if document_id is None:
            raise ValueError("a document grant needs the document_id")
    else:
        raise ValueError("kind must be a GrantKind")
    check_length(dossier_id, ID_SIZE, "dossier_id")
    check_length(document_id, ID_SIZE, "document_id")
    grant = Grant.decode(data)  # 1
    target = (grant.kind, grant.dossier_id, grant.document_id, grant.number)  # 2
    if target != (kind, dossier_id, document_id, number):
        raise IntegrityError(f"{WHAT}: is for another dossier, document, epoch or version")
    mine = me.public
    if grant.recipient_id != mine.user_id or grant.recipient_key_id != mine.key_id:  # 3
        raise KeyMismatchError(f"{WHAT}: addressed to someone else, or to other keys")
    _check_signed_by(grant, granter)  # 4, 5
    if grant.expires_at != NEVER_EXPIRES and grant.expires_at <= now:  # 6
        raise ExpiredError(f"{WHAT}: expired")
    try:  # 7
        key = bytes(nacl.public.SealedBox(me.box_private_key).decrypt(grant.sealed_key))
    except nacl.exceptions.CryptoError as exc:
        raise IntegrityError(f"{WHAT}: sealed key does not open") from exc
    if kind == GrantKind.DOSSIER:
        commitment = dossier_key_commitment(key, dossier_id, number)
    else:
        commitment = file_key_commitment(key, dossier_id, document_id, number)
    if not hmac.compare_digest(commitment, grant.key_commitment):
        raise IntegrityError(f"{WHAT}: sealed key does not match the key commitment")
    return OpenedGrant(grant, key)


def _check_signed_by(grant: Grant, granter: Identity) -> None:
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
    _check_signed_by(grant, granter)
    return grant
