"""Blobs in an S3-compatible object store (MinIO, AWS S3, Ceph, ...), through the `minio` SDK.

Each blob is the object `blobs/<key>` in one bucket (which the operator creates; the server
never creates or configures buckets).

- `write_stream` hands the request body to `Minio.put_object` (unknown length, fixed part
  size), which runs in a worker thread and reads from a small in-memory pipe that the event
  loop fills as the body arrives. A body smaller than one part is sent as one PUT; a larger one
  as a multipart upload, part by part (8 MiB by default): a large upload holds 4 MiB of
  read-ahead and, while a part is cut and sent, a few copies of it (peak about 5 parts).
  Either way the object becomes visible only when it is complete: S3 publishes a multipart
  object at CompleteMultipartUpload. The size limit is counted and the BLAKE3 computed while
  the bytes stream. On any failure (too large, the client going away, the store failing) the
  reader thread is told to stop, `put_object` aborts the multipart upload, and, if the object
  was completed after all, it is deleted, all before the exception propagates.
- `open_reader` is a GET whose body is read in chunks; `close` releases the connection.
- `list_blobs` lists the objects with their last-modified times, for orphan cleanup.
  `remove_partials` aborts incomplete multipart uploads (a crash mid-upload) started before
  the cutoff. The SDK has no public call for listing or aborting multipart uploads, so this
  uses its typed private ones (`_list_multipart_uploads`, `_abort_multipart_upload`); a
  bucket lifecycle rule "AbortIncompleteMultipartUpload" does the same job from the store's
  side (docs/deployment.md).
- An upload in parts (`begin_parts` ... `complete_parts`) is one S3 multipart upload of
  `blobs/<key>`, created at `begin_parts`. A client's part is sent on as it arrives, as S3 parts
  of `part_size` to twice that (a client's part of 16 MiB is two S3 parts of 8 MiB), numbered
  so that every client part has its own range of S3 part numbers; holding at most two of them
  at a time keeps a part's memory bounded whatever size the client chose. `complete_parts`
  completes the multipart upload with the ETags `write_part` recorded and then reads the object
  once, streaming, to check its size and BLAKE3 before anyone may use it (an object that is not
  the one announced is left to the caller's `abort_parts`: a repeated completion cannot tell
  whether it or an earlier one published it). `remove_partials` leaves the multipart uploads
  of the keys it is told to keep (the uploads in parts still recorded) alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import threading
from collections import deque
from collections.abc import AsyncIterator, Collection, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

import anyio
import blake3
import certifi
import urllib3
from minio import Minio
from minio.datatypes import Part
from minio.error import S3Error
from urllib3.util import Retry, Timeout

from .blobstore import (
    ASSEMBLY_CHUNK_SIZE,
    CHUNK_SIZE,
    KEY_PATTERN,
    BlobInfo,
    BlobMismatch,
    BlobMissing,
    BlobReader,
    BlobStoreUnavailable,
    BlobTooLarge,
    LayoutRefused,
    PartLayout,
    PartsUpload,
    StoredBlob,
    StoredPart,
    new_key,
)
from .config import ConfigurationError, Settings

PREFIX = "blobs/"
MIN_PART_SIZE = 5 << 20  # S3's minimum for every part but the last
MAX_PARTS = 10_000  # S3's maximum number of parts in one upload
UPLOAD_THREADS = 64  # uploads beyond this many at once wait for a thread
PIPE_CAPACITY = 4 << 20  # bytes received ahead of the thread that sends them on
MISSING_CODES = frozenset({"NoSuchKey", "NoSuchObject"})
NO_UPLOAD = "NoSuchUpload"
PARTS_CHANGED = frozenset({"InvalidPart", "InvalidPartOrder", "EntityTooSmall"})


class S3BlobStore:
    """A `BlobStore` in one bucket of an S3-compatible service."""

    def __init__(
        self,
        endpoint: str,
        bucket: str,
        *,
        access_key: str,
        secret_key: str,
        secure: bool = True,
        region: str | None = None,
        part_size: int = 8 << 20,
        max_connections: int = UPLOAD_THREADS,
    ) -> None:
        if "://" in endpoint or "/" in endpoint:
            raise ConfigurationError(
                "KLUIS_S3_ENDPOINT is host[:port] without a scheme or path "
                "(plain http: set KLUIS_S3_SECURE=false)"
            )
        if part_size < MIN_PART_SIZE:
            raise ConfigurationError(f"KLUIS_S3_PART_SIZE must be at least {MIN_PART_SIZE} bytes")
        self.bucket = bucket
        self.part_size = part_size

        def client(pool: urllib3.PoolManager) -> Minio:
            return Minio(
                endpoint,
                access_key=access_key,
                secret_key=secret_key,
                secure=secure,
                region=region,
                http_client=pool,
            )

        self.client = client(_pool(max_connections, connect=10, read=300, retries=5))
        # Readiness probes must answer quickly and not retry: a separate, impatient client.
        self.probe = client(_pool(2, connect=2, read=3, retries=0))
        self._threads = ThreadPoolExecutor(UPLOAD_THREADS, thread_name_prefix="kluis-s3-upload")

    @classmethod
    def from_settings(cls, settings: Settings) -> S3BlobStore:
        if not settings.s3_endpoint or not settings.s3_bucket:
            raise ConfigurationError(
                "KLUIS_BLOB_BACKEND=s3 needs KLUIS_S3_ENDPOINT and KLUIS_S3_BUCKET"
            )
        if not settings.s3_access_key or settings.s3_secret_key is None:
            raise ConfigurationError(
                "KLUIS_BLOB_BACKEND=s3 needs KLUIS_S3_ACCESS_KEY and KLUIS_S3_SECRET_KEY"
            )
        return cls(
            settings.s3_endpoint,
            settings.s3_bucket,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key.get_secret_value(),
            secure=settings.s3_secure,
            region=settings.s3_region,
            part_size=settings.s3_part_size,
        )

    def _name(self, key: str) -> str:
        if not KEY_PATTERN.match(key):
            raise ValueError("not a blob key")
        return PREFIX + key

    def part_size_for(self, max_size: int) -> int:
        """The configured part size, raised if needed so `max_size` fits in 10,000 parts."""
        needed = math.ceil(max_size / MAX_PARTS)
        return max(self.part_size, -(-needed // (1 << 20)) << 20)

    # -- writing -------------------------------------------------------------------------------
    async def write_stream(self, chunks: AsyncIterator[bytes], max_size: int) -> StoredBlob:
        key = new_key()
        part_size = self.part_size_for(max_size)
        pipe = _Pipe(capacity=PIPE_CAPACITY)
        loop = asyncio.get_running_loop()
        upload = loop.run_in_executor(self._threads, self._put, key, pipe, part_size)
        size = 0
        try:
            # Received pieces are small (~64 KiB): hand them over 1 MiB at a time.
            batch = bytearray()
            async for chunk in chunks:
                size += len(chunk)
                if size > max_size:
                    raise BlobTooLarge()
                batch += chunk
                if len(batch) >= CHUNK_SIZE:
                    if not await pipe.send(bytes(batch)):
                        break  # the upload failed: its exception comes from `await upload`
                    batch.clear()
            else:
                if batch:
                    await pipe.send(bytes(batch))
                pipe.close()
            await upload
        except BaseException:
            pipe.fail()
            with anyio.CancelScope(shield=True):
                try:
                    await upload
                except BaseException:  # noqa: S110  (the upload was aborted, as asked)
                    pass
                else:  # it completed before it heard of the failure: take it back
                    with contextlib.suppress(Exception):  # else cleanup finds the orphan
                        await loop.run_in_executor(self._threads, self.delete, key)
            raise
        if pipe.size != size:  # cannot happen unless put_object misread the stream
            await loop.run_in_executor(self._threads, self.delete, key)
            raise RuntimeError("the object store received a different number of bytes")
        return StoredBlob(key=key, size=size, blake3=pipe.hexdigest())

    def _put(self, key: str, pipe: _Pipe, part_size: int) -> None:
        try:
            self.client.put_object(
                self.bucket,
                self._name(key),
                pipe,  # type: ignore[arg-type]  # it has the `read` put_object needs
                length=-1,
                part_size=part_size,
                num_parallel_uploads=1,
            )
        finally:
            pipe.reader_done()

    # -- reading -------------------------------------------------------------------------------
    def open_reader(self, key: str, chunk_size: int = CHUNK_SIZE) -> BlobReader:
        try:
            response = self.client.get_object(self.bucket, self._name(key))
        except S3Error as exc:
            if exc.code in MISSING_CODES:
                raise BlobMissing(key) from None
            raise
        return _ObjectReader(response, chunk_size)

    def exists(self, key: str) -> bool:
        try:
            self.client.stat_object(self.bucket, self._name(key))
        except S3Error as exc:
            if exc.code in MISSING_CODES:
                return False
            raise
        return True

    def delete(self, key: str) -> None:
        self.client.remove_object(self.bucket, self._name(key))  # missing: S3 says 204 too

    # -- housekeeping --------------------------------------------------------------------------
    def list_blobs(self) -> Iterator[BlobInfo]:
        for obj in self.client.list_objects(self.bucket, prefix=PREFIX, recursive=True):
            name = obj.object_name or ""
            key = name[len(PREFIX) :]
            if name.startswith(PREFIX) and KEY_PATTERN.match(key) and obj.last_modified:
                yield BlobInfo(key, obj.last_modified.timestamp())

    def remove_partials(self, older_than: float, keep: Collection[str] = ()) -> int:
        kept = {self._name(key) for key in keep}
        stale: list[tuple[str, str]] = []
        marker: str | None = None
        while True:
            result = self.client._list_multipart_uploads(
                self.bucket, prefix=PREFIX, key_marker=marker
            )
            for upload in result.uploads:
                started = upload.initiated_time
                if (
                    upload.upload_id
                    and upload.object_name not in kept
                    and started
                    and started.timestamp() < older_than
                    and self._last_part_at(upload.object_name, upload.upload_id) < older_than
                ):
                    stale.append((upload.object_name, upload.upload_id))
            # Keys are random and written once, so one upload per key: the key marker is enough.
            if not result.is_truncated or not result.next_key_marker:
                break
            marker = result.next_key_marker
        for name, upload_id in stale:
            with contextlib.suppress(S3Error):  # finished or aborted meanwhile
                self.client._abort_multipart_upload(self.bucket, name, upload_id)
        return len(stale)

    def _last_part_at(self, name: str, upload_id: str) -> float:
        """When the newest part of a multipart upload arrived (0 if none): an upload that
        started long ago may still be streaming, as the filesystem store's `.part` file shows
        by its modification time."""
        newest = 0.0
        marker: str | None = None
        while True:
            try:
                result = self.client._list_parts(
                    self.bucket, name, upload_id, part_number_marker=marker
                )
            except S3Error:  # finished or aborted meanwhile: nothing left to keep alive
                return newest
            for part in result.parts:
                if part.last_modified is not None:
                    newest = max(newest, part.last_modified.timestamp())
            if not result.is_truncated or not result.next_part_number_marker:
                return newest
            marker = result.next_part_number_marker

    # -- uploads in parts ---------------------------------------------------------------------
    def _stride(self, layout: PartLayout) -> int:
        """S3 part numbers per client part: a full client part is cut into this many."""
        return max(1, layout.part_size // self.part_size)

    def _pieces(self, layout: PartLayout, number: int) -> tuple[int, list[int]]:
        """The first S3 part number of client part `number` and the sizes of its S3 parts:
        as many as fit `part_size` whole, of equal size (so each is `part_size` to twice
        that, never under S3's minimum unless it is the upload's last)."""
        length = layout.length(number)
        count = max(1, length // self.part_size)
        sizes = [length // count + (1 if i < length % count else 0) for i in range(count)]
        return (number - 1) * self._stride(layout) + 1, sizes

    def begin_parts(self, layout: PartLayout) -> PartsUpload:
        if layout.count * self._stride(layout) > MAX_PARTS:
            raise LayoutRefused(
                f"the object store takes at most {MAX_PARTS} parts of {self.part_size} bytes "
                "or more: use larger parts"
            )
        key = new_key()
        upload_id = self.client._create_multipart_upload(self.bucket, self._name(key), {})
        return PartsUpload(key=key, handle=upload_id)

    async def write_part(
        self,
        upload: PartsUpload,
        layout: PartLayout,
        number: int,
        chunks: AsyncIterator[bytes],
        blake3_hex: str,
    ) -> StoredPart:
        first, sizes = self._pieces(layout, number)
        length = sum(sizes)
        loop = asyncio.get_running_loop()
        hasher: Any = blake3.blake3()
        etags: list[str] = []
        sending: asyncio.Future[str] | None = None  # at most one S3 part on its way
        piece = bytearray()  # the S3 part being filled; handed on whole, never copied
        received = 0
        try:
            async for chunk in chunks:
                received += len(chunk)
                if received > length:
                    raise BlobTooLarge()
                rest = memoryview(chunk)
                while rest:
                    index = len(etags) + (sending is not None)  # of the piece being filled
                    take = min(len(rest), sizes[index] - len(piece))
                    piece += rest[:take]
                    rest = rest[take:]
                    if len(piece) < sizes[index]:
                        continue
                    if sending is not None:
                        etags.append(await sending)
                    sending = loop.run_in_executor(
                        self._threads, self._send_piece, upload, first + index, piece, hasher
                    )
                    piece = bytearray()
            if sending is not None:
                etags.append(await sending)
                sending = None
        except BaseException:
            if sending is not None:
                with anyio.CancelScope(shield=True), contextlib.suppress(BaseException):
                    await sending
            raise
        if received < length:
            raise BlobMismatch("size")
        if hasher.hexdigest() != blake3_hex:
            raise BlobMismatch("blake3")
        return StoredPart(number=number, size=length, blake3=blake3_hex, ref=" ".join(etags))

    def _send_piece(self, upload: PartsUpload, number: int, piece: bytearray, hasher: Any) -> str:
        hasher.update(piece)  # in order: the next piece is sent only after this one
        try:
            # The SDK hashes and sends any bytes-like body; a copy to `bytes` would double the
            # memory a part holds.
            return self.client._upload_part(
                self.bucket, self._name(upload.key), cast(bytes, piece), None, upload.handle, number
            )
        except Exception:
            if not self._upload_exists(upload):  # S3 says NoSuchUpload; others answer worse
                raise BlobMissing(upload.key) from None
            raise

    def _upload_exists(self, upload: PartsUpload) -> bool:
        """Whether the multipart upload is still in progress (not completed or aborted)."""
        try:
            self.client._list_parts(self.bucket, self._name(upload.key), upload.handle, max_parts=1)
        except S3Error as exc:
            if exc.code == NO_UPLOAD:
                return False
            raise
        return True

    def complete_parts(
        self, upload: PartsUpload, layout: PartLayout, parts: Sequence[StoredPart], blake3_hex: str
    ) -> StoredBlob:
        if sorted(part.number for part in parts) != list(range(1, layout.count + 1)):
            raise ValueError("a completion needs every part, each once")
        # Published before, by a completion that crashed after it or runs alongside: the
        # multipart upload is gone, only the check below is left to do.
        if not self.exists(upload.key):
            s3_parts: list[Part] = []
            for part in sorted(parts, key=lambda p: p.number):
                first, _ = self._pieces(layout, part.number)
                s3_parts.extend(Part(first + i, etag) for i, etag in enumerate(part.ref.split()))
            name = self._name(upload.key)
            try:
                self.client._complete_multipart_upload(self.bucket, name, upload.handle, s3_parts)
            except Exception as exc:
                if isinstance(exc, S3Error) and exc.code in PARTS_CHANGED:
                    raise BlobMismatch("parts") from None
                # Still there to complete: a real failure. Gone: aborted, unless another
                # completion published the object meanwhile (then check that one).
                if self._upload_exists(upload):
                    raise
                if not self.exists(upload.key):
                    raise BlobMissing(upload.key) from None
        # S3 publishes the object before anyone could check it; it stays unrecorded (no upload
        # refers to it) unless it is the one announced, and the caller aborts it otherwise.
        size, digest = self._hash_object(upload.key)
        if size != layout.size or digest != blake3_hex:
            raise BlobMismatch("size" if size != layout.size else "blake3")
        return StoredBlob(key=upload.key, size=size, blake3=digest)

    def _hash_object(self, key: str) -> tuple[int, str]:
        hasher: Any = blake3.blake3()
        size = 0
        reader = self.open_reader(key, ASSEMBLY_CHUNK_SIZE)
        try:
            for chunk in reader:
                hasher.update(chunk)
                size += len(chunk)
        finally:
            reader.close()
        return size, str(hasher.hexdigest())

    def abort_parts(self, upload: PartsUpload) -> None:
        name = self._name(upload.key)
        try:
            self.client._abort_multipart_upload(self.bucket, name, upload.handle)
        except S3Error as exc:
            if exc.code != NO_UPLOAD:
                raise
        self.delete(upload.key)

    def check(self) -> None:
        try:
            found = self.probe.bucket_exists(self.bucket)
        except Exception as exc:
            raise BlobStoreUnavailable(f"the object store does not answer: {exc}") from None
        if not found:
            raise BlobStoreUnavailable(f"the bucket {self.bucket!r} does not exist")


def _pool(size: int, *, connect: float, read: float, retries: int) -> urllib3.PoolManager:
    return urllib3.PoolManager(
        timeout=Timeout(connect=connect, read=read),
        maxsize=size,
        cert_reqs="CERT_REQUIRED",
        ca_certs=certifi.where(),
        retries=Retry(total=retries, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504]),
    )


class _Aborted(Exception):
    """Raised in the reader thread when the writer gave up; `put_object` then aborts."""


class _Pipe:
    """Bytes from the event loop to one reader thread, at most about `capacity` waiting.

    The event loop `send`s (awaiting, never blocking, while the pipe is full) and then `close`s
    or `fail`s; the thread `read`s, as `put_object` does, and hashes what it hands out.
    """

    def __init__(self, capacity: int) -> None:
        self._loop = asyncio.get_running_loop()
        self._cond = threading.Condition()
        self._pieces: deque[bytes] = deque()
        self._waiting = 0
        self._capacity = capacity
        self._eof = False
        self._failed = False
        self._reader_gone = False
        self._space = asyncio.Event()
        self._hasher: Any = blake3.blake3()
        self.size = 0  # bytes handed to the reader

    # -- event loop side -----------------------------------------------------------------------
    async def send(self, data: bytes) -> bool:
        """Queue `data`; False if the reader is gone (the upload failed)."""
        while True:
            with self._cond:
                if self._reader_gone:
                    return False
                if self._waiting < self._capacity:
                    self._pieces.append(data)
                    self._waiting += len(data)
                    self._cond.notify()
                    return True
                self._space.clear()  # under the lock: a `read` after this sets it again
            await self._space.wait()

    def close(self) -> None:
        with self._cond:
            self._eof = True
            self._cond.notify()

    def fail(self) -> None:
        with self._cond:
            self._failed = True
            self._pieces.clear()
            self._cond.notify()

    def hexdigest(self) -> str:
        return str(self._hasher.hexdigest())

    # -- reader thread side --------------------------------------------------------------------
    def read(self, size: int = -1) -> bytes:
        """Up to `size` bytes, fewer only at the end of the stream (as put_object expects)."""
        parts: list[bytes] = []
        wanted = size if size >= 0 else math.inf
        got = 0
        with self._cond:
            while got < wanted:
                if self._failed:
                    raise _Aborted()
                if self._pieces:
                    piece = self._pieces.popleft()
                    if len(piece) > wanted - got:
                        take = int(wanted - got)
                        self._pieces.appendleft(piece[take:])
                        piece = piece[:take]
                    self._waiting -= len(piece)
                    parts.append(piece)
                    got += len(piece)
                    self._wake_writer()
                elif self._eof:
                    break
                else:
                    self._cond.wait()
        data = b"".join(parts)
        self._hasher.update(data)
        self.size += len(data)
        return data

    def reader_done(self) -> None:
        with self._cond:
            self._reader_gone = True
        self._wake_writer()

    def _wake_writer(self) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is already closed
            self._loop.call_soon_threadsafe(self._space.set)


class _ObjectReader:
    def __init__(self, response: urllib3.BaseHTTPResponse, chunk_size: int) -> None:
        self.response = response
        self.chunk_size = chunk_size
        self._closed = False

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self.response.stream(self.chunk_size)
        finally:
            self.close()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.response.close()
            self.response.release_conn()
