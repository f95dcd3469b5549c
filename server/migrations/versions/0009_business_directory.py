"""The business directory (docs/api.md "Business directory", format section 21):
`business_profiles`, one signed profile per organisation with its place, postcode and location
copied out for search, and `business_services`, the services it names.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "business_profiles",
        sa.Column("org_id", sa.String(length=32), nullable=False),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("profile", sa.LargeBinary(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("place_key", sa.String(length=64), nullable=False),
        sa.Column("postcode", sa.String(length=6), nullable=False),
        sa.Column("latitude_e6", sa.BigInteger(), nullable=False),
        sa.Column("longitude_e6", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.org_id"]),
        sa.PrimaryKeyConstraint("org_id"),
    )
    op.create_index("ix_business_profiles_place_key", "business_profiles", ["place_key"])
    op.create_index("ix_business_profiles_postcode", "business_profiles", ["postcode"])
    op.create_table(
        "business_services",
        sa.Column("service_key", sa.String(length=64), nullable=False),
        sa.Column("org_id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.org_id"]),
        sa.PrimaryKeyConstraint("service_key", "org_id"),
    )


def downgrade() -> None:
    op.drop_table("business_services")
    op.drop_index("ix_business_profiles_postcode", table_name="business_profiles")
    op.drop_index("ix_business_profiles_place_key", table_name="business_profiles")
    op.drop_table("business_profiles")
