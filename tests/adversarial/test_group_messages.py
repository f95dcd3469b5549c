"""A lying server against a village group's message chain (format 19.3-19.5, docs/client.md
"Groups and messages"): it drops, replays, reorders, alters and forges messages and posts,
swaps a member's key, keeps a removed member's rows, and rewrites history a device saw. Each
is detected by the real client against a real server process, and the device's state stays
where it was.

People: ada (the group's admin), bert (editor), cees (member, removed in one test), and
mallory (the operator's accomplice, no member), each on a device of their own.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from client_sdk import Client
from vault.content import Post, Text
from vault.errors import (
    IntegrityError,
    KeyMismatchError,
    RollbackError,
    SecurityError,
    SignatureError,
)
from vault.group import epoch_key, make_archive_key
from vault.keys import PrivateIdentity
from vault.message import MessageKind, message_hash, seal_message

from .harness import EXIT_SECURITY, Person, World, world

__all__ = ["world"]


@dataclass
class Village:
    w: World
    ada: Person
    bert: Person
    cees: Person

    def group(self) -> str:
        """A fresh group: ada admin, bert editor, cees member; a few messages said."""
        name = f"dorp-{os.urandom(3).hex()}"
        self.ada.client.create_group(name)
        self.ada.client.invite(name, "bert", "editor")
        self.ada.client.invite(name, "cees")
        self.bert.client.accept(name)
        self.cees.client.accept(name)
        self.bert.client.post(name, "Nieuws", "De eerste versterking begint.")
        self.cees.client.say(name, "een")
        self.bert.client.say(name, "twee")
        self.cees.client.say(name, "drie")
        return name

    def rows(self, name: str) -> list[tuple[int, bytes]]:
        org_id = self.ada.client.group(name).org_id
        return [
            (r[0], bytes(r[1]))
            for r in self.w.db.rows(
                "SELECT position, message FROM group_messages WHERE org_id = ? ORDER BY position",
                org_id,
            )
        ]

    def set_row(self, name: str, position: int, message: bytes) -> None:
        self.w.db.execute(
            "UPDATE group_messages SET message = ?, message_hash = ? WHERE org_id = ? AND "
            "position = ?",
            message,
            message_hash(message).hex(),
            self.ada.client.group(name).org_id,
            position,
        )

    def append(self, name: str, sender: Person, message: bytes) -> None:
        """What the operator injects at the end of the chain, as if it had been posted."""
        org_id = self.ada.client.group(name).org_id
        position = self.w.db.one(
            "SELECT MAX(position) FROM group_messages WHERE org_id = ?", org_id
        )
        self.w.db.insert(
            "group_messages",
            {
                "org_id": org_id,
                "position": position + 1,
                "sender_id": sender.user_id,
                "message_hash": message_hash(message).hex(),
                "message": message,
                "created_at": 0,
            },
        )

    def signed_on_top(
        self,
        name: str,
        signer: PrivateIdentity,
        kind: MessageKind,
        body: bytes,
        *,
        epoch: int,
        key: bytes | None,
        sequence: int,
        reference: bytes = bytes(32),
    ) -> bytes:
        """A message `signer` signs on top of the chain's newest message."""
        head = message_hash(self.rows(name)[-1][1])
        return seal_message(
            signer,
            group_id=bytes.fromhex(self.ada.client.group(name).org_id),
            epoch=epoch,
            kind=kind,
            sequence=sequence,
            previous_hash=head,
            reference=reference,
            sent_at=1,
            body=body,
            epoch_key=key,
        )


@pytest.fixture(scope="module")
def village(world: World) -> Iterator[Village]:
    people = [world.person(n) for n in ("ada", "bert", "cees")]
    yield Village(world, *people)
    for p in people:
        if p._client is not None:
            p._client.close()


def reader(person: Person) -> Client:
    """The person's own profile through a new client (nothing cached in memory)."""
    return person.device()


def state_of(person: Person, name: str) -> object:
    c = reader(person)
    return c.profile.message_state(c.group(name).org_id)


