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
client's decision, not this module's. The statement, its parsing and `verify_grant` hold no
secret and live in `vault.grantstatement`, which the server may import; this module re-exports
them and adds what seals and opens the key.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field

import nacl.exceptions
import nacl.public

from . import labels
from .derive import derive
from .encoding import ID_SIZE, check_length, check_u64, u64
from .errors import ExpiredError, IntegrityError, KeyMismatchError
from .grantstatement import (
    COMMITMENT_SIZE,
    FORMAT_VERSION,
    GRANT_MAGIC,
    KEY_ID_SIZE,
    KEY_SIZE,
    NEVER_EXPIRES,
    NO_DOCUMENT,
    SEALED_KEY_SIZE,
    SIGNATURE_SIZE,
    WHAT,
    Grant,
    check_signed_by,
    verify_grant,
)
from .header import file_key_commitment
from .keys import Identity, PrivateIdentity
from .kinds import GrantKind, Rights

# The statement (`vault.grantstatement`) is re-exported: `from vault.grant import Grant`.
__all__ = [
    "COMMITMENT_SIZE",
    "FORMAT_VERSION",
    "GRANT_MAGIC",
    "KEY_ID_SIZE",
    "KEY_SIZE",
    "NEVER_EXPIRES",
    "NO_DOCUMENT",
    "SEALED_KEY_SIZE",
    "SIGNATURE_SIZE",
    "Grant",
    "OpenedGrant",
    "dossier_key_commitment",
    "make_document_grant",
    "make_dossier_grant",
    "new_dossier_key",
    "new_grant_id",
    "open_grant",
    "verify_grant",
]


def new_dossier_key() -> bytes:
    """A fresh random dossier key: one per epoch (section 10)."""
    return secrets.token_bytes(KEY_SIZE)


def new_grant_id() -> bytes:
    return secrets.token_bytes(ID_SIZE)


def dossier_key_commitment(dossier_key: bytes, dossier_id: bytes, epoch: int) -> bytes:
    """Binds a dossier key to exactly one (dossier, epoch) (section 8, kind 1)."""
    return derive(dossier_key, labels.DOSSIER_KEY_COMMITMENT, dossier_id + u64(epoch))


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
    check_signed_by(grant, granter)  # 4, 5
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
