"""vault.checkpoint and vault.cosignature: signed checkpoints, witness cosignatures, the k-of-n
policy, and moving from one checkpoint to the next only along a consistency proof."""

from __future__ import annotations

import base64
import hashlib

import pytest

from vault.checkpoint import (
    Checkpoint,
    TrustedLog,
    check_extension,
    kluis_origin,
    open_checkpoint,
    sign_checkpoint,
)
from vault.cosignature import (
    CosignatureVerifier,
    Cosigner,
    WitnessPolicy,
    cosignature_message,
)
from vault.errors import IntegrityError, MalformedError, RollbackError, SignatureError
from vault.note import Ed25519Signer, Note, Signature, open_note, parse_note, sign_note
from vault.tlog import EMPTY_ROOT, MemoryTree

ORIGIN = "kluis.example/log"
LOG = Ed25519Signer(ORIGIN, hashlib.sha256(b"log").digest())
W = [Cosigner(f"witness{i}.example/w", hashlib.sha256(b"w%d" % i).digest()) for i in range(3)]
POLICY = WitnessPolicy(tuple(w.verifier for w in W), 2)
TRUSTED = TrustedLog(ORIGIN, LOG.verifier, POLICY)
NOW = 1_800_000_000

TREE = MemoryTree()
for i in range(20):
    TREE.append(b"entry %d" % i)
CP10 = Checkpoint(ORIGIN, 10, TREE.root(10))
CP20 = Checkpoint(ORIGIN, 20, TREE.root(20))


def signed(cp: Checkpoint = CP20, witnesses: tuple[int, ...] = (0, 1), at: int = NOW) -> bytes:
    return sign_checkpoint(cp, LOG, *(W[i].at(at) for i in witnesses))


# -- the text --------------------------------------------------------------------------------------
def test_a_checkpoint_text_is_origin_size_and_root() -> None:
    text = CP20.text()
    assert text == f"{ORIGIN}\n20\n{base64.b64encode(TREE.root(20)).decode()}\n"
    assert Checkpoint.parse(text) == CP20
    with_extension = Checkpoint(ORIGIN, 20, TREE.root(20), ("note: x",))
    assert Checkpoint.parse(with_extension.text()) == with_extension


def test_the_empty_tree_is_size_zero() -> None:
    empty = Checkpoint(ORIGIN, 0, EMPTY_ROOT)
    assert empty.text().split("\n")[1] == "0" and Checkpoint.parse(empty.text()) == empty


@pytest.mark.parametrize(
    "text",
    [
        "kluis.example/log\n20\n",  # two lines
        "kluis.example/log\n20\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",  # no final newline
        "\n20\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",  # empty origin
        "kluis.example/log\n020\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",  # leading zero
        "kluis.example/log\n+20\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
        "kluis.example/log\n-1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
        "kluis.example/log\n2 0\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
        "kluis.example/log\n\u0662\u0660\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",  # Arabic
        "kluis.example/log\n9223372036854775808\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
        "kluis.example/log\n20\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\n",  # 31 bytes
        "kluis.example/log\n20\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",  # 33 bytes
        "kluis.example/log\n20\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=\n",  # non-canonical
        "kluis.example/log\n20\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",  # no padding
        "kluis.example/log\n20\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n",  # empty line
        "kluis.example/log\n20\n AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
    ],
)
def test_malformed_checkpoint_texts_are_refused(text: str) -> None:
    with pytest.raises(MalformedError):
        Checkpoint.parse(text)


def test_the_largest_tree_size_is_2_63_minus_1() -> None:
    text = f"{ORIGIN}\n9223372036854775807\n{base64.b64encode(EMPTY_ROOT).decode()}\n"
    assert Checkpoint.parse(text).size == 2**63 - 1


def test_kluis_origins_name_the_deployment() -> None:
    assert kluis_origin("kluis.groningen.nl") == "kluis.groningen.nl/log"
    assert kluis_origin("localhost:8000") == "localhost:8000/log"
    for bad in ("Kluis.nl", "a..b", "-a.nl", "a.nl:0", "a.nl/x", "", "a b", "a" * 64 + ".nl"):
        with pytest.raises(ValueError):
            kluis_origin(bad)


# -- opening a signed checkpoint -------------------------------------------------------------------
def test_a_checkpoint_signed_by_the_log_and_two_witnesses_opens() -> None:
    verified = open_checkpoint(signed(), TRUSTED)
    assert verified.checkpoint == CP20
    assert verified.cosigned == {W[0].verifier.vkey: NOW, W[1].verifier.vkey: NOW}


