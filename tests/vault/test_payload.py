"""Tests of vault.payload: the age v1 STREAM payload, its streaming behaviour and its failures.

The chunks are rebuilt here with a deliberately naive reference encoder (one
ChaCha20-Poly1305 call per chunk, no batching) so tampered payloads can be forged with the
real payload key, exactly as an attacker who knows a file key could (or could not) do.
"""

from __future__ import annotations

import io
import os
import random
import tracemalloc
from collections.abc import Iterator

import blake3
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vault import labels
from vault.derive import derive
from vault.errors import IntegrityError
from vault.payload import (
    CHUNK_SIZE,
    ENCRYPTED_CHUNK_SIZE,
    NONCE_SIZE,
    PayloadDigest,
    _encrypt_payload_from_parts,
    age_file_key,
    decrypt_payload,
    decrypt_payload_bytes,
    encrypt_payload,
    encrypt_payload_bytes,
    payload_size,
)

KEY = bytes(range(16))
OTHER_KEY = bytes(range(1, 17))
NONCE = bytes(range(100, 116))
BATCH = 16 * CHUNK_SIZE  # the implementation's batch: sizes around it hit the read-ahead
SIZES = [
    0,
    1,
    CHUNK_SIZE - 1,
    CHUNK_SIZE,
    CHUNK_SIZE + 1,
    3 * CHUNK_SIZE,
    3 * CHUNK_SIZE + 5,
    BATCH - 1,
    BATCH,
    BATCH + 1,
    2 * BATCH + CHUNK_SIZE,
]


# ---- reference encoder -------------------------------------------------------------------


def aead_for(key: bytes, nonce: bytes) -> ChaCha20Poly1305:
    payload_key = HKDF(hashes.SHA256(), 32, salt=nonce, info=b"payload").derive(key)
    return ChaCha20Poly1305(payload_key)


def seal(key: bytes, nonce: bytes, counter: int, last: bool, plaintext: bytes) -> bytes:
    chunk_nonce = counter.to_bytes(11, "big") + (b"\x01" if last else b"\x00")
    return aead_for(key, nonce).encrypt(chunk_nonce, plaintext, None)


def reference_payload(plaintext: bytes, key: bytes = KEY, nonce: bytes = NONCE) -> bytes:
    pieces = [plaintext[i : i + CHUNK_SIZE] for i in range(0, len(plaintext), CHUNK_SIZE)]
    pieces = pieces or [b""]
    return nonce + b"".join(
        seal(key, nonce, i, i == len(pieces) - 1, piece) for i, piece in enumerate(pieces)
    )


def split(payload: bytes) -> tuple[bytes, list[bytes]]:
    body = payload[NONCE_SIZE:]
    chunks = [body[i : i + ENCRYPTED_CHUNK_SIZE] for i in range(0, len(body), ENCRYPTED_CHUNK_SIZE)]
    return payload[:NONCE_SIZE], chunks


def encrypt_fixed(plaintext: bytes, key: bytes = KEY, nonce: bytes = NONCE) -> bytes:
    dst = io.BytesIO()
    _encrypt_payload_from_parts(io.BytesIO(plaintext), dst, key, nonce)
    return dst.getvalue()


