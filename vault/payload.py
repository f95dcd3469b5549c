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
chunks at a time, a fixed number of batches in flight, so memory does not grow with the size
of the file. While streaming they compute the BLAKE3-256 hash and size of the payload bytes,
which the document header signs.
"""

from __future__ import annotations

import io
import os
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
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
# Batches in flight: one being read, AEAD_WORKERS being sealed or opened, one being hashed and
# written.
AEAD_WORKERS: Final = 2  # the development machine's cores; the AEAD releases the GIL
PIPELINE_SLOTS: Final = AEAD_WORKERS + 2

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


class _Pipeline:
    """Runs batches through the AEAD on worker threads, then hashes and writes them in order.

    The caller's thread reads batch n+2 while AEAD_WORKERS threads seal or open batches n and
    n+1, each a batch at a time, and one more thread hashes and writes finished batches in
    payload order. ChaCha20-Poly1305, BLAKE3 and file I/O all release the GIL, so the four
    share both cores. Buffers belong to `slots` slots handed back and forth through a queue:
    at most `slots` batches are in flight, whatever the payload's size.

    A batch's AEAD job raises in its worker; the in-order thread re-raises that error when it
    reaches the batch, stops writing, and the caller's thread raises it at its next `acquire`
    or at `finish`. So the first failing batch in payload order is the one reported, and
    nothing of it or of any later batch reaches dst. A payload of a single batch starts no
    thread: small documents do not pay for them.
    """

    def __init__(
        self, dst: BinaryIO, hashed_prefix: bytes, progress: Progress | None, slots: int
    ) -> None:
        self._dst = dst
        self._hasher = blake3.blake3(hashed_prefix)
        self._progress = progress
        self._todo: queue.SimpleQueue[tuple[int, Future[None], memoryview, memoryview] | None]
        self._todo = queue.SimpleQueue()
        self._free: queue.SimpleQueue[int] = queue.SimpleQueue()
        for slot in range(slots):
            self._free.put(slot)
        self._marks: list[Sequence[int]] = [() for _ in range(slots)]  # progress, per slot
        self._workers: ThreadPoolExecutor | None = None
        self._writer: threading.Thread | None = None
        self._error: BaseException | None = None
        self._stop = False  # set on failure: skip the work still queued

    def acquire(self) -> int:
        """Wait for a slot whose batch is done; report that batch's progress."""
        slot = self._free.get()
        self._raise_if_failed()
        self._report(slot)
        return slot

    def submit(
        self,
        slot: int,
        job: Callable[[], None],
        to_hash: memoryview,
        to_write: memoryview,
        *,
        marks: Sequence[int],
        last: bool,
    ) -> None:
        """Run `job` (the batch's AEAD, in place); then hash `to_hash` and write `to_write`,
        in submission order, and release `slot`. `marks` are the plaintext bytes done after
        each of the batch's chunks, reported to `progress` once the batch is done."""
        self._marks[slot] = marks
        if self._writer is None:
            if last:
                job()
                self._hash_and_write(to_hash, to_write)
                self._report(slot)
                return
            self._workers = ThreadPoolExecutor(AEAD_WORKERS, thread_name_prefix="kluis-aead")
            self._writer = threading.Thread(target=self._run, name="kluis-payload", daemon=True)
            self._writer.start()
        assert self._workers is not None
        self._todo.put((slot, self._workers.submit(job), to_hash, to_write))

    def finish(self) -> bytes:
        """Wait for all submitted batches; return the BLAKE3-256 of everything hashed."""
        self._join()
        self._raise_if_failed()
        while not self._free.empty():
            self._report(self._free.get())
        return bytes(self._hasher.digest(DIGEST_SIZE))

    def abort(self) -> None:
        """Stop after a failure: drop queued batches (nothing more reaches dst) and join."""
        self._stop = True
        self._join()

    def _join(self) -> None:
        if self._writer is not None:
            self._todo.put(None)
            self._writer.join()
            self._writer = None
        if self._workers is not None:
            # Cancelled or finished, no job may still be writing into a slot's buffers.
            self._workers.shutdown(wait=True, cancel_futures=True)
            self._workers = None

    def _run(self) -> None:
        while (item := self._todo.get()) is not None:
            slot, job, to_hash, to_write = item
            if not (self._stop or self._error is not None):
                try:
                    job.result()
                    self._hash_and_write(to_hash, to_write)
                except BaseException as error:  # re-raised on the caller's thread
                    self._error = error  # before the slot is freed: acquire() must see it
            self._free.put(slot)

    def _hash_and_write(self, to_hash: memoryview, to_write: memoryview) -> None:
        self._hasher.update(to_hash)
        _write_all(self._dst, to_write)

    def _report(self, slot: int) -> None:
        marks, self._marks[slot] = self._marks[slot], ()
        if self._progress is not None:
            for done in marks:
                self._progress(done)

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


def _read_batch(
    src: BinaryIO, view: memoryview, peek: memoryview, *, carried: bool
) -> tuple[int, bool]:
    """Fill `view` from `src`; return the bytes in it and whether the input ends with them.

    Whether a full batch ends the input is only known by reading one byte more: that byte is
    kept in `peek` and, with `carried`, put first into the next batch.
    """
    start = 1 if carried else 0
    if carried:
        view[0] = peek[0]
    filled = start + _fill(src, view[start:])
    return filled, filled < len(view) or _fill(src, peek) == 0


