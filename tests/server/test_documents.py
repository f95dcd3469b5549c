"""Uploads, committing versions, listing documents and downloading payloads."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import blake3
import pytest
from sqlalchemy import event
from sqlmodel import Session

from server.config import Settings
from server.db import make_engine
from server.models import Document, Version

from .harness import (
    Account,
    FakeClock,
    Kluis,
    TestClient,
    assert_problem,
    b64,
    grant_in,
    make_client,
    new_id,
)

VERSION_OUT_FIELDS = {
    "document_id",
    "dossier_id",
    "version",
    "header",
    "author_id",
    "payload_size",
    "payload_blake3",
    "created_at",
}


def blob_files(data_dir: Path) -> list[Path]:
    root = data_dir / "blobs"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def version_body(upload: dict[str, Any], version: int = 1, **change: Any) -> dict[str, Any]:
    return {
        "version": version,
        "header": b64(b"KLDH header"),
        "upload_id": upload["upload_id"],
        "payload_size": upload["size"],
        "payload_blake3": upload["blake3"],
        **change,
    }


# -- uploads -----------------------------------------------------------------------------------
def test_upload_answers_size_and_blake3(kluis: Kluis, alice: Account) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)
    answer = kluis.upload(alice, data)
    assert set(answer) == {"upload_id", "size", "blake3"}
    assert answer["size"] == len(data)
    assert answer["blake3"] == blake3.blake3(data).hexdigest()


def test_an_empty_upload_is_allowed(kluis: Kluis, alice: Account) -> None:
    assert kluis.upload(alice, b"")["size"] == 0


def test_uploading_needs_a_session(kluis: Kluis, data_dir: Path) -> None:
    assert_problem(kluis.post("/uploads", content=b"x" * 1000), 401, "unauthorized")
    assert blob_files(data_dir) == []


@pytest.fixture
def small_limit(
    data_dir: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Kluis]:
    for name in list(os.environ):
        if name.startswith("KLUIS_"):
            monkeypatch.delenv(name)
    settings = Settings(data_dir=data_dir, max_upload_bytes=3 * 1024 * 1024)
    with make_client(settings, clock) as client:
        yield Kluis(client, clock)


def test_an_upload_over_the_limit_is_refused_while_streaming(
    small_limit: Kluis, data_dir: Path
) -> None:
    alice = small_limit.register("alice")

    def body() -> Iterator[bytes]:  # no Content-Length: the server must count
        for _ in range(8):
            yield os.urandom(1024 * 1024)

    response = small_limit.post("/uploads", alice, content=body())
    assert_problem(response, 413, "payload_too_large")
    assert blob_files(data_dir) == []


def test_an_upload_declared_over_the_limit_is_refused_at_once(
    small_limit: Kluis, data_dir: Path
) -> None:
    alice = small_limit.register("alice")
    response = small_limit.client.post(
        "/api/v1/uploads",
        headers={**alice.headers, "Content-Length": str(3 * 1024 * 1024 + 1)},
        content=b"x" * (3 * 1024 * 1024 + 1),
    )
    assert_problem(response, 413, "payload_too_large")
    assert blob_files(data_dir) == []


def test_an_upload_at_the_limit_is_accepted(small_limit: Kluis) -> None:
    alice = small_limit.register("alice")
    assert small_limit.upload(alice, b"x" * (3 * 1024 * 1024))["size"] == 3 * 1024 * 1024


def test_an_upload_is_invisible_until_committed(kluis: Kluis, alice: Account) -> None:
    dossier_id = kluis.create_dossier(alice)
    kluis.upload(alice, b"not yet")
    assert kluis.get(f"/dossiers/{dossier_id}/documents", alice).json() == []
    assert kluis.log(alice, dossier_id) == []


# -- committing versions -----------------------------------------------------------------------
def test_commit_and_download(kluis: Kluis, alice: Account) -> None:
    dossier_id = kluis.create_dossier(alice)
    document_id = new_id()
    data = os.urandom(2 * 1024 * 1024 + 5)
    upload = kluis.upload(alice, data)
    body = version_body(upload)
    response = kluis.post(
        f"/dossiers/{dossier_id}/documents/{document_id}/versions", alice, json=body
    )
    assert response.status_code == 201
    version = response.json()
    assert version.pop("evidence") is None  # committed without an evidence commitment
    assert set(version) == VERSION_OUT_FIELDS
    assert version == {
        "document_id": document_id,
        "dossier_id": dossier_id,
        "version": 1,
        "header": body["header"],
        "author_id": alice.user_id,
        "payload_size": len(data),
        "payload_blake3": blake3.blake3(data).hexdigest(),
        "created_at": kluis.clock.now,
    }
    listing = kluis.get(f"/dossiers/{dossier_id}/documents", alice).json()
    assert listing == [{"document_id": document_id, "versions": [version]}]
    payload = kluis.get(f"/documents/{document_id}/versions/1/payload", alice)
    assert payload.status_code == 200
    assert payload.headers["content-type"] == "application/octet-stream"
    assert payload.headers["content-length"] == str(len(data))
    assert payload.content == data


def test_versions_are_listed_in_order(kluis: Kluis, alice: Account) -> None:
    dossier_id = kluis.create_dossier(alice)
    document_id = kluis.add_document(alice, dossier_id, versions=3)
    [document] = kluis.get(f"/dossiers/{dossier_id}/documents", alice).json()
    assert document["document_id"] == document_id
    assert [v["version"] for v in document["versions"]] == [1, 2, 3]


@pytest.mark.parametrize("version", [0, 2, 5])
def test_the_first_version_must_be_1(kluis: Kluis, alice: Account, version: int) -> None:
    dossier_id = kluis.create_dossier(alice)
    response = kluis.commit(alice, dossier_id, new_id(), version)
    expected = (422, "validation_error") if version == 0 else (409, "version_conflict")
    assert_problem(response, *expected)


@pytest.mark.parametrize("version", [1, 2, 4])
def test_a_version_must_be_the_latest_plus_one(kluis: Kluis, alice: Account, version: int) -> None:
    dossier_id = kluis.create_dossier(alice)
    document_id = kluis.add_document(alice, dossier_id, versions=2)
    assert_problem(kluis.commit(alice, dossier_id, document_id, version), 409, "version_conflict")
    assert kluis.commit(alice, dossier_id, document_id, 3).status_code == 201


@pytest.mark.parametrize(
    "change",
    [
        {"payload_size": 1},
        {"payload_blake3": "0" * 64},
    ],
)
def test_size_and_hash_must_match_the_upload(
    kluis: Kluis, alice: Account, change: dict[str, Any]
) -> None:
    dossier_id = kluis.create_dossier(alice)
    document_id = new_id()
    upload = kluis.upload(alice, b"the real payload")
    path = f"/dossiers/{dossier_id}/documents/{document_id}/versions"
    response = kluis.post(path, alice, json=version_body(upload, **change))
    assert_problem(response, 422, "validation_error")
    assert kluis.get(f"/dossiers/{dossier_id}/documents", alice).json() == []
    # the upload was not consumed by the failed attempt
    assert kluis.post(path, alice, json=version_body(upload)).status_code == 201


@pytest.mark.parametrize(
    "change",
    [
        {"payload_blake3": "A" * 64},
        {"payload_blake3": "0" * 63},
        {"payload_size": -1},
        {"payload_size": "16"},
        {"header": ""},
        {"header": b64(b"h" * (80 * 1024 + 1))},
        {"upload_id": "nope"},
        {"version": True},
    ],
)
def test_commit_rejects_malformed_bodies(
    kluis: Kluis, alice: Account, change: dict[str, Any]
) -> None:
    dossier_id = kluis.create_dossier(alice)
    upload = kluis.upload(alice, b"x")
    response = kluis.post(
        f"/dossiers/{dossier_id}/documents/{new_id()}/versions",
        alice,
        json=version_body(upload, **change),
    )
    assert_problem(response, 422, "validation_error")


def test_the_document_id_in_the_path_must_be_an_id(kluis: Kluis, alice: Account) -> None:
    dossier_id = kluis.create_dossier(alice)
    response = kluis.commit(alice, dossier_id, "ABCDEF", 1)
    assert_problem(response, 422, "validation_error")


def test_an_upload_is_committed_once(kluis: Kluis, alice: Account) -> None:
    dossier_id = kluis.create_dossier(alice)
    upload = kluis.upload(alice, b"once")
    path = f"/dossiers/{dossier_id}/documents/{new_id()}/versions"
    assert kluis.post(path, alice, json=version_body(upload)).status_code == 201
    other = f"/dossiers/{dossier_id}/documents/{new_id()}/versions"
    assert_problem(kluis.post(other, alice, json=version_body(upload)), 404, "not_found")


def test_someone_elses_upload_cannot_be_committed(
    kluis: Kluis, alice: Account, bob: Account
) -> None:
    dossier_id = kluis.create_dossier(alice, [grant_in(bob.user_id, rights=2)])
    upload = kluis.upload(alice, b"alice's")
    response = kluis.post(
        f"/dossiers/{dossier_id}/documents/{new_id()}/versions", bob, json=version_body(upload)
    )
    assert_problem(response, 404, "not_found")


def test_an_unknown_upload_cannot_be_committed(kluis: Kluis, alice: Account) -> None:
    dossier_id = kluis.create_dossier(alice)
    fake = {"upload_id": new_id(), "size": 1, "blake3": "0" * 64}
    response = kluis.post(
        f"/dossiers/{dossier_id}/documents/{new_id()}/versions", alice, json=version_body(fake)
    )
    assert_problem(response, 404, "not_found")


def test_a_document_id_belongs_to_one_dossier(kluis: Kluis, alice: Account) -> None:
    first = kluis.create_dossier(alice)
    second = kluis.create_dossier(alice)
    document_id = kluis.add_document(alice, first)
    assert_problem(kluis.commit(alice, second, document_id, 2), 409, "conflict")
    assert_problem(kluis.commit(alice, second, document_id, 1), 409, "conflict")


# -- rights ------------------------------------------------------------------------------------
def test_a_read_grantee_reads_but_cannot_commit(kluis: Kluis, alice: Account, bob: Account) -> None:
    dossier_id = kluis.create_dossier(alice, [grant_in(bob.user_id, rights=1)])
    document_id = kluis.add_document(alice, dossier_id, b"for bob to read")
    assert len(kluis.get(f"/dossiers/{dossier_id}/documents", bob).json()) == 1
    assert kluis.get(f"/documents/{document_id}/versions/1/payload", bob).content == (
        b"for bob to read"
    )
    assert_problem(kluis.commit(bob, dossier_id, document_id, 2), 403, "forbidden")
    assert_problem(kluis.commit(bob, dossier_id, new_id(), 1), 403, "forbidden")


def test_a_write_grantee_commits(kluis: Kluis, alice: Account, bob: Account) -> None:
    dossier_id = kluis.create_dossier(alice, [grant_in(bob.user_id, rights=2)])
    document_id = kluis.add_document(alice, dossier_id)
    response = kluis.commit(bob, dossier_id, document_id, 2, b"bob's edit")
    assert response.status_code == 201
    assert response.json()["author_id"] == bob.user_id
    assert kluis.commit(bob, dossier_id, new_id(), 1).status_code == 201
    assert kluis.get(f"/documents/{document_id}/versions/2/payload", alice).content == (
        b"bob's edit"
    )


def test_read_and_write_grants_combine_to_write(kluis: Kluis, alice: Account, bob: Account) -> None:
    dossier_id = kluis.create_dossier(
        alice, [grant_in(bob.user_id, rights=1), grant_in(bob.user_id, number=2, rights=2)]
    )
    assert kluis.commit(bob, dossier_id, new_id(), 1).status_code == 201


def test_a_document_grantee_sees_only_that_document(
    kluis: Kluis, alice: Account, bob: Account
) -> None:
    dossier_id = kluis.create_dossier(alice)
    shared = kluis.add_document(alice, dossier_id, b"shared", versions=2)
    private = kluis.add_document(alice, dossier_id, b"private")
    kluis.share(alice, dossier_id, grant_in(bob.user_id, kind=2, document_id=shared, number=2))

    assert kluis.get(f"/dossiers/{dossier_id}", bob).status_code == 200
    listing = kluis.get(f"/dossiers/{dossier_id}/documents", bob).json()
    assert [d["document_id"] for d in listing] == [shared]
    assert kluis.get(f"/documents/{shared}/versions/2/payload", bob).content == b"shared"
    assert_problem(kluis.get(f"/documents/{private}/versions/1/payload", bob), 404, "not_found")
    assert_problem(kluis.commit(bob, dossier_id, shared, 3), 403, "forbidden")
    assert_problem(kluis.commit(bob, dossier_id, new_id(), 1), 403, "forbidden")
    assert_problem(
        kluis.put(f"/dossiers/{dossier_id}/index", bob, json={"index": b64(b"i"), "counter": 9}),
        403,
        "forbidden",
    )
    grants = kluis.get(f"/dossiers/{dossier_id}/grants", bob).json()
    assert [(g["kind"], g["document_id"]) for g in grants] == [(2, shared)]


# -- downloads ---------------------------------------------------------------------------------
def test_downloading_unknown_things_is_404(kluis: Kluis, alice: Account) -> None:
    dossier_id = kluis.create_dossier(alice)
    document_id = kluis.add_document(alice, dossier_id)
    for path in (
        f"/documents/{new_id()}/versions/1/payload",
        f"/documents/{document_id}/versions/2/payload",
        f"/documents/{'A' * 32}/versions/1/payload",
    ):
        assert_problem(kluis.get(path, alice), 404, "not_found")
    for version in ("one", "0", "-1", "1.5", str(1 << 64)):
        path = f"/documents/{document_id}/versions/{version}/payload"
        assert_problem(kluis.get(path, alice), 422, "validation_error")
    assert_problem(kluis.get(f"/documents/{document_id}/versions/1/payload"), 401, "unauthorized")


def test_a_lost_blob_is_an_internal_error_not_a_crash(
    kluis: Kluis, alice: Account, data_dir: Path
) -> None:
    dossier_id = kluis.create_dossier(alice)
    document_id = kluis.add_document(alice, dossier_id)
    for path in blob_files(data_dir):
        path.unlink()
    response = kluis.get(f"/documents/{document_id}/versions/1/payload", alice)
    assert_problem(response, 500, "internal_error")
    assert [e["action"] for e in kluis.log(alice, dossier_id)] == ["upload"]


# -- a big dossier -----------------------------------------------------------------------------
def test_listing_ten_thousand_documents_costs_what_one_document_costs(
    client: TestClient, kluis: Kluis, alice: Account, settings: Settings, clock: FakeClock
) -> None:
    """A listing reads its documents in a fixed number of SQL statements, whatever their count.

    This guards the listing's complexity (no statement per document) by counting statements
    rather than seconds, which depend on how busy the machine is; its speed is measured in
    benchmarks/dossier_scale.py."""
    engine = kluis.client.app.state.engine  # type: ignore[attr-defined]
    statements: list[str] = []

    def executed(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    def listing_cost(dossier_id: str) -> tuple[int, list[object]]:
        statements.clear()
        event.listen(engine, "before_cursor_execute", executed)
        try:
            response = kluis.get(f"/dossiers/{dossier_id}/documents", alice)
        finally:
            event.remove(engine, "before_cursor_execute", executed)
        assert response.status_code == 200
        return len(statements), response.json()

    header = b"KLDH" + os.urandom(700)  # about the size of a real header

    def fill(dossier_id: str, count: int) -> None:
        seeding = make_engine(settings.db_url)
        with Session(seeding) as session:
            for _ in range(count):
                document_id = new_id()
                session.add(
                    Document(
                        document_id=document_id,
                        dossier_id=dossier_id,
                        created_by=alice.user_id,
                        created_at=clock.now,
                    )
                )
                session.add(
                    Version(
                        document_id=document_id,
                        version=1,
                        dossier_id=dossier_id,
                        header=header,
                        blob_key=new_id(),
                        payload_size=1000,
                        payload_blake3="0" * 64,
                        author_id=alice.user_id,
                        created_at=clock.now,
                    )
                )
            session.commit()
        seeding.dispose()

    small, large = kluis.create_dossier(alice), kluis.create_dossier(alice)
    fill(small, 1)
    fill(large, 10_000)
    small_cost, _ = listing_cost(small)
    large_cost, listing = listing_cost(large)
    assert len(listing) == 10_000
    assert listing[0]["versions"][0]["header"] == b64(header)  # type: ignore[index]
    assert large_cost == small_cost, (
        f"{large_cost} statements for 10,000 documents, {small_cost} for one"
    )


# -- one document (an addition to docs/api.md the client SDK relies on) ------------------------
def test_a_document_names_its_dossier_and_versions(kluis: Kluis, alice: Account) -> None:
    dossier_id = kluis.create_dossier(alice)
    document_id = kluis.add_document(alice, dossier_id, versions=2)
    kluis.add_document(alice, dossier_id)  # another document, not shown
    answer = kluis.get(f"/documents/{document_id}", alice).json()
    assert answer["document_id"] == document_id
    assert answer["dossier_id"] == dossier_id
    [listed] = [
        d
        for d in kluis.get(f"/dossiers/{dossier_id}/documents", alice).json()
        if d["document_id"] == document_id
    ]
    assert answer["versions"] == listed["versions"]


def test_a_document_is_shown_only_to_its_readers(
    kluis: Kluis, alice: Account, bob: Account, mallory: Account
) -> None:
    dossier_id = kluis.create_dossier(alice)
    shared = kluis.add_document(alice, dossier_id)
    private = kluis.add_document(alice, dossier_id)
    kluis.share(alice, dossier_id, grant_in(bob.user_id, kind=2, document_id=shared))
    assert kluis.get(f"/documents/{shared}", bob).json()["dossier_id"] == dossier_id
    hidden = assert_problem(kluis.get(f"/documents/{private}", bob), 404, "not_found")
    assert assert_problem(kluis.get(f"/documents/{shared}", mallory), 404, "not_found") == hidden
    assert assert_problem(kluis.get(f"/documents/{new_id()}", bob), 404, "not_found") == hidden
    assert_problem(kluis.get(f"/documents/{shared}"), 401, "unauthorized")
