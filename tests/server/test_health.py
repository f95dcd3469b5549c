"""Liveness and readiness: `/healthz` says the process answers, `/readyz` that the database
and the blob store can be used (503 and which one otherwise, never why)."""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy import create_engine

from server.app import create_app
from server.config import Settings

from .harness import FakeClock, Kluis, TestClient
from .moto_s3 import S3Service

READY = {"status": "ok", "checks": {"database": "ok", "blobstore": "ok"}}


def test_alive_and_ready(kluis: Kluis) -> None:
    assert kluis.client.get("/healthz").json() == {"status": "ok"}
    ready = kluis.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == READY
    assert ready.headers["cache-control"] == "no-store"


def test_a_missing_blob_directory_is_not_ready_but_alive(kluis: Kluis, settings: Settings) -> None:
    shutil.rmtree(settings.blob_path)
    ready = kluis.client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json() == {
        "status": "unavailable",
        "checks": {"database": "ok", "blobstore": "unavailable"},
    }
    assert str(settings.blob_path) not in ready.text  # the reason goes to the log only
    assert kluis.client.get("/healthz").status_code == 200


def test_an_unreachable_database_is_not_ready(kluis: Kluis, tmp_path: Path) -> None:
    app = kluis.client.app
    working = app.state.engine  # type: ignore[attr-defined]
    app.state.engine = create_engine(f"sqlite:///{tmp_path}/no/such/dir/kluis.db")  # type: ignore[attr-defined]
    try:
        ready = kluis.client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"] == {"database": "unavailable", "blobstore": "ok"}
        assert kluis.client.get("/healthz").status_code == 200  # alive all the same
    finally:
        app.state.engine.dispose()  # type: ignore[attr-defined]
        app.state.engine = working  # type: ignore[attr-defined]
    assert kluis.client.get("/readyz").json() == READY


def test_readiness_checks_the_object_store(
    settings: Settings, clock: FakeClock, s3_service: S3Service, s3_bucket: str
) -> None:
    store = s3_service.store(s3_bucket)
    with TestClient(create_app(settings, clock=clock, blobstore=store)) as client:
        assert client.get("/readyz").json() == READY
        s3_service.remove_bucket(s3_bucket)
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["blobstore"] == "unavailable"
        assert s3_bucket not in ready.text


def test_health_endpoints_are_documented(kluis: Kluis) -> None:
    paths = kluis.client.get("/openapi.json").json()["paths"]
    assert "/healthz" in paths
    assert "503" in paths["/readyz"]["get"]["responses"]
    assert "/metrics" not in paths  # an operations endpoint, not part of the API
