"""K2, K5, K6 and S18 at a new epoch: whose keys a rotation seals to.

When the owner revokes someone, or an admin removes a member, the new epoch's key goes to
everyone who remains. Which keys those are is decided by what the owner (or the admin) signed
before, the grant or the membership naming each recipient's key id, never by what the server
says the recipient's keys are now: on a second device the first answer would otherwise be
pinned without a check.
"""

from __future__ import annotations

import os
import time
from typing import Any

import httpx
import pytest

from client_sdk.transport import b64
from vault.errors import KeyMismatchError
from vault.keys import PrivateIdentity
from vault.kinds import GrantKind, OrgKind, Role
from vault.organisation import make_membership, new_organisation

from . import logoperator
from .harness import (
    PASSPHRASE,
    RewritingTransport,
    World,
    forge_version,
    rewrite_json,
    world,
)

__all__ = ["world"]


def epoch_grants(world: World, dossier: str, recipient: str, epoch: int) -> list[Any]:
    return [
        g
        for g in world.db.signed_grants(dossier, recipient)
        if g.kind == GrantKind.DOSSIER and g.number == epoch
    ]


def substitute_keys(world: World, user_id: str, fake: PrivateIdentity) -> RewritingTransport:
    """The server answers lookups of `user_id` (GET /users/by-id/<user_id>, and its row of
    POST /users/by-ids) with its own keys under that id, which
    it logged (under the user's label, beside the real entry) and proves in its answer: the
    log then shows everyone the substitute, and the checks that remain are those named here."""
    index = logoperator.log_identity(world.server, user_id, fake.public.encode(), take_over=False)
    index -= 1

    def swap(body: dict[str, Any]) -> dict[str, Any]:
        body = {**body, "identity": b64(fake.public.encode())}
        if body.get("log") and body.get("head"):
            proof = logoperator.inclusion(world.server, index, body["head"]["size"])
            body["log"] = {**body["log"], "index": index, "inclusion": [b64(h) for h in proof]}
        return body

    one = rewrite_json("GET", rf".*/users/by-id/{user_id}", swap)
    # ... and in the batch lookup a removal makes of the remaining members (POST /users/by-ids).
    batch = rewrite_json(
        "POST",
        r".*/users/by-ids",
        lambda rows: [swap(row) if row.get("user_id") == user_id else row for row in rows],
    )

    def either(request: httpx.Request, response: httpx.Response) -> httpx.Response | None:
        return one(request, response) or batch(request, response)

    return RewritingTransport(rewrite=either)


def shared_with_bob_and(world: World, other: str, *, write: bool = False) -> str:
    dossier = world.anna.client.create_dossier("Schade Hoofdstraat 12")
    world.anna.client.share(dossier, "bob", write=write)
    world.anna.client.share(dossier, other)
    return dossier


# -- rotation on the owner's own device ---------------------------------------------------------
def test_k2_a_pinned_user_is_not_replaced_by_an_organisation_with_the_same_id(
    world: World,
) -> None:
    carol = world.person("carol-org-id")
    dossier = shared_with_bob_and(world, carol.name)
    bob_id = world.bob.user_id
    assert world.anna.client.profile.pin(bob_id) is not None
    # The operator makes an organisation whose id is bob's user id, admin mallory ...
    org, record = new_organisation(
        world.mallory.keys,
        org_id=bytes.fromhex(bob_id),
        name="bob-org",
        kind=OrgKind.INSTITUTION,
        created_at=int(time.time()),
    )
    membership = make_membership(
        world.mallory.keys, org, world.mallory.keys.public, role=Role.ADMIN, issued_at=1
    )
    stamp = int(time.time())
    world.db.insert(
        "organisations",
        {"org_id": bob_id, "name": "bob-org", "kind": 2, "epoch": 1,
         "created_by": world.mallory.user_id, "created_at": stamp},
    )  # fmt: skip
    world.db.insert(
        "org_key_records", {"org_id": bob_id, "epoch": 1, "record": record, "created_at": stamp}
    )
    world.db.insert(
        "org_memberships",
        {"org_id": bob_id, "epoch": 1, "member_id": world.mallory.user_id, "role": 2,
         "membership": membership, "created_at": stamp},
    )  # fmt: skip

    # ... and says there is no user bob while anna's rotation looks him up.
    def hide_bob(request: httpx.Request) -> httpx.Response | None:
        if request.url.path.endswith(f"/users/by-id/{bob_id}"):
            return httpx.Response(404, json={"code": "not_found", "detail": "no such user"})
        return None

    owner = world.anna.device(RewritingTransport(answer=hide_bob))
    with owner, pytest.raises(KeyMismatchError, match="pinned"):
        owner.revoke(dossier, carol.name)
    assert epoch_grants(world, dossier, bob_id, 2) == []
    assert epoch_grants(world, dossier, carol.user_id, 1) != []  # not revoked half-way


