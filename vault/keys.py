"""Identities: a user's key pairs, the signed identity record and the fingerprint.

Implements sections 3 and 4 ("PrivateKeys") of docs/format.md. A `PrivateIdentity` holds the
three secrets a user generates on their own device; its `public` half is the `Identity` record
that the server publishes. Nothing here touches the network or the disk.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from functools import cached_property

import nacl.exceptions
import nacl.public
import nacl.signing

from . import labels
from .encoding import ID_SIZE, Reader, Writer
from .errors import MalformedError, SignatureError
from .names import USERNAME_MAX as USERNAME_MAX  # re-exported: where they were defined before
from .names import USERNAME_PATTERN as USERNAME_PATTERN
from .names import check_username as check_username

IDENTITY_MAGIC = b"KLID"
FORMAT_VERSION = 1
KEY_SIZE = 32
SIGNATURE_SIZE = 64
KEY_ID_SIZE = 32
PRIVATE_KEYS_SIZE = 3 * KEY_SIZE
FINGERPRINT_GROUPS = 12
FINGERPRINT_GROUP_BYTES = 5
FINGERPRINT_GROUP_MODULUS = 100_000


def fingerprint_digest(signing_key: bytes, box_key: bytes) -> bytes:
    """SHA-512 over the label and both public keys (format section 3)."""
    return hashlib.sha512(labels.FINGERPRINT + b"\x00" + signing_key + box_key).digest()


def format_fingerprint(digest: bytes) -> str:
    """The 12 groups of 5 digits people compare aloud or against a letter."""
    groups = []
    for i in range(FINGERPRINT_GROUPS):
        chunk = digest[i * FINGERPRINT_GROUP_BYTES : (i + 1) * FINGERPRINT_GROUP_BYTES]
        groups.append(f"{int.from_bytes(chunk, 'big') % FINGERPRINT_GROUP_MODULUS:05d}")
    return " ".join(groups)


def normalise_fingerprint(text: str) -> str:
    """Accept a fingerprint typed with any spacing; return the canonical display form."""
    digits = "".join(ch for ch in text if not ch.isspace())
    if len(digits) != FINGERPRINT_GROUPS * 5 or not (digits.isascii() and digits.isdigit()):
        raise MalformedError("a fingerprint is 60 digits (12 groups of 5)")
    return " ".join(digits[i : i + 5] for i in range(0, len(digits), 5))


def verify_signature(signing_key: bytes, label: bytes, body: bytes, signature: bytes) -> None:
    """Check an Ed25519 signature over `label || 0x00 || body`; raise SignatureError if bad."""
    try:
        nacl.signing.VerifyKey(signing_key).verify(label + b"\x00" + body, signature)
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError, TypeError) as exc:
        raise SignatureError(f"signature ({label.decode()}) does not verify") from exc


@dataclass(frozen=True)
class Identity:
    """A user's published identity record: who they are and their two public keys."""

    user_id: bytes
    key_version: int
    username: str
    signing_key: bytes
    box_key: bytes
    signature: bytes = field(repr=False)

    @property
    def key_id(self) -> bytes:
        return fingerprint_digest(self.signing_key, self.box_key)[:KEY_ID_SIZE]

    @property
    def fingerprint(self) -> str:
        return format_fingerprint(fingerprint_digest(self.signing_key, self.box_key))

    def verify(self, label: bytes, body: bytes, signature: bytes) -> None:
        verify_signature(self.signing_key, label, body, signature)

    def encode(self) -> bytes:
        return _identity_body(
            self.user_id, self.key_version, self.username, self.signing_key, self.box_key
        ) + bytes(self.signature)

    @classmethod
    def decode(cls, data: bytes) -> Identity:
        """Parse an identity record and check its self-signature."""
        r = Reader(data, "identity record")
        r.magic(IDENTITY_MAGIC)
        if r.u8() != FORMAT_VERSION:
            raise MalformedError("identity record: unsupported format version")
        user_id = r.raw(ID_SIZE)
        key_version = r.u32()
        try:
            username = check_username(r.vbytes(USERNAME_MAX).decode("ascii"))
        except UnicodeDecodeError as exc:
            raise MalformedError("identity record: username is not ASCII") from exc
        signing_key = r.raw(KEY_SIZE)
        box_key = r.raw(KEY_SIZE)
        body = r.consumed()
        signature = r.raw(SIGNATURE_SIZE)
        r.end()
        if key_version < 1:
            raise MalformedError("identity record: key version must be at least 1")
        verify_signature(signing_key, labels.IDENTITY_SIGNATURE, body, signature)
        return cls(user_id, key_version, username, signing_key, box_key, signature)