def data(size: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(size)


def rejects(payload: bytes, match: str, key: bytes = KEY) -> None:
    with pytest.raises(IntegrityError, match=match):
        decrypt_payload_bytes(payload, key)


# ---- happy paths -------------------------------------------------------------------------


def test_age_file_key_is_the_labelled_16_byte_subkey() -> None:
    file_key = bytes(range(32))
    assert age_file_key(file_key) == derive(file_key, labels.AGE_FILE_KEY, b"", 16)
    assert len(age_file_key(file_key)) == 16
    assert age_file_key(file_key) != age_file_key(bytes(32))


@pytest.mark.parametrize("size", SIZES)
def test_round_trip_matches_reference_encoding(size: int) -> None:
    plaintext = os.urandom(size)
    payload = encrypt_fixed(plaintext)
    assert payload == reference_payload(plaintext)
    chunks = max(1, -(-size // CHUNK_SIZE))
    assert len(payload) == NONCE_SIZE + size + 16 * chunks
    assert decrypt_payload_bytes(payload, KEY) == plaintext


@pytest.mark.parametrize("size", [0, 1, CHUNK_SIZE, BATCH + 7])
def test_streaming_digest_covers_the_payload_bytes(size: int) -> None:
    plaintext = os.urandom(size)
    dst = io.BytesIO()
    digest = encrypt_payload(io.BytesIO(plaintext), dst, KEY)
    payload = dst.getvalue()
    expected = PayloadDigest(len(payload), blake3.blake3(payload).digest(), size)
    assert digest == expected
    out = io.BytesIO()
    assert decrypt_payload(io.BytesIO(payload), out, KEY) == expected
    assert out.getvalue() == plaintext


@pytest.mark.parametrize("size", [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, BATCH + 7])
def test_the_payload_size_is_known_from_the_plaintext_size(size: int) -> None:
    """A client declares an upload's size before it encrypts (uploads in parts)."""
    assert payload_size(size) == len(encrypt_payload_bytes(os.urandom(size), KEY))


def test_fresh_nonce_each_time() -> None:
    first, second = encrypt_payload_bytes(b"same", KEY), encrypt_payload_bytes(b"same", KEY)
    assert first[:NONCE_SIZE] != second[:NONCE_SIZE]
    assert decrypt_payload_bytes(first, KEY) == decrypt_payload_bytes(second, KEY) == b"same"


def test_progress_reports_cumulative_plaintext_per_chunk() -> None:
    size = 3 * CHUNK_SIZE + 5
    seen: list[int] = []
    payload = io.BytesIO()
    encrypt_payload(io.BytesIO(bytes(size)), payload, KEY, progress=seen.append)
    assert seen == [CHUNK_SIZE, 2 * CHUNK_SIZE, 3 * CHUNK_SIZE, size]
    back: list[int] = []
    decrypt_payload(io.BytesIO(payload.getvalue()), io.BytesIO(), KEY, progress=back.append)
    assert back == seen


class BoundedReader(io.RawIOBase):
    """A source that records every read size and hands out at most `step` bytes per call."""

    def __init__(self, content: bytes, step: int) -> None:
        self._content = memoryview(content)
        self._pos = 0
        self._step = step
        self.requests: list[int] = []

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        self.requests.append(len(buffer))
        got = self._content[self._pos : self._pos + min(len(buffer), self._step)]
        buffer[: len(got)] = got
        self._pos += len(got)
        return len(got)


class ReadOnly:
    """A duck-typed source with only read(), returning short reads."""

    def __init__(self, content: bytes) -> None:
        self._src = io.BytesIO(content)

    def read(self, size: int) -> bytes:
        return self._src.read(min(size, 1000))


class PartialWriter:
    """A sink that accepts at most 777 bytes per write, like a raw pipe may."""

    def __init__(self) -> None:
        self.out = bytearray()
        self.largest = 0

    def write(self, data: memoryview) -> int:
        self.largest = max(self.largest, len(data))
        self.out += data[:777]
        return min(len(data), 777)


def test_streaming_reads_and_writes_are_bounded() -> None:
    plaintext = os.urandom(5 * BATCH + 3)
    src = BoundedReader(plaintext, step=10_000)
    sink = PartialWriter()
    encrypt_payload(src, sink, KEY)  # type: ignore[arg-type]
    assert max(src.requests) <= BATCH < len(plaintext)
    assert sink.largest <= 16 * ENCRYPTED_CHUNK_SIZE
    back = BoundedReader(bytes(sink.out), step=12_345)
    out = PartialWriter()
    decrypt_payload(back, out, KEY)  # type: ignore[arg-type]
    assert max(back.requests) <= 16 * ENCRYPTED_CHUNK_SIZE
    assert bytes(out.out) == plaintext


def test_read_only_sources_work() -> None:
    plaintext = os.urandom(2 * CHUNK_SIZE + 9)
    payload = io.BytesIO()
    encrypt_payload(ReadOnly(plaintext), payload, KEY)  # type: ignore[arg-type]
    out = io.BytesIO()
    decrypt_payload(ReadOnly(payload.getvalue()), out, KEY)  # type: ignore[arg-type]
    assert out.getvalue() == plaintext


class Zeros(io.RawIOBase):
    """`size` zero bytes produced on demand: an input that never exists in memory at once."""

    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        got = min(len(buffer), self.left)
        buffer[:got] = bytes(got)
        self.left -= got
        return got


class Discard:
    def write(self, data: memoryview) -> int:
        return len(data)


def test_memory_does_not_grow_with_input_size() -> None:
    def peak_for(batches: int) -> int:
        tracemalloc.start()
        try:
            digest = encrypt_payload(Zeros(batches * BATCH), Discard(), KEY)  # type: ignore[arg-type]
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert digest.plaintext_size == batches * BATCH
        return peak

    small, large = peak_for(16), peak_for(64)
    assert large - small < 1024 * 1024  # four times the input, not a batch more in memory
    assert large < 32 * 1024 * 1024  # a few batches in flight (about 9 MiB), not the 64 MiB


# ---- tampering ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def three_and_a_bit() -> tuple[bytes, bytes]:
    plaintext = data(3 * CHUNK_SIZE + 5)
    return plaintext, encrypt_fixed(plaintext)


def test_wrong_key_fails_on_the_first_chunk(three_and_a_bit: tuple[bytes, bytes]) -> None:
    rejects(three_and_a_bit[1], "chunk 0 failed authentication", key=OTHER_KEY)


def test_flipped_nonce_byte(three_and_a_bit: tuple[bytes, bytes]) -> None:
    payload = bytearray(three_and_a_bit[1])
    payload[3] ^= 0x01
    rejects(bytes(payload), "chunk 0 failed authentication")


@pytest.mark.parametrize("chunk", [0, 1, 2, 3])
@pytest.mark.parametrize("where", ["first", "middle", "tag"])
def test_flipped_chunk_byte(three_and_a_bit: tuple[bytes, bytes], chunk: int, where: str) -> None:
    payload = bytearray(three_and_a_bit[1])
    start = NONCE_SIZE + chunk * ENCRYPTED_CHUNK_SIZE
    end = min(start + ENCRYPTED_CHUNK_SIZE, len(payload))
    position = {"first": start, "middle": (start + end) // 2, "tag": end - 1}[where]
    payload[position] ^= 0x80
    rejects(bytes(payload), f"chunk {chunk} failed authentication")


@pytest.mark.parametrize(
    ("cut", "match"),
    [
        (0, "too short for a nonce"),
        (NONCE_SIZE - 1, "too short for a nonce"),
        (NONCE_SIZE, "truncated"),
        (NONCE_SIZE + 10, "truncated"),  # shorter than a tag
        (NONCE_SIZE + 1000, "chunk 0 failed authentication"),  # mid-chunk
        (NONCE_SIZE + ENCRYPTED_CHUNK_SIZE, "truncated \\(final chunk missing\\)"),  # boundary
        (NONCE_SIZE + 3 * ENCRYPTED_CHUNK_SIZE, "truncated \\(final chunk missing\\)"),
        (-1, "chunk 3 failed authentication"),  # last byte of the tag
    ],
)
def test_truncation(three_and_a_bit: tuple[bytes, bytes], cut: int, match: str) -> None:
    rejects(three_and_a_bit[1][:cut], match)


def test_truncation_of_full_final_chunk_payload() -> None:
    payload = encrypt_fixed(data(2 * CHUNK_SIZE))
    rejects(payload[: NONCE_SIZE + ENCRYPTED_CHUNK_SIZE], "truncated \\(final chunk missing\\)")
    rejects(payload[:-16], "chunk 1 failed authentication")


def test_reordered_chunks(three_and_a_bit: tuple[bytes, bytes]) -> None:
    nonce, chunks = split(three_and_a_bit[1])
    rejects(nonce + chunks[1] + chunks[0] + b"".join(chunks[2:]), "chunk 0 failed")


def test_duplicated_chunk(three_and_a_bit: tuple[bytes, bytes]) -> None:
    nonce, chunks = split(three_and_a_bit[1])
    rejects(nonce + chunks[0] + b"".join(chunks), "chunk 1 failed")


def test_dropped_middle_chunk(three_and_a_bit: tuple[bytes, bytes]) -> None:
    nonce, chunks = split(three_and_a_bit[1])
    rejects(nonce + chunks[0] + b"".join(chunks[2:]), "chunk 1 failed")


def test_appended_chunk_after_full_final_chunk() -> None:
    payload = encrypt_fixed(data(2 * CHUNK_SIZE))
    _, chunks = split(payload)
    rejects(payload + chunks[0], "data after the final chunk")
    rejects(payload + b"\x00", "data after the final chunk")


def test_appended_data_after_short_final_chunk(three_and_a_bit: tuple[bytes, bytes]) -> None:
    # A short final chunk plus more bytes reads as one longer chunk that fails to open.
    rejects(three_and_a_bit[1] + b"garbage", "chunk 3 failed authentication")
    rejects(three_and_a_bit[1] + os.urandom(ENCRYPTED_CHUNK_SIZE), "chunk 3 failed")


@pytest.mark.parametrize("size", [BATCH, 2 * BATCH])
def test_appended_data_after_a_final_chunk_ending_a_batch(size: int) -> None:
    payload = encrypt_fixed(bytes(size))
    assert decrypt_payload_bytes(payload, KEY) == bytes(size)
    rejects(payload + b"x", "data after the final chunk")
    rejects(payload + payload[-ENCRYPTED_CHUNK_SIZE:], "data after the final chunk")


def test_empty_payload_with_appended_data() -> None:
    payload = encrypt_fixed(b"")
    assert len(payload) == NONCE_SIZE + 16
    rejects(payload + b"x", "chunk 0 failed authentication")


def test_chunk_spliced_from_another_payload_with_same_key(
    three_and_a_bit: tuple[bytes, bytes],
) -> None:
    plaintext, payload = three_and_a_bit
    other = encrypt_fixed(plaintext, nonce=bytes(16))
    nonce, chunks = split(payload)
    _, foreign = split(other)
    rejects(nonce + chunks[0] + foreign[1] + b"".join(chunks[2:]), "chunk 1 failed")


def test_chunk_spliced_from_same_payload_at_other_position() -> None:
    plaintext = bytes(3 * CHUNK_SIZE + 5)  # identical plaintext chunks: only the counter differs
    nonce, chunks = split(encrypt_fixed(plaintext))
    rejects(nonce + chunks[0] + chunks[2] + chunks[2] + chunks[3], "chunk 1 failed")


def test_final_full_chunk_re_encrypted_as_non_final_is_truncation() -> None:
    plaintext = data(2 * CHUNK_SIZE)
    nonce, chunks = split(encrypt_fixed(plaintext))
    forged = seal(KEY, nonce, 1, False, plaintext[CHUNK_SIZE:])
    rejects(nonce + chunks[0] + forged, "truncated \\(final chunk missing\\)")


def test_short_final_chunk_re_encrypted_as_non_final_fails() -> None:
    plaintext = data(CHUNK_SIZE + 5)
    nonce, chunks = split(encrypt_fixed(plaintext))
    forged = seal(KEY, nonce, 1, False, plaintext[CHUNK_SIZE:])
    rejects(nonce + chunks[0] + forged, "chunk 1 failed authentication")


def test_middle_chunk_marked_final_then_more_data() -> None:
    plaintext = data(3 * CHUNK_SIZE)
    nonce, chunks = split(encrypt_fixed(plaintext))
    forged = seal(KEY, nonce, 0, True, plaintext[:CHUNK_SIZE])
    rejects(nonce + forged + b"".join(chunks[1:]), "data after the final chunk")
    # ... and without the rest it is a valid, shorter payload: which is why the header signs
    # the payload's size and hash.
    assert decrypt_payload_bytes(nonce + forged, KEY) == plaintext[:CHUNK_SIZE]


def test_empty_final_chunk_after_a_full_chunk() -> None:
    plaintext = data(CHUNK_SIZE)
    nonce = NONCE
    payload = nonce + seal(KEY, nonce, 0, False, plaintext) + seal(KEY, nonce, 1, True, b"")
    rejects(payload, "empty final chunk after a full chunk")


def test_empty_first_chunk_not_marked_final() -> None:
    rejects(NONCE + seal(KEY, NONCE, 0, False, b""), "chunk 0 failed authentication")


def test_counter_starts_at_zero() -> None:
    rejects(NONCE + seal(KEY, NONCE, 1, True, b"hello"), "chunk 0 failed authentication")


@pytest.mark.parametrize("bad", [b"", bytes(15), bytes(17), bytes(32)])
def test_wrong_key_length(bad: bytes) -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        encrypt_payload_bytes(b"x", bad)
    with pytest.raises(ValueError, match="16 bytes"):
        decrypt_payload_bytes(encrypt_fixed(b"x"), bad)


@pytest.mark.parametrize("bad", ["0123456789abcdef", bytearray(16), None, 16])
def test_wrong_key_type(bad: object) -> None:
    with pytest.raises(TypeError):
        encrypt_payload_bytes(b"x", bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        decrypt_payload_bytes(encrypt_fixed(b"x"), bad)  # type: ignore[arg-type]


def test_wrong_file_key_for_age_file_key() -> None:
    with pytest.raises(ValueError):
        age_file_key(bytes(16))
    with pytest.raises(TypeError):
        age_file_key("x" * 32)  # type: ignore[arg-type]


def test_wrong_payload_type() -> None:
    with pytest.raises(TypeError):
        decrypt_payload_bytes("not bytes", KEY)  # type: ignore[arg-type]


def test_wrong_nonce_for_seam() -> None:
    with pytest.raises(ValueError):
        _encrypt_payload_from_parts(io.BytesIO(b""), io.BytesIO(), KEY, bytes(12))


def test_decryption_stops_writing_at_the_failing_batch() -> None:
    plaintext = data(3 * BATCH)
    payload = bytearray(encrypt_fixed(plaintext))
    payload[NONCE_SIZE + 20 * ENCRYPTED_CHUNK_SIZE] ^= 1  # chunk 20, in the second batch
    out = io.BytesIO()
    with pytest.raises(IntegrityError, match="chunk 20 failed"):
        decrypt_payload(io.BytesIO(bytes(payload)), out, KEY)
    assert len(out.getvalue()) <= 20 * CHUNK_SIZE  # never plaintext of the altered chunk


def test_of_two_altered_batches_the_first_one_is_reported() -> None:
    """Batches are opened in parallel, so a later one may fail first: the error raised and the
    point where writing stops are still those of the first altered chunk in payload order."""
    plaintext = data(6 * BATCH)
    payload = bytearray(encrypt_fixed(plaintext))
    payload[NONCE_SIZE + 70 * ENCRYPTED_CHUNK_SIZE] ^= 1  # chunk 70, in the fifth batch
    payload[NONCE_SIZE + 30 * ENCRYPTED_CHUNK_SIZE] ^= 1  # chunk 30, in the second batch
    out = io.BytesIO()
    with pytest.raises(IntegrityError, match="chunk 30 failed"):
        decrypt_payload(io.BytesIO(bytes(payload)), out, KEY)
    assert out.getvalue() == plaintext[: len(out.getvalue())]
    assert len(out.getvalue()) <= 30 * CHUNK_SIZE


def test_an_altered_final_batch_after_many_good_ones_fails_closed() -> None:
    plaintext = data(5 * BATCH + 7)
    payload = bytearray(encrypt_fixed(plaintext))
    payload[-1] ^= 1  # the tag of the short final chunk
    out = io.BytesIO()
    with pytest.raises(IntegrityError, match="chunk 80 failed"):
        decrypt_payload(io.BytesIO(bytes(payload)), out, KEY)
    assert len(out.getvalue()) <= 80 * CHUNK_SIZE


class FailingSource(io.RawIOBase):
    """`content` in reads of at most one batch, then an OSError, as a vanishing disk gives."""

    def __init__(self, content: bytes, after: int) -> None:
        self._src = io.BytesIO(content)
        self.left = after

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self.left <= 0:
            raise OSError("read failed")
        self.left -= 1
        return self._src.readinto(buffer[:BATCH])


def test_source_errors_propagate_from_the_pipeline() -> None:
    with pytest.raises(OSError, match="read failed"):
        encrypt_payload(FailingSource(bytes(8 * BATCH), after=5), io.BytesIO(), KEY)  # type: ignore[arg-type]
    payload = encrypt_fixed(bytes(8 * BATCH))
    with pytest.raises(OSError, match="read failed"):
        decrypt_payload(FailingSource(payload, after=4), io.BytesIO(), KEY)  # type: ignore[arg-type]


class FailingWriter:
    def __init__(self, after: int) -> None:
        self.left = after

    def write(self, data: memoryview) -> int:
        if self.left <= 0:
            raise OSError("disk full")
        self.left -= 1
        return len(data)


def test_sink_errors_propagate_from_the_pipeline() -> None:
    with pytest.raises(OSError, match="disk full"):
        encrypt_payload(Zeros(8 * BATCH), FailingWriter(3), KEY)  # type: ignore[arg-type]
    payload = encrypt_fixed(bytes(8 * BATCH))
    with pytest.raises(OSError, match="disk full"):
        decrypt_payload(io.BytesIO(payload), FailingWriter(2), KEY)  # type: ignore[arg-type]


# ---- properties --------------------------------------------------------------------------

sizes = st.one_of(
    st.integers(0, 300),
    st.integers(CHUNK_SIZE - 20, CHUNK_SIZE + 20),
    st.integers(2 * CHUNK_SIZE - 20, 2 * CHUNK_SIZE + 20),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(size=sizes, seed=st.integers(0, 250))
def test_round_trip_property(size: int, seed: int) -> None:
    plaintext = data(size, seed)
    assert decrypt_payload_bytes(encrypt_payload_bytes(plaintext, KEY), KEY) == plaintext


def mutations(payload: bytes) -> Iterator[st.SearchStrategy[bytes]]:
    n = len(payload)
    flip = st.tuples(st.integers(0, n - 1), st.integers(1, 255)).map(
        lambda t: payload[: t[0]] + bytes([payload[t[0]] ^ t[1]]) + payload[t[0] + 1 :]
    )
    cut = st.integers(0, n - 1).map(lambda i: payload[:i])
    grow = st.binary(min_size=1, max_size=100).map(lambda extra: payload + extra)
    insert = st.tuples(st.integers(0, n), st.binary(min_size=1, max_size=20)).map(
        lambda t: payload[: t[0]] + t[1] + payload[t[0] :]
    )
    delete = st.tuples(st.integers(0, n - 1), st.integers(1, 40)).map(
        lambda t: payload[: t[0]] + payload[t[0] + t[1] :]
    )
    yield from (flip, cut, grow, insert, delete)


MUTATION_BASES = [encrypt_fixed(data(size)) for size in (0, 10, CHUNK_SIZE, 2 * CHUNK_SIZE + 3)]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(MUTATION_BASES).flatmap(lambda p: st.one_of(*mutations(p))))
def test_random_mutation_raises_only_integrity_error(mutated: bytes) -> None:
    assert mutated not in MUTATION_BASES
    with pytest.raises(IntegrityError):
        decrypt_payload_bytes(mutated, KEY)
