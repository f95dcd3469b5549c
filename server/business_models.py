"""The tables and API schemas of the business directory (docs/api.md "Business directory").

A business profile (format section 21) is stored as signed; the fields the public directory
searches by (place, postcode, service) are copied out of it into indexed columns, lower-cased
where people type them either way. The server parses the profile only to index it: clients
believe a profile after `vault.businessprofile.verify_profile` against the organisation's
chain.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field as PydanticField
from sqlalchemy import BigInteger, Column, LargeBinary
from sqlmodel import Field, SQLModel

from .models import B64, Blob

MAX_PROFILE_BYTES = 4096  # the largest section 21 allows is about 2.2 KiB


class BusinessProfileRow(SQLModel, table=True):
    __tablename__ = "business_profiles"

    org_id: str = Field(primary_key=True, foreign_key="organisations.org_id", max_length=32)
    epoch: int = Field(sa_column=Column(BigInteger, nullable=False))
    profile: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    name: str = Field(max_length=128)
    place_key: str = Field(index=True, max_length=64)
    postcode: str = Field(index=True, max_length=6)
    latitude_e6: int = Field(sa_column=Column(BigInteger, nullable=False))
    longitude_e6: int = Field(sa_column=Column(BigInteger, nullable=False))
    updated_at: int = Field(sa_column=Column(BigInteger, nullable=False))


class BusinessService(SQLModel, table=True):
    """One service a profile names, lower-cased, for the search by service."""

    __tablename__ = "business_services"

    service_key: str = Field(primary_key=True, max_length=64)
    org_id: str = Field(primary_key=True, foreign_key="organisations.org_id", max_length=32)


class ProfileIn(SQLModel):
    profile: Annotated[B64, PydanticField(min_length=1)]


class DirectoryEntry(SQLModel):
    """One business as the directory lists it: the signed profile, the organisation's key
    records to check it with, and the operator's verification (null: not verified)."""

    org_id: str
    org_name: str
    kind: int
    verified_fingerprint: str | None
    profile: Blob
    records: list[Blob]
    latitude_e6: int
    longitude_e6: int
