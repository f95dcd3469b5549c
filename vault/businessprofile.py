"""The business profile: an organisation's public, signed entry in the directory
(docs/format.md section 21): name, KvK number, services, address, service area, contact and
location, signed with the organisation's key of one epoch.

This module is the statement and its check, in the documented order:

    1 parse                                         MalformedError
    2 the organisation asked for                    IntegrityError
    3 the organisation fingerprint of the chain     KeyMismatchError
    4 an epoch of the chain, with its key id        KeyMismatchError
    5 signature of that epoch's key                 SignatureError
    6 not signed after that epoch was succeeded     KeyMismatchError

It holds no secret, so the server may parse profiles with it (to index them for search);
signing one is `vault.business.make_profile`.
"""

from __future__ import annotations

import hmac
import itertools
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Final

from . import labels
from .encoding import ID_SIZE, Reader, Writer
from .errors import IntegrityError, KeyMismatchError, MalformedError, SignatureError
from .orgchain import FINGERPRINT_ID_SIZE, OrgChain

PROFILE_MAGIC: Final = b"KLBP"
FORMAT_VERSION: Final = 1
KEY_ID_SIZE: Final = 32
SIGNATURE_SIZE: Final = 64
MICRODEGREES: Final = 1_000_000
LATITUDE_OFFSET: Final = 90 * MICRODEGREES
LONGITUDE_OFFSET: Final = 180 * MICRODEGREES
MAX_KVK: Final = 99_999_999
MAX_SERVICES: Final = 16
POSTCODE: Final = re.compile(rb"[1-9][0-9]{3}[A-Z]{2}")
# Each text field: (name, smallest, largest) in bytes of UTF-8.
TEXT_LIMITS: Final = {
    "name": (1, 128),
    "place": (1, 64),
    "address": (1, 256),
    "service_area": (0, 256),
    "contact": (0, 256),
    "service": (1, 64),
}
WHAT: Final = "business profile"
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def check_text(value: str, what: str) -> str:
    """`value` as the profile's text field `what` may be, or a MalformedError."""
    low, high = TEXT_LIMITS[what]
    size = len(value.encode("utf-8"))
    if not low <= size <= high:
        raise MalformedError(f"{WHAT}: {what} has {size} bytes ({low} to {high} allowed)")
    if _CONTROL.search(value) or unicodedata.normalize("NFC", value) != value:
        raise MalformedError(f"{WHAT}: {what} has control characters or is not in NFC")
    return value


def _text(r: Reader, what: str) -> str:
    raw = r.vbytes(TEXT_LIMITS[what][1])
    try:
        value = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedError(f"{WHAT}: {what} is not UTF-8") from None
    return check_text(value, what)


