"""`kluis business ...`: the business directory (publish my organisation's profile, search with
every profile verified). Sharing a dossier with a business found here is `kluis share DOSSIER
@NAME`."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ..typed import typed_org_name
from .output import Columns, out, print_json
from .shared import DEFAULT_SERVER, JsonOpt, ProfileOpt, ServerOpt, client, command

Text = Annotated[str, typer.Option()]


@command
def business_profile(
    organisation: str,
    kvk: Annotated[int, typer.Option(help="The 8-digit KvK number.")],
    name: Annotated[str, typer.Option(help="The name residents see.")],
    postcode: Annotated[str, typer.Option(help="Like 9981 AB.")],
    place: Text,
    address: Annotated[str, typer.Option(help="Street and number.")],
    lat: Annotated[float, typer.Option(help="Latitude in degrees, like 53.3267.")],
    lon: Annotated[float, typer.Option(help="Longitude in degrees, like 6.7525.")],
    service: Annotated[list[str], typer.Option(help="A service; repeat for more (1 to 16).")],
    area: Annotated[str, typer.Option(help="Where you work.")] = "",
    contact: Annotated[str, typer.Option(help="Telephone, e-mail, website.")] = "",
    server: ServerOpt = DEFAULT_SERVER,
    profile: ProfileOpt = None,
) -> None:
    """Sign and publish your organisation's public profile (admins only)."""
    from ..business import ProfileFields

    fields = ProfileFields(
        kvk=kvk, latitude=lat, longitude=lon, name=name, postcode=postcode, place=place,
        address=address, services=tuple(service), service_area=area, contact=contact,
    )  # fmt: skip
    with client(server, profile) as c:
        published = c.businesses.publish(typed_org_name(organisation), fields)
    out.print(f"Profile of {published.name} published: {published.place}, "
              f"{', '.join(published.services)}.", markup=False)  # fmt: skip


@command
def business_search(
    place: Annotated[str | None, typer.Option()] = None,
    postcode: Annotated[str | None, typer.Option(help="1234 AB, or its four digits.")] = None,
    service: Annotated[str | None, typer.Option()] = None,
    server: ServerOpt = DEFAULT_SERVER,
    profile: ProfileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Search the directory; every profile is checked against its organisation's keys."""
    with client(server, profile) as c:
        listings = c.businesses.search(place=place, postcode=postcode, service=service)
    rows: list[dict[str, Any]] = [
        {
            "organisation": f"@{x.org_name}",
            "name": x.profile.name,
            "kvk": f"{x.profile.kvk:08d}",
            "place": x.profile.place,
            "postcode": x.profile.postcode,
            "address": x.profile.address,
            "services": list(x.profile.services),
            "contact": x.profile.contact,
            "latitude": x.profile.latitude,
            "longitude": x.profile.longitude,
            "verified": x.verified,
        }
        for x in listings
    ]
    if as_json:
        return print_json(rows)
    table = Columns("share with", "name", "place", "services", "KvK", "status", names=("name",))
    for r in rows:
        status = "verified" if r["verified"] else "NOT verified"
        table.add_row(r["organisation"], r["name"], r["place"], ", ".join(r["services"]),
                      r["kvk"], status)  # fmt: skip
    table.print()
    return None
