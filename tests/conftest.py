"""Fixtures shared by every test package.

`live_server` runs a REAL Kluis server process (`python -m server`) on a free port with its
own data directory, for tests that must go over HTTP (client SDK, adversarial, end to end):

    def test_something(live_server):
        httpx.get(live_server.url + "/healthz")
        live_server.api_url          # ".../api/v1"
        live_server.data_dir         # Path; live_server.db_path, live_server.blob_dir
        live_server.restart()        # stop (SIGTERM) and start again on the same port
        live_server.kill()           # SIGKILL, e.g. to simulate a crash; start() brings it back
        live_server.log()            # what the process printed (stdout and stderr)

`shared_server` is one such process shared by a module's tests (see its rules below).
`live_server_factory(env=..., data_dir=...)` starts more servers, or one with settings from
`KLUIS_*` environment variables, e.g. `live_server_factory(env={"KLUIS_MAX_UPLOAD_BYTES":
"1000"})`. Every server started through these fixtures is stopped at teardown. Ports come from
the OS (`--port 0`), so the fixtures are safe under pytest-xdist.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from client_sdk.localserver import LocalServer as LiveServer

LiveServerFactory = Callable[..., LiveServer]


@pytest.fixture
def live_server_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServerFactory]:
    started: list[LiveServer] = []

    def start(env: dict[str, str] | None = None, data_dir: Path | None = None) -> LiveServer:
        directory = data_dir or tmp_path_factory.mktemp("kluis-server") / "data"
        server = LiveServer(directory, env)
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def live_server(live_server_factory: LiveServerFactory) -> LiveServer:
    """A fresh server process with an empty data directory, stopped after the test."""
    return live_server_factory()


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One server process for all of a module's tests that ask for it: starting a process per
    test is most of the suite's time. Its tests must register users of their own (unique
    names) and must not restart, kill or measure it, nor read its log; those take
    `live_server`."""
    server = LiveServer(tmp_path_factory.mktemp("kluis-shared-server") / "data", None)
    yield server.start()
    server.stop()
