"""Village groups and conversations on the server (format section 19.1): organisations of kind 5
(group) and 6 (conversation), the editor role in a group only, conversation names (`dm-` + the
id, and no other kind's name starts with `dm-`), two admins to a conversation, and their epoch
records in the key transparency log like any organisation's.

As in test_organisations, the signed records are placeholders: the server does not open them.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest

from server.config import Settings
from vault.kinds import OrgKind, Role
from vault.logentry import LogEntry, Namespace, verify_label

from .harness import Account, Kluis, assert_problem, new_id
from .test_organisations import add_member, create_org, org, rotation
from .test_tlog_lookups import entry_in, trusted

b = base64.b64decode


@pytest.fixture
def carol(kluis: Kluis) -> Account:
    return kluis.register("carol")


def group(kluis: Kluis, who: Account, name: str = "dorpsbelangen") -> dict[str, Any]:
    response = create_org(kluis, who, name, kind=int(OrgKind.GROUP))
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


def conversation(kluis: Kluis, who: Account) -> dict[str, Any]:
    org_id = new_id()
    response = create_org(kluis, who, "dm-" + org_id, org_id=org_id, kind=int(OrgKind.CONVERSATION))
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


# -- kinds and names --------------------------------------------------------------------------
def test_a_group_is_an_organisation_of_kind_group(
    kluis: Kluis, alice: Account, bob: Account
) -> None:
    created = group(kluis, alice)
    assert created["kind"] == OrgKind.GROUP and created["my_role"] == Role.ADMIN
    seen = kluis.get("/organisations/by-name/dorpsbelangen", bob).json()
    assert seen["kind"] == OrgKind.GROUP and seen["records"] == created["records"]


def test_a_group_shares_the_organisation_namespace(kluis: Kluis, alice: Account) -> None:
    org(kluis, alice, "ncg")
    assert_problem(create_org(kluis, alice, "ncg", kind=int(OrgKind.GROUP)), 409, "conflict")
    group(kluis, alice, "straat")
    assert_problem(create_org(kluis, alice, "straat"), 409, "conflict")


def test_a_conversation_is_named_dm_and_its_id(kluis: Kluis, alice: Account) -> None:
    created = conversation(kluis, alice)
    assert created["name"] == "dm-" + created["org_id"]
    assert created["kind"] == OrgKind.CONVERSATION
    other = create_org(kluis, alice, "dm-" + new_id(), kind=int(OrgKind.CONVERSATION))
    assert_problem(other, 422, "validation_error")  # another id than its own
    assert_problem(
        create_org(kluis, alice, "buren", kind=int(OrgKind.CONVERSATION)), 422, "validation_error"
    )


@pytest.mark.parametrize("kind", [k for k in OrgKind if k != OrgKind.CONVERSATION])
def test_no_other_kind_has_a_dm_name(kluis: Kluis, alice: Account, kind: OrgKind) -> None:
    org_id = new_id()
    for name in ("dm-" + org_id, "dm-buren"):
        response = create_org(kluis, alice, name, org_id=org_id, kind=int(kind))
        assert_problem(response, 422, "validation_error")


# -- roles ------------------------------------------------------------------------------------
def test_a_group_has_editors(kluis: Kluis, alice: Account, bob: Account, carol: Account) -> None:
    created = group(kluis, alice)
    assert add_member(kluis, alice, created["org_id"], bob, role=Role.EDITOR).status_code == 201
    assert add_member(kluis, alice, created["org_id"], carol).status_code == 201
    seen = kluis.get(f"/organisations/{created['org_id']}", bob).json()
    assert seen["my_role"] == Role.EDITOR
    roles = {m["member_id"]: m["role"] for m in seen["memberships"]}
    assert roles == {alice.user_id: 2, bob.user_id: 3, carol.user_id: 1}
    # an editor is not an admin
    assert_problem(add_member(kluis, bob, created["org_id"], carol), 403, "forbidden")
    rotated = kluis.post(
        f"/organisations/{created['org_id']}/rotate",
        alice,
        json=rotation(carol, [(alice, Role.ADMIN), (bob, Role.EDITOR)]),
    )
    assert rotated.status_code == 200, rotated.text
    assert {
        (m["member_id"], m["role"]) for m in rotated.json()["memberships"] if m["epoch"] == 2
    } == {
        (alice.user_id, 2),
        (bob.user_id, 3),
    }


@pytest.mark.parametrize("kind", [OrgKind.INSTITUTION, OrgKind.CONVERSATION])
def test_editors_only_in_a_group(
    kluis: Kluis, alice: Account, bob: Account, carol: Account, kind: OrgKind
) -> None:
    created = conversation(kluis, alice) if kind == OrgKind.CONVERSATION else org(kluis, alice)
    org_id = created["org_id"]
    assert_problem(add_member(kluis, alice, org_id, bob, role=Role.EDITOR), 422, "validation_error")
    assert add_member(kluis, alice, org_id, bob, role=Role.ADMIN).status_code == 201
    if kind != OrgKind.CONVERSATION:
        assert add_member(kluis, alice, org_id, carol).status_code == 201
        body = rotation(carol, [(alice, Role.ADMIN), (bob, Role.EDITOR)])
        response = kluis.post(f"/organisations/{org_id}/rotate", alice, json=body)
        assert_problem(response, 422, "validation_error")
    after = kluis.get(f"/organisations/{org_id}", alice).json()
    assert after["epoch"] == 1 and Role.EDITOR not in {m["role"] for m in after["memberships"]}


def test_a_conversation_has_two_members_both_admins(
    kluis: Kluis, alice: Account, bob: Account, carol: Account
) -> None:
    org_id = conversation(kluis, alice)["org_id"]
    assert_problem(add_member(kluis, alice, org_id, bob), 422, "validation_error")  # a member
    assert add_member(kluis, alice, org_id, bob, role=Role.ADMIN).status_code == 201
    third = add_member(kluis, alice, org_id, carol, role=Role.ADMIN)
    assert_problem(third, 422, "validation_error")
    roster = kluis.get(f"/organisations/{org_id}", bob).json()["memberships"]
    assert {(m["member_id"], m["role"]) for m in roster} == {
        (alice.user_id, 2),
        (bob.user_id, 2),
    }


# -- key transparency -------------------------------------------------------------------------
def test_group_and_conversation_epochs_are_logged(
    kluis: Kluis, alice: Account, bob: Account, settings: Settings
) -> None:
    created = group(kluis, alice)
    assert add_member(kluis, alice, created["org_id"], bob).status_code == 201
    body = rotation(bob, [(alice, Role.ADMIN)])
    assert (
        kluis.post(f"/organisations/{created['org_id']}/rotate", alice, json=body).status_code
        == 200
    )
    dm = conversation(kluis, alice)
    log, keys = trusted(settings)
    for name, epochs in (("dorpsbelangen", 2), (dm["name"], 1)):
        answer = kluis.get(f"/organisations/by-name/{name}", alice).json()
        assert len(answer["record_proofs"]) == len(answer["records"]) == epochs
        for epoch, (record, proof) in enumerate(
            zip(answer["records"], answer["record_proofs"], strict=True), start=1
        ):
            label = verify_label(
                keys.vrf_public_key, Namespace.ORGANISATION, name, b(proof["label_proof"])
            )
            entry_in(proof, answer["head"], LogEntry.organisation(label, epoch, b(record)), log)


def test_a_conversation_is_seen_only_by_its_members(
    kluis: Kluis, alice: Account, bob: Account, carol: Account
) -> None:
    created = conversation(kluis, alice)
    org_id, name = created["org_id"], created["name"]
    assert add_member(kluis, alice, org_id, bob, role=Role.ADMIN).status_code == 201
    group(kluis, alice)
    for who in (alice, bob):
        assert kluis.get(f"/organisations/{org_id}", who).status_code == 200
        assert kluis.get(f"/organisations/by-name/{name}", who).status_code == 200
        listed = {o["name"] for o in kluis.get("/organisations", who).json()}
        assert listed == {name, "dorpsbelangen"}
    assert_problem(kluis.get(f"/organisations/{org_id}", carol), 404, "not_found")
    assert_problem(kluis.get(f"/organisations/by-name/{name}", carol), 404, "not_found")
    assert {o["name"] for o in kluis.get("/organisations", carol).json()} == {"dorpsbelangen"}
