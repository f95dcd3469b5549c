"""Organisations through the real `kluis` CLI against a real server process: create, members,
the operator's verification, sharing with `@name`, opening as a member, receipts, the inbox,
removing a member, export; and the user errors and security failures on the way.

People are registered once per module through the SDK on their profile (an Argon2id derivation
each); every command then runs as a `kluis` subprocess on that profile. Each test works with
organisations and dossiers of its own.
"""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest

from client_sdk import Client
from client_sdk.localserver import LocalServer

from .cli_runner import KLUIS, Person

FINGERPRINT = re.compile(r"\d{5}(?: \d{5}){11}")
NAMES = ("anna", "ada", "bert", "cees", "dirk")


@dataclass
class World:
    server: LocalServer
    root: Path
    people: dict[str, Person]

    def __getattr__(self, name: str) -> Person:
        return self.people[name]

    def file(self, name: str, content: bytes) -> Path:
        path = self.root / "files" / f"{time.monotonic_ns()}" / name
        path.parent.mkdir(parents=True)
        path.write_bytes(content)
        return path

    def operator(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`kluis server admin ...` on the server machine (it runs `python -m server admin`)."""
        return subprocess.run(
            [KLUIS, "server", "admin", *args, "--data-dir", str(self.server.data_dir)],
            capture_output=True, text=True, check=False, timeout=60,
        )  # fmt: skip

    def dossier(self, title: str = "Schade Hoofdstraat 12", *files: tuple[str, bytes]) -> str:
        dossier_id = self.anna.ok("dossier", "create", title).strip()
        for name, content in files:
            self.anna.ok("add", dossier_id, str(self.file(name, content)))
        return dossier_id

    def organisation(self, name: str, *members: str, verified: bool = True) -> str:
        """`name`, made by ada (admin) with `members`; marked verified by the operator."""
        out = self.ada.ok("org", "create", name, "--kind", "institution")
        fingerprint = FINGERPRINT.search(out)
        assert fingerprint, out
        for member in members:
            self.ada.ok("org", "add-member", name, member)
        if verified:
            done = self.operator("verify-org", name, "--fingerprint", fingerprint.group(0))
            assert done.returncode == 0, done.stderr
        return fingerprint.group(0)


@pytest.fixture(scope="module")
def world(server: LocalServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("organisations")
    people = {}
    for name in NAMES:
        passphrase = f"passphrase of {name} 2026 kaasschaaf"
        person = Person(server.url, root / f"profile-{name}", passphrase)
        with Client(server.url, str(person.profile)) as c:
            c.register(name, person.passphrase)
        people[name] = person
    yield World(server, root, people)


def user_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 1, (result.args, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "SECURITY" not in result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, (fragment, result.stderr)


def security_failure(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 3, (result.args, result.stdout, result.stderr)
    assert "SECURITY CHECK FAILED" in result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, (fragment, result.stderr)


def ids_by_name(p: Person, dossier: str) -> dict[str, str]:
    return {d["name"]: d["id"] for d in json.loads(p.ok("ls", dossier, "--json"))}


# -- the whole flow --------------------------------------------------------------------------
def test_a_member_opens_a_shared_dossier_and_the_resident_gets_a_verified_receipt(
    world: World, tmp_path: Path
) -> None:
    fingerprint = world.organisation("ncg-flow", "bert")
    dossier = world.dossier("Schade", ("rapport.pdf", b"%PDF scheur in de gevel"))
    shared = world.anna.ok("share", dossier, "@ncg-flow")
    assert "Shared with organisation ncg-flow" in shared and fingerprint in shared
    assert "verified (the operator's record matches these keys)" in shared

    assert world.anna.ok("receipts", dossier).count("No receipts yet") == 1
    listed = ids_by_name(world.bert, dossier)  # bert opens it: his client signs a receipt
    assert list(listed) == ["rapport.pdf"]
    target = tmp_path / "rapport.pdf"
    world.bert.ok("get", listed["rapport.pdf"], "-o", str(target))
    assert target.read_bytes() == b"%PDF scheur in de gevel"

    [receipt] = json.loads(world.anna.ok("receipts", dossier, "--json"))
    assert receipt["status"] == "verified" and receipt["organisation"] == "ncg-flow"
    assert receipt["member"] == "bert" and receipt["org_fingerprint"] == fingerprint
    assert [(d["document_id"], d["version"]) for d in receipt["documents"]] == [
        (listed["rapport.pdf"], 1)
    ]  # the download was covered by the first receipt: no second one
    table = world.anna.ok("receipts", dossier)
    assert "ncg-flow" in table and "bert" in table and "verified" in table
    log = json.loads(world.anna.ok("log", dossier, "--json"))
    assert [(e["action"], e["subject"]) for e in log if e["action"] == "share"] == [
        ("share", "ncg-flow")
    ]  # the organisation is named in the access log, like a person

    exported = tmp_path / "export"
    world.anna.run("export", dossier, "-o", str(exported),
                   env={"KLUIS_EXPORT_PASSPHRASE": "export passphrase 2026"})  # fmt: skip
    saved = json.loads((exported / "receipts.json").read_text())
    assert [r["status"] for r in saved["receipts"]] == ["verified"]
    assert saved["receipts"][0]["receipt"] and saved["organisations"]
    assert "receipts.json" in (exported / "README.txt").read_text()


def test_the_inbox_lists_shares_to_me_and_to_my_organisations_newest_first(world: World) -> None:
    world.organisation("gemeente-inbox", "cees")
    first = world.dossier("Eerste")
    world.anna.ok("share", first, "cees")
    time.sleep(1.1)
    second = world.dossier("Tweede")
    world.anna.ok("share", second, "@gemeente-inbox")
    rows = json.loads(world.cees.ok("inbox", "--json"))
    mine = [r for r in rows if r["dossier"] in (first, second)]
    assert [(r["dossier"], r["via"], r["from"], r["signature"]) for r in mine] == [
        (second, "@gemeente-inbox", "anna", "verified"),
        (first, "me", "anna", "verified"),
    ]
    only_org = json.loads(world.cees.ok("inbox", "--org", "gemeente-inbox", "--json"))
    assert {r["dossier"] for r in only_org} == {second}
    assert "gemeente-inbox" in world.cees.ok("inbox")


def test_a_removed_member_loses_new_documents_and_the_others_keep_everything(
    world: World,
) -> None:
    world.organisation("img-removal", "bert", "cees")
    dossier = world.dossier("Schade", ("oud.pdf", b"before"))
    world.anna.ok("share", dossier, "@img-removal")
    assert list(ids_by_name(world.bert, dossier)) == ["oud.pdf"]
    removed = world.ada.ok("org", "remove-member", "img-removal", "bert")
    assert "epoch 2" in removed and "1 share(s) re-wrapped" in removed
    assert "cannot take copies back" in removed
    world.anna.ok("add", dossier, str(world.file("nieuw.pdf", b"after")))
    assert sorted(ids_by_name(world.cees, dossier)) == ["nieuw.pdf", "oud.pdf"]
    user_error(world.bert.run("ls", dossier), "no dossier")  # the server refuses him too
    shown = world.ada.ok("org", "show", "img-removal")
    assert "cees (member)" in shown and "bert" not in shown and "key epoch: 2" in shown


def test_org_show_and_list_print_the_fingerprint_and_who_verified_it(world: World) -> None:
    fingerprint = world.organisation("nam-show", "dirk", verified=False)
    shown = world.anna.ok("org", "show", "nam-show")
    assert fingerprint in shown and "NOT verified" in shown and "kluis org verify" in shown
    assert "ada (admin)" in shown and "dirk (member)" in shown
    data = json.loads(world.dirk.ok("org", "show", "nam-show", "--json"))
    assert data["fingerprint"] == fingerprint and data["verified"] is False
    listing = {r["name"]: r for r in json.loads(world.dirk.ok("org", "list", "--json"))}
    assert listing["nam-show"]["my_role"] == "member"
    world.anna.ok("org", "verify", "nam-show", fingerprint.replace(" ", ""))
    assert "verified (you compared the fingerprint)" in world.anna.ok("org", "show", "nam-show")


# -- sharing needs verification ------------------------------------------------------------------
def test_sharing_with_an_unverified_organisation_needs_allow_unverified(world: World) -> None:
    world.organisation("aannemer-unverified", "dirk", verified=False)
    dossier = world.dossier("Schade")
    refused = world.anna.run("share", dossier, "@aannemer-unverified")
    user_error(refused, "not verified", "--allow-unverified")
    assert json.loads(world.anna.ok("receipts", dossier, "--json")) == []
    assert world.dirk.run("ls", dossier).returncode == 1  # nothing was shared
    shared = world.anna.run("share", dossier, "@aannemer-unverified", "--allow-unverified")
    assert shared.returncode == 0 and "NOT verified" in shared.stdout + shared.stderr
    assert world.dirk.ok("ls", dossier)


def test_the_operator_cannot_record_a_mistyped_fingerprint(world: World) -> None:
    fingerprint = world.organisation("typo-org", "dirk", verified=False)
    wrong = " ".join(["12345"] * 12)
    refused = world.operator("verify-org", "typo-org", "--fingerprint", wrong)
    assert refused.returncode == 1, (refused.stdout, refused.stderr)
    assert "does not match" in refused.stderr and fingerprint in refused.stderr
    assert "Traceback" not in refused.stderr
    # nothing was recorded: residents see an unverified organisation, not a security failure
    assert "NOT verified" in world.anna.ok("org", "show", "typo-org")
    dossier = world.dossier("Schade")
    user_error(world.anna.run("share", dossier, "@typo-org"), "not verified")
    done = world.operator("verify-org", "typo-org", "--fingerprint", fingerprint)
    assert done.returncode == 0 and "matches its published keys" in done.stdout, done.stderr
    assert "verified (the operator's record matches these keys)" in world.anna.ok(
        "org", "show", "typo-org"
    )


def test_a_wrong_fingerprint_the_server_records_is_a_security_failure(world: World) -> None:
    """What the operator's command now refuses, a lying server can still write into its
    database: the client computes the fingerprint itself and fails closed."""
    world.organisation("lying-org", "dirk", verified=False)
    wrong = " ".join(["12345"] * 12)
    with closing(sqlite3.connect(world.server.db_path, timeout=30)) as db, db:
        db.execute(
            "UPDATE organisations SET verified_fingerprint = ? WHERE name = ?", (wrong, "lying-org")
        )
    security_failure(world.anna.run("org", "show", "lying-org"), "marked verified", wrong)
    dossier = world.dossier("Schade")
    security_failure(world.anna.run("share", dossier, "@lying-org"), "marked verified")


# -- user errors -----------------------------------------------------------------------------------
def test_organisation_user_errors(world: World) -> None:
    world.organisation("errors-org", "bert")
    user_error(world.ada.run("org", "create", "errors-org", "--kind", "institution"), "taken")
    user_error(world.ada.run("org", "create", "other-org", "--kind", "bakery"), "kind must be")
    user_error(world.bert.run("org", "add-member", "errors-org", "dirk"), "only an administrator")
    user_error(world.ada.run("org", "add-member", "errors-org", "bert"), "already a member")
    user_error(world.ada.run("org", "remove-member", "errors-org", "dirk"), "not a member")
    user_error(world.ada.run("org", "remove-member", "errors-org", "ada"), "cannot remove yourself")
    user_error(world.ada.run("org", "add-member", "errors-org", "nobody"), "no such user")
    user_error(world.anna.run("org", "show", "no-such-org"), "no such organisation")
    user_error(world.anna.run("share", world.dossier(), "@no-such-org"), "no such organisation")
    user_error(world.anna.run("inbox", "--org", "errors-org"), "not a member")
    user_error(world.anna.run("org", "verify", "errors-org", "123"), "60 digits")


def test_a_wrong_fingerprint_typed_by_the_user_is_a_security_failure(world: World) -> None:
    world.organisation("wrongfp-org")
    result = world.anna.run("org", "verify", "wrongfp-org", " ".join(["00000"] * 12))
    security_failure(result, "does not match")
    assert "NOT verified" not in world.anna.ok("org", "show", "wrongfp-org")  # operator's holds


def test_one_document_shared_with_an_organisation_survives_a_removal(
    world: World, tmp_path: Path
) -> None:
    world.organisation("ncg-document", "bert", "cees")
    dossier = world.dossier("Schade", ("brief.pdf", b"brief"), ("prive.pdf", b"prive"))
    ids = ids_by_name(world.anna, dossier)
    world.anna.ok("share", ids["brief.pdf"], "@ncg-document")
    assert list(ids_by_name(world.cees, dossier)) == ["brief.pdf"]  # only the shared one
    world.ada.ok("org", "remove-member", "ncg-document", "bert")
    target = tmp_path / "brief.pdf"
    world.cees.ok("get", ids["brief.pdf"], "-o", str(target))  # through the re-wrapped grant
    assert target.read_bytes() == b"brief"
    [receipt] = json.loads(world.anna.ok("receipts", dossier, "--json"))
    assert receipt["member"] == "cees" and receipt["status"] == "verified"
    assert [d["document_id"] for d in receipt["documents"]] == [ids["brief.pdf"]]


def test_revoking_an_organisation_closes_later_documents_to_all_its_members(
    world: World,
) -> None:
    world.organisation("ncg-revoke", "bert")
    dossier = world.dossier("Schade", ("oud.pdf", b"before"))
    world.anna.ok("share", dossier, "@ncg-revoke")
    assert list(ids_by_name(world.bert, dossier)) == ["oud.pdf"]
    revoked = world.anna.ok("revoke", dossier, "@ncg-revoke")
    assert "Dossier key rotated (epoch 2)" in revoked
    world.anna.ok("add", dossier, str(world.file("nieuw.pdf", b"after")))
    user_error(world.bert.run("ls", dossier), "no dossier")
    user_error(world.ada.run("ls", dossier), "no dossier")
    assert json.loads(world.bert.ok("inbox", "--org", "ncg-revoke", "--json")) == []


def log_facts(p: Person, dossier: str) -> list[tuple[str, str, str | None]]:
    return [
        (e["who"], e["action"], e["subject"]) for e in json.loads(p.ok("log", dossier, "--json"))
    ]


def grant_count(world: World, dossier: str) -> int:
    with closing(sqlite3.connect(world.server.db_path, timeout=30)) as db:
        [(count,)] = db.execute("SELECT count(*) FROM grants WHERE dossier_id = ?", (dossier,))
    return int(count)


def test_revoking_a_member_who_reads_through_the_organisation_is_refused_and_says_so(
    world: World,
) -> None:
    # It was: `kluis revoke DOSSIER cees`, where cees reads through @gemeente-rv, said "Access of
    # cees revoked. Dossier key rotated", exit 0, and cees still read everything; each call
    # rotated the key, logged "share gemeente-rv" lines anna never made, and added another row
    # for the dossier to the organisation's inbox.
    world.organisation("gemeente-rv", "cees")
    dossier = world.dossier("Schade", ("rapport.pdf", b"rapport"))
    world.anna.ok("share", dossier, "@gemeente-rv")
    log = log_facts(world.anna, dossier)
    count = grant_count(world, dossier)
    for _ in range(2):
        refused = world.anna.run("revoke", dossier, "cees")
        user_error(refused, "cees holds no share of their own", "nothing was revoked")
        assert "through @gemeente-rv" in refused.stderr, refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1 and refused.stdout == ""
    assert grant_count(world, dossier) == count, "a refused revoke rotated the dossier key"
    assert log_facts(world.anna, dossier) == log
    assert list(ids_by_name(world.cees, dossier)) == ["rapport.pdf"]

    # revoking someone else rotates the key: the organisation keeps one inbox row, and the log
    # gains the revoke only
    world.anna.ok("share", dossier, "bert")
    log = log_facts(world.anna, dossier)
    world.anna.ok("revoke", dossier, "bert")
    assert log_facts(world.anna, dossier) == [*log, ("anna", "revoke", "bert")]
    rows = json.loads(world.cees.ok("inbox", "--org", "gemeente-rv", "--json"))
    assert [r["dossier"] for r in rows] == [dossier]
    revoked = world.anna.ok("revoke", dossier, "@gemeente-rv").splitlines()
    assert "@gemeente-rv" in revoked[0] and "every member" in revoked[0], revoked
    assert log_facts(world.anna, dossier)[-1] == ("anna", "revoke", "gemeente-rv")
