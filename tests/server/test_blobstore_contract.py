"""The `BlobStore` contract, run against every implementation: the filesystem store and the S3
store (the real minio SDK over HTTP to moto's S3 server, with 5 MiB parts so that a few MiB
exercise multipart uploads).

Whatever the store: a stream comes back byte for byte with its size and BLAKE3; the size
limit is enforced while the stream arrives and leaves nothing behind, as does a client that
goes away or a cancelled request; missing keys are an error for reads and not for deletes;
cleanup can list complete blobs with their times and remove interrupted writes; concurrent
writes do not interfere; and `run_cleanup` works on top of it.

Uploads in parts: parts sent in any order (also all at once) join into exactly the blob, which
exists only once completed and only if its size and BLAKE3 are the ones announced; a part sent
again replaces the earlier one; a part of the wrong size or hash is refused and can be sent
again; completing twice (after a crash) answers the same blob; aborting removes everything,
also under a part still arriving; and an abandoned upload in parts is removed by its last
activity unless it is still in use.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import blake3
import pytest

from server.app import create_app
from server.blobstore import (
    BlobMismatch,
    BlobMissing,
    BlobStore,
    BlobStoreUnavailable,
    BlobTooLarge,
    FilesystemBlobStore,
    PartLayout,
    PartsUpload,
    StoredBlob,
    StoredPart,
)
from server.cleanup import run_cleanup
from server.config import Settings

from .harness import FakeClock, Kluis, TestClient
from .moto_s3 import PART_SIZE, S3Service

MIB = 1 << 20
GRACE = 3600


@dataclass
class Backend:
    name: str
    store: BlobStore
    leftovers: Callable[[], list[str]]  # everything stored: blobs and interrupted writes
    make_partial: Callable[[], None]  # an interrupted write, as a crash leaves it (old)
    make_unavailable: Callable[[], None]


def filesystem_backend(root: Path) -> Backend:
    store = FilesystemBlobStore(root)

    def leftovers() -> list[str]:
        """Every file, but a blob that arrived in parts (a directory of its parts) as one."""
        found = set()
        for path in root.rglob("*"):
            if path.is_file():
                in_blob = len(path.parent.parent.name) == 2 and path.parent.parent.parent == root
                found.add(str((path.parent if in_blob else path).relative_to(root)))
        return sorted(found)

    def make_partial() -> None:
        key = secrets.token_hex(16)
        (root / key[:2]).mkdir(exist_ok=True)
        part = root / key[:2] / f"{key}.part"
        part.write_bytes(b"half a payload")
        then = time.time() - 2 * GRACE
        os.utime(part, (then, then))

    def make_unavailable() -> None:
        for path in sorted(root.rglob("*"), reverse=True):
            path.rmdir() if path.is_dir() else path.unlink()
        root.rmdir()

    return Backend("filesystem", store, leftovers, make_partial, make_unavailable)


def s3_backend(service: S3Service, bucket: str) -> Backend:
    store = service.store(bucket)
    admin = service.admin()

    def leftovers() -> list[str]:
        uploads = [f"multipart:{name}" for name in service.multipart_uploads(bucket)]
        return service.objects(bucket) + uploads

    def make_partial() -> None:
        # A multipart upload with one part that was never completed (moto dates it 2010).
        name = f"blobs/{secrets.token_hex(16)}"
        upload_id = admin._create_multipart_upload(bucket, name, {})
        admin._upload_part(bucket, name, b"half a payload", None, upload_id, 1)

    return Backend("s3", store, leftovers, make_partial, lambda: service.remove_bucket(bucket))


@pytest.fixture(params=["filesystem", "s3"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "filesystem":
        yield filesystem_backend(tmp_path / "blobs")
    else:
        service: S3Service = request.getfixturevalue("s3_service")
        bucket: str = request.getfixturevalue("s3_bucket")
        yield s3_backend(service, bucket)


# -- helpers -----------------------------------------------------------------------------------
async def pieces(*chunks: bytes, fail_after: int | None = None) -> AsyncIterator[bytes]:
    for index, chunk in enumerate(chunks):
        if fail_after is not None and index == fail_after:
            raise ConnectionResetError("the client went away")
        await asyncio.sleep(0)
        yield chunk


def split(data: bytes, size: int = 64 * 1024) -> list[bytes]:
    """As a request body arrives: in pieces of about 64 KiB."""
    return [data[i : i + size] for i in range(0, len(data), size)]


def write(store: BlobStore, chunks: AsyncIterator[bytes], limit: int) -> StoredBlob:
    return asyncio.run(store.write_stream(chunks, limit))


def read(store: BlobStore, key: str) -> bytes:
    return b"".join(store.open_reader(key))


# -- writing and reading -----------------------------------------------------------------------
@pytest.mark.parametrize("size", [0, 1, 70_000, MIB + 3, 2 * PART_SIZE + MIB])
def test_a_stream_comes_back_with_its_size_and_blake3(backend: Backend, size: int) -> None:
    data = os.urandom(size)
    stored = write(backend.store, pieces(*split(data)), 20 * MIB)
    assert stored.size == size
    assert stored.blake3 == blake3.blake3(data).hexdigest()
    assert read(backend.store, stored.key) == data
    assert backend.store.exists(stored.key)
    [blob] = backend.leftovers()
    assert blob.endswith(stored.key)


def test_odd_sized_and_large_pieces_are_fine(backend: Backend) -> None:
    chunks = [os.urandom(n) for n in (1, 3 * MIB, 17, PART_SIZE + 1, 5)]
    data = b"".join(chunks)
    stored = write(backend.store, pieces(*chunks), len(data))  # exactly at the limit
    assert (stored.size, stored.blake3) == (len(data), blake3.blake3(data).hexdigest())
    assert read(backend.store, stored.key) == data


def test_reads_come_in_chunks(backend: Backend) -> None:
    stored = write(backend.store, pieces(b"x" * 2500), 10_000)
    assert [len(c) for c in backend.store.open_reader(stored.key, chunk_size=1000)] == [
        1000,
        1000,
        500,
    ]


def test_a_reader_closed_early_releases_it(backend: Backend) -> None:
    stored = write(backend.store, pieces(os.urandom(3 * MIB)), 10 * MIB)
    for _ in range(20):  # a leak of connections or file handles would show
        reader = backend.store.open_reader(stored.key, chunk_size=MIB)
        assert len(next(iter(reader))) == MIB
        reader.close()
    assert len(read(backend.store, stored.key)) == 3 * MIB


def test_keys_are_new_every_time(backend: Backend) -> None:
    keys = {write(backend.store, pieces(b"same"), 100).key for _ in range(4)}
    assert len(keys) == 4
    assert len(backend.leftovers()) == 4


# -- nothing left behind -----------------------------------------------------------------------
@pytest.mark.parametrize("first", [MIB, 2 * PART_SIZE])  # before and after the first part
def test_over_the_limit_fails_mid_stream_and_leaves_nothing(backend: Backend, first: int) -> None:
    limit = first + MIB
    with pytest.raises(BlobTooLarge):
        write(backend.store, pieces(*split(os.urandom(first + 2 * MIB), MIB)), limit)
    assert backend.leftovers() == []


def test_a_client_going_away_leaves_nothing(backend: Backend) -> None:
    chunks = [*split(os.urandom(2 * PART_SIZE), MIB), b"never sent"]
    with pytest.raises(ConnectionResetError):
        write(backend.store, pieces(*chunks, fail_after=len(chunks) - 1), 100 * MIB)
    assert backend.leftovers() == []


def test_a_cancelled_write_leaves_nothing(backend: Backend) -> None:
    async def scenario() -> None:
        halfway = asyncio.Event()

        async def stalls() -> AsyncIterator[bytes]:
            for chunk in split(os.urandom(PART_SIZE + 2 * MIB), MIB):
                yield chunk
            halfway.set()
            await asyncio.sleep(3600)
            yield b"never"

        task = asyncio.create_task(backend.store.write_stream(stalls(), 100 * MIB))
        await halfway.wait()
        await asyncio.sleep(0.3)  # the first part is on its way
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    assert backend.leftovers() == []


# -- missing keys and deletes ------------------------------------------------------------------
def test_a_missing_key(backend: Backend) -> None:
    key = "ab" * 16
    with pytest.raises(BlobMissing):
        backend.store.open_reader(key)
    assert not backend.store.exists(key)
    backend.store.delete(key)  # deleting what is not there is fine


def test_keys_are_checked(backend: Backend) -> None:
    for bad in ("../etc/passwd", "AB" * 16, "ab" * 15, ""):
        with pytest.raises(ValueError):
            backend.store.open_reader(bad)
        with pytest.raises(ValueError):
            backend.store.delete(bad)


def test_delete(backend: Backend) -> None:
    kept = write(backend.store, pieces(b"keep"), 100)
    gone = write(backend.store, pieces(b"drop"), 100)
    backend.store.delete(gone.key)
    assert not backend.store.exists(gone.key)
    with pytest.raises(BlobMissing):
        backend.store.open_reader(gone.key)
    assert [b.key for b in backend.store.list_blobs()] == [kept.key]
    backend.store.delete(gone.key)  # twice is fine


# -- what cleanup needs ------------------------------------------------------------------------
def test_listing_has_every_complete_blob_with_its_time(backend: Backend) -> None:
    before = time.time()
    stored = {write(backend.store, pieces(os.urandom(100)), 1000).key for _ in range(3)}
    backend.make_partial()
    listed = list(backend.store.list_blobs())
    assert {b.key for b in listed} == stored  # partial writes are not blobs
    for blob in listed:  # S3 times have whole seconds
        assert before - 2 <= blob.modified_at <= time.time() + 2


def test_interrupted_writes_are_removed_once_old(backend: Backend) -> None:
    kept = write(backend.store, pieces(b"complete"), 100)
    backend.make_partial()
    assert len(backend.leftovers()) == 2
    assert backend.store.remove_partials(older_than=0) == 0  # not older than 1970
    assert len(backend.leftovers()) == 2
    # S3 parts cannot be back-dated here (moto stamps them now): a cutoff after now.
    assert backend.store.remove_partials(older_than=time.time() + 60) == 1
    [left] = backend.leftovers()
    assert left.endswith(kept.key)
    assert read(backend.store, kept.key) == b"complete"


def test_an_upload_still_streaming_is_no_partial_to_remove(backend: Backend) -> None:
    """Cleanup runs while an upload that began long ago (a large body on a slow line) is still
    arriving: what counts is when its last bytes came, not when it started. (moto dates every
    multipart upload's start 2010, so on S3 this upload "started" long before the cutoff.)"""

    async def scenario() -> StoredBlob:
        first_part_sent, go_on = asyncio.Event(), asyncio.Event()

        async def body() -> AsyncIterator[bytes]:
            for chunk in split(os.urandom(PART_SIZE + MIB), MIB):  # more than one S3 part
                yield chunk
            first_part_sent.set()
            await go_on.wait()
            for chunk in split(os.urandom(2 * MIB), MIB):
                yield chunk

        upload = asyncio.create_task(backend.store.write_stream(body(), 100 * MIB))
        await first_part_sent.wait()
        await asyncio.sleep(0.5)  # the first part is stored by now
        cutoff = time.time() - GRACE
        assert await asyncio.to_thread(backend.store.remove_partials, cutoff) == 0
        go_on.set()
        return await upload

    stored = asyncio.run(scenario())
    assert stored.size == PART_SIZE + 3 * MIB
    assert len(read(backend.store, stored.key)) == stored.size


def test_cleanup_keeps_what_is_referenced_and_removes_the_rest(
    backend: Backend, tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path / "data", upload_grace_seconds=GRACE)
    clock = FakeClock()
    app = create_app(settings, clock=clock, blobstore=backend.store)
    with TestClient(app) as client:
        kluis = Kluis(client, clock)
        alice = kluis.register("alice")
        dossier_id = kluis.create_dossier(alice)
        document_id = kluis.add_document(alice, dossier_id, b"committed payload")
        kluis.upload(alice, b"never committed")
        orphan = write(backend.store, pieces(b"written, never recorded"), 100)
        backend.make_partial()
        assert len(backend.leftovers()) == 4

        # The upload row is dated by the fake clock, long ago: stale. The orphan blob is young.
        # The partial is old on the filesystem (back-dated); on S3 its part arrived just now
        # (moto cannot back-date one), so it goes in the second run there.
        first = run_cleanup(app.state.engine, backend.store, settings, int(time.time()) + GRACE)
        assert (first.uploads, first.orphans) == (1, 0)
        assert backend.store.exists(orphan.key)

        report = run_cleanup(
            app.state.engine, backend.store, settings, int(time.time()) + 10 * GRACE
        )
        assert (report.uploads, report.orphans) == (0, 1)
        assert first.partials + report.partials == 1
        assert not backend.store.exists(orphan.key)
        assert len(backend.leftovers()) == 1
        kluis.login(alice)  # cleanup also removed her session, expired by then
        payload = kluis.get(f"/documents/{document_id}/versions/1/payload", alice)
        assert payload.content == b"committed payload"


# -- concurrency and readiness -----------------------------------------------------------------
def test_concurrent_writes_do_not_interfere(backend: Backend) -> None:
    payloads = [os.urandom(PART_SIZE + MIB if i % 3 == 0 else 100_000 + i) for i in range(6)]

    async def all_at_once() -> list[StoredBlob]:
        return await asyncio.gather(
            *(backend.store.write_stream(pieces(*split(p)), 20 * MIB) for p in payloads)
        )

    stored = asyncio.run(all_at_once())
    assert len({s.key for s in stored}) == len(payloads)
    for blob, data in zip(stored, payloads, strict=True):
        assert (blob.size, blob.blake3) == (len(data), blake3.blake3(data).hexdigest())
        assert read(backend.store, blob.key) == data
    assert len(backend.leftovers()) == len(payloads)


def test_check_says_whether_the_store_is_usable(backend: Backend) -> None:
    backend.store.check()
    backend.make_unavailable()
    with pytest.raises(BlobStoreUnavailable):
        backend.store.check()


# -- uploads in parts --------------------------------------------------------------------------
def b3(data: bytes) -> str:
    return str(blake3.blake3(data).hexdigest())


def part_of(data: bytes, layout: PartLayout, number: int) -> bytes:
    start = (number - 1) * layout.part_size
    return data[start : start + layout.length(number)]


def send(
    store: BlobStore,
    upload: PartsUpload,
    layout: PartLayout,
    number: int,
    content: bytes,
    blake3_hex: str | None = None,
    fail_after: int | None = None,
) -> StoredPart:
    chunks = pieces(*split(content), fail_after=fail_after)
    return asyncio.run(store.write_part(upload, layout, number, chunks, blake3_hex or b3(content)))


def send_all(
    store: BlobStore, upload: PartsUpload, layout: PartLayout, data: bytes, order: list[int]
) -> list[StoredPart]:
    return [send(store, upload, layout, n, part_of(data, layout, n)) for n in order]


LAYOUTS = {
    "three parts, the last short": (2 * PART_SIZE + MIB, PART_SIZE),
    "an exact multiple": (3 * PART_SIZE, PART_SIZE),
    "one small part": (1000, PART_SIZE),
    "parts of two S3 parts each": (2 * (2 * PART_SIZE + MIB) + 3 * MIB, 2 * PART_SIZE + MIB),
}


@pytest.mark.parametrize("shape", LAYOUTS)
def test_parts_in_any_order_join_into_exactly_the_blob(backend: Backend, shape: str) -> None:
    layout = PartLayout(*LAYOUTS[shape])
    data = os.urandom(layout.size)
    upload = backend.store.begin_parts(layout)
    order = list(range(layout.count, 0, -1))  # backwards
    parts = send_all(backend.store, upload, layout, data, order)
    assert [p.size for p in parts] == [layout.length(n) for n in order]
    assert [p.blake3 for p in parts] == [b3(part_of(data, layout, n)) for n in order]
    assert list(backend.store.list_blobs()) == []  # parts are no blob
    assert not backend.store.exists(upload.key)
    with pytest.raises(BlobMissing):
        backend.store.open_reader(upload.key)

    stored = backend.store.complete_parts(upload, layout, parts, b3(data))
    assert stored == StoredBlob(key=upload.key, size=layout.size, blake3=b3(data))
    assert read(backend.store, upload.key) == data
    assert [b.key for b in backend.store.list_blobs()] == [upload.key]
    [blob] = backend.leftovers()  # the parts are gone
    assert blob.endswith(upload.key)


def test_parts_sent_all_at_once_do_not_interfere(backend: Backend) -> None:
    layout = PartLayout(3 * PART_SIZE + 7, PART_SIZE)
    data = os.urandom(layout.size)
    upload = backend.store.begin_parts(layout)

    async def all_at_once() -> list[StoredPart]:
        return await asyncio.gather(
            *(
                backend.store.write_part(
                    upload,
                    layout,
                    n,
                    pieces(*split(part_of(data, layout, n))),
                    b3(part_of(data, layout, n)),
                )
                for n in range(1, layout.count + 1)
            )
        )

    parts = asyncio.run(all_at_once())
    assert backend.store.complete_parts(upload, layout, parts, b3(data)).size == layout.size
    assert read(backend.store, upload.key) == data


def test_a_part_sent_again_replaces_the_earlier_one(backend: Backend) -> None:
    layout = PartLayout(PART_SIZE + MIB, PART_SIZE)
    first = os.urandom(layout.size)
    upload = backend.store.begin_parts(layout)
    [_, last] = send_all(backend.store, upload, layout, first, [1, 2])
    second = os.urandom(PART_SIZE) + part_of(first, layout, 2)
    again = send(backend.store, upload, layout, 1, part_of(second, layout, 1))
    stored = backend.store.complete_parts(upload, layout, [again, last], b3(second))
    assert stored.blake3 == b3(second)
    assert read(backend.store, upload.key) == second


def test_a_part_of_the_wrong_size_or_hash_is_refused_and_can_be_sent_again(
    backend: Backend,
) -> None:
    layout = PartLayout(PART_SIZE + MIB, PART_SIZE)
    data = os.urandom(layout.size)
    upload = backend.store.begin_parts(layout)
    one = part_of(data, layout, 1)
    with pytest.raises(BlobTooLarge):
        send(backend.store, upload, layout, 1, one + b"x", blake3_hex=b3(one))
    with pytest.raises(BlobMismatch) as short:
        send(backend.store, upload, layout, 1, one[:-1], blake3_hex=b3(one))
    assert short.value.what == "size"
    with pytest.raises(BlobMismatch) as altered:
        send(backend.store, upload, layout, 1, one[:-1] + b"x", blake3_hex=b3(one))
    assert altered.value.what == "blake3"
    with pytest.raises(ConnectionResetError):  # the client goes away mid-part
        send(backend.store, upload, layout, 1, one, fail_after=len(split(one)) // 2)

    parts = send_all(backend.store, upload, layout, data, [2, 1])
    backend.store.complete_parts(upload, layout, parts, b3(data))
    assert read(backend.store, upload.key) == data
    [blob] = backend.leftovers()  # no attempt left anything behind
    assert blob.endswith(upload.key)


def test_a_completion_with_another_hash_is_refused_and_aborting_removes_it(
    backend: Backend,
) -> None:
    layout = PartLayout(PART_SIZE + MIB, PART_SIZE)
    data = os.urandom(layout.size)
    upload = backend.store.begin_parts(layout)
    parts = send_all(backend.store, upload, layout, data, [1, 2])
    with pytest.raises(BlobMismatch) as refused:
        backend.store.complete_parts(upload, layout, parts, b3(data + b"more"))
    assert refused.value.what == "blake3"
    backend.store.abort_parts(upload)  # the store published it before it could check it
    assert backend.leftovers() == []


def test_completing_again_answers_the_same_blob(backend: Backend) -> None:
    """As a client does when the answer to its completion was lost, or the server crashed
    after publishing the blob: the parts are gone by then, the blob is checked again."""
    layout = PartLayout(PART_SIZE + 10, PART_SIZE)
    data = os.urandom(layout.size)
    upload = backend.store.begin_parts(layout)
    parts = send_all(backend.store, upload, layout, data, [1, 2])
    stored = backend.store.complete_parts(upload, layout, parts, b3(data))
    assert backend.store.complete_parts(upload, layout, parts, b3(data)) == stored
    with pytest.raises(BlobMismatch):  # another hash is still refused, and the blob stays
        backend.store.complete_parts(upload, layout, parts, b3(b"other"))
    assert read(backend.store, upload.key) == data


def test_aborting_removes_everything(backend: Backend) -> None:
    layout = PartLayout(2 * PART_SIZE + 1, PART_SIZE)
    data = os.urandom(layout.size)
    upload = backend.store.begin_parts(layout)
    parts = send_all(backend.store, upload, layout, data, [3, 1, 2])
    backend.store.abort_parts(upload)
    assert backend.leftovers() == []
    with pytest.raises(BlobMissing):
        send(backend.store, upload, layout, 2, part_of(data, layout, 2))
    with pytest.raises(BlobMissing):
        backend.store.complete_parts(upload, layout, parts, b3(data))
    backend.store.abort_parts(upload)  # twice is fine
    assert backend.leftovers() == []


def test_aborting_under_a_part_still_arriving_leaves_nothing(backend: Backend) -> None:
    layout = PartLayout(2 * PART_SIZE, PART_SIZE)
    content = os.urandom(PART_SIZE)
    upload = backend.store.begin_parts(layout)

    async def scenario() -> None:
        halfway, go_on = asyncio.Event(), asyncio.Event()

        async def body() -> AsyncIterator[bytes]:
            chunks = split(content, MIB)
            for chunk in chunks[:3]:
                yield chunk
            halfway.set()
            await go_on.wait()
            for chunk in chunks[3:]:
                yield chunk

        part = asyncio.create_task(backend.store.write_part(upload, layout, 1, body(), b3(content)))
        await halfway.wait()
        await asyncio.sleep(0.3)  # on S3, the first bytes are on their way
        await asyncio.to_thread(backend.store.abort_parts, upload)
        go_on.set()
        with pytest.raises(BlobMissing):
            await part

    asyncio.run(scenario())
    assert backend.leftovers() == []


def test_a_part_still_arriving_when_the_upload_completes_changes_nothing(backend: Backend) -> None:
    """A request for a part that was cut off on the client's side, but whose bytes the server
    is still receiving, when the upload is completed with the parts sent before: the blob is
    those parts, and the late part fails."""
    layout = PartLayout(PART_SIZE + MIB, PART_SIZE)
    data = os.urandom(layout.size)
    upload = backend.store.begin_parts(layout)
    parts = send_all(backend.store, upload, layout, data, [1, 2])
    other = os.urandom(PART_SIZE)

    async def scenario() -> StoredBlob:
        halfway, go_on = asyncio.Event(), asyncio.Event()

        async def body() -> AsyncIterator[bytes]:
            chunks = split(other, MIB)
            for chunk in chunks[:3]:
                yield chunk
            halfway.set()
            await go_on.wait()
            for chunk in chunks[3:]:
                yield chunk

        late = asyncio.create_task(backend.store.write_part(upload, layout, 1, body(), b3(other)))
        await halfway.wait()
        await asyncio.sleep(0.3)
        stored = await asyncio.to_thread(
            backend.store.complete_parts, upload, layout, parts, b3(data)
        )
        go_on.set()
        with pytest.raises(BlobMissing):
            await late
        return stored

    stored = asyncio.run(scenario())
    assert stored.blake3 == b3(data)
    assert read(backend.store, upload.key) == data
    [blob] = backend.leftovers()
    assert blob.endswith(upload.key)


def test_abandoned_uploads_in_parts_are_removed_by_their_last_activity(backend: Backend) -> None:
    layout = PartLayout(2 * PART_SIZE, PART_SIZE)
    data = os.urandom(layout.size)
    in_use, abandoned = backend.store.begin_parts(layout), backend.store.begin_parts(layout)
    for upload in (in_use, abandoned):
        send(backend.store, upload, layout, 1, part_of(data, layout, 1))
    # A part arrived just now: not stale, whenever the upload began (moto dates it 2010).
    assert backend.store.remove_partials(older_than=time.time() - GRACE) == 0
    # Later: the one still recorded (kept) stays, the other goes.
    later = time.time() + 60
    assert backend.store.remove_partials(older_than=later, keep={in_use.key}) == 1
    assert backend.store.remove_partials(older_than=later, keep={in_use.key}) == 0
    two = send(backend.store, in_use, layout, 2, part_of(data, layout, 2))
    one = send(backend.store, in_use, layout, 1, part_of(data, layout, 1))
    backend.store.complete_parts(in_use, layout, [one, two], b3(data))
    [blob] = backend.leftovers()
    assert blob.endswith(in_use.key)
    with pytest.raises(BlobMissing):
        send(backend.store, abandoned, layout, 2, part_of(data, layout, 2))


def test_cleanup_removes_abandoned_uploads_in_parts_and_leaves_those_in_use(
    backend: Backend, tmp_path: Path
) -> None:
    """One upload in parts is abandoned (untouched for longer than the grace period), one was
    just created and has no part yet (on moto its multipart upload is dated 2010 and has no
    part: only being recorded keeps it); cleanup removes the first and everything of it."""
    settings = Settings(data_dir=tmp_path / "data", upload_grace_seconds=GRACE)
    clock = FakeClock(int(time.time()) - 2 * GRACE)
    app = create_app(settings, clock=clock, blobstore=backend.store)
    data = os.urandom(PART_SIZE + 10)
    layout = {"size": len(data), "part_size": PART_SIZE}
    headers = {"Kluis-Part-BLAKE3": b3(data[:PART_SIZE])}
    with TestClient(app) as client:
        kluis = Kluis(client, clock)
        alice = kluis.register("alice")
        abandoned = kluis.post("/uploads/parts", alice, json=layout).json()["upload_id"]
        put = client.put(
            f"/api/v1/uploads/{abandoned}/parts/1",
            content=data[:PART_SIZE],
            headers={**alice.headers, **headers},
        )
        assert put.status_code == 200, put.text
        clock.now = int(time.time())
        kluis.login(alice)
        in_use = kluis.post("/uploads/parts", alice, json=layout).json()["upload_id"]

        report = run_cleanup(app.state.engine, backend.store, settings, clock.now)
        assert report.part_uploads == 1
        assert kluis.get(f"/uploads/{abandoned}", alice).status_code == 404
        # Nothing of the abandoned one; of the one in use, its (empty) multipart upload on S3.
        assert len(backend.leftovers()) == (1 if backend.name == "s3" else 0)
        for number, content in ((1, data[:PART_SIZE]), (2, data[PART_SIZE:])):
            put = client.put(
                f"/api/v1/uploads/{in_use}/parts/{number}",
                content=content,
                headers={**alice.headers, "Kluis-Part-BLAKE3": b3(content)},
            )
            assert put.status_code == 200, put.text
        done = kluis.post(
            f"/uploads/{in_use}/complete", alice, json={"size": len(data), "blake3": b3(data)}
        )
        assert done.status_code == 200, done.text
        [blob] = backend.leftovers()
        assert read(backend.store, blob.rsplit("/", 1)[-1]) == data
