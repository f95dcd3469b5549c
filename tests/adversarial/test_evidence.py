"""Evidence packages between real processes (docs/format.md section 20): a server process with
its log key, a witness process (`kluis witness`), the real `kluis` command line and the SDK.

- a package made by `kluis evidence` verifies with its own `verify.py`, run by the system's
  python3 in isolated mode (no venv, no Kluis on the path), and says when the file existed;
- the standalone script refuses a changed byte, a swapped salt, a proof against another
  checkpoint and a checkpoint without the witness cosignatures it requires;
- the client, behind a server that lies (rewritten answers, rewritten database rows), refuses
  the same things with a security error (exit status 3) and writes no package;
- a commit whose answer carries another entry than the version's commitment is refused.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from client_sdk.localserver import LocalServer
from vault.errors import IntegrityError, MalformedError, SecurityError, SignatureError
from vault.note import parse_note

from ..server.test_tlog_live import (  # noqa: F401  (fixtures: the log's keys, a witness)
    LogParams,
    WitnessProcess,
    params,
    witness,
)
from .harness import EXIT_SECURITY, EXIT_USER_ERROR, Db, Person, RewritingTransport, rewrite_json

SYSTEM_PYTHON = shutil.which("python3", path="/usr/bin:/bin")
EVIDENCE_PATH = r"/api/v1/documents/[0-9a-f]{32}/versions/[0-9]+/evidence"
VERSIONS_PATH = r"/api/v1/dossiers/[0-9a-f]{32}/documents/[0-9a-f]{32}/versions"
PHOTO = b"\xff\xd8\xff\xe0 foto van de scheur in de keukenmuur " + os.urandom(3000)


@dataclass
class Setting:
    server: LocalServer
    db: Db
    root: Path
    anna: Person
    env: dict[str, str]


@pytest.fixture
def setting(
    tmp_path: Path,
    params: LogParams,  # noqa: F811
    witness: WitnessProcess,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Setting]:
    env = {
        "KLUIS_LOG_KEY": params.log_vkey,
        "KLUIS_LOG_WITNESSES": witness.vkey,
        "KLUIS_LOG_QUORUM": "1",
    }
    for name, value in env.items():  # the SDK in this process reads them too
        monkeypatch.setenv(name, value)
    server_env = {
        "KLUIS_LOG_KEY": params.log_seed,
        "KLUIS_VRF_KEY": params.vrf_seed,
        "KLUIS_WITNESSES": json.dumps([f"{witness.url} {witness.vkey}"]),
    }
    with LocalServer(tmp_path / "data", server_env) as server:
        anna = Person("anna", server, tmp_path / "profile-anna").register()
        yield Setting(server, Db(server.db_path), tmp_path, anna, env)


def cosigned_size(server: LocalServer) -> int:
    """The size of the newest checkpoint once it carries the witness's cosignature (the
    server asks the witness right after each commit, in the background)."""
    for _ in range(100):
        note = httpx.get(server.url + "/log/checkpoint").content
        if len(parse_note(note).signatures) > 1:
            return int(note.split(b"\n")[1])
        time.sleep(0.1)
    raise AssertionError("the witness never cosigned")


def photo_in_dossier(s: Setting, content: bytes = PHOTO) -> str:
    """anna adds a photo with the real command line; its document id, once cosigned."""
    src = s.root / "src" / "scheur.jpg"
    src.parent.mkdir(exist_ok=True)
    src.write_bytes(content)
    dossier = s.anna.ok("dossier", "create", "Schade Hoofdstraat 12").strip()
    result = s.anna.run_cli("add", dossier, str(src), env=s.env)
    assert result.returncode == 0, result.stderr
    [document] = [d["id"] for d in json.loads(s.anna.ok("ls", dossier, "--json"))]
    cosigned_size(s.server)
    return str(document)


def package(s: Setting, document: str, name: str = "bewijs") -> Path:
    result = s.anna.run_cli("evidence", document, "-o", str(s.root / name), env=s.env)
    assert result.returncode == 0, (result.stdout, result.stderr)
    assert "bestond uiterlijk op" in result.stdout
    return s.root / name


def run_script(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """verify.py as someone without Kluis runs it: the system's python3, isolated (-I: no
    environment, no user site, not even the script's folder imports anything of Kluis)."""
    assert SYSTEM_PYTHON is not None, "a system python3 is needed"
    return subprocess.run(
        [SYSTEM_PYTHON, "-I", str(folder / "verify.py"), str(folder), *args],
        capture_output=True,
        text=True,
        cwd="/",
        env={},
        timeout=120,
        check=False,
    )


def evidence_of(folder: Path) -> dict[str, Any]:
    return dict(json.loads((folder / "evidence.json").read_text()))


def rewrite_evidence(folder: Path, **change: Any) -> None:
    doc = {**evidence_of(folder), **change}
    (folder / "evidence.json").write_text(json.dumps(doc))


def refused_by_script(folder: Path, why: str) -> None:
    result = run_script(folder)
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "NIET IN ORDE / FAILED" in result.stdout and why in result.stdout, result.stdout


