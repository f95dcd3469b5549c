"""The business directory: publish my organisation's signed profile, and search the directory
with every profile verified (docs/format.md section 21, docs/api.md "Business directory").

A search result is shown only after its profile verified against the organisation's key chain,
which this device verifies and pins as for any organisation (client_sdk/directory.py): the
server could otherwise put words in a business's mouth or list a forged one. One profile that
fails its check stops the whole search (fail closed: a SecurityError, exit status 3). Whether
the KvK number is really the business's is the operator's check of the organisation
(`Listing.verified`), shown next to every result.
"""

from __future__ import annotations

from dataclasses import dataclass

from vault.business import BusinessProfile, make_profile, verify_profile

from .api import ServerApi
from .clock import now
from .directory import Directory
from .errors import ClientError


@dataclass(frozen=True)
class Listing:
    profile: BusinessProfile  # verified against the organisation's chain
    org_name: str  # the organisation's name in Kluis, to share with as `@name`
    org_id: str
    fingerprint: str
    verified_by: str  # "operator", "you" or "" (not verified)

    @property
    def verified(self) -> bool:
        return bool(self.verified_by)


@dataclass(frozen=True)
class ProfileFields:
    """What a business says about itself (section 21's fields, as typed)."""

    kvk: int
    latitude: float
    longitude: float
    name: str
    postcode: str
    place: str
    address: str
    services: tuple[str, ...]
    service_area: str = ""
    contact: str = ""


class Businesses:
    def __init__(self, api: ServerApi, directory: Directory) -> None:
        self.api = api
        self.directory = directory

    def publish(self, organisation: str, fields: ProfileFields) -> BusinessProfile:
        """Sign `fields` with the organisation's current epoch key and publish them (the server
        takes them from an admin only)."""
        org = self.directory.organisation(organisation)
        try:
            data = make_profile(
                org.current_keys(),
                org_fingerprint=org.chain.fingerprint_id,
                issued_at=now(),
                kvk=fields.kvk,
                latitude=fields.latitude,
                longitude=fields.longitude,
                name=fields.name,
                postcode=fields.postcode,
                place=fields.place,
                address=fields.address,
                services=fields.services,
                service_area=fields.service_area,
                contact=fields.contact,
            )
        except ValueError as exc:  # the typist's own input
            raise ClientError(f"profile: {exc}") from None
        self.api.put_profile(org.org_id, data)
        return BusinessProfile.decode(data)

    def search(
        self, *, place: str | None = None, postcode: str | None = None, service: str | None = None
    ) -> list[Listing]:
        """The directory's answer, every profile verified (or a SecurityError)."""
        query = {
            k: v for k, v in (("place", place), ("postcode", postcode), ("service", service)) if v
        }
        listings = []
        for row in self.api.directory(query):
            org = self.directory.organisation(org_id=row.org_id)
            profile = verify_profile(row.profile, chain=org.chain)
            listings.append(
                Listing(profile, org.name, org.org_id, org.fingerprint, org.verified_by)
            )
        return listings
