"""The binary encoding every Kluis structure is written in (docs/format.md, "Conventions").

Integers are unsigned big-endian; ``vbytes`` is a u32 length followed by that many bytes.
A `Reader` raises `MalformedError` on every kind of bad input: too short, a length that runs
past the end, a value out of range, or bytes left over once a structure is complete. Parsers
built on it therefore never let a bare `struct.error` or `IndexError` escape.
"""

from __future__ import annotations

from .errors import MalformedError

ID_SIZE = 16
# A sealed value (section 1, AEAD) is nonce || ciphertext || tag: XChaCha20-Poly1305's sizes.
NONCE_SIZE = 24
TAG_SIZE = 16
SEALED_OVERHEAD = NONCE_SIZE + TAG_SIZE


class Writer:
    """Appends fields to a growing byte string."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def raw(self, data: bytes) -> Writer:
        self._parts.append(bytes(data))
        return self

    def u8(self, value: int) -> Writer:
        return self.raw(value.to_bytes(1, "big"))

    def u32(self, value: int) -> Writer:
        return self.raw(value.to_bytes(4, "big"))

    def u64(self, value: int) -> Writer:
        return self.raw(value.to_bytes(8, "big"))

    def fixed(self, data: bytes, size: int) -> Writer:
        if len(data) != size:
            raise ValueError(f"expected {size} bytes, got {len(data)}")
        return self.raw(data)

    def vbytes(self, data: bytes) -> Writer:
        return self.u32(len(data)).raw(data)

    def getvalue(self) -> bytes:
        return b"".join(self._parts)


class Reader:
    """Reads fields from a byte string, front to back, naming `what` in every error."""

    def __init__(self, data: bytes, what: str) -> None:
        if not isinstance(data, bytes | bytearray | memoryview):
            raise MalformedError(f"{what}: expected bytes, got {type(data).__name__}")
        self._data = bytes(data)
        self._pos = 0
        self.what = what

    @property
    def position(self) -> int:
        return self._pos

    def remaining(self) -> int:
        return len(self._data) - self._pos

    def raw(self, size: int) -> bytes:
        if size < 0 or self._pos + size > len(self._data):
            raise MalformedError(f"{self.what}: truncated")
        out = self._data[self._pos : self._pos + size]
        self._pos += size
        return out

    def u8(self) -> int:
        return self.raw(1)[0]

    def u32(self) -> int:
        return int.from_bytes(self.raw(4), "big")

    def u64(self) -> int:
        return int.from_bytes(self.raw(8), "big")

    def vbytes(self, max_size: int) -> bytes:
        size = self.u32()
        if size > max_size:
            raise MalformedError(f"{self.what}: field of {size} bytes exceeds {max_size}")
        return self.raw(size)

    def magic(self, expected: bytes) -> None:
        if self.raw(len(expected)) != expected:
            raise MalformedError(f"{self.what}: not a {self.what} (wrong magic bytes)")

    def consumed(self) -> bytes:
        """The bytes read so far (what a trailing signature covers)."""
        return self._data[: self._pos]

    def end(self) -> None:
        if self._pos != len(self._data):
            raise MalformedError(f"{self.what}: {self.remaining()} unexpected trailing bytes")


# -- the writing side: values a caller hands in, refused with ValueError ------------------------
U64_MAX = 2**64 - 1


def u64(value: int) -> bytes:
    return value.to_bytes(8, "big")


def check_u64(value: int, what: str, minimum: int = 0) -> None:
    """Writing side: refuse a value that is no u64 (or below `minimum`) with ValueError."""
    if type(value) is not int or not minimum <= value <= U64_MAX:
        raise ValueError(f"{what} must be an integer from {minimum} to 2**64 - 1")


def check_length(value: bytes, size: int, what: str) -> None:
    """Writing side: refuse anything but exactly `size` bytes with ValueError."""
    if not isinstance(value, bytes) or len(value) != size:
        raise ValueError(f"{what} must be {size} bytes")
