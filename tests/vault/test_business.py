"""Business profiles (format section 21) made with `make_profile`: they verify and read back
as signed; what the signer types that section 21 refuses is a ValueError before anything is
signed; a profile the server made up, one another organisation signed, or one a removed staff
member signed with the retired key after the rotation is refused."""

from __future__ import annotations

import os
from typing import Any

import pytest

from vault.business import make_profile, verify_profile
from vault.errors import IntegrityError, KeyMismatchError, MalformedError, SignatureError
from vault.keys import PrivateIdentity
from vault.kinds import OrgKind
from vault.organisation import new_organisation, next_epoch, verify_chain

NOW = 1_800_000_000
ALICE = PrivateIdentity.generate(os.urandom(16), "alice")
ORG1, REC1 = new_organisation(
    ALICE, org_id=os.urandom(16), name="wierda", kind=OrgKind.CONTRACTOR, created_at=NOW
)
ORG2, REC2 = next_epoch(ALICE, ORG1, kind=OrgKind.CONTRACTOR, created_at=NOW + 100)
CHAIN1 = verify_chain([REC1], author_of=lambda _u: ALICE.public)
CHAIN2 = verify_chain([REC1, REC2], author_of=lambda _u: ALICE.public)
FIELDS: dict[str, Any] = {
    "kvk": 12345678,
    "latitude": 53.2194,
    "longitude": 6.5665,
    "name": "Architectenbureau De Wierde",
    "postcode": "9712 cp",
    "place": "Groningen",
    "address": "Grote Markt 1",
    "services": ["architect", "bouwkundig advies", "architect"],
}


def profile(org: PrivateIdentity = ORG2, issued_at: int = NOW + 200, **change: Any) -> bytes:
    fingerprint = CHAIN2.fingerprint_id
    return make_profile(
        org, org_fingerprint=fingerprint, issued_at=issued_at, **{**FIELDS, **change}
    )


def test_a_profile_verifies_and_reads_back_normalised() -> None:
    p = verify_profile(profile(), chain=CHAIN2)
    assert (p.epoch, p.postcode, p.services) == (2, "9712CP", ("architect", "bouwkundig advies"))
    assert (p.latitude, p.longitude) == (53.2194, 6.5665)


@pytest.mark.parametrize(
    "change",
    [
        {"kvk": 0},
        {"kvk": 123456789},
        {"latitude": 90.5},
        {"longitude": -181},
        {"postcode": "0712CP"},
        {"postcode": "97123"},
        {"name": ""},
        {"name": "x" * 129},
        {"name": "Wierda\r\nBcc: iedereen"},
        {"services": []},
        {"services": [f"dienst {n}" for n in range(17)]},
        {"contact": "x" * 257},
    ],
)
def test_what_section_20_refuses_is_refused_before_signing(change: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        profile(**change)


def test_a_profile_made_up_by_the_server_does_not_verify() -> None:
    forger = PrivateIdentity.generate(ORG2.user_id, "wierda", 2)
    forged = make_profile(forger, org_fingerprint=CHAIN2.fingerprint_id, issued_at=NOW, **FIELDS)
    with pytest.raises((SignatureError, KeyMismatchError)):
        verify_profile(forged, chain=CHAIN2)


def test_another_organisations_profile_is_refused_for_this_one() -> None:
    other, record = new_organisation(
        ALICE, org_id=os.urandom(16), name="buurman", kind=OrgKind.CONTRACTOR, created_at=NOW
    )
    other_chain = verify_chain([record], author_of=lambda _u: ALICE.public)
    data = make_profile(other, org_fingerprint=other_chain.fingerprint_id, issued_at=NOW, **FIELDS)
    with pytest.raises(IntegrityError):
        verify_profile(data, chain=CHAIN2)


def test_a_removed_staff_member_cannot_publish_with_the_retired_key() -> None:
    before = profile(ORG1, issued_at=NOW + 50)
    assert verify_profile(before, chain=CHAIN2).epoch == 1  # published before the rotation
    with pytest.raises(KeyMismatchError):
        verify_profile(profile(ORG1, issued_at=NOW + 101), chain=CHAIN2)


def test_a_truncated_or_extended_profile_is_malformed() -> None:
    data = profile()
    for bad in (data[:-1], data + b"\x00", data[:40]):
        with pytest.raises(MalformedError):
            verify_profile(bad, chain=CHAIN2)
