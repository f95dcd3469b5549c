"""The real server process (`python -m server`), over real HTTP, through the shared
`live_server` fixture of tests/conftest.py."""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import blake3
import httpx
import pytest

from ..conftest import LiveServer, LiveServerFactory
from .harness import b64, grant_in, new_id, registration, run_server
from .test_accesslog import assert_chain

HANG_GUARD_SECONDS = 300  # far beyond any run, loaded or not: this only catches a hang


def connect(server: LiveServer, username: str) -> httpx.Client:
    """Register and log in; a client with the session token set."""
    client = httpx.Client(base_url=server.api_url, timeout=60)
    body = registration(username)
    assert client.post("/users", json=body).status_code == 201
    answer = client.post("/auth/login", json={"username": username, "auth_key": body["auth_key"]})
    assert answer.status_code == 200, answer.text
    client.headers["Authorization"] = f"Bearer {answer.json()['token']}"
    client.headers["X-User-Id"] = body["user_id"]  # for the test's own bookkeeping
    return client


def unique(name: str) -> str:
    """A username no other test on a shared server registers."""
    return f"{name}-{secrets.token_hex(4)}"


def user_id(client: httpx.Client) -> str:
    return str(client.headers["X-User-Id"])


def new_dossier(client: httpx.Client, *grants: dict[str, Any]) -> str:
    dossier_id = new_id()
    body = {
        "dossier_id": dossier_id,
        "index": b64(b"KLIX"),
        "grants": [grant_in(user_id(client), rights=2), *grants],
    }
    assert client.post("/dossiers", json=body).status_code == 201
    return dossier_id


def upload_and_commit(client: httpx.Client, dossier_id: str, chunks: Iterator[bytes]) -> str:
    upload = client.post("/uploads", content=chunks)
    assert upload.status_code == 201, upload.text
    document_id = new_id()
    answer = upload.json()
    committed = client.post(
        f"/dossiers/{dossier_id}/documents/{document_id}/versions",
        json={
            "version": 1,
            "header": b64(b"KLDH"),
            "upload_id": answer["upload_id"],
            "payload_size": answer["size"],
            "payload_blake3": answer["blake3"],
        },
    )
    assert committed.status_code == 201, committed.text
    return document_id


def test_the_fixture_runs_a_real_server(live_server: LiveServer) -> None:
    assert live_server.running
    assert live_server.port > 0
    assert httpx.get(live_server.url + "/healthz").json() == {"status": "ok"}
    assert f"listening on {live_server.url}" in live_server.log()
    assert live_server.db_path.exists()
    assert (live_server.data_dir / "server-secret").exists()


def test_upload_and_download_over_http(shared_server: LiveServer) -> None:
    alice = connect(shared_server, unique("alice"))
    dossier_id = new_dossier(alice)
    pieces = [os.urandom(1 << 20) for _ in range(5)] + [os.urandom(12345)]
    document_id = upload_and_commit(alice, dossier_id, iter(pieces))

    hasher = blake3.blake3()
    size = 0
    with alice.stream("GET", f"/documents/{document_id}/versions/1/payload") as response:
        assert response.status_code == 200
        assert response.headers["content-length"] == str(sum(map(len, pieces)))
        for chunk in response.iter_bytes():
            hasher.update(chunk)
            size += len(chunk)
    assert size == sum(map(len, pieces))
    assert hasher.hexdigest() == blake3.blake3(b"".join(pieces)).hexdigest()

    log = alice.get(f"/dossiers/{dossier_id}/log").json()
    assert [e["action"] for e in log] == ["upload", "download"]
    assert_chain(log)


def test_data_and_sessions_survive_a_restart_and_a_crash(live_server: LiveServer) -> None:
    alice = connect(live_server, "alice")
    dossier_id = new_dossier(alice)
    document_id = upload_and_commit(alice, dossier_id, iter([b"durable"]))
    port = live_server.port

    live_server.restart()
    assert live_server.port == port
    assert alice.get("/me").status_code == 200  # sessions live in the database

    live_server.kill()
    live_server.start()
    assert alice.get(f"/documents/{document_id}/versions/1/payload").content == b"durable"


def test_concurrent_downloads_keep_the_log_chain_intact(shared_server: LiveServer) -> None:
    alice = connect(shared_server, unique("alice"))
    bob = connect(shared_server, unique("bob"))
    dossier_id = new_dossier(alice, grant_in(user_id(bob)))
    document_id = upload_and_commit(alice, dossier_id, iter([os.urandom(200_000)]))
    path = f"/documents/{document_id}/versions/1/payload"

    def download(client: httpx.Client) -> int:
        return client.get(path).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(download, [alice, bob] * 12))
    assert statuses == [200] * 24
    log = alice.get(f"/dossiers/{dossier_id}/log").json()
    assert len(log) == 2 + 24  # upload, share, 24 downloads
    assert_chain(log)


