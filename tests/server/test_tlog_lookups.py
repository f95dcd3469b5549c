"""Lookups with their place in the key transparency log (docs/api.md, "Key transparency"): a
user or organisation lookup, single or batch, carries the VRF label and proof, the entry's
index and inclusion proof, and the newest checkpoint with a consistency proof from the size the
caller names; every proof verifies with vault's client-side checks. The operator's verify-org
and unverify-org log signed statements under the logged operator key. Records that existed
before the log are appended when the server starts after migration 0005."""

from __future__ import annotations

import base64
import secrets
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session

from server.config import Settings
from server.db import make_engine
from server.models import User
from server.schema import upgrade
from server.tlog_keys import LogKeys
from vault.checkpoint import TrustedLog, check_extension, open_checkpoint
from vault.keylookup import verify_logged, verify_lookup
from vault.keys import PrivateIdentity
from vault.logentry import (
    LogEntry,
    Namespace,
    OperatorKey,
    Status,
    verify_label,
    verify_statement,
)
from vault.orgkeys import OrgKeys, genesis_fingerprint_digest

from .harness import Account, FakeClock, Kluis, assert_problem, b64, make_client, registration
from .test_organisations import create_org, published_org, run_admin

b = base64.b64decode
DATABASES = ("sqlite",)  # the last test builds a database from an older revision


def real_account(kluis: Kluis, username: str) -> tuple[Account, bytes]:
    user_id = secrets.token_bytes(16)
    identity = PrivateIdentity.generate(user_id, username).public.encode()
    body = registration(username, user_id=user_id.hex(), identity=b64(identity))
    assert kluis.post("/users", json=body).status_code == 201
    account = Account(
        user_id=user_id.hex(),
        username=username,
        auth_key=b(body["auth_key"]),
        recovery_key=b(body["recovery_auth_key"]),
        kdf=body["kdf"],
    )
    kluis.login(account)
    return account, identity


def trusted(settings: Settings) -> tuple[TrustedLog, LogKeys]:
    keys = LogKeys.of(settings)
    return TrustedLog(keys.origin, keys.signer.verifier), keys


def entry_in(
    answer_log: dict[str, Any], head: dict[str, Any], entry: LogEntry, log: TrustedLog
) -> None:
    checkpoint = open_checkpoint(head["checkpoint"].encode(), log).checkpoint
    inclusion = [b(h) for h in answer_log["inclusion"]]
    verify_logged(entry, answer_log["index"], inclusion, checkpoint)


def test_a_user_lookup_proves_the_identity_record_is_logged(
    kluis: Kluis, settings: Settings
) -> None:
    anna, identity = real_account(kluis, "anna")
    log, keys = trusted(settings)
    answer = kluis.get("/users/anna", anna).json()
    looked = verify_lookup(
        log=log,
        vrf_key=keys.vrf_public_key,
        previous=None,
        checkpoint=answer["head"]["checkpoint"].encode(),
        consistency=[],
        namespace=Namespace.USER,
        name="anna",
        label_proof=b(answer["log"]["label_proof"]),
        record=b(answer["identity"]),
        index=answer["log"]["index"],
        inclusion=[b(h) for h in answer["log"]["inclusion"]],
    )
    assert looked.record.encode() == identity
    first = looked.checkpoint.checkpoint

    real_account(kluis, "bert")
    later = kluis.get(f"/users/by-id/{anna.user_id}?since={first.size}", anna).json()
    newer = open_checkpoint(later["head"]["checkpoint"].encode(), log).checkpoint
    check_extension(first, newer, [b(h) for h in later["head"]["consistency"]])
    assert newer.size == first.size + 1 == later["head"]["size"]
    assert_problem(kluis.get(f"/users/anna?since={newer.size + 1}", anna), 409, "log_behind")


def test_an_identity_the_server_cannot_read_is_not_logged(kluis: Kluis, alice: Account) -> None:
    answer = kluis.get("/users/alice", alice).json()  # the harness's placeholder record
    assert answer["log"] is None and answer["head"]["size"] >= 1


