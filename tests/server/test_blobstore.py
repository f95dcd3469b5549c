"""The filesystem blob store: streamed, hashed, atomic writes; nothing left after a failure."""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import blake3
import pytest

from server.blobstore import BlobMissing, BlobTooLarge, FilesystemBlobStore, StoredBlob


async def stream(*pieces: bytes, fail_after: int | None = None) -> AsyncIterator[bytes]:
    for index, piece in enumerate(pieces):
        if fail_after is not None and index == fail_after:
            raise ConnectionResetError("the client went away")
        yield piece


def write(store: FilesystemBlobStore, chunks: AsyncIterator[bytes], limit: int) -> StoredBlob:
    return asyncio.run(store.write_stream(chunks, limit))


def files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


@pytest.fixture
def store(tmp_path: Path) -> FilesystemBlobStore:
    return FilesystemBlobStore(tmp_path / "blobs")


def test_a_stream_is_stored_with_its_size_and_hash(store: FilesystemBlobStore) -> None:
    pieces = [os.urandom(n) for n in (1, 70_000, 1 << 20, 3 << 20, 5)]
    data = b"".join(pieces)
    stored = write(store, stream(*pieces), len(data))
    assert stored.size == len(data)
    assert stored.blake3 == blake3.blake3(data).hexdigest()
    assert b"".join(store.open_reader(stored.key)) == data
    assert store.exists(stored.key)
    [path] = files(store.root)
    assert path.name == stored.key
    assert path.parent.name == stored.key[:2]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_reads_come_in_chunks(store: FilesystemBlobStore) -> None:
    stored = write(store, stream(b"x" * 2500), 10_000)
    assert [len(c) for c in store.open_reader(stored.key, chunk_size=1000)] == [1000, 1000, 500]


def test_keys_are_random(store: FilesystemBlobStore) -> None:
    keys = {write(store, stream(b"same"), 100).key for _ in range(5)}
    assert len(keys) == 5


def test_too_large_leaves_nothing(store: FilesystemBlobStore) -> None:
    with pytest.raises(BlobTooLarge):
        write(store, stream(b"x" * 600, b"y" * 600), 1000)
    assert files(store.root) == []


def test_an_interrupted_stream_leaves_nothing(store: FilesystemBlobStore) -> None:
    with pytest.raises(ConnectionResetError):
        write(store, stream(os.urandom(2 << 20), b"more", fail_after=1), 10 << 20)
    assert files(store.root) == []


def test_missing_blobs(store: FilesystemBlobStore) -> None:
    key = "ab" * 16
    with pytest.raises(BlobMissing):
        store.open_reader(key)
    assert not store.exists(key)
    store.delete(key)  # deleting what is not there is fine


@pytest.mark.parametrize("key", ["../../etc/passwd", "AB" * 16, "ab", "ab" * 16 + ".part"])
def test_keys_cannot_escape_the_store(store: FilesystemBlobStore, key: str) -> None:
    with pytest.raises(ValueError):
        store.open_reader(key)
    with pytest.raises(ValueError):
        store.delete(key)


def test_listing_skips_partial_files(store: FilesystemBlobStore) -> None:
    stored = write(store, stream(b"done"), 100)
    (store.root / "ef").mkdir()
    (store.root / "ef" / ("ef" * 16 + ".part")).write_bytes(b"half")
    assert [b.key for b in store.list_blobs()] == [stored.key]
    assert store.remove_partials(older_than=0) == 0
    assert store.remove_partials(older_than=float("inf")) == 1
    assert [p.name for p in files(store.root)] == [stored.key]


def test_delete(store: FilesystemBlobStore) -> None:
    stored = write(store, stream(b"gone soon"), 100)
    store.delete(stored.key)
    assert not store.exists(stored.key)
    assert list(store.list_blobs()) == []
