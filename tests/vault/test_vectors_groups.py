"""Check the committed vectors of section 19 (archive keys, messages, the message chain, public
posts). The JSON files are read, never written: tests/vectors/generate_groups.py makes them by
hand. An expected error is met by that error or a subclass."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from vault import errors
from vault.content import Post, decode_body
from vault.group import open_archive_key
from vault.keys import Identity
from vault.message import Message, MessageKind, message_hash, open_message, verify_sender
from vault.messagelog import (
    ChainState,
    open_verified,
    state_from_json,
    state_to_json,
    verify_messages,
    verify_public_post,
)
from vault.organisation import Roster, verify_chain, verify_roster

from .test_vectors_structures import h, identities_by_id, private

VECTORS = Path(__file__).resolve().parent.parent / "vectors"
STRUCTURES = ("archive", "message", "messagelog", "publicpost")
FILES = sorted(p for p in VECTORS.glob("*.json") if p.name.split("-")[0] in STRUCTURES)


def identity_of(v: dict[str, Any]) -> Callable[[bytes], Identity]:
    return identities_by_id(v["identities"], "user")


def roster_of(v: dict[str, Any]) -> Roster:
    lookup = identity_of(v)
    chain = verify_chain([h(r) for r in v["records"]], author_of=lookup)
    return verify_roster(chain, [h(m) for m in v["memberships"]], identity_of=lookup)


def state_of(s: dict[str, Any] | None) -> ChainState | None:
    return None if s is None else state_from_json(s)


def check_archive(v: dict[str, Any]) -> None:
    key = open_archive_key(
        h(v["archive"]),
        me=private(v["member"]),
        admin=Identity.decode(h(v["admin_identity"])),
        roster=roster_of(v),
    )
    assert key.hex() == v["epoch_key"]


def check_message(v: dict[str, Any]) -> None:
    data = h(v["message"])
    message = Message.decode(data)
    verify_sender(message, Identity.decode(h(v["sender_identity"])))
    key = h(v["epoch_key"]) if v["epoch_key"] else None
    plaintext = open_message(message, key)
    decode_body(message.kind, plaintext)
    assert message.kind == v["kind"]
    assert plaintext.hex() == v["plaintext"]
    assert message_hash(data).hex() == v["message_hash"]


def check_messagelog(v: dict[str, Any]) -> None:
    _, state = verify_messages(
        [h(m) for m in v["messages"]],
        roster=roster_of(v),
        identity_of=identity_of(v),
        state=state_of(v["state"]),
    )
    assert state_to_json(state) == v["result"]


def check_publicpost(v: dict[str, Any]) -> None:
    checked = verify_public_post(
        [h(r) for r in v["revisions"]], roster=roster_of(v), identity_of=identity_of(v)
    )
    posts = [c for c in checked if c.message.kind == MessageKind.PUBLIC_POST]
    titles = []
    for c in posts:
        body = open_verified(c, lambda epoch: None)
        assert isinstance(body, Post)
        titles.append(body.title)
    assert titles == v["titles"]
    assert (checked[-1].message.kind == MessageKind.POST_DELETION) == v["deleted"]


CHECKS: dict[str, Callable[[dict[str, Any]], None]] = {
    "archive": check_archive,
    "message": check_message,
    "messagelog": check_messagelog,
    "publicpost": check_publicpost,
}


def test_there_are_vectors_of_every_structure() -> None:
    found = {json.loads(p.read_text())["structure"] for p in FILES}
    assert found == set(STRUCTURES)
    for structure in STRUCTURES:
        kinds = [
            json.loads(p.read_text())["expect"] for p in FILES if p.name.startswith(structure + "-")
        ]
        assert "success" in kinds and len(set(kinds)) > 2  # failure cases outnumber successes


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_vector(path: Path) -> None:
    v = json.loads(path.read_text())
    check = CHECKS[v["structure"]]
    if v["expect"] == "success":
        check(v)
    else:
        with pytest.raises(getattr(errors, v["expect"])):
            check(v)
