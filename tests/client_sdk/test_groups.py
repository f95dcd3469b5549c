"""A village group's whole life through the SDK against a real server process: create, invite,
accept, roles, news page (posts, edits, deletion), chat, agenda with replies and .ics,
personal messages, the group's library, and removal (the former member reads nothing new).

People are registered once per module (an Argon2id derivation each); every test makes groups
of its own.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from client_sdk import Client
from client_sdk.errors import ClientError, Forbidden
from client_sdk.localserver import LocalServer
from vault.content import Answer, Post, Text
from vault.errors import IntegrityError

PASSPHRASE = "village group test passphrase for the dorpshuis"
NAMES = ("ada", "bert", "cees", "dirk")


@pytest.fixture(scope="module")
def people(
    server: LocalServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Client]]:
    root = tmp_path_factory.mktemp("village")
    clients = {n: Client(server.url, str(root / n)) for n in NAMES}
    for name, c in clients.items():
        c.register(name, PASSPHRASE)
    yield clients
    for c in clients.values():
        c.close()


def fresh_name(stem: str) -> str:
    return f"{stem}-{os.urandom(3).hex()}"


def village(people: dict[str, Client], *members: str, editor: str | None = None) -> str:
    """A group of ada's with `members` invited and accepted (and `editor` as editor)."""
    name = fresh_name("dorpsbelangen")
    ada = people["ada"]
    ada.create_group(name)
    for m in members:
        ada.invite(name, m, "editor" if m == editor else "member")
        people[m].accept(name)
    return name


def texts(said: list) -> list[str]:  # type: ignore[type-arg]
    return [s.body.text for s in said if isinstance(s.body, Text)]


def test_a_groups_whole_life(people: dict[str, Client], tmp_path: Path) -> None:
    ada, bert, cees, dirk = (people[n] for n in NAMES)
    name = village(people, "bert", "cees", editor="bert")
    assert ada.group(name).kind == "group"
    assert ada.group(name).members()[bert.my_id] == "editor"

    bert.post(name, "Informatieavond", "Dinsdag in het **dorpshuis**.")
    cees.say(name, "Ik kom ook")
    ada.say(name, "Welkom allemaal", announce=True)
    assert texts(cees.chat(name)) == ["Ik kom ook", "Welkom allemaal"]
    [post] = cees.news(name)
    assert isinstance(post.latest.body, Post) and post.latest.body.title == "Informatieavond"
    assert post.latest.sender == "bert" and not post.public

    bert.edit_post(name, post.ref[:12], "Informatieavond (verzet)", "Woensdag.")
    [post] = ada.news(name)
    assert [r.body.title for r in post.revisions if isinstance(r.body, Post)] == [
        "Informatieavond",
        "Informatieavond (verzet)",
    ]

    event = bert.add_event(
        name, "Bewonersavond", 1_900_000_000, 1_900_007_200, location="Dorpshuis"
    )
    cees.reply(name, event.ref[:10], "maybe")
    cees.reply(name, event.ref[:10], "yes")
    [view] = [e for g, e in ada.agenda() if g == name]
    assert view.replies == {"cees": Answer.YES}
    ics = ada.event_ics(name, view.ref)
    assert "SUMMARY:Bewonersavond\r\n" in ics and "LOCATION:Dorpshuis\r\n" in ics

    # removal: a new epoch; cees keeps what he read, but nothing new opens for him
    result = ada.remove_from_group(name, "cees")
    assert result.epoch == 2
    bert.say(name, "Alleen voor de huidige leden")
    assert texts(bert.chat(name))[-1] == "Alleen voor de huidige leden"
    with pytest.raises(ClientError):
        cees.say(name, "Mag ik nog?")
    with pytest.raises((ClientError, Forbidden)):
        cees.chat(name)

    # a new member reads from the epoch it joined, not the archive
    ada.invite(name, "dirk")
    dirk.accept(name)
    said = dirk.said(name)[1]
    assert not any(s.readable for s in said if s.verified.message.epoch < 2 and s.body)
    dirk.say(name, "Hallo")
    assert texts(dirk.chat(name)) == ["Alleen voor de huidige leden", "Hallo"]

    # archive access: only when an admin gives it, sealed to dirk alone
    with pytest.raises(ClientError, match="administrator"):
        bert.open_archive(name, "dirk")
    assert ada.open_archive(name, "dirk") == 1
    assert texts(dirk.chat(name)) == [
        "Ik kom ook",
        "Welkom allemaal",
        "Alleen voor de huidige leden",
        "Hallo",
    ]
    assert [p.latest.body.title for p in dirk.news(name) if isinstance(p.latest.body, Post)] == [
        "Informatieavond (verzet)"
    ]


def test_an_invitation_must_be_accepted_before_use(people: dict[str, Client]) -> None:
    name = fresh_name("straat")
    people["ada"].create_group(name)
    people["ada"].invite(name, "dirk")
    with pytest.raises(ClientError, match="accept"):
        people["dirk"].say(name, "hoi")
    assert (people["dirk"].group(name).name, False) in [
        (g.name, ok) for g, ok in people["dirk"].groups()
    ]
    people["dirk"].accept(name)
    people["dirk"].say(name, "hoi")


def test_a_plain_member_cannot_post_or_delete(people: dict[str, Client]) -> None:
    name = village(people, "bert", "cees", editor="bert")
    with pytest.raises(ClientError):
        people["cees"].post(name, "Mijn bericht", "")
    people["bert"].post(name, "Nieuws", "tekst")
    [post] = people["cees"].news(name)
    people["ada"].delete_post(name, post.ref)
    [post] = people["cees"].news(name)
    assert post.deleted_by == "ada"


def test_personal_messages(people: dict[str, Client]) -> None:
    people["ada"].send_personal("cees", "Zullen we bellen?")
    people["cees"].send_personal("ada", "Ja, morgen")
    assert texts(people["ada"].personal("cees"))[-2:] == ["Zullen we bellen?", "Ja, morgen"]
    conversation = people["cees"].conversation("ada")
    assert conversation is not None and conversation.name.startswith("dm-")
    assert (
        people["bert"].conversation("ada") is None
        or people["bert"].conversation("ada") != conversation
    )


def test_a_group_is_not_an_organisation(people: dict[str, Client]) -> None:
    name = fresh_name("gemeente")
    people["ada"].create_organisation(name, "municipality")
    with pytest.raises(IntegrityError, match="not a group"):
        people["ada"].group(name)
    with pytest.raises(ClientError, match="dm-"):
        people["ada"].create_group("dm-" + "0" * 32)
    with pytest.raises(ClientError, match="role"):
        people["ada"].invite(village(people), "bert", "chef")


def test_the_groups_library(people: dict[str, Client], tmp_path: Path) -> None:
    name = village(people, "bert")
    ada = people["ada"]
    dossier = ada.create_dossier("Notulen")
    source = tmp_path / "notulen.txt"
    source.write_bytes(b"notulen van de vergadering")
    ada.add(dossier, source)
    ada.share_with_organisation(dossier, name, allow_unverified=True)
    [info] = people["bert"].documents(dossier)
    target = tmp_path / "out.txt"
    people["bert"].get(info.document_id, target)
    assert target.read_bytes() == b"notulen van de vergadering"
