"""The encrypted JSON metadata of documents and dossiers, and the AEAD that seals it.

Implements docs/format.md section 7 (document metadata M: the table of `name`, `media_type`,
`title`, `size`, `modified`, `created`) and section 9 (dossier metadata D: `title`, `created`),
plus the AEAD convention of section 1 (a sealed value is `nonce || XChaCha20-Poly1305
ciphertext`), which the document header and the dossier index share.

Writing is canonical (sorted keys, no spaces, UTF-8, padded with spaces to a multiple of 256
bytes so the server learns a file name's length only to the nearest 256 bytes). Reading is
strict about *what* is said (exactly these members, these types and ranges) but not about how
the JSON is spelled: another conforming client (a browser's `JSON.stringify`) orders members
differently, and the metadata is authenticated anyway. Invalid values on the writing side raise
ValueError or TypeError; anything a reader cannot accept raises `MalformedError`.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any, Final, NoReturn

import nacl.bindings
import nacl.exceptions

from .encoding import NONCE_SIZE, SEALED_OVERHEAD
from .errors import IntegrityError, MalformedError

PADDING_BLOCK: Final = 256
PADDING_BYTE: Final = b" "
AEAD_KEY_SIZE: Final = 32

NAME_MAX: Final = 255
MEDIA_TYPE_MAX: Final = 255
DOCUMENT_TITLE_MAX: Final = 1024
DOSSIER_TITLE_MAX: Final = 1024
# Sizes and times are u64 everywhere else in the format; a larger JSON integer cannot be real.
# The largest integer every JSON implementation reads exactly (2**53 - 1, JavaScript's limit).
INTEGER_MAX: Final = 2**53 - 1
FORBIDDEN_NAME_CHARACTERS: Final = frozenset("/\\\x7f" + "".join(map(chr, range(0x20))))
FORBIDDEN_NAMES: Final = frozenset({".", ".."})

DOCUMENT_MEMBERS: Final = frozenset({"name", "media_type", "title", "size", "modified", "created"})
DOSSIER_MEMBERS: Final = frozenset({"title", "created"})


# -- AEAD (section 1) ------------------------------------------------------------------------


def new_nonce() -> bytes:
    """A fresh random 24-byte XChaCha20-Poly1305 nonce."""
    return secrets.token_bytes(NONCE_SIZE)


def seal_aead(key: bytes, nonce: bytes, plaintext: bytes, associated_data: bytes) -> bytes:
    """`nonce || XChaCha20-Poly1305(key, nonce, plaintext, associated_data)`."""
    if len(key) != AEAD_KEY_SIZE or len(nonce) != NONCE_SIZE:
        raise ValueError("sealing needs a 32-byte key and a 24-byte nonce")
    ciphertext = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_encrypt(
        plaintext, associated_data, nonce, key
    )
    return nonce + ciphertext


def open_aead(key: bytes, sealed: bytes, associated_data: bytes, what: str) -> bytes:
    """Open `nonce || ciphertext`; any failure is an IntegrityError naming `what`."""
    if len(key) != AEAD_KEY_SIZE:
        raise ValueError("opening needs a 32-byte key")
    if len(sealed) < SEALED_OVERHEAD:
        raise IntegrityError(f"{what}: too short to be sealed")
    try:
        return nacl.bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(
            sealed[NONCE_SIZE:], associated_data, sealed[:NONCE_SIZE], key
        )
    except nacl.exceptions.CryptoError as exc:
        # One message for a wrong key and for altered bytes: AEAD cannot tell them apart.
        raise IntegrityError(f"{what}: does not decrypt (wrong key, or altered)") from exc


# -- member checks -------------------------------------------------------------------------


def _text(value: object, member: str, minimum: int, maximum: int) -> str:
    if type(value) is not str:
        raise TypeError(f"{member} must be a string")
    if not minimum <= len(value) <= maximum:
        raise ValueError(f"{member} must be {minimum} to {maximum} characters")
    try:
        # JSON can spell an unpaired surrogate (\ud800); it has no UTF-8 form, so it is no text.
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{member} contains an unpaired surrogate") from None
    return value


def _integer(value: object, member: str) -> int:
    # `type(...) is int` because a JSON `true` decodes to a Python bool, which is an int.
    if type(value) is not int:
        raise TypeError(f"{member} must be an integer")
    if not 0 <= value <= INTEGER_MAX:
        raise ValueError(f"{member} must be between 0 and 2**64 - 1")
    return value


def _canonical(members: dict[str, object]) -> bytes:
    text = json.dumps(
        members, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    raw = text.encode("utf-8")
    return raw + PADDING_BYTE * (-len(raw) % PADDING_BLOCK)


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        # Two readers could keep different copies of a duplicated member: refuse both.
        raise ValueError("a member appears twice")
    return out


# Built once: `json.loads` with hooks builds a new decoder on every call, and a listing
# decodes the metadata of every document in a dossier.
_DECODER = json.JSONDecoder(object_pairs_hook=_unique_members, parse_constant=_reject_constant)


def _parse(data: bytes, what: str, members: frozenset[str]) -> dict[str, Any]:
    """Check the padding and parse the JSON object; return its members (values unchecked)."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise MalformedError(f"{what}: expected bytes, got {type(data).__name__}")
    data = bytes(data)
    if not data or len(data) % PADDING_BLOCK:
        raise MalformedError(f"{what}: length is not a non-zero multiple of {PADDING_BLOCK}")
    body = data.rstrip(PADDING_BYTE)
    if len(data) - len(body) >= PADDING_BLOCK:
        raise MalformedError(f"{what}: padded beyond the next multiple of {PADDING_BLOCK}")
    try:
        value = _DECODER.decode(body.decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        # ValueError covers bad UTF-8, bad JSON, duplicates, NaN and over-long integers.
        raise MalformedError(f"{what}: not a valid UTF-8 JSON object") from exc
    if type(value) is not dict:
        raise MalformedError(f"{what}: not a JSON object")
    if set(value) != members:
        raise MalformedError(f"{what}: members must be exactly {', '.join(sorted(members))}")
    return value


# -- section 7: document metadata ----------------------------------------------------------


@dataclass(frozen=True)
class DocumentMetadata:
    """What the author says about one document version; sealed inside its header."""

    name: str
    media_type: str
    title: str
    size: int
    modified: int
    created: int

    def __post_init__(self) -> None:
        name = _text(self.name, "name", 1, NAME_MAX)
        # A name is used as a file name when saving: nothing that could climb out of a folder.
        if FORBIDDEN_NAME_CHARACTERS.intersection(name) or name in FORBIDDEN_NAMES:
            raise ValueError(
                "name must not be '.' or '..' or contain '/', '\\' or control characters"
            )
        _text(self.media_type, "media_type", 0, MEDIA_TYPE_MAX)
        _text(self.title, "title", 0, DOCUMENT_TITLE_MAX)
        _integer(self.size, "size")
        _integer(self.modified, "modified")
        _integer(self.created, "created")

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "media_type": self.media_type,
            "title": self.title,
            "size": self.size,
            "modified": self.modified,
            "created": self.created,
        }

    def encode(self) -> bytes:
        """Canonical padded UTF-8 JSON (the plaintext M of section 7)."""
        return _canonical(self.to_json())

    @classmethod
    def decode(cls, data: bytes) -> DocumentMetadata:
        what = "document metadata"
        members = _parse(data, what, DOCUMENT_MEMBERS)
        try:
            return cls(**members)
        except (TypeError, ValueError) as exc:
            raise MalformedError(f"{what}: {exc}") from exc


