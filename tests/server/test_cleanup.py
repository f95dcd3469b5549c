"""Cleanup: stale uploads, partial files and orphan blobs go; everything reachable stays."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session

from server.blobstore import BlobInfo, FilesystemBlobStore, _PartWriter
from server.cleanup import CleanupReport, run_cleanup
from server.config import Settings
from server.db import make_engine
from server.models import Upload

from .harness import (
    Account,
    FakeClock,
    Kluis,
    assert_problem,
    b64,
    make_client,
    new_id,
    run_server,
)
from .test_documents import blob_files, version_body

GRACE = 3600


def age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def cleanup(settings: Settings, now: int) -> CleanupReport:
    engine = make_engine(settings.db_url)
    try:
        return run_cleanup(engine, FilesystemBlobStore(settings.blob_path), settings, now)
    finally:
        engine.dispose()


def test_stale_uploads_are_removed_fresh_ones_kept(
    kluis: Kluis, alice: Account, settings: Settings
) -> None:
    dossier_id = kluis.create_dossier(alice)
    stale = kluis.upload(alice, b"forgotten")
    kluis.clock.advance(GRACE + 1)
    fresh = kluis.upload(alice, b"in progress")
    for path in blob_files(settings.data_dir):
        age(path, GRACE + 10)  # even old files stay while an upload row points at them

    report = cleanup(settings, kluis.clock.now)
    assert report.uploads == 1
    assert len(blob_files(settings.data_dir)) == 1

    commit = f"/dossiers/{dossier_id}/documents/{new_id()}/versions"
    assert_problem(kluis.post(commit, alice, json=version_body(stale)), 404, "not_found")
    assert kluis.post(commit, alice, json=version_body(fresh)).status_code == 201


def test_the_grace_period_of_a_slow_upload_starts_when_it_is_stored(
    kluis: Kluis, alice: Account, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A body that takes longer than the grace period to arrive (2 GiB at 4 Mbit/s is over an
    hour) is not stale the moment it is stored: its owner still has the grace period to
    commit it."""
    dossier_id = kluis.create_dossier(alice)
    finish = _PartWriter.finish

    def slowly(writer: _PartWriter, final: Path) -> str:
        kluis.clock.advance(GRACE + 60)  # the body took longer than the grace period
        return finish(writer, final)

    monkeypatch.setattr(_PartWriter, "finish", slowly)
    upload = kluis.upload(alice, b"a large payload, slowly sent")
    monkeypatch.setattr(_PartWriter, "finish", finish)
    kluis.clock.advance(1)
    assert cleanup(settings, kluis.clock.now).uploads == 0
    commit = f"/dossiers/{dossier_id}/documents/{new_id()}/versions"
    assert kluis.post(commit, alice, json=version_body(upload)).status_code == 201


def test_committed_payloads_survive_cleanup(
    kluis: Kluis, alice: Account, settings: Settings
) -> None:
    dossier_id = kluis.create_dossier(alice)
    document_id = kluis.add_document(alice, dossier_id, b"keep me")
    report = cleanup(settings, int(time.time()) + 10 * GRACE)  # every file is old by then
    assert (report.uploads, report.orphans) == (0, 0)
    kluis.login(alice)  # that cleanup, far in the future, also removed the expired session
    assert kluis.get(f"/documents/{document_id}/versions/1/payload", alice).content == b"keep me"


def test_partial_files_older_than_the_grace_period_are_removed(
    kluis: Kluis, settings: Settings
) -> None:
    shard = settings.blob_path / "ab"
    shard.mkdir(parents=True)
    old = shard / ("ab" + "0" * 30 + ".part")
    new = shard / ("ab" + "1" * 30 + ".part")
    old.write_bytes(b"interrupted long ago")
    new.write_bytes(b"still uploading")
    age(old, GRACE + 1)
    report = cleanup(settings, int(time.time()))
    assert report.partials == 1
    assert not old.exists()
    assert new.exists()


def test_orphan_blobs_older_than_the_grace_period_are_removed(
    kluis: Kluis, alice: Account, settings: Settings
) -> None:
    dossier_id = kluis.create_dossier(alice)
    kluis.add_document(alice, dossier_id)
    store = FilesystemBlobStore(settings.blob_path)
    old_orphan = "cd" + "2" * 30
    new_orphan = "cd" + "3" * 30
    for key in (old_orphan, new_orphan):
        (settings.blob_path / "cd").mkdir(exist_ok=True)
        (settings.blob_path / "cd" / key).write_bytes(b"left behind by a crash")
    age(settings.blob_path / "cd" / old_orphan, GRACE + 1)
    report = cleanup(settings, int(time.time()))
    assert report.orphans == 1
    assert not store.exists(old_orphan)
    assert store.exists(new_orphan)
    assert len(blob_files(settings.data_dir)) == 2  # the committed payload and the new orphan


