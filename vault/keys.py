"""Identities: a user's key pairs, the signed identity record and the fingerprint.

Implements sections 3 and 4 ("PrivateKeys") of docs/format.md. A `PrivateIdentity` holds the
three secrets a user generates on their own device; its `public` half is the `Identity` record
that the server publishes. The public part (the record, fingerprints, signature checks) lives
in `vault.identity`, which holds no secret key, and is re-exported here. Nothing here touches
the network or the disk.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from functools import cached_property

import nacl.public
import nacl.signing

from . import labels
from .encoding import ID_SIZE
from .errors import MalformedError
from .identity import (
    KEY_SIZE,
    PRIVATE_KEYS_SIZE,
    Identity,
    check_username,
    fingerprint_digest,
    format_fingerprint,
    identity_body,
    normalise_fingerprint,
    verify_signature,
)

# The public part is re-exported: `from vault.keys import Identity` keeps working.
__all__ = [
    "PRIVATE_KEYS_SIZE",
    "Identity",
    "PrivateIdentity",
    "check_username",
    "fingerprint_digest",
    "format_fingerprint",
    "normalise_fingerprint",
    "verify_signature",
]


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
        body = identity_body(self.user_id, self.key_version, self.username, signing_key, box_key)
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
