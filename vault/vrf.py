"""ECVRF-EDWARDS25519-SHA512-TAI (RFC 9381 section 5, suite string 0x03): a verifiable random
function. Only the holder of the secret key can compute the output for an input, and anyone
with the public key can check a claimed output against its proof.

The key transparency log names the subject of an entry by a VRF output of its name
(`vault.logentry`), so the log does not list residents by name: whoever reads it sees opaque
labels, and learns a name's label only from the server, with a proof, when allowed to look it up.

The curve arithmetic is libsodium's (`crypto_core_ed25519_*`, `crypto_scalarmult_ed25519_*`,
through PyNaCl). Every operation on secret values (the secret scalar and the nonce) runs there,
on points of the prime-order subgroup. libsodium refuses to multiply points outside that
subgroup, so the verifier, which must follow the RFC for any public key and proof it is given,
multiplies such public points by repeated addition (`crypto_core_ed25519_add`, which accepts any
curve point); no secret is involved there. The RFC's own test vectors (Appendix B.3, examples
16-18) are in tests/vault/test_vrf.py.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Final

import nacl.bindings as sodium

from .errors import MalformedError, SignatureError

__all__ = [
    "OUTPUT_SIZE",
    "PROOF_SIZE",
    "PUBLIC_KEY_SIZE",
    "SECRET_KEY_SIZE",
    "proof_to_hash",
    "prove",
    "public_key",
    "verify",
]

SUITE: Final = b"\x03"  # ECVRF-EDWARDS25519-SHA512-TAI
SECRET_KEY_SIZE: Final = 32  # an Ed25519 secret key (seed), RFC 8032 section 5.1.5
PUBLIC_KEY_SIZE: Final = 32
POINT_SIZE: Final = 32  # ptLen
CHALLENGE_SIZE: Final = 16  # cLen
SCALAR_SIZE: Final = 32  # qLen
PROOF_SIZE: Final = POINT_SIZE + CHALLENGE_SIZE + SCALAR_SIZE
OUTPUT_SIZE: Final = 64  # SHA-512

P: Final = 2**255 - 19  # the field
Q: Final = 2**252 + 27742317777372353535851937790883648493  # the prime order of the subgroup
IDENTITY: Final = (1).to_bytes(POINT_SIZE, "little")

# Domain separators of RFC 9381 section 5.4.
ENCODE_TO_CURVE_FRONT: Final = b"\x01"
CHALLENGE_FRONT: Final = b"\x02"
PROOF_TO_HASH_FRONT: Final = b"\x03"
BACK: Final = b"\x00"


# -- points and scalars ----------------------------------------------------------------------------
def _decode_point(data: bytes) -> bytes | None:
    """RFC 8032 5.1.3 decoding, as RFC 9381 requires of string_to_point: the encoding of a point
    on the curve with y < p, and not the sign bit set for x = 0. Returns the (canonical) bytes,
    or None for INVALID."""
    if len(data) != POINT_SIZE:
        return None
    y = int.from_bytes(data, "little") & ((1 << 255) - 1)
    if y >= P or (data[31] >> 7 and y in (1, P - 1)):  # y = +-1 are the points with x = 0
        return None
    try:
        canonical = sodium.crypto_core_ed25519_add(data, IDENTITY)  # decodes, or fails if no x
    except RuntimeError:
        return None
    return data if canonical == data else None


def _add(a: bytes, b: bytes) -> bytes:
    return sodium.crypto_core_ed25519_add(a, b)


def _times_cofactor(point: bytes) -> bytes:
    for _ in range(3):
        point = _add(point, point)
    return point


def _scalar(value: int) -> bytes:
    return (value % Q).to_bytes(SCALAR_SIZE, "little")


def _in_subgroup(point: bytes) -> bool:
    """Canonical, of the prime-order subgroup and not the identity (libsodium's test)."""
    return bool(sodium.crypto_core_ed25519_is_valid_point(point))


def _multiply_public(k: int, point: bytes) -> bytes:
    """k * point for public k and point, for any point on the curve."""
    if _in_subgroup(point):
        if k % Q == 0:
            return IDENTITY
        return sodium.crypto_scalarmult_ed25519_noclamp(_scalar(k), point)
    return _double_and_add(k, point)


def _double_and_add(k: int, point: bytes) -> bytes:
    """k * point by repeated addition: for public points with a small-order component, which
    libsodium's scalar multiplication refuses (not constant time; never used on secrets)."""
    result, addend = IDENTITY, point
    while k:
        if k & 1:
            result = _add(result, addend)
        addend = _add(addend, addend)
        k >>= 1
    return result


def _multiply_base(k: int) -> bytes:
    if k % Q == 0:
        return IDENTITY
    return sodium.crypto_scalarmult_ed25519_base_noclamp(_scalar(k))


# -- the pieces of RFC 9381 section 5.4 ------------------------------------------------------------
def _encode_to_curve(salt: bytes, alpha: bytes) -> bytes:
    """5.4.1.1 try-and-increment, with encode_to_curve_salt = the public key."""
    for ctr in range(256):
        digest = hashlib.sha512(
            SUITE + ENCODE_TO_CURVE_FRONT + salt + alpha + bytes([ctr]) + BACK
        ).digest()
        point = _decode_point(digest[:POINT_SIZE])
        if point is not None:
            return _times_cofactor(point)
    raise RuntimeError("ECVRF encode_to_curve: no point in 256 tries")  # probability 2**-256


def _challenge(*points: bytes) -> bytes:
    """5.4.3: the first 16 bytes of SHA-512 over the suite, 0x02, the five points and 0x00."""
    return hashlib.sha512(SUITE + CHALLENGE_FRONT + b"".join(points) + BACK).digest()[
        :CHALLENGE_SIZE
    ]


def _nonce(secret_hash: bytes, h_string: bytes) -> bytes:
    """5.4.2.2 (RFC 8032 style): SHA-512(second half of SHA-512(SK) || h_string) mod q."""
    return sodium.crypto_core_ed25519_scalar_reduce(
        hashlib.sha512(secret_hash[32:] + h_string).digest()
    )


def _secret_scalar(secret: bytes) -> tuple[bytes, bytes]:
    """(x as 32 bytes, clamped per RFC 8032 5.1.5, and SHA-512(SK))."""
    if not isinstance(secret, bytes) or len(secret) != SECRET_KEY_SIZE:
        raise ValueError("an ECVRF secret key is 32 bytes")
    digest = hashlib.sha512(secret).digest()
    x = bytearray(digest[:32])
    x[0] &= 248
    x[31] &= 127
    x[31] |= 64
    return bytes(x), digest


def _decode_proof(pi: bytes) -> tuple[bytes, int, int]:
    """5.4.4: (Gamma, c, s); MalformedError for INVALID."""
    if not isinstance(pi, bytes) or len(pi) != PROOF_SIZE:
        raise MalformedError("VRF proof: not 80 bytes")
    gamma = _decode_point(pi[:POINT_SIZE])
    if gamma is None:
        raise MalformedError("VRF proof: Gamma is not a point")
    c = int.from_bytes(pi[POINT_SIZE : POINT_SIZE + CHALLENGE_SIZE], "little")
    s = int.from_bytes(pi[POINT_SIZE + CHALLENGE_SIZE :], "little")
    if s >= Q:
        raise MalformedError("VRF proof: s is not below the group order")
    return gamma, c, s


# -- the VRF ---------------------------------------------------------------------------------------
def public_key(secret: bytes) -> bytes:
    """Y = x * B: the Ed25519 public key of the secret key."""
    x, _ = _secret_scalar(secret)
    return sodium.crypto_scalarmult_ed25519_base_noclamp(x)


def prove(secret: bytes, alpha: bytes) -> bytes:
    """RFC 9381 5.1: the 80-byte proof pi = Gamma || c || s for input `alpha`."""
    x, digest = _secret_scalar(secret)
    y = sodium.crypto_scalarmult_ed25519_base_noclamp(x)
    h = _encode_to_curve(y, alpha)
    gamma = sodium.crypto_scalarmult_ed25519_noclamp(x, h)
    k = _nonce(digest, h)
    u = sodium.crypto_scalarmult_ed25519_base_noclamp(k)
    v = sodium.crypto_scalarmult_ed25519_noclamp(k, h)
    c = _challenge(y, h, gamma, u, v)
    x_reduced = sodium.crypto_core_ed25519_scalar_reduce(x + bytes(32))
    cx = sodium.crypto_core_ed25519_scalar_mul(c + bytes(SCALAR_SIZE - CHALLENGE_SIZE), x_reduced)
    s = sodium.crypto_core_ed25519_scalar_add(k, cx)
    return gamma + c + s


def proof_to_hash(pi: bytes) -> bytes:
    """RFC 9381 5.2: the 64-byte output beta of a proof (which this does not verify)."""
    gamma, _, _ = _decode_proof(pi)
    return hashlib.sha512(SUITE + PROOF_TO_HASH_FRONT + _times_cofactor(gamma) + BACK).digest()


def verify(public: bytes, alpha: bytes, pi: bytes) -> bytes:
    """RFC 9381 5.3 with validate_key: return beta if `pi` proves it for `alpha` under `public`.

    Raises MalformedError for a public key that is not a point or has small order (5.4.5), or a
    proof that does not decode (5.4.4), and SignatureError for a proof that does not verify.
    """
    y = _decode_point(public) if isinstance(public, bytes) else None
    if y is None or _times_cofactor(y) == IDENTITY:
        raise MalformedError("VRF public key: not a point of large order")
    gamma, c, s = _decode_proof(pi)
    h = _encode_to_curve(y, alpha)
    u = sodium.crypto_core_ed25519_sub(_multiply_base(s), _multiply_public(c, y))
    v = sodium.crypto_core_ed25519_sub(_multiply_public(s, h), _multiply_public(c, gamma))
    expected = _challenge(y, h, gamma, u, v)
    if not hmac.compare_digest(expected, pi[POINT_SIZE : POINT_SIZE + CHALLENGE_SIZE]):
        raise SignatureError("VRF proof does not verify")
    return proof_to_hash(pi)
