"""The business directory on the server (docs/api.md "Business directory"): an admin publishes
the organisation's signed profile (format section 21), parsed to be indexed; anyone searches
by place, postcode and service without logging in. What the server refuses: a profile from a
non-admin, of another organisation, of another epoch than the current, malformed, too large,
or for a group. The signature is the client's to check (tests/vault/test_business.py)."""

from __future__ import annotations

from typing import Any

from vault.business import make_profile
from vault.keys import PrivateIdentity
from vault.kinds import OrgKind

from .harness import Account, Kluis, assert_problem, b64
from .test_groups import group
from .test_organisations import add_member, create_org, rotation


def business(kluis: Kluis, admin: Account, name: str, kind: OrgKind = OrgKind.CONTRACTOR) -> str:
    created = create_org(kluis, admin, name, kind=int(kind))
    assert created.status_code == 201, created.text
    org_id: str = created.json()["org_id"]
    return org_id


def signed(org_id: str, epoch: int = 1, **change: Any) -> bytes:
    keys = PrivateIdentity.generate(bytes.fromhex(org_id), "bedrijf", epoch)
    fields: dict[str, Any] = {
        "kvk": 12345678,
        "latitude": 53.3267,
        "longitude": 6.7525,
        "name": "Bouwbedrijf Wierda",
        "postcode": "9981 AB",
        "place": "Uithuizen",
        "address": "Hoofdstraat 12",
        "services": ["aannemer", "Funderingsherstel"],
        **change,
    }
    return make_profile(keys, org_fingerprint=bytes(32), issued_at=1_800_000_000, **fields)


def publish(kluis: Kluis, who: Account, org_id: str, profile: bytes) -> Any:
    return kluis.put(f"/organisations/{org_id}/profile", who, json={"profile": b64(profile)})


def found(kluis: Kluis, **query: str) -> list[str]:
    answer = kluis.client.get("/api/v1/directory", params=query)  # no login
    assert answer.status_code == 200, answer.text
    return [e["org_name"] for e in answer.json()]


def test_a_published_profile_is_found_by_place_postcode_and_service_without_login(
    kluis: Kluis, alice: Account, bob: Account
) -> None:
    wierda = business(kluis, alice, "wierda")
    bakker = business(kluis, bob, "bakker-loppersum")
    published = signed(wierda)
    assert publish(kluis, alice, wierda, published).status_code == 204
    other = signed(bakker, name="Bakkerij Loppersum", postcode="9919 AA", place="Loppersum",
                   services=["bakker"])  # fmt: skip
    assert publish(kluis, bob, bakker, other).status_code == 204
    assert found(kluis, place=" uithuizen ") == ["wierda"]
    assert found(kluis, postcode="9981ab") == ["wierda"]
    assert found(kluis, postcode="9919") == ["bakker-loppersum"]
    assert found(kluis, service="funderingsherstel") == ["wierda"]
    assert found(kluis, service="bakker", place="Uithuizen") == []
    assert sorted(found(kluis)) == ["bakker-loppersum", "wierda"]
    entry = kluis.client.get("/api/v1/directory", params={"place": "Uithuizen"}).json()[0]
    assert entry["profile"] == b64(published) and len(entry["records"]) == 1
    assert entry["verified_fingerprint"] is None


def test_a_new_profile_replaces_the_old_one_and_its_services(kluis: Kluis, alice: Account) -> None:
    wierda = business(kluis, alice, "wierda")
    assert publish(kluis, alice, wierda, signed(wierda)).status_code == 204
    assert publish(kluis, alice, wierda, signed(wierda, services=["dakdekker"])).status_code == 204
    assert found(kluis, service="aannemer") == []
    assert found(kluis, service="dakdekker") == ["wierda"]


def test_only_an_admin_publishes(
    kluis: Kluis, alice: Account, bob: Account, mallory: Account
) -> None:
    wierda = business(kluis, alice, "wierda")
    assert add_member(kluis, alice, wierda, bob).status_code == 201
    for who in (bob, mallory):
        assert_problem(publish(kluis, who, wierda, signed(wierda)), 403, "forbidden")
    assert found(kluis) == []


def test_a_profile_the_server_must_not_index_is_refused(
    kluis: Kluis, alice: Account, bob: Account
) -> None:
    wierda = business(kluis, alice, "wierda")
    other = business(kluis, alice, "buurman")
    assert_problem(publish(kluis, alice, wierda, signed(other)), 422, "validation_error")
    assert_problem(publish(kluis, alice, wierda, signed(wierda, epoch=2)), 409, "version_conflict")
    assert_problem(publish(kluis, alice, wierda, signed(wierda)[:-1]), 422, "validation_error")
    assert_problem(publish(kluis, alice, wierda, b"KLBP" + bytes(5000)), 413, "payload_too_large")
    village = group(kluis, alice)["org_id"]
    assert_problem(publish(kluis, alice, village, signed(village)), 404, "not_found")
    assert found(kluis) == []


def test_after_a_rotation_only_the_new_epoch_publishes(
    kluis: Kluis, alice: Account, bob: Account
) -> None:
    wierda = business(kluis, alice, "wierda")
    assert add_member(kluis, alice, wierda, bob).status_code == 201
    rotated = kluis.post(f"/organisations/{wierda}/rotate", alice, json=rotation(bob, [(alice, 2)]))
    assert rotated.status_code == 200, rotated.text
    assert_problem(publish(kluis, alice, wierda, signed(wierda, epoch=1)), 409, "version_conflict")
    assert publish(kluis, alice, wierda, signed(wierda, epoch=2)).status_code == 204


def test_a_search_with_nonsense_is_refused(kluis: Kluis) -> None:
    assert kluis.client.get("/api/v1/directory", params={"limit": 0}).status_code == 422
    assert kluis.client.get("/api/v1/directory", params={"place": "x" * 65}).status_code == 422