def _identity_body(
    user_id: bytes, key_version: int, username: str, signing_key: bytes, box_key: bytes
) -> bytes:
    return (
        Writer()
        .raw(IDENTITY_MAGIC)
        .u8(FORMAT_VERSION)
        .fixed(user_id, ID_SIZE)
        .u32(key_version)
        .vbytes(check_username(username).encode("ascii"))
        .fixed(signing_key, KEY_SIZE)
        .fixed(box_key, KEY_SIZE)
        .getvalue()
    )


@dataclass(frozen=True, repr=False)
class PrivateIdentity:
    """The three secrets of one user. Never leaves the client except inside a key bundle."""

    user_id: bytes
    key_version: int
    username: str
    box_secret: bytes
    signing_seed: bytes
    age_secret: bytes

    def __repr__(self) -> str:
        return f"PrivateIdentity(username={self.username!r}, <secrets hidden>)"

    @classmethod
    def generate(cls, user_id: bytes, username: str, key_version: int = 1) -> PrivateIdentity:
        return cls.from_private_keys(
            user_id, username, key_version, secrets.token_bytes(PRIVATE_KEYS_SIZE)
        )

    @classmethod
    def from_private_keys(
        cls, user_id: bytes, username: str, key_version: int, private_keys: bytes
    ) -> PrivateIdentity:
        """Rebuild an identity from the 96-byte PrivateKeys encoding (format section 4)."""
        if not isinstance(user_id, bytes) or len(user_id) != ID_SIZE:
            raise ValueError("a user id is 16 bytes")
        if not 1 <= key_version < 2**32:
            raise ValueError("a key version is from 1 to 2**32 - 1")
        if not isinstance(private_keys, bytes) or len(private_keys) != PRIVATE_KEYS_SIZE:
            raise MalformedError("private keys: expected 96 bytes")
        return cls(
            user_id,
            key_version,
            check_username(username),
            private_keys[:KEY_SIZE],
            private_keys[KEY_SIZE : 2 * KEY_SIZE],
            private_keys[2 * KEY_SIZE :],
        )

    def private_keys(self) -> bytes:
        return self.box_secret + self.signing_seed + self.age_secret

    @property
    def _signer(self) -> nacl.signing.SigningKey:
        return nacl.signing.SigningKey(self.signing_seed)

    @property
    def box_private_key(self) -> nacl.public.PrivateKey:
        return nacl.public.PrivateKey(self.box_secret)

    @cached_property
    def public(self) -> Identity:
        """The signed identity record, derived from the secrets (never trusted from a server)."""
        signing_key = bytes(self._signer.verify_key)
        box_key = bytes(self.box_private_key.public_key)
        body = _identity_body(self.user_id, self.key_version, self.username, signing_key, box_key)
        return Identity(
            self.user_id,
            self.key_version,
            self.username,
            signing_key,
            box_key,
            self.sign(labels.IDENTITY_SIGNATURE, body),
        )

    def sign(self, label: bytes, body: bytes) -> bytes:
        """Ed25519 signature over `label || 0x00 || body`."""
        return self._signer.sign(label + b"\x00" + body).signature
