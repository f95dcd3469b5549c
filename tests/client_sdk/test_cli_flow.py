"""The whole resident flow through the real `kluis` CLI against a real server process.

Every command runs as a subprocess of `.venv/bin/kluis`, without a terminal, with its
passphrases in KLUIS_* environment variables, the way a script (or CI) would use it. The
exported files are opened with the real `age` binary, driven through a pseudo-terminal because
age reads the passphrase of an identity file from a terminal only; `kluis recover` is driven the
same way where what is tested is its prompt.
"""

from __future__ import annotations

import json
import os
import pty
import re
import resource
import select
import shutil
import stat
import subprocess
import termios
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from mnemonic import Mnemonic

from client_sdk.client import Client
from client_sdk.errors import ServerUnreachable
from client_sdk.localserver import LocalServer
from vault.recovery import RecoveryCode

from .cli_runner import KLUIS, Person

RECOVERY_ROW = re.compile(r"(\d+) ([a-z]+)")
FINGERPRINT = re.compile(r"\d{5}(?: \d{5}){11}")
DAY = 24 * 3600
AGE = shutil.which("age")


def person(server: LocalServer, tmp: Path, name: str) -> Person:
    return Person(server.url, tmp / f"profile-{name}", f"passphrase of {name} 2026 kaasschaaf")


def recovery_words(output: str) -> str:
    found = sorted((int(n), w) for n, w in RECOVERY_ROW.findall(output.split("RECOVERY CODE")[1]))
    assert [n for n, _ in found] == list(range(1, 25))
    return " ".join(w for _, w in found)


def registered(server: LocalServer, tmp: Path, name: str) -> tuple[Person, str]:
    p = person(server, tmp, name)
    out = p.ok("register", name)
    assert "Write it on paper" in out
    return p, recovery_words(out)


def fingerprint_of(p: Person) -> str:
    match = FINGERPRINT.search(p.ok("whoami"))
    assert match, "whoami prints no fingerprint"
    return match.group(0)


def ids_by_name(p: Person, dossier: str) -> dict[str, str]:
    return {d["name"]: d["id"] for d in json.loads(p.ok("ls", dossier, "--json"))}


def user_error(result: object, *fragments: str) -> None:
    """Exit status 1, one line on stderr naming the problem, nothing on stdout."""
    assert result.returncode == 1, (result.args, result.stdout, result.stderr)  # type: ignore[attr-defined]
    lines = result.stderr.strip().splitlines()  # type: ignore[attr-defined]
    assert len(lines) == 1, result.stderr  # type: ignore[attr-defined]
    assert "Traceback" not in lines[0] and "SECURITY" not in lines[0]
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    assert result.stdout == "", result.stdout  # type: ignore[attr-defined]


def age_decrypt(identity: Path, source: Path, target: Path, passphrase: str) -> tuple[int, bytes]:
    """`age -d -i` with a passphrase-protected identity: age asks on a terminal only."""
    assert AGE, "the age binary is not installed"
    pid, fd = pty.fork()
    if pid == 0:  # child: age, with the pty as its terminal; never back into pytest
        try:
            os.execv(AGE, [AGE, "-d", "-i", str(identity), "-o", str(target), str(source)])  # noqa: S606
        finally:
            os._exit(127)
    output = b""
    deadline = time.monotonic() + 60
    sent = False
    while time.monotonic() < deadline:
        try:
            chunk = os.read(fd, 1024)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        output += chunk
        if not sent and b"passphrase" in output.lower():
            time.sleep(0.1)
            os.write(fd, passphrase.encode() + b"\n")
            sent = True
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    assert sent, output
    return os.waitstatus_to_exitcode(status), output


# -- accounts ------------------------------------------------------------------------------------
def test_register_whoami_logout_login(server: LocalServer, tmp_path: Path) -> None:
    anna = person(server, tmp_path, "anna-acct")
    out = anna.ok("register", "anna-acct", "--display-name", "Anna de Boer")
    assert "Account anna-acct created" in out
    assert "RECOVERY CODE" in out and "Write it on paper" in out and "shown only" in out
    words = recovery_words(out).split()
    assert len(words) == 24
    assert set(words) <= set(Mnemonic("english").wordlist)
    RecoveryCode.parse(" ".join(words))  # the checksum word is right
    registered_fp = FINGERPRINT.search(out)
    assert registered_fp and fingerprint_of(anna) == registered_fp.group(0)
    assert anna.ok("whoami").splitlines()[0] == "anna-acct"

    session = anna.profile / "session.json"
    assert stat.S_IMODE(session.stat().st_mode) == 0o600
    for file in anna.profile.iterdir():  # the recovery code is shown once, never stored
        assert " ".join(words[:4]) not in file.read_text()

    assert anna.ok("logout").strip() == "Logged out."
    assert not session.exists()
    assert (anna.profile / "trust.json").exists()  # what the device learned stays
    user_error(anna.run("whoami"), "not logged in", "kluis login")
    user_error(anna.run("dossier", "list"))
    assert anna.run("logout").returncode == 0  # logging out twice is harmless

    out = anna.ok("login", "anna-acct")
    assert "Logged in as anna-acct" in out and registered_fp.group(0) in out
    assert "RECOVERY" not in out and words[0] not in out.split()
    assert fingerprint_of(anna) == registered_fp.group(0)


def test_register_refusals(server: LocalServer, tmp_path: Path) -> None:
    registered(server, tmp_path, "taken-name")
    again = person(server, tmp_path / "other", "taken-name").run("register", "taken-name")
    user_error(again, "already taken")
    no_secret = person(server, tmp_path, "no-secret").run(
        "register", "no-secret", env={"KLUIS_PASSPHRASE": ""}
    )
    user_error(no_secret, "no passphrase", "KLUIS_PASSPHRASE")


