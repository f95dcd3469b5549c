"""Accounts: registration, prelogin, login, sessions, logout, recovery and passphrase changes."""

from __future__ import annotations

import base64
import os
from typing import Any

import pytest
from pydantic import SecretStr

from server.config import Settings

from .harness import (
    Account,
    FakeClock,
    Kluis,
    assert_problem,
    b64,
    kdf_params,
    make_client,
    new_id,
    registration,
)
from .test_organisations import org

USER_FIELDS = {"user_id", "username", "display_name", "identity"}
KDF_FIELDS = {"algorithm", "memory_kib", "iterations", "parallelism", "salt"}


def prelogin(kluis: Kluis, username: str) -> Any:
    return kluis.post("/auth/prelogin", json={"username": username})


def login(kluis: Kluis, username: str, key: bytes) -> Any:
    return kluis.post("/auth/login", json={"username": username, "auth_key": b64(key)})


# -- registration ------------------------------------------------------------------------------
def test_register_returns_the_public_user(kluis: Kluis) -> None:
    body = registration("alice")
    response = kluis.post("/users", json=body)
    assert response.status_code == 201
    user = response.json()
    assert set(user) == USER_FIELDS
    assert user["user_id"] == body["user_id"]
    assert user["identity"] == body["identity"]


def test_register_twice_with_the_same_name_conflicts(kluis: Kluis, alice: Account) -> None:
    assert_problem(kluis.post("/users", json=registration("alice")), 409, "conflict")


def test_register_twice_with_the_same_id_conflicts(kluis: Kluis, alice: Account) -> None:
    body = registration("alice2", user_id=alice.user_id)
    assert_problem(kluis.post("/users", json=body), 409, "conflict")


def test_register_with_an_organisations_id_conflicts_like_a_taken_user_id(
    kluis: Kluis, alice: Account, bob: Account
) -> None:
    # Organisation ids are public in the directory; a user with one would be addressed by
    # every grant to the organisation.
    org(kluis, alice)
    [listed] = kluis.get("/organisations", bob).json()
    org_id = listed["org_id"]
    taken_user = assert_problem(
        kluis.post("/users", json=registration("squatter", user_id=bob.user_id)), 409, "conflict"
    )
    body = registration("squatter", user_id=org_id)
    taken_org = assert_problem(kluis.post("/users", json=body), 409, "conflict")
    assert taken_org["detail"] == taken_user["detail"]
    assert_problem(login(kluis, "squatter", base64.b64decode(body["auth_key"])), 401,
                   "unauthorized")  # fmt: skip
    assert_problem(kluis.get(f"/users/by-id/{org_id}", bob), 404, "not_found")


@pytest.mark.parametrize(
    "override",
    [
        {"username": "Alice"},
        {"username": ".alice"},
        {"username": "a" * 65},
        {"username": "al ice"},
        {"username": ""},
        {"user_id": "A" * 32},
        {"user_id": "a" * 31},
        {"user_id": "g" * 32},
        {"identity": "not base64!"},
        {"identity": "AAA"},  # missing padding
        {"identity": b64(b"x" * 1025)},
        {"identity": ""},
        {"passphrase_bundle": b64(b"x" * 1025)},
        {"auth_key": b64(b"x" * 31)},
        {"auth_key": b64(b"x" * 33)},
        {"recovery_auth_key": 12345},
        {"kdf": {**kdf_params(), "algorithm": "scrypt"}},
        {"kdf": {**kdf_params(), "salt": b64(b"s" * 15)}},
        {"kdf": {**kdf_params(), "memory_kib": "65536"}},
        {"kdf": {**kdf_params(), "iterations": True}},
        {"kdf": {**kdf_params(), "parallelism": 0}},
        {"display_name": "evil\x00name"},
        {"display_name": "x" * 257},
    ],
)
def test_register_rejects_malformed_fields(kluis: Kluis, override: dict[str, Any]) -> None:
    assert_problem(
        kluis.post("/users", json=registration("alice", **override)), 422, "validation_error"
    )


