"""vault.witness: the bytes of a C2SP tlog-witness add-checkpoint request and response."""

from __future__ import annotations

import base64
import hashlib

import pytest

from vault.checkpoint import Checkpoint, TrustedLog, open_checkpoint, sign_checkpoint
from vault.cosignature import Cosigner, WitnessPolicy
from vault.errors import MalformedError
from vault.note import Ed25519Signer, parse_note, sign_note
from vault.tlog import MemoryTree
from vault.witness import (
    AddCheckpoint,
    add_cosignatures,
    parse_add_checkpoint,
    parse_cosignature_lines,
)

ORIGIN = "kluis.example/log"
LOG = Ed25519Signer(ORIGIN, hashlib.sha256(b"log").digest())
W = [Cosigner(f"w{i}.example/w", hashlib.sha256(b"%d" % i).digest()) for i in range(2)]
TREE = MemoryTree()
for i in range(20):
    TREE.append(b"%d" % i)
CP = sign_checkpoint(Checkpoint(ORIGIN, 20, TREE.root()), LOG)
PROOF = tuple(TREE.consistency_proof(13))


def test_a_request_is_old_size_proof_lines_blank_line_checkpoint() -> None:
    body = AddCheckpoint(13, PROOF, CP).encode()
    lines = body.split(b"\n")
    assert lines[0] == b"old 13" and lines[1] == base64.b64encode(PROOF[0])
    assert body.endswith(b"\n\n" + CP)
    assert parse_add_checkpoint(body) == AddCheckpoint(13, PROOF, CP)


def test_a_first_request_has_old_size_zero_and_no_proof() -> None:
    body = AddCheckpoint(0, (), CP).encode()
    assert body == b"old 0\n\n" + CP and parse_add_checkpoint(body).proof == ()


@pytest.mark.parametrize(
    "body",
    [
        b"old 013\n\n" + CP,
        b"old -1\n\n" + CP,
        b"old 13 \n\n" + CP,
        b"Old 13\n\n" + CP,
        b"old 9223372036854775808\n\n" + CP,
        b"old 13\n" + CP,  # no blank line: the checkpoint's lines are read as proof lines
        b"old 13\nAAAA\n\n" + CP,  # a proof line of 3 bytes
        b"old 13\n" + base64.b64encode(PROOF[0]).rstrip(b"=") + b"\n\n" + CP,
        b"old 13\n" + b"\n".join([base64.b64encode(PROOF[0])] * 64) + b"\n\n" + CP,
        b"old 13\xc3\xa9\n\n" + CP,
        b"",
    ],
)
def test_malformed_requests_are_refused(body: bytes) -> None:
    with pytest.raises(MalformedError):
        parse_add_checkpoint(body)


def test_sixty_three_proof_lines_are_allowed() -> None:
    body = b"old 13\n" + b"\n".join([base64.b64encode(PROOF[0])] * 63) + b"\n\n" + CP
    assert len(parse_add_checkpoint(body).proof) == 63


def test_the_request_writer_refuses_what_the_reader_would() -> None:
    with pytest.raises(ValueError):
        AddCheckpoint(-1, (), CP).encode()
    with pytest.raises(ValueError):
        AddCheckpoint(13, (b"\x00" * 31,), CP).encode()
    with pytest.raises(ValueError):
        AddCheckpoint(13, (b"\x00" * 32,) * 64, CP).encode()


def test_a_response_is_cosignature_lines_the_log_adds_to_its_checkpoint() -> None:
    witnessed = sign_note(parse_note(CP).text, [w.at(1_800_000_000) for w in W])
    response = witnessed.split(b"\n\n", 1)[1]
    lines = parse_cosignature_lines(response)
    assert [s.name for s in lines] == [w.name for w in W]
    full = add_cosignatures(CP, lines)
    assert add_cosignatures(full, lines) == full  # nothing twice
    log = TrustedLog(ORIGIN, LOG.verifier, WitnessPolicy(tuple(w.verifier for w in W), 2))
    assert len(open_checkpoint(full, log).cosigned) == 2


@pytest.mark.parametrize(
    "response", [b"", b"\n", b"- w0.example/w AAAA\n", b"\xe2\x80\x94 w0.example/w AAAAAAA="]
)
def test_malformed_responses_are_refused(response: bytes) -> None:
    with pytest.raises(MalformedError):
        parse_cosignature_lines(response)
