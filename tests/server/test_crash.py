"""Crash safety: the server process is killed (SIGKILL) while several clients add documents and
slow uploads are half-way; after a restart every document is complete and verifies through the
real client, or is absent; cleanup (grace period 0) then leaves exactly the blobs that
committed versions refer to. And killed while it completes an upload in parts: the client
finishes the upload once the server is back, and no version refers to a blob that was not
checked. On PostgreSQL, the production database."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import blake3
import httpx
import psycopg
import pytest

from client_sdk import Client
from client_sdk.parts import PartPolicy

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
    """The complete blobs: `<key[:2]>/<key>`, a file or (arrived in parts) a directory of its
    parts; not partial files, not the parts of uploads not completed."""
    return {p.name for p in blob_dir.glob("??/*") if not p.name.endswith(".part")}


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


def test_a_server_killed_while_it_completes_an_upload_in_parts_commits_only_a_checked_blob(
    server: LiveServer, server_env: dict[str, str], tmp_path: Path
) -> None:
    """SIGKILL while the server completes an upload in parts: its parts were just made the
    blob, which the server was reading back to check its size and BLAKE3, and the upload was
    not yet committable. The client, which was waiting for the completion, asks again once the
    server is back; the upload was left "completing" and is finished then (the blob checked
    again), and the document opens byte for byte. Meanwhile another upload in parts was
    abandoned half-way. Afterwards every version's blob has the size and BLAKE3 its version
    records, and cleanup (grace period 0) leaves exactly those blobs: no parts, no upload
    row."""
    blob_dir = Path(server_env["KLUIS_BLOB_DIR"])
    content = os.urandom(160 << 20)  # ten parts of 16 MiB: long enough to check to be caught at
    source = tmp_path / "bouwtekening.pdf"
    source.write_bytes(content)
    patient = PartPolicy(retries=12, backoff=0.2, max_backoff=2.0)
    client = Client(server.url, str(tmp_path / "profile"), parts=patient)
    client.register("architect", PASSPHRASE)
    dossier_id = client.create_dossier("Verbouwing")
    abandoned = abandoned_upload(server)

    seen: list[set[str]] = []

    def kill_while_checking() -> None:
        deadline = time.monotonic() + 300
        while not (published := blob_keys(blob_dir)):  # the parts became the blob
            if time.monotonic() > deadline:
                return
            time.sleep(0.001)
        server.kill()
        seen.append(published)
        server.start()

    killer = threading.Thread(target=kill_while_checking)
    killer.start()
    try:
        info = client.add(dossier_id, source)
    finally:
        killer.join()
    assert seen, "the server was not caught completing the upload"
    log = server.log()
    assert log.count('"route":"/api/v1/uploads/{upload_id}/complete","status":200') == 1
    assert '"method":"GET","route":"/api/v1/uploads/{upload_id}"' in log  # asked, once back
    _, copy = client.get(info.document_id, tmp_path / "copy.pdf")
    assert copy.read_bytes() == content

    database = server_env["KLUIS_DATABASE_URL"].replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(database) as conn:
        versions = conn.execute("SELECT blob_key, payload_size, payload_blake3 FROM versions")
        for key, size, digest in versions.fetchall():
            path = blob_dir / key[:2] / key
            files = sorted(path.iterdir(), key=lambda p: int(p.name)) if path.is_dir() else [path]
            blob = b"".join(f.read_bytes() for f in files)
            assert (len(blob), blake3.blake3(blob).hexdigest()) == (size, digest)
        assert conn.execute("SELECT upload_id FROM part_uploads").fetchall() == [(abandoned,)]

    env = {**server_env, "KLUIS_UPLOAD_GRACE_SECONDS": "0"}
    cleanup = run_server("cleanup", "--data-dir", str(server.data_dir), env=env)
    assert cleanup.returncode == 0, cleanup.stderr
    assert "1 stale uploads in parts" in cleanup.stdout
    assert partial_files(blob_dir) == []
    assert list((blob_dir / "parts").iterdir()) == []
    with psycopg.connect(database) as conn:
        committed = {row[0] for row in conn.execute("SELECT blob_key FROM versions")}
        assert conn.execute("SELECT count(*) FROM part_uploads").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM uploads WHERE NOT committed").fetchone() == (0,)
    assert blob_keys(blob_dir) == committed
    _, again = client.get(info.document_id, tmp_path / "again.pdf")
    assert again.read_bytes() == content
    client.close()


def abandoned_upload(server: LiveServer) -> str:
    """An upload in parts with one of its two parts sent, never completed."""
    body = registration(f"gone-{os.urandom(3).hex()}")
    part = os.urandom(5 << 20)
    with httpx.Client(base_url=server.api_url, timeout=60) as http:
        http.post("/users", json=body).raise_for_status()
        login = {"username": body["username"], "auth_key": body["auth_key"]}
        auth = {"Authorization": f"Bearer {http.post('/auth/login', json=login).json()['token']}"}
        created = http.post(
            "/uploads/parts", json={"size": 2 * len(part), "part_size": len(part)}, headers=auth
        )
        upload_id: str = created.json()["upload_id"]
        headers = {**auth, "Kluis-Part-BLAKE3": blake3.blake3(part).hexdigest()}
        http.put(f"/uploads/{upload_id}/parts/1", content=part, headers=headers).raise_for_status()
    return upload_id