def test_validation_errors_do_not_echo_the_keys(kluis: Kluis) -> None:
    secret_ish = b64(b"k" * 31)
    response = kluis.post("/users", json=registration("alice", auth_key=secret_ish))
    body = assert_problem(response, 422, "validation_error")
    assert secret_ish not in response.text
    assert "auth_key" in body["detail"]


# -- prelogin ----------------------------------------------------------------------------------
def test_prelogin_shows_the_stored_kdf_parameters(kluis: Kluis, alice: Account) -> None:
    response = prelogin(kluis, "alice")
    assert response.status_code == 200
    assert response.json() == {"kdf": alice.kdf}


def test_prelogin_of_an_unknown_name_looks_like_a_real_account(
    kluis: Kluis, alice: Account
) -> None:
    known = prelogin(kluis, "alice")
    unknown = prelogin(kluis, "nobody")
    assert unknown.status_code == known.status_code == 200
    assert set(unknown.json()) == {"kdf"}
    fake = unknown.json()["kdf"]
    assert set(fake) == KDF_FIELDS
    assert fake["algorithm"] == "argon2id"
    assert (fake["memory_kib"], fake["iterations"], fake["parallelism"]) == (65536, 3, 1)
    assert len(base64.b64decode(fake["salt"], validate=True)) == 16
    assert fake["salt"] != known.json()["kdf"]["salt"]


def test_fake_salt_is_stable_per_name_and_differs_between_names(kluis: Kluis) -> None:
    first = prelogin(kluis, "nobody").json()["kdf"]["salt"]
    again = prelogin(kluis, "nobody").json()["kdf"]["salt"]
    other = prelogin(kluis, "somebody").json()["kdf"]["salt"]
    assert first == again
    assert first != other


def test_fake_salt_depends_on_the_server_secret(
    tmp_path: Any, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    salts = []
    for secret in ("a-first-long-random-secret-0123456789", "another-long-random-secret-9876543"):
        settings = Settings(data_dir=tmp_path / secret[:5], server_secret=SecretStr(secret))
        with make_client(settings, clock) as client:
            answer = client.post("/api/v1/auth/prelogin", json={"username": "nobody"})
            salts.append(answer.json()["kdf"]["salt"])
    assert salts[0] != salts[1]


def test_prelogin_rejects_an_invalid_name(kluis: Kluis) -> None:
    assert_problem(prelogin(kluis, "Not A Name"), 422, "validation_error")


# -- login and sessions ------------------------------------------------------------------------
def test_login_answers_token_expiry_user_and_bundle(kluis: Kluis, settings: Settings) -> None:
    body = registration("alice")
    kluis.post("/users", json=body)
    response = login(kluis, "alice", base64.b64decode(body["auth_key"]))
    assert response.status_code == 200
    answer = response.json()
    assert set(answer) == {"token", "expires_at", "user", "passphrase_bundle", "device_token"}
    assert len(base64.urlsafe_b64decode(answer["token"] + "=")) == 32
    assert answer["expires_at"] == kluis.clock.now + settings.session_ttl_seconds
    assert answer["passphrase_bundle"] == body["passphrase_bundle"]
    assert answer["user"]["user_id"] == body["user_id"]
    me = kluis.client.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {answer['token']}"}
    ).json()
    assert me == answer["user"]


def test_login_with_a_wrong_key_and_an_unknown_name_look_the_same(
    kluis: Kluis, alice: Account
) -> None:
    wrong = login(kluis, "alice", os.urandom(32))
    unknown = login(kluis, "nobody", os.urandom(32))
    assert_problem(wrong, 401, "unauthorized")
    assert_problem(unknown, 401, "unauthorized")
    assert wrong.json() == unknown.json()


