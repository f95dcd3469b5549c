"""A write route's access is decided by its dependency, in a read step before the route's write
transaction begins; a revoke, a downgrade or an expiry can land in between. The write must then
be answered as it would have been after the change (404 for a caller left with no access, 403
for one left with read access), and nothing is written.

`meanwhile(change)` makes the change land in that gap: it runs `change` (a request of the owner
or a clock step) just before the next write transaction begins, after the dependencies of the
request under test have decided. On SQLite and on PostgreSQL.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import delete
from sqlmodel import Session

import server.db as db
from server.models import Grant

from .harness import Account, FakeClock, Kluis, assert_problem, b64, grant_in, new_id

Change = Callable[[], Any]


@pytest.fixture
def meanwhile(monkeypatch: pytest.MonkeyPatch) -> Callable[[Change], None]:
    """`meanwhile(change)`: run `change` once, between the access check of the next request
    that writes and the start of its write transaction."""
    real = db.write_transaction
    pending: list[Change] = []

    @contextmanager
    def change_first(session: Session) -> Iterator[None]:
        while pending:
            pending.pop()()  # may itself be a request that writes: popped before it runs
        with real(session):
            yield

    monkeypatch.setattr(db, "write_transaction", change_first)
    return pending.append


def revoke(kluis: Kluis, owner: Account, dossier_id: str, who: Account) -> Change:
    def change() -> None:
        params = {"recipient_id": who.user_id}
        answer = kluis.delete(f"/dossiers/{dossier_id}/grants", owner, params=params)
        assert answer.status_code == 204, answer.text

    return change


def version_body(kluis: Kluis, who: Account, version: int = 1) -> dict[str, Any]:
    upload = kluis.upload(who, b"payload")  # before the request under test: uploads write too
    return {
        "version": version,
        "header": b64(b"KLDH"),
        "upload_id": upload["upload_id"],
        "payload_size": upload["size"],
        "payload_blake3": upload["blake3"],
    }


def commit_path(dossier_id: str, document_id: str) -> str:
    return f"/dossiers/{dossier_id}/documents/{document_id}/versions"


def assert_nothing_committed(kluis: Kluis, owner: Account, dossier_id: str) -> None:
    assert kluis.get(f"/dossiers/{dossier_id}/documents", owner).json() == []
    assert "upload" not in {e["action"] for e in kluis.log(owner, dossier_id)}


# -- committing a version ----------------------------------------------------------------------
def test_a_writer_revoked_meanwhile_commits_nothing(
    kluis: Kluis, alice: Account, bob: Account, meanwhile: Callable[[Change], None]
) -> None:
    dossier_id = kluis.create_dossier(alice, [grant_in(bob.user_id, rights=2)])
    body = version_body(kluis, bob)
    meanwhile(revoke(kluis, alice, dossier_id, bob))
    answer = kluis.post(commit_path(dossier_id, new_id()), bob, json=body)
    assert_problem(answer, 404, "not_found")  # as for anyone without access
    assert_nothing_committed(kluis, alice, dossier_id)
    assert [e["action"] for e in kluis.log(alice, dossier_id)] == ["share", "revoke"]


def test_a_writer_downgraded_to_read_meanwhile_gets_403(
    kluis: Kluis, alice: Account, bob: Account, meanwhile: Callable[[Change], None]
) -> None:
    dossier_id = kluis.create_dossier(alice, [grant_in(bob.user_id, rights=2)])
    body = version_body(kluis, bob)

    def downgrade() -> None:
        revoke(kluis, alice, dossier_id, bob)()
        kluis.share(alice, dossier_id, grant_in(bob.user_id, rights=1))

    meanwhile(downgrade)
    answer = kluis.post(commit_path(dossier_id, new_id()), bob, json=body)
    assert_problem(answer, 403, "forbidden")  # as for any reader
    assert_nothing_committed(kluis, alice, dossier_id)


@pytest.mark.parametrize("reads_on", [False, True], ids=["no-other-grant", "read-grant-left"])
def test_a_write_grant_expiring_meanwhile_allows_no_write(
    kluis: Kluis,
    clock: FakeClock,
    alice: Account,
    bob: Account,
    meanwhile: Callable[[Change], None],
    reads_on: bool,
) -> None:
    grants = [grant_in(bob.user_id, rights=2, expires_at=clock.now + 60)]
    if reads_on:
        grants.append(grant_in(bob.user_id, rights=1))
    dossier_id = kluis.create_dossier(alice, grants)
    body = version_body(kluis, bob)
    meanwhile(lambda: clock.advance(60))  # the request was decided at now; it expires at +60
    answer = kluis.post(commit_path(dossier_id, new_id()), bob, json=body)
    if reads_on:
        assert_problem(answer, 403, "forbidden")
    else:
        assert_problem(answer, 404, "not_found")
    assert_nothing_committed(kluis, alice, dossier_id)


def test_a_writer_who_keeps_access_writes(
    kluis: Kluis,
    alice: Account,
    bob: Account,
    mallory: Account,
    meanwhile: Callable[[Change], None],
) -> None:
    dossier_id = kluis.create_dossier(
        alice, [grant_in(bob.user_id, rights=2), grant_in(mallory.user_id, rights=2)]
    )
    body = version_body(kluis, bob)
    meanwhile(revoke(kluis, alice, dossier_id, mallory))  # someone else's grant
    answer = kluis.post(commit_path(dossier_id, new_id()), bob, json=body)
    assert answer.status_code == 201, answer.text


def test_a_write_waits_for_a_revoke_in_flight_and_then_is_refused(
    kluis: Kluis, alice: Account, bob: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The revoke has deleted the grant but not yet committed when the write transaction
    begins: the write must wait for it (PostgreSQL: the grant's row lock; SQLite: the write
    lock), not go ahead on the grant as it was before the revoke."""
    dossier_id = kluis.create_dossier(alice, [grant_in(bob.user_id, rights=2)])
    body = version_body(kluis, bob)
    engine = kluis.client.app.state.engine  # type: ignore[attr-defined]
    real = db.write_transaction
    committed = threading.Event()
    threads: list[threading.Thread] = []

    @contextmanager
    def revoke_in_flight(session: Session) -> Iterator[None]:
        if not threads:
            connection = engine.connect()
            transaction = connection.begin()
            connection.execute(delete(Grant).where(Grant.recipient_id == bob.user_id))

            def commit_later() -> None:
                committed.wait(0.5)  # long enough for the write to be waiting on it
                transaction.commit()
                connection.close()

            threads.append(threading.Thread(target=commit_later))
            threads[0].start()
        with real(session):
            yield

    monkeypatch.setattr(db, "write_transaction", revoke_in_flight)
    try:
        answer = kluis.post(commit_path(dossier_id, new_id()), bob, json=body)
    finally:
        committed.set()
        for thread in threads:
            thread.join()
    assert threads
    assert_problem(answer, 404, "not_found")
    assert_nothing_committed(kluis, alice, dossier_id)


