"""The key transparency log in the database (server/tlog.py): every append matches the reference
tree of vault.tlog, a checkpoint is signed for each commit, an append that does not commit
leaves the tree of the last commit, a process killed mid-append leaves a valid tree, and two
processes appending at once never fork the log (docs/format.md section 17)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from server.config import Settings
from server.db import make_engine, open_session
from server.schema import upgrade
from server.tlog import Pending, append, consistency, inclusion, latest_checkpoint, size
from server.tlog_keys import LogKeys
from server.tlog_models import TlogCheckpoint, TlogEntry
from vault.checkpoint import TrustedLog, open_checkpoint
from vault.tlog import MemoryTree, leaf_hash, verify_consistency, verify_inclusion

DATABASES = ("sqlite", "postgresql")


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.db_url, pool_size=2)
    upgrade(engine)
    yield engine
    engine.dispose()


def pending(n: int, tag: str = "e") -> list[Pending]:
    return [Pending(f"test:{tag}:{i}", f"entry {tag} {i}".encode()) for i in range(n)]


def check_tree(session: Session, keys: LogKeys) -> int:
    """Every checkpoint opens under the log key and names the root of the stored entries'
    prefix; the stored nodes give proofs that verify. Returns the size."""
    entries = session.exec(select(TlogEntry.entry).order_by(col(TlogEntry.index))).all()
    reference = MemoryTree()
    for e in entries:
        reference.append(e)
    trusted = TrustedLog(keys.origin, keys.signer.verifier)
    checkpoints = session.exec(select(TlogCheckpoint).order_by(col(TlogCheckpoint.size))).all()
    assert checkpoints[-1].size == len(entries) == size(session)
    previous = None
    for row in checkpoints:
        cp = open_checkpoint(row.note, trusted).checkpoint
        assert cp.size == row.size and cp.root == reference.root(cp.size)
        if previous is not None:
            proof = consistency(session, previous.size, cp.size)
            verify_consistency(previous.size, cp.size, previous.root, cp.root, proof)
        previous = cp
    for index in {0, len(entries) // 2, len(entries) - 1}:
        proof = inclusion(session, index, len(entries))
        verify_inclusion(leaf_hash(entries[index]), index, len(entries), proof, reference.root())
    return len(entries)


def test_appends_match_the_reference_tree(engine: Engine, settings: Settings) -> None:
    keys = LogKeys.of(settings)
    for batch in (1, 2, 5, 300):
        with open_session(engine, write=True) as session:
            append(session, keys, pending(batch, f"b{batch}"), 1)
            session.commit()
    with open_session(engine) as session:
        assert check_tree(session, keys) == 308


def test_an_append_that_is_not_committed_leaves_the_last_tree(
    engine: Engine, settings: Settings
) -> None:
    keys = LogKeys.of(settings)
    with open_session(engine, write=True) as session:
        append(session, keys, pending(3, "a"), 1)
        session.commit()
    with pytest.raises(RuntimeError), open_session(engine, write=True) as session:
        append(session, keys, pending(7, "lost"), 2)
        raise RuntimeError("the record's insert failed after its entry was appended")
    with open_session(engine, write=True) as session:
        assert size(session) == 3
        append(session, keys, pending(2, "b"), 3)
        session.commit()
    with open_session(engine) as session:
        assert check_tree(session, keys) == 5
        row = latest_checkpoint(session)
        assert row is not None and row.size == 5


def test_a_logged_subject_is_not_appended_twice(engine: Engine, settings: Settings) -> None:
    keys = LogKeys.of(settings)
    for _ in range(2):
        with open_session(engine, write=True) as session:
            append(session, keys, pending(4), 1)
            session.commit()
    with open_session(engine) as session:
        assert check_tree(session, keys) == 4


APPENDER = textwrap.dedent(
    """
    import sys
    from server.config import Settings
    from server.db import make_engine, open_session
    from server.tlog import Pending, append
    from server.tlog_keys import LogKeys

    settings = Settings()
    keys = LogKeys.of(settings)
    engine = make_engine(settings.db_url, pool_size=1)
    tag, count = sys.argv[1], int(sys.argv[2])
    print("ready", flush=True)
    for i in range(count):
        with open_session(engine, write=True) as session:
            append(session, keys, [Pending(f"{tag}:{i}", f"{tag} {i}".encode())], i)
            session.commit()
    print("done", flush=True)
    """
)


def appender(settings: Settings, tag: str, count: int) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KLUIS_")}
    env["KLUIS_DATA_DIR"] = str(settings.data_dir)
    if settings.database_url:
        env["KLUIS_DATABASE_URL"] = settings.database_url
    process = subprocess.Popen(
        [sys.executable, "-c", APPENDER, tag, str(count)],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    return process


def test_two_processes_appending_at_once_never_fork(engine: Engine, settings: Settings) -> None:
    keys = LogKeys.of(settings)  # creates the key files before the two processes read them
    first, second = appender(settings, "one", 150), appender(settings, "two", 150)
    assert first.wait(120) == 0 and second.wait(120) == 0
    with open_session(engine) as session:
        assert check_tree(session, keys) == 300


def test_a_process_killed_while_appending_leaves_a_valid_tree(
    engine: Engine, settings: Settings
) -> None:
    keys = LogKeys.of(settings)
    process = appender(settings, "killed", 100_000)
    with open_session(engine) as session:
        while size(session) < 50:  # let it append for a while, then kill it mid-stride
            session.commit()
            time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(30)
    with open_session(engine, write=True) as session:
        survived = check_tree(session, keys)
        assert survived >= 50
        append(session, keys, pending(3, "after"), 1)
        session.commit()
    with open_session(engine) as session:
        assert check_tree(session, keys) == survived + 3
