"""The key transparency log between real processes: a server on loopback, a witness as a
separate process (`kluis witness`), and the client's checks of format section
17.6 (vault.keylookup.verify_lookup) applied to the server's lookup answers.

- a registered account's identity record comes back from the batch lookup with its label,
  proofs and a checkpoint the witness cosigned, and passes every check;
- a second lookup proves the newer checkpoint extends the first (consistency proof);
- a second server with the same log key that shows another key for the same name (a fork) is
  refused by the shared witness, so a device requiring that witness refuses it, and a device
  that saw the first server's checkpoint detects the fork by itself;
- tiles are for logged-in accounts only, and prove the same root as the checkpoint.
"""

from __future__ import annotations

import base64
import json
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from client_sdk.localserver import LocalServer
from vault import vrf
from vault.checkpoint import Checkpoint, TrustedLog, kluis_origin, open_checkpoint
from vault.cosignature import WitnessPolicy, parse_witness_vkey
from vault.errors import IntegrityError, SignatureError
from vault.keylookup import verify_lookup
from vault.keys import PrivateIdentity
from vault.logentry import Namespace
from vault.note import Ed25519Signer
from vault.tlog import TileHashReader, tree_hash

from ..conftest import LiveServerFactory
from .harness import b64, registration

DATABASES = ("sqlite",)
REPO_ROOT = Path(__file__).resolve().parents[2]
ORIGIN = kluis_origin("localhost")


@dataclass
class WitnessProcess:
    process: subprocess.Popen[str]
    url: str
    vkey: str


@dataclass
class LogParams:
    log_seed: str
    vrf_seed: str
    log_vkey: str
    vrf_key: bytes


@pytest.fixture
def params() -> LogParams:
    log_seed, vrf_seed = secrets.token_bytes(32), secrets.token_bytes(32)
    return LogParams(
        log_seed.hex(),
        vrf_seed.hex(),
        Ed25519Signer(ORIGIN, log_seed).verifier.vkey,
        vrf.public_key(vrf_seed),
    )


@pytest.fixture
def witness(tmp_path: Path, params: LogParams) -> Iterator[WitnessProcess]:
    # The witness as an operator starts it: the `kluis witness` command, a process of its own.
    kluis = str(Path(sys.executable).with_name("kluis"))
    command = [kluis, "witness", "--key-file", str(tmp_path / "w.key")]
    command += ["--name", "dorpsbelang/witness", "--log", params.log_vkey, "--port", "0"]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO_ROOT
    )
    assert process.stdout is not None
    vkey = process.stdout.readline().split()[-1]
    url = process.stdout.readline().split()[-1]
    yield WitnessProcess(process, url, vkey)
    process.terminate()
    process.wait(10)


def start_server(
    factory: LiveServerFactory, params: LogParams, witness: WitnessProcess
) -> LocalServer:
    return factory(
        env={
            "KLUIS_LOG_KEY": params.log_seed,
            "KLUIS_VRF_KEY": params.vrf_seed,
            "KLUIS_WITNESSES": json.dumps([f"{witness.url} {witness.vkey}"]),
        }
    )


def register(server: LocalServer, username: str) -> tuple[httpx.Client, bytes]:
    """Register `username` with a real identity record; a logged-in client and the record."""
    user_id = secrets.token_bytes(16)
    identity = PrivateIdentity.generate(user_id, username).public.encode()
    body = registration(username, user_id=user_id.hex(), identity=b64(identity))
    http = httpx.Client(base_url=server.api_url, timeout=30)
    assert http.post("/users", json=body).status_code == 201
    login = http.post("/auth/login", json={"username": username, "auth_key": body["auth_key"]})
    assert login.status_code == 200, login.text
    http.headers["Authorization"] = f"Bearer {login.json()['token']}"
    return http, identity


def trusted(params: LogParams, policy: WitnessPolicy) -> TrustedLog:
    """What a client is configured with: origin, log key, witnesses (format section 17)."""
    return TrustedLog(
        ORIGIN, Ed25519Signer(ORIGIN, bytes.fromhex(params.log_seed)).verifier, policy
    )


