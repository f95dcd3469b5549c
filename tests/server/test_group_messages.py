"""Group messages on the server (docs/api.md "Group messages"): members of the current epoch
post and read, others get 403; the chain in server order has one head (a message not on top of
the newest is 409 `stale_head`, also when two race); sizes, paging and the posting limit.

The messages are well-formed KLMG bytes (the server parses their header) with placeholder
keys, bodies and signatures: the server checks no signature, clients do (vault.messagelog).
"""

from __future__ import annotations

import base64
import os
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from server.config import Settings
from vault.kinds import Role
from vault.message import BODY_MAX, NO_HASH, Message, MessageKind, message_hash

from .harness import Account, FakeClock, Kluis, assert_problem, b64
from .test_groups import conversation, group
from .test_organisations import add_member, org, rotation

POST_LIMIT = 6
RACERS = 8


@pytest.fixture
def settings(data_dir: Path, database_url: str | None, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name in list(os.environ):
        if name.startswith("KLUIS_"):
            monkeypatch.delenv(name)
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        message_post_max=POST_LIMIT,
        message_post_window_seconds=60,
    )


@pytest.fixture
def carol(kluis: Kluis) -> Account:
    return kluis.register("carol")


@pytest.fixture
def village(kluis: Kluis, alice: Account, bob: Account) -> str:
    """A group: alice its admin, bob a member."""
    org_id: str = group(kluis, alice)["org_id"]
    assert add_member(kluis, alice, org_id, bob).status_code == 201
    return org_id


def klmg(
    org_id: str,
    sender: Account,
    previous: bytes = NO_HASH,
    *,
    epoch: int = 1,
    sequence: int = 1,
    body: bytes | None = None,
) -> bytes:
    return Message(
        group_id=bytes.fromhex(org_id),
        epoch=epoch,
        kind=MessageKind.CHAT,
        sender_id=bytes.fromhex(sender.user_id),
        sender_key_id=bytes(32),
        sequence=sequence,
        previous_hash=previous,
        reference=NO_HASH,
        sent_at=1_800_000_000,
        body=os.urandom(60) if body is None else body,
        signature=os.urandom(64),
    ).encode()


def post(kluis: Kluis, who: Account, org_id: str, message: bytes) -> Any:
    return kluis.post(f"/organisations/{org_id}/messages", who, json={"message": b64(message)})


def posted(kluis: Kluis, who: Account, org_id: str, message: bytes) -> dict[str, Any]:
    response = post(kluis, who, org_id, message)
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


def messages(kluis: Kluis, who: Account, org_id: str, **params: Any) -> Any:
    return kluis.get(f"/organisations/{org_id}/messages", who, params=params)


def test_members_post_and_read_the_chain_in_order(
    kluis: Kluis, alice: Account, bob: Account, village: str
) -> None:
    assert messages(kluis, bob, village).json() == {"messages": [], "head": 0}
    first = klmg(village, alice)
    answer = posted(kluis, alice, village, first)
    assert answer["position"] == 1 and answer["message_hash"] == message_hash(first).hex()
    second = klmg(village, bob, message_hash(first))
    assert posted(kluis, bob, village, second)["position"] == 2
    page = messages(kluis, bob, village).json()
    assert page["head"] == 2
    assert [
        (m["position"], m["sender_id"], base64.b64decode(m["message"]), m["message_hash"])
        for m in page["messages"]
    ] == [
        (1, alice.user_id, first, message_hash(first).hex()),
        (2, bob.user_id, second, message_hash(second).hex()),
    ]


def test_a_conversation_has_messages_too(kluis: Kluis, alice: Account, bob: Account) -> None:
    org_id = conversation(kluis, alice)["org_id"]
    assert add_member(kluis, alice, org_id, bob, role=Role.ADMIN).status_code == 201
    posted(kluis, bob, org_id, klmg(org_id, bob))
    assert messages(kluis, alice, org_id).json()["head"] == 1


