"""Village groups through the SDK against a real server: removing a member from a big group,
and opening a long chat.

Run from the repository root:

    .venv/bin/python benchmarks/village_sdk.py [--members 300] [--messages 10000] [--tail 200]

Starts a real server (`python -m server`: SQLite and files, loopback) and registers one admin.
Setup (timed apart, not part of the figures): --members - 1 further users are written straight
into the server's database (an Argon2id registration each would take minutes; they never log
in), the admin creates a group through the SDK, and their memberships of epoch 1 (signed by the
admin, one sealed box each) and --messages chat messages (signed on top of each other by the
admin) are written into the database as the routes would have stored them.

Figures:

* **removal**, twice: `Client.remove_from_group` on a fresh admin client (what `kluis group
  remove` runs): fetch and verify the group's chain and roster, each remaining member's keys
  (the first time: one lookup and pin each; the second time: pinned), the next epoch's keys, a
  membership for every remaining member, the rotation request, verifying the result, and the
  epoch start message. Issue 19's target: under 0.5 s in Python.
* **first open of the chat** on a device with no state: every message verified once, the last
  --tail decrypted (`Client.chat`).
* **opening the chat again** on that device: the chain verified from its state (nothing new),
  the last --tail checked by their hash links back from the verified head and decrypted.
  Issue 19's target: under 1 s.

Prints figures; never a pass/fail test.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from client_sdk import Client  # noqa: E402
from client_sdk.localserver import LocalServer  # noqa: E402
from vault.content import Text  # noqa: E402
from vault.group import epoch_key  # noqa: E402
from vault.keys import PrivateIdentity  # noqa: E402
from vault.kinds import Role  # noqa: E402
from vault.message import MessageKind, message_hash, seal_message  # noqa: E402
from vault.organisation import make_membership  # noqa: E402

PASSPHRASE = "benchmark passphrase, 2026 dorpshuis krewerd"  # noqa: S105


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def add_users(db: Path, count: int) -> list[PrivateIdentity]:
    """Users who never log in: an identity record each, the other columns placeholders."""
    people = []
    with closing(sqlite3.connect(db, timeout=60)) as conn, conn:
        for i in range(count):
            person = PrivateIdentity.generate(os.urandom(16), f"lid-{i}", 1)
            conn.execute(
                "INSERT INTO users (user_id, username, display_name, identity, kdf_memory_kib, "
                "kdf_iterations, kdf_parallelism, kdf_salt, passphrase_bundle, recovery_bundle, "
                "auth_hash, recovery_auth_hash, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (person.user_id.hex(), person.username, "", person.public.encode(), 65536, 3,
                 1, b"0" * 16, b"", b"", "x", "x", 0),
            )  # fmt: skip
            people.append(person)
    return people


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=300)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--tail", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, LocalServer(Path(tmp) / "data") as server:
        work = Path(tmp)
        setup = time.perf_counter()
        admin = Client(server.url, str(work / "admin"))
        admin.register("beheerder", PASSPHRASE)
        members = add_users(server.db_path, args.members - 1)
        group = admin.create_group("dorpsbelangen")
        org = admin.group("dorpsbelangen")
        keys = org.current_keys()
        with closing(sqlite3.connect(server.db_path, timeout=60)) as conn, conn:
            for m in members:
                statement = make_membership(admin.me, keys, m.public, role=Role.MEMBER,
                                            issued_at=1)  # fmt: skip
                conn.execute(
                    "INSERT INTO org_members (org_id, user_id, role, added_at) VALUES (?,?,?,?)",
                    (group.org_id, m.user_id.hex(), 1, 0),
                )
                conn.execute(
                    "INSERT INTO org_memberships (org_id, epoch, member_id, role, membership, "
                    "created_at) VALUES (?,?,?,?,?,?)",
                    (group.org_id, 1, m.user_id.hex(), 1, statement, 0),
                )
            k_e = epoch_key(keys)
            [(head,)] = conn.execute(
                "SELECT message FROM group_messages WHERE org_id = ?", (group.org_id,)
            ).fetchall()
            previous = message_hash(head)
            for n in range(args.messages):
                data = seal_message(
                    admin.me, group_id=bytes.fromhex(group.org_id), epoch=1,
                    kind=MessageKind.CHAT, sequence=n + 2, previous_hash=previous,
                    reference=bytes(32), sent_at=1_800_000_000 + n,
                    body=Text(f"bericht {n}").encode(), epoch_key=k_e,
                )  # fmt: skip
                previous = message_hash(data)
                conn.execute(
                    "INSERT INTO group_messages (org_id, position, sender_id, message_hash, "
                    "message, created_at) VALUES (?,?,?,?,?,?)",
                    (group.org_id, n + 2, admin.my_id, previous.hex(), data, 0),
                )
        admin.close()
        progress(f"setup: {time.perf_counter() - setup:.1f} s")

        reader = Client(server.url, str(work / "admin"))
        started = time.perf_counter()
        shown = reader.chat("dorpsbelangen", last=args.tail)
        first = time.perf_counter() - started
        started = time.perf_counter()
        again = reader.chat("dorpsbelangen", last=args.tail)
        second = time.perf_counter() - started
        assert len(shown) == len(again) == args.tail
        reader.close()
        print(f"chat of {args.messages} messages, first open (verify all, decrypt last "
              f"{args.tail}): {first:.2f} s")  # fmt: skip
        print(
            f"chat of {args.messages} messages, opened again (state kept, last {args.tail} "
            f"checked back from the head and decrypted): {second:.3f} s (target < 1 s)"
        )

        for turn, label in ((0, "first sight of every member: each looked up and pinned"),
                            (1, "every member pinned already")):  # fmt: skip
            remover = Client(server.url, str(work / "admin"))
            started = time.perf_counter()
            result = remover.remove_from_group("dorpsbelangen", members[turn].username)
            removal = time.perf_counter() - started
            remover.close()
            print(
                f"removal from a group of {args.members - turn}: {removal:.2f} s (epoch "
                f"{result.epoch}, {result.members} memberships; {label}; target < 0.5 s)"
            )


if __name__ == "__main__":
    main()
