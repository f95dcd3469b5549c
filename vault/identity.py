"""Public identities: the signed identity record, its fingerprint and signature checks.

The public half of section 3 of docs/format.md, without any secret key: the server may import
this module (it computes organisation fingerprints, `vault.orgkeys`), and the import contract
in pyproject.toml keeps it away from `vault.keys`, where a user's private keys live. Nothing
here touches the network or the disk.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import nacl.exceptions
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
# The size of a PrivateKeys (section 4: three keys), which a membership seals to a member;
# public knowledge, defined here so that parsing a membership needs no secret-key code.
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
        return identity_body(
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


def identity_body(
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
