"""vault.keylookup: a looked-up record is used only if it is in the log, under the name asked for,
at a checkpoint the log signed, the witnesses cosigned and that extends the device's last one.
Each test changes one thing of a good answer (threat S22: the server shows someone other keys)."""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

import pytest

from vault import vrf
from vault.checkpoint import Checkpoint, TrustedLog, sign_checkpoint
from vault.cosignature import Cosigner, WitnessPolicy
from vault.errors import (
    IntegrityError,
    KeyMismatchError,
    MalformedError,
    RollbackError,
    SignatureError,
)
from vault.keylookup import verify_logged, verify_lookup
from vault.keys import Identity, PrivateIdentity
from vault.kinds import OrgKind
from vault.logentry import LogEntry, Namespace, prove_label
from vault.note import Ed25519Signer, sign_note
from vault.organisation import new_organisation, next_epoch
from vault.tlog import MemoryTree

ORIGIN = "kluis.example/log"
LOG = Ed25519Signer(ORIGIN, hashlib.sha256(b"log").digest())
WITNESSES = [Cosigner(f"w{i}.example/w", hashlib.sha256(b"%d" % i).digest()) for i in range(3)]
TRUSTED = TrustedLog(ORIGIN, LOG.verifier, WitnessPolicy(tuple(w.verifier for w in WITNESSES), 2))
VRF_SECRET = hashlib.sha256(b"vrf").digest()
VRF_KEY = vrf.public_key(VRF_SECRET)
NOW = 1_800_000_000


def person(name: str, version: int = 1, seed: str = "") -> PrivateIdentity:
    keys = hashlib.sha512((seed or name).encode()).digest() + hashlib.sha256(name.encode()).digest()
    user_id = hashlib.sha256(b"id " + name.encode()).digest()[:16]
    return PrivateIdentity.from_private_keys(user_id, name, version, keys)


ALICE, BOB = person("alice"), person("bob")
ALICE2 = person("alice", 2, "alice-rotated")
ORG1, ORG_REC1 = new_organisation(
    ALICE, org_id=b"\x0a" * 16, name="ncg", kind=OrgKind.INSTITUTION, created_at=NOW,
    private_keys=bytes(range(96)),
)  # fmt: skip
ORG2, ORG_REC2 = next_epoch(
    ALICE, ORG1, kind=OrgKind.INSTITUTION, created_at=NOW + 1, private_keys=bytes(range(1, 97))
)


def label(namespace: Namespace, name: str) -> bytes:
    return prove_label(VRF_SECRET, namespace, name)[0]


TREE = MemoryTree()
ENTRIES = [
    LogEntry.identity(label(Namespace.USER, "bob"), 1, BOB.public.encode()),
    LogEntry.identity(label(Namespace.USER, "alice"), 1, ALICE.public.encode()),
    LogEntry.organisation(label(Namespace.ORGANISATION, "ncg"), 1, ORG_REC1),
    LogEntry.organisation(label(Namespace.ORGANISATION, "ncg"), 2, ORG_REC2),
    LogEntry.identity(label(Namespace.USER, "alice"), 2, ALICE2.public.encode()),
]
for e in ENTRIES:
    TREE.append(e.encode())
SIZE = TREE.size
OLD = Checkpoint(ORIGIN, 2, TREE.root(2))


def signed(cp: Checkpoint, witnesses: tuple[int, ...] = (0, 1)) -> bytes:
    return sign_checkpoint(cp, LOG, *(WITNESSES[i].at(NOW - 10) for i in witnesses))


def answer(**changes: Any) -> dict[str, Any]:
    """A good answer for alice's current keys, seen by a device that holds OLD."""
    good: dict[str, Any] = {
        "log": TRUSTED,
        "vrf_key": VRF_KEY,
        "previous": OLD,
        "checkpoint": signed(Checkpoint(ORIGIN, SIZE, TREE.root())),
        "consistency": TREE.consistency_proof(2),
        "namespace": Namespace.USER,
        "name": "alice",
        "label_proof": prove_label(VRF_SECRET, Namespace.USER, "alice")[1],
        "record": ALICE2.public.encode(),
        "index": 4,
        "inclusion": TREE.inclusion_proof(4),
    }
    good.update(changes)
    return good


def test_a_logged_record_is_accepted() -> None:
    found = verify_lookup(**answer())
    assert isinstance(found.record, Identity) and found.record.key_version == 2
    assert found.checkpoint.checkpoint.size == SIZE and found.index == 4
    assert len(found.checkpoint.cosigned) == 2


def test_a_first_lookup_needs_no_previous_checkpoint() -> None:
    assert verify_lookup(**answer(previous=None, consistency=[])).entry == ENTRIES[4]


def test_an_older_logged_record_is_still_in_the_log() -> None:
    old = answer(record=ALICE.public.encode(), index=1, inclusion=TREE.inclusion_proof(1))
    found = verify_lookup(**old)
    assert found.entry == ENTRIES[1]


def test_an_organisation_epoch_is_looked_up_by_its_name() -> None:
    found = verify_lookup(
        **answer(
            namespace=Namespace.ORGANISATION,
            name="ncg",
            label_proof=prove_label(VRF_SECRET, Namespace.ORGANISATION, "ncg")[1],
            record=ORG_REC2,
            index=3,
            inclusion=TREE.inclusion_proof(3),
        )
    )
    assert found.entry.kind == 2 and found.entry.version == 2