# -- rotation on the owner's second device ------------------------------------------------------
def test_k2_a_rotation_on_a_second_device_refuses_keys_other_than_the_grant_names(
    world: World,
) -> None:
    carol = world.person("carol-second-device")
    dossier = shared_with_bob_and(world, carol.name, write=True)
    fake = PrivateIdentity.generate(bytes.fromhex(world.bob.user_id), "bob", 1)
    laptop = world.person("anna", register=False, profile="anna-second-device")
    with laptop.device(substitute_keys(world, world.bob.user_id, fake)) as owner:
        owner.login("anna", PASSPHRASE)
        with pytest.raises(KeyMismatchError, match=r"bob.*other keys"):
            owner.revoke(dossier, carol.name)
    assert epoch_grants(world, dossier, world.bob.user_id, 2) == []


def test_s18_a_rotation_on_a_second_device_seals_to_the_keys_the_grants_name(
    world: World,
) -> None:
    carol = world.person("carol-honest-rotation")
    dossier = shared_with_bob_and(world, carol.name, write=True)
    laptop = world.person("anna", register=False, profile="anna-honest-device")
    laptop.client.login("anna", PASSPHRASE)
    assert laptop.client.revoke(dossier, carol.name) == 2
    [grant] = epoch_grants(world, dossier, world.bob.user_id, 2)
    assert grant.recipient_key_id == world.bob.keys.public.key_id
    assert epoch_grants(world, dossier, carol.user_id, 2) == []


def test_k5_the_owner_adopts_no_version_signed_with_keys_her_grant_does_not_name(
    world: World,
) -> None:
    """The server stands in for bob, a writer, with its own keys on anna's second device, and
    plants a version as 'bob' (here with the dossier key, as if it had obtained it)."""
    dossier = world.anna.client.create_dossier("Funderingsschade Dorpsweg 8")
    world.anna.client.share(dossier, "bob", write=True)
    key = world.anna.client.load_dossier(dossier).keys[1]
    fake = PrivateIdentity.generate(bytes.fromhex(world.bob.user_id), "bob", 1)
    planted = forge_version(
        world,
        fake,
        dossier_id=dossier,
        document_id=os.urandom(16).hex(),
        version=1,
        epoch=1,
        dossier_key=key,
        content=b"the operator's text",
        name="akkoord-bewoner.pdf",
    )
    laptop = world.person("anna", register=False, profile="anna-adopting-device")
    with laptop.device(substitute_keys(world, world.bob.user_id, fake)) as owner:
        owner.login("anna", PASSPHRASE)
        [shown] = [i for i in owner.documents(dossier) if i.document_id == planted]
        assert not shown.confirmed
    assert planted not in world.db.indexed(dossier)


# -- an organisation's admin removes a member on a second device --------------------------------
def test_k6_a_member_removal_refuses_keys_other_than_the_membership_names(world: World) -> None:
    ada, bert, cees = (world.person(n) for n in ("ada-rm", "bert-rm", "cees-rm"))
    org = ada.client.create_organisation("ncg-rm", "institution")
    ada.client.add_member("ncg-rm", bert.name)
    ada.client.add_member("ncg-rm", cees.name)
    fake = PrivateIdentity.generate(bytes.fromhex(cees.user_id), cees.name, 1)
    second = world.person(ada.name, register=False, profile="ada-rm-second-device")
    with second.device(substitute_keys(world, cees.user_id, fake)) as admin:
        admin.login(ada.name, PASSPHRASE)
        with pytest.raises(KeyMismatchError, match="membership"):
            admin.remove_member("ncg-rm", bert.name)
    epochs = world.db.rows("SELECT epoch FROM org_key_records WHERE org_id = ?", org.org_id)
    assert epochs == [(1,)]
