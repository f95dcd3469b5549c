"""Where payloads live: opaque, content-agnostic blobs named by random keys.

`BlobStore` is the interface the routes and the cleanup job use; `FilesystemBlobStore` keeps
each blob in a file `<root>/<key[:2]>/<key>`. An upload is streamed to `<key>.part` next to its
final place, fsynced, and renamed into place, so a blob either exists whole or not at all and a
crash leaves only a `.part` file for cleanup. `S3BlobStore` (server/blobstore_s3.py) keeps
them in an S3-compatible object store instead; `make_blobstore` picks one from the settings.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from io import BufferedReader
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import blake3
from starlette.concurrency import run_in_threadpool

if TYPE_CHECKING:
    from .config import Settings

CHUNK_SIZE = 1 << 20  # reads and buffered writes move 1 MiB at a time
WRITEBACK_SIZE = 8 << 20  # start disk writeback of an upload every 8 MiB
PART_SUFFIX = ".part"
KEY_PATTERN = re.compile(r"^[0-9a-f]{32}$")


class BlobTooLarge(Exception):
    """The stream went over the size limit; nothing was stored."""


class BlobMissing(Exception):
    """A blob the database refers to is not in the store."""


class BlobStoreUnavailable(Exception):
    """The store cannot be used right now (unreachable, missing bucket, read-only disk)."""


@dataclass(frozen=True)
class StoredBlob:
    key: str
    size: int
    blake3: str  # lowercase hex, 64 digits


@dataclass(frozen=True)
class BlobInfo:
    key: str
    modified_at: float  # Unix time


class BlobReader(Protocol):
    """An open blob: iterate for its bytes; `close` when done (also if not read to the end)."""

    def __iter__(self) -> Iterator[bytes]: ...

    def close(self) -> None: ...


class BlobStore(Protocol):
    async def write_stream(self, chunks: AsyncIterator[bytes], max_size: int) -> StoredBlob:
        """Store a stream under a new random key; raise `BlobTooLarge` past `max_size` bytes.

        Either the whole blob is stored (durably) or nothing is: on any error, including the
        client going away, the partial data is removed before the exception propagates.
        """
        ...

    def open_reader(self, key: str, chunk_size: int = CHUNK_SIZE) -> BlobReader:
        """Open the blob for reading in chunks; `BlobMissing` if it is gone."""
        ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None:
        """Remove a blob; a missing blob is not an error."""
        ...

    def list_blobs(self) -> Iterator[BlobInfo]:
        """Every complete blob."""
        ...

    def remove_partials(self, older_than: float) -> int:
        """Delete interrupted writes last touched before `older_than`; return how many."""
        ...

    def check(self) -> None:
        """Raise `BlobStoreUnavailable` unless the store can be read and written (readiness)."""
        ...


def new_key() -> str:
    return secrets.token_hex(16)


def make_blobstore(settings: Settings) -> BlobStore:
    """The store `settings.blob_backend` names: "filesystem" (the default) or "s3"."""
    if settings.blob_backend == "s3":
        from .blobstore_s3 import S3BlobStore

        return S3BlobStore.from_settings(settings)
    return FilesystemBlobStore(settings.blob_path)


class FilesystemBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)

    def _path(self, key: str) -> Path:
        if not KEY_PATTERN.match(key):
            raise ValueError("not a blob key")
        return self.root / key[:2] / key

    async def write_stream(self, chunks: AsyncIterator[bytes], max_size: int) -> StoredBlob:
        key = new_key()
        final = self._path(key)
        writer = await run_in_threadpool(_PartWriter, final.with_name(key + PART_SUFFIX))
        try:
            size = 0
            # Received pieces are small (~64 KiB); gather them in one reused buffer and hand
            # it to a worker thread 1 MiB at a time, so the event loop never waits on the disk.
            buffer = bytearray(CHUNK_SIZE)
            view = memoryview(buffer)
            filled = 0
            async for chunk in chunks:
                size += len(chunk)
                if size > max_size:
                    raise BlobTooLarge()
                if filled + len(chunk) > CHUNK_SIZE:
                    await run_in_threadpool(writer.write, view[:filled])
                    filled = 0
                if len(chunk) >= CHUNK_SIZE:
                    await run_in_threadpool(writer.write, chunk)
                else:
                    view[filled : filled + len(chunk)] = chunk
                    filled += len(chunk)
            if filled:
                await run_in_threadpool(writer.write, view[:filled])
            digest = await run_in_threadpool(writer.finish, final)
        except BaseException:
            await run_in_threadpool(writer.abort)
            raise
        finally:
            view.release()
        return StoredBlob(key=key, size=size, blake3=digest)

    def open_reader(self, key: str, chunk_size: int = CHUNK_SIZE) -> BlobReader:
        try:
            fh = self._path(key).open("rb")
        except FileNotFoundError:
            raise BlobMissing(key) from None
        if hasattr(os, "posix_fadvise"):  # read ahead generously: it is read front to back
            os.posix_fadvise(fh.fileno(), 0, 0, os.POSIX_FADV_SEQUENTIAL)
        return _FileReader(fh, chunk_size)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(key).unlink()

    def list_blobs(self) -> Iterator[BlobInfo]:
        for path in self._files():
            if KEY_PATTERN.match(path.name):
                with contextlib.suppress(FileNotFoundError):
                    yield BlobInfo(path.name, path.stat().st_mtime)

    def remove_partials(self, older_than: float) -> int:
        removed = 0
        for path in self._files():
            if not path.name.endswith(PART_SUFFIX):
                continue
            with contextlib.suppress(FileNotFoundError):
                if path.stat().st_mtime < older_than:
                    path.unlink()
                    removed += 1
        return removed

    def check(self) -> None:
        if not self.root.is_dir() or not os.access(self.root, os.R_OK | os.W_OK | os.X_OK):
            raise BlobStoreUnavailable(f"{self.root} is not a writable directory")

    def _files(self) -> Iterator[Path]:
        for shard in sorted(self.root.iterdir()):
            if shard.is_dir() and len(shard.name) == 2:
                yield from shard.iterdir()


class _FileReader:
    def __init__(self, fh: BufferedReader, chunk_size: int) -> None:
        self.fh = fh
        self.chunk_size = chunk_size

    def __iter__(self) -> Iterator[bytes]:
        try:
            while chunk := self.fh.read(self.chunk_size):
                yield chunk
        finally:
            self.close()

    def close(self) -> None:
        self.fh.close()


class _PartWriter:
    """A `.part` file being written, hashed as it goes; `finish` makes it durable and final."""

    def __init__(self, part: Path) -> None:
        self.part = part
        part.parent.mkdir(exist_ok=True, mode=0o700)
        fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self.file = os.fdopen(fd, "wb", buffering=0)
        self.hasher = blake3.blake3()
        self.written = 0
        self.flushed = 0  # bytes handed to the kernel's writeback so far

    def write(self, data: bytes | memoryview) -> None:
        self.hasher.update(data)
        view = memoryview(data)
        while view:
            count = self.file.write(view) or 0
            view = view[count:]
            self.written += count
        if self.written - self.flushed >= WRITEBACK_SIZE and hasattr(os, "posix_fadvise"):
            # Start writing this stretch to disk now instead of in one go at fsync, and keep
            # a large upload from flooding the page cache (Linux: DONTNEED starts writeback).
            length = self.written - self.flushed
            os.posix_fadvise(self.file.fileno(), self.flushed, length, os.POSIX_FADV_DONTNEED)
            self.flushed = self.written

    def finish(self, final: Path) -> str:
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()
        os.replace(self.part, final)
        _fsync_dir(final.parent)
        return str(self.hasher.hexdigest())

    def abort(self) -> None:
        with contextlib.suppress(OSError):
            self.file.close()
        with contextlib.suppress(FileNotFoundError):
            self.part.unlink()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