def refused(person: Person, name: str, error: type[SecurityError], match: str) -> None:
    """Reading the chat fails closed with `error`, and the device's state does not move."""
    before = state_of(person, name)
    with pytest.raises(error, match=match):
        reader(person).chat(name)
    assert state_of(person, name) == before


def k(person: Person, name: str, epoch: int = 1) -> bytes:
    return epoch_key(person.client.group(name).keys[epoch])


def test_a_dropped_message_is_detected(village: Village) -> None:
    name = village.group()
    org_id = village.ada.client.group(name).org_id
    village.w.db.execute("DELETE FROM group_messages WHERE org_id = ? AND position = 4", org_id)
    refused(village.ada, name, IntegrityError, "dropped, inserted, reordered or replaced")


def test_messages_dropped_from_history_a_device_saw_are_detected(village: Village) -> None:
    name = village.group()
    assert len(village.ada.client.chat(name)) == 3  # ada's device saw all of them
    org_id = village.ada.client.group(name).org_id
    village.w.db.execute("DELETE FROM group_messages WHERE org_id = ? AND position >= 5", org_id)
    refused(village.ada, name, IntegrityError, "no longer gives messages this device verified")
    with pytest.raises(RollbackError, match="taken away"):
        reader(village.ada).news(name)


def test_a_replayed_message_is_detected(village: Village) -> None:
    name = village.group()
    village.append(name, village.cees, village.rows(name)[3][1])
    refused(village.ada, name, IntegrityError, "does not follow")


def test_a_replay_signed_on_top_is_refused_by_its_sequence(village: Village) -> None:
    """The operator cannot sign; cees's device, made to sign sequence 1 again on top (a
    client bug or a copied profile), is caught by the sequence check."""
    name = village.group()
    old = village.signed_on_top(
        name, village.cees.keys, MessageKind.CHAT, Text("een").encode(),
        epoch=1, key=k(village.cees, name), sequence=1,
    )  # fmt: skip
    village.append(name, village.cees, old)
    refused(village.ada, name, RollbackError, "a replay")


def test_reordered_messages_are_detected(village: Village) -> None:
    name = village.group()
    rows = village.rows(name)
    village.set_row(name, 4, rows[4][1])
    village.set_row(name, 5, rows[3][1])
    refused(village.bert, name, IntegrityError, "does not follow")


def test_an_altered_message_is_detected(village: Village) -> None:
    name = village.group()
    position, data = village.rows(name)[-1]
    altered = bytearray(data)
    altered[-80] ^= 1  # a byte of the encrypted body
    village.set_row(name, position, bytes(altered))
    refused(village.ada, name, SignatureError, "")


def test_an_altered_post_is_detected(village: Village) -> None:
    name = village.group()
    position, data = village.rows(name)[1]  # bert's post
    altered = bytearray(data)
    altered[-70] ^= 1
    village.set_row(name, position, bytes(altered))
    with pytest.raises(SignatureError):
        reader(village.cees).news(name)


def test_a_message_forged_by_a_stranger_is_refused(village: Village) -> None:
    name = village.group()
    forged = village.signed_on_top(
        name, village.w.mallory.keys, MessageKind.CHAT, Text("klik hier").encode(),
        epoch=1, key=bytes(32), sequence=1,
    )  # fmt: skip
    village.append(name, village.w.mallory, forged)
    refused(village.ada, name, IntegrityError, "no member")


def test_a_message_forged_in_a_members_name_is_refused(village: Village) -> None:
    """mallory signs with her key but names bert as the sender."""
    name = village.group()
    forged = bytearray(
        village.signed_on_top(
            name, village.w.mallory.keys, MessageKind.CHAT, Text("x").encode(),
            epoch=1, key=k(village.cees, name), sequence=3,
        )
    )  # fmt: skip
    sender_at = 4 + 1 + 16 + 4 + 1
    forged[sender_at : sender_at + 16] = bytes.fromhex(village.bert.user_id)
    forged[sender_at + 16 : sender_at + 48] = village.bert.keys.public.key_id
    village.append(name, village.bert, bytes(forged))
    refused(village.ada, name, SignatureError, "")


