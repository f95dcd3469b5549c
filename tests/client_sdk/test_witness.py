"""The witness (client_sdk/witness.py, C2SP tlog-witness add-checkpoint): it cosigns a tree that
extends the one it holds, remembers it across restarts, and refuses with the spec's status
codes whatever it must not cosign: a fork at the same size (409) or a larger size (422), an old
size that is not its own (409 with its size), an unknown log (404), a checkpoint the log did
not sign (403), a request that does not parse (400)."""

from __future__ import annotations

from pathlib import Path

import pytest

from client_sdk.witness import SIZE_CONTENT_TYPE, Witness, load_or_create_key
from vault.checkpoint import Checkpoint, TrustedLog, open_checkpoint, sign_checkpoint
from vault.cosignature import WitnessPolicy
from vault.note import Ed25519Signer, parse_note
from vault.tlog import MemoryTree
from vault.witness import AddCheckpoint, add_cosignatures, parse_cosignature_lines

ORIGIN = "kluis.example/log"
LOG = Ed25519Signer(ORIGIN, bytes(range(32)))
OTHER = Ed25519Signer(ORIGIN, bytes(range(1, 33)))
NOW = 1_800_000_000


def tree(entries: int, tag: str = "") -> MemoryTree:
    t = MemoryTree()
    for i in range(entries):
        t.append(f"entry {i}{tag if i >= 3 else ''}".encode())
    return t


def request(t: MemoryTree, old: int, signer: Ed25519Signer = LOG) -> bytes:
    note = sign_checkpoint(Checkpoint(ORIGIN, t.size, t.root()), signer)
    return AddCheckpoint(old, tuple(t.consistency_proof(old)), note).encode()


@pytest.fixture
def witness(tmp_path: Path) -> Witness:
    reports: list[str] = []
    cosigner = load_or_create_key(tmp_path / "witness.key", "dorpsbelang/witness")
    w = Witness(cosigner, [LOG.verifier.vkey], tmp_path / "state.json", lambda: NOW, reports.append)
    w.reports = reports  # type: ignore[attr-defined]
    return w


def cosigned(w: Witness, t: MemoryTree, answer: bytes) -> None:
    """The answer is a cosignature the witness's key made on this tree's checkpoint."""
    note = sign_checkpoint(Checkpoint(ORIGIN, t.size, t.root()), LOG)
    with_cosig = add_cosignatures(note, parse_cosignature_lines(answer))
    policy = WitnessPolicy((w.cosigner.verifier,), 1)
    verified = open_checkpoint(with_cosig, TrustedLog(ORIGIN, LOG.verifier, policy))
    assert verified.cosigned == {w.cosigner.verifier.vkey: NOW}


def test_cosigns_a_tree_that_extends_the_one_it_holds(witness: Witness, tmp_path: Path) -> None:
    first = witness.add_checkpoint(request(tree(5), 0))
    assert first.status == 200
    cosigned(witness, tree(5), first.body)
    second = witness.add_checkpoint(request(tree(9), 5))
    assert second.status == 200
    cosigned(witness, tree(9), second.body)
    again = Witness(witness.cosigner, [LOG.verifier.vkey], tmp_path / "state.json")
    assert again.held(ORIGIN) == (9, tree(9).root())
    assert load_or_create_key(tmp_path / "witness.key", "ignored") == witness.cosigner


def test_refuses_a_fork_of_the_same_size(witness: Witness) -> None:
    assert witness.add_checkpoint(request(tree(6), 0)).status == 200
    answer = witness.add_checkpoint(request(tree(6, "forked"), 6))
    assert (answer.status, answer.content_type, answer.body) == (409, SIZE_CONTENT_TYPE, b"6\n")
    assert witness.held(ORIGIN) == (6, tree(6).root())
    assert "REFUSED" in witness.reports[0]  # type: ignore[attr-defined]


def test_refuses_a_larger_tree_that_does_not_extend_its_own(witness: Witness) -> None:
    assert witness.add_checkpoint(request(tree(6), 0)).status == 200
    forked = tree(10, "forked")
    body = request(forked, 6)  # a proof from size 6 of the forked tree: not from its size 6
    answer = witness.add_checkpoint(body)
    assert answer.status == 422
    assert witness.held(ORIGIN) == (6, tree(6).root())
    assert "REFUSED" in witness.reports[0]  # type: ignore[attr-defined]


def test_an_old_size_that_is_not_its_own_gets_its_size(witness: Witness) -> None:
    assert witness.add_checkpoint(request(tree(4), 0)).status == 200
    answer = witness.add_checkpoint(request(tree(8), 2))
    assert (answer.status, answer.content_type, answer.body) == (409, SIZE_CONTENT_TYPE, b"4\n")
    assert witness.add_checkpoint(request(tree(8), 4)).status == 200


def test_refuses_unknown_logs_unsigned_checkpoints_and_garbage(witness: Witness) -> None:
    stranger = Ed25519Signer("other.example/log", bytes(range(32)))
    note = sign_checkpoint(Checkpoint(stranger.name, 1, tree(1).root()), stranger)
    assert witness.add_checkpoint(AddCheckpoint(0, (), note).encode()).status == 404
    assert witness.add_checkpoint(request(tree(3), 0, signer=OTHER)).status == 403
    assert witness.add_checkpoint(b"old 0\n").status == 400
    assert witness.add_checkpoint(b"hello").status == 400
    assert witness.held(ORIGIN) is None


def test_a_shrinking_tree_is_refused(witness: Witness) -> None:
    assert witness.add_checkpoint(request(tree(7), 0)).status == 200
    note = sign_checkpoint(Checkpoint(ORIGIN, 5, tree(5).root()), LOG)
    assert witness.add_checkpoint(AddCheckpoint(7, (), note).encode()).status == 400
    assert parse_note(note).text  # the note itself was fine: only the size is refused