# -- a package and the standalone script ----------------------------------------------------------
def test_a_package_verifies_without_kluis(setting: Setting) -> None:
    folder = package(setting, photo_in_dossier(setting))
    assert sorted(p.name for p in folder.iterdir()) == [
        "LEESMIJ.txt",
        "checkpoint.txt",
        "evidence.json",
        "scheur.jpg",
        "verify.py",
    ]
    assert (folder / "scheur.jpg").read_bytes() == PHOTO
    result = run_script(folder)
    assert result.returncode == 0, (result.stdout, result.stderr)
    assert "IN ORDE / OK: dit bestand bestond uiterlijk op" in result.stdout
    explanation = (folder / "LEESMIJ.txt").read_text()
    assert "Dit bestand bestond uiterlijk op" in explanation
    assert "NIET bewijst" in explanation and "does NOT prove" in explanation
    evidence = evidence_of(folder)
    assert evidence["log"]["quorum"] == 1 and evidence["existed_by"] is not None
    # the keys pinned on the command line, as a court would after checking them
    pinned = run_script(folder, "--log-key", evidence["log"]["log_key"], "--quorum", "1")
    assert pinned.returncode == 0, pinned.stdout


def test_the_script_refuses_a_changed_byte(setting: Setting) -> None:
    folder = package(setting, photo_in_dossier(setting))
    data = bytearray((folder / "scheur.jpg").read_bytes())
    data[100] ^= 0x01
    (folder / "scheur.jpg").write_bytes(bytes(data))
    refused_by_script(folder, "the file was changed")


def test_the_script_refuses_a_swapped_salt(setting: Setting) -> None:
    first = package(setting, photo_in_dossier(setting), "eerste")
    second = package(setting, photo_in_dossier(setting), "tweede")  # the same photo again
    assert evidence_of(first)["salt"] != evidence_of(second)["salt"]
    rewrite_evidence(first, salt=evidence_of(second)["salt"])
    refused_by_script(first, "does not commit to this file with this salt")


def test_the_script_refuses_a_proof_against_another_checkpoint(setting: Setting) -> None:
    first = package(setting, photo_in_dossier(setting), "eerste")
    later = package(setting, photo_in_dossier(setting, b"another photo"), "later")
    # the later, larger checkpoint (witnessed, genuine) with the first proof and its size
    shutil.copy(later / "checkpoint.txt", first / "checkpoint.txt")
    rewrite_evidence(first, tree_size=evidence_of(later)["tree_size"])
    refused_by_script(first, "not in the checkpoint's tree")


def test_the_script_refuses_a_checkpoint_without_the_witness(setting: Setting) -> None:
    folder = package(setting, photo_in_dossier(setting))
    note = (folder / "checkpoint.txt").read_text()
    text, _, block = note.rpartition("\n\n")
    log_line = block.splitlines()[0]  # the log's signature stays, the witness's goes
    (folder / "checkpoint.txt").write_text(f"{text}\n\n{log_line}\n")
    refused_by_script(folder, "only 0 of the 1 witness cosignatures required")


def test_the_script_refuses_a_log_key_other_than_the_published_one(setting: Setting) -> None:
    folder = package(setting, photo_in_dossier(setting))
    other = "localhost/log+00000000+" + base64.b64encode(b"\x01" + bytes(32)).decode()
    result = run_script(folder, "--log-key", other)
    assert result.returncode == 1 and "another log key" in result.stdout


# -- the client behind a lying server -------------------------------------------------------------
def device_behind(s: Setting, rewrite: Any) -> Any:
    return s.anna.device(RewritingTransport(rewrite=rewrite))


def refused_by_client(s: Setting, document: str, rewrite: Any, error: type[Exception]) -> None:
    target = s.root / "refused"
    with pytest.raises(error):
        device_behind(s, rewrite).evidence_package(document, target)
    assert not target.exists()  # no package, no plaintext
    assert not [p for p in s.root.iterdir() if p.name.startswith(".refused")]


def test_the_client_refuses_an_entry_of_another_file_or_salt(setting: Setting) -> None:
    document = photo_in_dossier(setting)

    def other_commitment(body: dict[str, Any]) -> dict[str, Any]:
        entry = bytearray(base64.b64decode(body["entry"]))
        entry[-1] ^= 0x01
        return {**body, "entry": base64.b64encode(bytes(entry)).decode()}

    rewrite = rewrite_json("GET", EVIDENCE_PATH, other_commitment)
    refused_by_client(setting, document, rewrite, IntegrityError)


def test_the_client_refuses_a_proof_against_another_checkpoint(setting: Setting) -> None:
    document = photo_in_dossier(setting)
    photo_in_dossier(setting, b"a later photo")  # the log grows; the newest is cosigned
    newest = httpx.get(setting.server.url + "/log/checkpoint").text

    def other_checkpoint(body: dict[str, Any]) -> dict[str, Any]:
        return {**body, "checkpoint": newest, "size": int(newest.split("\n")[1])}

    rewrite = rewrite_json("GET", EVIDENCE_PATH, other_checkpoint)
    refused_by_client(setting, document, rewrite, IntegrityError)


