"""Dossiers, the index, grants and who may see or change what."""

from __future__ import annotations

import os
from typing import Any

import pytest

from .harness import Account, Kluis, assert_problem, b64, grant_in, new_id

GRANT_OUT_FIELDS = {
    "grant",
    "grant_id",
    "kind",
    "document_id",
    "number",
    "recipient_id",
    "rights",
    "expires_at",
    "dossier_id",
    "granter_id",
    "created_at",
}


def index_body(counter: int) -> dict[str, Any]:
    return {"index": b64(b"KLIX" + os.urandom(32)), "counter": counter}


# -- creation and reading ----------------------------------------------------------------------
def test_create_and_read_a_dossier(kluis: Kluis, alice: Account) -> None:
    dossier_id = new_id()
    index = b64(b"KLIX first index")
    body = {"dossier_id": dossier_id, "index": index, "grants": [grant_in(alice.user_id)]}
    created = kluis.post("/dossiers", alice, json=body)
    assert created.status_code == 201
    dossier = created.json()
    assert set(dossier) == {"dossier_id", "owner", "index", "created_at"}
    assert dossier["owner"]["user_id"] == alice.user_id
    assert dossier["index"] == index
    assert dossier["created_at"] == kluis.clock.now
    assert kluis.get(f"/dossiers/{dossier_id}", alice).json() == dossier


def test_creating_a_dossier_needs_a_session(kluis: Kluis) -> None:
    body = {"dossier_id": new_id(), "index": b64(b"x"), "grants": []}
    assert_problem(kluis.post("/dossiers", json=body), 401, "unauthorized")


def test_a_dossier_id_can_be_used_once(kluis: Kluis, alice: Account, bob: Account) -> None:
    dossier_id = kluis.create_dossier(alice)
    body = {"dossier_id": dossier_id, "index": b64(b"x"), "grants": []}
    assert_problem(kluis.post("/dossiers", bob, json=body), 409, "conflict")
    assert kluis.get(f"/dossiers/{dossier_id}", alice).json()["owner"]["user_id"] == alice.user_id


@pytest.mark.parametrize(
    "change",
    [
        {"dossier_id": "ABC"},
        {"index": ""},
        {"index": "%%%"},
        {"grants": [{"kind": 1}]},
        {"grants": "nope"},
    ],
)
def test_create_rejects_malformed_bodies(
    kluis: Kluis, alice: Account, change: dict[str, Any]
) -> None:
    body = {"dossier_id": new_id(), "index": b64(b"x"), "grants": [], **change}
    assert_problem(kluis.post("/dossiers", alice, json=body), 422, "validation_error")


@pytest.mark.parametrize(
    "change",
    [
        {"kind": 1, "document_id": "ab" * 16},  # a dossier grant names no document
        {"kind": 2, "document_id": None},  # a document grant must name one
        {"kind": 3},
        {"rights": 0},
        {"rights": 3},
        {"number": 0},
        {"number": 1 << 63},
        {"expires_at": -1},
        {"recipient_id": "ff" * 16},  # not a user
        {"grant": b64(b"g" * 1025)},
        {"grant_id": "xyz"},
    ],
)
def test_bad_grants_are_refused(kluis: Kluis, alice: Account, change: dict[str, Any]) -> None:
    body = {
        "dossier_id": new_id(),
        "index": b64(b"x"),
        "grants": [{**grant_in(alice.user_id), **change}],
    }
    assert_problem(kluis.post("/dossiers", alice, json=body), 422, "validation_error")


def test_a_document_grant_must_name_a_document_of_the_dossier(
    kluis: Kluis, alice: Account, bob: Account
) -> None:
    first = kluis.create_dossier(alice)
    other = kluis.create_dossier(alice)
    document_id = kluis.add_document(alice, other)
    response = kluis.post(
        f"/dossiers/{first}/grants",
        alice,
        json={"grants": [grant_in(bob.user_id, kind=2, document_id=document_id)]},
    )
    assert_problem(response, 422, "validation_error")


def test_grant_ids_are_unique(kluis: Kluis, alice: Account, bob: Account) -> None:
    dossier_id = kluis.create_dossier(alice)
    grant = grant_in(bob.user_id)
    kluis.share(alice, dossier_id, grant)
    again = kluis.post(f"/dossiers/{dossier_id}/grants", alice, json={"grants": [grant]})
    assert_problem(again, 409, "conflict")
    twice = grant_in(bob.user_id)
    response = kluis.post(f"/dossiers/{dossier_id}/grants", alice, json={"grants": [twice, twice]})
    assert_problem(response, 422, "validation_error")