@dataclass(frozen=True)
class BusinessProfile:
    org_id: bytes
    org_fingerprint: bytes  # the first 32 bytes of the organisation fingerprint digest
    epoch: int
    org_key_id: bytes
    issued_at: int
    kvk: int
    latitude_e6: int  # degrees x 10^6, -90,000,000 to 90,000,000
    longitude_e6: int  # degrees x 10^6, -180,000,000 to 180,000,000
    name: str
    postcode: str
    place: str
    address: str
    service_area: str
    contact: str
    services: tuple[str, ...]
    signature: bytes = field(repr=False)

    @property
    def latitude(self) -> float:
        return self.latitude_e6 / MICRODEGREES

    @property
    def longitude(self) -> float:
        return self.longitude_e6 / MICRODEGREES

    def body(self) -> bytes:
        w = (
            Writer()
            .raw(PROFILE_MAGIC)
            .u8(FORMAT_VERSION)
            .fixed(self.org_id, ID_SIZE)
            .fixed(self.org_fingerprint, FINGERPRINT_ID_SIZE)
            .u32(self.epoch)
            .fixed(self.org_key_id, KEY_ID_SIZE)
            .u64(self.issued_at)
            .u32(self.kvk)
            .u32(self.latitude_e6 + LATITUDE_OFFSET)
            .u32(self.longitude_e6 + LONGITUDE_OFFSET)
        )
        for text in (
            self.name,
            self.postcode,
            self.place,
            self.address,
            self.service_area,
            self.contact,
        ):
            w.vbytes(text.encode("utf-8"))
        w.u8(len(self.services))
        for service in self.services:
            w.vbytes(service.encode("utf-8"))
        return w.getvalue()

    def encode(self) -> bytes:
        return self.body() + self.signature

    @classmethod
    def decode(cls, data: bytes) -> BusinessProfile:
        r = Reader(data, WHAT)
        r.magic(PROFILE_MAGIC)
        if r.u8() != FORMAT_VERSION:
            raise MalformedError(f"{WHAT}: unsupported format version")
        org_id, org_fingerprint = r.raw(ID_SIZE), r.raw(FINGERPRINT_ID_SIZE)
        epoch, org_key_id, issued_at = r.u32(), r.raw(KEY_ID_SIZE), r.u64()
        kvk, latitude, longitude = r.u32(), r.u32(), r.u32()
        name = _text(r, "name")
        postcode_bytes = r.vbytes(6)
        if not POSTCODE.fullmatch(postcode_bytes):
            raise MalformedError(f"{WHAT}: postcode is not 4 digits and 2 capitals (1234AB)")
        place, address = _text(r, "place"), _text(r, "address")
        service_area, contact = _text(r, "service_area"), _text(r, "contact")
        count = r.u8()
        if not 1 <= count <= MAX_SERVICES:
            raise MalformedError(f"{WHAT}: {count} services (1 to {MAX_SERVICES} allowed)")
        services = tuple(_text(r, "service") for _ in range(count))
        signature = r.raw(SIGNATURE_SIZE)
        r.end()
        if epoch < 1:
            raise MalformedError(f"{WHAT}: epoch must be at least 1")
        if not 1 <= kvk <= MAX_KVK:
            raise MalformedError(f"{WHAT}: the KvK number has 8 digits")
        if latitude > 2 * LATITUDE_OFFSET or longitude > 2 * LONGITUDE_OFFSET:
            raise MalformedError(f"{WHAT}: the location is not on earth")
        encoded = [s.encode("utf-8") for s in services]
        if any(a >= b for a, b in itertools.pairwise(encoded)):
            raise MalformedError(f"{WHAT}: services not in strictly ascending order")
        return cls(
            org_id=org_id,
            org_fingerprint=org_fingerprint,
            epoch=epoch,
            org_key_id=org_key_id,
            issued_at=issued_at,
            kvk=kvk,
            latitude_e6=latitude - LATITUDE_OFFSET,
            longitude_e6=longitude - LONGITUDE_OFFSET,
            name=name,
            postcode=postcode_bytes.decode("ascii"),
            place=place,
            address=address,
            service_area=service_area,
            contact=contact,
            services=services,
            signature=signature,
        )


def verify_profile(data: bytes, *, chain: OrgChain) -> BusinessProfile:
    """Checks 1-6 of section 21 against the organisation's verified key chain."""
    profile = BusinessProfile.decode(data)  # 1
    if profile.org_id != chain.org_id:  # 2
        raise IntegrityError(f"{WHAT}: is another organisation's")
    if not hmac.compare_digest(profile.org_fingerprint, chain.fingerprint_id):  # 3
        raise KeyMismatchError(f"{WHAT}: names another organisation fingerprint")
    if profile.epoch > chain.epoch:  # 4
        raise KeyMismatchError(f"{WHAT}: signed with an epoch the organisation does not have")
    keys = chain.epoch_keys(profile.epoch)
    if not hmac.compare_digest(profile.org_key_id, keys.key_id):
        raise KeyMismatchError(f"{WHAT}: names other keys than the organisation's epoch")
    try:  # 5
        keys.identity.verify(labels.BUSINESS_PROFILE_SIGNATURE, profile.body(), profile.signature)
    except SignatureError as exc:
        raise SignatureError(f"{WHAT}: signature does not verify") from exc
    if profile.epoch < chain.epoch:  # 6
        successor = chain.epoch_keys(profile.epoch + 1)
        if profile.issued_at > successor.created_at:
            raise KeyMismatchError(
                f"{WHAT}: signed with the key of epoch {profile.epoch} after it was replaced"
            )
    return profile
