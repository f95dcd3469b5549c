"""`POST /users/by-ids`: many users' records in one request (issue 19's big groups)."""

from __future__ import annotations

import base64

from .harness import Account, Kluis, assert_problem


def test_known_users_come_back_with_their_records_unknown_ones_are_left_out(
    kluis: Kluis, alice: Account, bob: Account
) -> None:
    ids = [bob.user_id, "0" * 32, alice.user_id, bob.user_id]
    answer = kluis.post("/users/by-ids", alice, json={"ids": ids})
    assert answer.status_code == 200, answer.text
    rows = answer.json()
    assert sorted(r["user_id"] for r in rows) == sorted([alice.user_id, bob.user_id])
    for row in rows:
        assert base64.b64decode(row["identity"])
        assert "log" in row


def test_a_batch_needs_a_session_and_a_bounded_list(kluis: Kluis, alice: Account) -> None:
    assert kluis.post("/users/by-ids", None, json={"ids": [alice.user_id]}).status_code == 401
    assert_problem(kluis.post("/users/by-ids", alice, json={"ids": []}), 422, "validation_error")
    assert_problem(
        kluis.post("/users/by-ids", alice, json={"ids": ["0" * 32] * 1001}), 422, "validation_error"
    )
    assert_problem(
        kluis.post("/users/by-ids", alice, json={"ids": ["not an id"]}), 422, "validation_error"
    )
