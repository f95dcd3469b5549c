"""What is particular to the S3 store (the common contract is in test_blobstore_contract.py):
its configuration, multipart uploads and their abort, failures of the object store, and a
real server process on moto's S3 driven by the real client."""

from __future__ import annotations

import asyncio
import io
import os
import re
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import blake3
import httpx
import pytest
from minio.error import S3Error
from pydantic import ValidationError

from client_sdk import Client
from server.app import make_blobstore
from server.blobstore import (
    BlobStoreUnavailable,
    BlobTooLarge,
    FilesystemBlobStore,
    LayoutRefused,
    PartLayout,
)
from server.blobstore_s3 import S3BlobStore
from server.config import ConfigurationError, Settings

from ..conftest import LiveServerFactory
from .harness import run_server
from .moto_s3 import ACCESS_KEY, PART_SIZE, SECRET_KEY, S3Service

MIB = 1 << 20


async def pieces(data: bytes, size: int = MIB) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        await asyncio.sleep(0)
        yield data[i : i + size]


def s3_settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": tmp_path,
        "blob_backend": "s3",
        "s3_endpoint": "127.0.0.1:9",
        "s3_bucket": "kluis-blobs",
        "s3_access_key": ACCESS_KEY,
        "s3_secret_key": SECRET_KEY,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


# -- configuration -----------------------------------------------------------------------------
def test_the_backend_is_chosen_by_configuration(tmp_path: Path) -> None:
    assert isinstance(make_blobstore(Settings(data_dir=tmp_path)), FilesystemBlobStore)
    store = make_blobstore(s3_settings(tmp_path, s3_secure=False, s3_region="eu-west-1"))
    assert isinstance(store, S3BlobStore)
    assert store.bucket == "kluis-blobs"
    assert store.part_size == 8 * MIB


def test_settings_come_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KLUIS_BLOB_BACKEND", "s3")
    monkeypatch.setenv("KLUIS_S3_ENDPOINT", "minio:9000")
    monkeypatch.setenv("KLUIS_S3_BUCKET", "kluis")
    monkeypatch.setenv("KLUIS_S3_ACCESS_KEY", "kluis-server")
    monkeypatch.setenv("KLUIS_S3_SECRET_KEY", "a-secret-value-123")
    monkeypatch.setenv("KLUIS_S3_SECURE", "false")
    settings = Settings(data_dir=tmp_path)
    assert (settings.blob_backend, settings.s3_endpoint, settings.s3_secure) == (
        "s3",
        "minio:9000",
        False,
    )
    assert settings.s3_secret_key is not None
    assert "a-secret-value-123" not in repr(settings) + str(settings)
    assert isinstance(make_blobstore(settings), S3BlobStore)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"s3_endpoint": None}, "KLUIS_S3_ENDPOINT"),
        ({"s3_bucket": None}, "KLUIS_S3_BUCKET"),
        ({"s3_access_key": None}, "KLUIS_S3_ACCESS_KEY"),
        ({"s3_secret_key": None}, "KLUIS_S3_SECRET_KEY"),
        ({"s3_endpoint": "https://s3.example.nl"}, "host[:port]"),
        ({"s3_endpoint": "minio:9000/bucket"}, "host[:port]"),
    ],
)
def test_incomplete_configuration_is_refused_clearly(
    tmp_path: Path, overrides: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(message)):
        make_blobstore(s3_settings(tmp_path, **overrides))


def test_parts_are_at_least_s3s_minimum(tmp_path: Path) -> None:
    with pytest.raises(ValidationError):
        s3_settings(tmp_path, s3_part_size=4 * MIB)


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"KLUIS_BLOB_BACKEND": "s3", "KLUIS_S3_BUCKET": "kluis"}, "KLUIS_S3_ENDPOINT"),
        ({"KLUIS_BLOB_BACKEND": "azure-value-123"}, "KLUIS_BLOB_BACKEND"),
        ({"KLUIS_S3_PART_SIZE": "big-value-123"}, "KLUIS_S3_PART_SIZE"),
    ],
)
def test_a_misconfigured_server_says_what_is_wrong(
    tmp_path: Path, settings: dict[str, str], named: str
) -> None:
    result = run_server("--port", "0", "--data-dir", str(tmp_path), env=settings)
    assert result.returncode == 2
    assert named in result.stderr
    assert "Traceback" not in result.stderr
    assert "value-123" not in result.stderr  # values are not echoed: one might be a secret


