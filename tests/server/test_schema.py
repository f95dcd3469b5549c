"""The schema's revisions: the migrations build exactly the tables of server/models.py on SQLite
and PostgreSQL; a server refuses a database that is not at the latest revision, saying what to
do; `python -m server migrate` (and `kluis server migrate`) brings it there."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
from alembic import command
from alembic import util as alembic_util
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlmodel import SQLModel

from server import schema
from server.app import create_app
from server.config import Settings
from server.db import make_engine
from server.schema import SchemaNotCurrent, alembic_config, head, prepare, upgrade

from .harness import FakeClock, Kluis, TestClient, run_server
from .postgres import PostgresDatabase


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty database (no tables)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'kluis.db'}"
    database: PostgresDatabase = request.getfixturevalue("postgres_database")
    return database.url


def run_server_command(*args: str, url: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    return run_server(*args, "--data-dir", str(data_dir), env={"KLUIS_DATABASE_URL": url})


@contextmanager
def opened(url: str) -> Iterator[Engine]:
    engine = make_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


def differences(engine: Engine) -> list[object]:
    with engine.connect() as connection:
        return list(compare_metadata(MigrationContext.configure(connection), SQLModel.metadata))


def revision_of(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def test_the_migrations_build_exactly_the_models_tables(empty_url: str) -> None:
    with opened(empty_url) as engine:
        assert upgrade(engine) == (None, head())
        assert differences(engine) == []
        assert upgrade(engine) == (head(), head())  # twice is a no-op


def test_every_revision_can_be_undone_and_redone(empty_url: str) -> None:
    with opened(empty_url) as engine:
        upgrade(engine)
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), "base")
        with engine.connect() as connection:
            assert inspect(connection).get_table_names() == ["alembic_version"]
        upgrade(engine)
        assert differences(engine) == []


def test_an_empty_sqlite_database_is_created_at_the_latest_revision(
    tmp_path: Path, clock: FakeClock
) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    with TestClient(create_app(settings, clock=clock)) as client:
        Kluis(client, clock).register("anna")
    with opened(settings.db_url) as engine:
        assert revision_of(engine) == head()


def test_an_empty_postgresql_database_is_refused_until_migrated(
    postgres_database: PostgresDatabase, tmp_path: Path, clock: FakeClock
) -> None:
    settings = Settings(data_dir=tmp_path / "data", database_url=postgres_database.url)
    with pytest.raises(SchemaNotCurrent, match=r"is empty.*python -m server migrate"):
        create_app(settings, clock=clock)
    with postgres_database.connect() as conn:  # nothing was created behind the operator's back
        tables = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        assert tables.fetchall() == []

    started = run_server_command("--port", "0", url=postgres_database.url, data_dir=tmp_path)
    assert started.returncode == 2
    assert "python -m server migrate" in started.stderr
    assert "Traceback" not in started.stderr

    migrated = run_server_command("migrate", url=postgres_database.url, data_dir=tmp_path)
    assert migrated.returncode == 0, migrated.stderr
    assert f"to {head()}" in migrated.stdout
    with TestClient(create_app(settings, clock=clock)) as client:
        Kluis(client, clock).register("anna")

    again = run_server_command("migrate", url=postgres_database.url, data_dir=tmp_path)
    assert f"at the latest revision, {head()}" in again.stdout


def test_a_database_from_before_migrations_is_recognised_by_migrate(empty_url: str) -> None:
    with opened(empty_url) as engine:
        upgrade(engine, schema.FIRST_REVISION)  # the tables Kluis made before migrations ...
        with engine.begin() as connection:
            connection.execute(text("DROP TABLE alembic_version"))  # ... without their history
        with pytest.raises(SchemaNotCurrent, match="no migration history"):
            prepare(engine)
        assert upgrade(engine) == (None, head())
        assert revision_of(engine) == head()
        assert differences(engine) == []


def test_a_revision_this_server_does_not_know_is_refused(empty_url: str) -> None:
    with opened(empty_url) as engine:
        upgrade(engine)
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = 'ffff'"))
        with pytest.raises(SchemaNotCurrent, match=r"ffff.*does not know"):
            prepare(engine)


LATER_REVISION = """
from alembic import op
import sqlalchemy as sa

revision = "0099"
down_revision = "{down}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("later", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("later")
"""


def test_an_older_revision_is_refused_until_migrated(
    empty_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with opened(empty_url) as engine:
        upgrade(engine)
        newer = tmp_path / "migrations"
        shutil.copytree(schema.MIGRATIONS, newer)
        (newer / "versions" / "0099_later.py").write_text(LATER_REVISION.format(down=head()))
        monkeypatch.setattr(schema, "MIGRATIONS", newer)  # the code of a later release
        assert head() == "0099"
        current = revision_of(engine)
        with pytest.raises(
            SchemaNotCurrent, match=rf"is at revision {current}.*needs revision 0099"
        ):
            prepare(engine)
        assert upgrade(engine) == (current, "0099")
        prepare(engine)
        with engine.connect() as connection:
            columns = {c["name"] for c in inspect(connection).get_columns("users")}
        assert "later" in columns


def test_the_cli_forwards_migrate_to_the_server(postgres_database: PostgresDatabase) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KLUIS_")}
    env["KLUIS_DATABASE_URL"] = postgres_database.url
    kluis = Path(sys.executable).with_name("kluis")
    result = subprocess.run(
        [str(kluis), "server", "migrate"], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert head() in result.stdout
    with opened(postgres_database.url) as engine:
        assert revision_of(engine) == head()


def test_migrations_run_at_once_by_several_processes_apply_once(
    empty_url: str, tmp_path: Path
) -> None:
    with ThreadPoolExecutor(3) as pool:
        results = list(
            pool.map(
                lambda n: run_server_command("migrate", url=empty_url, data_dir=tmp_path / str(n)),
                range(3),
            )
        )
    assert [r.returncode for r in results] == [0, 0, 0], [r.stderr for r in results]
    assert sum("from an empty schema" in r.stdout for r in results) == 1
    with opened(empty_url) as engine:
        assert revision_of(engine) == head()
        assert differences(engine) == []


def revision_files_read(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every Python file Alembic reads (its env.py and the revisions), counted as it reads."""
    read: list[str] = []
    real = alembic_util.load_python_file

    def counted(directory: str, filename: str) -> object:
        read.append(filename)
        return real(directory, filename)

    monkeypatch.setattr(alembic_util, "load_python_file", counted)
    return read


def test_a_database_at_the_latest_revision_is_checked_without_reading_the_revisions(
    empty_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Issue 21: `prepare` asked for the head by reading every revision file again, each time
    # an app was made (every in-process server test, every start). They are read once now.
    with opened(empty_url) as engine:
        upgrade(engine)
        head()  # read once in this process, as a server does when it starts
        read = revision_files_read(monkeypatch)
        for _ in range(3):
            prepare(engine)
        assert read == []


def test_a_later_release_s_revisions_are_read_from_its_own_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read once per folder: the cache never answers for another set of revisions."""
    before = head()
    newer = tmp_path / "migrations"
    shutil.copytree(schema.MIGRATIONS, newer)
    (newer / "versions" / "0099_later.py").write_text(LATER_REVISION.format(down=before))
    monkeypatch.setattr(schema, "MIGRATIONS", newer)
    assert head() == "0099"
    monkeypatch.undo()
    assert head() == before