def _progress_marks(done: int, plaintext: int, chunks: int) -> list[int]:
    """The plaintext bytes done after each of a batch's chunks (all full but the last)."""
    return [done + min(k * CHUNK_SIZE, plaintext) for k in range(1, chunks + 1)]


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
    pipeline = _Pipeline(dst, nonce, progress, PIPELINE_SLOTS)
    plain = [_buffer(BATCH_CHUNKS * CHUNK_SIZE) for _ in range(PIPELINE_SLOTS)]
    sealed = [_buffer(BATCH_CHUNKS * ENCRYPTED_CHUNK_SIZE) for _ in range(PIPELINE_SLOTS)]
    peek = _buffer(1)
    first = True  # no byte read ahead yet
    counter = 0
    done = 0
    size = NONCE_SIZE
    try:
        while True:
            slot = pipeline.acquire()
            plain_view, out_view = plain[slot], sealed[slot]
            # The final chunk must carry the last flag even when full: see where input ends.
            filled, at_end = _read_batch(src, plain_view, peek, carried=not first)
            chunks = max(1, -(-filled // CHUNK_SIZE))  # an empty plaintext is one empty chunk
            if counter + chunks > MAX_CHUNKS:
                raise ValueError("plaintext too long for one age payload")
            out = filled + chunks * TAG_SIZE
            pipeline.submit(
                slot,
                _seal_batch(aead, counter, at_end, plain_view[:filled], out_view[:out]),
                out_view[:out],
                out_view[:out],
                marks=_progress_marks(done, filled, chunks),
                last=at_end,
            )
            counter += chunks
            done += filled
            size += out
            first = False
            if at_end:
                break
    except BaseException:
        pipeline.abort()
        raise
    return PayloadDigest(size=size, blake3=pipeline.finish(), plaintext_size=done)


def _seal_batch(
    aead: ChaCha20Poly1305, first: int, final: bool, plain: memoryview, out: memoryview
) -> Callable[[], None]:
    """The job that seals one batch of plaintext into `out`, its chunks numbered from `first`;
    the batch's last chunk is the payload's final one if `final`."""

    def seal() -> None:
        counter, offset, at = first, 0, 0
        while True:  # at least once: an empty plaintext is one empty final chunk
            end = min(offset + CHUNK_SIZE, len(plain))
            sealed_size = end - offset + TAG_SIZE
            nonce = _chunk_nonce(counter, final and end == len(plain))
            aead.encrypt_into(nonce, plain[offset:end], None, out[at : at + sealed_size])
            counter, offset, at = counter + 1, end, at + sealed_size
            if offset >= len(plain):
                return

    return seal


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
    pipeline = _Pipeline(dst, nonce, progress, PIPELINE_SLOTS)
    sealed = [_buffer(BATCH_CHUNKS * ENCRYPTED_CHUNK_SIZE) for _ in range(PIPELINE_SLOTS)]
    plain = [_buffer(BATCH_CHUNKS * CHUNK_SIZE) for _ in range(PIPELINE_SLOTS)]
    peek = _buffer(1)
    first = True  # no byte read ahead yet
    counter = 0
    done = 0
    size = NONCE_SIZE
    try:
        while True:
            slot = pipeline.acquire()
            in_view, out_view = sealed[slot], plain[slot]
            # Where the input ends decides which chunk must be the final one.
            filled, at_end = _read_batch(src, in_view, peek, carried=not first)
            if filled == 0:
                # A payload ends only with a chunk marked last; ending elsewhere is truncation.
                raise IntegrityError("payload: truncated (final chunk missing)")
            chunks = -(-filled // ENCRYPTED_CHUNK_SIZE)
            got = filled - chunks * TAG_SIZE  # negative only if the last chunk lacks its tag
            pipeline.submit(
                slot,
                _open_batch(aead, counter, at_end, in_view[:filled], out_view),
                in_view[:filled],
                out_view[: max(got, 0)],
                marks=_progress_marks(done, got, chunks),
                last=at_end,
            )
            counter += chunks
            done += got
            size += filled
            first = False
            if at_end:
                break
    except BaseException:
        pipeline.abort()
        raise
    return PayloadDigest(size=size, blake3=pipeline.finish(), plaintext_size=done)


def _open_batch(
    aead: ChaCha20Poly1305, first: int, final: bool, sealed: memoryview, out: memoryview
) -> Callable[[], None]:
    """The job that opens one batch of chunks into `out`, numbered from `first`; `final` if
    the input ends with this batch. Raises `IntegrityError` at the batch's first bad chunk."""

    def open_() -> None:
        counter, offset, at = first, 0, 0
        while offset < len(sealed):
            end = min(offset + ENCRYPTED_CHUNK_SIZE, len(sealed))
            got = end - offset - TAG_SIZE
            last = _open_chunk(aead, counter, sealed[offset:end], out[at : at + got])
            if last and not (final and end == len(sealed)):
                raise IntegrityError("payload: data after the final chunk")
            if not last and final and end == len(sealed):
                raise IntegrityError("payload: truncated (final chunk missing)")
            counter, offset, at = counter + 1, end, at + got

    return open_


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