def check(
    answer: dict[str, Any],
    params: LogParams,
    policy: WitnessPolicy,
    name: str,
    previous: Checkpoint | None = None,
) -> Checkpoint:
    """The client's checks of a batch lookup's answer for user `name`; the accepted checkpoint."""
    user = next(u for u in answer["users"] if u["username"] == name)
    b = base64.b64decode
    looked = verify_lookup(
        log=trusted(params, policy),
        vrf_key=params.vrf_key,
        previous=previous,
        checkpoint=answer["head"]["checkpoint"].encode(),
        consistency=[b(h) for h in answer["head"]["consistency"]],
        namespace=Namespace.USER,
        name=name,
        label_proof=b(user["log"]["label_proof"]),
        record=b(user["identity"]),
        index=user["log"]["index"],
        inclusion=[b(h) for h in user["log"]["inclusion"]],
    )
    return looked.checkpoint.checkpoint


def test_lookups_carry_proofs_a_client_accepts(
    live_server_factory: LiveServerFactory, params: LogParams, witness: WitnessProcess
) -> None:
    server = start_server(live_server_factory, params, witness)
    assert f"Kluis log key {params.log_vkey}" in server.log()
    http, identity = register(server, "anna")
    policy = WitnessPolicy((parse_witness_vkey(witness.vkey),), 1)
    answer = http.post("/log/lookup", json={"users": ["anna", "nobody"]}).json()
    assert answer["missing_users"] == ["nobody"]
    assert base64.b64decode(answer["users"][0]["identity"]) == identity
    first = check(answer, params, policy, "anna")
    assert len(answer["operator_keys"]) == 1  # the operator key is published in the log

    bert, _ = register(server, "bert")
    answer = bert.post("/log/lookup", json={"users": ["anna"], "since": first.size}).json()
    second = check(answer, params, policy, "anna", previous=first)
    assert second.size == first.size + 1

    # the tiles: logged-in accounts only; they give the checkpoint's root
    base = server.url + "/log/"
    assert httpx.get(base + "tile/0/000.p/1").status_code == 401
    fetched = TileHashReader(
        second.size,
        lambda tile: bert.get(base + tile.path, headers=bert.headers).content,
    )
    assert tree_hash(second.size, fetched) == second.root
    bundle = bert.get(base + f"tile/entries/000.p/{second.size}")
    assert bundle.status_code == 200 and b"anna" not in bundle.content
    public = httpx.get(base + "checkpoint").content  # checkpoints are public
    assert open_checkpoint(public, trusted(params, policy)).checkpoint == second


def test_a_forked_log_is_refused_by_the_shared_witness(
    live_server_factory: LiveServerFactory, params: LogParams, witness: WitnessProcess
) -> None:
    honest = start_server(live_server_factory, params, witness)
    http, _ = register(honest, "anna")
    policy = WitnessPolicy((parse_witness_vkey(witness.vkey),), 1)
    seen = check(http.post("/log/lookup", json={"users": ["anna"]}).json(), params, policy, "anna")

    # the same log key, another database: "anna" gets a key the real anna never made
    fork = start_server(live_server_factory, params, witness)
    rogue, _ = register(fork, "anna")
    answer = rogue.post("/log/lookup", json={"users": ["anna"]}).json()
    assert answer["head"]["size"] == seen.size
    assert "REFUSED" in witness_log(witness)
    with pytest.raises(SignatureError, match="witness"):
        check(answer, params, policy, "anna")
    without_witnesses = WitnessPolicy((), 0)
    with pytest.raises(IntegrityError, match="two different trees"):
        check(answer, params, without_witnesses, "anna", previous=seen)


def witness_log(witness: WitnessProcess) -> str:
    witness.process.terminate()
    _out, err = witness.process.communicate(timeout=10)
    return err or ""