def test_a_blob_recorded_while_cleanup_lists_the_store_is_no_orphan(
    kluis: Kluis, alice: Account, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An upload that took longer than the grace period finishes while cleanup walks the store
    (on S3 a large object can carry its upload's start as its time): recorded after cleanup
    read the references, it must not be deleted as an orphan."""
    key = "ef" + "4" * 30
    (settings.blob_path / "ef").mkdir(parents=True)
    (settings.blob_path / "ef" / key).write_bytes(b"a payload that took long to arrive")
    age(settings.blob_path / "ef" / key, GRACE + 1)
    listing = FilesystemBlobStore.list_blobs

    def record_meanwhile(store: FilesystemBlobStore) -> Iterator[BlobInfo]:
        engine = make_engine(settings.db_url)
        with Session(engine) as session:
            upload = Upload(
                upload_id=new_id(), user_id=alice.user_id, blob_key=key, size=34,
                blake3="0" * 64, created_at=kluis.clock.now,
            )  # fmt: skip
            session.add(upload)
            session.commit()
        engine.dispose()
        yield from listing(store)

    monkeypatch.setattr(FilesystemBlobStore, "list_blobs", record_meanwhile)
    assert cleanup(settings, int(time.time())).orphans == 0
    assert FilesystemBlobStore(settings.blob_path).exists(key)


def test_expired_sessions_are_removed(kluis: Kluis, alice: Account, settings: Settings) -> None:
    kluis.clock.advance(settings.session_ttl_seconds)
    report = cleanup(settings, kluis.clock.now)
    assert report.sessions == 1
    assert_problem(kluis.get("/me", alice), 401, "unauthorized")


def table_rows(settings: Settings, table: str) -> int:
    engine = make_engine(settings.db_url)
    try:
        with engine.connect() as db:
            return int(db.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one())  # noqa: S608
    finally:
        engine.dispose()


def test_expired_device_tokens_and_forgotten_login_delays_are_removed(
    kluis: Kluis, alice: Account, settings: Settings
) -> None:
    for _ in range(3):  # a delay row for alice at this address
        kluis.post("/auth/login", json={"username": "alice", "auth_key": b64(os.urandom(32))})
    assert table_rows(settings, "device_tokens") == 1  # alice's login handed out one
    assert table_rows(settings, "login_backoff") == 1
    kluis.clock.advance(settings.login_backoff_reset_seconds - 1)
    cleanup(settings, kluis.clock.now)
    assert table_rows(settings, "login_backoff") == 1  # not yet forgotten
    kluis.clock.advance(1)
    cleanup(settings, kluis.clock.now)
    assert table_rows(settings, "login_backoff") == 0
    assert table_rows(settings, "device_tokens") == 1
    kluis.clock.advance(settings.device_token_ttl_seconds)
    report = cleanup(settings, kluis.clock.now)
    assert table_rows(settings, "device_tokens") == 0 and report.counters >= 1


def test_cleanup_from_the_command_line(kluis: Kluis, alice: Account, settings: Settings) -> None:
    kluis.upload(alice, b"stale")  # created at the fake clock's time, far in the past
    result = run_server(
        "cleanup", "--data-dir", str(settings.data_dir), env={"KLUIS_DATABASE_URL": settings.db_url}
    )
    assert result.returncode == 0, result.stderr
    assert "removed 1 stale uploads" in result.stdout


def test_the_server_runs_cleanup_by_itself_every_interval(
    data_dir: Path, database_url: str | None
) -> None:
    settings = Settings(
        data_dir=data_dir,
        database_url=database_url,
        upload_grace_seconds=0,
        cleanup_interval_seconds=1,
    )
    clock = FakeClock(int(time.time()))
    with make_client(settings, clock) as client:
        kluis = Kluis(client, clock)
        alice = kluis.register("alice")
        dossier_id = kluis.create_dossier(alice)
        document_id = kluis.add_document(alice, dossier_id, b"keep me")
        kluis.upload(alice, b"never committed")
        orphan = settings.blob_path / "ab" / ("ab" + "2" * 30)
        orphan.parent.mkdir(exist_ok=True)
        orphan.write_bytes(b"written, never recorded")
        age(orphan, 10)
        clock.advance(10)
        assert len(blob_files(data_dir)) == 3
        deadline = time.monotonic() + 20
        while len(blob_files(data_dir)) > 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(blob_files(data_dir)) == 1
        payload = kluis.get(f"/documents/{document_id}/versions/1/payload", alice)
        assert payload.content == b"keep me"