def test_sixty_concurrent_writers_on_sqlite_neither_stall_nor_fail(
    shared_server: LiveServer,
) -> None:
    """More requests that write at once than the server has worker threads (40): each write
    transaction runs within one thread call, so none waits for a thread while it holds SQLite's
    write lock (which once stalled everything for the 30 s busy timeout, then answered 500).

    The stall shows as those 500s, which every request's status check catches; the clock here
    only guards against a hang, with a bound no busy machine comes near."""
    alice = connect(shared_server, unique("alice"))
    dossier_id = new_dossier(alice)
    document_id = upload_and_commit(alice, dossier_id, iter([os.urandom(50_000)]))
    path = f"/documents/{document_id}/versions/1/payload"

    def write(n: int) -> str:
        if n % 3 == 0:  # upload and commit a new document
            return upload_and_commit(alice, dossier_id, iter([os.urandom(10_000)]))
        answer = alice.get(path)  # a download appends to the access log
        assert answer.status_code == 200, answer.text
        return document_id

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=60) as pool:
        list(pool.map(write, range(180)))
    assert time.monotonic() - started < HANG_GUARD_SECONDS
    log = alice.get(f"/dossiers/{dossier_id}/log").json()
    assert len(log) == 1 + 180
    assert_chain(log)


def test_the_upload_limit_holds_over_http(live_server_factory: LiveServerFactory) -> None:
    server = live_server_factory(env={"KLUIS_MAX_UPLOAD_BYTES": str(2 << 20)})
    alice = connect(server, "alice")

    def chunks() -> Iterator[bytes]:
        for _ in range(6):
            yield os.urandom(1 << 20)

    response = alice.post("/uploads", content=chunks())
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    leftovers = [p for p in server.blob_dir.rglob("*") if p.is_file()]
    assert leftovers == []
    assert alice.get("/me").status_code == 200  # the server is fine


def test_a_weak_secret_stops_the_server_at_start(tmp_path: Path) -> None:
    result = run_server(
        "--port", "0", "--data-dir", str(tmp_path), env={"KLUIS_SERVER_SECRET": "changeme"}
    )
    assert result.returncode == 2
    assert "KLUIS_SERVER_SECRET" in result.stderr


def test_the_server_never_logs_keys_or_tokens(live_server: LiveServer) -> None:
    alice = connect(live_server, "alice")
    token = str(alice.headers["Authorization"]).split()[1]
    wrong = b64(os.urandom(32))
    alice.post("/auth/login", json={"username": "alice", "auth_key": wrong})
    live_server.stop()
    log = live_server.log()
    assert token not in log
    assert wrong not in log
    assert "alice" not in log


@pytest.mark.parametrize("flag", ["--help"])
def test_the_command_line_documents_its_options(flag: str) -> None:
    result = run_server(flag)
    assert result.returncode == 0
    for option in ("--host", "--port", "--data-dir", "cleanup"):
        assert option in result.stdout


def test_a_forged_forwarded_for_does_not_dodge_the_address_limit(
    live_server_factory: LiveServerFactory,
) -> None:
    server = live_server_factory(env={"KLUIS_LOGIN_ADDRESS_MAX_FAILURES": "3"})
    client = httpx.Client(base_url=server.api_url, timeout=60)
    statuses = []
    for attempt in range(5):
        response = client.post(
            "/auth/login",
            json={"username": f"victim{attempt}", "auth_key": b64(os.urandom(32))},
            headers={"X-Forwarded-For": f"203.0.113.{attempt}"},
        )
        statuses.append(response.status_code)
    assert statuses == [401, 401, 401, 429, 429]


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_payloads_stream_without_growing_the_server(live_server: LiveServer) -> None:
    """160 MiB up and 160 MiB down raise the server's peak memory by far less than one body:
    its growth is compared, not its size, which depends on the versions of its imports."""
    alice = connect(live_server, "alice")
    dossier_id = new_dossier(alice)
    before_kib = peak_rss_kib(live_server)
    block = os.urandom(1 << 20)
    document_id = upload_and_commit(alice, dossier_id, iter([block] * 160))
    with alice.stream("GET", f"/documents/{document_id}/versions/1/payload") as response:
        assert sum(len(chunk) for chunk in response.iter_bytes(1 << 20)) == 160 << 20
    growth_kib = peak_rss_kib(live_server) - before_kib
    assert growth_kib < 64 * 1024, f"peak RSS grew by {growth_kib // 1024} MiB"


def peak_rss_kib(server: LiveServer) -> int:
    assert server.process is not None
    status = Path(f"/proc/{server.process.pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmHWM")).split()[1])