def test_non_members_neither_post_nor_read(
    kluis: Kluis, alice: Account, mallory: Account, village: str
) -> None:
    posted(kluis, alice, village, klmg(village, alice))
    assert_problem(post(kluis, mallory, village, klmg(village, mallory)), 403, "forbidden")
    assert_problem(messages(kluis, mallory, village), 403, "forbidden")
    assert_problem(messages(kluis, None, village), 401, "unauthorized")  # type: ignore[arg-type]
    assert messages(kluis, alice, village).json()["head"] == 1


def test_an_organisation_of_another_kind_has_no_messages(kluis: Kluis, alice: Account) -> None:
    org_id = org(kluis, alice)["org_id"]
    assert_problem(post(kluis, alice, org_id, klmg(org_id, alice)), 404, "not_found")
    assert_problem(messages(kluis, alice, org_id), 404, "not_found")
    assert_problem(messages(kluis, alice, "ab" * 16), 404, "not_found")


def test_a_removed_member_can_neither_post_nor_read(
    kluis: Kluis, alice: Account, bob: Account, village: str
) -> None:
    first = posted(kluis, bob, village, klmg(village, bob))
    body = rotation(bob, [(alice, Role.ADMIN)])
    assert kluis.post(f"/organisations/{village}/rotate", alice, json=body).status_code == 200
    previous = bytes.fromhex(first["message_hash"])
    # in the old epoch, which bob still holds, and in the new one
    for epoch in (1, 2):
        message = klmg(village, bob, previous, epoch=epoch, sequence=2)
        assert_problem(post(kluis, bob, village, message), 403, "forbidden")
    assert_problem(messages(kluis, bob, village), 403, "forbidden")
    # alice writes the epoch start of epoch 2; an epoch-1 message is refused
    stale = klmg(village, alice, previous, epoch=1)
    assert_problem(post(kluis, alice, village, stale), 409, "version_conflict")
    assert posted(kluis, alice, village, klmg(village, alice, previous, epoch=2))["position"] == 2


def test_a_message_not_on_the_newest_is_refused(
    kluis: Kluis, alice: Account, bob: Account, village: str
) -> None:
    first = klmg(village, alice)
    posted(kluis, alice, village, first)
    # both sign on top of the first; bob's comes second, so it is stale
    posted(kluis, alice, village, klmg(village, alice, message_hash(first), sequence=2))
    stale = klmg(village, bob, message_hash(first))
    assert_problem(post(kluis, bob, village, stale), 409, "stale_head")
    assert_problem(post(kluis, bob, village, klmg(village, bob)), 409, "stale_head")  # a 2nd start
    page = messages(kluis, bob, village).json()
    newest = base64.b64decode(page["messages"][-1]["message"])
    assert posted(kluis, bob, village, klmg(village, bob, message_hash(newest)))["position"] == 3


def test_two_racing_posters_are_never_both_accepted_on_one_head(
    kluis: Kluis, alice: Account, bob: Account, village: str
) -> None:
    first = klmg(village, alice)
    posted(kluis, alice, village, first)
    racers = [(alice, klmg(village, alice, message_hash(first), sequence=2))] + [
        (bob, klmg(village, bob, message_hash(first))) for _ in range(RACERS - 1)
    ]
    with ThreadPoolExecutor(RACERS) as pool:
        answers = list(pool.map(lambda r: post(kluis, r[0], village, r[1]), racers))
    assert Counter(a.status_code for a in answers) == {201: 1, 409: RACERS - 1}
    for a in answers:
        if a.status_code == 409:
            assert a.json()["code"] == "stale_head"
    page = messages(kluis, alice, village).json()
    assert page["head"] == 2 and len(page["messages"]) == 2


def test_a_message_is_parsed_and_must_name_the_group_the_caller_and_the_epoch(
    kluis: Kluis, alice: Account, bob: Account, village: str
) -> None:
    other_group = group(kluis, alice, "werkgroep")["org_id"]
    for message in (
        b"KLMG" + os.urandom(100),  # does not parse
        klmg(other_group, alice),  # another group
        klmg(village, bob),  # another sender
        klmg(village, alice, body=b""),  # a chat with no body
    ):
        assert_problem(post(kluis, alice, village, message), 422, "validation_error")
    assert_problem(
        post(kluis, alice, village, klmg(village, alice, epoch=2)), 409, "version_conflict"
    )
    response = kluis.post(f"/organisations/{village}/messages", alice, json={"message": "!"})
    assert_problem(response, 422, "validation_error")
    assert messages(kluis, alice, village).json()["head"] == 0