# -- the resident's whole flow -------------------------------------------------------------------
def test_the_whole_flow(server: LocalServer, tmp_path: Path) -> None:
    anna, _ = registered(server, tmp_path, "anna-flow")
    bob, _ = registered(server, tmp_path, "bob-flow")

    dossier = anna.ok("dossier", "create", "Schade Hoofdstraat 12").strip()
    assert re.fullmatch(r"[0-9a-f]{32}", dossier)
    listed = json.loads(anna.ok("dossier", "list", "--json"))
    assert [(d["id"], d["title"], d["owner"], d["role"]) for d in listed] == [
        (dossier, "Schade Hoofdstraat 12", "anna-flow", "owner")
    ]

    files = tmp_path / "files"
    files.mkdir()
    (files / "rapport.pdf").write_bytes(os.urandom(1_500_000))
    (files / "leeg.txt").write_bytes(b"")
    (files / "brief.txt").write_text("Geachte heer, mevrouw,\n")
    added = anna.ok(
        "add", dossier[:8], *(str(files / n) for n in ("rapport.pdf", "leeg.txt", "brief.txt"))
    )
    assert len(added.strip().splitlines()) == 3 and "(1.4 MiB)" in added
    docs = {d["name"]: d for d in json.loads(anna.ok("ls", dossier[:8], "--json"))}
    assert set(docs) == {"rapport.pdf", "leeg.txt", "brief.txt"}
    assert {d["signature"] for d in docs.values()} == {"verified"}
    assert {d["author"] for d in docs.values()} == {"anna-flow"}
    assert all(d["confirmed_by_owner"] and d["version"] == 1 for d in docs.values())
    assert (docs["rapport.pdf"]["size"], docs["leeg.txt"]["size"]) == (1_500_000, 0)
    assert json.loads(anna.ok("dossier", "list", "--json"))[0]["documents"] == 3
    report, empty, letter = (docs[n]["id"] for n in ("rapport.pdf", "leeg.txt", "brief.txt"))

    got = anna.ok("get", report[:10], "-o", str(tmp_path / "copy.pdf"))
    assert "version 1, by anna-flow, signature verified" in got
    assert (tmp_path / "copy.pdf").read_bytes() == (files / "rapport.pdf").read_bytes()
    anna.ok("get", empty[:10], "-o", str(tmp_path / "leeg-copy.txt"))
    assert (tmp_path / "leeg-copy.txt").read_bytes() == b""
    (tmp_path / "into").mkdir()
    anna.ok("get", letter, "-o", str(tmp_path / "into"))  # a directory: keeps the name
    assert (tmp_path / "into" / "brief.txt").read_text() == "Geachte heer, mevrouw,\n"

    (files / "rapport-v2.pdf").write_bytes(b"version two")
    assert "version 2" in anna.ok("update", report[:10], str(files / "rapport-v2.pdf"))
    anna.ok("get", report, "-o", str(tmp_path / "v2.pdf"))
    assert (tmp_path / "v2.pdf").read_bytes() == b"version two"
    anna.ok("get", report, "--version", "1", "-o", str(tmp_path / "v1.pdf"))
    assert (tmp_path / "v1.pdf").read_bytes() == (files / "rapport.pdf").read_bytes()
    listed_v2 = {d["id"]: d for d in json.loads(anna.ok("ls", dossier, "--json"))}
    assert listed_v2[report]["version"] == 2 and listed_v2[report]["size"] == 11
    assert listed_v2[report]["name"] == "rapport-v2.pdf"  # the new version's file name

    # the contractor: may read and add, for 30 days
    shared = anna.run("share", dossier, "bob-flow", "--write", "--expires", "30d")
    assert shared.returncode == 0, shared.stderr
    assert "Shared with bob-flow" in shared.stdout and "not verified" in shared.stderr
    [item] = json.loads(bob.ok("shared", "--json"))
    assert (item["kind"], item["dossier"], item["from"], item["rights"]) == (
        "dossier",
        dossier,
        "anna-flow",
        "write",
    )
    assert item["signature"] == "verified"
    assert abs(item["expires"] - (time.time() + 30 * DAY)) < 120
    table = bob.ok("ls", dossier[:6])
    assert all(name in table for name in ("rapport-v2.pdf", "leeg.txt", "brief.txt"))
    assert "anna-flow (unverified)" in table
    bob.ok("get", report[:8], "-o", str(tmp_path / "bob.pdf"))
    assert (tmp_path / "bob.pdf").read_bytes() == b"version two"
    (files / "offerte.pdf").write_bytes(b"offerte van de aannemer")
    quote = bob.ok("add", dossier[:8], str(files / "offerte.pdf")).split()[0]
    by_bob = {d["id"]: d for d in json.loads(anna.ok("ls", dossier, "--json"))}[quote]
    assert (by_bob["name"], by_bob["author"], by_bob["author_verified"]) == (
        "offerte.pdf",
        "bob-flow",
        False,
    )
    assert by_bob["signature"] == "verified"

    log = json.loads(anna.ok("log", dossier, "--json"))
    assert [e["seq"] for e in log] == list(range(1, len(log) + 1))
    assert [(e["who"], e["action"], e["document"], e["version"], e["subject"]) for e in log] == [
        ("anna-flow", "upload", report, 1, None),
        ("anna-flow", "upload", empty, 1, None),
        ("anna-flow", "upload", letter, 1, None),
        ("anna-flow", "download", report, 1, None),
        ("anna-flow", "download", empty, 1, None),
        ("anna-flow", "download", letter, 1, None),
        ("anna-flow", "upload", report, 2, None),
        ("anna-flow", "download", report, 2, None),
        ("anna-flow", "download", report, 1, None),
        ("anna-flow", "share", None, None, "bob-flow"),
        ("bob-flow", "download", report, 2, None),
        ("bob-flow", "upload", quote, 1, None),
    ]
    assert "Log chain verified." in anna.ok("log", dossier)

    revoked = anna.ok("revoke", dossier, "bob-flow")
    assert "Access of bob-flow revoked" in revoked and "epoch 2" in revoked
    (files / "later.txt").write_text("after the revoke")
    anna.ok("add", dossier, str(files / "later.txt"))
    later = ids_by_name(anna, dossier)["later.txt"]
    # An honest server hides what bob may no longer read: a user error (1), not a security
    # failure (3, which would mean the server offered something that did not verify).
    refused = bob.run("get", later, "-o", str(tmp_path / "later-bob.txt"))
    user_error(refused, "no such document")
    assert not (tmp_path / "later-bob.txt").exists()
    assert not list(tmp_path.glob(".kluis-*"))  # no half-written download either
    user_error(bob.run("ls", dossier), "no dossier")
    user_error(bob.run("add", dossier, str(files / "offerte.pdf")), "no dossier")
    assert json.loads(bob.ok("shared", "--json")) == []
    actions = [e["action"] for e in json.loads(anna.ok("log", dossier, "--json"))]
    assert actions[-2:] == ["revoke", "upload"]

    export = tmp_path / "export"
    env = {"KLUIS_EXPORT_PASSPHRASE": "export passphrase"}
    out = anna.ok("export", dossier, "-o", str(export), env=env)
    assert "Exported 6 version(s) of 5 document(s)" in out
    assert sorted(p.name for p in export.iterdir()) == [
        "README.txt",
        "brief.v1.txt.age",
        "kluis-identity.age",
        "later.v1.txt.age",
        "leeg.v1.txt.age",
        "manifest.json",
        "offerte.v1.pdf.age",
        "open.sh",
        "rapport-v2.v2.pdf.age",
        "rapport.v1.pdf.age",
    ]
    # the key file, even protected, and the names in the manifest are for the owner's eyes only
    assert stat.S_IMODE(export.stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in export.iterdir()} == {0o600}
    # an export never writes over what is there
    user_error(anna.run("export", dossier, "-o", str(export), env=env), "not empty")
    manifest = json.loads((export / "manifest.json").read_text())
    assert manifest["dossier"] == "Schade Hoofdstraat 12"
    assert {d["document_id"]: d["version"] for d in manifest["documents"]}[report] == 2
    assert {d["document_id"]: d["author"] for d in manifest["documents"]}[quote] == "bob-flow"
    assert "age -d -i kluis-identity.age" in (export / "README.txt").read_text()
    identity = export / "kluis-identity.age"
    assert b"AGE-SECRET-KEY" not in identity.read_bytes()  # protected by the passphrase
    for name, expected in (
        ("brief.v1.txt", b"Geachte heer, mevrouw,\n"),
        ("rapport-v2.v2.pdf", b"version two"),
        ("rapport.v1.pdf", (files / "rapport.pdf").read_bytes()),  # every version is there
        ("leeg.v1.txt", b""),
        ("offerte.v1.pdf", b"offerte van de aannemer"),  # written by the contractor
    ):
        code, output = age_decrypt(
            identity, export / f"{name}.age", tmp_path / f"age-{name}", "export passphrase"
        )
        assert code == 0, output
        opened = tmp_path / f"age-{name}"  # age creates its output on the first write only
        assert (opened.read_bytes() if opened.exists() else b"") == expected
    code, _ = age_decrypt(
        identity, export / "later.v1.txt.age", tmp_path / "age-wrong.txt", "not the passphrase"
    )
    assert code != 0
    assert (
        not (tmp_path / "age-wrong.txt").exists() or not (tmp_path / "age-wrong.txt").read_bytes()
    )


def test_sharing_read_write_and_single_documents(server: LocalServer, tmp_path: Path) -> None:
    anna, _ = registered(server, tmp_path, "anna-share")
    carol, _ = registered(server, tmp_path, "carol-read")
    dave, _ = registered(server, tmp_path, "dave-write")
    erik, _ = registered(server, tmp_path, "erik-doc")
    dossier = anna.ok("dossier", "create", "Gedeeld").strip()
    for name in ("offerte.txt", "foto.jpg"):
        (tmp_path / name).write_bytes(name.encode() * 100)
    anna.ok("add", dossier, str(tmp_path / "offerte.txt"), str(tmp_path / "foto.jpg"))
    ids = ids_by_name(anna, dossier)

    anna.ok("share", dossier, "carol-read", "--expires", "2w")
    assert "1 key(s)" in anna.ok("share", dossier, "dave-write", "--write")
    assert "1 key(s)" in anna.ok("share", ids["offerte.txt"], "erik-doc")

    [to_carol] = json.loads(carol.ok("shared", "--json"))
    [to_dave] = json.loads(dave.ok("shared", "--json"))
    [to_erik] = json.loads(erik.ok("shared", "--json"))
    assert (to_carol["rights"], to_dave["rights"], to_erik["rights"]) == ("read", "write", "read")
    assert abs(to_carol["expires"] - (time.time() + 14 * DAY)) < 120 and to_dave["expires"] == 0
    assert (to_erik["kind"], to_erik["document"]) == ("document", ids["offerte.txt"])
    roles = {
        who: json.loads(p.ok("dossier", "list", "--json"))[0]["role"]
        for who, p in (("carol", carol), ("dave", dave), ("erik", erik))
    }
    assert roles == {"carol": "read", "dave": "write", "erik": "document"}

    # carol may read, nothing more
    carol.ok("get", ids["foto.jpg"], "-o", str(tmp_path / "carol.jpg"))
    assert (tmp_path / "carol.jpg").read_bytes() == b"foto.jpg" * 100
    user_error(carol.run("add", dossier, str(tmp_path / "foto.jpg")), "not add to it")
    user_error(carol.run("update", ids["foto.jpg"], str(tmp_path / "foto.jpg")), "not add to it")
    user_error(carol.run("share", dossier, "erik-doc"), "only the owner")
    user_error(carol.run("revoke", dossier, "dave-write"), "only the owner")

    # dave may write; the owner's next listing signs his document into the index
    (tmp_path / "herstelplan.txt").write_text("plan van dave")
    dave.ok("add", dossier, str(tmp_path / "herstelplan.txt"))
    first = {d["name"]: d for d in json.loads(anna.ok("ls", dossier, "--json"))}
    assert first["herstelplan.txt"]["author"] == "dave-write"
    assert first["herstelplan.txt"]["author_verified"] is False
    second = {d["name"]: d for d in json.loads(anna.ok("ls", dossier, "--json"))}
    assert second["herstelplan.txt"]["confirmed_by_owner"] is True
    plan = second["herstelplan.txt"]["id"]
    for reader in (anna, carol):
        target = tmp_path / f"plan-{id(reader)}.txt"
        reader.ok("get", plan, "-o", str(target))
        assert target.read_text() == "plan van dave"
    user_error(dave.run("share", dossier, "erik-doc"), "only the owner")

    # erik holds one document: he sees and opens only that one
    assert [d["name"] for d in json.loads(erik.ok("ls", dossier, "--json"))] == ["offerte.txt"]
    erik.ok("get", ids["offerte.txt"], "-o", str(tmp_path / "erik.txt"))
    assert (tmp_path / "erik.txt").read_bytes() == b"offerte.txt" * 100
    assert erik.run("get", ids["foto.jpg"], "-o", str(tmp_path / "erik.jpg")).returncode != 0
    assert not (tmp_path / "erik.jpg").exists()

    anna.ok("revoke", ids["offerte.txt"], "erik-doc")
    assert json.loads(erik.ok("shared", "--json")) == []
    assert erik.run("get", ids["offerte.txt"], "-o", str(tmp_path / "e2.txt")).returncode != 0

    # wrong expiries are refused before anything is shared
    user_error(anna.run("share", dossier, "erik-doc", "--expires", "soon"), "cannot read")
    user_error(anna.run("share", dossier, "erik-doc", "--expires", "2020-01-01"), "expire")
    assert json.loads(erik.ok("shared", "--json")) == []

    # revoking dave rotates the dossier key; carol, still shared, receives the new key with her
    # rights and expiry unchanged and reads what is written afterwards; dave does not
    assert "epoch 2" in anna.ok("revoke", dossier, "dave-write")
    (tmp_path / "na-intrekking.txt").write_text("na de intrekking")
    after = anna.ok("add", dossier, str(tmp_path / "na-intrekking.txt")).split()[0]
    carol.ok("get", after, "-o", str(tmp_path / "carol-after.txt"))
    assert (tmp_path / "carol-after.txt").read_text() == "na de intrekking"
    newest = json.loads(carol.ok("shared", "--json"))[0]
    assert (newest["rights"], newest["expires"]) == ("read", to_carol["expires"])
    user_error(dave.run("get", after, "-o", str(tmp_path / "dave-after.txt")), "no such document")
    user_error(dave.run("add", dossier, str(tmp_path / "foto.jpg")), "no dossier")
    assert not (tmp_path / "dave-after.txt").exists()