def test_a_post_by_a_plain_member_is_refused(village: Village) -> None:
    """cees signs a post: a valid signature, but he holds no right to post."""
    name = village.group()
    post = village.signed_on_top(
        name, village.cees.keys, MessageKind.POST, Post("Nep", "nepnieuws").encode(),
        epoch=1, key=k(village.cees, name), sequence=3,
    )  # fmt: skip
    village.append(name, village.cees, post)
    with pytest.raises(IntegrityError, match="cees was member in epoch 1 and may not write"):
        reader(village.ada).news(name)


def test_a_deletion_by_an_editor_is_refused(village: Village) -> None:
    name = village.group()
    post_hash = message_hash(village.rows(name)[1][1])
    deletion = village.signed_on_top(
        name, village.bert.keys, MessageKind.POST_DELETION, b"",
        epoch=1, key=None, sequence=3, reference=post_hash,
    )  # fmt: skip
    village.append(name, village.bert, deletion)
    with pytest.raises(IntegrityError, match="may not write a post deletion"):
        reader(village.cees).news(name)


def test_a_swapped_member_key_is_detected(village: Village) -> None:
    """The server shows other keys for bert (an identity record it made up)."""
    name = village.group()
    village.ada.client.chat(name)  # ada pinned bert when she invited him
    real = village.w.db.one("SELECT identity FROM users WHERE user_id = ?", village.bert.user_id)
    fake = PrivateIdentity.generate(bytes.fromhex(village.bert.user_id), "bert", 1)
    village.w.db.execute(
        "UPDATE users SET identity = ? WHERE user_id = ?",
        fake.public.encode(),
        village.bert.user_id,
    )
    try:
        with pytest.raises(KeyMismatchError):
            reader(village.ada).chat(name)
    finally:
        village.w.db.execute(
            "UPDATE users SET identity = ? WHERE user_id = ?", real, village.bert.user_id
        )


def test_a_removed_members_rows_give_him_nothing(village: Village) -> None:
    """cees is removed; the operator keeps him in the roster and injects what he signs: a
    message with the epoch he still holds, and one in the new epoch. Both are refused, and
    nothing written after the removal opens for him."""
    name = village.group()
    ada = village.ada.client
    org_id = ada.group(name).org_id
    old_key = k(village.cees, name)
    ada.remove_from_group(name, "cees")
    village.bert.client.say(name, "na de verwijdering")
    village.w.db.insert(
        "org_members",
        {"org_id": org_id, "user_id": village.cees.user_id, "role": 1, "added_at": 0},
    )
    # he can fetch the rows again, but holds no key of epoch 2
    with pytest.raises(Exception, match=r"no keys|not a member|no member"):
        reader(village.cees).chat(name)
    old_epoch = village.signed_on_top(
        name, village.cees.keys, MessageKind.CHAT, Text("nog steeds hier").encode(),
        epoch=1, key=old_key, sequence=3,
    )  # fmt: skip
    village.append(name, village.cees, old_epoch)
    refused(village.ada, name, RollbackError, "after epoch 2 began")
    village.w.db.execute(
        "DELETE FROM group_messages WHERE org_id = ? AND position = "
        "(SELECT MAX(position) FROM group_messages WHERE org_id = ?)",
        org_id,
        org_id,
    )
    new_epoch = village.signed_on_top(
        name, village.cees.keys, MessageKind.CHAT, Text("ik ook").encode(),
        epoch=2, key=bytes(32), sequence=3,
    )  # fmt: skip
    village.append(name, village.cees, new_epoch)
    refused(village.bert, name, IntegrityError, "no member in epoch 2")


# -- the public news page, read without an account ----------------------------------------------
def public_group(village: Village) -> tuple[str, str]:
    name = village.group()
    village.bert.client.post(name, "Dorpsnieuws", "Iedereen is welkom.", public=True)
    return name, village.ada.client.group(name).fingerprint


