"""E-mail notifications (docs/api.md "Notifications"): `notify_settings`, one row per user who
opted in (the address, the topics, the unsubscribe link's nonce and hash), and `notify_jobs`,
the queue of mails owed, one row per user at most.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notify_settings",
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("topics", sa.Integer(), nullable=False),
        sa.Column("unsubscribe_nonce", sa.String(length=32), nullable=False),
        sa.Column("unsubscribe_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.user_id"]),
        sa.PrimaryKeyConstraint("user_id"),
        sa.UniqueConstraint("unsubscribe_hash"),
    )
    op.create_table(
        "notify_jobs",
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("due_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.user_id"]),
        sa.PrimaryKeyConstraint("user_id"),
    )
    op.create_index("ix_notify_jobs_due_at", "notify_jobs", ["due_at"])


def downgrade() -> None:
    op.drop_index("ix_notify_jobs_due_at", table_name="notify_jobs")
    op.drop_table("notify_jobs")
    op.drop_table("notify_settings")
