"""The document header: the author's signed statement about one document version.

Implements docs/format.md section 7: the `DocumentHeader` layout, sealing a header (wrapping the
file key under the dossier key of an epoch, committing to it, sealing the metadata, signing),
and verifying one in the documented order, each failure stopping everything:

    open_header()          steps 1-7: parse, target, author, signature, file key, commitment,
                           metadata
    check_payload_digest() step 8: the streamed payload matches what the header signs

`DocumentHeader.decode` (alias `peek`) is parsing only: it lets a client read the routing fields
(dossier, document, version, author, epoch) before it knows whom to trust, and trusts nothing.

This module deliberately does not import `vault.keys`: the server may parse headers, and the
import contract keeps it away from secret-key code. Identities are taken through the small
`SigningIdentity` / `VerifyingIdentity` protocols, which `vault.keys` satisfies.
"""

from __future__ import annotations

import hmac
import secrets
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Final, Protocol

import blake3

from . import labels
from .derive import derive
from .encoding import ID_SIZE, Writer, check_length, check_u64, u64
from .errors import IntegrityError, KeyMismatchError, MalformedError, SignatureError
from .metadata import (
    NONCE_SIZE,
    SEALED_OVERHEAD,
    TAG_SIZE,
    DocumentMetadata,
    new_nonce,
    open_aead,
    open_document_metadata,
    seal_aead,
)

HEADER_MAGIC: Final = b"KLDH"
FORMAT_VERSION: Final = 1
FILE_KEY_SIZE: Final = 32
DOSSIER_KEY_SIZE: Final = 32
KEY_ID_SIZE: Final = 32
HASH_SIZE: Final = 32
SIGNATURE_SIZE: Final = 64
WRAPPED_FILE_KEY_SIZE: Final = NONCE_SIZE + FILE_KEY_SIZE + TAG_SIZE  # 72
METADATA_MAX: Final = 65536
WHAT: Final = "document header"
# magic, format version, then every field up to and including the metadata's length (u32).
_FIXED: Final = struct.Struct(
    f">{len(HEADER_MAGIC)}sB{ID_SIZE}s{ID_SIZE}sQ{ID_SIZE}s{KEY_ID_SIZE}sQ"
    f"{WRAPPED_FILE_KEY_SIZE}s{HASH_SIZE}sQ{HASH_SIZE}sQI"
)


class VerifyingIdentity(Protocol):
    """The public half of a user, as the caller trusts it (`vault.keys.Identity`)."""

    @property
    def user_id(self) -> bytes: ...

    @property
    def key_id(self) -> bytes: ...

    def verify(self, label: bytes, body: bytes, signature: bytes) -> None: ...


class SigningIdentity(Protocol):
    """A user who can sign (`vault.keys.PrivateIdentity`)."""

    @property
    def user_id(self) -> bytes: ...

    @property
    def public(self) -> VerifyingIdentity: ...

    def sign(self, label: bytes, body: bytes) -> bytes: ...


def document_ids(dossier_id: bytes, document_id: bytes, version: int) -> bytes:
    """`ids = dossier_id || document_id || version` (version as u64)."""
    return dossier_id + document_id + u64(version)


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