def test_a_public_post_is_read_and_checked_without_an_account(village: Village) -> None:
    name, fingerprint = public_group(village)
    [post] = village.bert.client.news(name)[:1]
    village.bert.client.edit_post(name, post.ref, "Dorpsnieuws", "Iedereen is van harte welkom.")
    stranger = village.w.person("lezer", register=False)
    shown = stranger.ok("news", name, "--fingerprint", fingerprint, "--json")
    [entry] = json.loads(shown)
    assert entry["title"] == "Dorpsnieuws" and entry["author"] == "bert"
    assert entry["revisions"] == 2 and "van harte" in entry["markdown"]
    assert "Nieuws" not in shown  # the members-only post is not on the public page


def test_a_public_post_under_another_fingerprint_is_refused(village: Village) -> None:
    name, _ = public_group(village)
    other = village.ada.client.group(village.group()).fingerprint
    result = village.w.person("lezer", register=False).run_cli("news", name, "--fingerprint", other)
    assert_security_failure(result, "KeyMismatchError", "not the one you trust")


def test_an_altered_public_post_is_refused_without_an_account(village: Village) -> None:
    name, fingerprint = public_group(village)
    position, data = village.rows(name)[-1]
    altered = bytearray(data)
    altered[-70] ^= 1
    village.set_row(name, position, bytes(altered))
    result = village.w.person("lezer", register=False).run_cli(
        "news", name, "--fingerprint", fingerprint
    )
    assert_security_failure(result, "SignatureError")


def test_a_public_post_by_a_plain_member_is_refused_without_an_account(village: Village) -> None:
    name, fingerprint = public_group(village)
    forged = village.signed_on_top(
        name, village.cees.keys, MessageKind.PUBLIC_POST, Post("Nep", "nepnieuws").encode(),
        epoch=1, key=None, sequence=3,
    )  # fmt: skip
    village.append(name, village.cees, forged)
    result = village.w.person("lezer", register=False).run_cli(
        "news", name, "--fingerprint", fingerprint
    )
    assert_security_failure(result, "IntegrityError", "may not write a public post")


def test_an_editor_with_keys_the_server_made_up_is_refused_without_an_account(
    village: Village,
) -> None:
    """The server pairs bert's id with keys of its own and signs a post with them."""
    name, fingerprint = public_group(village)
    fake = PrivateIdentity.generate(bytes.fromhex(village.bert.user_id), "bert", 1)
    forged = village.signed_on_top(
        name, fake, MessageKind.PUBLIC_POST, Post("Nep", "van de server").encode(),
        epoch=1, key=None, sequence=5,
    )  # fmt: skip
    village.append(name, village.bert, forged)
    real = village.w.db.one("SELECT identity FROM users WHERE user_id = ?", village.bert.user_id)
    village.w.db.execute(
        "UPDATE users SET identity = ? WHERE user_id = ?", fake.public.encode(),
        village.bert.user_id,
    )  # fmt: skip
    try:
        result = village.w.person("lezer", register=False).run_cli(
            "news", name, "--fingerprint", fingerprint
        )
    finally:
        village.w.db.execute(
            "UPDATE users SET identity = ? WHERE user_id = ?", real, village.bert.user_id
        )
    assert_security_failure(result, "KeyMismatchError")


def test_a_lying_chain_ends_the_cli_with_exit_3(village: Village) -> None:
    name = village.group()
    org_id = village.ada.client.group(name).org_id
    village.w.db.execute("DELETE FROM group_messages WHERE org_id = ? AND position = 3", org_id)
    for args, says in (
        (("chat", name), "no longer gives messages"),  # cees's device verified message 3
        (("news", name), "does not follow"),
        (("agenda", name), "does not follow"),
    ):
        result = village.cees.run_cli(*args)
        assert_security_failure(result, "IntegrityError", says)
        assert "twee" not in result.stdout


