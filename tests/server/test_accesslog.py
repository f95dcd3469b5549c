"""The access log: one entry per upload, download, share and revoke, hash-chained exactly as
docs/api.md says. The chain is recomputed here from the text of the spec, independently of
the server's code."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from .harness import Account, Kluis, assert_problem, grant_in, new_id

ZERO = "0" * 64


def spec_hash(prev_hash: str, entry: dict[str, Any]) -> str:
    body = {k: v for k, v in entry.items() if k not in ("prev_hash", "hash")}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(bytes.fromhex(prev_hash) + canonical.encode("utf-8")).hexdigest()


def assert_chain(log: list[dict[str, Any]]) -> None:
    prev = ZERO
    for seq, entry in enumerate(log, start=1):
        assert set(entry) == {
            "seq",
            "at",
            "actor_id",
            "action",
            "document_id",
            "version",
            "subject_id",
            "prev_hash",
            "hash",
        }
        assert entry["seq"] == seq
        assert entry["prev_hash"] == prev
        assert entry["hash"] == spec_hash(prev, entry)
        prev = entry["hash"]


def test_the_log_records_upload_download_share_and_revoke(
    kluis: Kluis, alice: Account, bob: Account
) -> None:
    dossier_id = kluis.create_dossier(alice)
    document_id = kluis.add_document(alice, dossier_id)
    kluis.clock.advance(5)
    kluis.share(alice, dossier_id, grant_in(bob.user_id))
    kluis.clock.advance(5)
    kluis.get(f"/documents/{document_id}/versions/1/payload", bob)
    kluis.share(alice, dossier_id, grant_in(bob.user_id, kind=2, document_id=document_id))
    kluis.delete(
        f"/dossiers/{dossier_id}/grants?recipient_id={bob.user_id}&document_id={document_id}",
        alice,
    )
    kluis.delete(f"/dossiers/{dossier_id}/grants?recipient_id={bob.user_id}", alice)

    log = kluis.log(alice, dossier_id)
    assert_chain(log)
    start = kluis.clock.now - 10
    facts = [
        (e["at"], e["actor_id"], e["action"], e["document_id"], e["version"], e["subject_id"])
        for e in log
    ]
    assert facts == [
        (start, alice.user_id, "upload", document_id, 1, None),
        (start + 5, alice.user_id, "share", None, None, bob.user_id),
        (start + 10, bob.user_id, "download", document_id, 1, None),
        (start + 10, alice.user_id, "share", document_id, 1, bob.user_id),
        (start + 10, alice.user_id, "revoke", document_id, None, bob.user_id),
        (start + 10, alice.user_id, "revoke", None, None, bob.user_id),
    ]


def test_the_owners_grants_to_itself_are_not_shares(kluis: Kluis, alice: Account) -> None:
    dossier_id = kluis.create_dossier(alice)
    kluis.share(alice, dossier_id, grant_in(alice.user_id, number=2))
    assert kluis.log(alice, dossier_id) == []


def test_a_revoke_that_removes_nothing_is_not_logged(
    kluis: Kluis, alice: Account, bob: Account
) -> None:
    dossier_id = kluis.create_dossier(alice)
    response = kluis.delete(f"/dossiers/{dossier_id}/grants?recipient_id={bob.user_id}", alice)
    assert response.status_code == 204
    assert kluis.log(alice, dossier_id) == []


def test_each_grant_of_a_batch_is_one_share(
    kluis: Kluis, alice: Account, bob: Account, mallory: Account
) -> None:
    dossier_id = kluis.create_dossier(alice, [grant_in(bob.user_id), grant_in(mallory.user_id)])
    log = kluis.log(alice, dossier_id)
    assert_chain(log)
    assert [(e["action"], e["subject_id"]) for e in log] == [
        ("share", bob.user_id),
        ("share", mallory.user_id),
    ]


def test_failed_operations_leave_no_entry(kluis: Kluis, alice: Account, bob: Account) -> None:
    dossier_id = kluis.create_dossier(alice, [grant_in(bob.user_id)])
    document_id = kluis.add_document(alice, dossier_id)
    before = kluis.log(alice, dossier_id)
    kluis.commit(alice, dossier_id, document_id, 5)  # version conflict
    kluis.commit(bob, dossier_id, document_id, 2)  # read only
    kluis.get(f"/documents/{document_id}/versions/9/payload", alice)  # no such version
    assert kluis.log(alice, dossier_id) == before


def test_the_chain_grows_without_rewriting_history(kluis: Kluis, alice: Account) -> None:
    dossier_id = kluis.create_dossier(alice)
    document_id = kluis.add_document(alice, dossier_id)
    first = kluis.log(alice, dossier_id)
    for _ in range(5):
        kluis.get(f"/documents/{document_id}/versions/1/payload", alice)
    later = kluis.log(alice, dossier_id)
    assert later[: len(first)] == first
    assert len(later) == len(first) + 5
    assert_chain(later)


def test_logs_are_per_dossier(kluis: Kluis, alice: Account) -> None:
    first = kluis.create_dossier(alice)
    second = kluis.create_dossier(alice)
    kluis.add_document(alice, first)
    kluis.add_document(alice, second)
    for dossier_id in (first, second):
        log = kluis.log(alice, dossier_id)
        assert len(log) == 1
        assert log[0]["prev_hash"] == ZERO
        assert_chain(log)


def test_grantees_read_the_log_strangers_do_not(
    kluis: Kluis, alice: Account, bob: Account, mallory: Account
) -> None:
    dossier_id = kluis.create_dossier(alice)
    document_id = kluis.add_document(alice, dossier_id)
    kluis.share(alice, dossier_id, grant_in(bob.user_id, kind=2, document_id=document_id))
    assert kluis.log(bob, dossier_id) == kluis.log(alice, dossier_id)
    assert_problem(kluis.get(f"/dossiers/{dossier_id}/log", mallory), 404, "not_found")
    assert_problem(kluis.get(f"/dossiers/{new_id()}/log", alice), 404, "not_found")
    assert_problem(kluis.get(f"/dossiers/{dossier_id}/log"), 401, "unauthorized")


def test_one_share_of_several_epoch_keys_is_one_entry(
    kluis: Kluis, alice: Account, bob: Account
) -> None:
    """A dossier share wraps every epoch's key, one grant each: still one share. (It was one
    identical `share` line per epoch.) A document share names each version it gives."""
    dossier_id = kluis.create_dossier(alice)
    document_id = kluis.add_document(alice, dossier_id)
    kluis.share(alice, dossier_id, *(grant_in(bob.user_id, number=n) for n in (1, 2, 3)))
    kluis.share(
        alice,
        dossier_id,
        *(grant_in(bob.user_id, kind=2, document_id=document_id, number=n) for n in (1, 2)),
    )
    log = kluis.log(alice, dossier_id)
    assert_chain(log)
    assert [(e["action"], e["document_id"], e["version"], e["subject_id"]) for e in log[1:]] == [
        ("share", None, None, bob.user_id),
        ("share", document_id, 1, bob.user_id),
        ("share", document_id, 2, bob.user_id),
    ]


def rotation(kluis: Kluis, owner: Account, dossier_id: str, *grants: dict[str, Any]) -> Any:
    return kluis.post(
        f"/dossiers/{dossier_id}/grants", owner, json={"grants": grants, "rotation": True}
    )


def test_a_rotations_re_wraps_are_not_shares(kluis: Kluis, alice: Account, bob: Account) -> None:
    """A key rotation re-wraps the new epoch's key for those who hold the dossier already: no
    new share, so no log entry (it was one `share` line per remaining grantee, each time)."""
    later = kluis.clock.now + 3600
    dossier_id = kluis.create_dossier(alice, [grant_in(bob.user_id, rights=2, expires_at=later)])
    before = kluis.log(alice, dossier_id)
    response = rotation(
        kluis,
        alice,
        dossier_id,
        grant_in(alice.user_id, number=2, rights=2),
        grant_in(bob.user_id, number=2, rights=2, expires_at=later),
    )
    assert response.status_code == 201, response.text
    assert kluis.log(alice, dossier_id) == before
    grants = kluis.get(f"/dossiers/{dossier_id}/grants", alice).json()
    assert sorted(g["number"] for g in grants if g["recipient_id"] == bob.user_id) == [1, 2]


def test_a_rotation_cannot_hide_a_share(
    kluis: Kluis, alice: Account, bob: Account, mallory: Account
) -> None:
    """Only a copy of a current dossier share, for one new epoch, no wider, passes as a
    re-wrap; anything else is refused (422) and nothing is stored or logged."""
    later = kluis.clock.now + 3600
    dossier_id = kluis.create_dossier(alice, [grant_in(bob.user_id, expires_at=later)])
    document_id = kluis.add_document(alice, dossier_id)
    before = kluis.log(alice, dossier_id)
    own = grant_in(alice.user_id, number=2, rights=2)
    for wrong in (
        [own, grant_in(mallory.user_id, number=2)],  # nobody shared with mallory
        [own, grant_in(bob.user_id, number=2, rights=2, expires_at=later)],  # write
        [own, grant_in(bob.user_id, number=2)],  # never expires
        [own, grant_in(bob.user_id, number=2, expires_at=later + 1)],  # later
        [own, grant_in(bob.user_id, number=3, expires_at=later)],  # another epoch
        [grant_in(alice.user_id, number=1, rights=2), grant_in(bob.user_id, expires_at=later)],
        [grant_in(bob.user_id, number=2, expires_at=later)],  # no new epoch of the owner's
        [own, grant_in(bob.user_id, kind=2, document_id=document_id, expires_at=later)],
    ):
        assert_problem(rotation(kluis, alice, dossier_id, *wrong), 422, "validation_error")
    assert kluis.log(alice, dossier_id) == before
    grants = kluis.get(f"/dossiers/{dossier_id}/grants", alice).json()
    assert sorted((g["recipient_id"], g["number"]) for g in grants) == sorted(
        [(alice.user_id, 1), (bob.user_id, 1)]
    )
