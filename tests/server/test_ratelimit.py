"""Failed logins are limited per account name and per client address, in fixed windows, and per
account and address together with growing delays; a device that logged in before presents a
device token and is held back only by the failures made with that token (OWASP's "device
cookies"), so a stranger who knows a username cannot keep its owner out."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from server.config import Settings

from .harness import Account, FakeClock, Kluis, TestClient, assert_problem, b64, make_client


@pytest.fixture
def strict(data_dir: Path, database_url: str | None, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name in list(os.environ):
        if name.startswith("KLUIS_"):
            monkeypatch.delenv(name)
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
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


# -- device tokens and growing delays (OWASP "device cookies") ----------------------------------
STRANGER = ("198.51.100.66", 4000)


def login(
    client: TestClient, username: str, key: bytes | None = None, device_token: str | None = None
) -> Any:
    body: dict[str, Any] = {"username": username, "auth_key": b64(key or os.urandom(32))}
    if device_token is not None:
        body["device_token"] = device_token
    return client.post("/api/v1/auth/login", json=body)


def device_token_of(client: TestClient, account: Account) -> str:
    """The device token a successful login hands this device."""
    answer = login(client, account.username, account.auth_key)
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["device_token"]
    return token


def fail_until(client: TestClient, clock: FakeClock, username: str, failures: int) -> int:
    """Fail `failures` logins for `username`, waiting out every 429 as told; the waits taken."""
    waits, failed = 0, 0
    while failed < failures:
        answer = login(client, username)
        if answer.status_code == 429:
            clock.advance(int(answer.headers["retry-after"]))
            waits += 1
            continue
        assert_problem(answer, 401, "unauthorized")
        failed += 1
    return waits


def lock_out(stranger: TestClient, username: str, attempts: int = 10) -> None:
    """A stranger's wrong keys, one after the other, without waiting: the account's limit for
    logins without a device token is exceeded."""
    answers = [login(stranger, username).status_code for _ in range(attempts)]
    assert set(answers) <= {401, 429} and answers[-1] == 429, answers


def test_a_login_hands_out_a_device_token_stored_hashed(client: TestClient, alice: Account) -> None:
    token = device_token_of(client, alice)
    assert len(token) >= 43
    with client.app.state.engine.connect() as db:
        rows = db.exec_driver_sql("SELECT token_hash, user_id FROM device_tokens").all()
    assert rows and all(token not in row[0] for row in rows)
    assert {row[1] for row in rows} == {alice.user_id}


def test_the_owner_with_a_device_token_logs_in_while_a_stranger_fails_50_times(
    client: TestClient, strict: Settings, clock: FakeClock, alice: Account
) -> None:
    token = device_token_of(client, alice)
    with make_client(strict, clock, client=STRANGER) as stranger:
        waits = fail_until(stranger, clock, "alice", 50)
        assert waits  # the stranger was held back on the way
        lock_out(stranger, "alice")
        answer = login(client, "alice", alice.auth_key, token)
        assert answer.status_code == 200, answer.text
        # a device without a token (a new one) is held back with the stranger, as before
        assert_problem(login(client, "alice", alice.auth_key), 429, "rate_limited")
        # and the owner keeps getting in, with the token each login hands out next
        for _ in range(3):
            assert_problem(login(stranger, "alice"), 429, "rate_limited")
            answer = login(client, "alice", alice.auth_key, answer.json()["device_token"])
            assert answer.status_code == 200, answer.text


def test_the_owner_with_a_device_token_logs_in_from_the_strangers_address(
    strict: Settings, clock: FakeClock, alice: Account
) -> None:
    """Same household, office or carrier-grade NAT: the address limit does not hold the token
    back either."""
    with make_client(strict, clock, client=STRANGER) as shared:
        token = device_token_of(shared, alice)
        for name in ("alice", "a1", "a2", "a3", "a4", "a5", "a6", "alice"):
            login(shared, name)
        assert_problem(login(shared, "alice", alice.auth_key), 429, "rate_limited")
        assert login(shared, "alice", alice.auth_key, token).status_code == 200


@pytest.fixture
def backoff(data_dir: Path, database_url: str | None, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Fixed windows out of the way: what holds a guesser back here is the growing delay."""
    for name in list(os.environ):
        if name.startswith("KLUIS_"):
            monkeypatch.delenv(name)
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        login_account_max_failures=1000,
        login_address_max_failures=1000,
        login_backoff_free_failures=3,
        login_backoff_base_seconds=2,
        login_backoff_max_seconds=60,
        login_backoff_reset_seconds=3600,
    )


def test_a_guesser_is_slowed_with_growing_delays(
    backoff: Settings, clock: FakeClock, alice: Account
) -> None:
    with make_client(backoff, clock, client=STRANGER) as stranger:
        for _ in range(3):  # the free failures: a typo or two costs nothing
            assert_problem(login(stranger, "alice"), 401, "unauthorized")
        delays = []
        for _ in range(8):
            assert_problem(login(stranger, "alice"), 401, "unauthorized")
            held = login(stranger, "alice")
            assert_problem(held, 429, "rate_limited")
            delay = int(held.headers["retry-after"])
            clock.advance(delay - 1)
            assert_problem(login(stranger, "alice", alice.auth_key), 429, "rate_limited")
            clock.advance(1)
            delays.append(delay)
        assert delays == [2, 4, 8, 16, 32, 60, 60, 60]  # doubling from the base, up to the cap
        # the right key after the wait: let in, and the count starts again
        assert login(stranger, "alice", alice.auth_key).status_code == 200
        for _ in range(3):
            assert_problem(login(stranger, "alice"), 401, "unauthorized")


