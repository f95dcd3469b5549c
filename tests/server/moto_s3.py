"""An S3 service for the tests: moto's S3 server on 127.0.0.1 (a free port), reached over HTTP
by the real `minio` SDK, exactly as the server reaches MinIO or AWS in production.

moto keeps objects in memory, so tests keep them to a few MiB and use 5 MiB parts (S3's
minimum) to get multipart uploads. One moto server per test session (and xdist worker); every
test gets a bucket of its own, emptied and removed afterwards. The fixtures `s3_service` and
`s3_bucket` are imported by tests/server/conftest.py.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from minio import Minio

from server.blobstore_s3 import S3BlobStore

ACCESS_KEY = "kluis-test-access"
SECRET_KEY = "kluis-test-secret-key-not-real"
REGION = "us-east-1"
PART_SIZE = 5 << 20


@dataclass(frozen=True)
class S3Service:
    endpoint: str  # host:port

    def admin(self) -> Minio:
        """A plain minio client, to look at the bucket behind the store's back."""
        return Minio(
            self.endpoint,
            access_key=ACCESS_KEY,
            secret_key=SECRET_KEY,
            secure=False,
            region=REGION,
        )

    def store(self, bucket: str, part_size: int = PART_SIZE) -> S3BlobStore:
        return S3BlobStore(
            self.endpoint,
            bucket,
            access_key=ACCESS_KEY,
            secret_key=SECRET_KEY,
            secure=False,
            region=REGION,
            part_size=part_size,
        )

    def env(self, bucket: str) -> dict[str, str]:
        """The settings that point a server process at `bucket`."""
        return {
            "KLUIS_BLOB_BACKEND": "s3",
            "KLUIS_S3_ENDPOINT": self.endpoint,
            "KLUIS_S3_BUCKET": bucket,
            "KLUIS_S3_ACCESS_KEY": ACCESS_KEY,
            "KLUIS_S3_SECRET_KEY": SECRET_KEY,
            "KLUIS_S3_SECURE": "false",
            "KLUIS_S3_REGION": REGION,
            "KLUIS_S3_PART_SIZE": str(PART_SIZE),
        }

    def objects(self, bucket: str) -> list[str]:
        return sorted(
            obj.object_name or "" for obj in self.admin().list_objects(bucket, recursive=True)
        )

    def multipart_uploads(self, bucket: str) -> list[str]:
        result = self.admin()._list_multipart_uploads(bucket)
        return sorted(upload.object_name for upload in result.uploads)

    def remove_bucket(self, bucket: str) -> None:
        admin = self.admin()
        if not admin.bucket_exists(bucket):
            return
        for upload in admin._list_multipart_uploads(bucket).uploads:
            admin._abort_multipart_upload(bucket, upload.object_name, upload.upload_id or "")
        for name in self.objects(bucket):
            admin.remove_object(bucket, name)
        admin.remove_bucket(bucket)


@pytest.fixture(scope="session")
def s3_service() -> Iterator[S3Service]:
    from moto.server import ThreadedMotoServer  # imported only by the tests that need it

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's request lines
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield S3Service(f"{host}:{port}")
    finally:
        server.stop()


@pytest.fixture
def s3_bucket(s3_service: S3Service) -> Iterator[str]:
    name = f"kluis-test-{secrets.token_hex(6)}"
    s3_service.admin().make_bucket(name)
    yield name
    s3_service.remove_bucket(name)
