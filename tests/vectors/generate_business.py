"""Write the test vectors of docs/format.md section 21 (business profiles) into tests/vectors/,
one JSON file per scenario, signed by the organisation of generate_organisations.py (epoch 1
made at NOW, epoch 2 at ROTATED).

Run by hand, never by the tests:  .venv/bin/python tests/vectors/generate_business.py
Every input is fixed, so running it again writes the same bytes.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

# Run as a script from the repository root: tests/vectors is on sys.path.
from generate_organisations import (  # type: ignore[import-not-found]
    ALICE,
    CHAIN,
    NOW,
    ORG1,
    ORG2,
    OTHER_ORG_ID,
    RECORD1,
    RECORD2,
    ROTATED,
    identities_json,
)
from generate_structures import flip, write  # type: ignore[import-not-found]

from vault import labels
from vault.business import BusinessProfile, make_profile
from vault.keys import PrivateIdentity

OUT = Path(__file__).resolve().parent
PREFIX = "business"


def profile(org: PrivateIdentity = ORG2, issued_at: int = ROTATED + 60, **change: Any) -> bytes:
    data = make_profile(
        org,
        org_fingerprint=CHAIN.fingerprint_id,
        issued_at=issued_at,
        kvk=1234_5678,
        latitude=53.3267,
        longitude=6.7525,
        name="Bouwbedrijf Wierda & Zn.",
        postcode="9981 AB",
        place="Uithuizen",
        address="Hoofdstraat 12",
        service_area="Het Hogeland en Eemsdelta",
        contact="0595 123 456, info@wierda.example",
        services=["funderingsherstel", "aannemer", "schade-expertise"],
    )
    if not change:
        return data
    changed = dataclasses.replace(BusinessProfile.decode(data), **change)
    body = changed.body()
    return body + org.sign(labels.BUSINESS_PROFILE_SIGNATURE, body)


def vectors() -> None:
    good = profile()

    def vector(name: str, description: str, expect: str, data: bytes) -> None:
        fields: dict[str, Any] = {
            "profile": data.hex(),
            "records": [RECORD1.hex(), RECORD2.hex()],
            "author_identities": identities_json(ALICE),
        }
        if expect == "success":
            p = BusinessProfile.decode(data)
            fields |= {
                "epoch": p.epoch,
                "issued_at": p.issued_at,
                "kvk": p.kvk,
                "latitude_e6": p.latitude_e6,
                "longitude_e6": p.longitude_e6,
                "business_name": p.name,
                "postcode": p.postcode,
                "place": p.place,
                "address": p.address,
                "service_area": p.service_area,
                "contact": p.contact,
                "services": list(p.services),
            }
        write(f"{PREFIX}-{name}", PREFIX, description, expect, **fields)

    body = BusinessProfile.decode(good).body()
    signature = BusinessProfile.decode(good).signature
    cases: list[tuple[str, str, str, bytes]] = [
        ("success", "signed by epoch 2, three services", "success", good),
        ("success-before-rotation", "signed by epoch 1 before epoch 2 existed", "success",
         profile(ORG1, issued_at=NOW + 60)),
        ("success-southern-western", "a location south and west of 0,0 (offsets)", "success",
         profile(latitude_e6=-33_856_784, longitude_e6=-151_215_297)),
        ("wrong-magic", "magic KLBX", "MalformedError", b"KLBX" + good[4:]),
        ("wrong-version", "format version 2", "MalformedError", good[:4] + b"\x02" + good[5:]),
        ("trailing-byte", "one byte after the signature", "MalformedError", good + b"\x00"),
        ("truncated", "last byte missing", "MalformedError", good[:-1]),
        ("no-services", "zero services, re-signed", "MalformedError", profile(services=())),
        ("services-unsorted", "services in descending order, re-signed", "MalformedError",
         profile(services=("schade-expertise", "aannemer"))),
        ("services-duplicated", "one service twice, re-signed", "MalformedError",
         profile(services=("aannemer", "aannemer"))),
        ("postcode-lowercase", "postcode 9981ab, re-signed", "MalformedError",
         profile(postcode="9981ab")),
        ("postcode-leading-zero", "postcode 0981AB, re-signed", "MalformedError",
         profile(postcode="0981AB")),
        ("kvk-zero", "KvK number 0, re-signed", "MalformedError", profile(kvk=0)),
        ("kvk-nine-digits", "KvK number 100000000, re-signed", "MalformedError",
         profile(kvk=100_000_000)),
        ("latitude-off-earth", "latitude 90.000001, re-signed", "MalformedError",
         profile(latitude_e6=90_000_001)),
        ("name-empty", "an empty name, re-signed", "MalformedError", profile(name="")),
        ("name-control-character", "a line break in the name, re-signed", "MalformedError",
         profile(name="Wierda\nBcc: iedereen")),
        ("name-not-nfc", "a name in NFD (e and a combining accent), re-signed", "MalformedError",
         profile(name="Cafe\u0301 De Hoek")),
        ("other-organisation", "another organisation id, re-signed", "IntegrityError",
         profile(org_id=OTHER_ORG_ID)),
        ("fingerprint-mismatch", "names another organisation fingerprint, re-signed",
         "KeyMismatchError", profile(org_fingerprint=b"\x00" * 32)),
        ("unknown-epoch", "says epoch 3, re-signed", "KeyMismatchError", profile(epoch=3)),
        ("key-id-mismatch", "epoch 2 with epoch 1's key id, re-signed", "KeyMismatchError",
         profile(org_key_id=ORG1.public.key_id)),
        ("altered-service", "a service's last byte changed after signing", "SignatureError",
         flip(body, len(body) - 1) + signature),
        ("altered-location", "the latitude changed after signing", "SignatureError",
         flip(body, 5 + 16 + 32 + 4 + 32 + 8 + 4 + 3) + signature),
        ("signed-by-other-key", "signed by epoch 1's key, naming epoch 2", "SignatureError",
         body + ORG1.sign(labels.BUSINESS_PROFILE_SIGNATURE, body)),
        ("signed-as-receipt", "epoch 2's signature with the receipt label", "SignatureError",
         body + ORG2.sign(labels.RECEIPT_SIGNATURE, body)),
        ("retired-key", "signed by epoch 1 after epoch 2 was made (a removed staff member)",
         "KeyMismatchError", profile(ORG1, issued_at=ROTATED + 5)),
    ]  # fmt: skip
    for name, description, expect, data in cases:
        vector(name, description, expect, data)


def main() -> None:
    for old in OUT.glob(f"{PREFIX}-*.json"):
        old.unlink()
    vectors()
    count = sum(1 for _ in OUT.glob(f"{PREFIX}-*.json"))
    print(f"wrote {count} business profile vector files to {OUT}")


if __name__ == "__main__":
    main()
