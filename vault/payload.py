"""The encrypted payload of a Kluis document: the age v1 payload (STREAM), byte for byte.

Implements section "Payload" of the age specification (https://age-encryption.org/v1):

    payload     = nonce || chunk_0 || ... || chunk_n
    nonce       = 16 random bytes
    payload key = HKDF-SHA256(ikm=age file key, salt=nonce, info="payload"), 32 bytes
    chunk_i     = ChaCha20-Poly1305(payload key, counter_i || last_flag, plaintext_i), no AD

where counter_i is an 11-byte big-endian counter from 0 and last_flag is 0x01 on the final
chunk only. Plaintext chunks are 64 KiB; the final one may be shorter, and it may be empty only
when the whole plaintext is. The 16-byte age file key is derived from the document's 32-byte
file key, so a stored payload becomes a real age file once an age header that wraps that key
is put in front of it (`vault.agefile`), without re-encrypting anything.

Both directions stream: they read, encrypt or decrypt, hash and write a small fixed batch of
chunks at a time, so memory does not grow with the size of the file. While streaming they
compute the BLAKE3-256 hash and size of the payload bytes, which the document header signs.
"""

from __future__ import annotations

import io
import os
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO, Final

import blake3
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from . import labels
from .derive import derive
from .errors import IntegrityError

__all__ = [
    "AGE_FILE_KEY_SIZE",
    "CHUNK_SIZE",
    "ENCRYPTED_CHUNK_SIZE",
    "NONCE_SIZE",
    "PayloadDigest",
    "age_file_key",
    "decrypt_payload",
    "decrypt_payload_bytes",
    "encrypt_payload",
    "encrypt_payload_bytes",
    "payload_size",
]

FILE_KEY_SIZE: Final = 32  # a Kluis document's file key
AGE_FILE_KEY_SIZE: Final = 16  # the age file key, fixed by the age spec
NONCE_SIZE: Final = 16  # payload nonce, the HKDF salt of the payload key
PAYLOAD_KEY_INFO: Final = b"payload"
PAYLOAD_KEY_SIZE: Final = 32
CHUNK_SIZE: Final = 64 * 1024
TAG_SIZE: Final = 16  # Poly1305
ENCRYPTED_CHUNK_SIZE: Final = CHUNK_SIZE + TAG_SIZE
COUNTER_SIZE: Final = 11  # big-endian chunk counter; with the flag byte a 12-byte AEAD nonce
LAST_CHUNK: Final = b"\x01"
NOT_LAST_CHUNK: Final = b"\x00"
MAX_CHUNKS: Final = 1 << (8 * COUNTER_SIZE)  # the counter must never wrap: nonces stay unique
DIGEST_SIZE: Final = 32  # BLAKE3-256

# Chunks read, processed and written per round trip through Python. Batching amortises the
# interpreter's per-call cost over 1 MiB (measured fastest of 4..32 chunks), and the buffers
# (PIPELINE_SLOTS batches of about 1 MiB each way) stay far below any memory concern.
BATCH_CHUNKS: Final = 16
PIPELINE_SLOTS: Final = 3  # batches in flight between the AEAD thread and the hashing thread

Progress = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class PayloadDigest:
    """What the document header signs about a payload.

    `size` and `blake3` cover the payload bytes exactly as stored (nonce and all chunks);
    `plaintext_size` is the number of plaintext bytes they carry.
    """

    size: int
    blake3: bytes
    plaintext_size: int


