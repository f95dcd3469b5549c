"""The database engine, the schema and the per-request session.

SQLite is the default: WAL journal, foreign keys on, a busy timeout, and one connection per
thread in use. A request that writes starts its transaction with `BEGIN IMMEDIATE`, so it takes
SQLite's write lock before its first read: two requests that both read and then write (say, two
downloads appending to the same access log) queue on the busy timeout instead of one failing
with "database is locked" when it tries to upgrade a stale read snapshot. On PostgreSQL the
same code relies on row locks (`SELECT ... FOR UPDATE`) and unique constraints instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from fastapi import Request
from sqlalchemy import Engine, event
from sqlalchemy.engine import Connection
from sqlmodel import Session, SQLModel, create_engine

from . import models  # noqa: F401  (registers the tables on SQLModel.metadata)

IMMEDIATE = "kluis_immediate"
WRITE_MARK = "_kluis_writes"
SQLITE_BUSY_TIMEOUT_SECONDS = 30


def make_engine(url: str) -> Engine:
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True, hide_parameters=True)
    engine = create_engine(
        url,
        hide_parameters=True,
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the driver; `_on_begin` issues BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=FULL")  # a commit the client saw survives a crash
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_SECONDS * 1000}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(IMMEDIATE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def create_db(engine: Engine) -> None:
    SQLModel.metadata.create_all(engine)


@contextmanager
def open_session(engine: Engine, *, write: bool = False) -> Iterator[Session]:
    """A session whose transaction, on SQLite, takes the write lock up front if `write`."""
    with Session(engine, expire_on_commit=False) as session:
        if write:
            session.connection(execution_options={IMMEDIATE: True})
        yield session


F = TypeVar("F", bound=Callable[..., Any])


def writes(endpoint: F) -> F:
    """Mark a route whose request transaction writes: it begins with the write lock taken."""
    setattr(endpoint, WRITE_MARK, True)
    return endpoint


def get_session(request: Request) -> Iterator[Session]:
    """The request's session: one transaction, committed explicitly by the route."""
    write = bool(getattr(request.scope.get("endpoint"), WRITE_MARK, False))
    with open_session(request.app.state.engine, write=write) as session:
        yield session


def release(session: Session) -> None:
    """End the current (read) transaction before slow work in a route not marked `writes`.

    The next statement starts a new transaction; if it is a write, SQLite takes its write
    lock then, and no lock or read snapshot is held during the slow part.
    """
    session.commit()