def test_the_part_size_grows_so_the_largest_upload_fits_in_10000_parts(
    s3_service: S3Service,
) -> None:
    store = s3_service.store("kluis-any", part_size=5 * MIB)
    assert store.part_size_for(2 << 30) == 5 * MIB
    assert store.part_size_for(100 << 30) == 11 * MIB  # 100 GiB / 10,000 rounded up to MiB
    assert store.part_size_for(100 << 30) * 10_000 >= 100 << 30


# -- multipart ---------------------------------------------------------------------------------
def test_small_payloads_are_one_put_large_ones_multipart(
    s3_service: S3Service, s3_bucket: str
) -> None:
    store = s3_service.store(s3_bucket)
    small = asyncio.run(store.write_stream(pieces(b"tiny"), MIB))
    large = asyncio.run(store.write_stream(pieces(os.urandom(2 * PART_SIZE + 1)), 20 * MIB))
    admin = s3_service.admin()
    assert "-" not in (admin.stat_object(s3_bucket, f"blobs/{small.key}").etag or "")
    # A multipart object's ETag ends in "-<number of parts>".
    assert (admin.stat_object(s3_bucket, f"blobs/{large.key}").etag or "").endswith("-3")


def test_too_large_after_a_part_aborts_the_multipart_upload(
    s3_service: S3Service, s3_bucket: str
) -> None:
    store = s3_service.store(s3_bucket)
    trace = io.StringIO()
    store.client.trace_on(trace)
    with pytest.raises(BlobTooLarge):
        asyncio.run(store.write_stream(pieces(os.urandom(3 * PART_SIZE)), 2 * PART_SIZE))
    store.client.trace_off()
    calls = trace.getvalue()
    assert "?uploads=" in calls  # it was a multipart upload, a part went up ...
    assert "partNumber=1" in calls
    assert re.search(r"DELETE /\S+\?uploadId=", calls)  # ... and it was aborted
    assert s3_service.objects(s3_bucket) == []
    assert s3_service.multipart_uploads(s3_bucket) == []


# -- uploads in parts --------------------------------------------------------------------------
def test_a_clients_part_goes_up_as_s3_parts_of_the_stores_size(
    s3_service: S3Service, s3_bucket: str
) -> None:
    """A client's part of 16 MiB, with the store's parts of 5 MiB: three S3 parts of 5.33 MiB,
    so the store holds about two of them at a time, not the client's whole part; the last
    client part (1 MiB) is one S3 part, numbered after the range of the part before it."""
    store = s3_service.store(s3_bucket)
    layout = PartLayout(17 * MIB, 16 * MIB)
    data = os.urandom(layout.size)
    upload = store.begin_parts(layout)
    parts = []
    for number in (2, 1):
        content = data[(number - 1) * 16 * MIB :][: layout.length(number)]
        digest = blake3.blake3(content).hexdigest()
        parts.append(asyncio.run(store.write_part(upload, layout, number, pieces(content), digest)))
    listed = s3_service.admin()._list_parts(s3_bucket, f"blobs/{upload.key}", upload.handle)
    assert [(p.part_number, p.size) for p in listed.parts] == [
        (1, 5592406),
        (2, 5592405),
        (3, 5592405),
        (4, MIB),
    ]
    assert [len(p.ref.split()) for p in parts] == [1, 3]
    stored = store.complete_parts(upload, layout, parts, blake3.blake3(data).hexdigest())
    assert stored.size == layout.size
    assert b"".join(store.open_reader(upload.key)) == data


def test_an_upload_in_more_parts_than_s3_takes_is_refused_before_it_begins(
    s3_service: S3Service, s3_bucket: str
) -> None:
    store = s3_service.store(s3_bucket)
    store.begin_parts(PartLayout(10_000 * PART_SIZE, PART_SIZE))  # 10,000 parts: S3's limit
    with pytest.raises(LayoutRefused):
        store.begin_parts(PartLayout(10_000 * PART_SIZE + 1, PART_SIZE))
    with pytest.raises(LayoutRefused):  # 2,500 client parts of 4 S3 parts each
        store.begin_parts(PartLayout(2501 * 4 * PART_SIZE, 4 * PART_SIZE))
    assert len(s3_service.multipart_uploads(s3_bucket)) == 1