def payload_size(plaintext_size: int) -> int:
    """The size of the payload that `plaintext_size` bytes of plaintext encrypt to: the nonce,
    and every chunk with its tag (an empty plaintext is one empty final chunk)."""
    if plaintext_size < 0:
        raise ValueError("a plaintext has a size of at least 0 bytes")
    chunks = max(1, -(-plaintext_size // CHUNK_SIZE))
    return NONCE_SIZE + plaintext_size + chunks * TAG_SIZE


def age_file_key(file_key: bytes) -> bytes:
    """Return the 16-byte age file key of a document's 32-byte file key."""
    if not isinstance(file_key, bytes):
        raise TypeError("age_file_key() needs the file key as bytes")
    if len(file_key) != FILE_KEY_SIZE:
        raise ValueError(f"a file key is {FILE_KEY_SIZE} bytes, got {len(file_key)}")
    return derive(file_key, labels.AGE_FILE_KEY, b"", AGE_FILE_KEY_SIZE)


def _check_key(key: bytes) -> None:
    if not isinstance(key, bytes):
        raise TypeError("the age file key must be bytes")
    if len(key) != AGE_FILE_KEY_SIZE:
        raise ValueError(f"the age file key is {AGE_FILE_KEY_SIZE} bytes, got {len(key)}")


def _payload_aead(key: bytes, nonce: bytes) -> ChaCha20Poly1305:
    _check_key(key)
    payload_key = HKDF(
        algorithm=hashes.SHA256(), length=PAYLOAD_KEY_SIZE, salt=nonce, info=PAYLOAD_KEY_INFO
    ).derive(key)
    return ChaCha20Poly1305(payload_key)


def _chunk_nonce(counter: int, last: bool) -> bytes:
    return counter.to_bytes(COUNTER_SIZE, "big") + (LAST_CHUNK if last else NOT_LAST_CHUNK)


class _HashWriter:
    """Hashes the payload bytes and writes output batches, on a helper thread once warranted.

    The AEAD and BLAKE3 both release the GIL, so hashing and writing batch n on a second
    thread while the caller's thread reads and encrypts (or decrypts) batch n+1 nearly halves
    the time per byte on two cores. Batches live in `slots` preallocated buffer sets handed
    back and forth through queues, so memory stays bounded at `slots` batches. A payload of a
    single batch never starts the thread: small documents do not pay for it.
    """

    def __init__(self, dst: BinaryIO, slots: int, hashed_prefix: bytes) -> None:
        self._dst = dst
        self._hasher = blake3.blake3(hashed_prefix)
        self._todo: queue.SimpleQueue[tuple[int, memoryview, memoryview] | None]
        self._todo = queue.SimpleQueue()
        self._free: queue.SimpleQueue[int] = queue.SimpleQueue()
        for slot in range(slots):
            self._free.put(slot)
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._stop = False  # set on failure: skip the work still queued

    def acquire(self) -> int:
        """Wait for a slot whose buffers the helper is done with."""
        slot = self._free.get()
        self._raise_if_failed()
        return slot

    def submit(self, slot: int, to_hash: memoryview, to_write: memoryview, *, last: bool) -> None:
        """Hash `to_hash` and write `to_write`, in submission order; release `slot` after."""
        if self._thread is None:
            if last:
                self._process(slot, to_hash, to_write)
                return
            self._thread = threading.Thread(target=self._run, name="kluis-payload", daemon=True)
            self._thread.start()
        self._todo.put((slot, to_hash, to_write))

    def finish(self) -> bytes:
        """Wait for all submitted batches; return the BLAKE3-256 of everything hashed."""
        self._join()
        self._raise_if_failed()
        return bytes(self._hasher.digest(DIGEST_SIZE))

    def abort(self) -> None:
        """Stop after a failure: drop queued batches (nothing more reaches dst) and join."""
        self._stop = True
        self._join()

    def _join(self) -> None:
        if self._thread is not None:
            self._todo.put(None)
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        while (item := self._todo.get()) is not None:
            if self._stop or self._error is not None:
                self._free.put(item[0])
                continue
            try:
                self._process(*item)
            except BaseException as error:  # re-raised on the caller's thread
                self._error = error
                self._free.put(item[0])

    def _process(self, slot: int, to_hash: memoryview, to_write: memoryview) -> None:
        self._hasher.update(to_hash)
        _write_all(self._dst, to_write)
        self._free.put(slot)

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error


def _buffer(size: int) -> memoryview:
    return memoryview(bytearray(size))


def _fill(src: BinaryIO, view: memoryview) -> int:
    """Read into `view` until it is full or the source ends; return the bytes read.

    Sources may return short reads (pipes, sockets, raw files) without being at the end, so
    only a read of zero bytes means end of input.
    """
    readinto = getattr(src, "readinto", None)
    total = 0
    while total < len(view):
        if readinto is not None:
            got = readinto(view[total:])
        else:
            data = src.read(len(view) - total)
            if data is None:
                got = None
            else:
                got = len(data)
                view[total : total + got] = data
        if got is None:
            raise TypeError("non-blocking streams are not supported (read returned None)")
        if got == 0:
            break
        total += got
    return total


def _write_all(dst: BinaryIO, view: memoryview) -> None:
    """Write all of `view`; raw streams may accept only part of it per call."""
    while view:
        written = dst.write(view)
        # Duck-typed file objects often return None for "everything written".
        if written is None or written >= len(view):
            return
        view = view[written:]


def encrypt_payload(
    src: BinaryIO, dst: BinaryIO, age_file_key: bytes, *, progress: Progress | None = None
) -> PayloadDigest:
    """Encrypt all of `src` into an age v1 payload written to `dst`, under a fresh nonce.

    `progress` is called after each chunk with the number of plaintext bytes done so far.
    """
    return _encrypt_payload_from_parts(src, dst, age_file_key, os.urandom(NONCE_SIZE), progress)


def _encrypt_payload_from_parts(
    src: BinaryIO,
    dst: BinaryIO,
    age_file_key: bytes,
    nonce: bytes,
    progress: Progress | None = None,
) -> PayloadDigest:
    """`encrypt_payload` with the nonce passed in: the seam test vectors use."""
    if not isinstance(nonce, bytes) or len(nonce) != NONCE_SIZE:
        raise ValueError(f"the payload nonce must be {NONCE_SIZE} bytes")
    aead = _payload_aead(age_file_key, nonce)
    _write_all(dst, memoryview(nonce))
    sink = _HashWriter(dst, PIPELINE_SLOTS, hashed_prefix=nonce)
    plain_view = _buffer(BATCH_CHUNKS * CHUNK_SIZE)
    sealed = [_buffer(BATCH_CHUNKS * ENCRYPTED_CHUNK_SIZE) for _ in range(PIPELINE_SLOTS)]
    peek = _buffer(1)
    carried = 0  # 0 or 1: the byte read ahead to learn whether a full batch was the end
    counter = 0
    done = 0
    size = NONCE_SIZE
    try:
        while True:
            filled = carried + _fill(src, plain_view[carried:])
            # A full batch may or may not end the input, and the final chunk must carry the
            # last flag even when full: look one byte ahead and carry it into the next batch.
            at_end = filled < len(plain_view) or _fill(src, peek) == 0
            slot = sink.acquire()
            out_view = sealed[slot]
            out = 0
            offset = 0
            while True:  # at least once: an empty plaintext is one empty final chunk
                end = min(offset + CHUNK_SIZE, filled)
                if counter >= MAX_CHUNKS:
                    raise ValueError("plaintext too long for one age payload")
                sealed_size = end - offset + TAG_SIZE
                aead.encrypt_into(
                    _chunk_nonce(counter, at_end and end == filled),
                    plain_view[offset:end],
                    None,
                    out_view[out : out + sealed_size],
                )
                out += sealed_size
                counter += 1
                done += end - offset
                offset = end
                if progress is not None:
                    progress(done)
                if offset >= filled:
                    break
            sink.submit(slot, out_view[:out], out_view[:out], last=at_end)
            size += out
            if at_end:
                break
            plain_view[0] = peek[0]
            carried = 1
    except BaseException:
        sink.abort()
        raise
    return PayloadDigest(size=size, blake3=sink.finish(), plaintext_size=done)


def decrypt_payload(
    src: BinaryIO, dst: BinaryIO, age_file_key: bytes, *, progress: Progress | None = None
) -> PayloadDigest:
    """Decrypt the age v1 payload read from `src`, writing the plaintext to `dst`.

    Reads up to the end of `src`: anything after the final chunk is an error. Returns the size
    and BLAKE3 hash of the payload bytes read, for the caller to compare against the signed
    document header. Raises `IntegrityError` on any failure: wrong key, altered, reordered,
    dropped, appended or spliced chunks, truncation, trailing data.

    Plaintext of the chunks before the failing one has already been written to `dst` when
    this raises. Callers must therefore write to a temporary file and only move it into place
    after this returns *and* the returned digest matches the signed one; on failure they must
    discard what was written.

    `progress` is called after each authenticated chunk with the plaintext bytes so far.
    """
    _check_key(age_file_key)
    nonce_buf = bytearray(NONCE_SIZE)
    if _fill(src, memoryview(nonce_buf)) < NONCE_SIZE:
        raise IntegrityError("payload: too short for a nonce (not an age payload or truncated)")
    nonce = bytes(nonce_buf)
    aead = _payload_aead(age_file_key, nonce)
    sink = _HashWriter(dst, PIPELINE_SLOTS, hashed_prefix=nonce)
    sealed = [_buffer(BATCH_CHUNKS * ENCRYPTED_CHUNK_SIZE) for _ in range(PIPELINE_SLOTS)]
    plain = [_buffer(BATCH_CHUNKS * CHUNK_SIZE) for _ in range(PIPELINE_SLOTS)]
    counter = 0
    done = 0
    size = NONCE_SIZE
    last = False
    try:
        while not last:
            slot = sink.acquire()
            in_view, out_view = sealed[slot], plain[slot]
            filled = _fill(src, in_view)
            if filled == 0:
                # A payload ends only with a chunk marked last; ending elsewhere is truncation.
                raise IntegrityError("payload: truncated (final chunk missing)")
            size += filled
            offset = 0
            out = 0
            while offset < filled:
                if last:
                    raise IntegrityError("payload: data after the final chunk")
                end = min(offset + ENCRYPTED_CHUNK_SIZE, filled)
                got = end - offset - TAG_SIZE
                last = _open_chunk(aead, counter, in_view[offset:end], out_view[out : out + got])
                out += got
                done += got
                offset = end
                counter += 1
                if progress is not None:
                    progress(done)
            sink.submit(slot, in_view[:filled], out_view[:out], last=last)
            if not last and filled < len(in_view):
                raise IntegrityError("payload: truncated (final chunk missing)")
        # The final chunk may have ended a full batch exactly: the input must end right there.
        if filled == BATCH_CHUNKS * ENCRYPTED_CHUNK_SIZE and _fill(src, _buffer(1)) != 0:
            raise IntegrityError("payload: data after the final chunk")
    except BaseException:
        sink.abort()
        raise
    return PayloadDigest(size=size, blake3=sink.finish(), plaintext_size=done)


def _open_chunk(aead: ChaCha20Poly1305, counter: int, sealed: memoryview, out: memoryview) -> bool:
    """Decrypt one chunk into `out`; return whether it is the final chunk.

    Follows age's Go reader: a full-size chunk is tried as a middle chunk first and, if that
    fails, as a full-size final chunk (whether more data follows is checked afterwards). A
    shorter chunk can only be the final one, since only the end of the input cuts a chunk short.
    """
    if counter >= MAX_CHUNKS:
        raise IntegrityError("payload: too many chunks (chunk counter would wrap)")
    if len(sealed) < TAG_SIZE:
        raise IntegrityError(f"payload: truncated (chunk {counter} is shorter than its tag)")
    if len(sealed) == ENCRYPTED_CHUNK_SIZE:
        try:
            aead.decrypt_into(_chunk_nonce(counter, False), sealed, None, out)
        except InvalidTag:
            pass
        else:
            return False
    try:
        aead.decrypt_into(_chunk_nonce(counter, True), sealed, None, out)
    except InvalidTag:
        raise IntegrityError(
            f"payload: chunk {counter} failed authentication "
            "(wrong key, or altered, truncated, reordered or spliced)"
        ) from None
    if len(sealed) == TAG_SIZE and counter > 0:
        # Only an empty plaintext has an empty final chunk; age never writes one after a full
        # chunk, so accepting it would give one plaintext two encodings.
        raise IntegrityError("payload: empty final chunk after a full chunk")
    return True


def encrypt_payload_bytes(plaintext: bytes, age_file_key: bytes) -> bytes:
    """Encrypt `plaintext` in memory into an age v1 payload."""
    dst = io.BytesIO()
    encrypt_payload(io.BytesIO(plaintext), dst, age_file_key)
    return dst.getvalue()


def decrypt_payload_bytes(payload: bytes, age_file_key: bytes) -> bytes:
    """Decrypt an in-memory age v1 payload; raises `IntegrityError` on any failure."""
    if not isinstance(payload, bytes | bytearray | memoryview):
        raise TypeError("decrypt_payload_bytes() needs the payload as bytes")
    dst = io.BytesIO()
    decrypt_payload(io.BytesIO(payload), dst, age_file_key)
    return dst.getvalue()
