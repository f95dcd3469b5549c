"""Live group events over Server-Sent Events (docs/api.md "Live group events"), with real server
processes: a member's stream announces each new message position, from the same process on
SQLite and from another replica on PostgreSQL (LISTEN/NOTIFY through the shared database);
a removed member's stream ends; non-members get no stream."""

from __future__ import annotations

import base64
import signal
from collections.abc import Iterator
from typing import Any

import httpx

from vault.kinds import OrgKind
from vault.message import NO_HASH, message_hash

from ..conftest import LiveServerFactory
from .harness import b64, new_id
from .test_group_messages import klmg
from .test_live_server import connect, unique, user_id

# Only a hang guard (a read that never comes), far beyond any run: no timing is asserted.
READ_TIMEOUT = 120
DATABASES = ("sqlite",)  # the PostgreSQL test asks for its database itself (server_env)
# Idle streams re-read the database only after this long, beyond READ_TIMEOUT: so what a stream
# hears in these tests came from the notification of the write, never from a re-read.
QUIET = {"KLUIS_EVENTS_KEEPALIVE_SECONDS": "600"}


class Who:
    """The harness's `Account` shape for `klmg`: a user id."""

    def __init__(self, client: httpx.Client) -> None:
        self.user_id = user_id(client)


def events(response: httpx.Response) -> Iterator[dict[str, str]]:
    """The stream's events (comments, such as keep-alives, skipped)."""
    event: dict[str, str] = {}
    for line in response.iter_lines():
        if not line:
            if event:
                yield event
            event = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(":")
            event[name] = value.removeprefix(" ")


def village(admin: httpx.Client, *members: httpx.Client) -> str:
    org_id = new_id()
    body = {
        "org_id": org_id,
        "name": unique("dorp"),
        "kind": int(OrgKind.GROUP),
        "record": b64(b"KLOK" + bytes(60)),
        "membership": b64(b"KLOM" + bytes(60)),
    }
    assert admin.post("/organisations", json=body).status_code == 201
    for member in members:
        add = {"member_id": user_id(member), "role": 1, "epoch": 1, "membership": b64(b"KLOM")}
        assert admin.post(f"/organisations/{org_id}/members", json=add).status_code == 201
    return org_id


def post(client: httpx.Client, org_id: str, message: bytes) -> dict[str, Any]:
    response = client.post(f"/organisations/{org_id}/messages", json={"message": b64(message)})
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


def stream(
    client: httpx.Client, org_id: str, headers: dict[str, str] | None = None, **params: Any
) -> Any:
    return client.stream(
        "GET",
        f"/organisations/{org_id}/events",
        params=params,
        headers=headers,
        timeout=httpx.Timeout(30, read=READ_TIMEOUT),
    )


def test_a_member_hears_of_new_messages_and_a_removed_one_is_cut_off(
    live_server_factory: LiveServerFactory,
) -> None:
    live_server = live_server_factory(env=QUIET)
    alice, bob, eve = (connect(live_server, unique(n)) for n in ("alice", "bob", "eve"))
    org_id = village(alice, bob)
    with stream(eve, org_id) as refused:
        assert refused.status_code == 403
    first = klmg(org_id, Who(alice))  # type: ignore[arg-type]
    post(alice, org_id, first)
    with stream(bob, org_id) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        heard = events(response)
        assert next(heard) == {"id": "1", "event": "message", "data": '{"position": 1}'}
        second = klmg(org_id, Who(bob), message_hash(first))  # type: ignore[arg-type]
        post(bob, org_id, second)
        assert next(heard)["id"] == "2"
        third = klmg(org_id, Who(alice), message_hash(second), sequence=2)  # type: ignore[arg-type]
        post(alice, org_id, third)
        assert next(heard)["id"] == "3"
        rotation = {
            "epoch": 2,
            "record": b64(b"KLOK" + bytes(60)),
            "removed_id": user_id(bob),
            "memberships": [{"member_id": user_id(alice), "role": 2, "membership": b64(b"KLOM")}],
            "grants": [],
        }
        assert alice.post(f"/organisations/{org_id}/rotate", json=rotation).status_code == 200
        assert next(heard)["event"] == "removed"
        assert next(heard, None) is None  # the stream ended
    # a stream that resumes after the last event it saw hears only what is newer
    with stream(alice, org_id, after=3) as response:
        fourth = klmg(org_id, Who(alice), message_hash(third), epoch=2, sequence=3)  # type: ignore[arg-type]
        post(alice, org_id, fourth)
        assert next(events(response))["id"] == "4"
    # as does a browser reconnecting with the last id it saw
    with stream(alice, org_id, headers={"Last-Event-ID": "4"}) as response:
        fifth = klmg(org_id, Who(alice), message_hash(fourth), epoch=2, sequence=4)  # type: ignore[arg-type]
        post(alice, org_id, fifth)
        assert next(events(response))["id"] == "5"
    page = alice.get(f"/organisations/{org_id}/messages").json()
    assert [base64.b64decode(m["message"]) for m in page["messages"]] == [
        first,
        second,
        third,
        fourth,
        fifth,
    ]


def test_replicas_hear_each_others_messages_through_postgresql(
    live_server_factory: LiveServerFactory, server_env: dict[str, str]
) -> None:
    one, two = (live_server_factory(env={**server_env, **QUIET}) for _ in range(2))
    alice = connect(one, unique("alice"))
    bob = connect(one, unique("bob"))
    bob_on_two = httpx.Client(base_url=two.api_url, headers=bob.headers, timeout=60)
    org_id = village(alice, bob)
    with stream(bob_on_two, org_id) as response:
        assert response.status_code == 200
        heard = events(response)
        previous = NO_HASH
        for sequence in (1, 2):
            message = klmg(org_id, Who(alice), previous, sequence=sequence)  # type: ignore[arg-type]
            post(alice, org_id, message)  # on replica one
            previous = message_hash(message)
            assert next(heard) == {
                "id": str(sequence),
                "event": "message",
                "data": f'{{"position": {sequence}}}',
            }


def test_open_streams_end_when_the_server_stops(live_server_factory: LiveServerFactory) -> None:
    server = live_server_factory(env=QUIET)
    alice = connect(server, unique("alice"))
    org_id = village(alice)
    with stream(alice, org_id) as response:
        assert response.status_code == 200
        process = server.process
        assert process is not None
        server.stop()  # SIGTERM; SIGKILL if it has not stopped 10 s later
        # it stopped by itself (uvicorn ends with the signal it handled), not killed
        assert process.returncode == -signal.SIGTERM
        assert next(events(response), None) is None  # the stream ended, whole