def test_the_recovery_key_is_not_a_login_key(kluis: Kluis, alice: Account) -> None:
    assert_problem(login(kluis, "alice", alice.recovery_key), 401, "unauthorized")


@pytest.mark.parametrize(
    "header",
    [None, "", "Bearer", "Bearer ", "Basic abc", "Bearer not-a-session", "Bearer " + "x" * 300],
)
def test_requests_without_a_valid_token_are_unauthorized(
    kluis: Kluis, alice: Account, header: str | None
) -> None:
    headers = {} if header is None else {"Authorization": header}
    response = kluis.client.get("/api/v1/me", headers=headers)
    assert_problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"


def test_a_token_expires(kluis: Kluis, alice: Account, settings: Settings) -> None:
    kluis.clock.advance(settings.session_ttl_seconds - 1)
    assert kluis.get("/me", alice).status_code == 200
    kluis.clock.advance(1)
    assert_problem(kluis.get("/me", alice), 401, "unauthorized")


def test_logout_revokes_only_that_token(kluis: Kluis, alice: Account) -> None:
    first = alice.token
    kluis.login(alice)
    second = alice.token
    response = kluis.client.post(
        "/api/v1/auth/logout", headers={"Authorization": f"Bearer {first}"}
    )
    assert response.status_code == 204
    assert_problem(
        kluis.client.get("/api/v1/me", headers={"Authorization": f"Bearer {first}"}),
        401,
        "unauthorized",
    )
    assert (
        kluis.client.get("/api/v1/me", headers={"Authorization": f"Bearer {second}"}).status_code
        == 200
    )


def test_logout_needs_a_session(kluis: Kluis) -> None:
    assert_problem(kluis.post("/auth/logout"), 401, "unauthorized")


# -- users -------------------------------------------------------------------------------------
def test_looking_users_up_needs_a_session(kluis: Kluis, alice: Account) -> None:
    assert_problem(kluis.get("/users/alice"), 401, "unauthorized")
    assert_problem(kluis.get(f"/users/by-id/{alice.user_id}"), 401, "unauthorized")


def test_looking_users_up(kluis: Kluis, alice: Account, bob: Account) -> None:
    by_name = kluis.get("/users/alice", bob).json()
    by_id = kluis.get(f"/users/by-id/{alice.user_id}", bob).json()
    assert by_name == by_id
    assert set(by_name) == USER_FIELDS | {"log", "head"}  # with its place in the log
    assert by_name["user_id"] == alice.user_id


def test_looking_up_unknown_users_is_404(kluis: Kluis, bob: Account) -> None:
    assert_problem(kluis.get("/users/nobody", bob), 404, "not_found")
    assert_problem(kluis.get(f"/users/by-id/{new_id()}", bob), 404, "not_found")
    assert_problem(kluis.get("/users/by-id/NOT-AN-ID", bob), 404, "not_found")


# -- recovery and passphrase changes -----------------------------------------------------------
def test_recovery_answers_the_recovery_bundle(kluis: Kluis) -> None:
    body = registration("alice")
    kluis.post("/users", json=body)
    response = kluis.post(
        "/auth/recovery",
        json={"username": "alice", "recovery_auth_key": body["recovery_auth_key"]},
    )
    assert response.status_code == 200
    assert response.json()["recovery_bundle"] == body["recovery_bundle"]
    assert response.json()["user"]["user_id"] == body["user_id"]


@pytest.mark.parametrize("username", ["alice", "nobody"])
def test_recovery_with_a_wrong_key_or_name_is_unauthorized(
    kluis: Kluis, alice: Account, username: str
) -> None:
    for key in (os.urandom(32), alice.auth_key):
        response = kluis.post(
            "/auth/recovery", json={"username": username, "recovery_auth_key": b64(key)}
        )
        assert_problem(response, 401, "unauthorized")


