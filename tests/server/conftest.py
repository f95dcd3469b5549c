"""In-process fixtures for the server tests: an app with a fake clock and its own data
directory, a TestClient, the `Kluis` harness and three registered, logged-in users.

Every test that uses the `settings` fixture (so the app, the client, the users) runs twice:
on SQLite and on PostgreSQL (`database` is "sqlite" or "postgresql"). A module that is about
one database only says so with `DATABASES = ("sqlite",)`. On PostgreSQL each xdist worker has
a database of its own, migrated once and emptied after every test, and dropped at the end.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from server.config import Settings
from server.db import make_engine
from server.schema import upgrade

from .harness import Account, FakeClock, Kluis, TestClient, make_client
from .moto_s3 import s3_bucket, s3_service  # noqa: F401  (S3 on moto, for the S3 tests)
from .postgres import PostgresDatabase

DATABASES = ("sqlite", "postgresql")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "database" in metafunc.fixturenames:
        chosen = getattr(metafunc.module, "DATABASES", DATABASES)
        metafunc.parametrize("database", chosen, indirect=True)


@pytest.fixture(scope="session")
def postgres_worker_database() -> Iterator[PostgresDatabase]:
    """This worker's PostgreSQL database, at the latest schema revision."""
    database = PostgresDatabase.create()
    engine = make_engine(database.url, pool_size=1)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    yield database
    database.drop()


@pytest.fixture
def postgres_database() -> Iterator[PostgresDatabase]:
    """A fresh, empty PostgreSQL database of this test's own (no schema), dropped after it."""
    database = PostgresDatabase.create()
    yield database
    database.drop()


@pytest.fixture
def server_env(postgres_database: PostgresDatabase, tmp_path: Path) -> dict[str, str]:
    """Settings for server processes that share one migrated PostgreSQL database, one blob
    directory, one server secret and one log's keys, as replicas behind a load balancer do."""
    engine = make_engine(postgres_database.url, pool_size=1)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    return {
        "KLUIS_DATABASE_URL": postgres_database.url,
        "KLUIS_BLOB_DIR": str(tmp_path / "shared-blobs"),
        "KLUIS_SERVER_SECRET": secrets.token_hex(32),
        # One log on every replica (deployment.md): a log key or VRF key of each replica's own
        # would be two logs, and a client pinned to one refuses the other's proofs.
        "KLUIS_LOG_KEY": secrets.token_hex(32),
        "KLUIS_VRF_KEY": secrets.token_hex(32),
        "KLUIS_OPERATOR_KEY": secrets.token_hex(32),
    }


@pytest.fixture
def database(request: pytest.FixtureRequest) -> Iterator[str]:
    """The database the test's server uses: "sqlite" or "postgresql" (the parameter)."""
    if request.param == "postgresql":
        worker_database: PostgresDatabase = request.getfixturevalue("postgres_worker_database")
        yield request.param
        worker_database.empty()
    else:
        yield request.param


@pytest.fixture
def database_url(request: pytest.FixtureRequest, database: str) -> str | None:
    """The KLUIS_DATABASE_URL for `database` (None: the SQLite file in the data directory)."""
    if database == "sqlite":
        return None
    worker_database: PostgresDatabase = request.getfixturevalue("postgres_worker_database")
    return worker_database.url


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def settings(data_dir: Path, database_url: str | None, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name in list(os.environ):
        if name.startswith("KLUIS_"):
            monkeypatch.delenv(name)
    return Settings(data_dir=data_dir, database_url=database_url)


@pytest.fixture
def client(settings: Settings, clock: FakeClock) -> Iterator[TestClient]:
    with make_client(settings, clock) as test_client:
        yield test_client


@pytest.fixture
def kluis(client: TestClient, clock: FakeClock) -> Kluis:
    return Kluis(client, clock)


@pytest.fixture
def alice(kluis: Kluis) -> Account:
    return kluis.register("alice")


@pytest.fixture
def bob(kluis: Kluis) -> Account:
    return kluis.register("bob")


@pytest.fixture
def mallory(kluis: Kluis) -> Account:
    return kluis.register("mallory")