def test_the_client_refuses_a_checkpoint_the_witness_did_not_cosign(setting: Setting) -> None:
    document = photo_in_dossier(setting)

    def uncosigned(body: dict[str, Any]) -> dict[str, Any]:
        text, _, block = body["checkpoint"].rpartition("\n\n")
        return {**body, "checkpoint": f"{text}\n\n{block.splitlines()[0]}\n"}

    rewrite = rewrite_json("GET", EVIDENCE_PATH, uncosigned)
    refused_by_client(setting, document, rewrite, SignatureError)


def test_the_client_refuses_a_changed_byte_of_the_file(setting: Setting) -> None:
    document = photo_in_dossier(setting)

    def flipped(request: httpx.Request, response: httpx.Response) -> httpx.Response | None:
        if request.url.path.endswith("/payload"):
            content = bytearray(response.content)
            content[-20] ^= 0x01
            return httpx.Response(200, content=bytes(content))
        return None

    refused_by_client(setting, document, flipped, SecurityError)


def test_the_command_line_refuses_a_log_stripped_of_cosignatures(setting: Setting) -> None:
    # The operator rewrites the stored checkpoints: the log's signature only, no witness.
    document = photo_in_dossier(setting)
    for size, note in setting.db.rows("SELECT size, note FROM tlog_checkpoints"):
        text, _, block = bytes(note).decode().rpartition("\n\n")
        stripped = f"{text}\n\n{block.splitlines()[0]}\n".encode()
        setting.db.execute("UPDATE tlog_checkpoints SET note = ? WHERE size = ?", stripped, size)
    result = setting.anna.run_cli(
        "evidence", document, "-o", str(setting.root / "x"), env=setting.env
    )
    assert result.returncode == EXIT_SECURITY, (result.stdout, result.stderr)
    assert "SECURITY CHECK FAILED" in result.stderr and "witness" in result.stderr
    assert not (setting.root / "x").exists()


def test_without_the_log_key_no_package_is_made(setting: Setting) -> None:
    document = photo_in_dossier(setting)
    result = setting.anna.run_cli(
        "evidence", document, "-o", str(setting.root / "x"), env={"KLUIS_LOG_KEY": ""}
    )
    assert result.returncode == EXIT_USER_ERROR, result.stderr
    assert "KLUIS_LOG_KEY" in result.stderr
    assert not (setting.root / "x").exists()


def test_a_commit_answered_with_another_entry_is_refused(setting: Setting) -> None:
    src = setting.root / "foto.jpg"
    src.write_bytes(PHOTO)
    dossier = setting.anna.client.create_dossier("Schade")

    def other_entry(body: dict[str, Any]) -> dict[str, Any]:
        evidence = dict(body["evidence"])
        evidence["entry"] = base64.b64encode(b"KLKT\x02\x05" + bytes(32)).decode()
        return {**body, "evidence": evidence}

    device = device_behind(setting, rewrite_json("POST", VERSIONS_PATH, other_entry))
    with pytest.raises(IntegrityError):
        device.add(dossier, src)


def test_a_commit_answered_without_evidence_is_refused(setting: Setting) -> None:
    src = setting.root / "foto.jpg"
    src.write_bytes(PHOTO)
    dossier = setting.anna.client.create_dossier("Schade")
    device = device_behind(
        setting, rewrite_json("POST", VERSIONS_PATH, lambda body: {**body, "evidence": None})
    )
    with pytest.raises(MalformedError):
        device.add(dossier, src)


# -- the dossier export ---------------------------------------------------------------------------
def test_the_export_holds_a_package_for_every_version(setting: Setting) -> None:
    first, second = setting.root / "v1" / "scheur.jpg", setting.root / "v2" / "scheur.jpg"
    for path, content in ((first, PHOTO), (second, PHOTO + b" later")):
        path.parent.mkdir()
        path.write_bytes(content)
    client = setting.anna.client
    dossier = client.create_dossier("Schade Hoofdstraat 12")
    document = client.add(dossier, first).document_id
    client.update(document, second)
    cosigned_size(setting.server)
    result = client.export(dossier, setting.root / "export", "export passphrase 2026 kaasschaaf")
    evidence = result.directory / "evidence"
    packages = sorted(p.name for p in evidence.iterdir())
    assert packages == ["scheur.v1.jpg", "scheur.v2.jpg"]
    manifest = json.loads((result.directory / "manifest.json").read_text())
    assert sorted(d["evidence"] for d in manifest["documents"]) == [
        "evidence/scheur.v1.jpg",
        "evidence/scheur.v2.jpg",
    ]
    assert evidence_of(evidence / "scheur.v1.jpg")["file"] == "../../opened/scheur.v1.jpg"
    # each verifies with the file `open.sh` would write, and not with the other version's
    for name, good, bad in (("scheur.v1.jpg", first, second), ("scheur.v2.jpg", second, first)):
        ok = run_script(evidence / name, "--file", str(good))
        assert ok.returncode == 0, ok.stdout
        refused = run_script(evidence / name, "--file", str(bad))
        assert refused.returncode == 1 and "the file was changed" in refused.stdout
