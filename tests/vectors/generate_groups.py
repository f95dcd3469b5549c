"""Write the test vectors of docs/format.md section 19 (groups: archive keys, messages, the
message chain, public posts) into tests/vectors/, one JSON file per scenario.

Run by hand, never by the tests:  .venv/bin/python tests/vectors/generate_groups.py
Every input is fixed (identities, ids, keys, nonces, times), so running it again writes the same
bytes. Fields are described in tests/vectors/README.md.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

from generate_organisations import seal_to  # type: ignore[import-not-found]
from generate_structures import (  # type: ignore[import-not-found]
    ALICE,
    BOB,
    CAROL,
    MALLORY,
    flip,
    identity,
    private_json,
    seed,
    write,
)

from vault import labels
from vault.content import Answer, Event, Post, Reply, Text
from vault.group import ArchiveKey, conversation_name, epoch_key, make_archive_key
from vault.keys import PrivateIdentity
from vault.kinds import OrgKind, Role
from vault.message import NO_HASH, Message, MessageKind, message_hash, seal_message
from vault.messagelog import ChainState, state_to_json, verify_messages
from vault.organisation import (
    make_membership,
    new_organisation,
    next_epoch,
    verify_chain,
    verify_roster,
)

OUT = Path(__file__).resolve().parent
PREFIXES = ("archive", "message", "messagelog", "publicpost")
DAVE = identity("dave")
PEOPLE = (ALICE, BOB, CAROL, DAVE, MALLORY)
IDENTITIES = {p.user_id: p.public for p in PEOPLE}
GROUP_ID = bytes.fromhex("96a0000000000000000000000000000a")
NOW = 1_800_000_000

# The group "hoofdstraat": Alice (admin) made it; Bob is an editor, Carol a member. Alice
# removed Carol and added Dave (epoch 2).
G1, RECORD1 = new_organisation(
    ALICE,
    org_id=GROUP_ID,
    name="hoofdstraat",
    kind=OrgKind.GROUP,
    created_at=NOW,
    private_keys=seed("groups/hoofdstraat/1", 96),
)
G2, RECORD2 = next_epoch(
    ALICE, G1, kind=OrgKind.GROUP, created_at=NOW + 100, private_keys=seed("groups/hs/2", 96)
)


def membership(epoch: PrivateIdentity, who: PrivateIdentity, role: Role) -> bytes:
    sealed = seal_to(
        who.public.box_key, epoch.private_keys(), f"g/{epoch.key_version}/{who.username}"
    )
    return make_membership(ALICE, epoch, who.public, role=role, issued_at=NOW, sealed_keys=sealed)


MEMBERSHIPS = [
    membership(G1, BOB, Role.EDITOR),
    membership(G1, CAROL, Role.MEMBER),
    membership(G2, BOB, Role.EDITOR),
    membership(G2, DAVE, Role.MEMBER),
]
ROSTER = verify_roster(
    verify_chain([RECORD1, RECORD2], author_of=IDENTITIES.__getitem__),
    MEMBERSHIPS,
    identity_of=IDENTITIES.__getitem__,
)
KEYS = {1: epoch_key(G1), 2: epoch_key(G2)}


def group_json() -> dict[str, Any]:
    return {
        "records": [RECORD1.hex(), RECORD2.hex()],
        "memberships": [m.hex() for m in MEMBERSHIPS],
        "identities": [p.public.encode().hex() for p in PEOPLE],
    }


def resign(data: bytes, signer: PrivateIdentity, label: bytes, **changes: Any) -> bytes:
    """Decode, change fields, sign again: one thing wrong, the signature still good."""
    if data[:4] == b"KLGA":
        a = dataclasses.replace(ArchiveKey.decode(data), **changes)
        return a.body() + signer.sign(label, a.body())
    m = dataclasses.replace(Message.decode(data), **changes)
    return m.signed_part() + signer.sign(label, m.signed_part())


# -- 19.2: archive keys -------------------------------------------------------------------------
def archive_vectors() -> None:
    def make(admin: PrivateIdentity = ALICE, member: PrivateIdentity = DAVE, **kw: Any) -> bytes:
        args: dict[str, Any] = {
            "group_id": GROUP_ID,
            "epoch": 1,
            "epoch_key_id": ROSTER.chain.epoch_keys(1).key_id,
            "granted_in": 2,
            "member": member.public,
            "key": KEYS[1],
            "issued_at": NOW + 200,
        }
        args.update(kw)
        args.setdefault(
            "sealed_key", seal_to(args["member"].box_key, args["key"], f"archive/{member.username}")
        )
        return make_archive_key(admin, **args)

    good = make()
    a = labels.GROUP_ARCHIVE_KEY_SIGNATURE
    cases: list[tuple[str, str, str, bytes, dict[str, Any]]] = [
        ("success", "Alice gives Dave, new in epoch 2, the key of epoch 1", "success", good, {}),
        (
            "addressed-to-other",
            "sealed to Bob, opened by Dave",
            "KeyMismatchError",
            make(member=BOB),
            {},
        ),
        (
            "by-editor",
            "signed by Bob, an editor, not an admin",
            "IntegrityError",
            make(admin=BOB),
            {"admin_identity": BOB.public.encode().hex()},
        ),
        (
            "not-a-member",
            "given to Carol, removed in epoch 2",
            "IntegrityError",
            make(member=CAROL),
            {"member": private_json(CAROL)},
        ),
        (
            "current-epoch",
            "the epoch it is given in (epoch 2 in epoch 2), re-signed",
            "MalformedError",
            resign(good, ALICE, a, epoch=2),
            {},
        ),
        (
            "other-group",
            "for another group, re-signed",
            "IntegrityError",
            resign(good, ALICE, a, group_id=bytes(16)),
            {},
        ),
        (
            "other-epoch-key-id",
            "names epoch 2's key id for epoch 1, re-signed",
            "IntegrityError",
            resign(good, ALICE, a, epoch_key_id=ROSTER.chain.epoch_keys(2).key_id),
            {},
        ),
        (
            "beyond-chain",
            "given in epoch 3, which the chain does not have, re-signed",
            "IntegrityError",
            resign(good, ALICE, a, granted_in=3),
            {},
        ),
        (
            "wrong-admin",
            "the trusted admin is Bob, the record names Alice",
            "KeyMismatchError",
            good,
            {"admin_identity": BOB.public.encode().hex()},
        ),
        ("bad-signature", "last signature byte flipped", "SignatureError", flip(good, -1), {}),
        (
            "wrong-label",
            "signed under the membership label",
            "SignatureError",
            resign(good, ALICE, labels.MEMBERSHIP_SIGNATURE),
            {},
        ),
        (
            "sealed-garbage",
            "an 80-byte sealed key that does not open, signed",
            "IntegrityError",
            make(sealed_key=bytes(80)),
            {},
        ),
        ("truncated", "last byte missing", "MalformedError", good[:-1], {}),
        ("trailing-byte", "one byte too many", "MalformedError", good + b"\x00", {}),
        ("wrong-magic", "KLGB", "MalformedError", b"KLGB" + good[4:], {}),
        ("wrong-version", "version 2", "MalformedError", good[:4] + b"\x02" + good[5:], {}),
    ]
    for name, description, expect, data, extra in cases:
        fields: dict[str, Any] = {
            **group_json(),
            "archive": data.hex(),
            "member": private_json(DAVE),
            "admin_identity": ALICE.public.encode().hex(),
        }
        fields.update(extra)
        if expect == "success":
            fields["epoch"] = 1
            fields["epoch_key"] = KEYS[1].hex()
        write(f"archive-{name}", "archive", description, expect, **fields)


# -- 19.3: one message --------------------------------------------------------------------------
def sealed(
    sender: PrivateIdentity,
    kind: MessageKind,
    body: bytes,
    *,
    epoch: int = 1,
    sequence: int = 1,
    previous: bytes = NO_HASH,
    reference: bytes = NO_HASH,
    name: str = "",
) -> bytes:
    return seal_message(
        sender,
        group_id=GROUP_ID,
        epoch=epoch,
        kind=kind,
        sequence=sequence,
        previous_hash=previous,
        reference=reference,
        sent_at=NOW + 300,
        body=body,
        epoch_key=KEYS.get(epoch, seed("groups/no-such-epoch", 32)),
        nonce=seed(f"groups/nonce/{name}/{sender.username}/{sequence}", 24),
    )


def message_vectors() -> None:
    previous = seed("groups/previous", 32)
    text = Text("Morgen om 8 uur komt de aannemer.").encode()
    chat = sealed(CAROL, MessageKind.CHAT, text, sequence=4, previous=previous, name="chat")
    post = Post("Dorpsnieuws", "# Versterking\n\nDe *NCG* komt langs.").encode()
    public = sealed(BOB, MessageKind.PUBLIC_POST, post, previous=previous, name="public")
    event = Event("Spreekuur", NOW + 86400, NOW + 90000, "Dorpshuis", "Neem uw rapport mee.")
    ev = sealed(BOB, MessageKind.EVENT, event.encode(), epoch=2, previous=previous, name="ev")
    start = sealed(ALICE, MessageKind.EPOCH_START, b"", epoch=2, previous=previous, name="s")
    s = labels.GROUP_MESSAGE_SIGNATURE
    m = Message.decode(chat)
    long_body = dataclasses.replace(m, body=b"x" * 67625)
    bad_text = sealed(CAROL, MessageKind.CHAT, b"\x00\x00\x00\x02\xc3\x28", name="badtext")
    cases: list[tuple[str, str, str, bytes, PrivateIdentity, bytes, bytes | None]] = [
        ("success-chat", "Carol's fourth chat line", "success", chat, CAROL, text, KEYS[1]),
        (
            "success-public-post",
            "Bob's public post: signed, not encrypted",
            "success",
            public,
            BOB,
            post,
            None,
        ),
        ("success-event", "an event of epoch 2", "success", ev, BOB, event.encode(), KEYS[2]),
        (
            "success-epoch-start",
            "Alice starts epoch 2 (empty body)",
            "success",
            start,
            ALICE,
            b"",
            KEYS[2],
        ),
        ("wrong-key", "opened with epoch 2's key", "IntegrityError", chat, CAROL, b"", KEYS[2]),
        ("no-key", "no key for the epoch on this device", "IntegrityError", chat, CAROL, b"", None),
        (
            "moved-sequence",
            "the body moved to sequence 5, re-signed",
            "IntegrityError",
            resign(chat, CAROL, s, sequence=5),
            CAROL,
            b"",
            KEYS[1],
        ),
        (
            "moved-kind",
            "the body moved to an announcement, re-signed",
            "IntegrityError",
            resign(chat, CAROL, s, kind=MessageKind.ANNOUNCEMENT),
            CAROL,
            b"",
            KEYS[1],
        ),
        (
            "flipped-ciphertext",
            "a ciphertext byte flipped, re-signed",
            "IntegrityError",
            resign(chat, CAROL, s, body=flip(m.body, 30)),
            CAROL,
            b"",
            KEYS[1],
        ),
        (
            "bad-signature",
            "last signature byte flipped",
            "SignatureError",
            flip(chat, -1),
            CAROL,
            b"",
            KEYS[1],
        ),
        (
            "other-sender",
            "the sender named is Bob, signed by Carol",
            "KeyMismatchError",
            resign(chat, CAROL, s, sender_id=BOB.user_id),
            BOB,
            b"",
            KEYS[1],
        ),
        (
            "wrong-label",
            "signed under the archive-key label",
            "SignatureError",
            resign(chat, CAROL, labels.GROUP_ARCHIVE_KEY_SIGNATURE),
            CAROL,
            b"",
            KEYS[1],
        ),
        ("truncated", "last byte missing", "MalformedError", chat[:-1], CAROL, b"", KEYS[1]),
        (
            "trailing-byte",
            "one byte too many",
            "MalformedError",
            chat + b"\x00",
            CAROL,
            b"",
            KEYS[1],
        ),
        ("wrong-magic", "KLMH", "MalformedError", b"KLMH" + chat[4:], CAROL, b"", KEYS[1]),
        (
            "wrong-version",
            "version 2",
            "MalformedError",
            chat[:4] + b"\x02" + chat[5:],
            CAROL,
            b"",
            KEYS[1],
        ),
        (
            "epoch-zero",
            "epoch 0, re-signed",
            "MalformedError",
            resign(chat, CAROL, s, epoch=0),
            CAROL,
            b"",
            KEYS[1],
        ),
        (
            "sequence-zero",
            "sequence 0, re-signed",
            "MalformedError",
            resign(chat, CAROL, s, sequence=0),
            CAROL,
            b"",
            KEYS[1],
        ),
        (
            "unknown-kind",
            "kind 10, re-signed",
            "MalformedError",
            resign(chat, CAROL, s, kind=10),
            CAROL,
            b"",
            KEYS[1],
        ),
        (
            "body-too-long",
            "a body of 67625 bytes, signed",
            "MalformedError",
            long_body.signed_part() + CAROL.sign(s, long_body.signed_part()),
            CAROL,
            b"",
            KEYS[1],
        ),
        (
            "chat-with-reference",
            "a chat line that names a message, re-signed",
            "MalformedError",
            resign(chat, CAROL, s, reference=previous),
            CAROL,
            b"",
            KEYS[1],
        ),
        (
            "bad-text",
            "a chat line that is not UTF-8",
            "MalformedError",
            bad_text,
            CAROL,
            b"",
            KEYS[1],
        ),
    ]
    for name, description, expect, data, sender, plaintext, key in cases:
        fields: dict[str, Any] = {
            "message": data.hex(),
            "sender_identity": sender.public.encode().hex(),
            "epoch_key": key.hex() if key else None,
        }
        if expect == "success":
            fields["kind"] = Message.decode(data).kind.value
            fields["plaintext"] = plaintext.hex()
            fields["message_hash"] = message_hash(data).hex()
        write(f"message-{name}", "message", description, expect, **fields)


# -- 19.4: the chain ----------------------------------------------------------------------------
class Chain:
    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.sequences: dict[bytes, int] = {}

    def add(
        self,
        sender: PrivateIdentity,
        kind: MessageKind,
        body: bytes = b"",
        *,
        epoch: int = 1,
        reference: bytes = NO_HASH,
        sequence: int | None = None,
    ) -> bytes:
        seq = sequence or self.sequences.get(sender.user_id, 0) + 1
        self.sequences[sender.user_id] = seq
        data = sealed(
            sender,
            kind,
            body,
            epoch=epoch,
            sequence=seq,
            previous=message_hash(self.messages[-1]) if self.messages else NO_HASH,
            reference=reference,
            name=f"chain/{len(self.messages)}",
        )
        self.messages.append(data)
        return data


def state_json(state: ChainState | None) -> dict[str, Any] | None:
    return None if state is None else state_to_json(state)


def life() -> Chain:
    c = Chain()
    c.add(ALICE, MessageKind.EPOCH_START)
    c.add(ALICE, MessageKind.ANNOUNCEMENT, Text("Welkom in de groep").encode())
    c.add(CAROL, MessageKind.CHAT, Text("Dank je!").encode())
    post = c.add(BOB, MessageKind.POST, Post("Nieuws", "eerste versie").encode())
    edit = c.add(
        BOB, MessageKind.POST, Post("Nieuws", "tweede").encode(), reference=message_hash(post)
    )
    c.add(BOB, MessageKind.PUBLIC_POST, Post("Openbaar", "voor iedereen").encode())
    c.add(ALICE, MessageKind.POST_DELETION, reference=message_hash(edit))
    event = c.add(BOB, MessageKind.EVENT, Event("Avond", NOW, NOW + 3600, "", "").encode())
    c.add(CAROL, MessageKind.REPLY, Reply(Answer.YES).encode(), reference=message_hash(event))
    c.add(ALICE, MessageKind.EPOCH_START, epoch=2)
    c.add(DAVE, MessageKind.CHAT, Text("Hallo, ik ben nieuw").encode(), epoch=2)
    return c


def messagelog_vectors() -> None:
    whole = life()
    half_state = verify_messages(
        whole.messages[:6], roster=ROSTER, identity_of=IDENTITIES.__getitem__, state=None
    )[1]

    def variant(build: Callable[[Chain], None]) -> list[bytes]:
        c = Chain()
        c.add(ALICE, MessageKind.EPOCH_START)
        build(c)
        return c.messages

    def two(c: Chain) -> None:
        c.add(CAROL, MessageKind.CHAT, Text("een").encode())
        c.add(BOB, MessageKind.CHAT, Text("twee").encode())

    base = variant(two)
    post_chain = Chain()
    post_chain.add(ALICE, MessageKind.EPOCH_START)
    p1 = post_chain.add(BOB, MessageKind.POST, Post("t", "1").encode())
    p2 = post_chain.add(BOB, MessageKind.POST, Post("t", "2").encode(), reference=message_hash(p1))
    m = labels.GROUP_MESSAGE_SIGNATURE
    Case = tuple[str, str, str, list[bytes], ChainState | None]
    cases: list[Case] = [
        ("success", "a group's life over two epochs", "success", whole.messages, None),
        (
            "success-from-state",
            "the second half, after a state of six messages",
            "success",
            whole.messages[6:],
            half_state,
        ),
        ("success-nothing-new", "no messages after the state", "success", [], half_state),
        ("dropped", "the second message left out", "IntegrityError", [base[0], base[2]], None),
        ("reordered", "the last two swapped", "IntegrityError", [base[0], base[2], base[1]], None),
        (
            "replayed",
            "the second message again at the end",
            "IntegrityError",
            [*base, base[1]],
            None,
        ),
        (
            "replayed-sequence",
            "Carol's sequence 1 again, signed on top of the chain",
            "RollbackError",
            variant(
                lambda c: (
                    c.add(CAROL, MessageKind.CHAT, Text("a").encode()),
                    c.add(CAROL, MessageKind.CHAT, Text("b").encode(), sequence=1),
                )
            ),
            None,
        ),
        (
            "skipped-sequence",
            "Carol's first message has sequence 2",
            "IntegrityError",
            variant(lambda c: c.add(CAROL, MessageKind.CHAT, Text("a").encode(), sequence=2)),
            None,
        ),
        (
            "no-epoch-start",
            "the chain begins with a chat line",
            "IntegrityError",
            [sealed(CAROL, MessageKind.CHAT, Text("a").encode(), name="nostart")],
            None,
        ),
        (
            "member-posts",
            "Carol, a plain member, writes a post",
            "IntegrityError",
            variant(lambda c: c.add(CAROL, MessageKind.POST, Post("t", "").encode())),
            None,
        ),
        (
            "editor-starts-epoch",
            "Bob, an editor, starts epoch 2",
            "IntegrityError",
            variant(lambda c: c.add(BOB, MessageKind.EPOCH_START, epoch=2)),
            None,
        ),
        (
            "outsider",
            "Mallory, no member, chats",
            "IntegrityError",
            variant(lambda c: c.add(MALLORY, MessageKind.CHAT, Text("hoi").encode())),
            None,
        ),
        (
            "personal-in-group",
            "a personal message in a group",
            "IntegrityError",
            variant(lambda c: c.add(ALICE, MessageKind.PERSONAL, Text("hoi").encode())),
            None,
        ),
        (
            "removed-member-old-epoch",
            "Carol writes with epoch 1 after epoch 2 began",
            "RollbackError",
            variant(
                lambda c: (
                    c.add(ALICE, MessageKind.EPOCH_START, epoch=2),
                    c.add(CAROL, MessageKind.CHAT, Text("nog").encode()),
                )
            ),
            None,
        ),
        (
            "removed-member-new-epoch",
            "Carol writes in epoch 2, which she is no member of",
            "IntegrityError",
            variant(
                lambda c: (
                    c.add(ALICE, MessageKind.EPOCH_START, epoch=2),
                    c.add(CAROL, MessageKind.CHAT, Text("nog").encode(), epoch=2),
                )
            ),
            None,
        ),
        (
            "epoch-before-start",
            "Dave writes in epoch 2 before it began",
            "IntegrityError",
            variant(lambda c: c.add(DAVE, MessageKind.CHAT, Text("vroeg").encode(), epoch=2)),
            None,
        ),
        (
            "epoch-not-in-chain",
            "an epoch start of epoch 3, which the group chain lacks",
            "KeyMismatchError",
            variant(lambda c: c.add(ALICE, MessageKind.EPOCH_START, epoch=3)),
            None,
        ),
        (
            "epoch-start-again",
            "epoch 1 started twice",
            "RollbackError",
            variant(lambda c: c.add(ALICE, MessageKind.EPOCH_START)),
            None,
        ),
        (
            "edit-forks",
            "a second edit of the first revision",
            "IntegrityError",
            [
                *post_chain.messages,
                sealed(
                    BOB,
                    MessageKind.POST,
                    Post("t", "3").encode(),
                    sequence=3,
                    previous=message_hash(p2),
                    reference=message_hash(p1),
                    name="fork",
                ),
            ],
            None,
        ),
        (
            "edit-made-public",
            "a members-only post edited into a public one",
            "IntegrityError",
            [
                *post_chain.messages,
                sealed(
                    BOB,
                    MessageKind.PUBLIC_POST,
                    Post("t", "3").encode(),
                    sequence=3,
                    previous=message_hash(p2),
                    reference=message_hash(p2),
                    name="pub",
                ),
            ],
            None,
        ),
        (
            "deletion-by-editor",
            "Bob, an editor, deletes a post",
            "IntegrityError",
            [
                *post_chain.messages,
                sealed(
                    BOB,
                    MessageKind.POST_DELETION,
                    b"",
                    sequence=3,
                    previous=message_hash(p2),
                    reference=message_hash(p2),
                    name="del",
                ),
            ],
            None,
        ),
        (
            "reply-to-post",
            "a reply that answers a post, not an event",
            "IntegrityError",
            [
                *post_chain.messages,
                sealed(
                    CAROL,
                    MessageKind.REPLY,
                    Reply(Answer.NO).encode(),
                    previous=message_hash(p2),
                    reference=message_hash(p2),
                    name="reply",
                ),
            ],
            None,
        ),
        (
            "bad-signature",
            "a signature byte flipped",
            "SignatureError",
            [base[0], flip(base[1], -1)],
            None,
        ),
        (
            "other-sender",
            "Carol's message in Bob's name, signed by Carol",
            "KeyMismatchError",
            [base[0], resign(base[1], CAROL, m, sender_id=BOB.user_id)],
            None,
        ),
        (
            "other-group",
            "the first message names another group, re-signed",
            "IntegrityError",
            [resign(base[0], ALICE, m, group_id=bytes(16))],
            None,
        ),
        (
            "state-not-continued",
            "the messages do not follow the state's last message",
            "IntegrityError",
            base[1:],
            half_state,
        ),
        ("malformed", "a message cut short", "MalformedError", [base[0], base[1][:-1]], None),
    ]
    for name, description, expect, messages, state in cases:
        fields: dict[str, Any] = {
            **group_json(),
            "state": state_json(state),
            "messages": [x.hex() for x in messages],
        }
        if expect == "success":
            result = verify_messages(
                messages, roster=ROSTER, identity_of=IDENTITIES.__getitem__, state=state
            )[1]
            fields["result"] = state_json(result)
        write(f"messagelog-{name}", "messagelog", description, expect, **fields)


# -- 19.1 and 19.4: a conversation ---------------------------------------------------------------
CONVERSATION_ID = bytes.fromhex("d3000000000000000000000000000001")


def conversation_vectors() -> None:
    def conversation(
        name: str, members: tuple[PrivateIdentity, ...]
    ) -> tuple[dict[str, Any], bytes]:
        conv, rec = new_organisation(
            ALICE,
            org_id=CONVERSATION_ID,
            name=name,
            kind=OrgKind.CONVERSATION,
            created_at=NOW,
            private_keys=seed(f"groups/conversation/{name}", 96),
        )
        ms = [
            make_membership(
                ALICE,
                conv,
                m.public,
                role=Role.ADMIN,
                issued_at=NOW,
                sealed_keys=seal_to(
                    m.public.box_key, conv.private_keys(), f"dm/{name}/{m.username}"
                ),
            )
            for m in members
        ]
        fields = {
            "records": [rec.hex()],
            "memberships": [x.hex() for x in ms],
            "identities": [p.public.encode().hex() for p in PEOPLE],
        }
        return fields, epoch_key(conv)

    def chain(key: bytes, steps: list[tuple[PrivateIdentity, MessageKind, bytes]]) -> list[bytes]:
        out: list[bytes] = []
        seqs: dict[bytes, int] = {}
        for sender, kind, body in steps:
            seqs[sender.user_id] = seqs.get(sender.user_id, 0) + 1
            out.append(
                seal_message(
                    sender,
                    group_id=CONVERSATION_ID,
                    epoch=1,
                    kind=kind,
                    sequence=seqs[sender.user_id],
                    previous_hash=message_hash(out[-1]) if out else NO_HASH,
                    reference=NO_HASH,
                    sent_at=NOW + 400,
                    body=body,
                    epoch_key=key,
                    nonce=seed(f"groups/dm-nonce/{len(out)}", 24),
                )
            )
        return out

    name = conversation_name(CONVERSATION_ID)
    good, key = conversation(name, (BOB,))
    talk = [
        (ALICE, MessageKind.EPOCH_START, b""),
        (BOB, MessageKind.PERSONAL, Text("Hoi Alice, heb je het rapport?").encode()),
        (ALICE, MessageKind.PERSONAL, Text("Ja, ik deel het zo.").encode()),
    ]
    three, key3 = conversation(name, (BOB, CAROL))
    named, key_named = conversation("dm-alice-bob", (BOB,))
    cases: list[tuple[str, str, str, dict[str, Any], list[bytes]]] = [
        (
            "success-conversation",
            "Alice and Bob's personal messages",
            "success",
            good,
            chain(key, talk),
        ),
        (
            "conversation-chat",
            "a chat line in a conversation",
            "IntegrityError",
            good,
            chain(key, [talk[0], (BOB, MessageKind.CHAT, Text("hoi").encode())]),
        ),
        (
            "conversation-three-members",
            "a conversation of Alice, Bob and Carol",
            "IntegrityError",
            three,
            chain(key3, talk),
        ),
        (
            "conversation-other-name",
            "a conversation named dm-alice-bob, not from its id",
            "IntegrityError",
            named,
            chain(key_named, talk),
        ),
    ]
    for case, description, expect, group, messages in cases:
        fields: dict[str, Any] = {**group, "state": None, "messages": [x.hex() for x in messages]}
        if expect == "success":
            lookup = IDENTITIES.__getitem__
            roster = verify_roster(
                verify_chain([bytes.fromhex(group["records"][0])], author_of=lookup),
                [bytes.fromhex(x) for x in group["memberships"]],
                identity_of=lookup,
            )
            result = verify_messages(messages, roster=roster, identity_of=lookup, state=None)[1]
            fields["result"] = state_json(result)
        write(f"messagelog-{case}", "messagelog", description, expect, **fields)


# -- 19.5: public posts -------------------------------------------------------------------------
def publicpost_vectors() -> None:
    c = Chain()
    c.add(ALICE, MessageKind.EPOCH_START)
    r1 = c.add(BOB, MessageKind.PUBLIC_POST, Post("Dorpsnieuws", "versie 1").encode())
    r2 = c.add(
        ALICE,
        MessageKind.PUBLIC_POST,
        Post("Dorpsnieuws", "versie 2").encode(),
        reference=message_hash(r1),
    )
    r3 = c.add(
        BOB,
        MessageKind.PUBLIC_POST,
        Post("Dorpsnieuws", "versie 3").encode(),
        reference=message_hash(r2),
    )
    deletion = c.add(ALICE, MessageKind.POST_DELETION, reference=message_hash(r3))
    by_member = sealed(CAROL, MessageKind.PUBLIC_POST, Post("nep", "").encode(), name="nep")
    members = sealed(BOB, MessageKind.POST, Post("geheim", "").encode(), name="geheim")
    editor_deletion = sealed(
        BOB, MessageKind.POST_DELETION, b"", sequence=9, reference=message_hash(r3), name="edel"
    )
    cases: list[tuple[str, str, str, list[bytes]]] = [
        ("success", "three revisions by Bob and Alice", "success", [r1, r2, r3]),
        (
            "success-deleted",
            "three revisions and Alice's deletion",
            "success",
            [r1, r2, r3, deletion],
        ),
        ("revision-left-out", "revision 2 left out", "IntegrityError", [r1, r3]),
        ("first-left-out", "revision 1 left out", "IntegrityError", [r2, r3]),
        ("empty", "no revisions", "IntegrityError", []),
        ("by-member", "a public post by Carol, a plain member", "IntegrityError", [by_member]),
        ("members-only", "a members-only post shown as public", "IntegrityError", [members]),
        (
            "deletion-by-editor",
            "Bob, an editor, deletes",
            "IntegrityError",
            [r1, r2, r3, editor_deletion],
        ),
        (
            "tampered",
            "a body byte of revision 1 flipped",
            "SignatureError",
            [flip(r1, -70), r2, r3],
        ),
    ]
    for name, description, expect, revisions in cases:
        fields: dict[str, Any] = {**group_json(), "revisions": [x.hex() for x in revisions]}
        if expect == "success":
            fields["titles"] = ["Dorpsnieuws"] * 3
            fields["deleted"] = name == "success-deleted"
        write(f"publicpost-{name}", "publicpost", description, expect, **fields)


def main() -> None:
    for old in OUT.glob("*.json"):
        if old.name.split("-")[0] in PREFIXES:
            old.unlink()
    archive_vectors()
    message_vectors()
    messagelog_vectors()
    conversation_vectors()
    publicpost_vectors()
    count = sum(1 for p in OUT.glob("*.json") if p.name.split("-")[0] in PREFIXES)
    print(f"wrote {count} group vector files to {OUT}")


if __name__ == "__main__":
    main()