def test_an_oversized_message_is_refused(kluis: Kluis, alice: Account, village: str) -> None:
    largest = klmg(village, alice, body=os.urandom(BODY_MAX))
    assert posted(kluis, alice, village, largest)["position"] == 1
    too_big = klmg(village, alice, message_hash(largest), sequence=2, body=os.urandom(BODY_MAX + 1))
    assert_problem(post(kluis, alice, village, too_big), 413, "payload_too_large")
    assert messages(kluis, alice, village).json()["head"] == 1


def test_messages_come_in_pages_after_a_position(
    kluis: Kluis, alice: Account, bob: Account, village: str
) -> None:
    previous, sent = NO_HASH, []
    for sequence in range(1, 6):
        message = klmg(village, alice, previous, sequence=sequence)
        posted(kluis, alice, village, message)
        sent.append(message)
        previous = message_hash(message)
    pages, after = [], 0
    while True:
        page = messages(kluis, bob, village, after=after, limit=2).json()
        assert page["head"] == 5
        if not page["messages"]:
            break
        pages.append([m["position"] for m in page["messages"]])
        after = page["messages"][-1]["position"]
    assert pages == [[1, 2], [3, 4], [5]]
    whole = messages(kluis, bob, village, after=0, limit=1000).json()["messages"]
    assert [base64.b64decode(m["message"]) for m in whole] == sent
    for bad in ({"after": -1}, {"limit": 0}, {"limit": 1001}, {"after": "x"}):
        assert_problem(messages(kluis, bob, village, **bad), 422, "validation_error")


def test_posting_is_rate_limited_per_user(
    kluis: Kluis, alice: Account, bob: Account, village: str, clock: FakeClock
) -> None:
    previous = NO_HASH
    for sequence in range(1, POST_LIMIT + 1):
        message = klmg(village, alice, previous, sequence=sequence)
        posted(kluis, alice, village, message)
        previous = message_hash(message)
    over = post(kluis, alice, village, klmg(village, alice, previous, sequence=POST_LIMIT + 1))
    assert_problem(over, 429, "rate_limited")
    assert 1 <= int(over.headers["Retry-After"]) <= 60
    # bob has a limit of his own; refused posts did not count against alice's
    bob_message = klmg(village, bob, previous)
    posted(kluis, bob, village, bob_message)
    clock.advance(60)
    again = klmg(village, alice, message_hash(bob_message), sequence=POST_LIMIT + 1)
    assert posted(kluis, alice, village, again)["position"] == POST_LIMIT + 2


def test_a_member_may_send_only_what_its_role_allows(
    kluis: Kluis, alice: Account, bob: Account, village: str
) -> None:
    """bob is a plain member: a post, an announcement, an event, an epoch start or a deletion
    from him is 403 (clients would refuse the chain from it on); a chat line is fine."""
    kind_at = 4 + 1 + 16 + 4
    for kind in (MessageKind.POST, MessageKind.ANNOUNCEMENT, MessageKind.EVENT,
                 MessageKind.EPOCH_START):  # fmt: skip
        message = bytearray(klmg(village, bob))
        message[kind_at] = kind
        if kind == MessageKind.EPOCH_START:
            message = bytearray(klmg(village, bob, body=os.urandom(40)))
            message[kind_at] = kind
        assert_problem(post(kluis, bob, village, bytes(message)), 403, "forbidden")
    first = posted(kluis, bob, village, klmg(village, bob))
    assert first["position"] == 1
    announcement = bytearray(klmg(village, alice, bytes.fromhex(first["message_hash"])))
    announcement[kind_at] = MessageKind.ANNOUNCEMENT
    assert posted(kluis, alice, village, bytes(announcement))["position"] == 2