def test_a_second_device_reads_everything(server: LocalServer, tmp_path: Path) -> None:
    anna, _ = registered(server, tmp_path, "anna-two")
    dossier = anna.ok("dossier", "create", "Tweede apparaat").strip()
    (tmp_path / "foto.jpg").write_bytes(os.urandom(70_000))
    (tmp_path / "notitie.txt").write_text("notitie")
    anna.ok("add", dossier, str(tmp_path / "foto.jpg"), str(tmp_path / "notitie.txt"))
    laptop = Person(server.url, tmp_path / "new-laptop", anna.passphrase)
    assert "Logged in as anna-two" in laptop.ok("login", "anna-two")
    assert fingerprint_of(laptop) == fingerprint_of(anna)
    assert json.loads(laptop.ok("dossier", "list", "--json"))[0]["title"] == "Tweede apparaat"
    docs = ids_by_name(laptop, dossier)
    assert set(docs) == {"foto.jpg", "notitie.txt"}
    laptop.ok("get", docs["foto.jpg"], "-o", str(tmp_path / "foto-laptop.jpg"))
    assert (tmp_path / "foto-laptop.jpg").read_bytes() == (tmp_path / "foto.jpg").read_bytes()
    # what the laptop adds, the first device reads
    (tmp_path / "van-laptop.txt").write_text("van de laptop")
    laptop.ok("add", dossier, str(tmp_path / "van-laptop.txt"))
    anna.ok("get", ids_by_name(anna, dossier)["van-laptop.txt"], "-o", str(tmp_path / "b.txt"))
    assert (tmp_path / "b.txt").read_text() == "van de laptop"


def test_recover_with_the_recovery_code_then_change_passphrase(
    server: LocalServer, tmp_path: Path
) -> None:
    anna, code = registered(server, tmp_path, "anna-recover")
    dossier = anna.ok("dossier", "create", "Herstel").strip()
    (tmp_path / "a.txt").write_text("kept")
    anna.ok("add", dossier, str(tmp_path / "a.txt"))
    fingerprint = fingerprint_of(anna)  # before the recovery logs this device out
    device = Person(server.url, tmp_path / "after-loss", "a brand new passphrase")
    out = device.ok("recover", "anna-recover", env={"KLUIS_RECOVERY_CODE": code})
    assert "Access restored for anna-recover" in out
    assert fingerprint_of(device) == fingerprint  # the same keys, not a new account
    assert json.loads(device.ok("ls", dossier, "--json"))[0]["name"] == "a.txt"
    old = Person(server.url, tmp_path / "old-pass", anna.passphrase)
    user_error(old.run("login", "anna-recover"), "wrong username or passphrase")
    Person(server.url, tmp_path / "new-pass", "a brand new passphrase").ok("login", "anna-recover")

    device.ok("passwd", env={"KLUIS_NEW_PASSPHRASE": "third passphrase, kaasschaaf"})
    third = Person(server.url, tmp_path / "third", "third passphrase, kaasschaaf")
    third.ok("login", "anna-recover")
    assert json.loads(third.ok("ls", dossier, "--json"))[0]["name"] == "a.txt"
    before = Person(server.url, tmp_path / "second-pass", "a brand new passphrase")
    user_error(before.run("login", "anna-recover"), "wrong username or passphrase")
    # the recovery code still works after a passphrase change
    again = Person(server.url, tmp_path / "again", "fourth passphrase, tuinhek 7")
    again.ok("recover", "anna-recover", env={"KLUIS_RECOVERY_CODE": code.upper()})


def session_token(p: Person) -> str:
    token: str = json.loads((p.profile / "session.json").read_text())["token"]
    return token


