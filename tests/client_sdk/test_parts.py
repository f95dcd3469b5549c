"""The client uploads a large payload in parts and resumes after a dropped connection, against a
real server process: the connection drops in the middle of a part (the server sees the part cut
off), after a part arrived (the answer is lost), or a part is damaged on the way; the server
itself restarts mid-upload. Each time the client asks which parts arrived and sends only what is
missing, without encrypting again, and the committed document opens byte for byte. It gives up
after so many failures in a row (aborting the upload), refuses a file that changes while it is
read, and holds two parts in memory, not the file.

`Line` is a real httpx transport with a fault put in on purpose, as a bad rural line would: it
is not a stand-in for any of Kluis's own code."""

from __future__ import annotations

import os
import threading
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from client_sdk import Client, ClientError, ServerUnreachable
from client_sdk.errors import NotFound
from client_sdk.localserver import LocalServer
from client_sdk.parts import PartPolicy

MIB = 1 << 20
PART = 5 * MIB  # the smallest part the server takes
POLICY = PartPolicy(threshold=PART, part_size=PART, retries=4, backoff=0.05, max_backoff=0.5)
ONE_AT_A_TIME = PartPolicy(
    threshold=PART, part_size=PART, parallel=1, retries=4, backoff=0.05, max_backoff=0.5
)
PASSPHRASE = "parts test passphrase for the resumable upload"


@dataclass
class Line:
    """An httpx transport to the real server that can drop the connection of a part's request:
    `cut` (mid-way through sending the part), `lost` (after the server answered), `damaged`
    (one byte of the body changed on the way, its BLAKE3 header unchanged), one fault per
    attempt at that part; or run `before` a part's first attempt goes out (to stop the server,
    say). It writes down every request about uploads, in the order they went out."""

    faults: dict[int, list[str]] = field(default_factory=dict)
    before: dict[int, Callable[[], None]] = field(default_factory=dict)
    inner: httpx.HTTPTransport = field(default_factory=httpx.HTTPTransport)
    requests: list[str] = field(default_factory=list)  # "PUT 2", "GET", "POST complete", ...
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.transport = _Transport(self)


