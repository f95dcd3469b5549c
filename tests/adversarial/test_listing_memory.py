"""D12, D13 and K4 in what a listing shows: a document shared on its own, what a device
remembers as seen, signed deletions, and headers this device verified before.

A document-only grantee cannot read the dossier's title, but it does verify the owner's index,
so the index protects it exactly as it protects a dossier grantee. What a device remembers as
seen is only what it verified, so a version number the server merely claims cannot lock a
document.
"""

from __future__ import annotations

import base64
import os
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from client_sdk.transport import b64
from vault.errors import KeyMismatchError, RollbackError
from vault.index import IndexDeletion, index_hash, seal_index
from vault.keys import PrivateIdentity
from vault.logentry import Namespace

from . import logoperator
from .harness import RewritingTransport, World, assert_fail_closed, json_answer, rewrite_json, world

__all__ = ["world"]

LISTING = r"/api/v1/dossiers/[0-9a-f]{32}/documents"


def shared_twice(world: World) -> tuple[str, str]:
    """Anna's document at version 2 (her signed index lists 2), shared on its own with bob."""
    dossier, [doc] = world.dossier_with(("rapport.pdf", b"version 1 - old"))
    world.anna.client.update(doc, world.file("rapport.pdf", b"version 2 - current"))
    world.anna.client.share(doc, "bob")
    assert world.db.indexed(dossier) == {doc: 2}
    return dossier, doc


def hide_version(world: World, doc: str, version: int) -> None:
    world.db.execute("DELETE FROM versions WHERE document_id = ? AND version = ?", doc, version)


def withhold_grant(world: World, doc: str, version: int) -> None:
    """The server drops bob's grant row for one version of a document shared with him."""
    world.db.execute(
        "DELETE FROM grants WHERE document_id = ? AND recipient_id = ? AND number = ?",
        doc,
        world.bob.user_id,
        version,
    )


# -- D12: the owner's index protects a document-only grantee ----------------------------------
def test_d12_a_document_grantee_refuses_a_version_older_than_the_signed_index(
    world: World,
) -> None:
    dossier, doc = shared_twice(world)
    hide_version(world, doc, 2)  # bob's device never listed this document
    assert world.bob.client.load_dossier(dossier).role == "document"
    with pytest.raises(RollbackError) as refused:
        world.bob.client.documents(dossier)
    assert_fail_closed(refused, "offers version 1.*signed index lists version 2")


def test_d12_a_document_grantee_gets_no_plaintext_of_a_rolled_back_document(
    world: World, tmp_path: Path
) -> None:
    _, doc = shared_twice(world)
    hide_version(world, doc, 2)
    out = tmp_path / "r.pdf"
    assert_fail_closed(world.bob.run_cli("get", doc, "-o", str(out)), "RollbackError", output=out)


def test_d12_a_grantee_that_saw_version_1_refuses_it_once_the_index_lists_2(
    world: World,
) -> None:
    dossier, [doc] = world.dossier_with(("rapport.pdf", b"version 1"))
    world.anna.client.share(doc, "bob")
    assert [i.version for i in world.bob.client.documents(dossier)] == [1]
    world.anna.client.update(doc, world.file("rapport.pdf", b"version 2"))
    world.anna.client.share(doc, "bob")
    hide_version(world, doc, 2)  # the server freezes the document at what bob saw
    with pytest.raises(RollbackError):
        world.bob.client.documents(dossier)


def test_d12_a_dossier_grantee_refuses_the_same_rollback(world: World) -> None:
    dossier, [doc] = world.dossier_with(("rapport.pdf", b"version 1"))
    world.anna.client.update(doc, world.file("rapport.pdf", b"version 2"))
    carol = world.person("carol")
    world.anna.client.share(dossier, "carol")
    hide_version(world, doc, 2)
    with pytest.raises(RollbackError):
        carol.client.documents(dossier)


# -- D12: a device remembers what it verified, not what the server claims ---------------------
def fake_newer_version(path: str, version: int) -> Any:
    """Add a record for `version`, with a header that is no header, to each document in the
    answer to GET `path` (a dossier's listing, or one document)."""

    def add(item: dict[str, Any]) -> None:
        fake = dict(item["versions"][-1], version=version)
        fake["header"] = base64.b64encode(b"not a header at all").decode()
        item["versions"].append(fake)

    def change(body: Any) -> Any:
        for item in body if isinstance(body, list) else [body]:
            add(item)
        return body

    return rewrite_json("GET", path, change)


def test_d12_a_claimed_newer_version_is_not_remembered_by_a_listing(world: World) -> None:
    dossier, [doc] = world.dossier_with(("rapport.pdf", b"version 1"))
    world.anna.client.share(doc, "bob")
    claim = fake_newer_version(f"/api/v1/dossiers/{dossier}/documents", 2**62)
    [shown] = world.bob.device(RewritingTransport(rewrite=claim)).documents(dossier)
    assert shown.version == 1  # the claim was never opened: it is not shared with bob
    assert shown.newer_version == 0  # nor named: the owner's signed index lists no version 2
    assert world.bob.client.profile.versions_seen()[doc] == 1
    # The honest listing that follows is not refused because of an unverified claim.
    world.anna.client.update(doc, world.file("rapport.pdf", b"version 2"))
    world.anna.client.share(doc, "bob")
    assert [i.version for i in world.bob.client.documents(dossier)] == [2]


