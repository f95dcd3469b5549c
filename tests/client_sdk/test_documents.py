"""Documents in process: which files may go in, how ids are resolved, how often the profile is
written. The whole flow through the CLI is in test_cli_flow.py."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from client_sdk import Client
from client_sdk.cli.main import app
from client_sdk.documents import DocumentsMixin, readable_file
from client_sdk.errors import ClientError
from client_sdk.localserver import LocalServer
from client_sdk.profile import Profile

DOSSIER = "d0" * 16
DOCUMENT = "e1" * 16


# -- which files may be added ----------------------------------------------------------------------
def test_a_readable_file_is_accepted(tmp_path: Path) -> None:
    (tmp_path / "brief.txt").write_text("brief")
    assert readable_file(tmp_path / "brief.txt") == tmp_path / "brief.txt"


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ClientError, match=r"absent\.txt: no such file"):
        readable_file(tmp_path / "absent.txt")


def test_a_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ClientError, match="is a folder, not a file"):
        readable_file(tmp_path)


def test_a_fifo_is_refused_without_opening_it(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")  # opening it for reading would block until a writer comes
    with pytest.raises(ClientError, match="not a regular file"):
        readable_file(tmp_path / "pipe")


def test_an_unreadable_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # chmod 000 does not stop root (the tests may run as root): make open() refuse instead
    (tmp_path / "geheim.txt").write_text("x")

    def refuse(self: Path, *args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "open", refuse)
    with pytest.raises(ClientError, match=r"cannot read .*geheim\.txt: Permission denied"):
        readable_file(tmp_path / "geheim.txt")


class Documents(DocumentsMixin):
    """The documents part of the client alone."""


def test_add_many_checks_every_file_before_it_talks_to_the_server(tmp_path: Path) -> None:
    requests: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        requests.append(request.url.path)
        return httpx.Response(500)

    (tmp_path / "present.txt").write_text("present")
    docs = Documents(
        "http://kluis.test", str(tmp_path / "p"), transport=httpx.MockTransport(handle)
    )
    with docs, pytest.raises(ClientError, match="absent"):
        docs.add_many(DOSSIER, [tmp_path / "present.txt", tmp_path / "absent"])
    with docs, pytest.raises(ClientError, match="is a folder"):
        docs.update(DOCUMENT, tmp_path)
    assert requests == []


def test_kluis_add_checks_every_file_before_it_talks_to_the_server(
    tmp_path: Path, closed_port_url: str
) -> None:
    (tmp_path / "present.txt").write_text("present")
    (tmp_path / "map").mkdir()
    for files in (["present.txt", "absent"], ["present.txt", "map"]):
        result = CliRunner().invoke(
            app,
            ["add", DOSSIER, *(str(tmp_path / f) for f in files), "--server", closed_port_url],
            env={"KLUIS_PROFILE": str(tmp_path / "p")},
        )
        assert result.exit_code == 1
        assert "cannot reach" not in result.stderr  # refused before any connection
        assert files[1] in result.stderr and result.stderr.startswith("error: ")


# -- resolving ids ---------------------------------------------------------------------------------
@pytest.fixture
def listing_client(tmp_path: Path) -> Iterator[tuple[Client, list[str]]]:
    """A client whose server knows one dossier holding one document, recording every request."""
    requests: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/api/v1")
        requests.append(path)
        if path == "/dossiers":
            return httpx.Response(200, json=[{"dossier_id": DOSSIER}])
        if path == f"/dossiers/{DOSSIER}/documents":
            version = {"document_id": DOCUMENT, "version": 1, "header": "", "author_id": "ab" * 16}
            return httpx.Response(200, json=[{"document_id": DOCUMENT, "versions": [version]}])
        return httpx.Response(404)

    client = Client("http://kluis.test", str(tmp_path / "p"), transport=httpx.MockTransport(handle))
    with client:
        yield client, requests


def test_a_whole_document_id_needs_no_listing(listing_client: tuple[Client, list[str]]) -> None:
    # An owner of a dossier with 10,000 documents: a full id must not fetch every listing.
    client, requests = listing_client
    assert client.resolve_target(DOCUMENT.upper()) == ("document", DOCUMENT)
    assert requests == ["/dossiers"]


def test_a_whole_dossier_id_needs_no_listing(listing_client: tuple[Client, list[str]]) -> None:
    client, requests = listing_client
    assert client.resolve_target(DOSSIER) == ("dossier", DOSSIER)
    assert requests == ["/dossiers"]


def test_a_prefix_still_searches_the_listings(listing_client: tuple[Client, list[str]]) -> None:
    client, requests = listing_client
    assert client.resolve_target(DOCUMENT[:6]) == ("document", DOCUMENT)
    assert requests == ["/dossiers", f"/dossiers/{DOSSIER}/documents"]


# -- the profile is written once per batch -----------------------------------------------------
def test_adding_several_files_writes_the_trust_memory_as_often_as_adding_one(
    server: LocalServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writes: list[int] = []
    real_write = Profile._write_trust

    def counting(self: Profile, trust: dict[str, object]) -> None:
        writes.append(1)
        real_write(self, trust)

    files = []
    for n in range(5):
        files.append(tmp_path / f"foto-{n}.jpg")
        files[-1].write_bytes(bytes([n]) * 100)
    with Client(server.url, str(tmp_path / "anna")) as anna:
        anna.register("anna-batch", "passphrase of anna-batch 2026 kaasschaaf")
        dossier = anna.create_dossier("Batch")
        anna.add_many(dossier, files[:1])  # the first add also remembers the dossier's owner
        monkeypatch.setattr(Profile, "_write_trust", counting)
        anna.add_many(dossier, files[1:2])
        one = len(writes)
        writes.clear()
        anna.add_many(dossier, files[2:])
        assert len(writes) == one
        assert {i.name for i in anna.documents(dossier)} == {f.name for f in files}


def test_a_listing_from_sync_that_another_device_overtook_is_fetched_again(
    server: LocalServer, tmp_path: Path
) -> None:
    # `kluis ls` lists with the listing `sync` fetched (Synced.listing), after loading the
    # index again. When another of the owner's devices signs a document in between, the index
    # names a document that listing lacks: no server withheld it, so the listing is fetched
    # once more and checked against the index, instead of a false security alarm.
    passphrase = "passphrase of anna-race 2026 kaasschaaf"
    (tmp_path / "eerste.txt").write_bytes(b"een")
    (tmp_path / "tweede.txt").write_bytes(b"twee")
    with (
        Client(server.url, str(tmp_path / "laptop")) as laptop,
        Client(server.url, str(tmp_path / "phone")) as phone,
    ):
        laptop.register("anna-race", passphrase)
        dossier = laptop.create_dossier("Twee apparaten")
        laptop.add_many(dossier, [tmp_path / "eerste.txt"])
        phone.login("anna-race", passphrase)
        synced = laptop.sync(dossier)
        assert synced.listing is not None and len(synced.listing) == 1
        phone.add_many(dossier, [tmp_path / "tweede.txt"])  # a new index, signed on the phone
        listed = laptop.documents(dossier, listing=synced.listing)
        assert sorted(i.name for i in listed) == ["eerste.txt", "tweede.txt"]
        assert all(i.confirmed for i in listed)
