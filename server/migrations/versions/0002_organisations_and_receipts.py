"""Organisations and receipts: the directory, its key records, roster and signed memberships,
receipts on dossiers; and grants may be addressed to an organisation, so `grants.recipient_id`
no longer references `users` (docs/organisations.md).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# SQLite reflects the unnamed foreign keys of 0001 without names; name them by convention.
NAMING = {"fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}
POSTGRES_RECIPIENT_FK = "grants_recipient_id_fkey"  # PostgreSQL's name for 0001's constraint


def upgrade() -> None:
    op.create_table(
        "organisations",
        sa.Column("org_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.Integer(), nullable=False),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("verified_fingerprint", sa.String(length=71), nullable=True),
        sa.Column("verified_at", sa.BigInteger(), nullable=True),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["users.user_id"]),
        sa.PrimaryKeyConstraint("org_id"),
    )
    op.create_index("ix_organisations_name", "organisations", ["name"], unique=True)

    op.create_table(
        "org_key_records",
        sa.Column("org_id", sa.String(length=32), nullable=False),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("record", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.org_id"]),
        sa.PrimaryKeyConstraint("org_id", "epoch"),
    )
    op.create_table(
        "org_members",
        sa.Column("org_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("role", sa.Integer(), nullable=False),
        sa.Column("added_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.org_id"]),
        sa.ForeignKeyConstraint(["user_id"], ["users.user_id"]),
        sa.PrimaryKeyConstraint("org_id", "user_id"),
    )
    op.create_index("ix_org_members_user_id", "org_members", ["user_id"], unique=False)
    op.create_table(
        "org_memberships",
        sa.Column("org_id", sa.String(length=32), nullable=False),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("member_id", sa.String(length=32), nullable=False),
        sa.Column("role", sa.Integer(), nullable=False),
        sa.Column("membership", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["users.user_id"]),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.org_id"]),
        sa.PrimaryKeyConstraint("org_id", "epoch", "member_id"),
    )
    op.create_table(
        "receipts",
        sa.Column("receipt_id", sa.String(length=32), nullable=False),
        sa.Column("dossier_id", sa.String(length=32), nullable=False),
        sa.Column("org_id", sa.String(length=32), nullable=False),
        sa.Column("submitted_by", sa.String(length=32), nullable=False),
        sa.Column("receipt", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["dossier_id"], ["dossiers.dossier_id"]),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.org_id"]),
        sa.ForeignKeyConstraint(["submitted_by"], ["users.user_id"]),
        sa.PrimaryKeyConstraint("receipt_id"),
    )
    op.create_index("ix_receipts_dossier_id", "receipts", ["dossier_id"], unique=False)
    op.create_index("ix_receipts_org_id", "receipts", ["org_id"], unique=False)

    if op.get_context().dialect.name == "postgresql":
        op.drop_constraint(POSTGRES_RECIPIENT_FK, "grants", type_="foreignkey")
    else:
        with op.batch_alter_table("grants", naming_convention=NAMING) as batch_op:
            batch_op.drop_constraint("fk_grants_recipient_id_users", type_="foreignkey")


def downgrade() -> None:
    op.execute(  # grants to organisations cannot reference users: they go with them
        "DELETE FROM grants WHERE recipient_id IN (SELECT org_id FROM organisations)"
    )
    if op.get_context().dialect.name == "postgresql":
        op.create_foreign_key(
            POSTGRES_RECIPIENT_FK, "grants", "users", ["recipient_id"], ["user_id"]
        )
    else:
        with op.batch_alter_table("grants", naming_convention=NAMING) as batch_op:
            batch_op.create_foreign_key(
                "fk_grants_recipient_id_users", "users", ["recipient_id"], ["user_id"]
            )
    op.drop_index("ix_receipts_org_id", table_name="receipts")
    op.drop_index("ix_receipts_dossier_id", table_name="receipts")
    op.drop_table("receipts")
    op.drop_table("org_memberships")
    op.drop_index("ix_org_members_user_id", table_name="org_members")
    op.drop_table("org_members")
    op.drop_table("org_key_records")
    op.drop_index("ix_organisations_name", table_name="organisations")
    op.drop_table("organisations")
