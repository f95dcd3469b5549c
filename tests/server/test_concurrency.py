"""Requests racing for the same thing, on SQLite (writers take turns) and PostgreSQL (writers
run side by side under row locks and constraints): exactly one wins, the others get the
documented 409, never a 500 or a deadlock, and the access log stays one unbroken chain."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .harness import Account, Kluis, b64, grant_in, new_id, registration
from .test_accesslog import assert_chain

RACERS = 8


def race(calls: list[Callable[[], Any]]) -> Counter[int]:
    with ThreadPoolExecutor(len(calls)) as pool:
        return Counter(r.status_code for r in pool.map(lambda call: call(), calls))


def test_one_new_dossier_id_is_created_once(kluis: Kluis, alice: Account) -> None:
    dossier_id = new_id()

    def create() -> Any:
        body = {
            "dossier_id": dossier_id,
            "index": b64(b"KLIX"),
            "grants": [grant_in(alice.user_id, rights=2)],
        }
        return kluis.post("/dossiers", alice, json=body)

    assert race([create] * RACERS) == {201: 1, 409: RACERS - 1}


def test_one_version_number_is_committed_once(kluis: Kluis, alice: Account) -> None:
    dossier_id = kluis.create_dossier(alice)
    document_id = new_id()
    uploads = [kluis.upload(alice, os.urandom(100)) for _ in range(RACERS)]

    def commit(upload: dict[str, Any]) -> Callable[[], Any]:
        body = {
            "version": 1,
            "header": b64(b"KLDH"),
            "upload_id": upload["upload_id"],
            "payload_size": upload["size"],
            "payload_blake3": upload["blake3"],
        }
        path = f"/dossiers/{dossier_id}/documents/{document_id}/versions"
        return lambda: kluis.post(path, alice, json=body)

    assert race([commit(u) for u in uploads]) == {201: 1, 409: RACERS - 1}
    versions = kluis.get(f"/documents/{document_id}", alice).json()["versions"]
    assert [v["version"] for v in versions] == [1]


def test_concurrent_writes_to_one_dossier_keep_one_log_chain(
    kluis: Kluis, alice: Account, bob: Account
) -> None:
    dossier_id = kluis.create_dossier(alice, [grant_in(bob.user_id, rights=2)])
    existing = kluis.add_document(alice, dossier_id)
    payload = f"/documents/{existing}/versions/1/payload"

    def add(who: Account) -> Callable[[], Any]:
        return lambda: kluis.commit(who, dossier_id, new_id(), 1)

    calls = [add(alice), add(bob)] * 3 + [lambda: kluis.get(payload, bob)] * 6
    assert race(calls) == {201: 6, 200: 6}
    log = kluis.get(f"/dossiers/{dossier_id}/log", alice).json()
    assert_chain(log)
    assert Counter(e["action"] for e in log) == {"upload": 7, "download": 6, "share": 1}


def test_one_id_becomes_a_user_or_an_organisation_never_both(kluis: Kluis, alice: Account) -> None:
    shared_id = new_id()

    def register(n: int) -> Callable[[], Any]:
        body = registration(f"racer{n}", user_id=shared_id)
        return lambda: kluis.post("/users", json=body)

    def create_org(n: int) -> Callable[[], Any]:
        body = {
            "org_id": shared_id,
            "name": f"org{n}",
            "kind": 2,
            "record": b64(b"KLOK" + os.urandom(60)),
            "membership": b64(b"KLOM" + os.urandom(60)),
        }
        return lambda: kluis.post("/organisations", alice, json=body)

    calls = [make(n) for n in range(RACERS // 2) for make in (register, create_org)]
    assert race(calls) == {201: 1, 409: RACERS - 1}
    user = kluis.get(f"/users/by-id/{shared_id}", alice).status_code
    organisation = kluis.get(f"/organisations/{shared_id}", alice).status_code
    assert sorted([user, organisation]) == [200, 404]
