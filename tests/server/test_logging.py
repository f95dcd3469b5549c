"""Structured logs: JSON lines on stderr, one per request (method, route template, status,
duration, request id), and never a token, an auth key, a bundle, an id from a path, or anything
the user typed. The last test captures a real server's whole log during a real client flow
and searches it for every secret that crossed the wire."""

from __future__ import annotations

import json
import logging
import logging.config
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from client_sdk import Client
from server.config import Settings
from server.logging_setup import ACCESS_LOGGER, FIELDS, JsonFormatter, logging_config

from ..conftest import LiveServerFactory
from .harness import Account, FakeClock, Kluis, make_client


def record(message: str, *args: Any, exc_info: Any = None) -> logging.LogRecord:
    return logging.LogRecord("kluis.server", logging.WARNING, __file__, 1, message, args, exc_info)


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Put back the loggers that the server's configuration changes."""
    names = ["", "uvicorn", "uvicorn.error", "uvicorn.access", "kluis", ACCESS_LOGGER]
    saved = []
    for name in names:
        logger = logging.getLogger(name)
        saved.append((logger, logger.level, list(logger.handlers), logger.propagate))
    yield
    for logger, level, handlers, propagate in saved:
        logger.setLevel(level)
        logger.handlers[:] = handlers
        logger.propagate = propagate


# -- the formatter -----------------------------------------------------------------------------
def test_a_record_is_one_json_line_with_its_fields() -> None:
    entry = record("hello %s", "world")
    setattr(entry, FIELDS, {"route": "/api/v1/me", "status": 200})
    line = JsonFormatter().format(entry)
    assert "\n" not in line
    parsed = json.loads(line)
    assert parsed["message"] == "hello world"
    assert (parsed["level"], parsed["logger"]) == ("warning", "kluis.server")
    assert (parsed["route"], parsed["status"]) == ("/api/v1/me", 200)
    assert parsed["ts"].endswith("+00:00")


def test_exceptions_are_logged_by_type_and_place_not_by_message() -> None:
    try:
        try:
            raise KeyError("the-secret-key-value")
        except KeyError as inner:
            raise ValueError("a message quoting Zm9vYmFy") from inner
    except ValueError:
        entry = record("failed", exc_info=sys.exc_info())
    line = JsonFormatter().format(entry)
    parsed = json.loads(line)
    assert parsed["exception"] == "ValueError <- KeyError"
    assert any("test_logging.py" in frame for frame in parsed["frames"])
    assert "the-secret-key-value" not in line
    assert "Zm9vYmFy" not in line


@pytest.mark.usefixtures("restore_logging")
def test_the_server_configuration_routes_everything_through_json(
    capsys: pytest.CaptureFixture[str],
) -> None:
    logging.config.dictConfig(logging_config("warning", access_log=True))
    logging.getLogger(ACCESS_LOGGER).info("request", extra={FIELDS: {"status": 204}})
    logging.getLogger("kluis.server").info("not at warning level")
    logging.getLogger("uvicorn.error").warning("from uvicorn")
    logging.getLogger("uvicorn.access").warning('127.0.0.1 - "GET /api/v1/dossiers/abc"')
    logging.getLogger("somelibrary").warning("from a library")
    lines = capsys.readouterr().err.splitlines()
    messages = [json.loads(line)["message"] for line in lines]
    assert messages == ["request", "from uvicorn", "from a library"]


