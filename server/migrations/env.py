"""Alembic's environment: run the migrations on the connection server/schema.py hands over.

There is no alembic.ini: `server.schema` builds the configuration and passes an open
connection in `config.attributes["connection"]`, so migrations run exactly where and how the
server connects (same URL handling, same SQLite settings).
"""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel
from sqlmodel.sql.sqltypes import AutoString

from server import models, tlog_models  # noqa: F401  (registers the tables on SQLModel.metadata)


def render_item(kind: str, obj: Any, _context: AutogenContext) -> str | Literal[False]:
    """Write SQLModel's string type as the plain SQLAlchemy type it is (for `revision`)."""
    if kind == "type" and isinstance(obj, AutoString):
        return f"sa.String(length={obj.length})" if obj.length else "sa.String()"
    return False


connection: Connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # ALTER TABLE by copy on SQLite
    compare_type=True,
    render_item=render_item,
)
with context.begin_transaction():
    context.run_migrations()
