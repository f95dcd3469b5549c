"""Deriving one-purpose subkeys and key commitments with HKDF-SHA256 (RFC 5869).

Every key in the format has exactly one use (threat L16). Where a key has several, each use
gets its own subkey: HKDF-SHA256 with an empty salt and the info string
``label || 0x00 || context``, where the label is one of `vault.labels` and the context binds
the subkey to the objects it serves (dossier id, document id, version, epoch).

Because HKDF is HMAC-SHA256 under the hood, an output doubles as a *commitment* to the input
key: finding two keys with the same output means finding a SHA-256 collision. The format uses
this to make ChaCha20-Poly1305, which is not key-committing, bind to exactly one key.
"""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_SIZE = 32


def derive(key: bytes, label: bytes, context: bytes = b"", length: int = KEY_SIZE) -> bytes:
    """Return HKDF-SHA256(ikm=key, salt="", info=label || 0x00 || context)[:length]."""
    if not isinstance(key, bytes) or len(key) < 16:
        raise TypeError("derive() needs a key of at least 16 bytes")
    return HKDF(
        algorithm=hashes.SHA256(), length=length, salt=None, info=label + b"\x00" + context
    ).derive(key)