def token_works(server: LocalServer, token: str) -> bool:
    answer = httpx.get(f"{server.url}/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code in (200, 401), answer.text
    return answer.status_code == 200


def test_passwd_leaves_one_live_session_and_the_new_passphrase(
    server: LocalServer, tmp_path: Path
) -> None:
    anna, _ = registered(server, tmp_path, "anna-passwd")
    laptop = Person(server.url, tmp_path / "laptop", anna.passphrase)
    laptop.ok("login", "anna-passwd")
    old, laptops = session_token(anna), session_token(laptop)
    assert token_works(server, old) and token_works(server, laptops)

    anna.ok("passwd", env={"KLUIS_NEW_PASSPHRASE": "the passphrase after passwd"})
    # the token passwd replaced and every other device's session are revoked ...
    assert not token_works(server, old)
    assert not token_works(server, laptops)
    # ... and the one passwd left behind goes on working
    assert session_token(anna) != old and token_works(server, session_token(anna))
    anna.ok("dossier", "create", "Na passwd")
    user_error(
        Person(server.url, tmp_path / "old-pass", anna.passphrase).run("login", "anna-passwd"),
        "wrong username or passphrase",
    )
    Person(server.url, tmp_path / "new-pass", "the passphrase after passwd").ok(
        "login", "anna-passwd"
    )


def test_a_failed_passwd_leaves_one_live_session_and_the_old_passphrase(
    server: LocalServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    anna, _ = registered(server, tmp_path, "anna-passwd-cut")
    old = session_token(anna)
    with Client(server.url, str(anna.profile)) as device:
        real = device.api.call

        def cut_before_the_change(method: str, path: str, **kw: Any) -> Any:
            if method == "PUT":
                raise ServerUnreachable("the connection dropped")
            return real(method, path, **kw)

        monkeypatch.setattr(device.api, "call", cut_before_the_change)
        with pytest.raises(ServerUnreachable):
            device.change_passphrase(anna.passphrase, "a passphrase never set")
    # the re-login's session is the one left; the one it replaced is not left behind
    assert session_token(anna) != old and token_works(server, session_token(anna))
    assert not token_works(server, old)
    Person(server.url, tmp_path / "unchanged", anna.passphrase).ok("login", "anna-passwd-cut")


def printed_code(register_output: str) -> str:
    """The recovery code exactly as `kluis register` printed it: six numbered rows of four."""
    block = register_output.rstrip("\n").split("\n\n")[-1]
    assert len(block.splitlines()) == 6 and block.lstrip().startswith("1 "), block
    return block


def test_recover_with_the_code_pasted_as_printed(server: LocalServer, tmp_path: Path) -> None:
    anna = person(server, tmp_path, "anna-printed")
    printed = printed_code(anna.ok("register", "anna-printed"))
    fingerprint = fingerprint_of(anna)  # before the recovery logs this device out
    device = Person(server.url, tmp_path / "pasted", "a passphrase after pasting")
    out = device.ok("recover", "anna-printed", env={"KLUIS_RECOVERY_CODE": printed + "\n"})
    assert "Access restored for anna-printed" in out
    assert fingerprint_of(device) == fingerprint
    # numbered one per line, with full stops and commas, in capitals
    words = [w for _, w in RECOVERY_ROW.findall(printed)]
    listed = "\n".join(f"{i}. {w.upper()}," for i, w in enumerate(words, 1))
    again = Person(server.url, tmp_path / "listed", "another passphrase after pasting")
    again.ok("recover", "anna-printed", env={"KLUIS_RECOVERY_CODE": listed})


def test_recover_refuses_a_printed_code_with_a_mistake(server: LocalServer, tmp_path: Path) -> None:
    anna = person(server, tmp_path, "anna-printed-typo")
    printed = printed_code(anna.ok("register", "anna-printed-typo"))
    device = Person(server.url, tmp_path / "typo", "")
    rows = printed.splitlines()
    one_row_short = "\n".join(rows[:5])
    user_error(
        device.run("recover", "anna-printed-typo", env={"KLUIS_RECOVERY_CODE": one_row_short}),
        "24 words, this one has 20",
    )
    word_7 = RECOVERY_ROW.findall(rows[1])[2][1]
    typo = printed.replace(f" 7 {word_7} ", f" 7 {word_7}x ")
    result = device.run("recover", "anna-printed-typo", env={"KLUIS_RECOVERY_CODE": typo})
    user_error(result, "word 7 is not in the recovery word list")  # the number as printed
    assert word_7 not in result.stderr


def in_terminal(
    args: list[str], env: dict[str, str], answers: list[tuple[bytes, bytes]], timeout: float = 120
) -> tuple[int, str]:
    """Run `kluis` on a pseudo-terminal; once the output shows the next answer's prompt and
    the terminal no longer echoes (the input is hidden), type that answer."""
    pid, fd = pty.fork()
    if pid == 0:  # child: kluis, with the pty as its terminal; never back into pytest
        try:
            os.execve(KLUIS, [KLUIS, *args], env)  # noqa: S606 (fixed binary, no shell)
        finally:
            os._exit(127)
    seen, position, pending = b"", 0, list(answers)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not chunk:
                    break
                seen += chunk
            if pending and pending[0][0] in seen[position:]:
                if termios.tcgetattr(fd)[3] & termios.ECHO:
                    continue  # not hidden (yet): do not type a secret
                prompt, text = pending.pop(0)
                position = seen.index(prompt, position) + len(prompt)
                os.write(fd, text)
        else:
            os.kill(pid, 9)
            raise TimeoutError(seen.decode(errors="replace"))
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    assert not pending, (pending, seen)
    shown = re.sub(r"\x1b\[[0-9;]*m", "", seen.decode(errors="replace"))  # a terminal: styles
    return os.waitstatus_to_exitcode(status), shown


def terminal_env(server: LocalServer, profile: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KLUIS_")}
    return {**env, "KLUIS_SERVER": server.url, "KLUIS_PROFILE": str(profile), "COLUMNS": "200"}


def test_recover_at_the_prompt_with_the_code_pasted_as_printed(
    server: LocalServer, tmp_path: Path
) -> None:
    """Pasted into the prompt, the six printed rows arrive as six lines: all are read, with
    the input hidden, and nothing of them is taken for the new passphrase."""
    anna = person(server, tmp_path, "anna-prompt")
    printed = printed_code(anna.ok("register", "anna-prompt"))
    new = b"the passphrase typed at the prompt\n"
    code, output = in_terminal(
        ["recover", "anna-prompt"],
        terminal_env(server, tmp_path / "prompt-device"),
        [(b"Recovery code", printed.encode() + b"\n"), (b"New passphrase", new),
         (b"Repeat for confirmation", new)],
    )  # fmt: skip
    assert code == 0, output
    assert "Access restored for anna-prompt" in output
    for row in printed.splitlines():
        assert row.strip() not in output  # hidden: the pasted rows were not echoed
    Person(server.url, tmp_path / "check", new.decode().strip()).ok("login", "anna-prompt")


def test_recover_at_the_prompt_stops_at_an_empty_line(server: LocalServer, tmp_path: Path) -> None:
    """A code with a row missing, then Enter on an empty line: the count is reported, and no
    new passphrase is asked for."""
    anna = person(server, tmp_path, "anna-prompt-short")
    printed = printed_code(anna.ok("register", "anna-prompt-short"))
    short = "\n".join(printed.splitlines()[:5]).encode() + b"\n\n"
    code, output = in_terminal(
        ["recover", "anna-prompt-short"],
        terminal_env(server, tmp_path / "short-device"),
        [(b"Recovery code", short)],
    )
    assert code == 1, output
    assert "a recovery code has 24 words, this one has 20" in output
    assert "New passphrase" not in output


def test_recovery_and_passphrase_refusals(server: LocalServer, tmp_path: Path) -> None:
    anna, code = registered(server, tmp_path, "anna-typo")
    words = code.split()
    device = Person(server.url, tmp_path / "typo", "another passphrase, tuinhek 7")
    typo = [*words[:3], "notaword", *words[4:]]
    result = device.run("recover", "anna-typo", env={"KLUIS_RECOVERY_CODE": " ".join(typo)})
    user_error(result, "word 4")
    assert "notaword" not in result.stderr  # the message names positions, never words
    short = device.run("recover", "anna-typo", env={"KLUIS_RECOVERY_CODE": " ".join(words[:23])})
    user_error(short, "24 words")
    someone_elses = RecoveryCode.generate().phrase
    wrong = device.run("recover", "anna-typo", env={"KLUIS_RECOVERY_CODE": someone_elses})
    user_error(wrong, "wrong username or passphrase")
    missing = device.run("recover", "anna-typo", env={"KLUIS_PASSPHRASE": ""})
    user_error(missing, "no recovery code", "KLUIS_RECOVERY_CODE")
    nobody = device.run("recover", "nobody-at-all", env={"KLUIS_RECOVERY_CODE": code})
    user_error(nobody, "wrong username or passphrase")

    strong = "a strong new passphrase xq7"
    bad_current = anna.run(
        "passwd", env={"KLUIS_PASSPHRASE": "not my passphrase", "KLUIS_NEW_PASSPHRASE": strong}
    )
    user_error(bad_current, "wrong username or passphrase")
    no_new = anna.run("passwd", env={"KLUIS_NEW_PASSPHRASE": ""})
    user_error(no_new, "KLUIS_NEW_PASSPHRASE")
    Person(server.url, tmp_path / "still", anna.passphrase).ok("login", "anna-typo")


def test_fingerprint_and_verify(server: LocalServer, tmp_path: Path) -> None:
    anna, _ = registered(server, tmp_path, "anna-fp")
    bob, _ = registered(server, tmp_path, "bob-fp")
    fingerprint = fingerprint_of(bob)
    shown = anna.ok("fingerprint", "bob-fp")
    assert fingerprint in shown and "NOT verified" in shown and "kluis verify bob-fp" in shown
    wrong = ("1" if fingerprint[0] != "1" else "2") + fingerprint[1:]
    refused = anna.run("verify", "bob-fp", wrong)
    assert refused.returncode == 3
    assert refused.stderr.startswith("SECURITY CHECK FAILED (KeyMismatchError)")
    assert "NOT verified" in anna.ok("fingerprint", "bob-fp")
    carols = anna.run("verify", "bob-fp", fingerprint_of(anna))
    assert carols.returncode == 3
    assert "bob-fp is verified" in anna.ok("verify", "bob-fp", fingerprint.replace(" ", ""))
    assert "status: verified" in anna.ok("fingerprint", "bob-fp")
    dossier = anna.ok("dossier", "create", "Geverifieerd").strip()
    shared = anna.run("share", dossier, "bob-fp")
    assert shared.returncode == 0 and "not verified" not in shared.stderr
    user_error(anna.run("fingerprint", "nobody-at-all"), "no such user")
    user_error(anna.run("verify", "nobody-at-all", fingerprint), "no such user")


def test_mistyped_input_is_a_user_error(server: LocalServer, tmp_path: Path) -> None:
    # Regression test of a bug since fixed in client_sdk. It was:
    # what the user typed is checked with vault functions that raise MalformedError (an
    # IntegrityError), so the CLI exits 3 with "SECURITY CHECK FAILED (MalformedError)" for a
    # typo: `kluis verify bob 12345` (normalise_fingerprint) and `kluis register "Anna B"` /
    # `kluis login "Anna B"` (check_username). Nothing was tampered with: exit 1 is due.
    anna, _ = registered(server, tmp_path, "anna-mistype")
    cases = [
        (anna.run("verify", "anna-mistype", "12345 67890"), "60 digits"),
        (person(server, tmp_path, "bad").run("register", "Anna With Spaces"), "username"),
        (person(server, tmp_path, "bad").run("login", "Anna With Spaces"), "username"),
    ]
    for result, fragment in cases:
        user_error(result, fragment)


# -- user errors ---------------------------------------------------------------------------------
def test_user_errors_exit_1_with_one_line(
    server: LocalServer, tmp_path: Path, closed_port_url: str
) -> None:
    anna, _ = registered(server, tmp_path, "anna-errors")
    dossier = anna.ok("dossier", "create", "Fouten").strip()
    anna.ok("dossier", "create", "Nog een")
    (tmp_path / "x.txt").write_text("x")
    anna.ok("add", dossier, str(tmp_path / "x.txt"))
    [doc] = json.loads(anna.ok("ls", dossier, "--json"))
    (tmp_path / "exists.txt").write_text("do not overwrite me")
    (tmp_path / "a-file").write_text("")
    nobody_id = next(i for i in ("0" * 32, "1" * 32) if i not in (dossier, doc["id"]))
    stranger = Person(server.url, tmp_path / "wrong", "not the passphrase, tuinhek 7")
    pool = ThreadPoolExecutor(max_workers=3)  # independent calls: none changes anything

    def call(p: Person, *args: str, env: dict[str, str] | None = None) -> Future[Any]:
        return pool.submit(p.run, *args, env=env)

    cases = {
        "unknown user for share": (call(anna, "share", dossier, "nobody-here"), "no such user"),
        "unknown user for revoke": (call(anna, "revoke", dossier, "nobody-here"), "no such user"),
        "no such dossier": (
            call(anna, "ls", "ffffffff"),
            "no dossier with the id or title 'ffffffff'",
        ),
        "no such dossier for add": (
            call(anna, "add", "ffffffff", str(tmp_path / "x.txt")),
            "no dossier",
        ),
        "unknown id prefix": (call(anna, "get", "zz", "-o", str(tmp_path / "z")), "'zz'"),
        "unknown full id": (call(anna, "get", nobody_id, "-o", str(tmp_path / "z")), "no such"),
        "a dossier is not a document": (call(anna, "get", dossier[:10]), "is a dossier"),
        "no such version": (
            call(anna, "get", doc["id"], "--version", "9", "-o", str(tmp_path / "v9")),
            "no version 9",
        ),
        "get refuses to overwrite": (
            call(anna, "get", doc["id"], "-o", str(tmp_path / "exists.txt")),
            "exists",
        ),
        "add a missing file": (call(anna, "add", dossier, str(tmp_path / "absent.txt")), "absent"),
        "update with a missing file": (
            call(anna, "update", doc["id"], str(tmp_path / "absent.txt")),
            "absent",
        ),
        "export without a passphrase": (
            call(anna, "export", dossier, "-o", str(tmp_path / "exp")),
            "KLUIS_EXPORT_PASSPHRASE",
        ),
        "export into a file": (
            call(
                anna,
                "export",
                dossier,
                "-o",
                str(tmp_path / "a-file"),
                env={"KLUIS_EXPORT_PASSPHRASE": "p"},
            ),
            "error:",
        ),
        "wrong passphrase": (
            call(stranger, "login", "anna-errors"),
            "wrong username or passphrase",
        ),
        "unknown user at login": (
            call(stranger, "login", "nobody-here"),
            "wrong username or passphrase",  # the same answer: no user enumeration (L15)
        ),
        "not logged in": (call(stranger, "ls", dossier), "error:"),
        "server unreachable (ls)": (
            call(anna, "ls", dossier, "--server", closed_port_url),
            f"cannot reach the Kluis server at {closed_port_url}",
        ),
        "server unreachable (login)": (
            call(anna, "login", "anna-errors", "--server", closed_port_url),
            "cannot reach",
        ),
        "server unreachable (register)": (
            call(stranger, "register", "someone-new", "--server", closed_port_url),
            "cannot reach",
        ),
    }
    for name, (future, fragment) in cases.items():
        try:
            user_error(future.result(), fragment)
        except AssertionError as exc:
            raise AssertionError(f"{name}: {exc}") from exc
    pool.shutdown()
    assert (tmp_path / "exists.txt").read_text() == "do not overwrite me"
    assert not (tmp_path / "v9").exists() and not (tmp_path / "z").exists()
    assert not (tmp_path / "exp").exists()
    assert len(json.loads(anna.ok("ls", dossier, "--json"))) == 1  # nothing half-added

    anna.ok("get", doc["id"], "-o", str(tmp_path / "exists.txt"), "--force")
    assert (tmp_path / "exists.txt").read_text() == "x"


def test_a_damaged_profile_is_a_user_error(server: LocalServer, tmp_path: Path) -> None:
    anna, _ = registered(server, tmp_path, "anna-damaged")
    dossier = anna.ok("dossier", "create", "Beschadigd").strip()
    (tmp_path / "x.txt").write_text("x")

    def damaged_copy(name: str, file: str, text: str) -> Person:
        copy = tmp_path / name
        shutil.copytree(anna.profile, copy)
        (copy / file).write_text(text)
        return Person(server.url, copy, anna.passphrase)

    truncated = damaged_copy("truncated", "trust.json", '{"pins": {')
    user_error(truncated.run("ls", dossier), "trust.json is damaged")
    no_token = damaged_copy("no-token", "session.json", '{"server": "x"}')
    user_error(no_token.run("whoami"), "session.json is damaged")
    trust = json.loads((anna.profile / "trust.json").read_text())
    versions = damaged_copy("versions", "trust.json", json.dumps({**trust, "versions": []}))
    # Regression test of a bug since fixed in client_sdk. It was:
    # writing into the damaged section raises AttributeError: a traceback, exit 1
    user_error(versions.run("add", dossier, str(tmp_path / "x.txt")), "trust.json is damaged")


def test_a_server_that_dies_is_a_user_error(live_server: LocalServer, tmp_path: Path) -> None:
    anna, _ = registered(live_server, tmp_path, "anna-crash")
    dossier = anna.ok("dossier", "create", "Crash").strip()
    live_server.kill()
    user_error(anna.run("ls", dossier), "cannot reach the Kluis server")
    live_server.start()
    assert json.loads(anna.ok("ls", dossier, "--json")) == []


def test_demo_walks_through_the_flow(tmp_path: Path) -> None:
    result = Person("http://127.0.0.1:9", tmp_path / "unused", "unused").run("demo")
    assert result.returncode == 0, result.stderr
    steps = [int(n) for n in re.findall(r"^(\d+)\. ", result.stdout, re.MULTILINE)]
    assert steps == list(range(1, 12))
    for step in ("creates a dossier", "shares the dossier", "access log", "revokes"):
        assert step in result.stdout
    assert "identical to Anna's: True" in result.stdout
    assert "the contractor is refused" in result.stdout
    # Organisations: verification, a receipt, a member who leaves (client_sdk/demo_org.py).
    assert "status: verified by the operator" in result.stdout
    assert "opened by els.gemeente, signature verified" in result.stdout
    assert "Piet is refused" in result.stdout and "Els still reads: brief-gemeente.txt" in (
        result.stdout
    )
    assert "Demo finished." in result.stdout


# -- regression tests of defects found while writing these tests (each failed before its fix) -----
@pytest.fixture(scope="module")
def pair(server: LocalServer, tmp_path_factory: pytest.TempPathFactory) -> tuple[Person, Person]:
    """A resident and a contractor, registered once for the small tests below; each test works in
    dossiers of its own."""
    tmp = tmp_path_factory.mktemp("pair")
    return registered(server, tmp, "resident")[0], registered(server, tmp, "contractor")[0]


def new_dossier(p: Person, tmp: Path, *files: tuple[str, bytes]) -> tuple[str, dict[str, str]]:
    dossier = p.ok("dossier", "create", f"Dossier {tmp.name}").strip()
    for name, content in files:
        (tmp / name).write_bytes(content)
    if files:
        p.ok("add", dossier, *(str(tmp / name) for name, _ in files))
    return dossier, ids_by_name(p, dossier)


def test_a_document_share_does_not_break_when_the_owner_adds_a_version(
    pair: tuple[Person, Person], tmp_path: Path
) -> None:
    # It was: a document share seals the file keys of the versions that exist at that moment.
    # After the owner's `kluis update`, the server (rightly) lists version 2 to the grantee, and
    # the client then failed `ls` and `get` with exit 3, "SECURITY CHECK FAILED
    # (KeyMismatchError): no key for document ... version 2 was shared with you": a false alarm.
    # The grantee now sees the version shared with them, with a note about the newer one.
    resident, contractor = pair
    dossier, ids = new_dossier(resident, tmp_path, ("bestek.txt", b"versie een"))
    resident.ok("share", ids["bestek.txt"], "contractor")
    (tmp_path / "bestek-v2.txt").write_bytes(b"versie twee")
    resident.ok("update", ids["bestek.txt"], str(tmp_path / "bestek-v2.txt"))

    listed = contractor.run("ls", dossier, "--json")
    assert listed.returncode == 0, listed.stderr
    [row] = json.loads(listed.stdout)
    assert (row["id"], row["name"], row["version"]) == (ids["bestek.txt"], "bestek.txt", 1)
    assert row["newer_version_not_shared"] == 2
    assert "version 2 not shared with you" in contractor.ok("ls", dossier)
    got = contractor.run("get", ids["bestek.txt"], "-o", str(tmp_path / "latest.txt"))
    assert got.returncode == 0, got.stderr
    assert (tmp_path / "latest.txt").read_bytes() == b"versie een"
    assert "(version 1, by resident" in got.stdout
    assert "newer version 2 that was not shared with you" in got.stderr
    contractor.ok("get", ids["bestek.txt"], "--version", "1", "-o", str(tmp_path / "v1.txt"))
    assert (tmp_path / "v1.txt").read_bytes() == b"versie een"
    asked = contractor.run("get", ids["bestek.txt"], "--version", "2", "-o", str(tmp_path / "v2"))
    user_error(asked, "version 2", "not shared with you", "version 1")
    assert not (tmp_path / "v2").exists()
    # a reader holds no key for version 2: `update` says it may not write, not that the check failed
    tried = contractor.run("update", ids["bestek.txt"], str(tmp_path / "bestek-v2.txt"))
    user_error(tried, "not add to it")
    # sharing the document again gives every version, the newest included
    resident.ok("share", ids["bestek.txt"], "contractor")
    [row] = json.loads(contractor.ok("ls", dossier, "--json"))
    assert (row["version"], row["newer_version_not_shared"]) == (2, None)


def test_get_version_0_is_not_the_latest_version(
    pair: tuple[Person, Person], tmp_path: Path
) -> None:
    # It was: Client.get used `wanted = version or latest`, so `--version 0` silently downloaded
    # the latest version instead of saying there is no version 0 (versions start at 1).
    resident, _ = pair
    _, ids = new_dossier(resident, tmp_path, ("brief.txt", b"een"))
    (tmp_path / "brief-v2.txt").write_bytes(b"twee")
    resident.ok("update", ids["brief.txt"], str(tmp_path / "brief-v2.txt"))
    for number in ("0", "-1"):
        result = resident.run("get", ids["brief.txt"], "--version", number, "-o", str(tmp_path))
        user_error(result, f"no version {number}", "numbered from 1")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["brief-v2.txt", "brief.txt"]


def test_adding_a_directory_is_refused_and_does_not_hang(
    pair: tuple[Person, Person], tmp_path: Path
) -> None:
    # It was: `kluis add DOSSIER SOME_DIRECTORY` never returned. In _encrypt_and_upload the
    # producer thread ran `with path.open("rb") as src, os.fdopen(write_fd, "wb") as sink`:
    # path.open failed (IsADirectoryError) before the pipe's write end was wrapped, so it was
    # never closed and the upload read the pipe forever. The same for any unreadable file.
    resident, _ = pair
    dossier, _ = new_dossier(resident, tmp_path)
    (tmp_path / "map").mkdir()
    try:
        result = resident.run("add", dossier, str(tmp_path / "map"), timeout=20)
    except subprocess.TimeoutExpired:
        raise AssertionError("`kluis add DOSSIER DIRECTORY` hangs (killed after 20 s)") from None
    user_error(result, "map", "is a folder")
    (tmp_path / "brief.txt").write_text("brief")
    resident.ok("add", dossier, str(tmp_path / "brief.txt"))
    [doc] = json.loads(resident.ok("ls", dossier, "--json"))
    update = resident.run("update", doc["id"], str(tmp_path / "map"), timeout=20)
    user_error(update, "map", "is a folder")
    assert [d["version"] for d in json.loads(resident.ok("ls", dossier, "--json"))] == [1]


def test_add_with_one_missing_file_adds_nothing(
    pair: tuple[Person, Person], tmp_path: Path
) -> None:
    # It was: `kluis add D present.txt absent.txt` uploaded and signed present.txt, then exited 1
    # with "No such file or directory: absent.txt" and said nothing about present.txt: the user
    # was told the command failed, yet one document was added. Every file is checked first.
    resident, _ = pair
    dossier, _ = new_dossier(resident, tmp_path)
    (tmp_path / "present.txt").write_text("present")
    result = resident.run("add", dossier, str(tmp_path / "present.txt"), str(tmp_path / "absent"))
    user_error(result, "absent", "no such file")
    assert json.loads(resident.ok("ls", dossier, "--json")) == []


def test_names_and_titles_are_printed_literally(
    pair: tuple[Person, Person], tmp_path: Path
) -> None:
    # It was: the CLI printed file names and dossier titles through rich with markup enabled:
    # `add`, `get` and the `ls` table showed "scan[b].pdf" as "scan.pdf" and "[red]rood.txt" as a
    # red "rood.txt", and `kluis dossier list` crashed (rich.errors.MarkupError) on a title such
    # as "Schade [/x]". A title is chosen by whoever shares the dossier, so anyone could break
    # another user's `dossier list` by sharing one such dossier with them.
    resident, _ = pair
    files = (("scan[b].pdf", b"scan"), ("[red]rood.txt", b"rood"), ("a:smile:b.txt", b"x"))
    for name, content in files:
        (tmp_path / name).write_bytes(content)
    title = "Schade [/x] Hoofdstraat [bold]12"
    dossier = resident.ok("dossier", "create", title).strip()
    added = resident.ok("add", dossier, *(str(tmp_path / name) for name, _ in files))
    table = resident.ok("ls", dossier)
    (tmp_path / "out").mkdir()
    scan = ids_by_name(resident, dossier)["scan[b].pdf"]
    got = resident.ok("get", scan, "-o", str(tmp_path / "out"))
    assert (tmp_path / "out" / "scan[b].pdf").read_bytes() == b"scan"
    listing = resident.run("dossier", "list")
    for name, _ in files:
        assert name in added, added
        assert name in table, table
    assert "scan[b].pdf" in got, got
    assert listing.returncode == 0, listing.stderr[-300:]
    assert title in listing.stdout


def test_a_far_future_expiry_does_not_break_the_recipients_listing(
    pair: tuple[Person, Person], tmp_path: Path
) -> None:
    # It was: `--expires 99999999d` was accepted (a grant valid until the year 275817), and from
    # then on the recipient's `kluis shared` table failed with "error: year 275817 is out of
    # range". Now such an expiry is refused, and any signed expiry still prints (unit tests).
    resident, contractor = pair
    dossier, _ = new_dossier(resident, tmp_path)
    for far in ("99999999d", "3700d", "600w", "9999-12-31"):
        user_error(resident.run("share", dossier, "contractor", "--expires", far), "years away")
    user_error(resident.run("share", dossier, "contractor", "--expires", "0d"), "not in the future")
    assert dossier[:12] not in contractor.ok("shared")
    resident.ok("share", dossier, "contractor", "--expires", "3650d")
    assert dossier[:12] in contractor.ok("shared")


def test_sharing_with_yourself_is_refused(pair: tuple[Person, Person], tmp_path: Path) -> None:
    resident, _ = pair
    dossier, ids = new_dossier(resident, tmp_path, ("brief.txt", b"brief"))
    for target in (dossier, ids["brief.txt"]):
        user_error(resident.run("share", target, "resident"), "cannot share with yourself")
    assert [e["action"] for e in json.loads(resident.ok("log", dossier, "--json"))] == ["upload"]


def test_an_ended_session_says_to_log_in(pair: tuple[Person, Person], tmp_path: Path) -> None:
    # A 401 on an ordinary command means the session this device holds is expired, ended by a
    # recovery elsewhere, or not known to the server: say so, not "server: missing, invalid...".
    resident, _ = pair
    dossier, _ = new_dossier(resident, tmp_path)
    copy = tmp_path / "old-device"
    shutil.copytree(resident.profile, copy)
    session = json.loads((copy / "session.json").read_text())
    (copy / "session.json").write_text(json.dumps({**session, "token": "ended-" + "0" * 40}))
    device = Person(resident.server, copy, resident.passphrase)
    for command in (("ls", dossier), ("dossier", "list"), ("shared",)):
        user_error(device.run(*command), "not logged in (or session expired)", "kluis login")
    device.ok("login", "resident")
    assert json.loads(device.ok("ls", dossier, "--json")) == []


def test_recover_asks_for_the_new_passphrase_only_after_a_valid_code(
    server: LocalServer, tmp_path: Path
) -> None:
    _, code = registered(server, tmp_path, "anna-env")
    words = code.split()
    device = Person(server.url, tmp_path / "device", "")
    # no new passphrase anywhere and no terminal: the typo is reported, not the missing passphrase
    typo = " ".join([*words[:5], "notaword", *words[6:]])
    user_error(device.run("recover", "anna-env", env={"KLUIS_RECOVERY_CODE": typo}), "word 6")
    short = " ".join(words[:20])
    user_error(device.run("recover", "anna-env", env={"KLUIS_RECOVERY_CODE": short}), "24 words")
    user_error(
        device.run("recover", "anna-env", env={"KLUIS_RECOVERY_CODE": code}),
        "no passphrase",
        "KLUIS_NEW_PASSPHRASE",
    )
    # KLUIS_NEW_PASSPHRASE, as for `passwd`; it wins over KLUIS_PASSPHRASE
    env = {
        "KLUIS_RECOVERY_CODE": code,
        "KLUIS_NEW_PASSPHRASE": "the new passphrase 2026",
        "KLUIS_PASSPHRASE": "not this one",
    }
    assert "Access restored for anna-env" in device.ok("recover", "anna-env", env=env)
    Person(server.url, tmp_path / "check", "the new passphrase 2026").ok("login", "anna-env")


# -- revoke: who loses what, and only what the owner really gave (issue 15, point 1) -------------
@pytest.fixture(scope="module")
def neighbour(server: LocalServer, tmp_path_factory: pytest.TempPathFactory) -> Person:
    """A third person for the revoke tests: one who keeps a share while another loses theirs."""
    return registered(server, tmp_path_factory.mktemp("neighbour"), "neighbour")[0]


def epoch_of(p: Person, dossier: str) -> int:
    """The dossier's key epoch as the owner's own device verifies it (read only)."""
    with Client(p.server, str(p.profile)) as c:
        return c.load_dossier(dossier).epoch


def log_facts(p: Person, dossier: str) -> list[tuple[str, str, str | None]]:
    return [
        (e["who"], e["action"], e["subject"]) for e in json.loads(p.ok("log", dossier, "--json"))
    ]


def test_revoke_names_who_loses_what_and_the_log_holds_only_what_the_owner_did(
    pair: tuple[Person, Person], neighbour: Person, tmp_path: Path
) -> None:
    # It was: each rotation re-posted every remaining grant, which the server logged as new
    # shares ("share neighbour" lines the owner never made) and which the remaining grantee saw
    # as another share (a second row in `kluis shared`); a share of a dossier with two key
    # epochs was two identical "share" lines; and revoke said nothing of what it took away.
    resident, _ = pair
    dossier, _ = new_dossier(resident, tmp_path, ("rapport.pdf", b"rapport"))
    resident.ok("share", dossier, "contractor", "--write", "--expires", "30d")
    resident.ok("share", dossier, "neighbour")
    before = log_facts(resident, dossier)

    revoked = resident.ok("revoke", dossier, "contractor").splitlines()
    assert "contractor" in revoked[0] and "write access" in revoked[0], revoked
    assert dossier[:12] in revoked[0] and "whole dossier" in revoked[0], revoked
    assert revoked[1] == "Access of contractor revoked. Dossier key rotated (epoch 2).", revoked
    assert log_facts(resident, dossier) == [*before, ("resident", "revoke", "contractor")]
    assert [r["dossier"] for r in json.loads(neighbour.ok("shared", "--json"))].count(
        dossier
    ) == 1, "the re-wrap of the new epoch for neighbour shows as a second share"

    # sharing again after the rotation is one share, though it wraps two epoch keys
    resident.ok("share", dossier, "contractor")
    assert log_facts(resident, dossier)[-1:] == [("resident", "share", "contractor")]
    assert log_facts(resident, dossier)[-2] == ("resident", "revoke", "contractor")


def test_revoke_refuses_someone_without_a_share_of_their_own(
    pair: tuple[Person, Person], neighbour: Person, tmp_path: Path
) -> None:
    # It was: revoking someone who had no share (never, or no longer) said "Access of ...
    # revoked. Dossier key rotated (epoch N)", exit 0, and rotated the key every time.
    resident, _ = pair
    dossier, ids = new_dossier(resident, tmp_path, ("rapport.pdf", b"rapport"))
    resident.ok("share", dossier, "contractor")
    resident.ok("revoke", dossier, "contractor")
    log = log_facts(resident, dossier)
    assert epoch_of(resident, dossier) == 2

    again = resident.run("revoke", dossier, "contractor")
    user_error(again, "contractor holds no share of their own", "nothing was revoked")
    never = resident.run("revoke", dossier, "neighbour")
    user_error(never, "neighbour holds no share of their own", "nothing was revoked")
    assert epoch_of(resident, dossier) == 2, "a refused revoke rotated the dossier key"
    assert log_facts(resident, dossier) == log

    # a document of a dossier someone reads as a whole: say how they have access
    resident.ok("share", dossier, "neighbour")
    whole = resident.run("revoke", ids["rapport.pdf"], "neighbour")
    user_error(whole, "no share of this document of their own", "whole dossier")
    assert epoch_of(resident, dossier) == 2

    # a document shared on its own: revoked without a rotation, its versions named first
    resident.ok("share", ids["rapport.pdf"], "contractor")
    taken = resident.ok("revoke", ids["rapport.pdf"], "contractor").splitlines()
    assert "rapport.pdf" in taken[0] and "version 1" in taken[0], taken
    assert taken[1] == "Access of contractor revoked.", taken
    assert epoch_of(resident, dossier) == 2
    assert log_facts(resident, dossier)[-1] == ("resident", "revoke", "contractor")
    # the table names the version a document share gave (two versions are two lines)
    lines = [line.split() for line in resident.ok("log", dossier).splitlines()]
    assert lines[0][4:7] == ["document", "version", "user"]
    assert ["share", "rapport.pdf", "1", "contractor"] in [ln[4:8] for ln in lines]


# -- export: every version, atomic, names that fit, one passphrase (issue 15, point 2) ----------
EXPORT_ENV = {"KLUIS_EXPORT_PASSPHRASE": "export passphrase 2026"}
LONG_ASCII = "a" * 251 + ".pdf"  # 255 bytes, the most a file name may have here
LONG_UTF8 = "é" * 125 + ".txt"  # 129 characters, 254 bytes


def in_pty(argv: list[str], cwd: Path, answer: str) -> tuple[int, bytes]:
    """Run `argv` on a pseudo-terminal, answering every passphrase prompt with `answer`."""
    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.chdir(cwd)
            os.execvp(argv[0], argv)  # noqa: S606
        finally:
            os._exit(127)
    output = b""
    answered = 0
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 1)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 1024)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        output += chunk
        if output.lower().count(b"passphrase") > answered:
            time.sleep(0.1)
            os.write(fd, answer.encode() + b"\n")
            answered = output.lower().count(b"passphrase")
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), output


