"""The database engine and the per-request session, on SQLite or PostgreSQL.

SQLite is the default: WAL journal, foreign keys on, a busy timeout, and one connection per
thread in use. A route that writes is marked `@writes`; its whole write transaction runs inside
the one worker-thread call of the route function, begun with `BEGIN IMMEDIATE` (SQLite's write
lock taken before the first read, so a read snapshot is never upgraded and fails with
"database is locked") and, in this process, behind one lock for all writers, so they queue in
order instead of polling on the busy timeout. The write lock is never held across two
thread-pool calls: with 50 clients, requests holding it while waiting for a free worker thread
(taken by requests waiting for the lock) once stalled everything until the busy timeout.

On PostgreSQL (`postgresql+psycopg://`, psycopg 3) transactions are READ COMMITTED; writes
that must not interleave rely on row locks and constraints: the access log locks its dossier
row (`SELECT ... FOR NO KEY UPDATE`, which does not conflict with the key-share locks that
inserts referencing the dossier take, so it cannot deadlock with them), counters are changed
by single conditional UPDATE statements, and a unique key decides any other race (409).

Authorisation is decided by dependencies in a read step, before the write transaction begins,
so a revoke can commit in between. `writes` therefore has every such decision it hands a route
(an `Authorisation`, e.g. a dossier access) confirmed inside the write transaction first, before
the route runs: there it is atomic with the write (see `server.deps.DossierAccess.confirmed`).
"""

from __future__ import annotations

import functools
import inspect
import threading
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any, TypeVar

from fastapi import Request
from sqlalchemy import Engine, event
from sqlalchemy.engine import Connection
from sqlmodel import Session, create_engine

from . import business_models, models, notification_models, tlog_models  # noqa: F401  (tables)

IMMEDIATE = "kluis_immediate"
SQLITE_BUSY_TIMEOUT_SECONDS = 30
# A request holds a connection only while one of its steps runs in a worker thread (anyio's
# default of 40), so 40 connections and a few for the background cleanup and readiness checks
# are all a process ever needs; a pool that could run out first would make a thread wait for a
# connection that a request waiting for a thread holds.
MAX_CONNECTIONS = 48
# SQLite allows one writer at a time; in-process writers wait here, in arrival order.
_sqlite_writer = threading.Lock()


def make_engine(url: str, pool_size: int = 10) -> Engine:
    pool_size = min(pool_size, MAX_CONNECTIONS)
    pool = {"pool_size": pool_size, "max_overflow": MAX_CONNECTIONS - pool_size}
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True, hide_parameters=True, **pool)
    engine = create_engine(
        url,
        hide_parameters=True,
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
        **pool,
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


@contextmanager
def write_transaction(session: Session) -> Iterator[None]:
    """Run a write transaction: any open (read) transaction is ended first; on SQLite the new
    one waits its turn in this process and then takes the write lock up front. Whatever is not
    committed when the block ends is rolled back."""
    session.commit()
    sqlite = session.get_bind().dialect.name == "sqlite"
    with _sqlite_writer if sqlite else nullcontext():
        session.connection(execution_options={IMMEDIATE: True})
        try:
            yield
        finally:
            if session.in_transaction():
                session.rollback()


@contextmanager
def open_session(engine: Engine, *, write: bool = False) -> Iterator[Session]:
    """A session; with `write`, inside one write transaction (see `write_transaction`)."""
    with Session(engine, expire_on_commit=False) as session:
        if not write:
            yield session
            return
        with write_transaction(session):
            yield session


class Authorisation(ABC):
    """What a dependency decided the caller may do, in its read step, before the request's
    write transaction began (and so before a revoke that commits in between)."""

    @abstractmethod
    def confirmed(self, session: Session) -> Authorisation:
        """The decision as it stands now, read in the write transaction `session` is in and
        atomic with it; raises the problem the dependency would now raise instead."""


F = TypeVar("F", bound=Callable[..., Any])


def writes(endpoint: F) -> F:
    """Mark a (sync) route whose request writes: the route function runs in one write
    transaction on the request's session (its `session` parameter). The dependencies before it
    (caller, access) read in a transaction of their own, ended before the write one begins; so
    each `Authorisation` among the route's arguments is confirmed in the write transaction
    first, and the route gets the confirmed one."""
    if inspect.iscoroutinefunction(endpoint):
        raise TypeError(f"{endpoint.__name__}: @writes is for sync routes (one thread call)")
    if "session" not in inspect.signature(endpoint).parameters:
        raise TypeError(f"{endpoint.__name__} needs a `session` parameter to be @writes")

    @functools.wraps(endpoint)
    def run(*args: Any, **kwargs: Any) -> Any:
        session: Session = kwargs["session"]
        with write_transaction(session):
            for name, value in list(kwargs.items()):
                if isinstance(value, Authorisation):
                    kwargs[name] = value.confirmed(session)
            return endpoint(*args, **kwargs)

    return run  # type: ignore[return-value]


async def get_session(request: Request) -> AsyncIterator[Session]:
    """The request's session, committed explicitly by the route.

    Closed in the event loop as soon as the route function returns (giving back a connection a
    read-only route still holds), not in a worker thread: a request never waits for a thread
    while it holds a connection. The dependencies that read (server.deps) end their
    transaction the same way before they return."""
    session = Session(request.app.state.engine, expire_on_commit=False)
    try:
        yield session
    finally:
        session.close()


def release(session: Session) -> None:
    """End the current (read) transaction before slow work in a route not marked `writes`.

    The next statement starts a new transaction; if it is a write, SQLite takes its write
    lock then, and no lock or read snapshot is held during the slow part.
    """
    session.commit()


@contextmanager
def read_step(session: Session) -> Iterator[None]:
    """Reads that end before the request goes on (the caller and access checks), with no
    transaction left open afterwards.

    On PostgreSQL they run in autocommit: at READ COMMITTED every statement reads its own
    snapshot, in a transaction or not, so BEGIN and COMMIT would only add two round trips.
    On SQLite they share one read transaction as usual."""
    if session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    try:
        yield
    finally:
        release(session)