def test_at_most_10000_grants_per_request(kluis: Kluis, alice: Account, bob: Account) -> None:
    dossier_id = kluis.create_dossier(alice)
    grant = grant_in(bob.user_id)
    response = kluis.post(
        f"/dossiers/{dossier_id}/grants", alice, json={"grants": [grant] * 10_001}
    )
    assert_problem(response, 422, "validation_error")


# -- strangers see nothing ---------------------------------------------------------------------
def test_a_stranger_gets_404_everywhere(kluis: Kluis, alice: Account, mallory: Account) -> None:
    dossier_id = kluis.create_dossier(alice)
    document_id = kluis.add_document(alice, dossier_id)
    missing = new_id()
    calls = [
        ("GET", f"/dossiers/{dossier_id}", None),
        ("PUT", f"/dossiers/{dossier_id}/index", index_body(5)),
        ("GET", f"/dossiers/{dossier_id}/grants", None),
        ("POST", f"/dossiers/{dossier_id}/grants", {"grants": [grant_in(mallory.user_id)]}),
        ("DELETE", f"/dossiers/{dossier_id}/grants?recipient_id={alice.user_id}", None),
        ("GET", f"/dossiers/{dossier_id}/documents", None),
        ("GET", f"/dossiers/{dossier_id}/log", None),
        ("GET", f"/documents/{document_id}/versions/1/payload", None),
    ]
    for method, path, body in calls:
        response = kluis.client.request(
            method, "/api/v1" + path, headers=mallory.headers, json=body
        )
        stranger = assert_problem(response, 404, "not_found")
        nowhere = kluis.client.request(
            method,
            "/api/v1" + path.replace(dossier_id, missing).replace(document_id, missing),
            headers=mallory.headers,
            json=body,
        )
        assert nowhere.json() == stranger, path  # no difference between hidden and absent
    version = kluis.commit(mallory, dossier_id, new_id(), 1)
    assert_problem(version, 404, "not_found")
    assert kluis.get("/dossiers", mallory).json() == []
    assert kluis.get("/shared", mallory).json() == []
    assert kluis.get(f"/dossiers/{dossier_id}", alice).status_code == 200


# -- listing -----------------------------------------------------------------------------------
def test_listing_shows_owned_and_shared_dossiers(
    kluis: Kluis, alice: Account, bob: Account
) -> None:
    own = kluis.create_dossier(alice)
    kluis.clock.advance(1)
    shared = kluis.create_dossier(bob, [grant_in(alice.user_id)])
    kluis.create_dossier(bob)  # not shared
    listed = kluis.get("/dossiers", alice).json()
    assert [d["dossier_id"] for d in listed] == [own, shared]
    assert listed[1]["owner"]["user_id"] == bob.user_id


# -- the index ---------------------------------------------------------------------------------
def test_the_owner_updates_the_index_with_growing_counters(kluis: Kluis, alice: Account) -> None:
    dossier_id = kluis.create_dossier(alice)
    body = index_body(2)
    assert kluis.put(f"/dossiers/{dossier_id}/index", alice, json=body).status_code == 204
    assert kluis.get(f"/dossiers/{dossier_id}", alice).json()["index"] == body["index"]
    assert kluis.put(f"/dossiers/{dossier_id}/index", alice, json=index_body(10)).status_code == 204


@pytest.mark.parametrize("counter", [1, 2, 3])
def test_the_index_counter_must_increase(kluis: Kluis, alice: Account, counter: int) -> None:
    dossier_id = kluis.create_dossier(alice)  # counter 1
    kluis.put(f"/dossiers/{dossier_id}/index", alice, json=index_body(3))
    before = kluis.get(f"/dossiers/{dossier_id}", alice).json()["index"]
    response = kluis.put(f"/dossiers/{dossier_id}/index", alice, json=index_body(counter))
    assert_problem(response, 409, "counter_not_increasing")
    assert kluis.get(f"/dossiers/{dossier_id}", alice).json()["index"] == before