class _Transport(httpx.BaseTransport):
    def __init__(self, line: Line) -> None:
        self.line = line

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        line = self.line
        path = request.url.path
        if request.method == "PUT" and "/parts/" in path:
            number = int(path.rsplit("/", 1)[1])
            with line.lock:
                first = f"PUT {number}" not in line.requests
                line.requests.append(f"PUT {number}")
                faults = line.faults.get(number, [])
                fault = faults.pop(0) if faults else None
            if first and (hook := line.before.get(number)):
                hook()
            if fault == "cut":
                request.stream = _Cut(request.stream, after=PART // 2)
            elif fault == "damaged":
                request.stream = _Damaged(request.stream)
            if fault == "lost":
                response = line.inner.handle_request(request)
                response.read()
                response.close()
                raise httpx.ReadError("the connection dropped before the answer arrived")
            return line.inner.handle_request(request)
        if "/uploads" in path:  # POST whole, POST parts, GET, POST complete, DELETE <id>
            pieces = [p for p in path.split("/uploads", 1)[1].split("/") if p]
            if request.method == "DELETE":
                name = f"DELETE {pieces[0]}"
            elif request.method == "GET":
                name = "GET"
            else:
                name = f"POST {pieces[-1] if pieces else 'whole'}"
            with line.lock:
                line.requests.append(name)
        return line.inner.handle_request(request)

    def close(self) -> None:
        self.line.inner.close()


class _Cut(httpx.SyncByteStream):
    def __init__(self, stream: httpx.SyncByteStream, after: int) -> None:
        self.stream, self.after = stream, after

    def __iter__(self) -> Iterator[bytes]:
        sent = 0
        for chunk in self.stream:  # type: ignore[union-attr]
            if sent + len(chunk) > self.after:
                raise httpx.WriteError("the connection dropped mid-way through the part")
            sent += len(chunk)
            yield chunk


class _Damaged(httpx.SyncByteStream):
    def __init__(self, stream: httpx.SyncByteStream) -> None:
        self.stream = stream

    def __iter__(self) -> Iterator[bytes]:
        for index, chunk in enumerate(self.stream):  # type: ignore[union-attr]
            if index == 1:
                chunk = bytes([chunk[0] ^ 1]) + chunk[1:]
            yield chunk


@pytest.fixture(scope="module")
def account(server: LocalServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One registered profile for the module (Argon2id is slow): its directory."""
    profile = tmp_path_factory.mktemp("parts") / "profile"
    with Client(server.url, str(profile)) as client:
        client.register("uploader", PASSPHRASE)
    return profile


def add_through(
    server: LocalServer,
    profile: Path,
    line: Line,
    content: bytes,
    tmp_path: Path,
    policy: PartPolicy = POLICY,
) -> tuple[Client, str, str]:
    """Add `content` as a document through `line`; return the client, dossier and document."""
    client = Client(server.url, str(profile), transport=line.transport, parts=policy)
    dossier_id = client.create_dossier("Verbouwing")
    source = tmp_path / "tekening.pdf"
    source.write_bytes(content)
    info = client.add(dossier_id, source)
    return client, dossier_id, info.document_id


def opens_as(client: Client, document_id: str, content: bytes, tmp_path: Path) -> None:
    _, copy = client.get(document_id, tmp_path / "copy.pdf", overwrite=True)
    assert copy.read_bytes() == content


def test_a_large_document_goes_up_in_parts_and_a_small_one_whole(
    server: LocalServer, account: Path, tmp_path: Path
) -> None:
    line = Line()
    content = os.urandom(2 * PART + 12345)  # three parts of the payload
    client, dossier_id, document_id = add_through(server, account, line, content, tmp_path)
    assert line.requests[0] == "POST parts"
    assert sorted(line.requests[1:-1]) == ["PUT 1", "PUT 2", "PUT 3"]  # two at a time
    assert line.requests[-1] == "POST complete"
    opens_as(client, document_id, content, tmp_path)

    line.requests.clear()
    small = tmp_path / "brief.txt"
    small.write_bytes(os.urandom(PART - 10_000))  # its payload is under the threshold
    client.add(dossier_id, small)
    assert line.requests == ["POST whole"]  # POST /uploads, streamed
    client.close()


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        # Cut mid-part: the server never stored part 2; it is asked about, then sent again.
        ("cut", ["PUT 1", "PUT 2", "GET", "PUT 2", "PUT 3"]),
        # The answer was lost, the part had arrived: asked about, and not sent again.
        ("lost", ["PUT 1", "PUT 2", "GET", "PUT 3"]),
        # Damaged on the way: the server refuses it by its BLAKE3, and it is sent again.
        ("damaged", ["PUT 1", "PUT 2", "GET", "PUT 2", "PUT 3"]),
    ],
)
def test_after_a_fault_only_what_is_missing_is_sent_again(
    server: LocalServer, account: Path, tmp_path: Path, fault: str, expected: list[str]
) -> None:
    """One part at a time, so that the requests come in a fixed order."""
    line = Line(faults={2: [fault]})
    content = os.urandom(2 * PART + 999)
    client, _, document_id = add_through(
        server, account, line, content, tmp_path, policy=ONE_AT_A_TIME
    )
    assert line.requests == ["POST parts", *expected, "POST complete"]
    opens_as(client, document_id, content, tmp_path)
    client.close()


@pytest.mark.parametrize("fault", ["cut", "lost", "damaged"])
def test_with_two_parts_in_flight_only_what_is_missing_is_sent_again(
    server: LocalServer, account: Path, tmp_path: Path, fault: str
) -> None:
    line = Line(faults={2: [fault], 4: [fault]})
    content = os.urandom(5 * PART + 999)
    client, _, document_id = add_through(server, account, line, content, tmp_path)
    sent = {n: line.requests.count(f"PUT {n}") for n in range(1, 7)}
    again = 1 if fault == "lost" else 2
    assert sent == {1: 1, 2: again, 3: 1, 4: again, 5: 1, 6: 1}
    assert line.requests.count("GET") >= 2
    assert line.requests[-1] == "POST complete"
    opens_as(client, document_id, content, tmp_path)
    client.close()


def test_a_server_that_restarts_mid_upload_is_waited_for(
    live_server: LocalServer, tmp_path: Path
) -> None:
    with Client(live_server.url, str(tmp_path / "profile")) as client:
        client.register("uploader", PASSPHRASE)

    def restart_soon() -> None:  # the server dies as part 2 is about to go; it is back a bit later
        live_server.kill()
        threading.Thread(target=live_server.start, daemon=True).start()

    patient = PartPolicy(threshold=PART, part_size=PART, retries=8, backoff=0.2, max_backoff=5)
    line = Line(before={2: restart_soon})
    content = os.urandom(3 * PART + 1)
    with Client(
        live_server.url, str(tmp_path / "profile"), transport=line.transport, parts=patient
    ) as client:
        dossier_id = client.create_dossier("Verbouwing")
        source = tmp_path / "scan.tiff"
        source.write_bytes(content)
        info = client.add(dossier_id, source)
        assert line.requests.count("PUT 4") == 1  # sent once, after the restart
        assert line.requests[-1] == "POST complete"
        opens_as(client, info.document_id, content, tmp_path)


def test_after_so_many_failures_in_a_row_the_upload_is_given_up_and_aborted(
    server: LocalServer, account: Path, tmp_path: Path
) -> None:
    attempts = POLICY.retries + 1
    line = Line(faults={2: ["cut"] * attempts})
    client = Client(server.url, str(account), transport=line.transport, parts=POLICY)
    dossier_id = client.create_dossier("Verbouwing")
    source = tmp_path / "tekening.pdf"
    source.write_bytes(os.urandom(2 * PART + 1))
    with pytest.raises(ServerUnreachable, match=f"after {attempts} failed attempts at part 2"):
        client.add(dossier_id, source)
    assert line.requests.count("PUT 2") == attempts
    assert line.requests[-1].startswith("DELETE ")  # aborted
    upload_id = line.requests[-1].split(" ")[1]
    with pytest.raises(NotFound):
        client.api.part_upload(upload_id)
    assert client.documents(dossier_id) == []
    client.close()


def test_a_file_that_changes_while_it_is_uploaded_is_refused(
    server: LocalServer, account: Path, tmp_path: Path
) -> None:
    source = tmp_path / "groeiend.log"
    source.write_bytes(os.urandom(6 * PART))

    def grow() -> None:  # the producer is at most two parts ahead of the one being sent
        with source.open("ab") as fh:
            fh.write(b"one more line\n")

    line = Line(before={2: grow})
    client = Client(server.url, str(account), transport=line.transport, parts=POLICY)
    dossier_id = client.create_dossier("Logboek")
    with pytest.raises(ClientError, match="changed while it was being uploaded"):
        client.add(dossier_id, source)
    assert line.requests[-1].startswith("DELETE ")
    assert client.documents(dossier_id) == []
    client.close()


def test_memory_holds_two_parts_not_the_file(
    server: LocalServer, account: Path, tmp_path: Path
) -> None:
    content = os.urandom(12 * PART)  # 60 MiB
    line = Line()
    client = Client(server.url, str(account), transport=line.transport, parts=POLICY)
    dossier_id = client.create_dossier("Groot")
    source = tmp_path / "groot.bin"
    source.write_bytes(content)
    tracemalloc.start()
    try:
        info = client.add(dossier_id, source)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert line.requests.count("POST complete") == 1
    # Two parts in flight and the payload pipeline's few 1 MiB batches (21 MiB measured), far
    # from the 60 MiB the file would take.
    assert peak < 6 * PART, f"peak {peak / MIB:.1f} MiB for a {len(content) // MIB} MiB file"
    opens_as(client, info.document_id, content, tmp_path)
    client.close()
