"""Organisations on the server: the directory, roles in the roster, access through grants to an
organisation, rotation, receipts, expiry, and the operator's `admin verify-org`.

The server never opens the signed records in the API; the bytes there are placeholders. What is
tested is access control (defence in depth: clients decide on signatures) and bookkeeping. Only
the operator's `verify-org` reads the organisation's epoch-1 record, to compute its fingerprint:
those tests publish real records.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from server import admin
from vault.keys import PrivateIdentity
from vault.kinds import OrgKind
from vault.organisation import new_organisation, verify_chain

from .harness import START, Account, FakeClock, Kluis, assert_problem, b64, grant_in, new_id

FINGERPRINT = " ".join(f"{i:05d}" for i in range(12))


def record() -> str:
    return b64(b"KLOK" + os.urandom(60))


def statement() -> str:
    return b64(b"KLOM" + os.urandom(60))


def create_org(kluis: Kluis, who: Account, name: str = "ncg", **change: Any) -> Any:
    body = {
        "org_id": new_id(),
        "name": name,
        "kind": 2,
        "record": record(),
        "membership": statement(),
        **change,
    }
    return kluis.post("/organisations", who, json=body)


def org(kluis: Kluis, who: Account, name: str = "ncg") -> dict[str, Any]:
    response = create_org(kluis, who, name)
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


def add_member(
    kluis: Kluis, admin_: Account, org_id: str, member: Account, role: int = 1, epoch: int = 1
) -> Any:
    body = {"member_id": member.user_id, "role": role, "epoch": epoch, "membership": statement()}
    return kluis.post(f"/organisations/{org_id}/members", admin_, json=body)


def rotation(
    removed: Account, remaining: list[tuple[Account, int]], epoch: int = 2, **change: Any
) -> dict[str, Any]:
    return {
        "epoch": epoch,
        "record": record(),
        "removed_id": removed.user_id,
        "memberships": [
            {"member_id": a.user_id, "role": role, "membership": statement()}
            for a, role in remaining
        ],
        "grants": [],
        **change,
    }


@pytest.fixture
def carol(kluis: Kluis) -> Account:
    return kluis.register("carol")


@pytest.fixture
def ncg(kluis: Kluis, alice: Account, bob: Account) -> dict[str, Any]:
    """The organisation ncg: alice is its admin, bob a member."""
    created = org(kluis, alice)
    assert add_member(kluis, alice, created["org_id"], bob).status_code == 201
    return created


def shared_dossier(kluis: Kluis, owner: Account, org_id: str, expires_at: int = 0) -> str:
    dossier_id = kluis.create_dossier(owner)
    kluis.share(owner, dossier_id, grant_in(org_id, expires_at=expires_at))
    return dossier_id


# -- the directory ------------------------------------------------------------------------
def test_creating_an_organisation_makes_the_creator_its_admin(
    kluis: Kluis, alice: Account, bob: Account
) -> None:
    created = org(kluis, alice)
    assert created["name"] == "ncg" and created["kind"] == 2 and created["epoch"] == 1
    assert created["my_role"] == 2 and created["verified_fingerprint"] is None
    assert len(created["records"]) == 1
    assert [(m["member_id"], m["role"], m["epoch"]) for m in created["memberships"]] == [
        (alice.user_id, 2, 1)
    ]
    seen_by_bob = kluis.get("/organisations/by-name/ncg", bob).json()
    assert seen_by_bob["my_role"] is None and seen_by_bob["records"] == created["records"]
    assert kluis.get(f"/organisations/{created['org_id']}", bob).json() == seen_by_bob
    listing = kluis.get("/organisations", bob).json()
    assert [(o["name"], o["my_role"]) for o in listing] == [("ncg", None)]


def test_names_and_ids_are_unique_across_organisations_and_users(
    kluis: Kluis, alice: Account, bob: Account
) -> None:
    first = org(kluis, alice)
    assert_problem(create_org(kluis, bob, "ncg"), 409, "conflict")
    assert_problem(create_org(kluis, bob, "img", org_id=first["org_id"]), 409, "conflict")
    assert_problem(create_org(kluis, bob, "img", org_id=alice.user_id), 409, "conflict")


@pytest.mark.parametrize(
    "change",
    [{"kind": 7}, {"kind": "2"}, {"name": "NCG"}, {"name": ""}, {"org_id": "xyz"}, {"record": "!"}],
)
def test_malformed_organisations_are_refused(
    kluis: Kluis, alice: Account, change: dict[str, Any]
) -> None:
    assert_problem(create_org(kluis, alice, **change), 422, "validation_error")


def test_the_directory_needs_a_session(kluis: Kluis) -> None:
    assert_problem(kluis.get("/organisations"), 401, "unauthorized")
    assert_problem(kluis.get("/organisations/by-name/ncg"), 401, "unauthorized")


def test_unknown_organisations_are_not_found(kluis: Kluis, alice: Account) -> None:
    assert_problem(kluis.get("/organisations/by-name/ncg", alice), 404, "not_found")
    assert_problem(kluis.get(f"/organisations/{new_id()}", alice), 404, "not_found")


# -- members --------------------------------------------------------------------------------
def test_only_an_admin_adds_members(
    kluis: Kluis, alice: Account, bob: Account, carol: Account, ncg: dict[str, Any]
) -> None:
    assert_problem(add_member(kluis, bob, ncg["org_id"], carol), 403, "forbidden")
    assert_problem(add_member(kluis, carol, ncg["org_id"], carol), 403, "forbidden")
    assert add_member(kluis, alice, ncg["org_id"], carol, role=2).status_code == 201
    assert kluis.get("/organisations", carol).json()[0]["my_role"] == 2


def test_adding_a_member_twice_or_for_an_old_epoch_or_a_non_user_is_refused(
    kluis: Kluis, alice: Account, bob: Account, carol: Account, ncg: dict[str, Any]
) -> None:
    assert_problem(add_member(kluis, alice, ncg["org_id"], bob), 409, "conflict")
    assert_problem(add_member(kluis, alice, ncg["org_id"], carol, epoch=2), 409, "version_conflict")
    stranger = Account(new_id(), "stranger", b"", b"")
    assert_problem(add_member(kluis, alice, ncg["org_id"], stranger), 422, "validation_error")


# -- access through an organisation -------------------------------------------------------------
def test_members_reach_what_was_shared_with_their_organisation(
    kluis: Kluis, alice: Account, bob: Account, carol: Account, mallory: Account,
    ncg: dict[str, Any],
) -> None:  # fmt: skip
    dossier_id = shared_dossier(kluis, carol, ncg["org_id"])
    document_id = kluis.add_document(carol, dossier_id, b"rapport")
    for member in (alice, bob):
        assert [d["dossier_id"] for d in kluis.get("/dossiers", member).json()] == [dossier_id]
        assert kluis.get(f"/dossiers/{dossier_id}", member).status_code == 200
        grants = kluis.get(f"/dossiers/{dossier_id}/grants", member).json()
        assert [g["recipient_id"] for g in grants] == [ncg["org_id"]]  # not carol's own
        listed = kluis.get(f"/dossiers/{dossier_id}/documents", member).json()
        assert [d["document_id"] for d in listed] == [document_id]
        payload = kluis.get(f"/documents/{document_id}/versions/1/payload", member)
        assert payload.status_code == 200 and payload.content == b"rapport"
        assert_problem(kluis.post(f"/dossiers/{dossier_id}/grants", member, json={"grants": []}),
                       403, "forbidden")  # fmt: skip
    assert kluis.get("/dossiers", mallory).json() == []
    assert_problem(kluis.get(f"/dossiers/{dossier_id}", mallory), 404, "not_found")
    assert_problem(kluis.get(f"/documents/{document_id}", mallory), 404, "not_found")


def test_a_grant_to_an_unknown_recipient_is_refused(kluis: Kluis, carol: Account) -> None:
    dossier_id = kluis.create_dossier(carol)
    response = kluis.post(
        f"/dossiers/{dossier_id}/grants", carol, json={"grants": [grant_in(new_id())]}
    )
    assert_problem(response, 422, "validation_error")


def test_an_expired_share_with_an_organisation_gives_no_access(
    kluis: Kluis, clock: FakeClock, bob: Account, carol: Account, ncg: dict[str, Any]
) -> None:
    dossier_id = shared_dossier(kluis, carol, ncg["org_id"], expires_at=clock.now + 60)
    document_id = kluis.add_document(carol, dossier_id)
    assert kluis.get(f"/dossiers/{dossier_id}", bob).status_code == 200
    clock.advance(60)
    assert_problem(kluis.get(f"/dossiers/{dossier_id}", bob), 404, "not_found")
    assert_problem(kluis.get(f"/documents/{document_id}/versions/1/payload", bob), 404, "not_found")
    assert kluis.get("/dossiers", bob).json() == []
    assert kluis.get(f"/organisations/{ncg['org_id']}/grants", bob).json() == []


def test_the_organisations_grants_are_for_its_members_with_the_owner(
    kluis: Kluis, alice: Account, bob: Account, carol: Account, ncg: dict[str, Any]
) -> None:
    dossier_id = shared_dossier(kluis, carol, ncg["org_id"])
    grants = kluis.get(f"/organisations/{ncg['org_id']}/grants", bob).json()
    assert [(g["dossier_id"], g["owner_id"]) for g in grants] == [(dossier_id, carol.user_id)]
    [as_shared] = kluis.get(f"/dossiers/{dossier_id}/grants", bob).json()
    assert {k: v for k, v in grants[0].items() if k != "owner_id"} == as_shared  # same bytes
    assert_problem(kluis.get(f"/organisations/{ncg['org_id']}/grants", carol), 403, "forbidden")


# -- rotation -----------------------------------------------------------------------------------
def test_removing_a_member_ends_its_access_and_stores_the_new_epoch(
    kluis: Kluis, alice: Account, bob: Account, carol: Account, ncg: dict[str, Any]
) -> None:
    org_id = ncg["org_id"]
    dossier_id = shared_dossier(kluis, carol, org_id)
    rewrap = {**grant_in(org_id), "dossier_id": dossier_id}
    body = rotation(bob, [(alice, 2)], grants=[rewrap])
    answer = kluis.post(f"/organisations/{org_id}/rotate", alice, json=body)
    assert answer.status_code == 200, answer.text
    detail = answer.json()
    assert detail["epoch"] == 2 and len(detail["records"]) == 2
    assert sorted((m["epoch"], m["member_id"]) for m in detail["memberships"]) == sorted(
        [(1, alice.user_id), (1, bob.user_id), (2, alice.user_id)]
    )
    assert_problem(kluis.get(f"/dossiers/{dossier_id}", bob), 404, "not_found")
    assert kluis.get("/organisations", bob).json()[0]["my_role"] is None
    grants = kluis.get(f"/dossiers/{dossier_id}/grants", alice).json()
    assert {g["grant_id"] for g in grants} >= {rewrap["grant_id"]}
    log = kluis.log(carol, dossier_id)
    assert [e["action"] for e in log] == ["share"]  # a re-wrap is not a share


def test_only_an_admin_rotates(
    kluis: Kluis, alice: Account, bob: Account, carol: Account, ncg: dict[str, Any]
) -> None:
    body = rotation(alice, [(bob, 1)])
    assert_problem(kluis.post(f"/organisations/{ncg['org_id']}/rotate", bob, json=body),
                   403, "forbidden")  # fmt: skip
    assert_problem(kluis.post(f"/organisations/{ncg['org_id']}/rotate", carol, json=body),
                   403, "forbidden")  # fmt: skip


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("old-epoch", 409, "version_conflict"),
        ("skipped-epoch", 409, "version_conflict"),
        ("not-a-member", 404, "not_found"),
        ("self", 422, "validation_error"),
        ("removed-keeps-keys", 422, "validation_error"),
        ("stranger-gets-keys", 422, "validation_error"),
        ("admin-left-out", 422, "validation_error"),
        ("twice", 422, "validation_error"),
        ("grant-to-someone-else", 422, "validation_error"),
        ("grant-in-unshared-dossier", 422, "validation_error"),
        ("no-memberships", 422, "validation_error"),
    ],
)
def test_bad_rotations_are_refused_and_change_nothing(
    kluis: Kluis, alice: Account, bob: Account, carol: Account, ncg: dict[str, Any],
    case: str, status: int, code: str,
) -> None:  # fmt: skip
    org_id = ncg["org_id"]
    shared = shared_dossier(kluis, carol, org_id)
    unshared = kluis.create_dossier(carol)
    bodies = {
        "old-epoch": rotation(bob, [(alice, 2)], epoch=1),
        "skipped-epoch": rotation(bob, [(alice, 2)], epoch=3),
        "not-a-member": rotation(carol, [(alice, 2), (bob, 1)]),
        "self": rotation(alice, [(bob, 1)]),
        "removed-keeps-keys": rotation(bob, [(alice, 2), (bob, 1)]),
        "stranger-gets-keys": rotation(bob, [(alice, 2), (carol, 1)]),
        "admin-left-out": {**rotation(bob, [(alice, 2)]), "memberships": []},
        "twice": rotation(bob, [(alice, 2), (alice, 2)]),
        "grant-to-someone-else": rotation(
            bob, [(alice, 2)], grants=[{**grant_in(alice.user_id), "dossier_id": shared}]
        ),
        "grant-in-unshared-dossier": rotation(
            bob, [(alice, 2)], grants=[{**grant_in(org_id), "dossier_id": unshared}]
        ),
        "no-memberships": {**rotation(bob, []), "memberships": []},
    }
    response = kluis.post(f"/organisations/{org_id}/rotate", alice, json=bodies[case])
    assert_problem(response, status, code)
    detail = kluis.get(f"/organisations/{org_id}", bob).json()
    assert detail["epoch"] == 1 and detail["my_role"] == 1
    assert kluis.get(f"/dossiers/{shared}", bob).status_code == 200


# A re-wrap copies a current grant to the organisation: the same dossier, kind and target
# (document_id, number), no more rights, no later expiry. Each case: (the owner's grant to the
# organisation, the re-wrap); "doc" and "other-doc" stand for two documents of the dossier.
LATER = START + 3600
WIDER_REWRAPS = {
    "read-to-write": ({"rights": 1}, {"rights": 2}),
    "expiring-to-never": ({"expires_at": LATER}, {"expires_at": 0}),
    "expiring-to-later": ({"expires_at": LATER}, {"expires_at": LATER + 1}),
    "document-to-dossier": ({"kind": 2, "document_id": "doc"}, {"kind": 1}),
    "dossier-to-document": ({"kind": 1}, {"kind": 2, "document_id": "doc"}),
    "document-to-another-document": (
        {"kind": 2, "document_id": "doc"},
        {"kind": 2, "document_id": "other-doc"},
    ),
    "document-to-another-version": (
        {"kind": 2, "document_id": "doc", "number": 1},
        {"kind": 2, "document_id": "doc", "number": 2},
    ),
    "dossier-to-another-key-epoch": ({"number": 1}, {"number": 2}),
}
FAITHFUL_REWRAPS = {
    "same": ({"rights": 2, "expires_at": LATER}, {"rights": 2, "expires_at": LATER}),
    "narrower": ({"rights": 2}, {"rights": 1, "expires_at": LATER}),
    "same-document": (
        {"kind": 2, "document_id": "doc", "number": 2},
        {"kind": 2, "document_id": "doc", "number": 2},
    ),
}


def org_grant(org_id: str, fields: dict[str, Any], documents: dict[str, str]) -> dict[str, Any]:
    named = fields.get("document_id")
    return grant_in(org_id, **{**fields, "document_id": documents.get(named, named)})


def rewrap_setup(kluis: Kluis, owner: Account, org_id: str) -> tuple[str, dict[str, str]]:
    """A dossier of `owner` with two documents (two versions each)."""
    dossier_id = kluis.create_dossier(owner)
    documents = {name: kluis.add_document(owner, dossier_id, versions=2)
                 for name in ("doc", "other-doc")}  # fmt: skip
    return dossier_id, documents


def grant_rows(kluis: Kluis, owner: Account, dossier_id: str) -> list[dict[str, Any]]:
    return sorted(kluis.get(f"/dossiers/{dossier_id}/grants", owner).json(),
                  key=lambda g: g["grant_id"])  # fmt: skip


def assert_not_rotated(kluis: Kluis, bob: Account, org_id: str) -> None:
    detail = kluis.get(f"/organisations/{org_id}", bob).json()
    assert detail["epoch"] == 1 and detail["my_role"] == 1
    assert len(detail["records"]) == 1


@pytest.mark.parametrize("case", sorted(WIDER_REWRAPS))
def test_a_rewrap_wider_than_the_grant_it_copies_is_refused_and_changes_nothing(
    kluis: Kluis, alice: Account, bob: Account, carol: Account, ncg: dict[str, Any], case: str
) -> None:
    org_id = ncg["org_id"]
    dossier_id, documents = rewrap_setup(kluis, carol, org_id)
    shared, rewrapped = WIDER_REWRAPS[case]
    kluis.share(carol, dossier_id, org_grant(org_id, shared, documents))
    # Wider grants to someone else, or to the organisation in another dossier, do not count.
    kluis.share(carol, dossier_id, grant_in(alice.user_id, rights=2))
    kluis.create_dossier(carol, [grant_in(org_id, rights=2)])
    before = grant_rows(kluis, carol, dossier_id)
    rewrap = {**org_grant(org_id, rewrapped, documents), "dossier_id": dossier_id}
    body = rotation(bob, [(alice, 2)], grants=[rewrap])
    response = kluis.post(f"/organisations/{org_id}/rotate", alice, json=body)
    assert_problem(response, 422, "validation_error")
    assert_not_rotated(kluis, bob, org_id)
    assert grant_rows(kluis, carol, dossier_id) == before


@pytest.mark.parametrize("rewrapped_expiry", ["same", "never"])
def test_a_rewrap_of_an_expired_grant_is_refused(
    kluis: Kluis, clock: FakeClock, alice: Account, bob: Account, carol: Account,
    ncg: dict[str, Any], rewrapped_expiry: str,
) -> None:  # fmt: skip
    org_id = ncg["org_id"]
    expires_at = clock.now + 60
    dossier_id = shared_dossier(kluis, carol, org_id, expires_at=expires_at)
    clock.advance(61)
    assert_problem(kluis.get(f"/dossiers/{dossier_id}", alice), 404, "not_found")
    expiry = expires_at if rewrapped_expiry == "same" else 0
    rewrap = {**grant_in(org_id, expires_at=expiry), "dossier_id": dossier_id}
    body = rotation(bob, [(alice, 2)], grants=[rewrap])
    response = kluis.post(f"/organisations/{org_id}/rotate", alice, json=body)
    assert_problem(response, 422, "validation_error")
    assert_not_rotated(kluis, bob, org_id)
    assert_problem(kluis.get(f"/dossiers/{dossier_id}", alice), 404, "not_found")


def test_one_wider_rewrap_refuses_the_whole_rotation(
    kluis: Kluis, alice: Account, bob: Account, carol: Account, ncg: dict[str, Any]
) -> None:
    org_id = ncg["org_id"]
    faithful_in = shared_dossier(kluis, carol, org_id)
    read_only = shared_dossier(kluis, carol, org_id)  # rights 1
    faithful = {**grant_in(org_id), "dossier_id": faithful_in}
    wider = {**grant_in(org_id, rights=2), "dossier_id": read_only}
    body = rotation(bob, [(alice, 2)], grants=[faithful, wider])
    response = kluis.post(f"/organisations/{org_id}/rotate", alice, json=body)
    assert_problem(response, 422, "validation_error")
    assert_not_rotated(kluis, bob, org_id)
    assert len(grant_rows(kluis, carol, faithful_in)) == 2  # the owner's and the original
    assert kluis.commit(alice, read_only, new_id(), 1).status_code == 403
    assert kluis.get(f"/dossiers/{faithful_in}", bob).status_code == 200


@pytest.mark.parametrize("case", sorted(FAITHFUL_REWRAPS))
def test_a_rewrap_that_copies_a_current_grant_is_stored(
    kluis: Kluis, alice: Account, bob: Account, carol: Account, ncg: dict[str, Any], case: str
) -> None:
    org_id = ncg["org_id"]
    dossier_id, documents = rewrap_setup(kluis, carol, org_id)
    shared, rewrapped = FAITHFUL_REWRAPS[case]
    kluis.share(carol, dossier_id, org_grant(org_id, shared, documents))
    rewrap = {**org_grant(org_id, rewrapped, documents), "dossier_id": dossier_id}
    body = rotation(bob, [(alice, 2)], grants=[rewrap])
    response = kluis.post(f"/organisations/{org_id}/rotate", alice, json=body)
    assert response.status_code == 200, response.text
    assert response.json()["epoch"] == 2
    [stored] = [g for g in grant_rows(kluis, carol, dossier_id)
                if g["grant_id"] == rewrap["grant_id"]]  # fmt: skip
    assert {k: stored[k] for k in rewrap} == rewrap
    assert stored["granter_id"] == alice.user_id


# -- receipts -----------------------------------------------------------------------------------
def receipt_body(org_id: str, **change: Any) -> dict[str, Any]:
    return {"receipt_id": new_id(), "org_id": org_id, "receipt": b64(b"KLRC" + os.urandom(80))}


def test_a_member_files_a_receipt_the_owner_reads(
    kluis: Kluis, bob: Account, carol: Account, mallory: Account, ncg: dict[str, Any]
) -> None:
    dossier_id = shared_dossier(kluis, carol, ncg["org_id"])
    body = receipt_body(ncg["org_id"])
    answer = kluis.post(f"/dossiers/{dossier_id}/receipts", bob, json=body)
    assert answer.status_code == 201, answer.text
    listed = kluis.get(f"/dossiers/{dossier_id}/receipts", carol).json()
    assert [(r["receipt_id"], r["receipt"], r["submitted_by"]) for r in listed] == [
        (body["receipt_id"], body["receipt"], bob.user_id)
    ]
    assert kluis.get(f"/dossiers/{dossier_id}/receipts", bob).json() == listed
    assert_problem(kluis.get(f"/dossiers/{dossier_id}/receipts", mallory), 404, "not_found")
    again = kluis.post(f"/dossiers/{dossier_id}/receipts", bob, json=body)
    assert_problem(again, 409, "conflict")


def test_receipts_only_from_members_of_an_organisation_the_dossier_is_shared_with(
    kluis: Kluis, alice: Account, bob: Account, carol: Account, mallory: Account,
    ncg: dict[str, Any],
) -> None:  # fmt: skip
    dossier_id = shared_dossier(kluis, carol, ncg["org_id"])
    other = org(kluis, mallory, "img")
    kluis.share(carol, dossier_id, grant_in(mallory.user_id))  # mallory may read, as herself
    by_outsider = kluis.post(
        f"/dossiers/{dossier_id}/receipts", mallory, json=receipt_body(ncg["org_id"])
    )
    assert_problem(by_outsider, 403, "forbidden")
    for_unshared_org = kluis.post(
        f"/dossiers/{dossier_id}/receipts", mallory, json=receipt_body(other["org_id"])
    )
    assert_problem(for_unshared_org, 403, "forbidden")
    unshared = kluis.create_dossier(carol)
    assert_problem(
        kluis.post(f"/dossiers/{unshared}/receipts", bob, json=receipt_body(ncg["org_id"])),
        404, "not_found",
    )  # fmt: skip


def test_no_receipts_after_the_share_expired(
    kluis: Kluis, clock: FakeClock, bob: Account, carol: Account, ncg: dict[str, Any]
) -> None:
    dossier_id = shared_dossier(kluis, carol, ncg["org_id"], expires_at=clock.now + 10)
    clock.advance(10)
    response = kluis.post(f"/dossiers/{dossier_id}/receipts", bob, json=receipt_body(ncg["org_id"]))
    assert_problem(response, 404, "not_found")


# -- the operator's verification ------------------------------------------------------------------
def published_org(
    kluis: Kluis, who: Account, name: str = "ncg", *, record_name: str | None = None,
    record_kind: OrgKind = OrgKind.INSTITUTION, kind: int = 2,
) -> str:  # fmt: skip
    """An organisation whose epoch-1 record is real (made as a client makes it, for the name
    `record_name`, default `name`); returns the fingerprint a client computes from it."""
    author = PrivateIdentity.generate(bytes.fromhex(who.user_id), who.username)
    org_id = new_id()
    _, record = new_organisation(
        author, org_id=bytes.fromhex(org_id), name=record_name or name, kind=record_kind,
        created_at=START,
    )  # fmt: skip
    response = create_org(kluis, who, name, org_id=org_id, kind=kind, record=b64(record))
    assert response.status_code == 201, response.text
    return verify_chain([record], author_of=lambda _: author.public).fingerprint


def run_admin(
    data_dir: Path, database_url: str | None, monkeypatch: pytest.MonkeyPatch, *args: str
) -> int:
    if database_url:
        monkeypatch.setenv("KLUIS_DATABASE_URL", database_url)
    return admin.main([*args, "--data-dir", str(data_dir)])


def test_the_operator_records_a_checked_fingerprint(
    kluis: Kluis, alice: Account, data_dir: Path, database_url: str | None,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    fingerprint = published_org(kluis, alice)
    typed = fingerprint.replace(" ", "")  # spacing does not matter
    assert run_admin(data_dir, database_url, monkeypatch, "verify-org", "ncg", "--fingerprint",
                     typed) == 0  # fmt: skip
    assert "matches its published keys" in capsys.readouterr().out
    [listed] = kluis.get("/organisations", alice).json()
    assert listed["verified_fingerprint"] == fingerprint and listed["verified_at"]
    assert run_admin(data_dir, database_url, monkeypatch, "list-orgs") == 0
    assert f"verified {fingerprint}" in capsys.readouterr().out
    assert run_admin(data_dir, database_url, monkeypatch, "unverify-org", "ncg") == 0
    assert kluis.get("/organisations", alice).json()[0]["verified_fingerprint"] is None


def one_digit_off(fingerprint: str, position: int) -> str:
    digits = list(fingerprint)
    while not digits[position].isdigit():
        position += 1
    digits[position] = str((int(digits[position]) + 1) % 10)
    return "".join(digits)


@pytest.mark.parametrize("position", [0, 33, 70])
def test_a_mistyped_fingerprint_is_refused_and_the_right_one_shown(
    kluis: Kluis, alice: Account, data_dir: Path, database_url: str | None,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], position: int,
) -> None:  # fmt: skip
    fingerprint = published_org(kluis, alice)
    typo = one_digit_off(fingerprint, position)
    assert run_admin(data_dir, database_url, monkeypatch, "verify-org", "ncg", "--fingerprint",
                     typo) == 1  # fmt: skip
    captured = capsys.readouterr()
    assert "does not match" in captured.err and fingerprint in captured.err
    assert "Traceback" not in captured.err and captured.out == ""
    assert kluis.get("/organisations", alice).json()[0]["verified_fingerprint"] is None


def test_another_organisations_fingerprint_is_refused(
    kluis: Kluis, alice: Account, bob: Account, data_dir: Path, database_url: str | None,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    ncg = published_org(kluis, alice, "ncg")
    img = published_org(kluis, bob, "img")
    assert run_admin(data_dir, database_url, monkeypatch, "verify-org", "ncg", "--fingerprint",
                     img) == 1  # fmt: skip
    assert ncg in capsys.readouterr().err
    listed = kluis.get("/organisations", alice).json()
    assert {o["name"]: o["verified_fingerprint"] for o in listed} == {"ncg": None, "img": None}


def test_a_verification_that_no_longer_matches_is_not_kept(
    kluis: Kluis, alice: Account, data_dir: Path, database_url: str | None,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    fingerprint = published_org(kluis, alice)
    assert run_admin(data_dir, database_url, monkeypatch, "verify-org", "ncg", "--fingerprint",
                     fingerprint) == 0  # fmt: skip
    assert run_admin(data_dir, database_url, monkeypatch, "verify-org", "ncg", "--fingerprint",
                     one_digit_off(fingerprint, 5)) == 1  # fmt: skip
    assert fingerprint in capsys.readouterr().err
    # the refused attempt changed nothing: the earlier, matching record stays
    assert kluis.get("/organisations", alice).json()[0]["verified_fingerprint"] == fingerprint


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"record_name": "img"}, "names another organisation"),
        ({"record_kind": OrgKind.CONTRACTOR}, "names another organisation"),
    ],
    ids=["other-name", "other-kind"],
)
def test_keys_published_for_another_organisation_are_refused(
    kluis: Kluis, alice: Account, data_dir: Path, database_url: str | None,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    change: dict[str, Any], message: str,
) -> None:  # fmt: skip
    """The directory says "ncg, institution", the signed record something else: every client
    would refuse these keys, so there is nothing to verify."""
    fingerprint = published_org(kluis, alice, "ncg", **change)
    assert run_admin(data_dir, database_url, monkeypatch, "verify-org", "ncg", "--fingerprint",
                     fingerprint) == 1  # fmt: skip
    assert message in capsys.readouterr().err
    assert kluis.get("/organisations", alice).json()[0]["verified_fingerprint"] is None


def test_keys_that_do_not_parse_cannot_be_verified(
    kluis: Kluis, alice: Account, data_dir: Path, database_url: str | None,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    org(kluis, alice)  # a placeholder record: "KLOK" and random bytes
    assert run_admin(data_dir, database_url, monkeypatch, "verify-org", "ncg", "--fingerprint",
                     FINGERPRINT) == 1  # fmt: skip
    err = capsys.readouterr().err
    assert "published keys do not parse" in err and "Traceback" not in err
    assert kluis.get("/organisations", alice).json()[0]["verified_fingerprint"] is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("verify-org", "ncg", "--fingerprint", "12345"), "60 digits"),
        (("verify-org", "ncg", "--fingerprint", "x" * 60), "60 digits"),
        (("verify-org", "img", "--fingerprint", FINGERPRINT), "no organisation named 'img'"),
        (("unverify-org", "img"), "no organisation named"),
    ],
)
def test_the_operator_command_refuses_mistakes(
    kluis: Kluis, alice: Account, data_dir: Path, database_url: str | None,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    args: tuple[str, ...], message: str,
) -> None:  # fmt: skip
    published_org(kluis, alice)
    assert run_admin(data_dir, database_url, monkeypatch, *args) == 1
    assert message in capsys.readouterr().err
    assert kluis.get("/organisations", alice).json()[0]["verified_fingerprint"] is None


def test_python_m_server_admin_runs_the_operator_commands(
    kluis: Kluis, alice: Account, data_dir: Path, database_url: str | None
) -> None:
    fingerprint = published_org(kluis, alice)
    env = {k: v for k, v in os.environ.items() if not k.startswith("KLUIS_")}
    if database_url:
        env["KLUIS_DATABASE_URL"] = database_url

    def verify_org(typed: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "server", "admin", "verify-org", "ncg", "--fingerprint",
             typed, "--data-dir", str(data_dir)],
            capture_output=True, text=True, env=env, check=False, timeout=60,
        )  # fmt: skip

    refused = verify_org(one_digit_off(fingerprint, 12))
    assert refused.returncode == 1 and fingerprint in refused.stderr, refused.stderr
    assert kluis.get("/organisations", alice).json()[0]["verified_fingerprint"] is None
    done = verify_org(fingerprint)
    assert done.returncode == 0, done.stderr
    assert kluis.get("/organisations", alice).json()[0]["verified_fingerprint"] == fingerprint


def test_the_server_loads_no_secret_key_code() -> None:
    """The import contract (pyproject.toml) at run time: the server, its operator commands
    included, computes fingerprints with vault's public modules only."""
    secret = ("vault.keys", "vault.organisation", "vault.bundle", "vault.kdf", "vault.recovery",
              "vault.grant", "vault.payload", "vault.agefile", "client_sdk")  # fmt: skip
    script = (
        "import sys, server.app, server.admin, server.__main__\n"
        f"secret = {secret!r}\n"  # a module or a submodule of one (not vault.grantstatement)
        "print(sorted(m for m in sys.modules if m.split('.')[:2] in [s.split('.') for s in secret]"
        " or m.split('.')[0] in secret))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"


# -- the inbox in one call ----------------------------------------------------------------------
def test_the_inbox_gives_every_shared_dossier_with_its_owner_index_and_grants_in_one_call(
    kluis: Kluis, alice: Account, bob: Account, carol: Account, mallory: Account,
    ncg: dict[str, Any],
) -> None:  # fmt: skip
    first = shared_dossier(kluis, carol, ncg["org_id"])
    kluis.clock.advance(1)
    second = shared_dossier(kluis, mallory, ncg["org_id"])
    document_id = kluis.add_document(carol, first)
    kluis.clock.advance(1)
    kluis.share(carol, first, grant_in(ncg["org_id"], kind=2, document_id=document_id))
    kluis.create_dossier(carol)  # not shared: not in the inbox
    inbox = kluis.get(f"/organisations/{ncg['org_id']}/inbox", bob).json()
    assert [case["dossier"]["dossier_id"] for case in inbox] == [first, second]
    for case, owner in zip(inbox, (carol, mallory), strict=True):
        dossier_id = case["dossier"]["dossier_id"]
        assert case["dossier"] == kluis.get(f"/dossiers/{dossier_id}", bob).json()
        assert case["dossier"]["owner"]["user_id"] == owner.user_id
        as_shared = kluis.get(f"/dossiers/{dossier_id}/grants", bob).json()
        assert case["grants"] == sorted(as_shared, key=lambda g: -g["created_at"])  # same bytes
    assert len(inbox[0]["grants"]) == 2


def test_the_inbox_is_for_members_only(
    kluis: Kluis, bob: Account, carol: Account, ncg: dict[str, Any]
) -> None:
    shared_dossier(kluis, carol, ncg["org_id"])
    assert_problem(kluis.get(f"/organisations/{ncg['org_id']}/inbox", carol), 403, "forbidden")
    assert_problem(kluis.get(f"/organisations/{ncg['org_id']}/inbox"), 401, "unauthorized")
    assert_problem(kluis.get(f"/organisations/{new_id()}/inbox", bob), 404, "not_found")


def test_an_expired_share_or_a_removed_member_leaves_the_inbox(
    kluis: Kluis, clock: FakeClock, alice: Account, bob: Account, carol: Account,
    ncg: dict[str, Any],
) -> None:  # fmt: skip
    shared_dossier(kluis, carol, ncg["org_id"], expires_at=clock.now + 60)
    assert len(kluis.get(f"/organisations/{ncg['org_id']}/inbox", bob).json()) == 1
    clock.advance(60)
    assert kluis.get(f"/organisations/{ncg['org_id']}/inbox", bob).json() == []
    kluis.post(f"/organisations/{ncg['org_id']}/rotate", alice, json=rotation(bob, [(alice, 2)]))
    assert_problem(kluis.get(f"/organisations/{ncg['org_id']}/inbox", bob), 403, "forbidden")
