"""Check the committed vectors of sections 14-15 (organisation chain, membership, re-wrapped
grant, receipt). The JSON files are read, never written: tests/vectors/generate_organisations.py
makes them by hand. An expected error is met by that error or a subclass."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from vault import errors, labels
from vault.grant import Grant, open_grant
from vault.keys import Identity
from vault.kinds import GrantKind
from vault.organisation import (
    ChainPin,
    OrgChain,
    check_rewrap,
    open_membership,
    verify_chain,
    verify_roster,
)
from vault.receipt import verify_receipt

from .test_vectors_structures import h, identities_by_id, private

VECTORS = Path(__file__).resolve().parent.parent / "vectors"
STRUCTURES = ("organisation", "membership", "rewrap", "receipt")
FILES = sorted(p for p in VECTORS.glob("*.json") if p.name.split("-")[0] in STRUCTURES)


def author_of(v: dict[str, Any]) -> Callable[[bytes], Identity]:
    return identities_by_id(v["author_identities"], "author")


def chain_of(v: dict[str, Any]) -> OrgChain:
    return verify_chain([h(r) for r in v["records"]], author_of=author_of(v))


def check_organisation(v: dict[str, Any]) -> None:
    pin = v["pin"]
    chain = verify_chain(
        [h(r) for r in v["records"]],
        author_of=author_of(v),
        org_id=h(v["org_id"]),
        name=v["org_name"],
        pin=(
            ChainPin(
                pin["fingerprint"],
                pin["epoch"],
                h(pin["key_id"]),
                tuple(h(x) for x in pin.get("record_hashes", [])),
            )
            if pin
            else None
        ),
    )
    if v["memberships"] is not None:
        verify_roster(chain, [h(m) for m in v["memberships"]], identity_of=author_of(v))
    assert chain.fingerprint == v["fingerprint"]
    assert chain.fingerprint_digest.hex() == v["fingerprint_digest"]
    assert chain.epoch == v["epoch"]
    assert chain.current.key_id.hex() == v["key_id"]


def check_membership(v: dict[str, Any]) -> None:
    chain = chain_of(v)
    membership, org = open_membership(
        h(v["membership"]),
        me=private(v["member"]),
        admin=Identity.decode(h(v["admin_identity"])),
        org_keys=chain.epoch_keys(v["epoch"]),
    )
    assert membership.role == v["role"]
    assert org.private_keys().hex() == v["org_private_keys"]


def check_rewrap_vector(v: dict[str, Any]) -> None:
    chain = chain_of(v)
    owner = Identity.decode(h(v["owner_identity"]))
    original = Grant.decode(h(v["original"]))  # the owner's grant, as its granter signed it
    assert (original.granter_id, original.granter_key_id) == (owner.user_id, owner.key_id)
    owner.verify(labels.GRANT_SIGNATURE, original.body(), original.signature)
    rewrap = Grant.decode(h(v["rewrap"]))
    check_rewrap(rewrap, original, org_id=h(v["org_id"]))
    org = private(v["org_private"])
    opened = open_grant(
        h(v["rewrap"]),
        me=org,
        granter=chain.epoch_keys(org.key_version).identity,
        kind=GrantKind(rewrap.kind),
        dossier_id=rewrap.dossier_id,
        number=rewrap.number,
        now=v["now"],
    )
    assert opened.key.hex() == v["key"]


def check_receipt(v: dict[str, Any]) -> None:
    receipt = verify_receipt(h(v["receipt"]), dossier_id=h(v["dossier_id"]), chain=chain_of(v))
    assert receipt.epoch == v["epoch"]
    assert receipt.opened_at == v["opened_at"]
    assert [
        {
            "document_id": e.document_id.hex(),
            "version": e.version,
            "payload_hash": e.payload_hash.hex(),
            "header_hash": e.header_hash.hex(),
        }
        for e in receipt.entries
    ] == v["entries"]


CHECKS: dict[str, Callable[[dict[str, Any]], None]] = {
    "organisation": check_organisation,
    "membership": check_membership,
    "rewrap": check_rewrap_vector,
    "receipt": check_receipt,
}


def test_there_are_vectors_for_every_structure() -> None:
    found = {json.loads(p.read_text())["structure"] for p in FILES}
    assert found == set(STRUCTURES)
    assert len(FILES) >= 60


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_vector(path: Path) -> None:
    v = json.loads(path.read_text())
    check = CHECKS[v["structure"]]
    if v["expect"] == "success":
        check(v)
        return
    expected = getattr(errors, v["expect"])
    with pytest.raises(expected):
        check(v)


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_failing_vectors_name_their_one_fault(path: Path) -> None:
    v = json.loads(path.read_text())
    assert v["description"] and v["expect"] in {
        "success",
        "IntegrityError",
        "MalformedError",
        "SignatureError",
        "KeyMismatchError",
        "RollbackError",
    }