def test_the_log_signature_is_required_even_with_every_witness() -> None:
    data = sign_note(CP20.text(), [w.at(NOW) for w in W])
    with pytest.raises(SignatureError):
        open_checkpoint(data, TRUSTED)


def test_a_checkpoint_signed_by_another_log_key_is_refused() -> None:
    impostor = Ed25519Signer(ORIGIN, hashlib.sha256(b"impostor").digest())
    with pytest.raises(SignatureError):
        open_checkpoint(sign_checkpoint(CP20, impostor, W[0].at(NOW), W[1].at(NOW)), TRUSTED)


def test_one_witness_of_a_two_of_three_policy_is_not_enough() -> None:
    with pytest.raises(SignatureError):
        open_checkpoint(signed(witnesses=(2,)), TRUSTED)


def test_one_witness_signing_twice_counts_once() -> None:
    note = parse_note(signed(witnesses=(1,)))
    again = parse_note(sign_note(CP20.text(), [W[1].at(NOW + 1)])).signatures[0]
    data = Note(note.text, (*note.signatures, again)).encode()
    with pytest.raises(SignatureError):
        open_checkpoint(data, TRUSTED)


def test_cosignatures_by_unknown_witnesses_do_not_count() -> None:
    stranger = Cosigner("stranger.example/w", b"\x07" * 32)
    data = sign_checkpoint(CP20, LOG, W[0].at(NOW), stranger.at(NOW))
    with pytest.raises(SignatureError):
        open_checkpoint(data, TRUSTED)


def test_a_bad_cosignature_by_a_trusted_witness_refuses_the_checkpoint() -> None:
    note = parse_note(signed(witnesses=(0, 1, 2)))
    sig = note.signatures[3]
    flipped = sig.signature[:8] + bytes([sig.signature[8] ^ 1]) + sig.signature[9:]
    bad = Signature(sig.name, sig.key_id, flipped)
    with pytest.raises(SignatureError):
        open_checkpoint(Note(note.text, (*note.signatures[:3], bad)).encode(), TRUSTED)


def test_a_cosignature_with_a_changed_timestamp_does_not_verify() -> None:
    note = parse_note(signed())
    sig = note.signatures[1]
    moved = Signature(sig.name, sig.key_id, (NOW + 1).to_bytes(8, "big") + sig.signature[8:])
    data = Note(note.text, (note.signatures[0], moved, note.signatures[2])).encode()
    with pytest.raises(SignatureError):
        open_checkpoint(data, TRUSTED)


def test_a_cosignature_timestamp_above_2_63_is_refused() -> None:
    w = W[0].verifier
    assert not w.verify(CP20.text().encode(), (2**63).to_bytes(8, "big") + b"\x00" * 64)
    with pytest.raises(ValueError):
        cosignature_message(b"", 2**63)


def test_the_cosigned_message_is_the_one_of_the_spec() -> None:
    assert cosignature_message(b"example.com/behind-the-sofa\n20852163\nCsUY=\n", 1679315147) == (
        b"cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\nCsUY=\n"
    )


def test_a_cosignature_is_not_a_log_signature() -> None:
    # the log's own key used as a witness: the key IDs differ, so its cosignature is not the
    # log's signature, and its plain signature is not a cosignature
    as_witness = Cosigner(ORIGIN, LOG.seed)
    with pytest.raises(SignatureError):
        open_checkpoint(sign_note(CP20.text(), [as_witness.at(NOW)]), TRUSTED)


def test_a_checkpoint_of_another_origin_is_refused() -> None:
    other = Ed25519Signer("other.example/log", LOG.seed)
    cp = Checkpoint("other.example/log", 20, TREE.root(20))
    data = sign_checkpoint(cp, other, W[0].at(NOW), W[1].at(NOW))
    # the same key under the other name: its key ID differs, so it is not the trusted log's
    with pytest.raises(SignatureError):
        open_checkpoint(data, TRUSTED)
    # signed by the trusted key, under its own name, but naming another origin in the text
    forged = sign_note(cp.text(), [LOG, W[0].at(NOW), W[1].at(NOW)])
    with pytest.raises(IntegrityError):
        open_checkpoint(forged, TRUSTED)


def test_an_empty_tree_with_a_root_is_refused() -> None:
    with pytest.raises(IntegrityError):
        open_checkpoint(signed(Checkpoint(ORIGIN, 0, TREE.root(1))), TRUSTED)
    assert open_checkpoint(signed(Checkpoint(ORIGIN, 0, EMPTY_ROOT)), TRUSTED).checkpoint.size == 0


