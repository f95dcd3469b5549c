"""Failed logins are limited per account name and per client address, in fixed windows."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from server.config import Settings

from .harness import Account, FakeClock, Kluis, TestClient, assert_problem, b64, make_client


@pytest.fixture
def strict(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name in list(os.environ):
        if name.startswith("KLUIS_"):
            monkeypatch.delenv(name)
    return Settings(
        data_dir=data_dir,
        login_account_max_failures=3,
        login_account_window_seconds=60,
        login_address_max_failures=6,
        login_address_window_seconds=120,
    )


@pytest.fixture
def client(strict: Settings, clock: FakeClock) -> Iterator[TestClient]:
    with make_client(strict, clock) as test_client:
        yield test_client


def attempt(kluis: Kluis, username: str, key: bytes | None = None) -> Any:
    return kluis.post(
        "/auth/login", json={"username": username, "auth_key": b64(key or os.urandom(32))}
    )


def test_the_account_limit_blocks_even_the_right_key(kluis: Kluis, alice: Account) -> None:
    for _ in range(3):
        assert_problem(attempt(kluis, "alice"), 401, "unauthorized")
    blocked = attempt(kluis, "alice", alice.auth_key)
    assert_problem(blocked, 429, "rate_limited")
    assert 1 <= int(blocked.headers["retry-after"]) <= 60


def test_the_account_window_expires(kluis: Kluis, alice: Account) -> None:
    for _ in range(4):
        attempt(kluis, "alice")
    assert_problem(attempt(kluis, "alice", alice.auth_key), 429, "rate_limited")
    kluis.clock.advance(60)
    assert attempt(kluis, "alice", alice.auth_key).status_code == 200


def test_retry_after_counts_down(kluis: Kluis, alice: Account) -> None:
    for _ in range(3):
        attempt(kluis, "alice")
    kluis.clock.advance(50)
    assert attempt(kluis, "alice").headers["retry-after"] == "10"


def test_unknown_names_are_limited_like_real_ones(kluis: Kluis, alice: Account) -> None:
    for _ in range(3):
        assert_problem(attempt(kluis, "nobody"), 401, "unauthorized")
    assert_problem(attempt(kluis, "nobody"), 429, "rate_limited")


def test_one_account_being_attacked_does_not_block_another(
    kluis: Kluis, alice: Account, bob: Account
) -> None:
    for _ in range(3):
        attempt(kluis, "alice")
    assert_problem(attempt(kluis, "alice"), 429, "rate_limited")
    assert attempt(kluis, "bob", bob.auth_key).status_code == 200


def test_successful_logins_do_not_count(kluis: Kluis, alice: Account) -> None:
    for _ in range(2):
        attempt(kluis, "alice")
    for _ in range(5):
        assert attempt(kluis, "alice", alice.auth_key).status_code == 200
    assert_problem(attempt(kluis, "alice"), 401, "unauthorized")
    assert_problem(attempt(kluis, "alice"), 429, "rate_limited")


def test_the_address_limit_spans_accounts(kluis: Kluis, alice: Account) -> None:
    for name in ("a1", "a2", "a3", "a4", "a5", "a6"):
        assert_problem(attempt(kluis, name), 401, "unauthorized")
    blocked = attempt(kluis, "alice", alice.auth_key)
    assert_problem(blocked, 429, "rate_limited")
    assert 1 <= int(blocked.headers["retry-after"]) <= 120


def test_the_address_limit_is_per_address(
    kluis: Kluis, alice: Account, strict: Settings, clock: FakeClock
) -> None:
    for name in ("a1", "a2", "a3", "a4", "a5", "a6"):
        attempt(kluis, name)
    assert_problem(attempt(kluis, "alice", alice.auth_key), 429, "rate_limited")
    with make_client(strict, clock, client=("192.0.2.7", 4000)) as elsewhere:
        response = elsewhere.post(
            "/api/v1/auth/login", json={"username": "alice", "auth_key": b64(alice.auth_key)}
        )
    assert response.status_code == 200


def wrong_login(client: TestClient, username: str) -> Any:
    body = {"username": username, "auth_key": b64(os.urandom(32))}
    return client.post("/api/v1/auth/login", json=body)


def test_the_address_limit_counts_an_ipv6_network_as_one_address(
    alice: Account, strict: Settings, clock: FakeClock
) -> None:
    """One household or server gets a /64: counted address by address, it would hand a
    guesser 2**64 fresh budgets."""
    for i, name in enumerate(("a1", "a2", "a3", "a4", "a5", "a6"), start=1):
        with make_client(strict, clock, client=(f"2001:db8:1:2::{i:x}", 4000)) as client:
            assert_problem(wrong_login(client, name), 401, "unauthorized")
    right = {"username": "alice", "auth_key": b64(alice.auth_key)}
    with make_client(strict, clock, client=("2001:db8:1:2:ffff::1", 4000)) as same_network:
        assert_problem(same_network.post("/api/v1/auth/login", json=right), 429, "rate_limited")
    with make_client(strict, clock, client=("2001:db8:1:3::1", 4000)) as next_network:
        assert next_network.post("/api/v1/auth/login", json=right).status_code == 200


def test_an_ipv4_address_written_as_ipv6_is_the_same_address(
    alice: Account, strict: Settings, clock: FakeClock
) -> None:
    for name in ("a1", "a2", "a3", "a4", "a5", "a6"):
        with make_client(strict, clock, client=("192.0.2.9", 4000)) as client:
            assert_problem(wrong_login(client, name), 401, "unauthorized")
    right = {"username": "alice", "auth_key": b64(alice.auth_key)}
    with make_client(strict, clock, client=("::ffff:192.0.2.9", 4000)) as mapped:
        assert_problem(mapped.post("/api/v1/auth/login", json=right), 429, "rate_limited")


def test_the_address_window_expires(kluis: Kluis, alice: Account) -> None:
    for name in ("a1", "a2", "a3", "a4", "a5", "a6"):
        attempt(kluis, name)
    kluis.clock.advance(119)
    assert_problem(attempt(kluis, "alice", alice.auth_key), 429, "rate_limited")
    kluis.clock.advance(1)
    assert attempt(kluis, "alice", alice.auth_key).status_code == 200


def test_recovery_attempts_are_limited_too(kluis: Kluis, alice: Account) -> None:
    for _ in range(3):
        response = kluis.post(
            "/auth/recovery", json={"username": "alice", "recovery_auth_key": b64(os.urandom(32))}
        )
        assert_problem(response, 401, "unauthorized")
    response = kluis.post(
        "/auth/recovery", json={"username": "alice", "recovery_auth_key": b64(alice.recovery_key)}
    )
    assert_problem(response, 429, "rate_limited")
    assert_problem(attempt(kluis, "alice", alice.auth_key), 429, "rate_limited")


def test_passphrase_reset_attempts_are_limited_too(kluis: Kluis, alice: Account) -> None:
    def reset(key: bytes) -> Any:
        return kluis.post(
            "/auth/reset-passphrase",
            json={
                "username": "alice",
                "recovery_auth_key": b64(key),
                "kdf": alice.kdf,
                "passphrase_bundle": b64(b"bundle"),
                "auth_key": b64(os.urandom(32)),
            },
        )

    for _ in range(3):
        assert_problem(reset(os.urandom(32)), 401, "unauthorized")
    assert_problem(reset(alice.recovery_key), 429, "rate_limited")


def test_the_limits_live_in_the_database(
    kluis: Kluis, alice: Account, strict: Settings, clock: FakeClock
) -> None:
    for _ in range(3):
        attempt(kluis, "alice")
    with make_client(strict, clock) as second_process:
        response = second_process.post(
            "/api/v1/auth/login", json={"username": "alice", "auth_key": b64(alice.auth_key)}
        )
    assert_problem(response, 429, "rate_limited")


def test_default_limits() -> None:
    defaults = Settings.model_fields
    assert defaults["login_account_max_failures"].default == 10
    assert defaults["login_account_window_seconds"].default == 300
    assert defaults["login_address_max_failures"].default == 100
    assert defaults["login_address_window_seconds"].default == 300
