"""The first schema: users, sessions, rate counters, dossiers, grants, documents, versions,
uploads and the access log, as Kluis created them before it had migrations.

Revision ID: 0001
Revises: (none)
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rate_counters",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("window_start", sa.BigInteger(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index(
        "ix_rate_counters_window_start", "rate_counters", ["window_start"], unique=False
    )

    op.create_table(
        "users",
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=256), nullable=False),
        sa.Column("identity", sa.LargeBinary(), nullable=False),
        sa.Column("kdf_memory_kib", sa.BigInteger(), nullable=False),
        sa.Column("kdf_iterations", sa.BigInteger(), nullable=False),
        sa.Column("kdf_parallelism", sa.Integer(), nullable=False),
        sa.Column("kdf_salt", sa.LargeBinary(), nullable=False),
        sa.Column("passphrase_bundle", sa.LargeBinary(), nullable=False),
        sa.Column("recovery_bundle", sa.LargeBinary(), nullable=False),
        sa.Column("auth_hash", sa.String(), nullable=False),
        sa.Column("recovery_auth_hash", sa.String(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("user_id"),
    )
    op.create_index("ix_users_username", "users", ["username"], unique=True)

    op.create_table(
        "auth_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.user_id"],
        ),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_index("ix_auth_sessions_expires_at", "auth_sessions", ["expires_at"], unique=False)
    op.create_index("ix_auth_sessions_user_id", "auth_sessions", ["user_id"], unique=False)

    op.create_table(
        "dossiers",
        sa.Column("dossier_id", sa.String(length=32), nullable=False),
        sa.Column("owner_id", sa.String(), nullable=False),
        sa.Column("index", sa.LargeBinary(), nullable=False),
        sa.Column("index_counter", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.user_id"],
        ),
        sa.PrimaryKeyConstraint("dossier_id"),
    )
    op.create_index("ix_dossiers_owner_id", "dossiers", ["owner_id"], unique=False)

    op.create_table(
        "uploads",
        sa.Column("upload_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("blob_key", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("blake3", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("committed", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.user_id"],
        ),
        sa.PrimaryKeyConstraint("upload_id"),
        sa.UniqueConstraint("blob_key"),
    )
    op.create_index("ix_uploads_created_at", "uploads", ["created_at"], unique=False)
    op.create_index("ix_uploads_user_id", "uploads", ["user_id"], unique=False)

    op.create_table(
        "documents",
        sa.Column("document_id", sa.String(length=32), nullable=False),
        sa.Column("dossier_id", sa.String(), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.user_id"],
        ),
        sa.ForeignKeyConstraint(
            ["dossier_id"],
            ["dossiers.dossier_id"],
        ),
        sa.PrimaryKeyConstraint("document_id"),
    )
    op.create_index("ix_documents_dossier_id", "documents", ["dossier_id"], unique=False)

    op.create_table(
        "grants",
        sa.Column("grant_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.String(length=32), nullable=True),
        sa.Column("number", sa.BigInteger(), nullable=False),
        sa.Column("recipient_id", sa.String(), nullable=False),
        sa.Column("rights", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("dossier_id", sa.String(), nullable=False),
        sa.Column("granter_id", sa.String(), nullable=False),
        sa.Column("grant", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dossier_id"],
            ["dossiers.dossier_id"],
        ),
        sa.ForeignKeyConstraint(
            ["granter_id"],
            ["users.user_id"],
        ),
        sa.ForeignKeyConstraint(
            ["recipient_id"],
            ["users.user_id"],
        ),
        sa.PrimaryKeyConstraint("grant_id"),
    )
    op.create_index("ix_grants_created_at", "grants", ["created_at"], unique=False)
    op.create_index("ix_grants_document_id", "grants", ["document_id"], unique=False)
    op.create_index("ix_grants_dossier_id", "grants", ["dossier_id"], unique=False)
    op.create_index("ix_grants_recipient_id", "grants", ["recipient_id"], unique=False)

    op.create_table(
        "log_entries",
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("actor_id", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("document_id", sa.String(length=32), nullable=True),
        sa.Column("version", sa.BigInteger(), nullable=True),
        sa.Column("subject_id", sa.String(length=32), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("dossier_id", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dossier_id"],
            ["dossiers.dossier_id"],
        ),
        sa.PrimaryKeyConstraint("seq", "dossier_id"),
        sa.UniqueConstraint("dossier_id", "seq"),
    )
    op.create_table(
        "versions",
        sa.Column("document_id", sa.String(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("payload_size", sa.BigInteger(), nullable=False),
        sa.Column("payload_blake3", sa.String(length=64), nullable=False),
        sa.Column("dossier_id", sa.String(), nullable=False),
        sa.Column("header", sa.LargeBinary(), nullable=False),
        sa.Column("blob_key", sa.String(length=64), nullable=False),
        sa.Column("author_id", sa.String(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.user_id"],
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.document_id"],
        ),
        sa.ForeignKeyConstraint(
            ["dossier_id"],
            ["dossiers.dossier_id"],
        ),
        sa.PrimaryKeyConstraint("document_id", "version"),
    )
    op.create_index("ix_versions_blob_key", "versions", ["blob_key"], unique=False)
    op.create_index("ix_versions_dossier_id", "versions", ["dossier_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_versions_dossier_id", table_name="versions")
    op.drop_index("ix_versions_blob_key", table_name="versions")

    op.drop_table("versions")
    op.drop_table("log_entries")
    op.drop_index("ix_grants_recipient_id", table_name="grants")
    op.drop_index("ix_grants_dossier_id", table_name="grants")
    op.drop_index("ix_grants_document_id", table_name="grants")
    op.drop_index("ix_grants_created_at", table_name="grants")

    op.drop_table("grants")
    op.drop_index("ix_documents_dossier_id", table_name="documents")

    op.drop_table("documents")
    op.drop_index("ix_uploads_user_id", table_name="uploads")
    op.drop_index("ix_uploads_created_at", table_name="uploads")

    op.drop_table("uploads")
    op.drop_index("ix_dossiers_owner_id", table_name="dossiers")

    op.drop_table("dossiers")
    op.drop_index("ix_auth_sessions_user_id", table_name="auth_sessions")
    op.drop_index("ix_auth_sessions_expires_at", table_name="auth_sessions")

    op.drop_table("auth_sessions")
    op.drop_index("ix_users_username", table_name="users")

    op.drop_table("users")
    op.drop_index("ix_rate_counters_window_start", table_name="rate_counters")

    op.drop_table("rate_counters")
