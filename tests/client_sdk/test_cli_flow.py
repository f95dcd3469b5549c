"""The whole resident flow through the real `kluis` CLI against a real server process."""

from __future__ import annotations

import json
import os
import pty
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from client_sdk.localserver import LocalServer

from .cli_runner import Person

RECOVERY_ROW = re.compile(r"(\d+) ([a-z]+)")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    with LocalServer(tmp_path_factory.mktemp("cli-server") / "data") as running:
        yield running


def person(server: LocalServer, tmp: Path, name: str) -> Person:
    return Person(server.url, tmp / f"profile-{name}", f"passphrase of {name} 2026")


def recovery_words(output: str) -> str:
    found = sorted((int(n), w) for n, w in RECOVERY_ROW.findall(output.split("RECOVERY CODE")[1]))
    assert [n for n, _ in found] == list(range(1, 25))
    return " ".join(w for _, w in found)


def registered(server: LocalServer, tmp: Path, name: str) -> tuple[Person, str]:
    p = person(server, tmp, name)
    out = p.ok("register", name)
    assert "Write it on paper" in out
    return p, recovery_words(out)


def age_decrypt(identity: Path, source: Path, target: Path, passphrase: str) -> None:
    """`age -d -i` with a passphrase-protected identity: age asks on a terminal only."""
    pid, fd = pty.fork()
    if pid == 0:  # child
        os.execvp("age", ["age", "-d", "-i", str(identity), "-o", str(target), str(source)])  # noqa: S606
    output = b""
    deadline = time.monotonic() + 60
    sent = False
    while time.monotonic() < deadline:
        try:
            chunk = os.read(fd, 1024)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
        if not sent and b"passphrase" in output.lower():
            time.sleep(0.2)
            os.write(fd, passphrase.encode() + b"\n")
            sent = True
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, output


def test_the_whole_flow(server: LocalServer, tmp_path: Path) -> None:
    anna, _ = registered(server, tmp_path, "anna-flow")
    bob, _ = registered(server, tmp_path, "bob-flow")
    assert "anna-flow" in anna.ok("whoami")

    dossier = anna.ok("dossier", "create", "Schade Hoofdstraat 12").strip()
    assert re.fullmatch(r"[0-9a-f]{32}", dossier)
    listed = json.loads(anna.ok("dossier", "list", "--json"))
    assert [d["title"] for d in listed] == ["Schade Hoofdstraat 12"]

    files = tmp_path / "files"
    files.mkdir()
    (files / "rapport.pdf").write_bytes(os.urandom(1_500_000))
    (files / "leeg.txt").write_bytes(b"")
    (files / "brief.txt").write_text("Geachte heer, mevrouw,\n")
    anna.ok("add", dossier[:8], *(str(files / n) for n in ("rapport.pdf", "leeg.txt", "brief.txt")))
    docs = {d["name"]: d for d in json.loads(anna.ok("ls", dossier[:8], "--json"))}
    assert set(docs) == {"rapport.pdf", "leeg.txt", "brief.txt"}
    assert all(d["signature"] == "verified" and d["author"] == "anna-flow" for d in docs.values())
    assert docs["rapport.pdf"]["size"] == 1_500_000

    report = docs["rapport.pdf"]["id"]
    anna.ok("get", report[:10], "-o", str(tmp_path / "copy.pdf"))
    assert (tmp_path / "copy.pdf").read_bytes() == (files / "rapport.pdf").read_bytes()
    empty = docs["leeg.txt"]["id"]
    anna.ok("get", empty, "-o", str(tmp_path / "leeg-copy.txt"))
    assert (tmp_path / "leeg-copy.txt").read_bytes() == b""

    (files / "rapport-v2.pdf").write_bytes(b"version two")
    anna.ok("update", report, str(files / "rapport-v2.pdf"))
    anna.ok("get", report, "-o", str(tmp_path / "v2.pdf"))
    assert (tmp_path / "v2.pdf").read_bytes() == b"version two"
    anna.ok("get", report, "--version", "1", "-o", str(tmp_path / "v1.pdf"))
    assert (tmp_path / "v1.pdf").read_bytes() == (files / "rapport.pdf").read_bytes()

    shared = anna.run("share", dossier, "bob-flow", "--expires", "30d")
    assert shared.returncode == 0 and "not verified" in shared.stderr
    items = json.loads(bob.ok("shared", "--json"))
    assert {i["dossier"] for i in items} == {dossier}
    assert {i["from"] for i in items} == {"anna-flow"}
    bob.ok("get", report, "-o", str(tmp_path / "bob.pdf"))
    assert (tmp_path / "bob.pdf").read_bytes() == b"version two"

    actions = [e["action"] for e in json.loads(anna.ok("log", dossier, "--json"))]
    assert actions[:3] == ["upload", "upload", "upload"]
    assert "share" in actions and actions[-1] == "download"

    anna.ok("revoke", dossier, "bob-flow")
    (files / "later.txt").write_text("after the revoke")
    anna.ok("add", dossier, str(files / "later.txt"))
    later = next(
        d["id"] for d in json.loads(anna.ok("ls", dossier, "--json")) if d["name"] == "later.txt"
    )
    refused = bob.run("get", later, "-o", str(tmp_path / "later-bob.txt"))
    assert refused.returncode != 0
    assert not (tmp_path / "later-bob.txt").exists()

    export = tmp_path / "export"
    env = {"KLUIS_EXPORT_PASSPHRASE": "export passphrase"}
    anna.ok("export", dossier, "-o", str(export), env=env)
    assert (export / "README.txt").exists()
    age_decrypt(
        export / "kluis-identity.age",
        export / "brief.txt.age",
        tmp_path / "brief-from-age.txt",
        "export passphrase",
    )
    assert (tmp_path / "brief-from-age.txt").read_text() == "Geachte heer, mevrouw,\n"


