"""The document header statement: the author's signed statement about one document version
(docs/format.md section 7), without its keys.

This module is the layout (`DocumentHeader`, which parses and trusts nothing), the header's hash
(its name in the dossier index), and the shapes of the identities that sign and verify headers
and indexes. It holds and opens no secret, so code that may not touch secret keys (the server,
see the import contracts in pyproject.toml) can read headers with it; sealing a header and
opening one (the wrapped file key, the metadata) are `vault.header`, which re-exports this.
"""

from __future__ import annotations

import hmac
import struct
from dataclasses import dataclass, field
from typing import Final, Protocol

import blake3

from .encoding import ID_SIZE, NONCE_SIZE, SEALED_OVERHEAD, TAG_SIZE, Writer, u64
from .errors import MalformedError

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


def header_hash(data: bytes) -> bytes:
    """BLAKE3 of the whole header, signature included: its name in the dossier index."""
    return bytes(blake3.blake3(bytes(data)).digest())


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


class IndexedHeaders(Protocol):
    """What step 4 needs of a verified dossier index (`vault.index.DossierIndex`)."""

    @property
    def owner_id(self) -> bytes: ...

    @property
    def owner_key_id(self) -> bytes: ...

    def header_hash_of(self, document_id: bytes, version: int) -> bytes | None: ...


def signed_by_index(data: bytes, header: DocumentHeader, index: IndexedHeaders) -> bool:
    """True if the verified index's owner is this header's author and signed its BLAKE3.

    The index signature covers `header_hash`, which covers every byte of the header, so it
    proves what the header's own signature would: the same person vouched for these bytes."""
    if header.author_id != index.owner_id or header.author_key_id != index.owner_key_id:
        return False
    listed = index.header_hash_of(header.document_id, header.version)
    return listed is not None and hmac.compare_digest(listed, header_hash(data))
