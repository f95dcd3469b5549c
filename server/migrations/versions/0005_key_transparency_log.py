"""The key transparency log (docs/format.md section 17): `tlog_entries`, `tlog_nodes`,
`tlog_checkpoints`, the witnesses' last sizes (`tlog_witnesses`) and the operator's signed
verification statements (`operator_statements`).

The tables start empty. Labels need the log's VRF key and checkpoints its log key, which live
with the server's settings, not in the database; so what existed before (every account's
identity record, every organisation epoch, every verification the operator recorded, as a
signed statement) is appended by `server.tlog_service.open_log`, which `python -m server
migrate` and every server start run after the schema is current, in one transaction.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tlog_entries",
        sa.Column("entry_index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("entry", sa.LargeBinary(), nullable=False),
        sa.Column("subject", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("entry_index"),
        sa.UniqueConstraint("subject"),
    )
    op.create_table(
        "tlog_nodes",
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("node_index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("level", "node_index"),
    )
    op.create_table(
        "tlog_checkpoints",
        sa.Column("size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("note", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("size"),
    )
    op.create_table(
        "tlog_witnesses",
        sa.Column("witness", sa.String(length=300), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("witness"),
    )
    op.create_table(
        "operator_statements",
        sa.Column("subject", sa.String(length=80), nullable=False),
        sa.Column("org_id", sa.String(length=32), nullable=False),
        sa.Column("statement", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.org_id"]),
        sa.PrimaryKeyConstraint("subject"),
    )
    op.create_index(
        "ix_operator_statements_org_id", "operator_statements", ["org_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_operator_statements_org_id", table_name="operator_statements")
    op.drop_table("operator_statements")
    op.drop_table("tlog_witnesses")
    op.drop_table("tlog_checkpoints")
    op.drop_table("tlog_nodes")
    op.drop_table("tlog_entries")
