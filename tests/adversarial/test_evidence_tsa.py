"""RFC 3161 timestamps over evidence commitments (docs/format.md section 20.3), against a
time-stamping authority on loopback: `openssl ts -reply` with a test root and TSA certificate
made here, behind a tiny HTTP server in this process.

- a version added with a TSA configured gets a token; its package holds it with the root, and
  both its `verify.py` and the exact `openssl ts -verify` command in `evidence.json` accept it;
- a token for another hash is refused by the script (through openssl) and by the client (exit
  status 3, no package), and a TSA that answers for another request fails the add.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from vault.errors import IntegrityError

from ..server.test_tlog_live import params, witness  # noqa: F401  (fixtures)
from .harness import EXIT_SECURITY
from .test_evidence import (
    PHOTO,
    Setting,
    evidence_of,
    package,
    photo_in_dossier,
    refused_by_script,
    run_script,
    setting,  # noqa: F401  (fixture)
)

TSA_CONFIG = """\
[ tsa ]
default_tsa = tsa_config1

[ tsa_config1 ]
dir = {dir}
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.pem
certs = $dir/tsa.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""
TSA_EXTENSIONS = """\
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = critical, timeStamping
"""
EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@dataclass
class Tsa:
    url: str
    root: Path
    other_query: Path  # a request for another hash, which a lying TSA answers instead
    lying: bool = False


@pytest.fixture
def tsa(tmp_path: Path) -> Iterator[Tsa]:
    d = tmp_path / "tsa"
    d.mkdir()
    openssl("req", "-x509", *EC, "-keyout", "ca.key", "-out", "ca.pem", "-days", "30",
            "-subj", "/CN=Test TSA Root", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)  # fmt: skip
    openssl("req", "-new", *EC, "-keyout", "tsa.key", "-out", "tsa.csr",
            "-subj", "/CN=Test TSA", cwd=d)  # fmt: skip
    (d / "ext.cnf").write_text(TSA_EXTENSIONS)
    openssl("x509", "-req", "-in", "tsa.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "tsa.pem", "-days", "30",
            "-extfile", "ext.cnf", cwd=d)  # fmt: skip
    (d / "tsa.cnf").write_text(TSA_CONFIG.format(dir=d))
    (d / "serial").write_text("01\n")
    openssl("ts", "-query", "-digest", "00" * 32, "-sha256", "-cert", "-out", "other.tsq", cwd=d)
    lock = threading.Lock()
    state = Tsa("", d / "ca.pem", d / "other.tsq")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            query = self.rfile.read(int(self.headers["Content-Length"]))
            with lock:
                (d / "q.tsq").write_bytes(query)
                asked = state.other_query if state.lying else d / "q.tsq"
                openssl("ts", "-reply", "-config", "tsa.cnf", "-queryfile", str(asked),
                        "-out", "r.tsr", cwd=d)  # fmt: skip
                reply = (d / "r.tsr").read_bytes()
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    thread.join(10)


@pytest.fixture
def stamped(setting: Setting, tsa: Tsa, monkeypatch: pytest.MonkeyPatch) -> Setting:  # noqa: F811
    for name, value in (("KLUIS_TSA_URL", tsa.url), ("KLUIS_TSA_ROOT", str(tsa.root))):
        setting.env[name] = value
        monkeypatch.setenv(name, value)
    return setting


def test_a_timestamp_is_in_the_package_and_openssl_accepts_it(stamped: Setting) -> None:
    folder = package(stamped, photo_in_dossier(stamped))
    assert (folder / "timestamp.tsr").exists() and (folder / "tsa-root.pem").exists()
    result = run_script(folder)
    assert result.returncode == 0, result.stdout
    assert "openssl ts -verify: OK" in result.stdout
    command = evidence_of(folder)["timestamp"]["openssl"]
    done = subprocess.run(shlex.split(command), cwd=folder, capture_output=True, text=True)
    assert done.returncode == 0 and "Verification: OK" in done.stdout, done.stderr
    assert "tijdstempeldienst" in (folder / "LEESMIJ.txt").read_text()


def test_a_token_for_another_hash_is_refused(stamped: Setting) -> None:
    first = photo_in_dossier(stamped)
    folder = package(stamped, first, "eerste")
    other = package(stamped, photo_in_dossier(stamped, PHOTO + b"!"), "ander")
    (folder / "timestamp.tsr").write_bytes((other / "timestamp.tsr").read_bytes())
    refused_by_script(folder, "openssl does not accept the timestamp")
    # the device's own token swapped for the other version's: the client refuses it too
    tokens = sorted((stamped.anna.profile / "timestamps").iterdir())
    assert len(tokens) == 2
    mine = next(t for t in tokens if t.name.startswith(first))
    theirs = next(t for t in tokens if not t.name.startswith(first))
    mine.write_bytes(theirs.read_bytes())
    result = stamped.anna.run_cli("evidence", first, "-o", str(stamped.root / "x"), env=stamped.env)
    assert result.returncode == EXIT_SECURITY, (result.stdout, result.stderr)
    assert "timestamp" in result.stderr and not (stamped.root / "x").exists()


def test_a_tsa_answering_for_another_request_fails_the_add(stamped: Setting, tsa: Tsa) -> None:
    tsa.lying = True
    src = stamped.root / "foto.jpg"
    src.write_bytes(PHOTO)
    client = stamped.anna.client
    dossier = client.create_dossier("Schade")
    with pytest.raises(IntegrityError):
        client.add(dossier, src)
    assert json.loads(stamped.anna.ok("ls", dossier, "--json"))  # committed; no token kept
    assert not (stamped.anna.profile / "timestamps").exists()
