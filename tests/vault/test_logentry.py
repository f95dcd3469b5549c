"""vault.logentry: log entries, VRF labels, the operator key and its verification statements."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import blake3
import nacl.signing
import pytest

from vault import labels, vrf
from vault.errors import IntegrityError, KeyMismatchError, MalformedError, SignatureError
from vault.keys import PrivateIdentity
from vault.logentry import (
    EntryKind,
    LogEntry,
    Namespace,
    OperatorKey,
    OperatorStatement,
    Status,
    label_input,
    make_operator_key,
    make_statement,
    prove_label,
    verify_label,
    verify_statement,
)

VRF_SECRET = hashlib.sha256(b"vrf").digest()
VRF_KEY = vrf.public_key(VRF_SECRET)
OPERATOR_SEED = hashlib.sha256(b"operator").digest()
ORIGIN = "kluis.example/log"
ORG_ID = bytes(range(16))
FINGERPRINT = hashlib.sha256(b"F_org").digest()
ALICE = PrivateIdentity.from_private_keys(b"\x0a" * 16, "alice", 1, bytes(range(96)))
RECORD = ALICE.public.encode()
LABEL, PROOF = prove_label(VRF_SECRET, Namespace.USER, "alice")
OPERATOR_RECORD = make_operator_key(OPERATOR_SEED, origin=ORIGIN, key_version=1, created_at=7)
OPERATOR = OperatorKey.decode(OPERATOR_RECORD)


def statement(**changes: object) -> bytes:
    fields: dict[str, object] = {
        "origin": ORIGIN,
        "org_id": ORG_ID,
        "org_fingerprint": FINGERPRINT,
        "status": Status.VERIFIED,
        "stated_at": 1_800_000_000,
    }
    fields.update(changes)
    return make_statement(OPERATOR_SEED, **fields)  # type: ignore[arg-type]


# -- labels ----------------------------------------------------------------------------------------
def test_the_label_input_is_the_label_namespace_and_name() -> None:
    assert label_input(Namespace.USER, "alice") == b"kluis/v1/kt-label\x00\x01alice"
    assert label_input(Namespace.ORGANISATION, "alice") == b"kluis/v1/kt-label\x00\x02alice"


def test_a_label_is_the_first_half_of_the_vrf_output() -> None:
    assert vrf.proof_to_hash(PROOF)[:32] == LABEL
    assert verify_label(VRF_KEY, Namespace.USER, "alice", PROOF) == LABEL


def test_a_user_and_an_organisation_of_one_name_have_different_labels() -> None:
    org_label, _ = prove_label(VRF_SECRET, Namespace.ORGANISATION, "alice")
    assert org_label != LABEL


def test_a_label_proof_for_another_name_or_namespace_or_key_is_refused() -> None:
    with pytest.raises(SignatureError):
        verify_label(VRF_KEY, Namespace.USER, "alicia", PROOF)
    with pytest.raises(SignatureError):
        verify_label(VRF_KEY, Namespace.ORGANISATION, "alice", PROOF)
    with pytest.raises(SignatureError):
        verify_label(vrf.public_key(b"\x01" * 32), Namespace.USER, "alice", PROOF)


@pytest.mark.parametrize("name", ["Alice", "", "a" * 65, "al ice", "-alice"])
def test_labels_are_only_for_valid_names(name: str) -> None:
    with pytest.raises(MalformedError):
        label_input(Namespace.USER, name)


def test_a_namespace_is_user_or_organisation() -> None:
    with pytest.raises(ValueError):
        label_input(3, "alice")  # type: ignore[arg-type]


# -- entries ---------------------------------------------------------------------------------------
def test_an_identity_entry_is_label_version_and_record_hash() -> None:
    entry = LogEntry.identity(LABEL, 1, RECORD)
    data = entry.encode()
    assert data == b"KLKT\x01\x01" + LABEL + b"\x00\x00\x00\x01" + blake3.blake3(RECORD).digest()
    assert LogEntry.decode(data) == entry and len(data) == 74


def test_an_organisation_entry_has_kind_2() -> None:
    entry = LogEntry.organisation(LABEL, 3, b"record")
    assert entry.encode()[5] == 2 and LogEntry.decode(entry.encode()) == entry


def test_an_operator_key_entry_carries_the_record() -> None:
    entry = LogEntry.operator_key(OPERATOR_RECORD)
    data = entry.encode()
    assert data[:6] == b"KLKT\x01\x03" and data[10:] == OPERATOR_RECORD
    assert LogEntry.decode(data) == entry and entry.label is None


def test_a_verification_entry_is_label_and_statement_hash() -> None:
    entry = LogEntry.verification(LABEL, statement())
    data = entry.encode()
    assert data == b"KLKT\x01\x04" + LABEL + blake3.blake3(statement()).digest()
    assert LogEntry.decode(data) == entry


GOOD = LogEntry.identity(LABEL, 1, RECORD).encode()


@pytest.mark.parametrize(
    "data",
    [
        b"KLKX" + GOOD[4:],  # magic
        GOOD[:4] + b"\x02" + GOOD[5:],  # format version
        GOOD[:5] + b"\x05" + GOOD[6:],  # unknown kind
        GOOD[:5] + b"\x00" + GOOD[6:],
        GOOD[:-1],  # truncated
        GOOD + b"\x00",  # trailing byte
        GOOD[:38] + b"\x00\x00\x00\x00" + GOOD[42:],  # key version 0
        GOOD[:5] + b"\x04" + GOOD[6:],  # kind 4 is shorter: 4 trailing bytes
        GOOD[:5] + b"\x03" + GOOD[6:],  # kind 3: not an operator key
        b"",
    ],
)
def test_malformed_entries_are_refused(data: bytes) -> None:
    with pytest.raises(MalformedError):
        LogEntry.decode(data)


def test_an_entry_with_a_forged_operator_key_is_refused() -> None:
    forged = OPERATOR_RECORD[:-1] + bytes([OPERATOR_RECORD[-1] ^ 1])
    data = b"KLKT\x01\x03" + len(forged).to_bytes(4, "big") + forged
    with pytest.raises(SignatureError):
        LogEntry.decode(data)


def test_entry_writers_refuse_what_readers_would() -> None:
    with pytest.raises(ValueError):
        LogEntry.identity(LABEL[:31], 1, RECORD)
    with pytest.raises(ValueError):
        LogEntry.identity(LABEL, 0, RECORD)
    with pytest.raises(ValueError):
        LogEntry.organisation(LABEL, 2**32, RECORD)


# -- the operator key ------------------------------------------------------------------------------
def test_an_operator_key_record_round_trips_and_signs_itself() -> None:
    assert OPERATOR.origin == ORIGIN and OPERATOR.key_version == 1 and OPERATOR.created_at == 7
    assert OPERATOR.encode() == OPERATOR_RECORD
    assert OPERATOR_RECORD[:5] == b"KLOP\x01"


@pytest.mark.parametrize(
    "change",
    [
        lambda d: b"KLOQ" + d[4:],
        lambda d: d[:4] + b"\x02" + d[5:],
        lambda d: d[:-1],
        lambda d: d + b"\x00",
        lambda d: d[:5] + b"\x00\x00\x01\x00" + d[9:],  # origin longer than the record
    ],
)
def test_malformed_operator_keys_are_refused(change: object) -> None:
    with pytest.raises(MalformedError):
        OperatorKey.decode(change(OPERATOR_RECORD))  # type: ignore[operator]


def test_an_operator_key_with_version_zero_is_malformed() -> None:
    at = 5 + 4 + len(ORIGIN)
    data = OPERATOR_RECORD[:at] + b"\x00\x00\x00\x00" + OPERATOR_RECORD[at + 4 :]
    with pytest.raises(MalformedError):
        OperatorKey.decode(data)


def test_an_operator_key_signed_with_another_label_is_refused() -> None:
    body = OPERATOR.body()
    wrong = nacl.signing.SigningKey(OPERATOR_SEED).sign(
        labels.OPERATOR_VERIFICATION_SIGNATURE + b"\x00" + body
    )
    with pytest.raises(SignatureError):
        OperatorKey.decode(body + wrong.signature)


@pytest.mark.parametrize("origin", ["", "a b", "a\nb", "x" * 256])
def test_an_operator_key_needs_an_origin(origin: str) -> None:
    with pytest.raises(ValueError):
        make_operator_key(OPERATOR_SEED, origin=origin, key_version=1, created_at=0)


# -- statements ------------------------------------------------------------------------------------
def test_a_statement_verifies_for_its_organisation() -> None:
    s = verify_statement(statement(), operator=OPERATOR, org_id=ORG_ID, org_fingerprint=FINGERPRINT)
    assert s.status == Status.VERIFIED and s.stated_at == 1_800_000_000
    assert OperatorStatement.decode(statement()).encode() == statement()


def test_a_withdrawn_verification_is_a_statement_too() -> None:
    s = verify_statement(
        statement(status=Status.WITHDRAWN),
        operator=OPERATOR,
        org_id=ORG_ID,
        org_fingerprint=FINGERPRINT,
    )
    assert s.status == Status.WITHDRAWN


def test_a_statement_of_another_deployment_is_refused() -> None:
    with pytest.raises(IntegrityError):
        verify_statement(
            statement(origin="other.example/log"),
            operator=OPERATOR,
            org_id=ORG_ID,
            org_fingerprint=FINGERPRINT,
        )


def test_a_statement_by_another_operator_key_is_refused() -> None:
    other = make_statement(
        b"\x05" * 32,
        origin=ORIGIN,
        org_id=ORG_ID,
        org_fingerprint=FINGERPRINT,
        status=Status.VERIFIED,
        stated_at=1,
    )
    with pytest.raises(KeyMismatchError):
        verify_statement(other, operator=OPERATOR, org_id=ORG_ID, org_fingerprint=FINGERPRINT)


def test_a_statement_with_a_bad_signature_is_refused() -> None:
    data = statement()
    with pytest.raises(SignatureError):
        verify_statement(
            data[:-1] + bytes([data[-1] ^ 1]),
            operator=OPERATOR,
            org_id=ORG_ID,
            org_fingerprint=FINGERPRINT,
        )


def test_a_statement_about_another_organisation_is_refused() -> None:
    with pytest.raises(IntegrityError):
        verify_statement(
            statement(org_id=b"\xff" * 16),
            operator=OPERATOR,
            org_id=ORG_ID,
            org_fingerprint=FINGERPRINT,
        )


def test_a_statement_vouching_for_other_keys_is_refused() -> None:
    with pytest.raises(KeyMismatchError):
        verify_statement(
            statement(org_fingerprint=b"\x00" * 32),
            operator=OPERATOR,
            org_id=ORG_ID,
            org_fingerprint=FINGERPRINT,
        )


@pytest.mark.parametrize(
    "change",
    [
        lambda d: b"KLOW" + d[4:],
        lambda d: d[:4] + b"\x00" + d[5:],
        lambda d: d[:-1],
        lambda d: d + b"\x00",
    ],
)
def test_malformed_statements_are_refused(change: object) -> None:
    with pytest.raises(MalformedError):
        OperatorStatement.decode(change(statement()))  # type: ignore[operator]


def test_a_statement_with_an_unknown_status_is_malformed() -> None:
    data = bytearray(statement())
    data[-64 - 8 - 1] = 3
    with pytest.raises(MalformedError):
        OperatorStatement.decode(bytes(data))


def test_the_entry_kinds_are_the_five_of_the_spec() -> None:
    assert [int(k) for k in EntryKind] == [1, 2, 3, 4, 5]


def test_a_commitment_entry_is_format_version_2_and_round_trips() -> None:
    data = LogEntry.commitment(bytes(range(32))).encode()
    assert data == b"KLKT\x02\x05" + bytes(range(32))
    assert LogEntry.decode(data) == LogEntry.commitment(bytes(range(32)))


@pytest.mark.parametrize(
    "data",
    [
        b"KLKT\x01\x05" + bytes(32),  # a commitment as version 1
        b"KLKT\x02\x04" + bytes(64),  # an older kind as version 2
        b"KLKT\x03\x05" + bytes(32),  # a version nobody writes
        b"KLKT\x02\x05" + bytes(33),  # trailing byte
    ],
)
def test_a_commitment_entry_in_another_version_or_length_is_malformed(data: bytes) -> None:
    with pytest.raises(MalformedError):
        LogEntry.decode(data)


def test_what_the_server_needs_of_the_log_imports_no_secret_key_code() -> None:
    # pyproject's import contract forbids the server these modules; the log's format modules,
    # which the server will import to build entries, labels and checkpoints, must not pull them in
    code = (
        "import sys, vault.tlog, vault.note, vault.checkpoint, vault.cosignature, vault.witness, "
        "vault.vrf, vault.logentry\n"
        "bad = {'vault.keys', 'vault.bundle', 'vault.payload', 'vault.grant', 'vault.agefile', "
        "'vault.kdf', 'vault.recovery', 'vault.organisation'} & set(sys.modules)\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