def test_organisation_epochs_and_operator_statements_are_logged(
    kluis: Kluis, settings: Settings, monkeypatch: pytest.MonkeyPatch, data_dir: Path,
    database_url: str | None,
) -> None:  # fmt: skip
    anna, _ = real_account(kluis, "anna")
    fingerprint = published_org(kluis, anna, "ncg")
    assert run_admin(data_dir, database_url, monkeypatch, "verify-org", "ncg", "--fingerprint",
                     fingerprint) == 0  # fmt: skip
    assert run_admin(data_dir, database_url, monkeypatch, "unverify-org", "ncg") == 0
    log, keys = trusted(settings)

    answer = kluis.get("/organisations/by-name/ncg", anna).json()
    [record] = [b(r) for r in answer["records"]]
    [proof] = answer["record_proofs"]
    label = verify_label(
        keys.vrf_public_key, Namespace.ORGANISATION, "ncg", b(proof["label_proof"])
    )
    entry_in(proof, answer["head"], LogEntry.organisation(label, 1, record), log)

    batch = kluis.post("/log/lookup", anna, json={"organisations": ["ncg", "img"]}).json()
    assert batch["missing_organisations"] == ["img"]
    [operator] = batch["operator_keys"]
    entry_in(operator["log"], batch["head"], LogEntry.operator_key(b(operator["record"])), log)
    operator_key = OperatorKey.decode(b(operator["record"]))
    assert operator_key.origin == keys.origin
    org = OrgKeys.decode(record)
    verified, withdrawn = batch["organisations"][0]["statements"]
    for statement, status in ((verified, Status.VERIFIED), (withdrawn, Status.WITHDRAWN)):
        said = verify_statement(
            b(statement["record"]),
            operator=operator_key,
            org_id=org.org_id,
            org_fingerprint=genesis_fingerprint_digest(org)[:32],
        )
        assert said.status == status
        entry = LogEntry.verification(label, b(statement["record"]))
        entry_in(statement["log"], batch["head"], entry, log)


def test_an_organisation_epoch_is_logged_on_creation(
    kluis: Kluis, alice: Account, settings: Settings
) -> None:
    response = create_org(kluis, alice, "img")
    assert response.status_code == 201
    answer = kluis.get("/organisations/by-name/img", alice).json()
    [proof] = answer["record_proofs"]
    log, keys = trusted(settings)
    label = verify_label(
        keys.vrf_public_key, Namespace.ORGANISATION, "img", b(proof["label_proof"])
    )
    entry_in(proof, answer["head"], LogEntry.organisation(label, 1, b(answer["records"][0])), log)


def test_records_from_before_the_log_are_appended_at_start(
    settings: Settings, clock: FakeClock
) -> None:
    settings.data_dir.mkdir(parents=True)
    engine = make_engine(settings.db_url, pool_size=1)
    upgrade(engine, "0004")  # a database from before the log, with an account in it
    identity = PrivateIdentity.generate(bytes(range(16)), "oud").public.encode()
    with Session(engine) as session:
        body = registration("oud", identity=b64(identity))
        session.add(User(user_id=bytes(range(16)).hex(), username="oud", display_name="Oud",
                         identity=identity, kdf_memory_kib=19456, kdf_iterations=2,
                         kdf_parallelism=1, kdf_salt=b(body["kdf"]["salt"]), passphrase_bundle=b"p",
                         recovery_bundle=b"r", auth_hash="x", recovery_auth_hash="y",
                         created_at=1))  # fmt: skip
        session.commit()
    upgrade(engine)
    engine.dispose()
    with make_client(settings, clock) as client:
        kluis = Kluis(client, clock)
        anna, _ = real_account(kluis, "anna")
        answer = kluis.post("/log/lookup", anna, json={"users": ["oud", "anna"]}).json()
    assert [u["username"] for u in answer["users"]] == ["oud", "anna"]
    oud, new = answer["users"]
    assert (oud["log"]["index"], new["log"]["index"]) == (1, 2)  # after the operator key


def test_the_log_parameters_are_public_and_are_the_logs_own(
    kluis: Kluis, settings: Settings
) -> None:
    """What a client pins on first use: the origin, the log's verifier key (which opens the
    log's checkpoints) and the VRF key (which proves labels); public, as checkpoints are."""
    anna, _ = real_account(kluis, "anna")
    log, keys = trusted(settings)
    answer = kluis.client.get("/log/parameters")
    assert answer.status_code == 200, answer.text
    params = answer.json()
    assert params == {
        "origin": keys.origin,
        "log_key": keys.verifier_key,
        "vrf_key": keys.vrf_public_key.hex(),
    }
    head = kluis.get("/log/head", anna).json()
    opened = open_checkpoint(head["checkpoint"].encode(), log)
    assert opened.checkpoint.origin == params["origin"]
    label = verify_label(
        bytes.fromhex(params["vrf_key"]),
        Namespace.USER,
        "anna",
        b(kluis.get("/users/anna", anna).json()["log"]["label_proof"]),
    )
    assert len(label) == 32
