"""`kluis web --server URL` (client_sdk/webserve.py): the installed bundle, checked against its
manifest, served on 127.0.0.1 with the server's own headers, except that the CSP's connect-src
allows exactly the remote server, and `/config.json` names that server.

The headers are compared with the server's (server/routes/web.py, and a real server app's
answer), the served bytes with the installed files, and a changed installed file stops
`kluis web` with exit 3 before anything is served."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from client_sdk.errors import ClientError
from client_sdk.webserve import (
    load_checked_bundle,
    make_server,
    server_origin,
    web_headers,
)
from client_sdk.webverify import installed_manifest_path, verify_web
from server.app import create_app
from server.config import Settings
from server.routes import web
from vault.errors import IntegrityError

BUILT = installed_manifest_path().parent
REMOTE = "https://kluis.example.nl"
KLUIS = str(Path(sys.executable).with_name("kluis"))


def get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 (loopback)
            return (
                response.status,
                {k.lower(): v for k, v in response.headers.items()},
                response.read(),
            )
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read()


@pytest.fixture
def local() -> Iterator[str]:
    http: ThreadingHTTPServer = make_server(load_checked_bundle(), REMOTE, port=0)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    try:
        host, port = http.server_address[:2]
        assert host == "127.0.0.1"
        yield f"http://127.0.0.1:{port}"
    finally:
        http.shutdown()
        http.server_close()


def test_without_a_server_the_headers_are_the_servers() -> None:
    assert web_headers(None) == web.WEB_HEADERS


def test_with_a_server_only_connect_src_differs() -> None:
    mine = web_headers(REMOTE)
    assert {k: v for k, v in mine.items() if k != "content-security-policy"} == {
        k: v for k, v in web.WEB_HEADERS.items() if k != "content-security-policy"
    }
    directives = mine["content-security-policy"].split("; ")
    assert directives == [
        f"connect-src 'self' {REMOTE}" if d == "connect-src 'self'" else d
        for d in web.CSP_DIRECTIVES
    ]


def test_it_serves_the_installed_bytes_with_the_headers_of_the_server(
    local: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in list(os.environ):
        if name.startswith("KLUIS_"):
            monkeypatch.delenv(name)
    from fastapi.testclient import TestClient

    with TestClient(create_app(Settings(data_dir=tmp_path))) as server:
        theirs = server.get("/")
    status, mine, body = get(local + "/")
    assert status == 200
    assert body == (BUILT / "index.html").read_bytes() == theirs.content
    assert mine["content-type"] == theirs.headers["content-type"]
    for name in web.WEB_HEADERS:
        if name != "content-security-policy":
            assert mine[name] == theirs.headers[name], name
    assert mine["content-security-policy"] == theirs.headers["content-security-policy"].replace(
        "connect-src 'self'", f"connect-src 'self' {REMOTE}"
    )
    manifest = json.loads((BUILT / "manifest.json").read_bytes())
    for entry in manifest["files"]:
        if entry["path"] != "index.html":
            status, headers, body = get(f"{local}/{entry['path']}")
            assert status == 200
            assert body == (BUILT / entry["path"]).read_bytes()
            assert headers["integrity-policy"] == web.INTEGRITY_POLICY


def test_the_config_names_the_remote_server_and_nothing_else(local: str) -> None:
    status, headers, body = get(local + "/config.json")
    assert status == 200
    assert json.loads(body) == {"format": "kluis-web-config/1", "server": REMOTE}
    assert headers["content-security-policy"] == web_headers(REMOTE)["content-security-policy"]


@pytest.mark.parametrize(
    "path", ["/manifest.json", "/index.html", "/assets/../manifest.json", "/api/v1/me", "/x"]
)
def test_nothing_else_is_served(local: str, path: str) -> None:
    status, headers, _ = get(local + path)
    assert status == 404
    assert headers["content-security-policy"].startswith("default-src 'self'")


def test_it_answers_only_under_its_own_address(local: str) -> None:
    port = local.rsplit(":", 1)[1]
    for host in (f"localhost:{port}", f"evil.example:{port}", "127.0.0.1"):
        request = urllib.request.Request(local + "/", headers={"host": host})  # noqa: S310
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=30)  # noqa: S310 (loopback)
        assert refused.value.code == 421, host
        assert refused.value.read() == b"not found\n"


def test_what_it_serves_passes_kluis_web_verify(local: str) -> None:
    assert verify_web(local).ok


def test_the_servers_own_config_names_no_other_server(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    with TestClient(create_app(Settings(data_dir=tmp_path))) as server:
        answer = server.get("/config.json")
    assert answer.json() == {"format": "kluis-web-config/1", "server": None}
    assert answer.headers["content-security-policy"] == web.CONTENT_SECURITY_POLICY


@pytest.mark.parametrize(
    ("given", "origin"),
    [
        ("https://Kluis.Example.NL", "https://kluis.example.nl"),
        ("https://kluis.example.nl/", "https://kluis.example.nl"),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("http://[::1]:8000/", "http://[::1]:8000"),
    ],
)
def test_the_server_is_taken_as_its_origin(given: str, origin: str) -> None:
    assert server_origin(given) == origin


@pytest.mark.parametrize(
    "given",
    [
        "kluis.example.nl",
        "ftp://kluis.example.nl",
        "https://kluis.example.nl/kluis",
        "https://user@kluis.example.nl",
        "https://kluis.example.nl?x",
        "https://kluis.example.nl:99999",
        "https://",
    ],
)
def test_anything_but_an_origin_is_refused(given: str) -> None:
    with pytest.raises(ClientError):
        server_origin(given)


@pytest.fixture
def changed_install(tmp_path: Path) -> Path:
    """A copy of the installed package's web app, as a `server` package of its own that
    `kluis web` finds first (it never imports it), with one byte of main.js changed."""
    package = tmp_path / "site" / "server"
    shutil.copytree(BUILT, package / "web" / "static")
    shutil.copy(BUILT.parent / "headers.json", package / "web" / "headers.json")
    (package / "__init__.py").write_text("")
    main_js = package / "web" / "static" / "assets" / "main.js"
    data = bytearray(main_js.read_bytes())
    data[100] ^= 1
    main_js.write_bytes(bytes(data))
    return tmp_path / "site"


def test_a_changed_installed_file_is_refused(changed_install: Path) -> None:
    with pytest.raises(IntegrityError, match=re.escape("assets/main.js")):
        load_checked_bundle(changed_install / "server" / "web" / "static")
    (changed_install / "server" / "web" / "static" / "assets" / "style.css").unlink()
    with pytest.raises(IntegrityError, match=re.escape("assets/style.css: missing")):
        load_checked_bundle(changed_install / "server" / "web" / "static")


def test_kluis_web_exits_3_on_a_changed_install_and_serves_nothing(changed_install: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(changed_install)}
    result = subprocess.run(
        [KLUIS, "web", "--server", REMOTE, "--port", "0"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 3, result.stderr
    assert "assets/main.js" in result.stderr
    assert "127.0.0.1" not in result.stdout


def test_kluis_web_needs_a_server() -> None:
    result = subprocess.run([KLUIS, "web"], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2
    assert "--server" in result.stdout