def test_a_second_device_reads_everything(server: LocalServer, tmp_path: Path) -> None:
    anna, _ = registered(server, tmp_path, "anna-two")
    dossier = anna.ok("dossier", "create", "Tweede apparaat").strip()
    (tmp_path / "foto.jpg").write_bytes(os.urandom(70_000))
    anna.ok("add", dossier, str(tmp_path / "foto.jpg"))
    laptop = Person(server.url, tmp_path / "new-laptop", anna.passphrase)
    laptop.ok("login", "anna-two")
    [doc] = json.loads(laptop.ok("ls", dossier, "--json"))
    laptop.ok("get", doc["id"], "-o", str(tmp_path / "foto-laptop.jpg"))
    assert (tmp_path / "foto-laptop.jpg").read_bytes() == (tmp_path / "foto.jpg").read_bytes()


def test_recover_with_the_recovery_code_then_change_passphrase(
    server: LocalServer, tmp_path: Path
) -> None:
    anna, code = registered(server, tmp_path, "anna-recover")
    dossier = anna.ok("dossier", "create", "Herstel").strip()
    (tmp_path / "a.txt").write_text("kept")
    anna.ok("add", dossier, str(tmp_path / "a.txt"))
    device = Person(server.url, tmp_path / "after-loss", "a brand new passphrase")
    device.ok("recover", "anna-recover", env={"KLUIS_RECOVERY_CODE": code})
    assert json.loads(device.ok("ls", dossier, "--json"))[0]["name"] == "a.txt"
    old = Person(server.url, tmp_path / "old-pass", anna.passphrase)
    assert old.run("login", "anna-recover").returncode == 1

    device.ok("passwd", env={"KLUIS_NEW_PASSPHRASE": "third passphrase here"})
    third = Person(server.url, tmp_path / "third", "third passphrase here")
    third.ok("login", "anna-recover")
    assert json.loads(third.ok("ls", dossier, "--json"))[0]["name"] == "a.txt"


def test_a_mistyped_recovery_code_is_a_user_error(server: LocalServer, tmp_path: Path) -> None:
    _, code = registered(server, tmp_path, "anna-typo")
    words = code.split()
    words[3] = "notaword"
    device = Person(server.url, tmp_path / "typo", "another passphrase")
    result = device.run("recover", "anna-typo", env={"KLUIS_RECOVERY_CODE": " ".join(words)})
    assert result.returncode == 1
    assert "word 4" in result.stderr


def test_fingerprint_and_verify(server: LocalServer, tmp_path: Path) -> None:
    anna, _ = registered(server, tmp_path, "anna-fp")
    bob, _ = registered(server, tmp_path, "bob-fp")
    fingerprint = bob.ok("whoami").splitlines()[1].split(": ", 1)[1]
    assert "NOT verified" in anna.ok("fingerprint", "bob-fp")
    wrong = ("1" if fingerprint[0] != "1" else "2") + fingerprint[1:]
    assert anna.run("verify", "bob-fp", wrong).returncode == 3
    anna.ok("verify", "bob-fp", fingerprint)
    assert "status: verified" in anna.ok("fingerprint", "bob-fp")


def test_user_errors_exit_1_with_one_line(server: LocalServer, tmp_path: Path) -> None:
    anna, _ = registered(server, tmp_path, "anna-errors")
    dossier = anna.ok("dossier", "create", "Fouten").strip()
    (tmp_path / "x.txt").write_text("x")
    anna.ok("add", dossier, str(tmp_path / "x.txt"))
    [doc] = json.loads(anna.ok("ls", dossier, "--json"))
    (tmp_path / "exists.txt").write_text("do not overwrite me")
    cases = [
        anna.run("share", dossier, "nobody-here"),
        anna.run("ls", "ffffffff"),
        anna.run("get", doc["id"], "-o", str(tmp_path / "exists.txt")),
        Person(server.url, tmp_path / "wrong", "not the passphrase").run("login", "anna-errors"),
        anna.run("whoami", "--server", "http://127.0.0.1:9"),
        anna.run("ls", dossier, "--server", "http://127.0.0.1:9"),
    ]
    for result in cases:
        assert result.returncode == 1, (result.args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert (tmp_path / "exists.txt").read_text() == "do not overwrite me"


def test_demo_walks_through_the_flow(tmp_path: Path) -> None:
    result = Person("http://127.0.0.1:9", tmp_path / "unused", "unused").run("demo")
    assert result.returncode == 0, result.stderr
    for step in ("creates a dossier", "shares the dossier", "access log", "revokes"):
        assert step in result.stdout
    assert "the contractor is refused" in result.stdout