def header_hash(data: bytes) -> bytes:
    """BLAKE3 of the whole header, signature included: its name in the dossier index."""
    return bytes(blake3.blake3(bytes(data)).digest())


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
class DocumentHeader:
    """The fields of a document header, in wire order. Holds no secret."""

    dossier_id: bytes
    document_id: bytes
    version: int
    author_id: bytes
    author_key_id: bytes
    epoch: int
    wrapped_file_key: bytes = field(repr=False)
    key_commitment: bytes
    payload_size: int
    payload_hash: bytes
    created_at: int
    metadata: bytes = field(repr=False)  # sealed: nonce || ciphertext
    signature: bytes = field(repr=False)

    @property
    def ids(self) -> bytes:
        return document_ids(self.dossier_id, self.document_id, self.version)

    def body(self) -> bytes:
        """Every byte the signature covers."""
        return (
            Writer()
            .raw(HEADER_MAGIC)
            .u8(FORMAT_VERSION)
            .fixed(self.dossier_id, ID_SIZE)
            .fixed(self.document_id, ID_SIZE)
            .u64(self.version)
            .fixed(self.author_id, ID_SIZE)
            .fixed(self.author_key_id, KEY_ID_SIZE)
            .u64(self.epoch)
            .fixed(self.wrapped_file_key, WRAPPED_FILE_KEY_SIZE)
            .fixed(self.key_commitment, HASH_SIZE)
            .u64(self.payload_size)
            .fixed(self.payload_hash, HASH_SIZE)
            .u64(self.created_at)
            .vbytes(self.metadata)
            .getvalue()
        )

    def encode(self) -> bytes:
        return self.body() + Writer().fixed(self.signature, SIGNATURE_SIZE).getvalue()

    @classmethod
    def decode(cls, data: bytes) -> DocumentHeader:
        """Parse (step 1, `MalformedError`). Checks no signature and trusts nothing."""
        if not isinstance(data, bytes | bytearray | memoryview):
            raise MalformedError(f"{WHAT}: expected bytes, got {type(data).__name__}")
        data = bytes(data)
        # The fixed-size fields in one unpack: a listing parses ten thousand headers.
        if len(data) < len(HEADER_MAGIC):
            raise MalformedError(f"{WHAT}: truncated")
        if data[: len(HEADER_MAGIC)] != HEADER_MAGIC:
            raise MalformedError(f"{WHAT}: not a {WHAT} (wrong magic bytes)")
        if len(data) > len(HEADER_MAGIC) and data[len(HEADER_MAGIC)] != FORMAT_VERSION:
            raise MalformedError(f"{WHAT}: unsupported format version")
        if len(data) < _FIXED.size:
            raise MalformedError(f"{WHAT}: truncated")
        (
            _,
            _,
            dossier_id,
            document_id,
            version,
            author_id,
            author_key_id,
            epoch,
            wrapped_file_key,
            key_commitment,
            payload_size,
            payload_hash,
            created_at,
            metadata_size,
        ) = _FIXED.unpack_from(data)
        if metadata_size > METADATA_MAX:
            raise MalformedError(f"{WHAT}: field of {metadata_size} bytes exceeds {METADATA_MAX}")
        end = _FIXED.size + metadata_size
        if len(data) < end + SIGNATURE_SIZE:
            raise MalformedError(f"{WHAT}: truncated")
        if len(data) > end + SIGNATURE_SIZE:
            raise MalformedError(
                f"{WHAT}: {len(data) - end - SIGNATURE_SIZE} unexpected trailing bytes"
            )
        header = cls(
            dossier_id=dossier_id,
            document_id=document_id,
            version=version,
            author_id=author_id,
            author_key_id=author_key_id,
            epoch=epoch,
            wrapped_file_key=wrapped_file_key,
            key_commitment=key_commitment,
            payload_size=payload_size,
            payload_hash=payload_hash,
            created_at=created_at,
            metadata=data[_FIXED.size : end],
            signature=data[end:],
        )
        # Versions and epochs count from 1 (sections 7 and 10); 0 names nothing that exists.
        if header.version < 1:
            raise MalformedError(f"{WHAT}: version must be at least 1")
        if header.epoch < 1:
            raise MalformedError(f"{WHAT}: epoch must be at least 1")
        if len(header.metadata) < SEALED_OVERHEAD:
            raise MalformedError(f"{WHAT}: metadata too short to be sealed")
        return header

    peek = decode


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
    if index is None or not _signed_by_index(data, header, index):  # 4
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


class IndexedHeaders(Protocol):
    """What step 4 needs of a verified dossier index (`vault.index.DossierIndex`)."""

    @property
    def owner_id(self) -> bytes: ...

    @property
    def owner_key_id(self) -> bytes: ...

    def header_hash_of(self, document_id: bytes, version: int) -> bytes | None: ...


def _signed_by_index(data: bytes, header: DocumentHeader, index: IndexedHeaders) -> bool:
    """True if the verified index's owner is this header's author and signed its BLAKE3.

    The index signature covers `header_hash`, which covers every byte of the header, so it
    proves what the header's own signature would: the same person vouched for these bytes."""
    if header.author_id != index.owner_id or header.author_key_id != index.owner_key_id:
        return False
    listed = index.header_hash_of(header.document_id, header.version)
    return listed is not None and hmac.compare_digest(listed, header_hash(data))


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
