"""The evidence vectors (docs/format.md section 20), checked with vault.evidence exactly as the
browser client checks them: rebuild the file hash and the salt, then verify the commitment, the
checkpoint (with the witness quorum) and the inclusion proof. An expected error is met by that
error or a subclass."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from vault import errors
from vault.checkpoint import TrustedLog
from vault.cosignature import WitnessPolicy, parse_witness_vkey
from vault.evidence import Proven, commitment, commitment_entry, evidence_salt, verify_evidence
from vault.note import parse_vkey

VECTORS = Path(__file__).resolve().parent.parent / "vectors"
FILES = sorted(VECTORS.glob("evidence-*.json"))


def trusted_log(v: dict[str, Any]) -> TrustedLog:
    witnesses = tuple(parse_witness_vkey(k) for k in v["witness_vkeys"])
    return TrustedLog(v["origin"], parse_vkey(v["log_vkey"]), WitnessPolicy(witnesses, v["quorum"]))


def check(v: dict[str, Any]) -> Proven:
    file_hash = hashlib.sha256(bytes.fromhex(v["file"])).digest()
    salt = evidence_salt(
        bytes.fromhex(v["file_key"]),
        bytes.fromhex(v["dossier_id"]),
        bytes.fromhex(v["document_id"]),
        v["version"],
    )
    return verify_evidence(
        file_hash=file_hash,
        salt=salt,
        entry=bytes.fromhex(v["entry"]),
        index=v["index"],
        inclusion=[bytes.fromhex(x) for x in v["inclusion"]],
        checkpoint=v["checkpoint"].encode(),
        log=trusted_log(v["log"]),
    )


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_vector(path: Path) -> None:
    v = json.loads(path.read_text("ascii"))
    assert v["structure"] == "evidence"
    if v["expect"] != "success":
        with pytest.raises(getattr(errors, v["expect"])):
            check(v)
        return
    proven = check(v)
    salt, file_hash = bytes.fromhex(v["salt"]), bytes.fromhex(v["file_hash"])
    assert hashlib.sha256(bytes.fromhex(v["file"])).hexdigest() == v["file_hash"]
    assert commitment(salt, file_hash).hex() == v["commitment"]
    assert commitment_entry(salt, file_hash).hex() == v["entry"]
    assert proven.entry.digest == bytes.fromhex(v["commitment"])
    assert proven.existed_by == v["existed_by"]


def test_failures_outnumber_successes() -> None:
    expects = [json.loads(p.read_text("ascii"))["expect"] for p in FILES]
    assert expects.count("success") >= 2
    assert len(expects) - expects.count("success") > expects.count("success")


def test_a_salt_or_hash_of_the_wrong_length_is_malformed() -> None:
    with pytest.raises(errors.MalformedError):
        commitment(bytes(31), bytes(32))
    with pytest.raises(errors.MalformedError):
        commitment(bytes(32), bytes(33))


def test_the_salt_differs_per_version_and_per_key() -> None:
    key, dossier, document = bytes(range(32)), bytes(16), bytes(range(16))
    salts = {
        evidence_salt(key, dossier, document, 1),
        evidence_salt(key, dossier, document, 2),
        evidence_salt(bytes(32), dossier, document, 1),
    }
    assert len(salts) == 3