@pytest.mark.parametrize("counter", [0, -1, "7", 1.5, None])
def test_the_index_counter_must_be_a_positive_integer(
    kluis: Kluis, alice: Account, counter: Any
) -> None:
    dossier_id = kluis.create_dossier(alice)
    response = kluis.put(
        f"/dossiers/{dossier_id}/index", alice, json={"index": b64(b"x"), "counter": counter}
    )
    assert_problem(response, 422, "validation_error")


@pytest.mark.parametrize("rights", [1, 2])
def test_only_the_owner_changes_the_index(
    kluis: Kluis, alice: Account, bob: Account, rights: int
) -> None:
    dossier_id = kluis.create_dossier(alice, [grant_in(bob.user_id, rights=rights)])
    response = kluis.put(f"/dossiers/{dossier_id}/index", bob, json=index_body(2))
    assert_problem(response, 403, "forbidden")


# -- grants ------------------------------------------------------------------------------------
def test_the_owner_sees_all_grants_a_grantee_only_its_own(
    kluis: Kluis, alice: Account, bob: Account, mallory: Account
) -> None:
    dossier_id = kluis.create_dossier(
        alice, [grant_in(bob.user_id), grant_in(mallory.user_id, rights=2)]
    )
    everything = kluis.get(f"/dossiers/{dossier_id}/grants", alice).json()
    assert {g["recipient_id"] for g in everything} == {alice.user_id, bob.user_id, mallory.user_id}
    assert all(set(g) == GRANT_OUT_FIELDS for g in everything)
    assert all(g["granter_id"] == alice.user_id for g in everything)
    own = kluis.get(f"/dossiers/{dossier_id}/grants", bob).json()
    assert [g["recipient_id"] for g in own] == [bob.user_id]


def test_grants_round_trip_their_fields(kluis: Kluis, alice: Account, bob: Account) -> None:
    dossier_id = kluis.create_dossier(alice)
    grant = grant_in(bob.user_id, number=7, rights=2, expires_at=kluis.clock.now + 99)
    created = kluis.post(f"/dossiers/{dossier_id}/grants", alice, json={"grants": [grant]})
    assert created.status_code == 201
    [stored] = kluis.get(f"/dossiers/{dossier_id}/grants", bob).json()
    assert created.json() == [stored]
    assert {k: stored[k] for k in grant} == grant
    assert stored["dossier_id"] == dossier_id
    assert stored["created_at"] == kluis.clock.now


@pytest.mark.parametrize("rights", [1, 2])
def test_only_the_owner_grants(kluis: Kluis, alice: Account, bob: Account, rights: int) -> None:
    dossier_id = kluis.create_dossier(alice, [grant_in(bob.user_id, rights=rights)])
    response = kluis.post(
        f"/dossiers/{dossier_id}/grants", bob, json={"grants": [grant_in(bob.user_id, rights=2)]}
    )
    assert_problem(response, 403, "forbidden")
    revoke = kluis.delete(f"/dossiers/{dossier_id}/grants?recipient_id={alice.user_id}", bob)
    assert_problem(revoke, 403, "forbidden")


def test_revoking_removes_access(kluis: Kluis, alice: Account, bob: Account) -> None:
    dossier_id = kluis.create_dossier(alice, [grant_in(bob.user_id)])
    assert kluis.get(f"/dossiers/{dossier_id}", bob).status_code == 200
    response = kluis.delete(f"/dossiers/{dossier_id}/grants?recipient_id={bob.user_id}", alice)
    assert response.status_code == 204
    assert_problem(kluis.get(f"/dossiers/{dossier_id}", bob), 404, "not_found")
    assert kluis.get("/dossiers", bob).json() == []
    remaining = kluis.get(f"/dossiers/{dossier_id}/grants", alice).json()
    assert [g["recipient_id"] for g in remaining] == [alice.user_id]


def test_revoking_a_dossier_grant_also_removes_document_grants(
    kluis: Kluis, alice: Account, bob: Account
) -> None:
    dossier_id = kluis.create_dossier(alice, [grant_in(bob.user_id)])
    document_id = kluis.add_document(alice, dossier_id)
    kluis.share(alice, dossier_id, grant_in(bob.user_id, kind=2, document_id=document_id))
    kluis.delete(f"/dossiers/{dossier_id}/grants?recipient_id={bob.user_id}", alice)
    assert_problem(kluis.get(f"/documents/{document_id}/versions/1/payload", bob), 404, "not_found")


