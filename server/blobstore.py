"""Where payloads live: opaque, content-agnostic blobs named by random keys.

`BlobStore` is the interface the routes and the cleanup job use; `FilesystemBlobStore` keeps
each blob in a file `<root>/<key[:2]>/<key>`. An upload is streamed to `<key>.part` next to its
final place, fsynced, and renamed into place, so a blob either exists whole or not at all and a
crash leaves only a `.part` file for cleanup. `S3BlobStore` (server/blobstore_s3.py) keeps
them in an S3-compatible object store instead; `server.app.make_blobstore` picks one from the
settings (there, so that this module, which the S3 store builds on, never imports it).

A blob can also arrive in parts (docs/api.md, "Uploads in parts"): `begin_parts` reserves a
key, `write_part` stores one part (any order, again to replace it), `complete_parts` makes the
parts the blob under that key and checks its size and BLAKE3, and `abort_parts` removes it all.
The filesystem store keeps the parts as files `<root>/parts/<key>/<n>`, each written to a
temporary name, fsynced and renamed like a blob, so a part file, once there, never changes.
Completing renames that directory to `<root>/<key[:2]>/<key>`: a blob that arrived in parts
stays a directory of its parts, read one after the other, rather than being copied into one
file (which would write every byte to disk a second time: measured in docs/performance.md).
The rename also seals it: a request still writing a part (a connection the server has not yet
seen drop) can no longer rename its file into it. The store then reads the parts once to check
the size and BLAKE3. The S3 store maps them onto one S3 multipart upload.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
from collections.abc import AsyncIterator, Collection, Iterator, Sequence
from dataclasses import dataclass
from io import BufferedReader
from pathlib import Path
from typing import Protocol

import blake3
from starlette.concurrency import run_in_threadpool

CHUNK_SIZE = 1 << 20  # reads and buffered writes move 1 MiB at a time
ASSEMBLY_CHUNK_SIZE = 4 << 20  # checking a blob that arrived in parts reads 4 MiB at a time
WRITEBACK_SIZE = 8 << 20  # start disk writeback of an upload every 8 MiB
PART_SUFFIX = ".part"
KEY_PATTERN = re.compile(r"^[0-9a-f]{32}$")
PARTS_DIR = "parts"  # <root>/parts/<key>/<n>: the parts of uploads in parts
TEMP_SUFFIX = ".tmp"


class BlobTooLarge(Exception):
    """The stream went over the size limit; nothing was stored."""


class BlobMissing(Exception):
    """A blob the database refers to is not in the store."""


class BlobStoreUnavailable(Exception):
    """The store cannot be used right now (unreachable, missing bucket, read-only disk)."""


class BlobMismatch(Exception):
    """The bytes are not the ones announced: `what` is "size", "blake3" or "parts" (the parts
    changed under a completion). Nothing of them was kept as the part or blob announced."""

    def __init__(self, what: str) -> None:
        super().__init__(f"the {what} differs from the one announced")
        self.what = what


class LayoutRefused(ValueError):
    """The store cannot hold an upload cut into parts this way (S3: too many parts)."""


@dataclass(frozen=True)
class StoredBlob:
    key: str
    size: int
    blake3: str  # lowercase hex, 64 digits


@dataclass(frozen=True)
class BlobInfo:
    key: str
    modified_at: float  # Unix time


@dataclass(frozen=True)
class PartLayout:
    """An upload of `size` bytes (at least 1) cut into parts of `part_size` bytes, numbered from
    1; the last part holds what is left and may be shorter."""

    size: int
    part_size: int

    def __post_init__(self) -> None:
        if self.size < 1 or self.part_size < 1:
            raise ValueError("an upload in parts has at least one byte and parts of one")

    @property
    def count(self) -> int:
        return -(-self.size // self.part_size)

    def length(self, number: int) -> int:
        """The size of part `number` (1 to `count`)."""
        if not 1 <= number <= self.count:
            raise ValueError(f"there is no part {number}")
        return min(self.part_size, self.size - (number - 1) * self.part_size)


@dataclass(frozen=True)
class PartsUpload:
    """An upload in parts as the store knows it: the blob's key and the store's own handle on
    the upload in progress (S3: the multipart upload id; the filesystem needs none)."""

    key: str
    handle: str


@dataclass(frozen=True)
class StoredPart:
    number: int
    size: int
    blake3: str  # of the part's bytes, lowercase hex
    ref: str  # the store's name for this copy of the part (S3: its parts' ETags), opaque


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

    def remove_partials(self, older_than: float, keep: Collection[str] = ()) -> int:
        """Delete interrupted writes last touched before `older_than`; return how many.

        These are streams cut off mid-way, completions of uploads in parts cut off mid-way,
        and uploads in parts nobody recorded (a crash right after `begin_parts`): all but those
        whose key is in `keep`, the uploads in parts still in use."""
        ...

    def check(self) -> None:
        """Raise `BlobStoreUnavailable` unless the store can be read and written (readiness)."""
        ...

    # -- uploads in parts -----------------------------------------------------------------------
    def begin_parts(self, layout: PartLayout) -> PartsUpload:
        """Start an upload in parts under a new random key; `LayoutRefused` if the store cannot
        hold it cut this way. Its parts are no blob: `list_blobs` does not show them."""
        ...

    async def write_part(
        self,
        upload: PartsUpload,
        layout: PartLayout,
        number: int,
        chunks: AsyncIterator[bytes],
        blake3_hex: str,
    ) -> StoredPart:
        """Store part `number`: exactly `layout.length(number)` bytes whose BLAKE3 is
        `blake3_hex`. A part sent again replaces the earlier copy.

        More bytes: `BlobTooLarge`, as soon as they arrive; fewer, or another hash:
        `BlobMismatch`; an upload aborted (or completed): `BlobMissing`. On any error, the
        client going away included, the bytes of this attempt are not kept as the part, but an
        earlier copy of it may be gone too (S3 replaces a part as its bytes arrive): the caller
        counts the part as missing from the moment it starts writing it until this returns.
        """
        ...

    def complete_parts(
        self, upload: PartsUpload, layout: PartLayout, parts: Sequence[StoredPart], blake3_hex: str
    ) -> StoredBlob:
        """Join `parts` (every part, 1 to `layout.count`, as `write_part` answered) into the
        blob `upload.key`, and return it if its size is `layout.size` and its BLAKE3
        `blake3_hex`, else raise `BlobMismatch`. The parts are gone once this returns.

        After `BlobMismatch` the blob exists all the same (a store publishes it before it can
        read it back to check it): it is nobody's until the caller records it, and the caller's
        `abort_parts` removes it.

        Safe to call again, also after a crash or at the same time: once the blob is published,
        it is checked again and returned (or `BlobMismatch`). `BlobMissing` if the parts are
        gone and no blob was published (aborted)."""
        ...

    def abort_parts(self, upload: PartsUpload) -> None:
        """Remove everything the upload stored: its parts, and its blob if a completion
        published one the caller never recorded. Removing what is gone is not an error."""
        ...


def new_key() -> str:
    return secrets.token_hex(16)


class FilesystemBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)

    def _path(self, key: str) -> Path:
        if not KEY_PATTERN.match(key):
            raise ValueError("not a blob key")
        return self.root / key[:2] / key

    def _parts_dir(self, key: str) -> Path:
        if not KEY_PATTERN.match(key):
            raise ValueError("not a blob key")
        return self.root / PARTS_DIR / key

    async def write_stream(self, chunks: AsyncIterator[bytes], max_size: int) -> StoredBlob:
        key = new_key()
        final = self._path(key)
        writer = await run_in_threadpool(_PartWriter, final.with_name(key + PART_SUFFIX))
        try:
            size = await _write_all_chunks(writer, chunks, max_size)
            digest = await run_in_threadpool(writer.finish, final)
        except BaseException:
            await run_in_threadpool(writer.abort)
            raise
        return StoredBlob(key=key, size=size, blake3=digest)

    def open_reader(self, key: str, chunk_size: int = CHUNK_SIZE) -> BlobReader:
        path = self._path(key)
        try:
            files = _part_files(path) if path.is_dir() else [path]  # arrived in parts: a dir
            first = _open_sequential(files[0])
        except (FileNotFoundError, IndexError):
            raise BlobMissing(key) from None
        return _FileReader(first, files[1:], chunk_size)

    def exists(self, key: str) -> bool:
        return self._path(key).exists()

    def delete(self, key: str) -> None:
        path = self._path(key)
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
            return
        with contextlib.suppress(FileNotFoundError):
            path.unlink()

    def list_blobs(self) -> Iterator[BlobInfo]:
        for path in self._files():  # files, and directories of blobs that arrived in parts
            if KEY_PATTERN.match(path.name):
                with contextlib.suppress(FileNotFoundError):
                    yield BlobInfo(path.name, path.stat().st_mtime)

    def remove_partials(self, older_than: float, keep: Collection[str] = ()) -> int:
        removed = 0
        for path in self._files():
            if not path.name.endswith(PART_SUFFIX) or path.name.split(".")[0] in keep:
                continue
            with contextlib.suppress(FileNotFoundError):
                if path.stat().st_mtime < older_than:
                    path.unlink()
                    removed += 1
        parts = self.root / PARTS_DIR
        for directory in sorted(parts.iterdir()) if parts.is_dir() else ():
            if directory.name in keep or not KEY_PATTERN.match(directory.name):
                continue
            with contextlib.suppress(FileNotFoundError):
                if _last_activity(directory) < older_than:
                    shutil.rmtree(directory, ignore_errors=True)
                    removed += 1
        return removed

    def check(self) -> None:
        if not self.root.is_dir() or not os.access(self.root, os.R_OK | os.W_OK | os.X_OK):
            raise BlobStoreUnavailable(f"{self.root} is not a writable directory")

    def _files(self) -> Iterator[Path]:
        for shard in sorted(self.root.iterdir()):
            if shard.is_dir() and len(shard.name) == 2:
                yield from shard.iterdir()

    # -- uploads in parts -----------------------------------------------------------------------
    def begin_parts(self, layout: PartLayout) -> PartsUpload:
        key = new_key()
        directory = self._parts_dir(key)
        directory.parent.mkdir(exist_ok=True, mode=0o700)
        directory.mkdir(mode=0o700)
        _fsync_dir(directory.parent)
        return PartsUpload(key=key, handle="")

    async def write_part(
        self,
        upload: PartsUpload,
        layout: PartLayout,
        number: int,
        chunks: AsyncIterator[bytes],
        blake3_hex: str,
    ) -> StoredPart:
        length = layout.length(number)
        directory = self._parts_dir(upload.key)
        temporary = directory / f"{number}.{secrets.token_hex(8)}{TEMP_SUFFIX}"
        try:  # never recreate the directory of an upload that was aborted meanwhile
            writer = await run_in_threadpool(_PartWriter, temporary, False)
        except FileNotFoundError:
            raise BlobMissing(upload.key) from None
        try:
            size = await _write_all_chunks(writer, chunks, length)
            if size != length:
                raise BlobMismatch("size")
            if writer.hexdigest() != blake3_hex:
                raise BlobMismatch("blake3")
            await run_in_threadpool(writer.finish, directory / str(number))
        except FileNotFoundError:  # the directory went away under it: aborted
            await run_in_threadpool(writer.abort)
            raise BlobMissing(upload.key) from None
        except BaseException:
            await run_in_threadpool(writer.abort)
            raise
        return StoredPart(number=number, size=length, blake3=blake3_hex, ref="")

    def complete_parts(
        self, upload: PartsUpload, layout: PartLayout, parts: Sequence[StoredPart], blake3_hex: str
    ) -> StoredBlob:
        _check_all_parts(layout, parts)
        final = self._path(upload.key)
        directory = self._parts_dir(upload.key)
        if not final.exists():
            final.parent.mkdir(exist_ok=True, mode=0o700)
            try:
                os.rename(directory, final)  # published and sealed: no part can change now
            except FileNotFoundError:  # gone: published meanwhile, or aborted
                if not final.exists():
                    raise BlobMissing(upload.key) from None
            else:
                _fsync_dir(final.parent)
                _fsync_dir(directory.parent)
                os.utime(final)  # an orphan's age counts from here
        # Temporary files of requests cut off while they wrote a part: never part of the blob.
        for entry in final.iterdir():
            if not entry.name.isdigit():
                with contextlib.suppress(FileNotFoundError):
                    entry.unlink()
        size, digest = _hash_files([final / str(n) for n in range(1, layout.count + 1)])
        if size != layout.size or digest != blake3_hex:
            raise BlobMismatch("size" if size != layout.size else "blake3")
        return StoredBlob(key=upload.key, size=size, blake3=digest)

    def abort_parts(self, upload: PartsUpload) -> None:
        shutil.rmtree(self._parts_dir(upload.key), ignore_errors=True)
        self.delete(upload.key)


class _FileReader:
    """A blob's file, or the files of its parts one after the other (the first open already,
    the others opened as they are reached)."""

    def __init__(self, first: BufferedReader, more: list[Path], chunk_size: int) -> None:
        self.fh = first
        self.more = more
        self.chunk_size = chunk_size

    def __iter__(self) -> Iterator[bytes]:
        try:
            while True:
                while chunk := self.fh.read(self.chunk_size):
                    yield chunk
                if not self.more:
                    return
                self.fh.close()
                path = self.more.pop(0)
                try:
                    self.fh = _open_sequential(path)
                except FileNotFoundError:
                    raise BlobMissing(path.parent.name) from None
        finally:
            self.close()

    def close(self) -> None:
        self.fh.close()


async def _write_all_chunks(
    writer: _PartWriter, chunks: AsyncIterator[bytes], max_size: int
) -> int:
    """Write a received stream through `writer`; `BlobTooLarge` past `max_size` bytes."""
    size = 0
    # Received pieces are small (~64 KiB); gather them in one reused buffer and hand it to a
    # worker thread 1 MiB at a time, so the event loop never waits on the disk.
    buffer = bytearray(CHUNK_SIZE)
    view = memoryview(buffer)
    filled = 0
    try:
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
    finally:
        view.release()
    return size


def _check_all_parts(layout: PartLayout, parts: Sequence[StoredPart]) -> None:
    if sorted(part.number for part in parts) != list(range(1, layout.count + 1)):
        raise ValueError("a completion needs every part, each once")


def _hash_files(paths: Sequence[Path]) -> tuple[int, str]:
    """Size and BLAKE3 of files read one after the other; `BlobMissing` if one is gone."""
    hasher = blake3.blake3()
    size = 0
    buffer = bytearray(ASSEMBLY_CHUNK_SIZE)
    with memoryview(buffer) as view:
        for path in paths:
            try:
                fh = _open_sequential(path)
            except FileNotFoundError:
                raise BlobMissing(path.parent.name) from None
            with fh:
                while got := fh.readinto(buffer):
                    hasher.update(view[:got])
                    size += got
    return size, str(hasher.hexdigest())


def _part_files(directory: Path) -> list[Path]:
    """The parts of a blob that arrived in parts, in order (1, 2, ...)."""
    numbers = sorted(int(e.name) for e in directory.iterdir() if e.name.isdigit())
    return [directory / str(n) for n in numbers]


def _open_sequential(path: Path) -> BufferedReader:
    fh = path.open("rb")
    if hasattr(os, "posix_fadvise"):  # read ahead generously: it is read front to back
        os.posix_fadvise(fh.fileno(), 0, 0, os.POSIX_FADV_SEQUENTIAL)
    return fh


def _last_activity(directory: Path) -> float:
    """The newest modification time of a directory and the files in it."""
    newest = directory.stat().st_mtime
    for entry in directory.iterdir():
        with contextlib.suppress(FileNotFoundError):
            newest = max(newest, entry.stat().st_mtime)
    return newest


class _PartWriter:
    """A `.part` file being written, hashed as it goes; `finish` makes it durable and final."""

    def __init__(self, part: Path, make_dir: bool = True) -> None:
        self.part = part
        if make_dir:
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

    def hexdigest(self) -> str:
        return str(self.hasher.hexdigest())

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
