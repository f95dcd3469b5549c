"""Fixtures of the client tests.

`server` is one real server process per test module (and per xdist worker): accounts cost an
Argon2id derivation each, so a module registers its users once and every test works in its own
dossiers. Tests that break the server (kill it, tamper with its database beyond their own
dossier) use the function-scoped `live_server` from tests/conftest.py instead.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from client_sdk.localserver import LocalServer


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    with LocalServer(tmp_path_factory.mktemp("client-server") / "data") as running:
        yield running


@pytest.fixture
def closed_port_url() -> str:
    """An address on loopback where nothing listens (a port the OS just handed out and freed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
