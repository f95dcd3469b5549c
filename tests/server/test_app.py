"""The application shell: problem documents, security headers, body limits, health, config."""

from __future__ import annotations

import os
import stat
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from server.app import create_app
from server.blobstore import BlobInfo, BlobReader, StoredBlob
from server.config import InsecureSecretError, Settings

from .harness import Account, FakeClock, Kluis, TestClient, assert_problem, b64, make_client

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("KLUIS_"):
            monkeypatch.delenv(name)


# -- problems ----------------------------------------------------------------------------------
def test_unknown_paths_are_problem_404s(kluis: Kluis) -> None:
    assert_problem(kluis.get("/no/such/thing"), 404, "not_found")
    assert_problem(kluis.client.get("/nothing-here"), 404, "not_found")


def test_wrong_methods_are_problems(kluis: Kluis) -> None:
    assert_problem(kluis.client.delete("/api/v1/me"), 405, "method_not_allowed")


def test_malformed_json_is_a_validation_problem(kluis: Kluis) -> None:
    response = kluis.client.post(
        "/api/v1/auth/login", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert_problem(response, 422, "validation_error")


def test_a_missing_body_is_a_validation_problem(kluis: Kluis) -> None:
    assert_problem(kluis.client.post("/api/v1/auth/login"), 422, "validation_error")


class BrokenStore:
    """A blob store whose disk has failed, with a message that must not reach clients."""

    async def write_stream(self, chunks: AsyncIterator[bytes], max_size: int) -> StoredBlob:
        raise OSError("disk /dev/sdz1 exploded at /srv/kluis/secret-path")

    def open_reader(self, key: str, chunk_size: int = 1 << 20) -> BlobReader:
        raise OSError("disk exploded")

    def exists(self, key: str) -> bool:
        return False

    def delete(self, key: str) -> None:
        pass

    def list_blobs(self) -> Iterator[BlobInfo]:
        return iter(())

    def remove_partials(self, older_than: float) -> int:
        return 0

    def check(self) -> None:
        pass


def test_unexpected_errors_are_500_without_details(settings: Settings, clock: FakeClock) -> None:
    app = create_app(settings, clock=clock, blobstore=BrokenStore())
    with TestClient(app, raise_server_exceptions=False) as client:
        kluis = Kluis(client, clock)
        alice = kluis.register("alice")
        response = kluis.post("/uploads", alice, content=b"data")
    body = assert_problem(response, 500, "internal_error")
    assert "secret-path" not in response.text
    assert "OSError" not in response.text
    assert body["detail"] == "the server could not complete the request"


# -- headers -----------------------------------------------------------------------------------
def test_api_answers_carry_security_headers(kluis: Kluis, alice: Account) -> None:
    for response in (
        kluis.get("/me", alice),
        kluis.get("/me"),  # a problem answer too
        kluis.client.get("/healthz"),
    ):
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value
        assert response.headers["cache-control"] == "no-store"


def test_payload_downloads_carry_security_headers(kluis: Kluis, alice: Account) -> None:
    dossier_id = kluis.create_dossier(alice)
    document_id = kluis.add_document(alice, dossier_id)
    response = kluis.get(f"/documents/{document_id}/versions/1/payload", alice)
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"


def test_no_cors(kluis: Kluis) -> None:
    response = kluis.client.options(
        "/api/v1/me",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert "access-control-allow-origin" not in response.headers
    response = kluis.client.get("/api/v1/me", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in response.headers


def test_health_and_openapi(kluis: Kluis) -> None:
    assert kluis.client.get("/healthz").json() == {"status": "ok"}
    paths = kluis.client.get("/openapi.json").json()["paths"]
    assert "/api/v1/uploads" in paths
    assert "/api/v1/documents/{document_id}/versions/{version}/payload" in paths


# -- body limits -------------------------------------------------------------------------------
@pytest.fixture
def tight(data_dir: Path, clock: FakeClock) -> Iterator[Kluis]:
    with make_client(Settings(data_dir=data_dir, max_json_bytes=4096), clock) as client:
        yield Kluis(client, clock)


def test_oversized_json_bodies_are_refused(tight: Kluis) -> None:
    alice = tight.register("alice")
    body = {"dossier_id": "a" * 32, "index": b64(b"x" * 8000), "grants": []}
    assert_problem(tight.post("/dossiers", alice, json=body), 413, "payload_too_large")


def test_oversized_chunked_json_bodies_are_refused(tight: Kluis) -> None:
    alice = tight.register("alice")

    def chunks() -> Iterator[bytes]:
        yield b'{"dossier_id": "' + b"a" * 32 + b'", "grants": [], "index": "'
        for _ in range(10):
            yield b"A" * 1000
        yield b'"}'

    response = tight.client.post(
        "/api/v1/dossiers",
        content=chunks(),
        headers={**alice.headers, "content-type": "application/json"},
    )
    assert_problem(response, 413, "payload_too_large")


def test_the_json_limit_does_not_apply_to_uploads(tight: Kluis) -> None:
    alice = tight.register("alice")
    assert tight.upload(alice, b"x" * 100_000)["size"] == 100_000


# -- configuration -----------------------------------------------------------------------------
def test_the_server_secret_is_generated_once_and_private(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = Settings(data_dir=data_dir).secret_key
    path = data_dir / "server-secret"
    assert len(first) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert Settings(data_dir=data_dir).secret_key == first


@pytest.mark.parametrize("secret", ["changeme", "CHANGEME", "secret", "short-secret", "a" * 40])
def test_weak_configured_secrets_are_refused(tmp_path: Path, secret: str) -> None:
    with pytest.raises(InsecureSecretError):
        create_app(Settings(data_dir=tmp_path, server_secret=SecretStr(secret)))


def test_a_truncated_secret_file_is_refused(tmp_path: Path) -> None:
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "server-secret").write_bytes(b"tiny")
    with pytest.raises(InsecureSecretError):
        create_app(Settings(data_dir=tmp_path))


def test_settings_come_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KLUIS_DATA_DIR", str(tmp_path / "env-data"))
    monkeypatch.setenv("KLUIS_MAX_UPLOAD_BYTES", "1234")
    settings = Settings()
    assert settings.data_dir == tmp_path / "env-data"
    assert settings.max_upload_bytes == 1234
    assert settings.db_url == f"sqlite:///{tmp_path / 'env-data' / 'kluis.db'}"
    assert settings.blob_path == tmp_path / "env-data" / "blobs"


def test_defaults() -> None:
    settings = Settings()
    assert settings.max_upload_bytes == 2 * 1024**3
    assert settings.session_ttl_seconds == 12 * 3600
    assert settings.upload_grace_seconds == 3600
