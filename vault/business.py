"""Signing a business profile (docs/format.md section 21) with the organisation's keys of one
epoch. The statement and its check hold no secret and live in `vault.businessprofile`, which
this module re-exports."""

from __future__ import annotations

from collections.abc import Iterable

from . import labels
from .businessprofile import (
    LATITUDE_OFFSET,
    LONGITUDE_OFFSET,
    MAX_KVK,
    MAX_SERVICES,
    MICRODEGREES,
    POSTCODE,
    BusinessProfile,
    check_text,
    verify_profile,
)
from .encoding import check_length, check_u64
from .errors import MalformedError
from .keys import PrivateIdentity
from .orgchain import FINGERPRINT_ID_SIZE

__all__ = ["BusinessProfile", "make_profile", "verify_profile"]


def make_profile(
    org: PrivateIdentity,
    *,
    org_fingerprint: bytes,
    issued_at: int,
    kvk: int,
    latitude: float,
    longitude: float,
    name: str,
    postcode: str,
    place: str,
    address: str,
    services: Iterable[str],
    service_area: str = "",
    contact: str = "",
) -> bytes:
    """Sign a profile with the organisation keys of one epoch (`org`); ValueError for a field
    that breaks section 21 (the signer's own input, before anything is signed)."""
    check_length(org_fingerprint, FINGERPRINT_ID_SIZE, "org_fingerprint")
    check_u64(issued_at, "issued_at")
    if not 1 <= kvk <= MAX_KVK:
        raise ValueError("a KvK number has 8 digits")
    latitude_e6, longitude_e6 = round(latitude * MICRODEGREES), round(longitude * MICRODEGREES)
    if abs(latitude_e6) > LATITUDE_OFFSET or abs(longitude_e6) > LONGITUDE_OFFSET:
        raise ValueError("latitude is -90 to 90 and longitude -180 to 180 degrees")
    postcode = postcode.replace(" ", "").upper()
    if not POSTCODE.fullmatch(postcode.encode("ascii", "replace")):
        raise ValueError("a postcode is 4 digits and 2 letters, like 9981 AB")
    ordered = tuple(sorted(set(services), key=lambda s: s.encode("utf-8")))
    if not 1 <= len(ordered) <= MAX_SERVICES:
        raise ValueError(f"a profile names 1 to {MAX_SERVICES} services")
    for value, what in (
        (name, "name"),
        (place, "place"),
        (address, "address"),
        (service_area, "service_area"),
        (contact, "contact"),
        *((s, "service") for s in ordered),
    ):
        try:
            check_text(value, what)
        except MalformedError as exc:  # the signer's own input, not a forged statement
            raise ValueError(str(exc)) from None
    unsigned = BusinessProfile(
        org_id=org.user_id,
        org_fingerprint=org_fingerprint,
        epoch=org.key_version,
        org_key_id=org.public.key_id,
        issued_at=issued_at,
        kvk=kvk,
        latitude_e6=latitude_e6,
        longitude_e6=longitude_e6,
        name=name,
        postcode=postcode,
        place=place,
        address=address,
        service_area=service_area,
        contact=contact,
        services=ordered,
        signature=b"",
    )
    body = unsigned.body()
    return body + org.sign(labels.BUSINESS_PROFILE_SIGNATURE, body)
