"""Uploads in parts: `part_uploads` (one per upload still receiving parts, its declared size
reserved against the quota) and `upload_parts` (the parts that arrived), removed with it
(docs/api.md, "Uploads in parts").

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "part_uploads",
        sa.Column("upload_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("blob_key", sa.String(length=64), nullable=False),
        sa.Column("store_handle", sa.String(length=1024), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("part_size", sa.BigInteger(), nullable=False),
        sa.Column("completing", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.user_id"]),
        sa.PrimaryKeyConstraint("upload_id"),
        sa.UniqueConstraint("blob_key"),
    )
    op.create_index("ix_part_uploads_updated_at", "part_uploads", ["updated_at"], unique=False)
    op.create_index("ix_part_uploads_user_id", "part_uploads", ["user_id"], unique=False)
    op.create_table(
        "upload_parts",
        sa.Column("upload_id", sa.String(length=32), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("blake3", sa.String(length=64), nullable=False),
        sa.Column("store_ref", sa.String(), nullable=False),
        sa.Column("received_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["upload_id"], ["part_uploads.upload_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("upload_id", "number"),
    )


def downgrade() -> None:
    op.drop_table("upload_parts")
    op.drop_index("ix_part_uploads_user_id", table_name="part_uploads")
    op.drop_index("ix_part_uploads_updated_at", table_name="part_uploads")
    op.drop_table("part_uploads")
