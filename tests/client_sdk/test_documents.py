"""Documents in process: how ids are resolved. The whole flow through the CLI is in
test_cli_flow.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from client_sdk import Client

DOSSIER = "d0" * 16
DOCUMENT = "e1" * 16


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
