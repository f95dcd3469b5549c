"""The CLI as people use it (issue 15): the real `kluis` command against a real server.

Honest exit statuses (3 only for what a lying server could cause, 1 for what the user typed,
70 for a bug), names that are case-insensitive, titles and file names where ids were, a second
copy of a file refused, and the small things: `whoami` when logged out, `passwd` telling about
the other devices, a hint for `ncg` that should be `@ncg`, `--server` without `http://`, a
readable `--help` and `--version`, tables that one long name does not stretch, and no stray
lines on stderr.

People are registered once per module through the SDK (an Argon2id derivation each); each test
works in dossiers of its own.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from client_sdk import Client
from client_sdk.localserver import LocalServer

from .cli_runner import Person
from .test_cli_flow import in_terminal, terminal_env

NAMES = ("anna", "bert")


@dataclass
class World:
    server: LocalServer
    root: Path
    anna: Person
    bert: Person

    def file(self, name: str, content: bytes, folder: str = "") -> Path:
        path = self.root / "files" / (folder or name) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        return path

    def dossier(self, title: str, *files: Path) -> str:
        dossier_id = self.anna.ok("dossier", "create", title).strip()
        if files:
            self.anna.ok("add", dossier_id, *map(str, files))
        return dossier_id


@pytest.fixture(scope="module")
def world(server: LocalServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("people")
    people = {}
    for name in NAMES:
        person = Person(server.url, root / f"profile-{name}", f"passphrase of {name} 2026 sluis")
        with Client(server.url, str(person.profile)) as c:
            c.register(name, person.passphrase)
        people[name] = person
    yield World(server, root, **people)


def user_error(result: subprocess.CompletedProcess[str], *fragments: str) -> str:
    """Exit status 1, one line on stderr naming the problem, nothing on stdout."""
    assert result.returncode == 1, (result.args, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "SECURITY" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, (fragment, result.stderr)
    assert result.stdout == "", result.stdout
    return result.stderr


def ids_by_name(p: Person, dossier: str) -> dict[str, str]:
    return {d["name"]: d["id"] for d in json.loads(p.ok("ls", dossier, "--json"))}


# -- point 4: exit statuses, and names typed in any case ------------------------------------------
def test_names_are_case_insensitive_wherever_they_are_typed(world: World, tmp_path: Path) -> None:
    # Issue 15, point 4: `kluis login Anna` was refused by the username rule, and
    # `kluis org create NCG` failed with "SECURITY CHECK FAILED (MalformedError)", exit 3.
    carla = Person(world.server.url, tmp_path / "carla", "passphrase of carla 2026 sluis")
    assert "Account carla created" in carla.ok("register", "Carla")
    assert carla.ok("whoami").startswith("carla\n")
    laptop = Person(world.server.url, tmp_path / "carla-laptop", carla.passphrase)
    assert "Logged in as carla " in laptop.ok("login", "CARLA")

    assert "Organisation ncg-case (institution) created" in world.anna.ok(
        "org", "create", "NCG-Case", "--kind", "institution"
    )
    assert world.anna.ok("org", "show", "Ncg-CASE").startswith("ncg-case (institution)\n")
    assert world.anna.ok("fingerprint", "BERT").startswith("bert\n")
    dossier = world.dossier("Hoofdletters")
    assert "Shared with bert " in world.anna.ok("share", dossier, "Bert")
    shared = world.anna.ok("share", dossier, "@NCG-case", "--allow-unverified")
    assert "Shared with organisation ncg-case " in shared
    assert "Access of bert revoked" in world.anna.ok("revoke", dossier, "BERT")


def test_a_mistyped_name_is_a_user_error_that_quotes_it(world: World) -> None:
    dossier = world.dossier("Tikfouten")
    cases = [
        (("org", "create", "NC G", "--kind", "institution"), "'NC G' is not a valid organisation"),
        (("org", "show", "../users"), "'../users' is not a valid organisation name"),
        (("share", dossier, "bert smit"), "'bert smit' is not a valid username"),
        (("share", dossier, "@n c g"), "'n c g' is not a valid organisation name"),
        (("fingerprint", "anna/.."), "'anna/..' is not a valid username"),
        (("inbox", "--org", "Gemeente!"), "'Gemeente!' is not a valid organisation name"),
        (("login", "_anna"), "'_anna' is not a valid username"),
    ]
    for args, fragment in cases:
        user_error(world.anna.run(*args), fragment)


def test_mistakes_in_local_input_are_user_errors(world: World, tmp_path: Path) -> None:
    dossier = world.dossier("Lokale fouten")
    user_error(world.anna.run("dossier", "create", "x" * 1025), "title", "1024")
    newline = world.file("brief\nhoofdstraat.txt", b"brief")
    user_error(world.anna.run("add", dossier, str(newline)), "control character", "rename it")
    user_error(
        world.anna.run("add", dossier, str(world.file("a.txt", b"a")), "--title", "t" * 1025)
    )
    assert json.loads(world.anna.ok("ls", dossier, "--json")) == []  # nothing went up
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("wachtwoord met é\n".encode("latin-1"))
    user_error(world.anna.run("login", "anna", "--passphrase-file", str(latin1)), "UTF-8")
    empty = tmp_path / "empty.txt"
    empty.write_text("\n")
    user_error(world.anna.run("login", "anna", "--passphrase-file", str(empty)), "is empty")
    user_error(world.anna.run("login", "anna", "--passphrase-file", str(tmp_path / "absent")),
               f"{tmp_path / 'absent'}: No such file or directory")  # fmt: skip


def test_a_file_that_cannot_be_written_is_named(world: World, tmp_path: Path) -> None:
    # Issue 15, point 9: `get -o /proc/x.pdf` showed "[Errno 2] No such file or directory:
    # '/proc/.kluis-65kpidi1.part'": a raw errno, and a file the user never asked for.
    dossier = world.dossier("Schrijven", world.file("rapport.pdf", b"%PDF rapport"))
    document = ids_by_name(world.anna, dossier)["rapport.pdf"]
    (tmp_path / "a-file").write_text("")
    for target in ("/proc/x.pdf", str(tmp_path / "a-file" / "x.pdf")):
        message = user_error(
            world.anna.run("get", document, "-o", target), f"cannot write {target}"
        )
        assert "Errno" not in message and ".part" not in message


# -- point 9: the smaller things -----------------------------------------------------------------
def test_whoami_on_a_logged_out_device_says_so(world: World, tmp_path: Path) -> None:
    device = Person(world.server.url, tmp_path / "device", world.bert.passphrase)
    shutil.copytree(world.bert.profile, device.profile)
    session = json.loads((device.profile / "session.json").read_text())
    # The session this device holds was ended elsewhere (expired, a recovery, a passwd).
    ended = {**session, "token": "ended-" + "0" * 40}
    (device.profile / "session.json").write_text(json.dumps(ended))
    user_error(device.run("whoami"), "not logged in (or session expired)", "kluis login")
    device.ok("logout")
    user_error(device.run("whoami"), "not logged in")


def test_passwd_says_the_other_devices_were_logged_out(world: World, tmp_path: Path) -> None:
    carla = Person(world.server.url, tmp_path / "dora", "passphrase of dora 2026 sluis")
    carla.ok("register", "dora")
    phone = Person(world.server.url, tmp_path / "dora-phone", carla.passphrase)
    phone.ok("login", "dora")
    new = "the new passphrase of dora, 2026 kade"
    out = carla.ok("passwd", env={"KLUIS_NEW_PASSPHRASE": new})
    assert "Passphrase changed." in out and "other devices are logged out" in out
    user_error(phone.run("whoami"), "not logged in (or session expired)")


def test_a_user_name_that_is_an_organisation_gets_a_hint(world: World) -> None:
    world.anna.ok("org", "create", "ncg-hint", "--kind", "institution")
    dossier = world.dossier("Hint")
    for args in (("share", dossier, "ncg-hint"), ("fingerprint", "NCG-hint")):
        user_error(world.anna.run(*args), "no user 'ncg-hint'", "@ncg-hint")
    user_error(world.anna.run("share", dossier, "nobody-at-all"), "no such user")


def test_a_server_address_without_http_gets_a_suggestion(world: World) -> None:
    address = world.server.url.removeprefix("http://")
    for args in (("ls", "ab"), ("whoami",), ("login", "anna")):
        user_error(world.anna.run(*args, "--server", address), f"did you mean http://{address}?")


def test_an_empty_passphrase_at_the_prompt_is_explained(world: World, tmp_path: Path) -> None:
    env = terminal_env(world.server, tmp_path / "empty-prompt")
    answer = world.anna.passphrase.encode() + b"\n"
    code, output = in_terminal(
        ["login", "anna"], env, [(b"Passphrase:", b"\n"), (b"Passphrase:", answer)]
    )
    assert code == 0, output
    assert "nothing was typed" in output and "Logged in as anna" in output


def test_help_names_parameters_as_people_read_them_and_there_is_a_version(world: World) -> None:
    for args in (("--help",), ("get", "--help"), ("share", "--help"), ("org", "show", "--help")):
        shown = world.anna.ok(*args)
        for noise in ("<bool>", "<str>", "<int>", "<path>", "{"):
            assert noise not in shown, (args, noise, shown)
    assert "Usage: kluis get [OPTIONS] DOCUMENT" in world.anna.ok("get", "--help")
    assert re.search(r"--output +-o +PATH +Where to write it", world.anna.ok("get", "--help"))
    version = world.anna.run("--version")
    assert version.returncode == 0 and version.stdout.startswith("kluis ")


def test_one_long_name_does_not_stretch_the_table(world: World) -> None:
    long_name = "schaderapport-" + "hoofdstraat-" * 19 + "12.pdf"
    assert len(long_name) <= 255
    dossier = world.dossier("Lange namen", world.file(long_name, b"%PDF"))
    table = world.anna.ok("ls", dossier)
    assert max(len(line) for line in table.splitlines()) < 120, table
    assert "\u2026" in table and "12.pdf" in table
    assert [d["name"] for d in json.loads(world.anna.ok("ls", dossier, "--json"))] == [long_name]


def test_add_and_get_print_nothing_on_stderr_off_a_terminal(world: World, tmp_path: Path) -> None:
    dossier = world.dossier("Stil")
    added = world.anna.run("add", dossier, str(world.file("stil.txt", b"stil")))
    assert (added.returncode, added.stderr) == (0, "")
    folder = f"{tmp_path / 'nieuw'}/"  # ending in /: a folder, made if need be
    got = world.anna.run("get", ids_by_name(world.anna, dossier)["stil.txt"], "-o", folder)
    assert (got.returncode, got.stderr) == (0, "")
    assert (tmp_path / "nieuw" / "stil.txt").read_bytes() == b"stil"


# -- point 7: names where there were ids ---------------------------------------------------------
def test_ls_get_and_share_take_a_title_or_a_file_name(world: World, tmp_path: Path) -> None:
    # Issue 15, point 7: `ls 'Schade Hoofdstraat 12'` and `get schaderapport.pdf` did not work.
    report = world.file("schaderapport-namen.pdf", b"%PDF rapport", folder="namen")
    dossier = world.dossier("Schade Namenstraat 12", report)
    document = ids_by_name(world.anna, dossier)["schaderapport-namen.pdf"]
    listed = json.loads(world.anna.ok("ls", "schade namenstraat 12", "--json"))
    assert [d["id"] for d in listed] == [document]
    assert [d["id"] for d in json.loads(world.anna.ok("ls", "Schade Namen", "--json"))] == [
        document
    ]  # the beginning of a title, if only one title begins so
    out = world.anna.ok("get", "schaderapport-namen.pdf", "-o", str(tmp_path / "r.pdf"))
    assert out.startswith(f"{tmp_path / 'r.pdf'}  (version 1")
    assert (tmp_path / "r.pdf").read_bytes() == b"%PDF rapport"
    assert "Shared with bert " in world.anna.ok("share", "SCHADERAPPORT-namen.pdf", "bert")
    assert "Shared with bert " in world.anna.ok("share", "Schade Namenstraat 12", "bert")
    shared = {(i["kind"], i["dossier"], i["document"]) for i in json.loads(
        world.bert.ok("shared", "--json"))}  # fmt: skip
    assert {("document", dossier, document), ("dossier", dossier, None)} <= shared
    user_error(world.anna.run("ls", "Schade Nergensstraat"), "no dossier with the id or title")
    user_error(world.anna.run("get", "nergens.pdf"), "no document with the id or name")


def test_an_ambiguous_title_or_name_lists_the_candidates(world: World) -> None:
    first = world.dossier("Schade Dubbelstraat 1", world.file("dubbel.txt", b"een", "d1"))
    second = world.dossier("Schade Dubbelstraat 1", world.file("dubbel.txt", b"twee", "d2"))
    for args, what in ((("ls", "schade dubbelstraat 1"), "2 dossiers"),
                       (("ls", "Schade Dubbel"), "2 dossiers"),
                       (("get", "dubbel.txt"), "2 documents")):  # fmt: skip
        result = world.anna.run(*args)
        assert (result.returncode, result.stdout) == (1, ""), result
        first_line, *candidates = result.stderr.splitlines()
        assert first_line.startswith(f"error: '{args[1]}' matches {what}; type more of the id")
        assert len(candidates) == 2, result.stderr
        ids = {c.split()[0] for c in candidates}
        if args[0] == "ls":
            assert ids == {first[:12], second[:12]}
            assert all(c.endswith("  Schade Dubbelstraat 1") for c in candidates)
        else:
            docs = {
                *ids_by_name(world.anna, first).values(),
                *ids_by_name(world.anna, second).values(),
            }
            assert ids == {d[:12] for d in docs}
            assert all("dubbel.txt  (in 'Schade Dubbelstraat 1')" in c for c in candidates)
    assert json.loads(world.anna.ok("ls", first[:8], "--json"))[0]["name"] == "dubbel.txt"


def test_log_and_shared_show_titles_and_file_names(world: World, tmp_path: Path) -> None:
    # Issue 15, point 7: `log` showed document ids only; `shared` no title or file name, and
    # one row per version without saying which.
    report = world.file("rapport-log.pdf", b"versie 1", folder="log")
    dossier = world.dossier("Schade Logstraat 4", report)
    report.write_bytes(b"versie 2")
    world.anna.ok("update", "rapport-log.pdf", str(report))
    world.anna.ok("share", "rapport-log.pdf", "bert")
    world.bert.ok("get", "rapport-log.pdf", "-o", str(tmp_path / "b.pdf"))
    table = world.anna.ok("log", "Schade Logstraat 4").splitlines()
    assert table[0].split() == ["#", "when", "who", "action", "document", "version", "user"]
    assert [line.split()[4:] for line in table[1:-1]] == [
        ["upload", "rapport-log.pdf", "1"],
        ["upload", "rapport-log.pdf", "2"],
        ["share", "rapport-log.pdf", "1", "bert"],
        ["share", "rapport-log.pdf", "2", "bert"],
        ["download", "rapport-log.pdf", "2"],
    ]
    logged = json.loads(world.anna.ok("log", dossier, "--json"))
    assert {e["name"] for e in logged} == {"rapport-log.pdf"}
    rows = [line for line in world.bert.ok("shared").splitlines() if "rapport-log.pdf" in line]
    assert len(rows) == 1, rows  # one share, not one line for each version's key
    assert rows[0].split()[:2] == [
        "document",
        ids_by_name(world.anna, dossier)["rapport-log.pdf"][:12],
    ]
    assert "  1, 2  " in rows[0]


# -- point 8: the same file twice ----------------------------------------------------------------
def test_adding_a_file_the_dossier_holds_is_refused_with_a_pointer_to_update(
    world: World,
) -> None:
    # Issue 15, point 8: adding the same file twice silently made a second document.
    report = world.file("rapport-dubbel.pdf", b"%PDF het rapport", folder="twice")
    dossier = world.dossier("Twee keer", report)
    [document] = ids_by_name(world.anna, dossier).values()
    message = user_error(world.anna.run("add", dossier, str(report)), "rapport-dubbel.pdf")
    assert f"already in this dossier as document {document[:12]}" in message
    assert f"`kluis update {document[:12]} {report}`" in message and "--again" in message
    other = world.file("brief.txt", b"brief", folder="twice")
    user_error(world.anna.run("add", dossier, str(other), str(report)), "--again")
    user_error(world.anna.run("add", dossier, str(other), str(other)), "given twice")
    assert list(ids_by_name(world.anna, dossier)) == ["rapport-dubbel.pdf"]  # nothing added

    world.anna.ok("add", dossier, str(report), "--again")
    assert len(json.loads(world.anna.ok("ls", dossier, "--json"))) == 2
    report.write_bytes(b"%PDF het herziene rapport")  # another file by that name: welcome
    world.anna.ok("add", dossier, str(report))
    assert len(json.loads(world.anna.ok("ls", dossier, "--json"))) == 3


def test_the_same_file_is_recognised_by_its_content_not_by_its_date(world: World) -> None:
    """Issue 15, point 8: name and content decide. A copy with another modification time is
    the same file; another file of the same name and size, modified at the same second, is
    not (it was refused when name, size and date were compared)."""
    report = world.file("rapport-inhoud.pdf", b"%PDF inhoud A", folder="content")
    dossier = world.dossier("Inhoud", report)
    [document] = ids_by_name(world.anna, dossier).values()
    stat = report.stat()
    os.utime(report, ns=(stat.st_atime_ns, stat.st_mtime_ns + 3_600 * 10**9))  # touched
    message = user_error(world.anna.run("add", dossier, str(report)), "rapport-inhoud.pdf")
    assert f"already in this dossier as document {document[:12]}" in message
    assert "the same name and content" in message
    assert f"`kluis update {document[:12]} {report}`" in message

    report.write_bytes(b"%PDF inhoud B")  # as long as A, and as old: another file
    os.utime(report, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    world.anna.ok("add", dossier, str(report))
    assert len(json.loads(world.anna.ok("ls", dossier, "--json"))) == 2


def test_inbox_and_receipts_show_titles_and_file_names(world: World, tmp_path: Path) -> None:
    # Issue 15, point 7: `receipts` showed document ids only; `inbox` no title or file name.
    world.anna.ok("org", "create", "Loket-Namen", "--kind", "institution")
    world.anna.ok("org", "add-member", "loket-namen", "BERT")
    dossier = world.dossier("Schade Inboxstraat 5", world.file("inbox-rapport.pdf", b"%PDF", "ib"))
    world.anna.ok("share", "Schade Inboxstraat 5", "@loket-namen", "--allow-unverified")
    rows = [r for r in json.loads(world.bert.ok("inbox", "--json")) if r["dossier"] == dossier]
    assert [(r["via"], r["title"]) for r in rows] == [("@loket-namen", "Schade Inboxstraat 5")]
    [line] = [line for line in world.bert.ok("inbox").splitlines() if dossier[:12] in line]
    assert "Schade Inboxstraat 5" in line
    world.bert.ok("get", "inbox-rapport.pdf", "-o", str(tmp_path / "r.pdf"))  # signs a receipt
    [receipt] = json.loads(world.anna.ok("receipts", "Schade Inboxstraat 5", "--json"))
    assert receipt["names"] == ["inbox-rapport.pdf"]
    table = world.anna.ok("receipts", "Schade Inboxstraat 5")
    assert "inbox-rapport.pdf v1" in table, table