def test_an_export_holds_every_version_with_names_that_fit_and_opens_with_one_passphrase(
    pair: tuple[Person, Person], tmp_path: Path
) -> None:
    # It was: only the latest version of each document was exported; a file name of 252-255
    # bytes (which `add` accepts) failed with "[Errno 36] File name too long" and left a
    # half-written folder that a retry refused as not empty; and opening the files as the
    # README said asked for the passphrase once per file.
    resident, contractor = pair
    files = tmp_path / "files"
    files.mkdir()
    originals = {
        "schaderapport.pdf": b"%PDF rapport, versie een",
        LONG_ASCII: b"a long name",
        LONG_UTF8: "een lange naam met é".encode(),
        "leeg.txt": b"",
    }
    for name, content in originals.items():
        (files / name).write_bytes(content)
    dossier = resident.ok("dossier", "create", "Export").strip()
    resident.ok("add", dossier, *(str(files / name) for name in originals))
    ids = ids_by_name(resident, dossier)
    (files / "v2" / "schaderapport.pdf").parent.mkdir()
    (files / "v2" / "schaderapport.pdf").write_bytes(b"%PDF rapport, versie twee")
    resident.ok("update", ids["schaderapport.pdf"], str(files / "v2" / "schaderapport.pdf"))
    # the contractor's offerte, two versions; the owner's index lists only the latest, so her
    # device confirms version 2 and not version 1 (K4): version 1 stays out of the export
    resident.ok("share", dossier, "contractor", "--write")
    (files / "offerte.pdf").write_bytes(b"offerte een")
    quote = contractor.ok("add", dossier, str(files / "offerte.pdf")).split()[0]
    resident.ok("ls", dossier)
    (files / "v2" / "offerte.pdf").write_bytes(b"offerte twee")
    contractor.ok("update", quote, str(files / "v2" / "offerte.pdf"))
    resident.ok("ls", dossier)

    export = tmp_path / "out" / "mijn-dossier"
    done = resident.run("export", dossier, "-o", str(export), env=EXPORT_ENV)
    assert done.returncode == 0, done.stderr
    assert "6 version(s) of 5 document(s)" in done.stdout, done.stdout
    assert "open.sh" in done.stdout
    assert "version 1 of offerte.pdf" in done.stderr, done.stderr
    assert sorted(p.name for p in export.parent.iterdir()) == ["mijn-dossier"]  # no leftovers
    manifest = json.loads((export / "manifest.json").read_text())
    entries = {(m["name"], m["version"]): m for m in manifest["documents"]}
    contents = {
        ("schaderapport.pdf", 1): b"%PDF rapport, versie een",
        ("schaderapport.pdf", 2): b"%PDF rapport, versie twee",
        (LONG_ASCII, 1): b"a long name",
        (LONG_UTF8, 1): "een lange naam met é".encode(),
        ("leeg.txt", 1): b"",
        ("offerte.pdf", 2): b"offerte twee",
    }
    assert set(entries) == set(contents)
    assert entries[("schaderapport.pdf", 1)]["file"] == "schaderapport.v1.pdf.age"
    assert entries[("schaderapport.pdf", 2)]["file"] == "schaderapport.v2.pdf.age"
    assert [m["latest"] for m in manifest["documents"] if m["name"] == "schaderapport.pdf"] == [
        False,
        True,
    ]
    assert entries[("offerte.pdf", 2)]["author"] == "contractor"
    names = [m["file"] for m in manifest["documents"]]
    assert len(set(names)) == len(names)
    assert all(len(n.encode()) <= 120 and n.endswith(".age") for n in names), names
    assert entries[(LONG_ASCII, 1)]["file"].endswith(".v1.pdf.age")
    assert entries[(LONG_UTF8, 1)]["file"].endswith(".v1.txt.age")
    assert sorted(p.name for p in export.iterdir()) == sorted(
        [*names, "README.txt", "kluis-identity.age", "manifest.json", "open.sh"]
    )
    assert stat.S_IMODE(export.stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in export.iterdir()} == {0o600}

    # the whole export opens with the real age, the passphrase asked for once
    readme = (export / "README.txt").read_text()
    assert "sh open.sh" in readme and "Windows" in readme
    code, output = in_pty(["sh", "open.sh"], export, "export passphrase 2026")
    assert code == 0, output
    assert output.lower().count(b"passphrase") == 1, output
    opened = export / "opened"
    for key, m in entries.items():
        assert (opened / m["file"].removesuffix(".age")).read_bytes() == contents[key], m
    # one file as the README shows it, with age alone
    code, _ = age_decrypt(
        export / "kluis-identity.age",
        export / "schaderapport.v2.pdf.age",
        tmp_path / "one.pdf",
        "export passphrase 2026",
    )
    assert code == 0 and (tmp_path / "one.pdf").read_bytes() == b"%PDF rapport, versie twee"


