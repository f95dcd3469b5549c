"""Crash safety: the server process is killed (SIGKILL) while several clients add documents and
slow uploads are half-way; after a restart every document is complete and verifies through the
real client, or is absent; cleanup (grace period 0) then leaves exactly the blobs that
committed versions refer to. On PostgreSQL, the production database."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
import pytest

from client_sdk import Client

from ..conftest import LiveServer, LiveServerFactory
from .harness import registration, run_server

CLIENTS = 3
SLOW_UPLOADS = 2
PASSPHRASE = "a passphrase for the crash test"


@dataclass
class Writer:
    """One client adding documents to its own dossier until the server goes away."""

    client: Client
    dossier_id: str
    folder: Path
    attempted: dict[str, bytes] = field(default_factory=dict)  # file name -> content
    acknowledged: set[str] = field(default_factory=set)
    failure: BaseException | None = None

    def run(self, stop: threading.Event) -> None:
        n = 0
        while not stop.is_set():
            n += 1
            path = self.folder / f"brief-{n:03d}.pdf"
            content = os.urandom(100_000 + (n % 5) * 200_000)
            path.write_bytes(content)
            self.attempted[path.name] = content
            try:
                self.client.add(self.dossier_id, path)
            except Exception as exc:  # the server died under it
                self.failure = exc
                return
            self.acknowledged.add(path.name)


def slow_body(sent: list[int]) -> Iterator[bytes]:
    for _ in range(400):  # 400 x 64 KiB over ~20 s: still streaming when the server dies
        chunk = os.urandom(64 * 1024)
        sent.append(len(chunk))
        yield chunk
        time.sleep(0.05)


def slow_upload(server: LiveServer, sent: list[int]) -> None:
    body = registration(f"slow-{os.urandom(3).hex()}")
    with httpx.Client(base_url=server.api_url, timeout=60) as http:
        http.post("/users", json=body).raise_for_status()
        login = {"username": body["username"], "auth_key": body["auth_key"]}
        token = http.post("/auth/login", json=login).json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        with contextlib.suppress(httpx.TransportError):  # the server dies mid-upload
            http.post("/uploads", content=slow_body(sent), headers=headers)


def blob_keys(blob_dir: Path) -> set[str]:
    return {p.name for p in blob_dir.rglob("*") if p.is_file() and not p.name.endswith(".part")}


def partial_files(blob_dir: Path) -> list[Path]:
    return [p for p in blob_dir.rglob("*.part")]


def wait_for(condition: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def server(live_server_factory: LiveServerFactory, server_env: dict[str, str]) -> LiveServer:
    return live_server_factory(env={**server_env, "KLUIS_CLEANUP_INTERVAL_SECONDS": "0"})


def test_a_server_killed_during_uploads_loses_nothing_and_leaves_nothing_half_visible(
    server: LiveServer, server_env: dict[str, str], tmp_path: Path
) -> None:
    blob_dir = Path(server_env["KLUIS_BLOB_DIR"])
    writers = []
    for i in range(CLIENTS):
        folder = tmp_path / f"client-{i}"
        folder.mkdir()
        client = Client(server.url, str(folder / "profile"))
        client.register(f"writer-{i}", PASSPHRASE)
        writers.append(Writer(client, client.create_dossier(f"Schade {i}"), folder))

    stop = threading.Event()
    sent: list[list[int]] = [[] for _ in range(SLOW_UPLOADS)]
    threads = [threading.Thread(target=w.run, args=(stop,)) for w in writers]
    threads += [threading.Thread(target=slow_upload, args=(server, s)) for s in sent]
    for thread in threads:
        thread.start()
    try:
        wait_for(lambda: all(len(w.acknowledged) >= 2 for w in writers), 120, "committed adds")
        wait_for(lambda: all(sum(s) > 1 << 20 for s in sent), 60, "slow uploads under way")
        wait_for(lambda: partial_files(blob_dir), 30, "a partial file")
        server.kill()  # SIGKILL, in the middle of everything
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    assert all(w.failure is not None for w in writers)  # every writer was cut off mid-way
    assert partial_files(blob_dir)  # the interrupted uploads left their partial files

    server.start()
    for writer in writers:
        writer.client.close()
        with Client(server.url, str(writer.folder / "profile")) as client:
            listed = client.documents(writer.dossier_id)  # every header verifies
            names = [info.name for info in listed]
            assert len(names) == len(set(names))
            assert writer.acknowledged <= set(names)  # nothing acknowledged was lost
            assert set(names) <= set(writer.attempted)
            for info in listed:  # complete: the payload decrypts and its hash checks out
                _, copy = client.get(info.document_id, tmp_path / "copy", overwrite=True)
                assert copy.read_bytes() == writer.attempted[info.name]

    env = {**server_env, "KLUIS_UPLOAD_GRACE_SECONDS": "0"}
    cleanup = run_server("cleanup", "--data-dir", str(server.data_dir), env=env)
    assert cleanup.returncode == 0, cleanup.stderr
    assert partial_files(blob_dir) == []
    database = server_env["KLUIS_DATABASE_URL"].replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(database) as conn:
        committed = {row[0] for row in conn.execute("SELECT blob_key FROM versions")}
        pending = conn.execute("SELECT count(*) FROM uploads WHERE NOT committed").fetchone()
    assert pending == (0,)
    assert blob_keys(blob_dir) == committed  # no orphan, and nothing committed went missing
    for writer in writers:  # and cleanup took nothing a document needs
        with Client(server.url, str(writer.folder / "profile")) as client:
            for info in client.documents(writer.dossier_id):
                client.get(info.document_id, tmp_path / "again", overwrite=True)