# -- S22: keys the log does not have ---------------------------------------------------------------
def test_keys_the_server_did_not_log_are_refused() -> None:
    mallory_keys = person("alice", 2, "keys only one device is shown")
    with pytest.raises(IntegrityError):
        verify_lookup(**answer(record=mallory_keys.public.encode()))


def test_another_users_logged_record_under_this_name_is_refused() -> None:
    with pytest.raises(KeyMismatchError):
        verify_lookup(
            **answer(record=BOB.public.encode(), index=0, inclusion=TREE.inclusion_proof(0))
        )


def test_a_label_proof_for_another_name_is_refused() -> None:
    with pytest.raises(SignatureError):
        verify_lookup(**answer(label_proof=prove_label(VRF_SECRET, Namespace.USER, "bob")[1]))


def test_a_label_proof_under_another_vrf_key_is_refused() -> None:
    other = prove_label(b"\x01" * 32, Namespace.USER, "alice")[1]
    with pytest.raises(SignatureError):
        verify_lookup(**answer(label_proof=other))


def test_a_malformed_label_proof_is_refused() -> None:
    with pytest.raises(MalformedError):
        verify_lookup(**answer(label_proof=b"\x00" * 79))


def test_a_record_whose_self_signature_fails_is_refused() -> None:
    record = ALICE2.public.encode()
    with pytest.raises(SignatureError):
        verify_lookup(**answer(record=record[:-1] + bytes([record[-1] ^ 1])))


def test_a_record_that_does_not_parse_is_refused() -> None:
    with pytest.raises(MalformedError):
        verify_lookup(**answer(record=ORG_REC2))  # an organisation record for a user


def test_the_wrong_index_is_refused() -> None:
    with pytest.raises(IntegrityError):
        verify_lookup(**answer(index=3))


def test_a_changed_inclusion_proof_is_refused() -> None:
    proof = TREE.inclusion_proof(4)
    with pytest.raises(IntegrityError):
        verify_lookup(**answer(inclusion=[bytes([proof[0][0] ^ 1]) + proof[0][1:], *proof[1:]]))


# -- the checkpoint --------------------------------------------------------------------------------
def test_a_checkpoint_not_signed_by_the_log_is_refused() -> None:
    other = Ed25519Signer(ORIGIN, b"\x02" * 32)
    cosigners = (WITNESSES[0].at(NOW), WITNESSES[1].at(NOW))
    cp = sign_checkpoint(Checkpoint(ORIGIN, SIZE, TREE.root()), other, *cosigners)
    with pytest.raises(SignatureError):
        verify_lookup(**answer(checkpoint=cp))


def test_a_checkpoint_one_witness_cosigned_is_refused() -> None:
    with pytest.raises(SignatureError):
        verify_lookup(**answer(checkpoint=signed(Checkpoint(ORIGIN, SIZE, TREE.root()), (2,))))


def test_stale_cosignatures_are_refused_when_freshness_is_asked() -> None:
    verify_lookup(**answer(now=NOW, max_age=3600))
    with pytest.raises(SignatureError):
        verify_lookup(**answer(now=NOW + 7200, max_age=3600))


def test_a_checkpoint_of_another_log_is_refused() -> None:
    cp = Checkpoint("kluis.example/other", SIZE, TREE.root())
    data = sign_note(cp.text(), [LOG, WITNESSES[0].at(NOW), WITNESSES[1].at(NOW)])
    with pytest.raises(IntegrityError):
        verify_lookup(**answer(checkpoint=data))


def test_a_checkpoint_older_than_the_devices_is_a_rollback() -> None:
    newer = Checkpoint(ORIGIN, SIZE, TREE.root())
    with pytest.raises(RollbackError):
        verify_lookup(
            **answer(
                previous=newer,
                checkpoint=signed(Checkpoint(ORIGIN, 2, TREE.root(2))),
                consistency=[],
                record=ALICE.public.encode(),
                index=1,
                inclusion=TREE.inclusion_proof(1, 2),
            )
        )


def test_a_forked_log_is_refused() -> None:
    # a second tree in which alice's keys are the ones the server wants this device to use
    fork = MemoryTree()
    mallory = person("alice", 2, "keys only one device is shown")
    for e in [*ENTRIES[:4], LogEntry.identity(ENTRIES[4].label or b"", 2, mallory.public.encode())]:
        fork.append(e.encode())
    forged = answer(
        checkpoint=signed(Checkpoint(ORIGIN, SIZE, fork.root())),
        consistency=fork.consistency_proof(2),
        record=mallory.public.encode(),
        inclusion=fork.inclusion_proof(4),
    )
    verify_lookup(**{**forged, "previous": OLD})  # consistent with the old checkpoint: accepted...
    seen = Checkpoint(ORIGIN, SIZE, TREE.root())  # ...but not by a device that saw the real one
    with pytest.raises(IntegrityError):
        verify_lookup(**{**forged, "previous": seen, "consistency": []})


def test_a_wrong_consistency_proof_is_refused() -> None:
    with pytest.raises(IntegrityError):
        verify_lookup(**answer(consistency=TREE.consistency_proof(3)))


def test_verify_logged_checks_any_entry() -> None:
    cp = Checkpoint(ORIGIN, SIZE, TREE.root())
    verify_logged(ENTRIES[2], 2, TREE.inclusion_proof(2), cp)
    with pytest.raises(IntegrityError):
        verify_logged(dataclasses.replace(ENTRIES[2], version=3), 2, TREE.inclusion_proof(2), cp)
