"""vault.messagelog: verifying a group's message chain in server order (format 19.4)."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field

import pytest

from vault.content import Answer, Event, Post, Reply, Text
from vault.errors import (
    IntegrityError,
    KeyMismatchError,
    MalformedError,
    RollbackError,
    SignatureError,
)
from vault.group import epoch_key
from vault.keys import Identity, PrivateIdentity
from vault.kinds import OrgKind, Role
from vault.message import NO_HASH, Message, MessageKind, message_hash, seal_message
from vault.messagelog import ChainState, open_verified, verify_messages, verify_public_post
from vault.organisation import (
    Roster,
    make_membership,
    new_organisation,
    next_epoch,
    verify_chain,
    verify_roster,
)

NOW = 1_800_000_000


def person(name: str) -> PrivateIdentity:
    return PrivateIdentity.generate(os.urandom(16), name)


ALICE, BOB, CAROL, DAVE, EVE = (person(n) for n in ("alice", "bob", "carol", "dave", "eve"))
PEOPLE = {p.user_id: p.public for p in (ALICE, BOB, CAROL, DAVE, EVE)}


def identity_of(user_id: bytes) -> Identity:
    try:
        return PEOPLE[user_id]
    except KeyError:
        raise KeyMismatchError("unknown") from None


GROUP_ID = os.urandom(16)
G1, REC1 = new_organisation(
    ALICE, org_id=GROUP_ID, name="hoofdstraat", kind=OrgKind.GROUP, created_at=NOW
)
G2, REC2 = next_epoch(ALICE, G1, kind=OrgKind.GROUP, created_at=NOW + 100)
MEMBERSHIPS = [
    make_membership(ALICE, G1, BOB.public, role=Role.EDITOR, issued_at=NOW),
    make_membership(ALICE, G1, CAROL.public, role=Role.MEMBER, issued_at=NOW),
    make_membership(ALICE, G2, BOB.public, role=Role.EDITOR, issued_at=NOW + 100),
    make_membership(ALICE, G2, DAVE.public, role=Role.MEMBER, issued_at=NOW + 100),
]
ROSTER: Roster = verify_roster(
    verify_chain([REC1, REC2], author_of=identity_of), MEMBERSHIPS, identity_of=identity_of
)
KEYS = {1: epoch_key(G1), 2: epoch_key(G2)}


@dataclass
class Chain:
    """A well-behaved server and its senders: appends each message on top of the last."""

    messages: list[bytes] = field(default_factory=list)
    sequences: dict[bytes, int] = field(default_factory=dict)

    def add(
        self,
        sender: PrivateIdentity,
        kind: MessageKind,
        body: bytes = b"",
        *,
        epoch: int = 1,
        reference: bytes = NO_HASH,
        sequence: int | None = None,
        previous: bytes | None = None,
    ) -> bytes:
        seq = sequence or self.sequences.get(sender.user_id, 0) + 1
        self.sequences[sender.user_id] = seq
        data = seal_message(
            sender,
            group_id=GROUP_ID,
            epoch=epoch,
            kind=kind,
            sequence=seq,
            previous_hash=(
                previous
                if previous is not None
                else (message_hash(self.messages[-1]) if self.messages else NO_HASH)
            ),
            reference=reference,
            sent_at=NOW + len(self.messages),
            body=body,
            epoch_key=KEYS.get(epoch, bytes(32)),
        )
        self.messages.append(data)
        return data


def started() -> Chain:
    chain = Chain()
    chain.add(ALICE, MessageKind.EPOCH_START)
    return chain


def verify(messages: list[bytes], state: ChainState | None = None) -> ChainState:
    return verify_messages(messages, roster=ROSTER, identity_of=identity_of, state=state)[1]


def test_a_groups_life_verifies_and_reads() -> None:
    chain = started()
    chain.add(ALICE, MessageKind.ANNOUNCEMENT, Text("Welkom").encode())
    chain.add(CAROL, MessageKind.CHAT, Text("Dank!").encode())
    post = chain.add(BOB, MessageKind.POST, Post("Nieuws", "*tekst*").encode())
    edit = chain.add(
        BOB, MessageKind.POST, Post("Nieuws", "**tekst**").encode(), reference=message_hash(post)
    )
    chain.add(ALICE, MessageKind.POST_DELETION, reference=message_hash(edit))
    event = chain.add(BOB, MessageKind.EVENT, Event("Avond", 1, 2, "", "").encode())
    chain.add(CAROL, MessageKind.REPLY, Reply(Answer.YES).encode(), reference=message_hash(event))
    chain.add(ALICE, MessageKind.EPOCH_START, epoch=2)
    chain.add(DAVE, MessageKind.CHAT, Text("Hoi").encode(), epoch=2)
    verified, state = verify_messages(
        chain.messages, roster=ROSTER, identity_of=identity_of, state=None
    )
    assert [v.message.kind for v in verified][:3] == [
        MessageKind.EPOCH_START,
        MessageKind.ANNOUNCEMENT,
        MessageKind.CHAT,
    ]
    assert state.count == len(chain.messages) and state.epoch == 2
    assert state.head == message_hash(chain.messages[-1])
    assert state.sequences[BOB.user_id] == 3
    assert message_hash(post) in state.deleted
    assert open_verified(verified[2], KEYS.get) == Text("Dank!")
    assert open_verified(verified[-1], KEYS.get) == Text("Hoi")
    assert open_verified(verified[0], KEYS.get) is None
    assert verified[4].post == message_hash(post)


def test_a_device_continues_from_its_state() -> None:
    chain = started()
    chain.add(CAROL, MessageKind.CHAT, Text("een").encode())
    state = verify(chain.messages)
    chain.add(CAROL, MessageKind.CHAT, Text("twee").encode())
    later = verify(chain.messages[state.count :], state)
    assert later.count == 3 and later.sequences[CAROL.user_id] == 2
    assert verify([], state) == state


def test_the_first_message_is_an_epoch_start() -> None:
    chain = Chain()
    chain.add(CAROL, MessageKind.CHAT, Text("x").encode())
    with pytest.raises(IntegrityError):
        verify(chain.messages)


def test_a_dropped_message_is_detected() -> None:
    chain = started()
    chain.add(CAROL, MessageKind.CHAT, Text("een").encode())
    chain.add(BOB, MessageKind.CHAT, Text("twee").encode())
    with pytest.raises(IntegrityError):
        verify([chain.messages[0], chain.messages[2]])


def test_reordered_messages_are_detected() -> None:
    chain = started()
    chain.add(CAROL, MessageKind.CHAT, Text("een").encode())
    chain.add(BOB, MessageKind.CHAT, Text("twee").encode())
    with pytest.raises(IntegrityError):
        verify([chain.messages[0], chain.messages[2], chain.messages[1]])


def test_a_replayed_message_is_detected() -> None:
    chain = started()
    chain.add(CAROL, MessageKind.CHAT, Text("een").encode())
    with pytest.raises(IntegrityError):
        verify([*chain.messages, chain.messages[1]])


def test_a_replayed_sequence_number_signed_anew_is_a_rollback() -> None:
    chain = started()
    chain.add(CAROL, MessageKind.CHAT, Text("een").encode())
    chain.add(CAROL, MessageKind.CHAT, Text("nog eens").encode(), sequence=1)
    with pytest.raises(RollbackError):
        verify(chain.messages)


def test_a_skipped_sequence_number_is_a_dropped_message() -> None:
    chain = started()
    chain.add(CAROL, MessageKind.CHAT, Text("een").encode(), sequence=2)
    with pytest.raises(IntegrityError):
        verify(chain.messages)


def test_a_state_the_server_does_not_continue_is_refused() -> None:
    chain = started()
    chain.add(CAROL, MessageKind.CHAT, Text("een").encode())
    state = verify(chain.messages)
    other = started()
    other.add(BOB, MessageKind.CHAT, Text("fork").encode())
    with pytest.raises(IntegrityError):
        verify(other.messages[1:], state)
    with pytest.raises(IntegrityError):
        verify(chain.messages, state)  # the whole chain again, from the start


def test_a_forged_message_is_refused() -> None:
    chain = started()
    data = bytearray(chain.add(CAROL, MessageKind.CHAT, Text("een").encode()))
    data[-1] ^= 1
    with pytest.raises(SignatureError):
        verify([chain.messages[0], bytes(data)])


def test_a_message_in_another_name_is_refused() -> None:
    chain = started()
    data = chain.add(CAROL, MessageKind.CHAT, Text("een").encode())
    m = Message.decode(data)
    forged = dataclasses.replace(m, sender_id=BOB.user_id)
    with pytest.raises(KeyMismatchError):
        verify([chain.messages[0], forged.encode()])


def test_an_unknown_sender_is_refused() -> None:
    chain = started()
    chain.add(person("mallory"), MessageKind.CHAT, Text("x").encode())
    with pytest.raises(KeyMismatchError):
        verify(chain.messages)


def test_a_message_of_another_group_is_refused() -> None:
    chain = started()
    m = Message.decode(chain.messages[0])
    other = dataclasses.replace(m, group_id=os.urandom(16)).encode()
    with pytest.raises(IntegrityError):
        verify([other])


def test_garbage_is_malformed() -> None:
    with pytest.raises(MalformedError):
        verify([b"KLMG\x01"])


@pytest.mark.parametrize(
    ("sender", "kind", "body"),
    [
        (CAROL, MessageKind.ANNOUNCEMENT, Text("ik ben de baas").encode()),
        (CAROL, MessageKind.POST, Post("t", "").encode()),
        (BOB, MessageKind.EPOCH_START, b""),
        (CAROL, MessageKind.EVENT, Event("t", 1, 1, "", "").encode()),
        (EVE, MessageKind.CHAT, Text("ik ben geen lid").encode()),
        (ALICE, MessageKind.PERSONAL, Text("niet in een groep").encode()),
    ],
)
def test_a_valid_signature_without_the_right_is_refused(
    sender: PrivateIdentity, kind: MessageKind, body: bytes
) -> None:
    chain = started()
    epoch = 2 if kind == MessageKind.EPOCH_START else 1
    chain.add(sender, kind, body, epoch=epoch)
    with pytest.raises(IntegrityError):
        verify(chain.messages)


def test_only_an_admin_deletes() -> None:
    chain = started()
    post = chain.add(BOB, MessageKind.POST, Post("t", "").encode())
    chain.add(BOB, MessageKind.POST_DELETION, reference=message_hash(post))
    with pytest.raises(IntegrityError):
        verify(chain.messages)


def test_a_removed_member_cannot_write_after_the_epoch_start() -> None:
    chain = started()
    chain.add(ALICE, MessageKind.EPOCH_START, epoch=2)
    chain.add(CAROL, MessageKind.CHAT, Text("ik ben er nog").encode(), epoch=1)
    with pytest.raises(RollbackError):
        verify(chain.messages)
    chain = started()
    chain.add(ALICE, MessageKind.EPOCH_START, epoch=2)
    chain.add(CAROL, MessageKind.CHAT, Text("ik ben er nog").encode(), epoch=2)
    with pytest.raises(IntegrityError):
        verify(chain.messages)


def test_a_message_ahead_of_the_current_epoch_is_refused() -> None:
    chain = started()
    chain.add(DAVE, MessageKind.CHAT, Text("te vroeg").encode(), epoch=2)
    with pytest.raises(IntegrityError):
        verify(chain.messages)


def test_an_epoch_the_group_chain_does_not_have_is_refused() -> None:
    chain = started()
    chain.add(ALICE, MessageKind.EPOCH_START, epoch=3)
    with pytest.raises(KeyMismatchError):
        verify(chain.messages)


def test_an_epoch_start_must_move_forward() -> None:
    chain = started()
    chain.add(ALICE, MessageKind.EPOCH_START, epoch=1)
    with pytest.raises(RollbackError):
        verify(chain.messages)


def test_an_edit_must_name_the_latest_revision() -> None:
    chain = started()
    post = chain.add(BOB, MessageKind.POST, Post("t", "1").encode())
    chain.add(BOB, MessageKind.POST, Post("t", "2").encode(), reference=message_hash(post))
    chain.add(BOB, MessageKind.POST, Post("t", "fork").encode(), reference=message_hash(post))
    with pytest.raises(IntegrityError):
        verify(chain.messages)


def test_an_edit_of_a_deleted_post_is_refused() -> None:
    chain = started()
    post = chain.add(BOB, MessageKind.POST, Post("t", "1").encode())
    chain.add(ALICE, MessageKind.POST_DELETION, reference=message_hash(post))
    chain.add(BOB, MessageKind.POST, Post("t", "2").encode(), reference=message_hash(post))
    with pytest.raises(IntegrityError):
        verify(chain.messages)


def test_an_edit_may_not_make_a_members_post_public() -> None:
    chain = started()
    post = chain.add(BOB, MessageKind.POST, Post("t", "geheim").encode())
    chain.add(
        BOB, MessageKind.PUBLIC_POST, Post("t", "geheim").encode(), reference=message_hash(post)
    )
    with pytest.raises(IntegrityError):
        verify(chain.messages)


def test_a_reply_must_answer_an_event() -> None:
    chain = started()
    post = chain.add(BOB, MessageKind.POST, Post("t", "").encode())
    chain.add(CAROL, MessageKind.REPLY, Reply(Answer.NO).encode(), reference=message_hash(post))
    with pytest.raises(IntegrityError):
        verify(chain.messages)


def test_a_deletion_must_name_a_post() -> None:
    chain = started()
    chat = chain.add(CAROL, MessageKind.CHAT, Text("x").encode())
    chain.add(ALICE, MessageKind.POST_DELETION, reference=message_hash(chat))
    with pytest.raises(IntegrityError):
        verify(chain.messages)


def test_a_body_that_does_not_open_is_refused_when_read() -> None:
    chain = started()
    chain.add(CAROL, MessageKind.CHAT, Text("x").encode())
    verified, _ = verify_messages(
        chain.messages, roster=ROSTER, identity_of=identity_of, state=None
    )
    with pytest.raises(IntegrityError):
        open_verified(verified[1], lambda epoch: bytes(32))
    with pytest.raises(IntegrityError):
        open_verified(verified[1], lambda epoch: None)


# -- conversations ---------------------------------------------------------------------------
def test_a_personal_conversation_is_the_same_machinery() -> None:
    from vault.group import conversation_name

    cid = os.urandom(16)
    conv, rec = new_organisation(
        ALICE, org_id=cid, name=conversation_name(cid), kind=OrgKind.CONVERSATION, created_at=NOW
    )
    roster = verify_roster(
        verify_chain([rec], author_of=identity_of),
        [make_membership(ALICE, conv, BOB.public, role=Role.ADMIN, issued_at=NOW)],
        identity_of=identity_of,
    )
    key = epoch_key(conv)
    messages: list[bytes] = []
    for sender, kind, body in [
        (ALICE, MessageKind.EPOCH_START, b""),
        (BOB, MessageKind.PERSONAL, Text("Hoi Alice").encode()),
    ]:
        messages.append(
            seal_message(
                sender,
                group_id=cid,
                epoch=1,
                kind=kind,
                sequence=1,
                previous_hash=message_hash(messages[-1]) if messages else NO_HASH,
                reference=NO_HASH,
                sent_at=NOW,
                body=body,
                epoch_key=key,
            )
        )
    verified, _ = verify_messages(messages, roster=roster, identity_of=identity_of, state=None)
    assert open_verified(verified[1], {1: key}.get) == Text("Hoi Alice")
    chat = seal_message(
        BOB,
        group_id=cid,
        epoch=1,
        kind=MessageKind.CHAT,
        sequence=2,
        previous_hash=message_hash(messages[-1]),
        reference=NO_HASH,
        sent_at=NOW,
        body=Text("chat").encode(),
        epoch_key=key,
    )
    with pytest.raises(IntegrityError):
        verify_messages([*messages, chat], roster=roster, identity_of=identity_of, state=None)


# -- public posts ----------------------------------------------------------------------------
def public_history() -> tuple[Chain, list[bytes]]:
    chain = started()
    first = chain.add(BOB, MessageKind.PUBLIC_POST, Post("Dorpsnieuws", "v1").encode())
    chain.add(CAROL, MessageKind.CHAT, Text("tussendoor").encode())
    second = chain.add(
        ALICE,
        MessageKind.PUBLIC_POST,
        Post("Dorpsnieuws", "v2").encode(),
        reference=message_hash(first),
    )
    return chain, [first, second]


def test_a_public_post_and_its_history_verify_without_an_account() -> None:
    chain, revisions = public_history()
    verify(chain.messages)
    checked = verify_public_post(revisions, roster=ROSTER, identity_of=identity_of)
    assert [c.message.sender_id for c in checked] == [BOB.user_id, ALICE.user_id]
    assert open_verified(checked[-1], lambda epoch: None) == Post("Dorpsnieuws", "v2")


def test_a_public_post_by_a_plain_member_is_refused() -> None:
    chain = started()
    post = chain.add(CAROL, MessageKind.PUBLIC_POST, Post("nep", "").encode())
    with pytest.raises(IntegrityError):
        verify_public_post([post], roster=ROSTER, identity_of=identity_of)


def test_a_public_history_with_a_revision_left_out_is_refused() -> None:
    chain, revisions = public_history()
    third = chain.add(
        BOB,
        MessageKind.PUBLIC_POST,
        Post("Dorpsnieuws", "v3").encode(),
        reference=message_hash(revisions[1]),
    )
    with pytest.raises(IntegrityError):
        verify_public_post([revisions[0], third], roster=ROSTER, identity_of=identity_of)
    with pytest.raises(IntegrityError):
        verify_public_post([revisions[1], third], roster=ROSTER, identity_of=identity_of)
    with pytest.raises(IntegrityError):
        verify_public_post([], roster=ROSTER, identity_of=identity_of)


def test_a_members_only_post_is_not_a_public_one() -> None:
    chain = started()
    post = chain.add(BOB, MessageKind.POST, Post("geheim", "").encode())
    with pytest.raises(IntegrityError):
        verify_public_post([post], roster=ROSTER, identity_of=identity_of)


def test_a_deleted_public_post_ends_with_the_admins_deletion() -> None:
    chain, revisions = public_history()
    deletion = chain.add(ALICE, MessageKind.POST_DELETION, reference=message_hash(revisions[1]))
    checked = verify_public_post([*revisions, deletion], roster=ROSTER, identity_of=identity_of)
    assert checked[-1].message.kind == MessageKind.POST_DELETION
    by_editor = chain.add(BOB, MessageKind.POST_DELETION, reference=message_hash(revisions[1]))
    with pytest.raises(IntegrityError):
        verify_public_post([*revisions, by_editor], roster=ROSTER, identity_of=identity_of)
    with pytest.raises(IntegrityError):
        verify_public_post([*revisions, deletion, deletion], roster=ROSTER, identity_of=identity_of)


def test_a_tampered_public_post_is_refused() -> None:
    _, revisions = public_history()
    data = bytearray(revisions[0])
    data[-70] ^= 1
    with pytest.raises(SignatureError):
        verify_public_post([bytes(data)], roster=ROSTER, identity_of=identity_of)


def test_an_organisation_has_no_message_chain() -> None:
    org, rec = new_organisation(
        ALICE, org_id=GROUP_ID, name="gemeente", kind=OrgKind.MUNICIPALITY, created_at=NOW
    )
    roster = verify_roster(verify_chain([rec], author_of=identity_of), [], identity_of=identity_of)
    first = seal_message(
        ALICE,
        group_id=GROUP_ID,
        epoch=1,
        kind=MessageKind.EPOCH_START,
        sequence=1,
        previous_hash=NO_HASH,
        reference=NO_HASH,
        sent_at=NOW,
        body=b"",
        epoch_key=epoch_key(org),
    )
    with pytest.raises(IntegrityError):
        verify_messages([first], roster=roster, identity_of=identity_of, state=None)
    with pytest.raises(IntegrityError):
        verify_messages([], roster=roster, identity_of=identity_of, state=None)


def test_a_public_page_needs_only_the_authors_memberships() -> None:
    _, revisions = public_history()
    bobs_only = verify_roster(
        verify_chain([REC1, REC2], author_of=identity_of), MEMBERSHIPS[:1], identity_of=identity_of
    )
    checked = verify_public_post(revisions, roster=bobs_only, identity_of=identity_of)
    assert len(checked) == 2
    nobody = verify_roster(
        verify_chain([REC1, REC2], author_of=identity_of), [], identity_of=identity_of
    )
    with pytest.raises(IntegrityError):
        verify_public_post(revisions, roster=nobody, identity_of=identity_of)


# -- the state a device keeps ----------------------------------------------------------------
def test_the_state_round_trips_through_json() -> None:
    import json

    from vault.messagelog import state_from_json, state_to_json

    chain = started()
    post = chain.add(BOB, MessageKind.POST, Post("t", "").encode())
    chain.add(ALICE, MessageKind.POST_DELETION, reference=message_hash(post))
    chain.add(BOB, MessageKind.EVENT, Event("t", 1, 1, "", "").encode())
    chain.add(BOB, MessageKind.PUBLIC_POST, Post("t", "").encode())
    state = verify(chain.messages)
    again = state_from_json(json.loads(json.dumps(state_to_json(state))))
    assert again == state
    assert state_to_json(ChainState()) == {
        "count": 0,
        "head": "00" * 32,
        "epoch": 0,
        "sequences": {},
        "posts": [],
        "deleted": [],
        "events": [],
    }


@pytest.mark.parametrize(
    "change",
    [
        {"count": -1},
        {"count": True},
        {"head": "00"},
        {"head": "zz" * 32},
        {"epoch": 2**32},
        {"sequences": {"00" * 16: 0}},
        {"sequences": {"00": 1}},
        {"posts": [{"latest": "00" * 32, "first": "00" * 32, "kind": 3}]},
        {"deleted": ["00"]},
        {"events": "x"},
        {"extra": 1},
    ],
)
def test_a_damaged_state_is_refused(change: dict[str, object]) -> None:
    from vault.messagelog import state_from_json, state_to_json

    obj = {**state_to_json(ChainState()), **change}
    with pytest.raises(MalformedError):
        state_from_json(obj)