def test_a_signed_text_that_is_not_a_checkpoint_is_malformed() -> None:
    data = sign_note("kluis.example/log\n20\n", [LOG, W[0].at(NOW), W[1].at(NOW)])
    with pytest.raises(MalformedError):
        open_checkpoint(data, TRUSTED)


def test_only_recent_cosignatures_count_when_asked() -> None:
    data = sign_checkpoint(CP20, LOG, W[0].at(NOW - 100), W[1].at(NOW - 90_000))
    assert len(open_checkpoint(data, TRUSTED).cosigned) == 2
    with pytest.raises(SignatureError):
        open_checkpoint(data, TRUSTED, now=NOW, max_age=86_400)
    future = sign_checkpoint(CP20, LOG, W[0].at(NOW - 100), W[1].at(NOW + 3600))
    with pytest.raises(SignatureError):
        open_checkpoint(future, TRUSTED, now=NOW, max_age=86_400)
    fresh = sign_checkpoint(CP20, LOG, W[0].at(NOW - 100), W[2].at(NOW))
    assert len(open_checkpoint(fresh, TRUSTED, now=NOW, max_age=86_400).cosigned) == 2


def test_a_policy_of_zero_trusts_the_log_alone() -> None:
    alone = TrustedLog(ORIGIN, LOG.verifier)
    assert open_checkpoint(sign_checkpoint(CP20, LOG), alone).cosigned == {}


def test_witness_policies_refuse_impossible_configurations() -> None:
    with pytest.raises(ValueError):
        WitnessPolicy(POLICY.witnesses, 4)
    with pytest.raises(ValueError):
        WitnessPolicy(POLICY.witnesses, -1)
    with pytest.raises(ValueError):  # one key under two names is one witness
        WitnessPolicy((W[0].verifier, CosignatureVerifier("other", W[0].verifier.public_key)), 2)
    with pytest.raises(ValueError):
        TrustedLog("kluis.example/other", LOG.verifier, POLICY)
    with pytest.raises(ValueError):
        sign_checkpoint(Checkpoint("kluis.example/other", 1, TREE.root(1)), LOG)


def test_a_cosigner_hides_its_seed_and_cosigns_with_type_4() -> None:
    assert "hidden" in repr(W[0])
    kid = hashlib.sha256(W[0].name.encode() + b"\n\x04" + W[0].verifier.public_key).digest()[:4]
    assert W[0].verifier.key_id == kid and W[0].verifier.vkey.split("+")[1] == kid.hex()
    opened = open_note(signed(), [W[0].verifier])
    assert CosignatureVerifier.timestamp(opened.verified[0][1]) == NOW


# -- moving on: consistency with the checkpoint this device holds ----------------------------------
def test_a_larger_consistent_checkpoint_extends_the_previous_one() -> None:
    check_extension(CP10, CP20, TREE.consistency_proof(10, 20))
    check_extension(CP20, CP20, [])
    check_extension(None, CP20, [])


def test_a_smaller_checkpoint_is_a_rollback() -> None:
    with pytest.raises(RollbackError):
        check_extension(CP20, CP10, [])


def test_another_root_for_the_same_size_is_a_fork() -> None:
    forked = Checkpoint(ORIGIN, 20, TREE.root(19))
    with pytest.raises(IntegrityError):
        check_extension(CP20, forked, [])


def test_a_tree_that_rewrote_history_is_a_fork() -> None:
    other = MemoryTree()
    for i in range(20):
        other.append(b"entry %d" % (i if i != 3 else 99))
    rewritten = Checkpoint(ORIGIN, 20, other.root(20))
    with pytest.raises(IntegrityError):
        check_extension(CP10, rewritten, other.consistency_proof(10, 20))
    with pytest.raises(IntegrityError):
        check_extension(CP10, rewritten, TREE.consistency_proof(10, 20))


def test_a_wrong_proof_is_refused() -> None:
    with pytest.raises(IntegrityError):
        check_extension(CP10, CP20, TREE.consistency_proof(11, 20))
    with pytest.raises(IntegrityError):
        check_extension(CP10, CP20, [])


def test_a_checkpoint_of_another_log_does_not_extend() -> None:
    with pytest.raises(IntegrityError):
        check_extension(CP10, Checkpoint("kluis.example/other", 20, TREE.root(20)), [])


def test_a_first_checkpoint_takes_no_proof() -> None:
    with pytest.raises(MalformedError):
        check_extension(None, CP20, [TREE.root(10)])
