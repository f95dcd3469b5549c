"""Village groups through the real `kluis` CLI against a real server process: create, invite,
accept, members, news page, chat (piped lines, and --follow over Server-Sent Events), personal
messages, the agenda with replies and an .ics file; and the user's own mistakes (exit 1).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from client_sdk import Client
from client_sdk.localserver import LocalServer

from .cli_runner import KLUIS, Person

NAMES = ("ada", "bert", "cees")


@pytest.fixture(scope="module")
def people(
    server: LocalServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Person]]:
    root = tmp_path_factory.mktemp("groups-cli")
    out = {}
    for name in NAMES:
        person = Person(
            server.url, root / f"profile-{name}", f"wachtwoord van {name} 2026 dorpshuis"
        )
        with Client(server.url, str(person.profile)) as c:
            c.register(name, person.passphrase)
        out[name] = person
    yield out


def env_of(p: Person) -> dict[str, str]:
    return {**os.environ, "KLUIS_SERVER": p.server, "KLUIS_PROFILE": str(p.profile),
            "KLUIS_PASSPHRASE": p.passphrase, "COLUMNS": "200"}  # fmt: skip


def piped(p: Person, text: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([KLUIS, *args], input=text, capture_output=True, text=True,
                          env=env_of(p), timeout=120, check=False)  # fmt: skip


def user_error(result: subprocess.CompletedProcess[str], fragment: str) -> None:
    assert result.returncode == 1, (result.args, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "SECURITY" not in result.stderr
    assert fragment in result.stderr, result.stderr


def a_group(people: dict[str, Person]) -> str:
    name = f"dorp-{os.urandom(3).hex()}"
    people["ada"].ok("group", "create", name)
    people["ada"].ok("group", "invite", name, "bert", "--role", "editor")
    people["ada"].ok("group", "invite", name, "cees")
    return name


def test_a_group_on_the_command_line(people: dict[str, Person], tmp_path: Path) -> None:
    ada, bert, cees = (people[n] for n in NAMES)
    name = a_group(people)
    user_error(cees.run("chat", name), "accept")
    assert json.loads(cees.ok("group", "ls", "--json"))[-1]["invitation"] is True
    assert "You are now a member" in cees.ok("group", "accept", name)
    bert.ok("group", "accept", name)
    members = {m["user"]: m["role"] for m in json.loads(ada.ok("group", "members", name, "--json"))}
    assert members == {"ada": "admin", "bert": "editor", "cees": "member"}

    body = tmp_path / "nieuws.md"
    body.write_text("De **versterking** begint in maart.\n", "utf-8")
    bert.ok("post", name, "--title", "Versterking", "--file", str(body))
    assert "Versterking" in cees.ok("news", name)
    user_error(cees.run("post", name, "--title", "Nep"), "may not write a post")

    sent = piped(cees, "Goedemorgen\nKomt er koffie?\n", "chat", name)
    assert sent.returncode == 0, sent.stderr
    shown = ada.ok("chat", name)
    assert "cees: Goedemorgen" in shown and "cees: Komt er koffie?" in shown

    added = bert.ok("event", name, "--title", "Bewonersavond", "--start", "2026-12-10T19:30+01:00",
                    "--end", "2026-12-10T21:30+01:00", "--location", "Dorpshuis")  # fmt: skip
    ref = added.split("Event ")[1].split(" ")[0]
    cees.ok("event", name, ref, "--reply", "yes")
    [row] = [r for r in json.loads(ada.ok("agenda", "--json")) if r["group"] == name]
    assert row["replies"] == {"cees": "yes"} and row["title"] == "Bewonersavond"
    ics = tmp_path / "avond.ics"
    ada.ok("event", name, ref, "--ics", str(ics))
    text = ics.read_bytes().decode()
    assert "DTSTART:20261210T183000Z\r\n" in text and "SUMMARY:Bewonersavond\r\n" in text

    assert "cees removed" in ada.ok("group", "remove", name, "cees")
    result = cees.run("chat", name)
    assert result.returncode == 1 and "no" in result.stderr, result.stderr


def test_personal_messages_on_the_command_line(people: dict[str, Person]) -> None:
    people["bert"].ok("msg", "cees", "Heb je de brief van het IMG gekregen?")
    people["cees"].ok("msg", "bert", "Ja, gisteren")
    shown = people["bert"].ok("msg", "cees")
    assert "bert: Heb je de brief" in shown and "cees: Ja, gisteren" in shown
    user_error(people["bert"].run("msg", "bert", "hoi"), "yourself")


def test_chat_follow_shows_what_another_member_says(people: dict[str, Person]) -> None:
    name = a_group(people)
    people["bert"].ok("group", "accept", name)
    people["cees"].ok("group", "accept", name)
    follower = subprocess.Popen([KLUIS, "chat", name, "--follow"], stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=env_of(people["cees"]))  # fmt: skip
    try:
        people["bert"].ok("chat", name)  # nothing to send: makes sure the follower is up
        piped(people["bert"], "Is er al nieuws?\n", "chat", name)
        assert follower.stdout is not None
        line = follower.stdout.readline()
        assert "bert: Is er al nieuws?" in line, (line, follower.stderr)
    finally:
        follower.terminate()
        follower.wait(timeout=30)


def test_user_mistakes_exit_1(people: dict[str, Person]) -> None:
    name = a_group(people)
    user_error(people["ada"].run("group", "invite", name, "bert", "--role", "chef"), "role")
    user_error(people["ada"].run("event", name, "--title", "x"), "--start")
    user_error(people["ada"].run("event", name, "--title", "x", "--start", "morgen", "--end",
                                 "overmorgen"), "not a date")  # fmt: skip
    user_error(people["ada"].run("post", name), "--title")
