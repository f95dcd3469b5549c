"""The document header: the author's signed statement about one document version.

Implements docs/format.md section 7: the `DocumentHeader` layout, sealing a header (wrapping the
file key under the dossier key of an epoch, committing to it, sealing the metadata, signing),
and verifying one in the documented order, each failure stopping everything:

    open_header()          steps 1-7: parse, target, author, signature, file key, commitment,
                           metadata
    check_payload_digest() step 8: the streamed payload matches what the header signs

`DocumentHeader.decode` (alias `peek`) is parsing only: it lets a client read the routing fields
(dossier, document, version, author, epoch) before it knows whom to trust, and trusts nothing.
The layout, its hash and the identity protocols hold no secret and live in
`vault.headerstatement`, which the server may import and this module re-exports. Identities are
taken through the small `SigningIdentity` / `VerifyingIdentity` protocols, which `vault.keys`
satisfies, so this module does not import `vault.keys` either.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from . import labels
from .derive import derive
from .encoding import ID_SIZE, check_length, check_u64, u64
from .errors import IntegrityError, KeyMismatchError, SignatureError
from .headerstatement import (
    DOSSIER_KEY_SIZE,
    FILE_KEY_SIZE,
    FORMAT_VERSION,
    HASH_SIZE,
    HEADER_MAGIC,
    KEY_ID_SIZE,
    METADATA_MAX,
    SIGNATURE_SIZE,
    WHAT,
    WRAPPED_FILE_KEY_SIZE,
    DocumentHeader,
    IndexedHeaders,
    SigningIdentity,
    VerifyingIdentity,
    document_ids,
    header_hash,
    signed_by_index,
)
from .metadata import (
    DocumentMetadata,
    new_nonce,
    open_aead,
    open_document_metadata,
    seal_aead,
)

# The statement (`vault.headerstatement`) is re-exported: `from vault.header import DocumentHeader`.
__all__ = [
    "DOSSIER_KEY_SIZE",
    "FILE_KEY_SIZE",
    "FORMAT_VERSION",
    "HASH_SIZE",
    "HEADER_MAGIC",
    "KEY_ID_SIZE",
    "METADATA_MAX",
    "SIGNATURE_SIZE",
    "WRAPPED_FILE_KEY_SIZE",
    "DocumentHeader",
    "IndexedHeaders",
    "OpenedHeader",
    "SigningIdentity",
    "VerifyingIdentity",
    "check_payload_digest",
    "document_ids",
    "file_key_commitment",
    "header_hash",
    "new_file_key",
    "open_header",
    "seal_header",
]


def new_file_key() -> bytes:
    """A fresh random file key: one per document version (threat D11)."""
    return secrets.token_bytes(FILE_KEY_SIZE)


def file_key_commitment(
    file_key: bytes, dossier_id: bytes, document_id: bytes, version: int
) -> bytes:
    """`key_commitment`: binds a file key to exactly one document version (threat K3)."""
    return derive(
        file_key, labels.FILE_KEY_COMMITMENT, document_ids(dossier_id, document_id, version)
    )


@lru_cache(maxsize=64)
def _wrap_key(dossier_key: bytes, dossier_id: bytes, epoch: int) -> bytes:
    # Remembered: every header of an epoch wraps its file key under the same wrap key, and a
    # listing opens thousands. (The cache holds keys the caller holds anyway.)
    return derive(dossier_key, labels.DOSSIER_WRAP_KEY, dossier_id + u64(epoch))


def _wrap_ad(ids: bytes, epoch: int) -> bytes:
    return labels.FILE_KEY_WRAP + b"\x00" + ids + u64(epoch)


def _metadata_ad(ids: bytes) -> bytes:
    return labels.METADATA + b"\x00" + ids


@dataclass(frozen=True)
class OpenedHeader:
    """A header that passed steps 1-7, with the file key and metadata it yielded."""

    header: DocumentHeader
    file_key: bytes = field(repr=False)
    metadata: DocumentMetadata


def seal_header(
    author: SigningIdentity,
    *,
    dossier_id: bytes,
    document_id: bytes,
    version: int,
    epoch: int,
    dossier_key: bytes,
    file_key: bytes,
    payload_size: int,
    payload_hash: bytes,
    metadata: DocumentMetadata,
    created_at: int,
) -> bytes:
    """Write and sign the header of a document version whose payload is already encrypted."""
    return _seal_header_from_parts(
        author,
        dossier_id=dossier_id,
        document_id=document_id,
        version=version,
        epoch=epoch,
        dossier_key=dossier_key,
        file_key=file_key,
        payload_size=payload_size,
        payload_hash=payload_hash,
        metadata=metadata,
        created_at=created_at,
        wrap_nonce=new_nonce(),
        metadata_nonce=new_nonce(),
    )


def _seal_header_from_parts(
    author: SigningIdentity,
    *,
    dossier_id: bytes,
    document_id: bytes,
    version: int,
    epoch: int,
    dossier_key: bytes,
    file_key: bytes,
    payload_size: int,
    payload_hash: bytes,
    metadata: DocumentMetadata,
    created_at: int,
    wrap_nonce: bytes,
    metadata_nonce: bytes,
) -> bytes:
    """`seal_header` with its randomness given, so that test vectors are reproducible."""
    check_length(dossier_id, ID_SIZE, "dossier_id")
    check_length(document_id, ID_SIZE, "document_id")
    check_length(dossier_key, DOSSIER_KEY_SIZE, "dossier_key")
    check_length(file_key, FILE_KEY_SIZE, "file_key")
    check_length(payload_hash, HASH_SIZE, "payload_hash")
    check_u64(version, "version", 1)
    check_u64(epoch, "epoch", 1)
    check_u64(payload_size, "payload_size")
    check_u64(created_at, "created_at")
    if not isinstance(metadata, DocumentMetadata):
        raise TypeError("metadata must be a DocumentMetadata")
    ids = document_ids(dossier_id, document_id, version)
    wrapped = seal_aead(
        _wrap_key(dossier_key, dossier_id, epoch), wrap_nonce, file_key, _wrap_ad(ids, epoch)
    )
    sealed_metadata = seal_aead(
        derive(file_key, labels.METADATA_KEY), metadata_nonce, metadata.encode(), _metadata_ad(ids)
    )
    if len(sealed_metadata) > METADATA_MAX:
        raise ValueError("document metadata is too large to seal")
    unsigned = DocumentHeader(
        dossier_id=dossier_id,
        document_id=document_id,
        version=version,
        author_id=author.user_id,
        author_key_id=author.public.key_id,
        epoch=epoch,
        wrapped_file_key=wrapped,
        key_commitment=file_key_commitment(file_key, dossier_id, document_id, version),
        payload_size=payload_size,
        payload_hash=payload_hash,
        created_at=created_at,
        metadata=sealed_metadata,
        signature=b"",
    )
    signature = author.sign(labels.DOCUMENT_HEADER_SIGNATURE, unsigned.body())
    return unsigned.body() + signature


def open_header(
    data: bytes,
    *,
    dossier_id: bytes,
    document_id: bytes,
    author: VerifyingIdentity,
    dossier_keys: Mapping[int, bytes] | None = None,
    file_key: bytes | None = None,
    version: int | None = None,
    index: IndexedHeaders | None = None,
) -> OpenedHeader:
    """Verify a header, steps 1-7 of section 7, and return its file key and metadata.

    Give exactly one of `dossier_keys` (epoch -> dossier key; the header names its epoch) or
    `file_key` (from a document grant, which replaces step 5). `version`, if given, is also
    required to match in step 2 (a server answering with another version's header).
    `index`: the dossier index, *verified* (section 9) under its owner's trusted identity. A
    header that index lists byte for byte and whose author is that owner needs no signature
    check of its own (step 4, last paragraph); any other header gets one.
    Step 8 is `check_payload_digest`, once the payload has been streamed.
    """
    if (dossier_keys is None) == (file_key is None):
        raise ValueError("open_header needs exactly one of dossier_keys or file_key")
    check_length(dossier_id, ID_SIZE, "dossier_id")
    check_length(document_id, ID_SIZE, "document_id")
    header = DocumentHeader.decode(data)  # 1
    if header.dossier_id != dossier_id or header.document_id != document_id:  # 2
        raise IntegrityError(f"{WHAT}: belongs to another dossier or document (swapped)")
    if version is not None and header.version != version:
        raise IntegrityError(f"{WHAT}: is for version {header.version}, not {version}")
    if header.author_id != author.user_id or header.author_key_id != author.key_id:  # 3
        raise KeyMismatchError(f"{WHAT}: author is not the expected identity")
    if index is None or not signed_by_index(data, header, index):  # 4
        try:
            # The layout is fixed and fully parsed, so the signed body is the received bytes
            # before the signature: verifying those skips re-encoding the header.
            signed = bytes(data[: len(data) - SIGNATURE_SIZE])
            author.verify(labels.DOCUMENT_HEADER_SIGNATURE, signed, header.signature)
        except SignatureError as exc:
            raise SignatureError(f"{WHAT}: signature does not verify") from exc
    if dossier_keys is not None:  # 5
        file_key = _unwrap_file_key(header, dossier_keys)
    elif file_key is not None:
        check_length(file_key, FILE_KEY_SIZE, "file_key")
    else:  # unreachable: checked on entry; keeps the type of file_key exact
        raise ValueError("open_header needs a file key")
    commitment = file_key_commitment(file_key, dossier_id, document_id, header.version)
    if not hmac.compare_digest(commitment, header.key_commitment):  # 6
        raise IntegrityError(f"{WHAT}: file key does not match the key commitment")
    metadata = open_document_metadata(  # 7
        derive(file_key, labels.METADATA_KEY), header.metadata, _metadata_ad(header.ids)
    )
    return OpenedHeader(header, file_key, metadata)


def _unwrap_file_key(header: DocumentHeader, dossier_keys: Mapping[int, bytes]) -> bytes:
    dossier_key = dossier_keys.get(header.epoch)
    if dossier_key is None:
        raise IntegrityError(f"{WHAT}: no dossier key for epoch {header.epoch}")
    check_length(dossier_key, DOSSIER_KEY_SIZE, "dossier key")
    return open_aead(
        _wrap_key(dossier_key, header.dossier_id, header.epoch),
        header.wrapped_file_key,
        _wrap_ad(header.ids, header.epoch),
        f"{WHAT}: wrapped file key",
    )


def check_payload_digest(
    opened: OpenedHeader, *, payload_size: int, payload_hash: bytes, plaintext_size: int
) -> None:
    """Step 8: the payload as streamed matches the signed header and the metadata.

    Call it after the payload decrypted (section 6) and before any plaintext is moved into
    place, with the size and BLAKE3 of the payload bytes and the plaintext size.
    """
    header = opened.header
    if payload_size != header.payload_size:
        raise IntegrityError(f"{WHAT}: payload size differs from the signed header")
    if not hmac.compare_digest(bytes(payload_hash), header.payload_hash):
        raise IntegrityError(f"{WHAT}: payload BLAKE3 differs from the signed header")
    if plaintext_size != opened.metadata.size:
        raise IntegrityError(f"{WHAT}: plaintext size differs from the signed metadata")