# -- one line per request ----------------------------------------------------------------------
def access_records(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [getattr(r, FIELDS) for r in caplog.records if r.name == ACCESS_LOGGER]


def test_one_line_per_request_with_the_route_template(
    kluis: Kluis, alice: Account, caplog: pytest.LogCaptureFixture
) -> None:
    dossier_id = kluis.create_dossier(alice)
    with caplog.at_level(logging.INFO, logger=ACCESS_LOGGER):
        caplog.clear()
        started = time.perf_counter()
        response = kluis.get(f"/dossiers/{dossier_id}", alice)
        around_ms = (time.perf_counter() - started) * 1000
        kluis.get("/dossiers/" + "0" * 32, alice)
    [found, missing] = access_records(caplog)
    assert set(found) == {"method", "route", "status", "duration_ms", "request_id"}
    assert found["method"] == "GET"
    assert found["route"] == "/api/v1/dossiers/{dossier_id}"
    assert (found["status"], missing["status"]) == (200, 404)
    assert found["request_id"] == response.headers["x-request-id"]
    # Milliseconds, and no more than the request took as seen from outside it (+ rounding).
    assert 0 <= found["duration_ms"] <= around_ms + 0.01
    assert dossier_id not in caplog.text


def test_request_lines_can_be_turned_off(
    data_dir: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        make_client(Settings(data_dir=data_dir, access_log=False), clock) as client,
        caplog.at_level(logging.INFO, logger=ACCESS_LOGGER),
    ):
        client.get("/healthz")
    assert access_records(caplog) == []


# -- a real server's log during a real client flow ---------------------------------------------
class Recording(httpx.HTTPTransport):
    """Passes requests on, keeping every credential and JSON string value that crossed."""

    def __init__(self) -> None:
        super().__init__()
        self.values: set[str] = set()
        self.requests = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        _, _, credential = request.headers.get("authorization", "").partition(" ")
        if credential:
            self.values.add(credential)
        if request.headers.get("content-type", "").startswith("application/json"):
            self.values.update(strings(json.loads(request.read())))
        response = super().handle_request(request)
        if "json" in response.headers.get("content-type", ""):
            response.read()
            self.values.update(strings(response.json()))
        return response


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def token_of(profile: Path) -> str:
    token: str = json.loads((profile / "session.json").read_text())["token"]
    return token


def test_a_full_client_flow_leaves_no_secret_in_the_servers_log(
    live_server_factory: LiveServerFactory, tmp_path: Path
) -> None:
    server = live_server_factory()
    recording = Recording()
    passphrases = {"anna": "correct horse Hoofdstraat 12", "bob": "bouwbedrijf wierda geheim"}
    dossier_title = "Schade Hoofdstraat 12 Loppersum"
    document_title = "Rapport scheuren achtergevel"
    original = tmp_path / "schaderapport-hoofdstraat-12.pdf"
    original.write_bytes(b"%PDF-1.7 inhoud van het rapport " * 500)
    tokens: list[str] = []

    anna_profile, bob_profile = tmp_path / "anna", tmp_path / "bob"
    with Client(server.url, str(bob_profile), transport=recording) as bob:
        bob_code = bob.register("bob", passphrases["bob"])
        tokens.append(token_of(bob_profile))
    with Client(server.url, str(anna_profile), transport=recording) as anna:
        anna_code = anna.register("anna", passphrases["anna"])
        tokens.append(token_of(anna_profile))
        anna.logout()
        anna.login("anna", passphrases["anna"])
        tokens.append(token_of(anna_profile))
        dossier_id = anna.create_dossier(dossier_title)
        info = anna.add(dossier_id, original, title=document_title)
        _, back = anna.get(info.document_id, tmp_path / "back.pdf")
        assert back.read_bytes() == original.read_bytes()
        anna.share(dossier_id, "bob")
        anna.access_log(dossier_id)
    with Client(server.url, str(bob_profile), transport=recording) as bob:
        bob.login("bob", passphrases["bob"])
        tokens.append(token_of(bob_profile))
        _, shared = bob.get(info.document_id, tmp_path / "bob.pdf")
        assert shared.read_bytes() == original.read_bytes()

    server.stop()  # every line written and flushed
    log = server.log()

    lines = [line for line in log.splitlines() if line.strip()]
    # Two plain lines at start: the log's public verifier key (published on purpose), then where
    # it listens.
    assert lines[0].startswith("Kluis log key ")
    assert lines[1].startswith("Kluis server listening on")
    entries = [json.loads(line) for line in lines[2:]]  # everything else is JSON
    requests = [e for e in entries if e["logger"] == ACCESS_LOGGER and e["route"] != "/healthz"]
    assert len(requests) == recording.requests
    assert {e["route"] for e in requests} >= {
        "/api/v1/users",
        "/api/v1/auth/login",
        "/api/v1/uploads",
        "/api/v1/dossiers/{dossier_id}/grants",
        "/api/v1/documents/{document_id}/versions/{version}/payload",
    }

    secrets = {s for s in recording.values if len(s) >= 16}  # ids, hashes, keys, bundles
    secrets.update(tokens)
    secrets.update(passphrases.values())
    secrets.update({anna_code.phrase, bob_code.phrase, dossier_title, document_title})
    secrets.update({original.name, original.stem, "inhoud van het rapport"})
    assert len(secrets) > 30
    # The log's verifier key came back to the client in GET /log/parameters; it is public, and
    # the server prints it on purpose (the first line).
    published = lines[0].removeprefix("Kluis log key ").strip()
    leaked = sorted(s for s in secrets - {published} if s in log)
    assert leaked == []
    assert "Bearer" not in log
    assert "/api/v1/dossiers/" + dossier_id not in log