def reset_body(account: Account, recovery_key: bytes, new_key: bytes) -> dict[str, Any]:
    return {
        "username": account.username,
        "recovery_auth_key": b64(recovery_key),
        "kdf": kdf_params(),
        "passphrase_bundle": b64(b"new passphrase bundle"),
        "auth_key": b64(new_key),
    }


def test_reset_passphrase_replaces_the_key_and_revokes_sessions(
    kluis: Kluis, alice: Account
) -> None:
    old_token = alice.token
    new_key = os.urandom(32)
    body = reset_body(alice, alice.recovery_key, new_key)
    response = kluis.post("/auth/reset-passphrase", json=body)
    assert response.status_code == 200
    answer = response.json()
    assert set(answer) == {"token", "expires_at", "user", "passphrase_bundle", "device_token"}
    assert answer["passphrase_bundle"] == body["passphrase_bundle"]

    assert_problem(
        kluis.client.get("/api/v1/me", headers={"Authorization": f"Bearer {old_token}"}),
        401,
        "unauthorized",
    )
    fresh = {"Authorization": f"Bearer {answer['token']}"}
    assert kluis.client.get("/api/v1/me", headers=fresh).status_code == 200
    assert_problem(login(kluis, "alice", alice.auth_key), 401, "unauthorized")
    assert login(kluis, "alice", new_key).status_code == 200
    assert prelogin(kluis, "alice").json()["kdf"] == body["kdf"]
    recovery = kluis.post(
        "/auth/recovery",
        json={"username": "alice", "recovery_auth_key": b64(alice.recovery_key)},
    )
    assert recovery.status_code == 200  # the recovery bundle and key are unchanged


def test_reset_passphrase_with_a_wrong_recovery_key_changes_nothing(
    kluis: Kluis, alice: Account
) -> None:
    before = prelogin(kluis, "alice").json()
    response = kluis.post(
        "/auth/reset-passphrase", json=reset_body(alice, os.urandom(32), os.urandom(32))
    )
    assert_problem(response, 401, "unauthorized")
    assert prelogin(kluis, "alice").json() == before
    assert kluis.get("/me", alice).status_code == 200
    assert login(kluis, "alice", alice.auth_key).status_code == 200


def passphrase_change(current_key: bytes, new_key: bytes, bundle: bytes = b"changed") -> Any:
    return {
        "current_auth_key": b64(current_key),
        "kdf": kdf_params(),
        "passphrase_bundle": b64(bundle),
        "auth_key": b64(new_key),
    }


def me_with(kluis: Kluis, token: str) -> Any:
    return kluis.client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})


def test_change_passphrase_replaces_key_kdf_and_bundle(kluis: Kluis, alice: Account) -> None:
    new_key = os.urandom(32)
    body = passphrase_change(alice.auth_key, new_key)
    assert kluis.put("/me/passphrase", alice, json=body).status_code == 204
    assert prelogin(kluis, "alice").json()["kdf"] == body["kdf"]
    assert_problem(login(kluis, "alice", alice.auth_key), 401, "unauthorized")
    answer = login(kluis, "alice", new_key).json()
    assert answer["passphrase_bundle"] == body["passphrase_bundle"]
    assert kluis.get("/me", alice).status_code == 200  # the session that changed it lives on


def test_change_passphrase_needs_a_session_and_valid_fields(kluis: Kluis, alice: Account) -> None:
    body = passphrase_change(alice.auth_key, os.urandom(32))
    assert_problem(kluis.put("/me/passphrase", json=body), 401, "unauthorized")
    body["auth_key"] = b64(b"short")
    assert_problem(kluis.put("/me/passphrase", alice, json=body), 422, "validation_error")
    body = passphrase_change(alice.auth_key, os.urandom(32))
    body["current_auth_key"] = b64(b"short")
    assert_problem(kluis.put("/me/passphrase", alice, json=body), 422, "validation_error")
    del body["current_auth_key"]  # the proof of the current passphrase is not optional
    assert_problem(kluis.put("/me/passphrase", alice, json=body), 422, "validation_error")
    assert login(kluis, "alice", alice.auth_key).status_code == 200