# -- the owner's writes ------------------------------------------------------------------------
OWNER_WRITES: dict[str, Callable[[Kluis, Account, str, Account], Any]] = {
    "index": lambda kluis, who, dossier_id, _other: kluis.put(
        f"/dossiers/{dossier_id}/index", who, json={"index": b64(b"KLIX2"), "counter": 2}
    ),
    "share": lambda kluis, who, dossier_id, other: kluis.post(
        f"/dossiers/{dossier_id}/grants", who, json={"grants": [grant_in(other.user_id)]}
    ),
    "revoke": lambda kluis, who, dossier_id, other: kluis.delete(
        f"/dossiers/{dossier_id}/grants", who, params={"recipient_id": other.user_id}
    ),
}


@pytest.mark.parametrize("route", sorted(OWNER_WRITES))
def test_an_owners_write_by_a_writer_revoked_meanwhile_is_404_not_403(
    kluis: Kluis,
    alice: Account,
    bob: Account,
    mallory: Account,
    meanwhile: Callable[[Change], None],
    route: str,
) -> None:
    """Before the revoke bob would get 403 (a writer, not the owner); after it he may not learn
    even that the dossier exists."""
    dossier_id = kluis.create_dossier(
        alice, [grant_in(bob.user_id, rights=2), grant_in(mallory.user_id)]
    )
    assert_problem(OWNER_WRITES[route](kluis, bob, dossier_id, mallory), 403, "forbidden")
    index = kluis.get(f"/dossiers/{dossier_id}", alice).json()["index"]
    meanwhile(revoke(kluis, alice, dossier_id, bob))
    assert_problem(OWNER_WRITES[route](kluis, bob, dossier_id, mallory), 404, "not_found")
    assert kluis.get(f"/dossiers/{dossier_id}", alice).json()["index"] == index
    grants = kluis.get(f"/dossiers/{dossier_id}/grants", alice).json()
    assert {g["recipient_id"] for g in grants} == {alice.user_id, mallory.user_id}


@pytest.mark.parametrize("route", sorted(OWNER_WRITES))
def test_the_owner_writes_on_while_others_are_revoked(
    kluis: Kluis,
    alice: Account,
    bob: Account,
    mallory: Account,
    meanwhile: Callable[[Change], None],
    route: str,
) -> None:
    dossier_id = kluis.create_dossier(
        alice, [grant_in(bob.user_id, rights=2), grant_in(mallory.user_id)]
    )
    meanwhile(revoke(kluis, alice, dossier_id, bob))
    answer = OWNER_WRITES[route](kluis, alice, dossier_id, mallory)
    assert answer.status_code in (201, 204), answer.text
    body = version_body(kluis, alice)
    meanwhile(revoke(kluis, alice, dossier_id, mallory))
    assert kluis.post(commit_path(dossier_id, new_id()), alice, json=body).status_code == 201
