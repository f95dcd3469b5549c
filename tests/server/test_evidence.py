"""Evidence commitments (docs/format.md section 20): the commitment goes with a version's commit,
is appended to the log in the commit's transaction, and the answer (and `GET .../evidence`
later) carries the entry, its index, a checkpoint and the inclusion proof, which a client
checks with vault.evidence. Playing the client here: the commitment is opaque to the server."""

from __future__ import annotations

import base64
import hashlib
import os
from typing import Any

from sqlmodel import Session, func, select

from server.config import Settings
from server.db import make_engine
from server.tlog_models import TlogEntry
from vault.evidence import commitment, verify_evidence
from vault.logentry import EntryKind, LogEntry

from .harness import Account, Kluis, assert_problem, new_id
from .test_documents import version_body
from .test_tlog_lookups import trusted

SALT = bytes(range(32))


def b(text: str) -> bytes:
    return base64.b64decode(text)


def commit(
    kluis: Kluis, account: Account, dossier_id: str, document_id: str, data: bytes, **change: Any
) -> Any:
    upload = kluis.upload(account, data)
    body = version_body(upload, **change)
    return kluis.post(
        f"/dossiers/{dossier_id}/documents/{document_id}/versions", account, json=body
    )


def log_size(settings: Settings) -> int:
    engine = make_engine(settings.db_url)
    try:
        with Session(engine) as session:
            return int(session.exec(select(func.count()).select_from(TlogEntry)).one())
    finally:
        engine.dispose()


def check(proof: dict[str, Any], data: bytes, settings: Settings) -> int:
    """Verify a served proof as a client would; return the entry's index."""
    log, _keys = trusted(settings)
    proven = verify_evidence(
        file_hash=hashlib.sha256(data).digest(),
        salt=SALT,
        entry=b(proof["entry"]),
        index=proof["index"],
        inclusion=[b(h) for h in proof["inclusion"]],
        checkpoint=proof["checkpoint"].encode(),
        log=log,
    )
    assert proven.checkpoint.checkpoint.size == proof["size"]
    return proven.index


def test_a_commit_with_a_commitment_answers_with_its_proof(
    kluis: Kluis, alice: Account, settings: Settings
) -> None:
    dossier_id, document_id, data = kluis.create_dossier(alice), new_id(), os.urandom(5000)
    c = commitment(SALT, hashlib.sha256(data).digest())
    before = log_size(settings)
    response = commit(
        kluis, alice, dossier_id, document_id, data, commitment=base64.b64encode(c).decode()
    )
    assert response.status_code == 201
    proof = response.json()["evidence"]
    assert LogEntry.decode(b(proof["entry"])) == LogEntry(EntryKind.COMMITMENT, None, 0, c)
    assert proof["index"] == before and proof["size"] == before + 1
    assert check(proof, data, settings) == before
    served = kluis.get(f"/documents/{document_id}/versions/1/evidence", alice)
    assert served.status_code == 200
    assert check(served.json(), data, settings) == before


def test_many_commitments_each_get_their_own_entry(
    kluis: Kluis, alice: Account, settings: Settings
) -> None:
    dossier_id = kluis.create_dossier(alice)
    files = [os.urandom(100) for _ in range(5)]
    indexes = []
    for data in files:
        c = base64.b64encode(commitment(SALT, hashlib.sha256(data).digest())).decode()
        response = commit(kluis, alice, dossier_id, new_id(), data, commitment=c)
        indexes.append(response.json()["evidence"]["index"])
    assert indexes == list(range(indexes[0], indexes[0] + 5))  # one entry each, in order
    # an earlier version's proof against the newest tree still verifies
    document_id = new_id()
    first = files[0]
    c = base64.b64encode(commitment(SALT, hashlib.sha256(first).digest())).decode()
    commit(kluis, alice, dossier_id, document_id, first, commitment=c)
    served = kluis.get(f"/documents/{document_id}/versions/1/evidence", alice).json()
    check(served, first, settings)


def test_a_commitment_that_is_not_32_bytes_commits_nothing(
    kluis: Kluis, alice: Account, settings: Settings
) -> None:
    dossier_id, document_id = kluis.create_dossier(alice), new_id()
    before = log_size(settings)
    for wrong in (bytes(31), bytes(33)):
        response = commit(
            kluis, alice, dossier_id, document_id, b"x", commitment=base64.b64encode(wrong).decode()
        )
        assert_problem(response, 422, "validation_error")
    assert log_size(settings) == before
    assert kluis.get(f"/documents/{document_id}", alice).status_code == 404


def test_a_refused_commit_appends_no_entry(
    kluis: Kluis, alice: Account, settings: Settings
) -> None:
    dossier_id, document_id = kluis.create_dossier(alice), new_id()
    c = base64.b64encode(bytes(32)).decode()
    assert commit(kluis, alice, dossier_id, document_id, b"one", commitment=c).status_code == 201
    before = log_size(settings)
    again = commit(kluis, alice, dossier_id, document_id, b"two", commitment=c)  # version 1 again
    assert_problem(again, 409, "version_conflict")
    assert log_size(settings) == before


def test_a_version_without_a_commitment_has_no_evidence(kluis: Kluis, alice: Account) -> None:
    dossier_id, document_id = kluis.create_dossier(alice), new_id()
    response = commit(kluis, alice, dossier_id, document_id, b"no commitment")
    assert response.json()["evidence"] is None
    assert_problem(
        kluis.get(f"/documents/{document_id}/versions/1/evidence", alice), 404, "not_found"
    )


def test_only_readers_of_the_document_get_its_evidence(
    kluis: Kluis, alice: Account, mallory: Account
) -> None:
    dossier_id, document_id = kluis.create_dossier(alice), new_id()
    c = base64.b64encode(bytes(32)).decode()
    commit(kluis, alice, dossier_id, document_id, b"private", commitment=c)
    assert_problem(
        kluis.get(f"/documents/{document_id}/versions/1/evidence", mallory), 404, "not_found"
    )
    assert_problem(
        kluis.get(f"/documents/{document_id}/versions/2/evidence", alice), 404, "not_found"
    )
