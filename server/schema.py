"""The database schema's version: Alembic migrations (server/migrations/), applied by
`python -m server migrate`, and the check that stops a server from starting on a database
whose schema is not the one its code expects.

- A database at the latest revision ("head") is served.
- An empty SQLite database (a first start with the single-machine default) is brought to head
  at start. PostgreSQL is never changed behind the operator's back: an empty or older
  PostgreSQL database stops the server with a message saying to run `migrate`.
- A database created by Kluis before it had migrations (the tables of the first revision, no
  `alembic_version`) is recognised by `migrate`, recorded as the first revision, and upgraded.

`migrate` runs in one transaction that first takes a lock (PostgreSQL: an advisory lock;
SQLite: the write lock), so processes that all run it at once (replicas starting from the
Docker image, or two servers on one new SQLite file) apply each revision once, in turn.
"""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text

from .config import ConfigurationError
from .db import IMMEDIATE, make_engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
FIRST_REVISION = "0001"
FIRST_TABLE = "users"  # a table of the first revision: its presence means "created before"
MIGRATE_LOCK = 0x6B6C7569  # pg_advisory_xact_lock key ("klui")
MIGRATE_HINT = "run `python -m server migrate` (or `kluis server migrate`) with the same settings"


class SchemaNotCurrent(ConfigurationError):
    """The database's schema is not the latest revision; the message says what to do."""


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    config.attributes["connection"] = connection
    return config


def _scripts() -> ScriptDirectory:
    return _scripts_at(MIGRATIONS)


@functools.lru_cache(maxsize=4)
def _scripts_at(location: Path) -> ScriptDirectory:
    """The revisions in `location`, read once per process: reading them compiles and runs
    every revision file, and `prepare` asks for the head each time an app is made (every
    in-process server test; issue 21). The files do not change under a running server."""
    config = alembic_config()
    config.set_main_option("script_location", str(location))
    return ScriptDirectory.from_config(config)


def head() -> str:
    """The latest revision the code knows."""
    revision = _scripts().get_current_head()
    assert revision is not None
    return revision


def known() -> set[str]:
    """Every revision the code knows."""
    return {script.revision for script in _scripts().walk_revisions()}


def current(connection: Connection) -> str | None:
    """The revision the database is at (None: never migrated)."""
    return MigrationContext.configure(connection).get_current_revision()


def _is_empty(connection: Connection) -> bool:
    return not inspect(connection).get_table_names()


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str]:
    """Apply the migrations up to `revision`; return (revision before, revision after)."""
    with engine.connect() as connection:
        connection.execution_options(**{IMMEDIATE: True})  # SQLite: the write lock up front
        with connection.begin():
            if connection.dialect.name == "postgresql":
                lock = text("SELECT pg_advisory_xact_lock(:key)")
                connection.execute(lock, {"key": MIGRATE_LOCK})
            before = current(connection)
            config = alembic_config(connection)
            if before is None and inspect(connection).has_table(FIRST_TABLE):
                command.stamp(config, FIRST_REVISION)  # created by Kluis before migrations
            command.upgrade(config, revision)
            return before, current(connection) or ""


def prepare(engine: Engine) -> None:
    """Make sure the schema is the latest: create an empty SQLite database, refuse otherwise."""
    with engine.connect() as connection:
        at = current(connection)
        empty = at is None and _is_empty(connection)
        dialect = connection.dialect.name
        connection.rollback()
    if at == head():
        return
    if empty and dialect == "sqlite":
        upgrade(engine)
        return
    url = engine.url.render_as_string(hide_password=True)
    if at is not None and at not in known():
        raise SchemaNotCurrent(
            f"the database {url} is at revision {at}, which this version of the server does "
            f"not know (it needs {head()}): a newer version migrated it; run that version"
        )
    if empty:
        found = "is empty"
    elif at is None:
        found = "has tables but no migration history (created before migrations)"
    else:
        found = f"is at revision {at}"
    raise SchemaNotCurrent(
        f"the database {url} {found}; this server needs revision {head()}: {MIGRATE_HINT}"
    )


def new_revision(message: str) -> Path:
    """Write the next revision (`0002_<message>.py`, ...): the difference between the tables in
    server/models.py and the schema at head, found by Alembic on a scratch SQLite database.
    The file is a draft to read and complete (data migrations, PostgreSQL specifics)."""
    with tempfile.TemporaryDirectory() as scratch:
        engine = make_engine(f"sqlite:///{scratch}/scratch.db")
        try:
            upgrade(engine)
            with engine.begin() as connection:
                script = command.revision(
                    alembic_config(connection),
                    message=message,
                    autogenerate=True,
                    rev_id=f"{int(head()) + 1:04d}",
                )
        finally:
            engine.dispose()
    assert script is not None and not isinstance(script, list)
    _scripts_at.cache_clear()  # a revision was added
    return Path(script.path)
