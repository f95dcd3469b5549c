"""Groups in vault/ alone (no server): a rotation and a long message chain.

Run from the repository root:

    .venv/bin/python benchmarks/group_messages.py [--members 300] [--messages 10000] [--tail 200]

Measures, with the pure functions a client calls (docs/format.md section 19):

* **rotation**: removing one member from a group of --members: the next epoch's keys
  (`next_epoch`), a membership for every remaining member (`make_membership`, one sealed box
  each) and the epoch start message; target under 0.5 s in Python (issue 19);
* **verify the roster** of that group (`verify_chain` + `verify_roster`);
* **a chat of --messages**: verifying the whole chain from nothing (a new device), and a device
  with a state verifying and decrypting only the last --tail (`verify_messages` from the state,
  `open_verified`); the issue's target is opening a 10,000-message chat in under 1 s, which is
  the second figure: a new device verifies every signature once (Ed25519, about 60-250 us each
  here), and keeps its state afterwards.

Prints figures; never a pass/fail test.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from vault.content import Text  # noqa: E402
from vault.group import epoch_key  # noqa: E402
from vault.keys import PrivateIdentity  # noqa: E402
from vault.kinds import OrgKind, Role  # noqa: E402
from vault.message import NO_HASH, MessageKind, message_hash, seal_message  # noqa: E402
from vault.messagelog import open_verified, verify_messages  # noqa: E402
from vault.organisation import (  # noqa: E402
    make_membership,
    new_organisation,
    next_epoch,
    verify_chain,
    verify_roster,
)

NOW = 1_800_000_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=300)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--tail", type=int, default=200)
    args = parser.parse_args()

    admin = PrivateIdentity.generate(os.urandom(16), "admin")
    members = [PrivateIdentity.generate(os.urandom(16), f"lid{i}") for i in range(args.members)]
    people = {p.user_id: p.public for p in [admin, *members]}
    group_id = os.urandom(16)
    g1, rec1 = new_organisation(
        admin, org_id=group_id, name="bench", kind=OrgKind.GROUP, created_at=NOW
    )
    ms1 = [make_membership(admin, g1, m.public, role=Role.MEMBER, issued_at=NOW) for m in members]

    start = time.perf_counter()
    g2, rec2 = next_epoch(admin, g1, kind=OrgKind.GROUP, created_at=NOW + 1)
    ms2 = [
        make_membership(admin, g2, m.public, role=Role.MEMBER, issued_at=NOW + 1)
        for m in members[1:]
    ]
    rotation = time.perf_counter() - start
    print(f"rotation, {args.members} members (keys, {len(ms2)} memberships): {rotation:.3f} s")

    start = time.perf_counter()
    chain = verify_chain([rec1, rec2], author_of=people.__getitem__)
    roster = verify_roster(chain, ms1 + ms2, identity_of=people.__getitem__)
    took = time.perf_counter() - start
    print(f"verify the chain and {len(ms1) + len(ms2)} memberships: {took:.3f} s")

    key = epoch_key(g1)
    messages: list[bytes] = []
    sequences: dict[bytes, int] = {}
    body = Text("Morgen komt de aannemer om acht uur, wie is er thuis?").encode()
    start = time.perf_counter()
    for i in range(args.messages):
        sender = admin if i == 0 else members[i % len(members)]
        sequences[sender.user_id] = sequences.get(sender.user_id, 0) + 1
        messages.append(
            seal_message(
                sender,
                group_id=group_id,
                epoch=1,
                kind=MessageKind.EPOCH_START if i == 0 else MessageKind.CHAT,
                sequence=sequences[sender.user_id],
                previous_hash=message_hash(messages[-1]) if messages else NO_HASH,
                reference=NO_HASH,
                sent_at=NOW + i,
                body=b"" if i == 0 else body,
                epoch_key=key,
            )
        )
    print(f"seal {args.messages} messages: {time.perf_counter() - start:.3f} s (setup)")

    start = time.perf_counter()
    _, state = verify_messages(
        messages[: -args.tail], roster=roster, identity_of=people.__getitem__, state=None
    )
    print(
        f"a new device verifies {len(messages) - args.tail} messages: "
        f"{time.perf_counter() - start:.3f} s"
    )
    start = time.perf_counter()
    verified, _ = verify_messages(
        messages[-args.tail :], roster=roster, identity_of=people.__getitem__, state=state
    )
    for v in verified:
        open_verified(v, {1: key}.get)
    print(
        f"a device with a state verifies and decrypts the last {args.tail}: "
        f"{time.perf_counter() - start:.3f} s"
    )


if __name__ == "__main__":
    main()