def test_an_export_that_cannot_be_written_leaves_nothing_and_can_be_retried(
    pair: tuple[Person, Person], tmp_path: Path
) -> None:
    # A disk that fills up half-way (here: a file size limit, which makes the second document's
    # write fail as a full disk would) is a clear exit-1 message, and leaves nothing behind.
    resident, _ = pair
    dossier, _ = new_dossier(
        resident, tmp_path, ("brief.txt", b"brief"), ("foto.jpg", os.urandom(300_000))
    )
    export = tmp_path / "out" / "export"
    limited = subprocess.run(
        [KLUIS, "export", dossier, "-o", str(export)],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
        check=False,
        env={
            **os.environ,
            "KLUIS_SERVER": resident.server,
            "KLUIS_PROFILE": str(resident.profile),
            "KLUIS_PASSPHRASE": resident.passphrase,
            **EXPORT_ENV,
        },
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000)),
    )
    user_error(limited, "nothing was exported")
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []
    out = resident.ok("export", dossier, "-o", str(export), env=EXPORT_ENV)
    assert "2 version(s) of 2 document(s)" in out
    # a folder that is there and not empty is still refused, and left as it was
    user_error(resident.run("export", dossier, "-o", str(export), env=EXPORT_ENV), "not empty")
    assert len(list(export.iterdir())) == 6


