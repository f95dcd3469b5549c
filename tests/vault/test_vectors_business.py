"""Check the committed vectors of section 21 (business profiles). The JSON files are read,
never written: tests/vectors/generate_business.py makes them by hand. An expected error is met
by that error or a subclass."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from vault import errors
from vault.businessprofile import verify_profile

from .test_vectors_organisations import chain_of
from .test_vectors_structures import h

VECTORS = Path(__file__).resolve().parent.parent / "vectors"
FILES = sorted(VECTORS.glob("business-*.json"))
FIELDS = ("epoch", "issued_at", "kvk", "latitude_e6", "longitude_e6", "postcode", "place",
          "address", "service_area", "contact")  # fmt: skip


def check(v: dict[str, Any]) -> None:
    profile = verify_profile(h(v["profile"]), chain=chain_of(v))
    assert {f: getattr(profile, f) for f in FIELDS} == {f: v[f] for f in FIELDS}
    assert profile.name == v["business_name"] and list(profile.services) == v["services"]


def test_there_are_success_and_failure_vectors() -> None:
    expects = {json.loads(p.read_text())["expect"] for p in FILES}
    assert {
        "success",
        "MalformedError",
        "IntegrityError",
        "KeyMismatchError",
        "SignatureError",
    } <= expects
    assert len(FILES) >= 25


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_vector(path: Path) -> None:
    v = json.loads(path.read_text())
    assert v["structure"] == "business" and v["description"]
    if v["expect"] == "success":
        check(v)
        return
    with pytest.raises(getattr(errors, v["expect"])):
        check(v)