def test_revoking_one_document_grant_keeps_the_others(
    kluis: Kluis, alice: Account, bob: Account
) -> None:
    dossier_id = kluis.create_dossier(alice)
    first = kluis.add_document(alice, dossier_id, b"first")
    second = kluis.add_document(alice, dossier_id, b"second")
    kluis.share(
        alice,
        dossier_id,
        grant_in(bob.user_id, kind=2, document_id=first),
        grant_in(bob.user_id, kind=2, document_id=second),
    )
    response = kluis.delete(
        f"/dossiers/{dossier_id}/grants?recipient_id={bob.user_id}&document_id={first}", alice
    )
    assert response.status_code == 204
    assert_problem(kluis.get(f"/documents/{first}/versions/1/payload", bob), 404, "not_found")
    assert kluis.get(f"/documents/{second}/versions/1/payload", bob).content == b"second"


def test_the_owners_own_grants_cannot_be_revoked(kluis: Kluis, alice: Account) -> None:
    dossier_id = kluis.create_dossier(alice)
    response = kluis.delete(f"/dossiers/{dossier_id}/grants?recipient_id={alice.user_id}", alice)
    assert_problem(response, 422, "validation_error")


@pytest.mark.parametrize(
    "query", ["", "?recipient_id=nope", "?recipient_id=" + "a" * 32 + "&document_id=x"]
)
def test_revoke_needs_valid_ids(kluis: Kluis, alice: Account, query: str) -> None:
    dossier_id = kluis.create_dossier(alice)
    response = kluis.delete(f"/dossiers/{dossier_id}/grants{query}", alice)
    assert_problem(response, 422, "validation_error")


# -- expiry ------------------------------------------------------------------------------------
def test_an_expired_grant_gives_no_access(kluis: Kluis, alice: Account, bob: Account) -> None:
    expires_at = kluis.clock.now + 100
    dossier_id = kluis.create_dossier(alice, [grant_in(bob.user_id, expires_at=expires_at)])
    document_id = kluis.add_document(alice, dossier_id)
    kluis.clock.advance(99)
    assert kluis.get(f"/dossiers/{dossier_id}", bob).status_code == 200
    kluis.clock.advance(1)  # expires_at <= now: expired
    for path in (
        f"/dossiers/{dossier_id}",
        f"/dossiers/{dossier_id}/grants",
        f"/dossiers/{dossier_id}/documents",
        f"/dossiers/{dossier_id}/log",
        f"/documents/{document_id}/versions/1/payload",
    ):
        assert_problem(kluis.get(path, bob), 404, "not_found")
    assert kluis.get("/dossiers", bob).json() == []
    assert kluis.get("/shared", bob).json() == []


def test_an_expired_write_grant_cannot_commit(kluis: Kluis, alice: Account, bob: Account) -> None:
    dossier_id = kluis.create_dossier(
        alice, [grant_in(bob.user_id, rights=2, expires_at=kluis.clock.now + 10)]
    )
    kluis.clock.advance(10)
    assert_problem(kluis.commit(bob, dossier_id, new_id(), 1), 404, "not_found")


# -- shared with me ----------------------------------------------------------------------------
def test_shared_lists_current_grants_to_me_newest_first(
    kluis: Kluis, alice: Account, bob: Account, mallory: Account
) -> None:
    older = kluis.create_dossier(alice, [grant_in(bob.user_id)])
    kluis.clock.advance(10)
    newer = kluis.create_dossier(mallory, [grant_in(bob.user_id, rights=2)])
    kluis.clock.advance(10)
    kluis.create_dossier(alice, [grant_in(bob.user_id, expires_at=kluis.clock.now + 5)])
    kluis.clock.advance(5)  # that one has expired
    kluis.create_dossier(bob)  # bob's own grant to himself is not "shared"
    shared = kluis.get("/shared", bob).json()
    assert [g["dossier_id"] for g in shared] == [newer, older]
    assert all(set(g) == GRANT_OUT_FIELDS for g in shared)
    assert all(g["recipient_id"] == bob.user_id for g in shared)


def test_shared_needs_a_session(kluis: Kluis) -> None:
    assert_problem(kluis.get("/shared"), 401, "unauthorized")
