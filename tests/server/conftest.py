"""In-process fixtures for the server tests: an app with a fake clock and its own data
directory, a TestClient, the `Kluis` harness and three registered, logged-in users."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from server.config import Settings

from .harness import Account, FakeClock, Kluis, TestClient, make_client
from .moto_s3 import s3_bucket, s3_service  # noqa: F401  (S3 on moto, for the S3 tests)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def settings(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name in list(os.environ):
        if name.startswith("KLUIS_"):
            monkeypatch.delenv(name)
    return Settings(data_dir=data_dir)


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
