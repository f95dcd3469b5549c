"""The API takes exactly the numbers of the vault's enums (vault.kinds) for grant kinds, rights,
organisation kinds and member roles: every member, and nothing else. The server decides access
by these numbers and the clients by the enums, so the two must not drift apart: a new member
fails here until the API takes it. (The kinds and role of groups, format section 19, are taken
too; where a group's rules need more than the number, tests/server/test_groups.py checks.)"""

from __future__ import annotations

import enum
import json
from typing import Any

import pytest
from pydantic import ValidationError
from sqlmodel import SQLModel

from server import models
from vault.kinds import GrantKind, OrgKind, Rights, Role

ID = "ab" * 16
GRANT = {
    "grant": "AA==",
    "grant_id": ID,
    "kind": 1,
    "number": 1,
    "recipient_id": ID,
    "rights": 1,
    "expires_at": 0,
}
ORGANISATION = {"org_id": ID, "name": "gemeente", "kind": 1, "record": "AA==", "membership": "AA=="}
MEMBERSHIP = {"member_id": ID, "role": 1, "membership": "AA=="}


def body(valid: dict[str, Any], field: str, number: Any) -> str:
    """`valid` with `field` set to `number`; a conversation is named dm- + its id (19.1)."""
    changed = {**valid, field: number}
    if "org_id" in valid and number == OrgKind.CONVERSATION and type(number) is int:
        changed["name"] = "dm-" + valid["org_id"]
    return json.dumps(changed)


FIELDS = [
    (models.GrantCreate, GRANT, "kind", GrantKind),
    (models.GrantCreate, GRANT, "rights", Rights),
    (models.OrganisationCreate, ORGANISATION, "kind", OrgKind),
    (models.MembershipIn, MEMBERSHIP, "role", Role),
]


@pytest.mark.parametrize(("model", "valid", "field", "kinds"), FIELDS)
def test_the_api_takes_every_member_of_the_enum_as_that_member(
    model: type[SQLModel], valid: dict[str, Any], field: str, kinds: type[enum.IntEnum]
) -> None:
    for member in kinds:
        parsed = model.model_validate_json(body(valid, field, int(member)))
        assert getattr(parsed, field) is member


@pytest.mark.parametrize(("model", "valid", "field", "kinds"), FIELDS)
def test_the_api_refuses_a_number_outside_the_enum(
    model: type[SQLModel], valid: dict[str, Any], field: str, kinds: type[enum.IntEnum]
) -> None:
    for number in (0, max(kinds) + 1):
        with pytest.raises(ValidationError):
            model.model_validate_json(body(valid, field, number))


@pytest.mark.parametrize(("model", "valid", "field", "kinds"), FIELDS)
def test_the_api_takes_the_number_only_as_an_integer(
    model: type[SQLModel], valid: dict[str, Any], field: str, kinds: type[enum.IntEnum]
) -> None:
    for spelling in (True, 1.0, "1"):
        with pytest.raises(ValidationError):
            model.model_validate_json(json.dumps({**valid, field: spelling}))
