"""E-mail notifications with real server processes and a real SMTP server on loopback: the
queue survives a crash (what was committed is mailed once the mail server and Kluis are back),
and two replicas on one PostgreSQL database send each mail once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import httpx
import pytest

from ..conftest import LiveServer, LiveServerFactory
from .harness import b64, grant_in, new_id, registration
from .smtp_sink import SmtpSink, free_port

USERS = 40


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    server = SmtpSink().start()
    yield server
    server.stop()


def account(api: httpx.Client, name: str) -> dict[str, str]:
    """Register `name` and log in: their id and the bearer header."""
    body = registration(name)
    assert api.post("/users", json=body).status_code == 201
    login = api.post("/auth/login", json={"username": name, "auth_key": body["auth_key"]})
    assert login.status_code == 200, login.text
    return {"user_id": body["user_id"], "Authorization": f"Bearer {login.json()['token']}"}


def bearer(who: dict[str, str]) -> dict[str, str]:
    return {"Authorization": who["Authorization"]}


def residents_with_something_waiting(server: LiveServer, count: int) -> list[str]:
    """`count` residents opt in; one neighbour shares a dossier with each: their addresses."""
    with httpx.Client(base_url=server.api_url, timeout=60) as api:
        neighbour = account(api, "buurman")
        addresses = []
        grants = []
        for n in range(count):
            resident = account(api, f"bewoner{n}")
            address = f"bewoner{n}@example.nl"
            chosen = api.put("/notify", json={"email": address}, headers=bearer(resident))
            assert chosen.status_code == 200, chosen.text
            addresses.append(address)
            grants.append(grant_in(resident["user_id"]))
        dossier = {
            "dossier_id": new_id(),
            "index": b64(b"KLIX"),
            "grants": [grant_in(neighbour["user_id"])],
        }
        assert api.post("/dossiers", json=dossier, headers=bearer(neighbour)).status_code == 201
        shared = api.post(
            f"/dossiers/{dossier['dossier_id']}/grants",
            json={"grants": grants},
            headers=bearer(neighbour),
        )
        assert shared.status_code == 201, shared.text
    return addresses


def test_mails_queued_before_a_crash_are_sent_once_the_server_is_back(
    live_server_factory: LiveServerFactory, sink: SmtpSink
) -> None:
    down = sink.env(KLUIS_SMTP_PORT=str(free_port()))  # no mail server listens there yet
    server = live_server_factory(env=down)
    addresses = residents_with_something_waiting(server, 12)
    server.kill()  # SIGKILL: nothing is flushed, nothing said goodbye
    assert sink.received() == []
    server.env = sink.env()
    server.start()
    mails = sink.wait_for(len(addresses))
    assert Counter(a for m in sink.quiet() for a in m.rcpt_tos) == Counter(addresses)
    assert len(mails) == len(addresses)


def test_two_replicas_on_one_database_send_each_mail_once(
    live_server_factory: LiveServerFactory, server_env: dict[str, str], sink: SmtpSink
) -> None:
    # Small batches, a short poll and a delay that lets the queue fill first: both replicas
    # take batches from the same due jobs at once.
    env = sink.env(
        KLUIS_NOTIFY_BATCH_SIZE="3",
        KLUIS_NOTIFY_POLL_SECONDS="0.05",
        KLUIS_NOTIFY_DELAY_SECONDS="4",
    )
    replicas = [live_server_factory(env={**server_env, **env}) for _ in range(2)]
    addresses = residents_with_something_waiting(replicas[0], USERS)
    sink.wait_for(len(addresses))
    sent = Counter(a for m in sink.quiet() for a in m.rcpt_tos)
    assert sent == Counter(addresses)  # every resident once: none twice, none left out
    assert all(r.running for r in replicas)