# -- section 9: dossier metadata -----------------------------------------------------------


@dataclass(frozen=True)
class DossierMetadata:
    """What the owner says about a dossier; sealed inside its index."""

    title: str
    created: int

    def __post_init__(self) -> None:
        _text(self.title, "title", 1, DOSSIER_TITLE_MAX)
        _integer(self.created, "created")

    def to_json(self) -> dict[str, object]:
        return {"title": self.title, "created": self.created}

    def encode(self) -> bytes:
        """Canonical padded UTF-8 JSON (the plaintext D of section 9)."""
        return _canonical(self.to_json())

    @classmethod
    def decode(cls, data: bytes) -> DossierMetadata:
        what = "dossier metadata"
        members = _parse(data, what, DOSSIER_MEMBERS)
        try:
            return cls(**members)
        except (TypeError, ValueError) as exc:
            raise MalformedError(f"{what}: {exc}") from exc


def open_document_metadata(key: bytes, sealed: bytes, associated_data: bytes) -> DocumentMetadata:
    """Decrypt and validate sealed document metadata (section 7, step 7)."""
    return DocumentMetadata.decode(open_aead(key, sealed, associated_data, "document metadata"))


def open_dossier_metadata(key: bytes, sealed: bytes, associated_data: bytes) -> DossierMetadata:
    """Decrypt and validate sealed dossier metadata (section 9, step 5)."""
    return DossierMetadata.decode(open_aead(key, sealed, associated_data, "dossier metadata"))
