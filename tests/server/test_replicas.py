"""Stateless replicas: two server processes on one PostgreSQL database, one blob directory and
one server secret serve the same clients interchangeably. The real client sends every request
to the other process than the one before (a round-robin load balancer), through the whole
flow: register, log in, create, add, share, get, update, the access log. Sessions, rate-limit
counters and uploads live in the database, so a token, a failed login or an upload made on one
replica counts on the other."""

from __future__ import annotations

import itertools
import os
from collections import Counter
from pathlib import Path

import httpx
import pytest

from client_sdk import Client

from ..conftest import LiveServer, LiveServerFactory
from .harness import b64, grant_in, new_id, registration


class Alternating(httpx.HTTPTransport):
    """Sends each request to the next server in turn, and counts where each one went."""

    def __init__(self, servers: list[LiveServer]) -> None:
        super().__init__()
        self.servers = servers
        self.turn = itertools.count()
        self.served: Counter[int] = Counter()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        server = self.servers[next(self.turn) % len(self.servers)]
        request.url = request.url.copy_with(host=server.host, port=server.port)
        request.headers["Host"] = f"{server.host}:{server.port}"
        self.served[server.port] += 1
        return super().handle_request(request)


@pytest.fixture
def replicas(
    live_server_factory: LiveServerFactory, server_env: dict[str, str]
) -> list[LiveServer]:
    env = {**server_env, "KLUIS_LOGIN_ACCOUNT_MAX_FAILURES": "3"}
    return [live_server_factory(env=env) for _ in range(2)]


def test_a_client_alternating_between_two_replicas_goes_through_the_whole_flow(
    replicas: list[LiveServer], tmp_path: Path
) -> None:
    report = tmp_path / "schaderapport.pdf"
    report.write_bytes(os.urandom(300_000))
    photo = tmp_path / "foto.jpg"
    photo.write_bytes(os.urandom(1_500_000))
    second = tmp_path / "schaderapport-v2.pdf"
    second.write_bytes(os.urandom(200_000))
    anna_lb, bob_lb = Alternating(replicas), Alternating(replicas)
    first = replicas[0].url

    with Client(first, str(tmp_path / "bob"), transport=bob_lb) as bob:
        bob.register("bob", "bob's passphrase for the test")
    with Client(first, str(tmp_path / "anna"), transport=anna_lb) as anna:
        anna.register("anna", "anna's passphrase for the test")
        anna.logout()
        anna.login("anna", "anna's passphrase for the test")
        dossier_id = anna.create_dossier("Schade Hoofdstraat 12")
        report_info, photo_info = anna.add_many(dossier_id, [report, photo])
        anna.share(dossier_id, "bob")
        assert {d.document_id for d in anna.documents(dossier_id)} == {
            report_info.document_id,
            photo_info.document_id,
        }
    with Client(first, str(tmp_path / "bob"), transport=bob_lb) as bob:
        bob.login("bob", "bob's passphrase for the test")
        for info, original in ((report_info, report), (photo_info, photo)):
            _, copy = bob.get(info.document_id, tmp_path / f"bob-{original.name}")
            assert copy.read_bytes() == original.read_bytes()
    with Client(first, str(tmp_path / "anna"), transport=anna_lb) as anna:
        anna.update(report_info.document_id, second)
        _, back = anna.get(report_info.document_id, tmp_path / "anna-v2.pdf")
        assert back.read_bytes() == second.read_bytes()
        log = anna.access_log(dossier_id)  # one hash chain, written by both replicas
        assert [e.action for e in log].count("download") >= 3
        assert "share" in [e.action for e in log]

    for balancer in (anna_lb, bob_lb):  # every step really went to both
        assert len(balancer.served) == 2
        assert min(balancer.served.values()) >= 5


def test_sessions_limits_and_uploads_are_shared_by_the_replicas(
    replicas: list[LiveServer],
) -> None:
    one, two = (httpx.Client(base_url=r.api_url, timeout=30) for r in replicas)
    body = registration("carla")
    assert one.post("/users", json=body).status_code == 201
    login = two.post("/auth/login", json={"username": "carla", "auth_key": body["auth_key"]})
    token = {"Authorization": f"Bearer {login.json()['token']}"}
    assert one.get("/me", headers=token).status_code == 200  # a session made on the other

    upload = one.post("/uploads", content=b"payload", headers=token).json()
    dossier_id, document_id = new_id(), new_id()
    dossier = {
        "dossier_id": dossier_id,
        "index": b64(b"KLIX"),
        "grants": [grant_in(body["user_id"])],
    }
    created = two.post("/dossiers", json=dossier, headers=token)
    assert created.status_code == 201
    committed = two.post(  # the upload, recorded by one replica, consumed by the other
        f"/dossiers/{dossier_id}/documents/{document_id}/versions",
        json={
            "version": 1,
            "header": b64(b"KLHD"),
            "upload_id": upload["upload_id"],
            "payload_size": upload["size"],
            "payload_blake3": upload["blake3"],
        },
        headers=token,
    )
    assert committed.status_code == 201, committed.text
    payload = one.get(f"/documents/{document_id}/versions/1/payload", headers=token)
    assert payload.content == b"payload"

    wrong = {"username": "carla", "auth_key": b64(b"\0" * 32)}
    answers = [(one, two)[i % 2].post("/auth/login", json=wrong).status_code for i in range(4)]
    assert answers == [401, 401, 401, 429]  # three failures allowed, counted across both

    assert two.post("/auth/logout", headers=token).status_code == 204
    assert one.get("/me", headers=token).status_code == 401  # logged out everywhere
