"""`kluis demo --web`: a running server with the web app and three seeded accounts."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
from rich.console import Console

from client_sdk.client import Client
from client_sdk.demo import DEMO_PASSPHRASE
from client_sdk.demo_web import ACCOUNTS, DOSSIER_TITLE, run_web_demo
from client_sdk.localserver import LocalServer


def test_the_web_demo_serves_the_app_with_seeded_accounts(tmp_path: Path) -> None:
    seen: dict[str, object] = {}

    def try_it(server: LocalServer) -> None:
        page = httpx.get(server.url + "/", timeout=10)
        seen["page"] = page.status_code
        for name, _ in ACCOUNTS:
            with Client(server.url, str(tmp_path / f"browser-{name}")) as person:
                person.login(name, DEMO_PASSPHRASE)
                seen[name] = {d.title: len(d.index.entries) for d in person.dossiers()}
        seen["data"] = server.data_dir

    out = io.StringIO()
    run_web_demo(Console(file=out, width=120), wait=try_it)
    text = out.getvalue()
    assert seen["page"] == 200
    # The resident's dossier, with its two documents, is shared with both others.
    for name, _ in ACCOUNTS:
        assert seen[name] == {DOSSIER_TITLE: 2}, name
    assert "http://127.0.0.1:" in text and DEMO_PASSPHRASE in text
    for name, _ in ACCOUNTS:
        assert name in text
    # Everything is deleted when the demo stops.
    assert not Path(str(seen["data"])).exists()