def test_d12_a_claimed_newer_version_is_not_remembered_by_get(world: World, tmp_path: Path) -> None:
    dossier, [doc] = world.dossier_with(("rapport.pdf", b"version 1"))
    world.anna.client.share(dossier, "bob")
    claim = fake_newer_version(f"/api/v1/documents/{doc}", 2**62)
    world.bob.device(RewritingTransport(rewrite=claim)).get(doc, tmp_path / "v1.pdf", version=1)
    assert world.bob.client.profile.versions_seen()[doc] == 1
    world.anna.client.update(doc, world.file("rapport.pdf", b"version 2"))
    assert [i.version for i in world.bob.client.documents(dossier)] == [2]


def test_d12_a_withheld_grant_row_does_not_move_the_shown_version_back(world: World) -> None:
    dossier, doc = shared_twice(world)
    assert [i.version for i in world.bob.client.documents(dossier)] == [2]
    withhold_grant(world, doc, 2)
    with pytest.raises(RollbackError) as refused:
        world.bob.client.documents(dossier)
    assert_fail_closed(refused, "offers version 1.*this device has seen version 2")


def test_d12_get_does_not_fall_back_to_an_older_shared_version_either(
    world: World, tmp_path: Path
) -> None:
    _, doc = shared_twice(world)
    world.bob.client.get(doc, tmp_path / "seen.pdf")
    withhold_grant(world, doc, 2)
    out = tmp_path / "r.pdf"
    result = world.bob.run_cli("get", doc, "-o", str(out))
    assert_fail_closed(result, "RollbackError.*this device has seen version 2", output=out)


# -- D13: a signed deletion -------------------------------------------------------------------
def test_d13_a_document_the_owner_deleted_is_not_shown_again(world: World) -> None:
    dossier, [keep, gone] = world.dossier_with(("keep.txt", b"k"), ("gone.txt", b"draft"))
    world.anna.client.share(dossier, "bob")
    d = world.anna.client.load_dossier(dossier)
    index = seal_index(
        world.anna.keys,
        dossier_id=bytes.fromhex(dossier),
        counter=d.index.counter + 1,
        epoch=d.epoch,
        dossier_key=d.keys[d.epoch],
        metadata=d.metadata,
        entries=[e for e in d.index.entries if e.document_id.hex() != gone],
        deletions=[IndexDeletion(bytes.fromhex(gone), 1, int(time.time()))],
        previous_hash=index_hash(d.index_bytes),
    )
    counter = d.index.counter + 1
    world.anna.client.api.call(
        "PUT", f"/dossiers/{dossier}/index", json={"index": b64(index), "counter": counter}
    )
    # The owner deleted it in her signed index; the server keeps listing its rows.
    for person in (world.bob, world.anna):
        with pytest.raises(RollbackError) as refused:
            person.client.documents(dossier)
        assert_fail_closed(refused, f"{gone[:8]}.*deleted")
    assert_fail_closed(world.bob.run_cli("ls", dossier), "deleted")
    assert keep


# -- K4: a header verified before keeps its author ---------------------------------------------
def test_k4_a_cached_header_is_not_shown_under_another_author(world: World) -> None:
    """The accomplice's document is confirmed by the owner and cached by bob's device; the
    operator then serves a second account with the accomplice's keys under another name, and
    names it as the author. A device without the cache refuses; the cache must not accept."""
    dossier = world.anna.client.create_dossier("Dossier")
    world.anna.client.share(dossier, "mallory", write=True)
    doc = world.mallory.client.add(dossier, world.file("offerte.pdf", b"offer")).document_id
    world.anna.client.sync(dossier)  # the owner adopts it into her signed index
    assert [i.confirmed for i in world.anna.client.documents(dossier)] == [True]
    world.anna.client.share(dossier, "bob")
    [seen] = world.bob.client.documents(dossier)
    assert (seen.author, seen.confirmed) == ("mallory", True)

    alias_id = os.urandom(16)
    alias = PrivateIdentity.from_private_keys(
        alias_id, "gemeente-notaris", 1, world.mallory.keys.private_keys()
    ).public
    assert alias.key_id == world.mallory.keys.public.key_id

    # the operator logs the second account (the log shows everyone the same lie) and proves it
    index = logoperator.log_identity(world.server, alias_id.hex(), alias.encode()) - 1
    label, label_proof = logoperator.log_keys(world.server).label(Namespace.USER, alias.username)

    def answer(request: httpx.Request) -> httpx.Response | None:
        if request.url.path.endswith(f"/users/by-id/{alias_id.hex()}"):
            head = httpx.get(
                f"{world.server.api_url}/log/head",
                params=dict(request.url.params),
                headers={"Authorization": request.headers["Authorization"]},
            ).json()
            inclusion = logoperator.inclusion(world.server, index, head["size"])
            body = {
                "user_id": alias_id.hex(),
                "username": alias.username,
                "display_name": "Gemeente",
                "identity": b64(alias.encode()),
                "log": {
                    "index": index,
                    "inclusion": [b64(h) for h in inclusion],
                    "label": b64(label),
                    "label_proof": b64(label_proof),
                },
                "head": head,
            }
            return json_answer(httpx.Response(200), body)
        return None

    def relabel(body: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for item in body:
            for version in item["versions"]:
                if version["document_id"] == doc:
                    version["author_id"] = alias_id.hex()
        return body

    lying = RewritingTransport(rewrite=rewrite_json("GET", LISTING, relabel), answer=answer)
    with pytest.raises(KeyMismatchError):
        world.bob.device(lying).documents(dossier)