def assert_security_failure(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == EXIT_SECURITY, (result.args, result.stdout, result.stderr)
    assert "SECURITY CHECK FAILED" in result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, (fragment, result.stderr)


# -- archive keys ------------------------------------------------------------------------------
def test_an_archive_key_from_someone_without_the_right_is_refused(village: Village) -> None:
    """The operator stores an archive key bert (an editor, no admin) signed for a new member:
    a valid signature by someone the roster gives no right to give the archive."""
    name = village.group()
    ada = village.ada.client
    ada.remove_from_group(name, "cees")
    dirk = village.w.person(f"dirk{os.urandom(2).hex()}")
    ada.invite(name, dirk.name)
    dirk.client.accept(name)
    org = ada.group(name)
    statement = make_archive_key(
        village.bert.keys, group_id=bytes.fromhex(org.org_id), epoch=1,
        epoch_key_id=org.chain.epoch_keys(1).key_id, granted_in=2,
        member=dirk.keys.public, key=k(village.bert, name), issued_at=1,
    )  # fmt: skip
    village.w.db.insert(
        "group_archive_keys",
        {"org_id": org.org_id, "member_id": dirk.user_id, "epoch": 1, "granted_in": 2,
         "archive_key": statement, "created_at": 0},
    )  # fmt: skip
    with pytest.raises(IntegrityError, match="no administrator in epoch 2"):
        dirk.device().chat(name)
    result = dirk.run_cli("chat", name)
    assert_security_failure(result, "IntegrityError")
    assert "een" not in result.stdout


def test_an_archive_key_sealed_to_someone_else_is_refused(village: Village) -> None:
    """An admin's genuine archive key for bert, handed to dirk by the operator."""
    name = village.group()
    ada = village.ada.client
    ada.remove_from_group(name, "cees")
    dirk = village.w.person(f"dirk{os.urandom(2).hex()}")
    ada.invite(name, dirk.name)
    dirk.client.accept(name)
    org = ada.group(name)
    statement = make_archive_key(
        village.ada.keys, group_id=bytes.fromhex(org.org_id), epoch=1,
        epoch_key_id=org.chain.epoch_keys(1).key_id, granted_in=2,
        member=village.bert.keys.public, key=k(village.ada, name), issued_at=1,
    )  # fmt: skip
    village.w.db.insert(
        "group_archive_keys",
        {"org_id": org.org_id, "member_id": dirk.user_id, "epoch": 1, "granted_in": 2,
         "archive_key": statement, "created_at": 0},
    )  # fmt: skip
    with pytest.raises(KeyMismatchError, match="addressed to someone else"):
        dirk.device().chat(name)


def test_a_message_the_device_verified_then_replaced_is_detected(village: Village) -> None:
    """ada's device verified the whole chat; the server then serves another message in the
    place of one she saw (a chat opens with the last page, checked back from her head)."""
    name = village.group()
    village.ada.client.chat(name)
    rows = village.rows(name)
    village.set_row(name, 3, rows[3][1])  # message 4's bytes in place of message 3
    refused(village.ada, name, IntegrityError, "message 3 differs from the one this device")


def test_a_removal_seals_nothing_to_keys_the_server_swapped(village: Village) -> None:
    """The batch lookup of the remaining members' keys answers with other keys for bert:
    refused before anything is sealed or sent; the group stays in its epoch."""
    name = village.group()
    village.ada.client.news(name)  # ada has pinned bert
    real = village.w.db.one("SELECT identity FROM users WHERE user_id = ?", village.bert.user_id)
    fake = PrivateIdentity.generate(bytes.fromhex(village.bert.user_id), "bert", 1)
    village.w.db.execute(
        "UPDATE users SET identity = ? WHERE user_id = ?", fake.public.encode(),
        village.bert.user_id,
    )  # fmt: skip
    try:
        with pytest.raises(KeyMismatchError):
            reader(village.ada).remove_from_group(name, "cees")
    finally:
        village.w.db.execute(
            "UPDATE users SET identity = ? WHERE user_id = ?", real, village.bert.user_id
        )
    assert reader(village.ada).group(name).epoch == 1
