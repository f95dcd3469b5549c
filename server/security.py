"""Session tokens, auth-key hashes and the fake prelogin salt.

The auth key a client sends is already a 32-byte HKDF output of an Argon2id-stretched
passphrase (format section 2), so the server's own Argon2id only has to make a stolen database
useless for replay, not slow down guessing a weak secret. Modest parameters (8 MiB, 3 passes,
about 10 ms) keep login fast and memory small, and at most `MAX_CONCURRENT_HASHES` run at once,
so a burst of logins cannot make the server allocate without bound.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

TOKEN_BYTES = 32
FAKE_SALT_BYTES = 16

MAX_CONCURRENT_HASHES = 4

hasher = PasswordHasher(time_cost=3, memory_cost=8192, parallelism=1, hash_len=32, salt_len=16)
_hash_slots = threading.BoundedSemaphore(MAX_CONCURRENT_HASHES)

# Unknown users are checked against this, so "no such user" costs the same as "wrong key".
DUMMY_HASH = hasher.hash(secrets.token_bytes(32))


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def hash_key(key: bytes) -> str:
    with _hash_slots:
        return hasher.hash(key)


def verify_key(stored_hash: str | None, key: bytes) -> bool:
    """Check `key` against `stored_hash`; with None, spend the same time and say no."""
    try:
        with _hash_slots:
            ok = hasher.verify(stored_hash or DUMMY_HASH, key)
    except (VerificationError, InvalidHashError):
        return False
    return ok and stored_hash is not None


def fake_salt(secret: bytes, username: str) -> bytes:
    """The salt prelogin shows for an unknown name: stable per name, unpredictable without
    the server secret, so it cannot be told apart from a real account's salt."""
    return hmac.new(secret, username.encode("utf-8"), hashlib.sha256).digest()[:FAKE_SALT_BYTES]
