"""The per-user storage quota: every upload counts, committed or pending, and is refused
(413 quota_exceeded) once it would go over, while streaming or when it is recorded."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from server.blobstore import StoredBlob
from server.cleanup import run_cleanup
from server.config import Settings
from server.db import open_session
from server.problems import ApiProblem
from server.routes.uploads import _record, storage_used

from .harness import FakeClock, Kluis, assert_problem, make_client

QUOTA = 10_000


@pytest.fixture
def quota_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"storage_quota_bytes": QUOTA, "max_upload_bytes": 8_000})


@pytest.fixture
def small(quota_settings: Settings, clock: FakeClock) -> Iterator[Kluis]:
    with make_client(quota_settings, clock) as client:
        yield Kluis(client, clock)


def blob_count(data_dir: Path) -> int:
    root = data_dir / "blobs"
    return sum(1 for p in root.rglob("*") if p.is_file()) if root.exists() else 0


def streamed(size: int) -> Iterator[bytes]:  # no Content-Length: the server must count
    for _ in range(size // 1000):
        yield os.urandom(1000)


def test_uploads_up_to_the_quota_are_accepted(small: Kluis) -> None:
    alice = small.register("alice")
    assert small.upload(alice, b"x" * 6_000)["size"] == 6_000
    assert small.upload(alice, b"x" * 4_000)["size"] == 4_000


def test_an_upload_over_the_quota_is_refused_while_streaming(small: Kluis, data_dir: Path) -> None:
    alice = small.register("alice")
    small.upload(alice, b"x" * 6_000)
    before = blob_count(data_dir)
    response = small.post("/uploads", alice, content=streamed(5_000))
    assert_problem(response, 413, "quota_exceeded")
    assert "10000 bytes" in response.json()["detail"]
    assert blob_count(data_dir) == before  # the partial blob is gone


def test_an_upload_declared_over_the_quota_is_refused_at_once(small: Kluis) -> None:
    alice = small.register("alice")
    small.upload(alice, b"x" * 6_000)
    response = small.post("/uploads", alice, content=b"x" * 4_001)
    assert_problem(response, 413, "quota_exceeded")


def test_a_full_quota_refuses_even_one_byte(small: Kluis) -> None:
    alice = small.register("alice")
    small.upload(alice, b"x" * 6_000)
    small.upload(alice, b"x" * 4_000)
    assert_problem(small.post("/uploads", alice, content=b"x"), 413, "quota_exceeded")


def test_one_users_quota_does_not_limit_another(small: Kluis) -> None:
    alice, bob = small.register("alice"), small.register("bob")
    small.upload(alice, b"x" * 6_000)
    small.upload(alice, b"x" * 4_000)
    assert small.upload(bob, b"x" * 6_000)["size"] == 6_000


def test_the_size_limit_is_still_its_own_error_when_the_quota_has_room(small: Kluis) -> None:
    alice = small.register("alice")
    response = small.post("/uploads", alice, content=streamed(9_000))
    assert_problem(response, 413, "payload_too_large")


def test_pending_uploads_count_until_cleanup_removes_them(
    small: Kluis, quota_settings: Settings, clock: FakeClock
) -> None:
    alice = small.register("alice")
    small.upload(alice, b"x" * 6_000)  # never committed
    assert_problem(small.post("/uploads", alice, content=b"x" * 5_000), 413, "quota_exceeded")
    clock.advance(quota_settings.upload_grace_seconds + 1)
    state = small.client.app.state  # type: ignore[attr-defined]
    run_cleanup(state.engine, state.blobs, quota_settings, clock())
    assert small.upload(alice, b"x" * 5_000)["size"] == 5_000


def test_uploads_finishing_together_cannot_overshoot_the_quota(small: Kluis) -> None:
    """Both streams started with 10,000 bytes of room; the second to be recorded is refused."""
    alice = small.register("alice")
    first = StoredBlob(key="a" * 32, size=6_000, blake3="00" * 32)
    second = StoredBlob(key="b" * 32, size=6_000, blake3="00" * 32)
    with open_session(small.client.app.state.engine) as session:  # type: ignore[attr-defined]
        _record(session, "1" * 32, alice.user_id, first, 1, QUOTA)
        with pytest.raises(ApiProblem) as refused:
            _record(session, "2" * 32, alice.user_id, second, 1, QUOTA)
        assert refused.value.code == "quota_exceeded"
        assert storage_used(session, alice.user_id) == 6_000
