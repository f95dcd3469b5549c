"""Uploads in parts (docs/api.md, "Uploads in parts"), on SQLite and PostgreSQL: create with the
size declared, parts in any order (each checked: its exact size and the BLAKE3 it was sent
with), ask which arrived, complete with the whole size and BLAKE3 (checked by the store before
the upload can be committed), abort. The declared size counts against the quota from creation
until the upload is aborted or removed; only the uploader sees it; a completion cut off by a
crash is finished by asking again; cleanup removes an upload nobody touched for the grace
period, and everything stored of it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import blake3
import pytest
from sqlalchemy import update
from sqlmodel import col

from server.blobstore import FilesystemBlobStore, PartLayout, PartsUpload, StoredBlob, StoredPart
from server.cleanup import run_cleanup
from server.config import Settings
from server.db import open_session
from server.models import PartUpload
from server.routes.parts import MAX_OPEN_PART_UPLOADS, _finish_completion, _forget
from server.routes.uploads import storage_used

from .harness import API, Account, FakeClock, Kluis, assert_problem, make_client, new_id
from .test_documents import version_body

MIB = 1 << 20
PART = 5 * MIB  # the smallest part size
HEADER = "Kluis-Part-BLAKE3"


def b3(data: bytes) -> str:
    return str(blake3.blake3(data).hexdigest())


def stored_files(data_dir: Path) -> list[str]:
    """Every file stored, relative to the blob directory."""
    root = data_dir / "blobs"
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def blobs_and_parts(data_dir: Path) -> tuple[list[str], list[str]]:
    """The blobs (a file, or a directory of the parts it arrived in) and the parts of uploads
    in parts not completed."""
    root = data_dir / "blobs"
    blobs = sorted(p.name for p in root.glob("??/*"))
    return blobs, sorted(str(p.relative_to(root)) for p in root.glob("parts/*/*"))


def put_with(kluis: Kluis, path: str, who: Account, content: Any, headers: dict[str, str]) -> Any:
    return kluis.client.put(API + path, headers={**who.headers, **headers}, content=content)


class Parts:
    """One upload in parts, driven over the API."""

    def __init__(self, kluis: Kluis, who: Account, data: bytes, part_size: int = PART) -> None:
        self.kluis, self.who, self.data, self.part_size = kluis, who, data, part_size
        answer = self.create(len(data), part_size)
        assert answer.status_code == 201, answer.text
        self.created: dict[str, Any] = answer.json()
        self.upload_id: str = self.created["upload_id"]
        self.count = -(-len(data) // part_size)

    def create(self, size: int, part_size: int) -> Any:
        body = {"size": size, "part_size": part_size}
        return self.kluis.post("/uploads/parts", self.who, json=body)

    def part(self, number: int) -> bytes:
        return self.data[(number - 1) * self.part_size :][: self.part_size]

    def put(
        self,
        number: int,
        content: bytes | Iterator[bytes] | None = None,
        digest: str | None = None,
        who: Account | None = None,
    ) -> Any:
        body = self.part(number) if content is None else content
        headers = {HEADER: digest or (b3(body) if isinstance(body, bytes) else "")}
        path = f"/uploads/{self.upload_id}/parts/{number}"
        return put_with(self.kluis, path, who or self.who, body, headers)

    def put_all(self, order: list[int] | None = None) -> None:
        for number in order or range(1, self.count + 1):
            response = self.put(number)
            assert response.status_code == 200, response.text

    def status(self, who: Account | None = None) -> Any:
        return self.kluis.get(f"/uploads/{self.upload_id}", who or self.who)

    def complete(
        self, size: int | None = None, digest: str | None = None, who: Account | None = None
    ) -> Any:
        body = {"size": len(self.data) if size is None else size, "blake3": digest or b3(self.data)}
        return self.kluis.post(f"/uploads/{self.upload_id}/complete", who or self.who, json=body)

    def abort(self, who: Account | None = None) -> Any:
        return self.kluis.delete(f"/uploads/{self.upload_id}", who or self.who)


# -- the whole way -----------------------------------------------------------------------------
def test_parts_in_any_order_make_an_upload_a_version_commits(
    kluis: Kluis, alice: Account, settings: Settings
) -> None:
    data = os.urandom(2 * PART + 1000)
    upload = Parts(kluis, alice, data)
    assert upload.created == {
        "upload_id": upload.upload_id,
        "state": "receiving",
        "size": len(data),
        "part_size": PART,
        "parts": [],
        "blake3": None,
        "expires_at": kluis.clock.now + settings.upload_grace_seconds,
    }
    answer = upload.put(3)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"number": 3, "size": 1000, "blake3": b3(upload.part(3))}
    upload.put_all([1])
    status = upload.status().json()
    assert status["state"] == "receiving"
    assert status["parts"] == [
        {"number": 1, "size": PART, "blake3": b3(upload.part(1))},
        {"number": 3, "size": 1000, "blake3": b3(upload.part(3))},
    ]
    assert_problem(upload.complete(), 409, "parts_missing")
    upload.put_all([2])

    done = upload.complete()
    assert done.status_code == 200, done.text
    assert done.json() == {"upload_id": upload.upload_id, "size": len(data), "blake3": b3(data)}
    assert upload.status().json() == {
        "upload_id": upload.upload_id,
        "state": "complete",
        "size": len(data),
        "part_size": None,
        "parts": [],
        "blake3": b3(data),
        "expires_at": kluis.clock.now + settings.upload_grace_seconds,
    }
    blobs, parts = blobs_and_parts(settings.data_dir)  # the parts are the blob now
    assert (len(blobs), parts) == (1, [])

    dossier_id = kluis.create_dossier(alice)
    document_id = new_id()
    path = f"/dossiers/{dossier_id}/documents/{document_id}/versions"
    assert kluis.post(path, alice, json=version_body(done.json())).status_code == 201
    payload = kluis.get(f"/documents/{document_id}/versions/1/payload", alice)
    assert payload.content == data
    assert_problem(upload.status(), 404, "not_found")  # consumed by the commit
    assert_problem(upload.complete(), 404, "not_found")


def test_a_payload_smaller_than_one_part_is_one_part(kluis: Kluis, alice: Account) -> None:
    upload = Parts(kluis, alice, os.urandom(100), part_size=16 * MIB)
    upload.put_all()
    assert upload.complete().json()["size"] == 100


def test_completing_again_answers_the_same(kluis: Kluis, alice: Account) -> None:
    """The answer to a completion was lost: asking again gives it, and nothing else."""
    upload = Parts(kluis, alice, os.urandom(PART + 1))
    upload.put_all()
    first = upload.complete()
    assert first.status_code == 200
    assert upload.complete().json() == first.json()
    assert_problem(upload.complete(digest=b3(b"other")), 422, "digest_mismatch")
    assert_problem(upload.put(1), 404, "not_found")  # no more parts once complete
    assert upload.status().json()["state"] == "complete"


# -- creating ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "body",
    [
        {"size": 0, "part_size": PART},
        {"size": 10, "part_size": PART - 1},  # under S3's minimum
        {"size": 10, "part_size": 256 * MIB + 1},
        {"size": "10", "part_size": PART},
        {"size": 10},
    ],
)
def test_a_creation_that_makes_no_sense_is_refused(
    kluis: Kluis, alice: Account, body: dict[str, Any]
) -> None:
    assert_problem(kluis.post("/uploads/parts", alice, json=body), 422, "validation_error")


def test_more_than_ten_thousand_parts_are_refused(settings: Settings, clock: FakeClock) -> None:
    roomy = settings.model_copy(
        update={"max_upload_bytes": 1 << 40, "storage_quota_bytes": 1 << 40}
    )
    with make_client(roomy, clock) as client:
        kluis = Kluis(client, clock)
        alice = kluis.register("alice")
        body = {"size": 10_000 * PART + 1, "part_size": PART}
        assert_problem(kluis.post("/uploads/parts", alice, json=body), 422, "validation_error")
        body = {"size": 10_000 * PART, "part_size": PART}
        assert kluis.post("/uploads/parts", alice, json=body).status_code == 201


def test_the_size_limit_applies_to_the_declared_size(kluis: Kluis, alice: Account) -> None:
    body = {"size": (2 << 30) + 1, "part_size": 64 * MIB}
    assert_problem(kluis.post("/uploads/parts", alice, json=body), 413, "payload_too_large")


def test_creating_needs_a_session(kluis: Kluis) -> None:
    body = {"size": 10, "part_size": PART}
    assert_problem(kluis.post("/uploads/parts", json=body), 401, "unauthorized")


def test_at_most_so_many_uploads_in_parts_at_once(kluis: Kluis, alice: Account) -> None:
    uploads = [Parts(kluis, alice, b"x") for _ in range(MAX_OPEN_PART_UPLOADS)]
    refused = kluis.post("/uploads/parts", alice, json={"size": 1, "part_size": PART})
    assert_problem(refused, 409, "too_many_uploads")
    assert uploads[0].abort().status_code == 204
    assert (
        kluis.post("/uploads/parts", alice, json={"size": 1, "part_size": PART}).status_code == 201
    )


# -- parts -------------------------------------------------------------------------------------
def test_a_part_needs_its_blake3(kluis: Kluis, alice: Account) -> None:
    upload = Parts(kluis, alice, os.urandom(100))
    path = f"/uploads/{upload.upload_id}/parts/1"
    content = upload.part(1)
    assert_problem(kluis.put(path, alice, content=content), 422, "validation_error")
    for bad in ("", b3(content).upper(), b3(content)[:-1], "g" * 64):
        response = put_with(kluis, path, alice, content, {HEADER: bad})
        assert_problem(response, 422, "validation_error")
    assert upload.status().json()["parts"] == []


def test_a_part_with_another_blake3_is_refused_and_counts_as_missing(
    kluis: Kluis, alice: Account
) -> None:
    upload = Parts(kluis, alice, os.urandom(PART + 10))
    upload.put_all()
    altered = bytearray(upload.part(1))
    altered[PART // 2] ^= 1  # one bit flipped on the way
    response = upload.put(1, bytes(altered), digest=b3(upload.part(1)))
    body = assert_problem(response, 422, "digest_mismatch")
    assert HEADER in body["detail"]
    assert [p["number"] for p in upload.status().json()["parts"]] == [2]
    assert_problem(upload.complete(), 409, "parts_missing")
    upload.put_all([1])  # sent again, intact
    assert upload.complete().status_code == 200


@pytest.mark.parametrize("change", [-1, +1])
def test_a_part_of_another_size_is_refused(kluis: Kluis, alice: Account, change: int) -> None:
    upload = Parts(kluis, alice, os.urandom(PART + 10))
    content = upload.part(2)[:-1] if change < 0 else upload.part(2) + b"!"
    # With Content-Length: refused before a byte is read.
    assert_problem(upload.put(2, content), 422, "validation_error")

    def chunked() -> Iterator[bytes]:  # without it: refused while the body arrives
        yield content

    response = upload.put(2, chunked(), digest=b3(upload.part(2)))
    assert_problem(response, 422, "validation_error")
    assert upload.status().json()["parts"] == []


@pytest.mark.parametrize("number", [0, 3, 10_001])
def test_a_part_that_does_not_exist_is_refused(kluis: Kluis, alice: Account, number: int) -> None:
    upload = Parts(kluis, alice, os.urandom(PART + 10))
    assert_problem(upload.put(number, b"x"), 422, "validation_error")


def test_a_part_sent_again_replaces_the_earlier(kluis: Kluis, alice: Account) -> None:
    upload = Parts(kluis, alice, os.urandom(PART + 10))
    upload.put_all()
    assert upload.put(1).json() == {"number": 1, "size": PART, "blake3": b3(upload.part(1))}
    upload.data = os.urandom(PART) + upload.data[PART:]  # another first part
    upload.put_all([1])
    assert upload.status().json()["parts"][0]["blake3"] == b3(upload.part(1))
    assert upload.complete().json()["blake3"] == b3(upload.data)


def test_no_part_while_a_completion_is_under_way(
    kluis: Kluis, alice: Account, settings: Settings
) -> None:
    """The server died during a completion (it was marked, the store had not finished):
    parts are refused, and asking for the completion again finishes it."""
    upload = Parts(kluis, alice, os.urandom(PART + 10))
    upload.put_all()
    mark_completing(kluis, upload.upload_id)
    assert upload.status().json()["state"] == "completing"
    assert_problem(upload.put(1), 409, "upload_completing")
    done = upload.complete()
    assert done.status_code == 200, done.text
    assert done.json()["blake3"] == b3(upload.data)


def test_a_completion_whose_blob_was_published_before_a_crash_is_finished(
    kluis: Kluis, alice: Account, settings: Settings
) -> None:
    """The server died after the store published the blob and before the upload was moved
    to the uploads a version commits: asking again checks that blob and moves it."""
    upload = Parts(kluis, alice, os.urandom(PART + 10))
    upload.put_all()
    mark_completing(kluis, upload.upload_id)
    row = part_upload_row(kluis, upload.upload_id)
    store = FilesystemBlobStore(settings.blob_path)
    layout = PartLayout(row.size, row.part_size)
    parts = [
        StoredPart(p["number"], p["size"], p["blake3"], "") for p in upload.status().json()["parts"]
    ]
    store.complete_parts(
        PartsUpload(row.blob_key, row.store_handle), layout, parts, b3(upload.data)
    )
    assert upload.status().json()["state"] == "completing"

    done = upload.complete()
    assert done.status_code == 200, done.text
    dossier_id = kluis.create_dossier(alice)
    document_id = new_id()
    path = f"/dossiers/{dossier_id}/documents/{document_id}/versions"
    assert kluis.post(path, alice, json=version_body(done.json())).status_code == 201
    assert kluis.get(f"/documents/{document_id}/versions/1/payload", alice).content == upload.data


# -- completing --------------------------------------------------------------------------------
def test_a_completion_with_another_size_is_refused(kluis: Kluis, alice: Account) -> None:
    upload = Parts(kluis, alice, os.urandom(PART + 10))
    upload.put_all()
    assert_problem(upload.complete(size=PART + 11), 422, "validation_error")
    assert upload.complete().status_code == 200


def test_a_completion_with_another_blake3_removes_the_upload(
    kluis: Kluis, alice: Account, settings: Settings
) -> None:
    """The parts each arrived intact, but the whole is not what the client says it sent (its
    file changed between two parts, say): nothing can be committed, and the quota is free."""
    upload = Parts(kluis, alice, os.urandom(PART + 10))
    upload.put_all()
    body = assert_problem(upload.complete(digest=b3(b"something else")), 422, "digest_mismatch")
    assert "removed" in body["detail"]
    assert_problem(upload.status(), 404, "not_found")
    assert stored_files(settings.data_dir) == []
    assert used_by(kluis, alice) == 0


def test_a_completion_aborted_meanwhile_keeps_nothing(
    kluis: Kluis, alice: Account, settings: Settings
) -> None:
    """An abort (or cleanup) that removes the upload while the store joins its parts wins:
    the completion finds it gone and records nothing."""
    upload = Parts(kluis, alice, os.urandom(10))
    upload.put_all()
    assert upload.abort().status_code == 204
    joined = StoredBlob(key="ab" * 16, size=10, blake3=b3(upload.data))
    with open_session(kluis.client.app.state.engine) as session:  # type: ignore[attr-defined]
        assert _finish_completion(session, upload.upload_id, alice.user_id, joined, 1) is None
    assert_problem(upload.status(), 404, "not_found")


def test_a_part_that_finds_its_upload_sealed_does_not_undo_the_completion(
    kluis: Kluis, alice: Account
) -> None:
    """A part that began before the completion and ends after the store sealed the parts gets
    `BlobMissing` from the store, as for an upload the store lost. Only a lost upload still
    receiving parts is forgotten; one being completed is left to its completion."""
    upload = Parts(kluis, alice, os.urandom(PART + 10))
    upload.put_all()
    mark_completing(kluis, upload.upload_id)
    state = kluis.client.app.state  # type: ignore[attr-defined]
    with open_session(state.engine) as session:
        forget = (session, state.blobs, upload.upload_id, alice.user_id)
        assert _forget(*forget, only_receiving=True) is False
        assert upload.status().json()["state"] == "completing"
        assert upload.complete().status_code == 200
        assert _forget(*forget, only_receiving=True) is False  # complete, not gone
    assert upload.status().json()["state"] == "complete"


# -- who may -----------------------------------------------------------------------------------
def test_only_the_uploader_sees_or_touches_an_upload(
    kluis: Kluis, alice: Account, bob: Account
) -> None:
    upload = Parts(kluis, alice, os.urandom(PART + 10))
    upload.put_all([1])
    assert_problem(upload.status(bob), 404, "not_found")
    assert_problem(upload.put(2, who=bob), 404, "not_found")
    assert_problem(upload.complete(who=bob), 404, "not_found")
    assert_problem(upload.abort(bob), 404, "not_found")
    assert_problem(kluis.get(f"/uploads/{upload.upload_id}"), 401, "unauthorized")
    upload.put_all([2])
    assert upload.complete().status_code == 200
    assert_problem(upload.status(bob), 404, "not_found")  # complete: still hers alone
    assert_problem(upload.abort(bob), 404, "not_found")
    assert_problem(kluis.get(f"/uploads/{new_id()}", alice), 404, "not_found")


def test_an_upload_sent_whole_can_be_asked_about_and_dropped(
    kluis: Kluis, alice: Account, settings: Settings
) -> None:
    sent = kluis.upload(alice, b"sent in one request")
    answer = kluis.get(f"/uploads/{sent['upload_id']}", alice).json()
    assert (answer["state"], answer["size"], answer["blake3"]) == ("complete", 19, sent["blake3"])
    assert kluis.delete(f"/uploads/{sent['upload_id']}", alice).status_code == 204
    assert stored_files(settings.data_dir) == []
    assert_problem(kluis.delete(f"/uploads/{sent['upload_id']}", alice), 404, "not_found")


def test_a_committed_upload_cannot_be_dropped(
    kluis: Kluis, alice: Account, settings: Settings
) -> None:
    sent = kluis.upload(alice, b"committed")
    dossier_id = kluis.create_dossier(alice)
    path = f"/dossiers/{dossier_id}/documents/{new_id()}/versions"
    assert kluis.post(path, alice, json=version_body(sent)).status_code == 201
    assert_problem(kluis.delete(f"/uploads/{sent['upload_id']}", alice), 404, "not_found")
    assert_problem(kluis.get(f"/uploads/{sent['upload_id']}", alice), 404, "not_found")
    assert len(stored_files(settings.data_dir)) == 1


# -- aborting and the quota --------------------------------------------------------------------
def test_aborting_removes_the_upload_and_everything_stored(
    kluis: Kluis, alice: Account, settings: Settings
) -> None:
    upload = Parts(kluis, alice, os.urandom(2 * PART))
    upload.put_all([2])
    assert stored_files(settings.data_dir) != []
    assert upload.abort().status_code == 204
    assert stored_files(settings.data_dir) == []
    assert_problem(upload.status(), 404, "not_found")
    assert_problem(upload.put(1), 404, "not_found")
    assert_problem(upload.complete(), 404, "not_found")
    assert_problem(upload.abort(), 404, "not_found")


@pytest.fixture
def small(settings: Settings, clock: FakeClock) -> Iterator[Kluis]:
    limited = settings.model_copy(update={"storage_quota_bytes": 12 * MIB})
    with make_client(limited, clock) as client:
        yield Kluis(client, clock)


def used_by(kluis: Kluis, who: Account) -> int:
    with open_session(kluis.client.app.state.engine) as session:  # type: ignore[attr-defined]
        return storage_used(session, who.user_id)


def test_the_declared_size_counts_against_the_quota_until_aborted(small: Kluis) -> None:
    alice = small.register("alice")
    upload = Parts(small, alice, os.urandom(10 * MIB))
    assert used_by(small, alice) == 10 * MIB  # reserved before a byte arrived
    refused = small.post("/uploads/parts", alice, json={"size": 3 * MIB, "part_size": PART})
    assert_problem(refused, 413, "quota_exceeded")
    assert_problem(small.post("/uploads", alice, content=b"x" * (3 * MIB)), 413, "quota_exceeded")
    assert small.upload(alice, b"x" * (2 * MIB))["size"] == 2 * MIB  # exactly the room left

    upload.put_all()
    assert upload.complete().status_code == 200
    assert used_by(small, alice) == 12 * MIB  # the same bytes, now an upload to commit
    assert upload.abort().status_code == 204
    assert used_by(small, alice) == 2 * MIB
    assert small.post("/uploads/parts", alice, json={"size": 10 * MIB, "part_size": PART})


# -- cleanup -----------------------------------------------------------------------------------
def mark_completing(kluis: Kluis, upload_id: str) -> None:
    with open_session(kluis.client.app.state.engine, write=True) as session:  # type: ignore[attr-defined]
        session.connection().execute(
            update(PartUpload).where(col(PartUpload.upload_id) == upload_id).values(completing=True)
        )
        session.commit()


def part_upload_row(kluis: Kluis, upload_id: str) -> PartUpload:
    with open_session(kluis.client.app.state.engine) as session:  # type: ignore[attr-defined]
        row = session.get(PartUpload, upload_id)
        assert row is not None
        return row


def clean(kluis: Kluis, settings: Settings) -> Any:
    state = kluis.client.app.state  # type: ignore[attr-defined]
    return run_cleanup(state.engine, state.blobs, settings, kluis.clock.now)


def test_cleanup_removes_uploads_in_parts_nobody_touched_for_the_grace_period(
    kluis: Kluis, alice: Account, settings: Settings
) -> None:
    grace = settings.upload_grace_seconds
    abandoned = Parts(kluis, alice, os.urandom(PART + 10))
    abandoned.put_all([1])
    kluis.clock.advance(grace // 2)
    active = Parts(kluis, alice, os.urandom(PART + 10))
    active.put_all([2])
    asked = Parts(kluis, alice, os.urandom(10))
    kluis.clock.advance(grace // 2 + 1)
    # `active` began half a grace period later; `asked` is asked about now, which counts too.
    assert asked.status().json()["expires_at"] == kluis.clock.now - 1 - grace // 2 + grace
    asked.put_all()
    assert asked.status().json()["expires_at"] == kluis.clock.now + grace

    report = clean(kluis, settings)
    assert report.part_uploads == 1
    assert_problem(abandoned.status(), 404, "not_found")
    assert_problem(abandoned.put(2), 404, "not_found")
    active.put_all([1])
    assert active.complete().status_code == 200
    assert asked.complete().status_code == 200
    assert used_by(kluis, alice) == len(active.data) + len(asked.data)
    kluis.clock.advance(grace + 1)
    assert clean(kluis, settings).uploads == 2  # never committed: removed as uploads are
    assert stored_files(settings.data_dir) == []


def test_cleanup_keeps_an_upload_whose_completion_is_under_way(
    kluis: Kluis, alice: Account, settings: Settings
) -> None:
    """A completion marks the upload active when it begins; its parts and a blob it may have
    published are no partial or orphan for cleanup to remove meanwhile."""
    upload = Parts(kluis, alice, os.urandom(PART + 10))
    upload.put_all()
    mark_completing(kluis, upload.upload_id)
    row = part_upload_row(kluis, upload.upload_id)
    store = FilesystemBlobStore(settings.blob_path)
    parts = [
        StoredPart(p["number"], p["size"], p["blake3"], "") for p in upload.status().json()["parts"]
    ]
    layout = PartLayout(row.size, row.part_size)
    store.complete_parts(
        PartsUpload(row.blob_key, row.store_handle), layout, parts, b3(upload.data)
    )
    for path in (settings.blob_path).rglob("*"):
        os.utime(path, (0, 0))  # everything on disk looks ancient
    report = clean(kluis, settings)
    assert (report.part_uploads, report.partials, report.orphans) == (0, 0, 0)
    assert upload.complete().status_code == 200


# -- around the routes -------------------------------------------------------------------------
def test_parts_are_counted_as_payload_bytes_under_their_route(kluis: Kluis, alice: Account) -> None:
    from .test_metrics import scrape, value

    upload = Parts(kluis, alice, os.urandom(PART + 10))
    upload.put_all()
    assert_problem(upload.put(2, b"0123456789", digest=b3(b"another")), 422, "digest_mismatch")
    _, samples = scrape(kluis.client)
    assert value(samples, "kluis_payload_uploaded_bytes_total") == PART + 20
    route = "/api/v1/uploads/{upload_id}/parts/{number}"
    assert value(samples, "kluis_http_requests_total", method="PUT", route=route, status="2xx") == 2


def test_a_part_is_not_held_to_the_json_body_limit(settings: Settings, clock: FakeClock) -> None:
    with make_client(settings.model_copy(update={"max_json_bytes": 1024}), clock) as client:
        kluis = Kluis(client, clock)
        upload = Parts(kluis, kluis.register("alice"), os.urandom(PART))
        upload.put_all()


def test_the_paths_of_uploads_in_parts(kluis: Kluis, alice: Account) -> None:
    response = kluis.get("/uploads/parts", alice)  # no upload id: a path served for POST only
    assert_problem(response, 405, "method_not_allowed")
    assert_problem(kluis.get("/uploads/not-an-id", alice), 404, "not_found")
    unknown = put_with(kluis, f"/uploads/{new_id()}/parts/1", alice, b"x", {HEADER: b3(b"x")})
    assert_problem(unknown, 404, "not_found")