def test_change_passphrase_with_a_wrong_current_key_changes_nothing(
    kluis: Kluis, alice: Account, bob: Account
) -> None:
    """A session alone (a stolen token) cannot replace the login key: the current key is
    proven, and a wrong one is answered exactly as a wrong login key is."""
    other_device = login(kluis, "alice", alice.auth_key).json()["token"]
    caller = Account(alice.user_id, "alice", b"", b"", token=other_device)  # the thief's copy
    before = prelogin(kluis, "alice").json()
    wrong_login = assert_problem(login(kluis, "alice", os.urandom(32)), 401, "unauthorized")
    for wrong in (os.urandom(32), bob.auth_key, alice.recovery_key):
        response = kluis.put("/me/passphrase", caller, json=passphrase_change(wrong, wrong))
        assert assert_problem(response, 401, "unauthorized") == wrong_login
        assert response.headers["www-authenticate"] == "Bearer"
    assert prelogin(kluis, "alice").json() == before
    answer = login(kluis, "alice", alice.auth_key)
    assert answer.status_code == 200
    assert answer.json()["passphrase_bundle"] != b64(b"changed")
    for token in (alice.token, other_device):  # no session was revoked
        assert me_with(kluis, token).status_code == 200


def test_change_passphrase_revokes_the_other_sessions(
    kluis: Kluis, alice: Account, bob: Account
) -> None:
    other_device = login(kluis, "alice", alice.auth_key).json()["token"]
    bobs_session = bob.token
    new_key = os.urandom(32)
    body = passphrase_change(alice.auth_key, new_key)
    assert kluis.put("/me/passphrase", alice, json=body).status_code == 204
    assert_problem(me_with(kluis, other_device), 401, "unauthorized")
    assert me_with(kluis, bobs_session).status_code == 200  # only alice's sessions end
    # the caller's own session goes on working, for reads and writes
    assert kluis.get("/me", alice).json()["user_id"] == alice.user_id
    dossier = kluis.create_dossier(alice)
    assert kluis.get(f"/dossiers/{dossier}", alice).status_code == 200
    again = passphrase_change(new_key, os.urandom(32), b"changed again")
    assert kluis.put("/me/passphrase", alice, json=again).status_code == 204
    assert kluis.post("/auth/logout", alice).status_code == 204
    assert_problem(kluis.get("/me", alice), 401, "unauthorized")


def test_a_wrong_current_key_counts_as_a_failed_login(
    settings: Settings, clock: FakeClock, alice: Account
) -> None:
    strict = settings.model_copy(
        update={"login_account_max_failures": 3, "login_account_window_seconds": 60}
    )
    with make_client(strict, clock) as client:
        kluis = Kluis(client, clock)
        kluis.login(alice)
        for _ in range(2):
            wrong = passphrase_change(os.urandom(32), os.urandom(32))
            assert_problem(kluis.put("/me/passphrase", alice, json=wrong), 401, "unauthorized")
        assert_problem(login(kluis, "alice", os.urandom(32)), 401, "unauthorized")
        # three failures, by either route: the right key is refused on both, unchecked
        right = passphrase_change(alice.auth_key, os.urandom(32))
        blocked = kluis.put("/me/passphrase", alice, json=right)
        assert_problem(blocked, 429, "rate_limited")
        assert 1 <= int(blocked.headers["retry-after"]) <= 60
        assert_problem(login(kluis, "alice", alice.auth_key), 429, "rate_limited")
        clock.advance(60)
        assert kluis.put("/me/passphrase", alice, json=right).status_code == 204
        # a success takes its own attempt back: it leaves the window's budget as it was
        for _ in range(3):
            assert_problem(login(kluis, "alice", os.urandom(32)), 401, "unauthorized")
        assert_problem(login(kluis, "alice", os.urandom(32)), 429, "rate_limited")