@pytest.mark.parametrize("size", [100, 2 * PART_SIZE])
def test_an_object_store_failure_fails_the_write_without_hanging(
    s3_service: S3Service, size: int
) -> None:
    store = s3_service.store("kluis-no-such-bucket")

    async def attempt() -> None:
        await asyncio.wait_for(store.write_stream(pieces(os.urandom(size)), 20 * MIB), 30)

    with pytest.raises(S3Error) as failure:
        asyncio.run(attempt())
    assert failure.value.code == "NoSuchBucket"


def test_an_unreachable_store_is_not_ready_and_says_so_quickly(closed_port: str) -> None:
    store = S3BlobStore(closed_port, "kluis", access_key="a", secret_key="b", secure=False)
    with pytest.raises(BlobStoreUnavailable, match="does not answer"):
        store.check()


def test_the_readiness_probe_asks_the_store_once_and_does_not_retry(
    hanging_up_port: tuple[str, list[int]],
) -> None:
    """Readiness must answer quickly, so its probe makes one attempt: the store's data client
    retries five times with back-off, seconds in all. Counting the attempts shows which client
    answered, where a stopwatch would only say how busy the machine was."""
    address, attempts = hanging_up_port
    store = S3BlobStore(address, "kluis", access_key="a", secret_key="b", secure=False)
    with pytest.raises(BlobStoreUnavailable, match="does not answer"):
        store.check()
    assert attempts == [1]


@pytest.fixture
def closed_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture
def hanging_up_port() -> Iterator[tuple[str, list[int]]]:
    """A port that accepts each connection and closes it unanswered; counts the connections."""
    attempts = [0]
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    done = threading.Event()

    def serve() -> None:
        while not done.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            attempts[0] += 1
            connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"127.0.0.1:{listener.getsockname()[1]}", attempts
    done.set()
    thread.join()
    listener.close()


# -- a real server on S3 -----------------------------------------------------------------------
def test_a_server_process_on_s3_serves_the_real_client(
    live_server_factory: LiveServerFactory,
    s3_service: S3Service,
    s3_bucket: str,
    tmp_path: Path,
) -> None:
    server = live_server_factory(env=s3_service.env(s3_bucket))
    ready = httpx.get(server.url + "/readyz")
    assert ready.json() == {"status": "ok", "checks": {"database": "ok", "blobstore": "ok"}}

    report = tmp_path / "schaderapport.pdf"
    report.write_bytes(os.urandom(300_000))
    photo = tmp_path / "foto.jpg"
    photo.write_bytes(os.urandom(2 * PART_SIZE + MIB))  # a multipart upload through HTTP
    plan = tmp_path / "bouwtekening.pdf"
    plan.write_bytes(os.urandom(17 * MIB))  # an upload in parts (16 MiB, then the rest)
    with Client(server.url, str(tmp_path / "anna")) as anna:
        anna.register("anna", "anna's passphrase, 2026 kaasschaaf")
        dossier_id = anna.create_dossier("Schade Hoofdstraat 12")
        added = [anna.add(dossier_id, path) for path in (report, photo, plan)]
        for info, original in zip(added, (report, photo, plan), strict=True):
            _, target = anna.get(info.document_id, tmp_path / f"back-{original.name}")
            assert target.read_bytes() == original.read_bytes()
        assert len(anna.documents(dossier_id)) == 3
    assert '"route":"/api/v1/uploads/{upload_id}/complete","status":200' in server.log()

    # The payloads are objects in the bucket; nothing went to the data directory.
    assert len(s3_service.objects(s3_bucket)) == 3
    assert s3_service.multipart_uploads(s3_bucket) == []
    assert not server.blob_dir.exists() or not any(server.blob_dir.rglob("*"))

    # The cleanup job works on the same store and keeps what is referenced.
    result = run_server(
        "cleanup", "--data-dir", str(server.data_dir), env=s3_service.env(s3_bucket)
    )
    assert result.returncode == 0, result.stderr
    assert "0 orphan blobs" in result.stdout
    assert len(s3_service.objects(s3_bucket)) == 3
    assert SECRET_KEY not in server.log() + result.stdout + result.stderr
