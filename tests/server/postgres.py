"""Test databases on the PostgreSQL server of this machine (127.0.0.1:5432, user postgres, trust
authentication; `.ci/run` starts it when it is not running). Another server can be named with
KLUIS_TEST_POSTGRES (an administrative URL).

`PostgresDatabase` is one database of a test's own (or of one xdist worker's), created on
`create` and dropped, with whatever still connects to it, on `drop`. The fixtures that use it
are in tests/server/conftest.py.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass

import psycopg
from psycopg import sql
from sqlalchemy import make_url

ADMIN_URL = os.environ.get("KLUIS_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
TABLES_TO_KEEP = frozenset({"alembic_version"})


def admin() -> psycopg.Connection:
    try:
        return psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        raise RuntimeError(
            f"the server tests need PostgreSQL at {ADMIN_URL} (`.ci/run` starts it): {exc}"
        ) from None


@dataclass(frozen=True)
class PostgresDatabase:
    name: str

    @classmethod
    def create(cls, prefix: str = "kluis_test") -> PostgresDatabase:
        database = cls(f"{prefix}_{secrets.token_hex(6)}")
        with admin() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database.name)))
        return database

    @property
    def url(self) -> str:
        """The SQLAlchemy URL the server is given (psycopg 3)."""
        base = make_url(ADMIN_URL).set(drivername="postgresql+psycopg", database=self.name)
        return base.render_as_string(hide_password=False)

    @property
    def libpq_url(self) -> str:
        """The same database for psycopg, psql, pg_dump and pg_restore."""
        base = make_url(ADMIN_URL).set(database=self.name)
        return base.render_as_string(hide_password=False)

    def connect(self) -> psycopg.Connection:
        return psycopg.connect(self.libpq_url, autocommit=True)

    def empty(self) -> None:
        """Delete every row (the schema stays), after closing other connections to it."""
        with self.connect() as conn:
            _disconnect_others(conn, self.name)
            tables = [
                row[0]
                for row in conn.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                )
                if row[0] not in TABLES_TO_KEEP
            ]
            if tables:
                names = sql.SQL(", ").join(sql.Identifier(t) for t in tables)
                conn.execute(sql.SQL("TRUNCATE {} CASCADE").format(names))

    def drop(self) -> None:
        with admin() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.name))
            )


def _disconnect_others(conn: psycopg.Connection, name: str) -> None:
    conn.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = %s AND pid <> pg_backend_pid()",
        (name,),
    )