def test_an_export_of_a_document_shared_on_its_own_holds_the_versions_shared(
    pair: tuple[Person, Person], tmp_path: Path
) -> None:
    resident, contractor = pair
    dossier, ids = new_dossier(resident, tmp_path, ("bestek.txt", b"een"), ("prive.txt", b"x"))
    (tmp_path / "v2").mkdir()
    (tmp_path / "v2" / "bestek.txt").write_bytes(b"twee")
    resident.ok("update", ids["bestek.txt"], str(tmp_path / "v2" / "bestek.txt"))
    resident.ok("share", ids["bestek.txt"], "contractor")
    (tmp_path / "v3").mkdir()
    (tmp_path / "v3" / "bestek.txt").write_bytes(b"drie")
    resident.ok("update", ids["bestek.txt"], str(tmp_path / "v3" / "bestek.txt"))  # not shared
    export = tmp_path / "export"
    out = contractor.ok("export", dossier, "-o", str(export), env=EXPORT_ENV)
    assert "2 version(s) of 1 document(s)" in out
    manifest = json.loads((export / "manifest.json").read_text())["documents"]
    assert [(m["file"], m["version"], m["latest"]) for m in manifest] == [
        ("bestek.v1.txt.age", 1, False),
        ("bestek.v2.txt.age", 2, True),
    ]
    code, output = in_pty(["sh", "open.sh"], export, "export passphrase 2026")
    assert code == 0 and output.lower().count(b"passphrase") == 1, output
    assert (export / "opened" / "bestek.v2.txt").read_bytes() == b"twee"


