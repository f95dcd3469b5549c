"""A third-party implementation accepts a LIVE server's log: Go's golang.org/x/mod/sumdb/note
opens the checkpoint the server serves with the verifier key it printed at start, and
sumdb/tlog reads the tree through the server's C2SP tiles (checking every tile against the
signed root), recomputes the root, accepts the inclusion proofs the server's lookups hand out
and the consistency proof from an older checkpoint (tests/interop/tlogclient)."""

from __future__ import annotations

import base64
import json
import re
import secrets
import subprocess
from pathlib import Path

import httpx
import pytest

from client_sdk.localserver import LocalServer
from vault.keys import PrivateIdentity

from ..conftest import LiveServerFactory
from ..vault.test_tlog_interop import go_build
from .harness import b64, new_id, registration

DATABASES = ("sqlite",)
CLIENT = Path(__file__).resolve().parents[1] / "interop" / "tlogclient"


@pytest.fixture(scope="module")
def tlogclient(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return go_build(CLIENT, tmp_path_factory.mktemp("go"))


def register(server: LocalServer, username: str) -> httpx.Client:
    user_id = secrets.token_bytes(16)
    identity = PrivateIdentity.generate(user_id, username).public.encode()
    body = registration(username, user_id=user_id.hex(), identity=b64(identity))
    http = httpx.Client(base_url=server.api_url, timeout=30)
    assert http.post("/users", json=body).status_code == 201
    login = http.post("/auth/login", json={"username": username, "auth_key": body["auth_key"]})
    http.headers["Authorization"] = f"Bearer {login.json()['token']}"
    return http


def test_go_checks_a_live_servers_checkpoint_tiles_and_proofs(
    live_server_factory: LiveServerFactory, tlogclient: Path
) -> None:
    server = live_server_factory()
    match = re.search(r"Kluis log key (\S+)", server.log())
    assert match, server.log()
    first = register(server, "anna")
    old = httpx.get(server.url + "/log/checkpoint").text
    old_size = int(old.split("\n")[1])
    for n in range(260):  # past one full tile of 256 hashes: organisation epochs are cheap
        org = {"org_id": new_id(), "name": f"org{n}", "kind": 2, "record": b64(b"KLOK" + bytes(60)),
               "membership": b64(b"KLOM" + bytes(60))}  # fmt: skip
        assert first.post("/organisations", json=org).status_code == 201
    register(server, "bert")
    names = ["anna", "bert"]
    answer = first.post("/log/lookup", json={"users": names, "since": old_size}).json()
    request = {
        "url": server.url,
        "token": first.headers["Authorization"].removeprefix("Bearer "),
        "vkey": match.group(1),
        "old_note": old,
        "inclusion": [
            {"index": u["log"]["index"], "proof": u["log"]["inclusion"]} for u in answer["users"]
        ],
        "consistency": answer["head"]["consistency"],
    }
    done = subprocess.run(
        [str(tlogclient)], input=json.dumps(request), capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout)
    assert got["size"] == answer["head"]["size"] >= 263
    assert got["root_matches"] is True
    assert got["inclusion"] == ["ok", "ok"]
    assert got["consistency"] == got["go_consistency"] == "ok"
    # and a proof the server did not make is refused by Go as well
    bad = base64.b64encode(bytes(32)).decode()
    request["inclusion"] = [{"index": answer["users"][0]["log"]["index"], "proof": [bad] * 9}]
    request["old_note"] = ""
    done = subprocess.run(
        [str(tlogclient)], input=json.dumps(request), capture_output=True, text=True, check=False
    )
    assert json.loads(done.stdout)["inclusion"] != ["ok"]