def test_the_delay_counts_one_account_at_one_address(
    backoff: Settings, clock: FakeClock, alice: Account, bob: Account
) -> None:
    with make_client(backoff, clock, client=STRANGER) as stranger:
        fail_until(stranger, clock, "alice", 6)
        assert_problem(login(stranger, "alice"), 429, "rate_limited")
        assert login(stranger, "bob", bob.auth_key).status_code == 200  # another account
    with make_client(backoff, clock, client=("203.0.113.5", 4000)) as elsewhere:
        assert login(elsewhere, "alice", alice.auth_key).status_code == 200  # another address


def test_failures_are_forgotten_after_the_reset_time(
    backoff: Settings, clock: FakeClock, alice: Account
) -> None:
    with make_client(backoff, clock, client=STRANGER) as stranger:
        fail_until(stranger, clock, "alice", 8)
        held = int(login(stranger, "alice").headers["retry-after"])
        clock.advance(3600)
        for _ in range(3):  # free failures again, not the next, longer delay
            assert_problem(login(stranger, "alice"), 401, "unauthorized")
        assert held > 2


def test_a_device_token_is_useless_for_another_account(
    client: TestClient, strict: Settings, clock: FakeClock, alice: Account, bob: Account
) -> None:
    bobs = device_token_of(client, bob)
    with make_client(strict, clock, client=STRANGER) as stranger:
        lock_out(stranger, "alice")
    assert_problem(login(client, "alice", alice.auth_key, bobs), 429, "rate_limited")
    assert login(client, "bob", bob.auth_key, bobs).status_code == 200


@pytest.mark.parametrize("forged", ["random", "its-hash", "empty", "long", "rotated", "expired"])
def test_a_forged_or_stolen_token_value_is_not_accepted(
    client: TestClient, strict: Settings, clock: FakeClock, alice: Account, forged: str
) -> None:
    token = device_token_of(client, alice)
    if forged == "rotated":  # used once already: the login handed out its successor
        assert login(client, "alice", alice.auth_key, token).status_code == 200
    elif forged == "expired":
        clock.advance(strict.device_token_ttl_seconds)
    else:
        with client.app.state.engine.connect() as db:
            stored = db.exec_driver_sql("SELECT token_hash FROM device_tokens").scalars().first()
        token = {"random": b64(os.urandom(32)), "its-hash": stored, "empty": "",
                 "long": token + "x" * 200}[forged]  # fmt: skip
    with make_client(strict, clock, client=STRANGER) as stranger:
        lock_out(stranger, "alice")
    assert_problem(login(client, "alice", alice.auth_key, token), 429, "rate_limited")


def test_a_device_token_that_is_too_long_is_refused_as_invalid(
    client: TestClient, alice: Account
) -> None:
    assert_problem(login(client, "alice", alice.auth_key, "x" * 257), 422, "validation_error")


def test_failures_with_a_device_token_hold_back_only_that_token(
    backoff: Settings, clock: FakeClock, alice: Account
) -> None:
    """A thief who copied the device's token guesses at the token's own pace; the owner's other
    devices and a login without a token are not held back by it."""
    with make_client(backoff, clock) as laptop, make_client(backoff, clock) as phone:
        stolen, phones = device_token_of(laptop, alice), device_token_of(phone, alice)
        for _ in range(3):
            assert_problem(login(laptop, "alice", None, stolen), 401, "unauthorized")
        assert_problem(login(laptop, "alice", None, stolen), 401, "unauthorized")
        held = login(laptop, "alice", alice.auth_key, stolen)
        assert_problem(held, 429, "rate_limited")
        assert int(held.headers["retry-after"]) == 2
        assert login(phone, "alice", alice.auth_key, phones).status_code == 200
        assert login(phone, "alice", alice.auth_key).status_code == 200


def test_passwd_and_recovery_with_a_device_token_are_not_held_back(
    kluis: Kluis, client: TestClient, strict: Settings, clock: FakeClock, alice: Account
) -> None:
    token = device_token_of(client, alice)
    with make_client(strict, clock, client=STRANGER) as stranger:
        lock_out(stranger, "alice")
    change = {"current_auth_key": b64(alice.auth_key), "kdf": alice.kdf,
              "passphrase_bundle": b64(b"bundle"), "auth_key": b64(alice.auth_key)}  # fmt: skip
    assert_problem(kluis.put("/me/passphrase", alice, json=change), 429, "rate_limited")
    changed = kluis.put("/me/passphrase", alice, json={**change, "device_token": token})
    assert changed.status_code == 204, changed.text
    recovery = {"username": "alice", "recovery_auth_key": b64(alice.recovery_key)}
    assert_problem(kluis.post("/auth/recovery", json=recovery), 429, "rate_limited")
    opened = kluis.post("/auth/recovery", json={**recovery, "device_token": token})
    assert opened.status_code == 200, opened.text
    reset = {**recovery, "kdf": alice.kdf, "passphrase_bundle": b64(b"bundle"),
             "auth_key": b64(alice.auth_key)}  # fmt: skip
    assert_problem(kluis.post("/auth/reset-passphrase", json=reset), 429, "rate_limited")
    answer = kluis.post("/auth/reset-passphrase", json={**reset, "device_token": token})
    assert answer.status_code == 200, answer.text
    fresh = answer.json()["device_token"]
    assert fresh != token
    # a recovery ends every device's trust but the recovering one's, as it ends every session
    assert_problem(login(client, "alice", alice.auth_key, token), 429, "rate_limited")
    assert login(client, "alice", alice.auth_key, fresh).status_code == 200