# -- the requests a command makes, counted by the server's own metrics (issue 14) ---------------
LISTING_ROUTE = "/api/v1/dossiers/{dossier_id}/documents"
SERVED = re.compile(r"^kluis_http_requests_total\{(?P<labels>.*)\} (?P<count>\S+)$", re.M)


def listings_served(server: LocalServer) -> int:
    """How many dossier listings the server has answered so far (any status), from /metrics."""
    text = httpx.get(server.url + "/metrics", timeout=30).text
    total = 0.0
    for match in SERVED.finditer(text):
        labels = dict(re.findall(r'(\w+)="([^"]*)"', match["labels"]))
        if labels.get("method") == "GET" and labels.get("route") == LISTING_ROUTE:
            total += float(match["count"])
    return int(total)


def listings_fetched_by(server: LocalServer, p: Person, *args: str) -> tuple[int, str]:
    """Run one command; the listings it fetched (the module's tests run one at a time against
    their server, so nothing else asks meanwhile) and its output."""
    before = listings_served(server)
    out = p.ok(*args)
    return listings_served(server) - before, out


def test_the_owners_ls_fetches_the_listing_once(
    server: LocalServer, pair: tuple[Person, Person], tmp_path: Path
) -> None:
    # It was: as the owner, `sync` fetched the listing to adopt what her grants allow, then
    # `documents` fetched it again: twice the server's largest answer for a big dossier.
    resident, _ = pair
    dossier, ids = new_dossier(resident, tmp_path, ("a.txt", b"a"), ("b.txt", b"b"))
    fetched, out = listings_fetched_by(server, resident, "ls", dossier, "--json")
    assert fetched == 1
    assert sorted(d["id"] for d in json.loads(out)) == sorted(ids.values())


def test_the_owners_ls_that_adopts_a_version_fetches_the_listing_once(
    server: LocalServer, pair: tuple[Person, Person], tmp_path: Path
) -> None:
    resident, contractor = pair
    dossier, _ = new_dossier(resident, tmp_path, ("a.txt", b"a"))
    resident.ok("share", dossier, "contractor", "--write")
    (tmp_path / "plan.txt").write_bytes(b"plan van de aannemer")
    contractor.ok("add", dossier, str(tmp_path / "plan.txt"))
    fetched, out = listings_fetched_by(server, resident, "ls", dossier, "--json")
    assert fetched == 1
    rows = {d["name"]: d for d in json.loads(out)}
    # the listing `sync` checked and adopted from is the one shown, with the new index
    assert rows["plan.txt"]["confirmed_by_owner"] is True
    assert rows["plan.txt"]["author"] == "contractor"


def test_a_readers_ls_fetches_the_listing_once(
    server: LocalServer, pair: tuple[Person, Person], tmp_path: Path
) -> None:
    resident, contractor = pair
    dossier, ids = new_dossier(resident, tmp_path, ("a.txt", b"a"))
    resident.ok("share", dossier, "contractor")
    fetched, out = listings_fetched_by(server, contractor, "ls", dossier, "--json")
    assert fetched == 1
    assert [d["id"] for d in json.loads(out)] == [ids["a.txt"]]


def test_the_owners_export_fetches_the_listing_once(
    server: LocalServer, pair: tuple[Person, Person], tmp_path: Path
) -> None:
    resident, _ = pair
    dossier, _ = new_dossier(resident, tmp_path, ("a.txt", b"a"))
    export = tmp_path / "export"
    before = listings_served(server)
    out = resident.ok("export", dossier, "-o", str(export), env=EXPORT_ENV)
    assert "1 version(s) of 1 document(s)" in out
    assert listings_served(server) - before == 1
