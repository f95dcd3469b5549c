"""Archive keys of groups (format section 19.2, docs/api.md "Archive keys"):
`group_archive_keys`, an admin's KLGA statement per (group, member, earlier epoch).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "group_archive_keys",
        sa.Column("org_id", sa.String(length=32), nullable=False),
        sa.Column("member_id", sa.String(length=32), nullable=False),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("granted_in", sa.BigInteger(), nullable=False),
        sa.Column("archive_key", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.org_id"]),
        sa.ForeignKeyConstraint(["member_id"], ["users.user_id"]),
        sa.PrimaryKeyConstraint("org_id", "member_id", "epoch"),
    )


def downgrade() -> None:
    op.drop_table("group_archive_keys")
