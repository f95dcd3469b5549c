"""D12, D13: a fork between the owner's own devices (issue 13, attack 2).

The owner's laptop adds a document (index counter n). The operator serves the phone the index
from before it (n-1) and hides the new document's rows; the phone then adds two documents and
signs n and n+1 on top of the stale index. A laptop that remembered only the counter accepted
n+1, and the document it added itself was gone without a deletion record.

Each index names the hash of its predecessor, and a device remembers the last index it verified
(its bytes: counter, hash, documents, versions and deletions). A newer index must name that one
as its predecessor, or, further ahead, still list every document it listed at no lower version
unless it records the document's deletion (docs/format.md section 9, step 4).
"""

from __future__ import annotations

import shutil
import time

import httpx
import pytest

from client_sdk.transport import b64
from vault.errors import RollbackError
from vault.index import DossierIndex, IndexDeletion, _seal_index_from_parts, index_hash
from vault.metadata import new_nonce

from .harness import Person, RewritingTransport, World, assert_fail_closed, world

__all__ = ["world"]


def devices(world: World, name: str) -> tuple[Person, Person]:
    """anna's laptop and phone: two profiles of the same account, both logged in."""
    pair = []
    for device in ("laptop", "phone"):
        person = world.person("anna", register=False, profile=f"anna-{name}-{device}")
        person.client.login("anna", person.passphrase)
        pair.append(person)
    return pair[0], pair[1]


def index_row(world: World, dossier: str) -> tuple[bytes, int]:
    row = world.db.one('SELECT "index", index_counter FROM dossiers WHERE dossier_id = ?', dossier)
    return bytes(row[0]), int(row[1])


def put_back(world: World, dossier: str, row: tuple[bytes, int]) -> None:
    """The operator serves an index it kept from before."""
    world.db.execute(
        'UPDATE dossiers SET "index" = ?, index_counter = ? WHERE dossier_id = ?',
        row[0],
        row[1],
        dossier,
    )


def hide(world: World, document_id: str) -> None:
    world.db.execute("DELETE FROM versions WHERE document_id = ?", document_id)


def sign_as(
    device: Person,
    dossier: str,
    *,
    delete: str | None = None,
    format_version: int = 2,
) -> None:
    """Another device of the owner signs the next index as a client without that command
    would: deleting a document (no `kluis` command does yet), or in the old format (as a
    client from before format version 2 did). Signed with the owner's own keys."""
    d = device.client.load_dossier(dossier)
    doc = bytes.fromhex(delete) if delete else None
    gone = []
    if doc is not None:
        entry = d.index.entry(doc)
        assert entry is not None
        gone.append(IndexDeletion(doc, entry.version, int(time.time())))
    index = _seal_index_from_parts(
        device.keys,
        dossier_id=bytes.fromhex(dossier),
        counter=d.index.counter + 1,
        epoch=d.epoch,
        dossier_key=d.keys[d.epoch],
        metadata=d.metadata,
        entries=[e for e in d.index.entries if e.document_id != doc],
        deletions=[*d.index.deletions, *gone],
        metadata_nonce=new_nonce(),
        previous_hash=index_hash(d.index_bytes) if format_version == 2 else None,
        format_version=format_version,
    )
    counter = d.index.counter + 1
    device.client.api.call(
        "PUT", f"/dossiers/{dossier}/index", json={"index": b64(index), "counter": counter}
    )


def forked(
    world: World, name: str, phone_adds: int = 2, *, share_with: Person | None = None
) -> tuple[Person, Person, str, str, str]:
    """The attack: returns laptop, phone, the dossier, a document both saw, and the laptop's
    document the fork drops. `share_with` has read access and listed the dossier last after
    the laptop's document was added."""
    laptop, phone = devices(world, name)
    dossier = laptop.client.create_dossier("Schade Hoofdstraat 12")
    first = laptop.client.add(dossier, world.file("melding.pdf", b"the first report")).document_id
    if share_with is not None:
        laptop.client.share(dossier, share_with.name)
    assert [d.document_id for d in phone.client.documents(dossier)] == [first]
    stale = index_row(world, dossier)
    mine = laptop.client.add(dossier, world.file("taxatie.pdf", b"the laptop's document"))
    assert index_row(world, dossier)[1] == stale[1] + 1
    if share_with is not None:
        assert len(share_with.client.documents(dossier)) == 2
    put_back(world, dossier, stale)
    hide(world, mine.document_id)
    for n in range(phone_adds):
        phone.client.add(dossier, world.file(f"foto-{n}.jpg", f"phone {n}".encode()))
    assert index_row(world, dossier)[1] == stale[1] + phone_adds
    assert mine.document_id not in world.db.indexed(dossier)
    return laptop, phone, dossier, first, mine.document_id


def test_d13_a_fork_between_the_owners_devices_does_not_drop_a_document(world: World) -> None:
    laptop, _, dossier, first, lost = forked(world, "fork")
    assert_fail_closed(laptop.run_cli("ls", dossier), f"RollbackError.*{lost[:8]}")
    out = world.root / "fork-out" / "melding.pdf"
    out.parent.mkdir()
    assert_fail_closed(laptop.run_cli("get", first, "-o", str(out)), lost[:8], output=out)
    with pytest.raises(RollbackError) as refused:
        laptop.client.documents(dossier)
    assert_fail_closed(refused, f"{lost[:8]}.*without a signed deletion")


def test_d13_a_fork_further_ahead_is_refused_for_the_document_it_drops(world: World) -> None:
    """Three indexes on the fork: the laptop's memory is two counters behind, so the
    predecessor is not the one it knows; the fork is told by what it leaves out."""
    laptop, _, dossier, _, lost = forked(world, "fork-ahead", phone_adds=3)
    assert_fail_closed(laptop.run_cli("ls", dossier), f"{lost[:8]}.*without a signed deletion")


def test_d13_the_laptop_signs_nothing_on_top_of_a_fork(world: World) -> None:
    laptop, _, dossier, _, lost = forked(world, "fork-sign")
    before = index_row(world, dossier)
    result = laptop.run_cli("add", dossier, str(world.file("brief.pdf", b"a letter")))
    assert_fail_closed(result, lost[:8])
    assert index_row(world, dossier) == before, "the laptop signed an index on top of the fork"


def test_d13_a_fork_made_while_the_laptop_uploads_is_refused_before_it_signs(
    world: World,
) -> None:
    """The laptop opened the dossier at counter n and uploads; meanwhile the operator shows
    the phone counter n-1 (hiding the laptop's last document) and the phone signs its own
    counter n. The laptop, about to sign n+1, reads the newest index again and refuses it,
    rather than signing on top of the n it opened, which would drop the phone's document."""
    laptop, phone = devices(world, "fork-meanwhile")
    dossier = laptop.client.create_dossier("Schade Hoofdstraat 12")
    phone.client.documents(dossier)
    stale = index_row(world, dossier)
    lost = laptop.client.add(dossier, world.file("taxatie.pdf", b"laptop")).document_id
    forked_at: list[tuple[bytes, int]] = []

    def fork_meanwhile(request: httpx.Request) -> None:
        if request.method == "POST" and request.url.path.endswith("/versions") and not forked_at:
            put_back(world, dossier, stale)
            hide(world, lost)
            phone.client.add(dossier, world.file("foto.jpg", b"phone"))
            forked_at.append(index_row(world, dossier))

    with (
        laptop.device(RewritingTransport(answer=fork_meanwhile)) as device,
        pytest.raises(RollbackError) as refused,
    ):
        device.add(dossier, world.file("brief.pdf", b"a letter"))
    assert_fail_closed(refused, f"RollbackError.*same counter; document {lost[:8]}")
    assert index_row(world, dossier) == forked_at[0], "the laptop signed on top of its old view"


def test_d12_a_device_signs_on_top_of_the_index_another_device_signed_meanwhile(
    world: World,
) -> None:
    """The laptop opens the dossier and uploads; while it does, the phone adds a document and
    signs the next index. The laptop's index names the phone's as its predecessor and keeps
    the phone's document, rather than being refused (or overwriting it)."""
    laptop, phone = devices(world, "meanwhile")
    dossier = laptop.client.create_dossier("Schade Hoofdstraat 12")
    phone.client.documents(dossier)
    added: list[str] = []

    def phone_adds_meanwhile(request: httpx.Request) -> None:
        if request.method == "POST" and request.url.path.endswith("/versions") and not added:
            added.append(phone.client.add(dossier, world.file("foto.jpg", b"phone")).document_id)

    with laptop.device(RewritingTransport(answer=phone_adds_meanwhile)) as device:
        mine = device.add(dossier, world.file("taxatie.pdf", b"laptop")).document_id
    assert set(world.db.indexed(dossier)) == {mine, *added}
    for device in (laptop, phone):
        shown = device.client.documents(dossier)
        assert {d.document_id for d in shown} == {mine, *added}
        assert all(d.confirmed for d in shown)


def test_d13_a_grantee_is_not_shown_the_fork_either(world: World) -> None:
    """bob may read the dossier and listed it with the laptop's document in it: the index that
    follows without it is refused on his device too."""
    _, _, dossier, _, lost = forked(world, "fork-bob", share_with=world.bob)
    assert_fail_closed(world.bob.run_cli("ls", dossier), f"RollbackError.*{lost[:8]}")


def test_d13_a_profile_from_before_the_index_memory_still_refuses_the_next_counter(
    world: World,
) -> None:
    """A device that remembers only the counter and hash of its last index (a profile written
    before format version 2) can still tell that the next counter names another predecessor."""
    laptop, _, dossier, _, _ = forked(world, "fork-legacy")
    shutil.rmtree(laptop.profile / "indexes")
    assert_fail_closed(laptop.run_cli("ls", dossier), "RollbackError.*another predecessor")


def test_d12_a_version_lost_in_a_fork_is_refused(world: World) -> None:
    """The laptop adds version 2 of a document; the fork the phone signs lists version 1."""
    laptop, phone = devices(world, "fork-version")
    dossier = laptop.client.create_dossier("Schade Hoofdstraat 12")
    doc = laptop.client.add(dossier, world.file("melding.pdf", b"version 1")).document_id
    phone.client.documents(dossier)
    stale = index_row(world, dossier)
    laptop.client.update(doc, world.file("melding.pdf", b"version 2"))
    put_back(world, dossier, stale)
    world.db.execute("DELETE FROM versions WHERE document_id = ? AND version = 2", doc)
    for n in range(3):
        phone.client.add(dossier, world.file(f"foto-{n}.jpg", b"phone"))
    assert_fail_closed(laptop.run_cli("ls", dossier), f"{doc[:8]} is back at version 1 from 2")


def test_d13_a_deletion_undone_by_a_fork_is_refused(world: World) -> None:
    """The laptop deletes a document in its signed index; the fork lists it as live again."""
    laptop, phone = devices(world, "fork-undelete")
    dossier = laptop.client.create_dossier("Schade Hoofdstraat 12")
    doc = laptop.client.add(dossier, world.file("concept.pdf", b"a draft")).document_id
    phone.client.documents(dossier)
    stale = index_row(world, dossier)
    sign_as(laptop, dossier, delete=doc)
    laptop.client.load_dossier(dossier)
    put_back(world, dossier, stale)
    for n in range(2):
        phone.client.add(dossier, world.file(f"foto-{n}.jpg", b"phone"))
    assert_fail_closed(laptop.run_cli("ls", dossier), f"{doc[:8]}, deleted at version 1, is listed")


def test_s18_a_fork_from_before_a_revocation_is_refused(world: World) -> None:
    """The laptop revokes bob: a new epoch, whose key bob never gets. The phone, shown the
    index from before (epoch 1, whose key bob holds), adds documents under epoch 1 and signs
    three indexes, which drop no document. The laptop refuses to go back to epoch 1: it would
    list, and write its next documents, under a key the revoked party holds."""
    laptop, phone = devices(world, "fork-revoke")
    dossier = laptop.client.create_dossier("Schade Hoofdstraat 12")
    laptop.client.add(dossier, world.file("melding.pdf", b"the first report"))
    laptop.client.share(dossier, world.bob.name)
    phone.client.documents(dossier)
    stale = index_row(world, dossier)
    assert laptop.client.revoke(dossier, world.bob.name) == 2
    put_back(world, dossier, stale)
    for n in range(3):
        phone.client.add(dossier, world.file(f"foto-{n}.jpg", b"phone"))
    assert DossierIndex.decode(world.db.index(dossier)).epoch == 1
    assert_fail_closed(laptop.run_cli("ls", dossier), "RollbackError.*epoch 1.*epoch 2")
    before = index_row(world, dossier)
    result = laptop.run_cli("add", dossier, str(world.file("brief.pdf", b"after the revoke")))
    assert_fail_closed(result, "epoch")
    assert index_row(world, dossier) == before


def test_d12_an_index_in_the_old_format_after_a_new_one_is_a_downgrade(world: World) -> None:
    """A format version 1 index, signed by the owner as a client from before version 2 would,
    on top of a version 2 index this device accepted: refused, whatever it lists."""
    laptop, phone = devices(world, "downgrade")
    dossier = laptop.client.create_dossier("Schade Hoofdstraat 12")
    laptop.client.add(dossier, world.file("melding.pdf", b"the first report"))
    sign_as(phone, dossier, format_version=1)
    assert DossierIndex.decode(world.db.index(dossier)).format_version == 1
    before = index_row(world, dossier)
    assert_fail_closed(laptop.run_cli("ls", dossier), "DowngradeError.*format version 1")
    result = laptop.run_cli("add", dossier, str(world.file("brief.pdf", b"a letter")))
    assert_fail_closed(result, "DowngradeError")
    assert index_row(world, dossier) == before


# -- what must keep working --------------------------------------------------------------------
def test_an_index_further_ahead_that_keeps_everything_is_accepted(world: World) -> None:
    """The laptop was offline while the phone added two documents (two indexes): it accepts
    the newest, which is not the direct successor of the one it remembers, and remembers it."""
    laptop, phone = devices(world, "ahead")
    dossier = laptop.client.create_dossier("Schade Hoofdstraat 12")
    first = laptop.client.add(dossier, world.file("melding.pdf", b"the first report")).document_id
    phone_docs = {
        phone.client.add(dossier, world.file(f"foto-{n}.jpg", b"phone")).document_id
        for n in range(2)
    }
    listed = laptop.ok("ls", dossier, "--json")
    assert all(doc[:12] in listed for doc in {first, *phone_docs})
    assert laptop.client.profile.last_index(dossier) == world.db.index(dossier)


def test_a_signed_deletion_is_accepted(world: World) -> None:
    """The phone deletes a document the laptop saw (signed in the owner's index) and the
    server removes its rows; then the phone adds another. The laptop accepts both indexes."""
    laptop, phone = devices(world, "deletion")
    dossier = laptop.client.create_dossier("Schade Hoofdstraat 12")
    keep = laptop.client.add(dossier, world.file("melding.pdf", b"keep")).document_id
    drop = laptop.client.add(dossier, world.file("concept.pdf", b"a draft")).document_id
    sign_as(phone, dossier, delete=drop)
    hide(world, drop)  # what an honest server does with a deleted document's rows
    later = phone.client.add(dossier, world.file("foto.jpg", b"phone")).document_id
    assert {d.document_id for d in laptop.client.documents(dossier)} == {keep, later}
    assert DossierIndex.decode(world.db.index(dossier)).deletion(bytes.fromhex(drop))


def test_a_dossier_with_an_old_format_index_keeps_working(world: World) -> None:
    """A dossier whose index a client from before format version 2 signed: devices that never
    saw a version 2 index of it read it; the first version 2 index, signed on top of it, names
    its hash; a device that remembers only the old index's counter and hash (a profile from
    before) accepts that successor."""
    laptop, phone = devices(world, "old-format")
    old = world.person("anna", register=False, profile="anna-old-format-old-client")
    old.client.login("anna", old.passphrase)
    dossier = old.client.create_dossier("Schade Hoofdstraat 12")
    first = old.client.add(dossier, world.file("melding.pdf", b"the first report")).document_id
    d = old.client.load_dossier(dossier)
    v1 = _seal_index_from_parts(
        old.keys,
        dossier_id=bytes.fromhex(dossier),
        counter=d.index.counter,
        epoch=d.epoch,
        dossier_key=d.keys[d.epoch],
        metadata=d.metadata,
        entries=d.index.entries,
        deletions=(),
        metadata_nonce=new_nonce(),
        format_version=1,
    )
    world.db.execute('UPDATE dossiers SET "index" = ? WHERE dossier_id = ?', v1, dossier)
    assert [i.document_id for i in laptop.client.documents(dossier)] == [first]
    assert [i.document_id for i in phone.client.documents(dossier)] == [first]
    (laptop.profile / "indexes" / f"{dossier}.klix").unlink()  # counter and hash only
    later = phone.client.add(dossier, world.file("foto.jpg", b"phone")).document_id
    signed = DossierIndex.decode(world.db.index(dossier))
    assert (signed.format_version, signed.previous_hash) == (2, index_hash(v1))
    assert {i.document_id for i in laptop.client.documents(dossier)} == {first, later}
    assert laptop.client.profile.last_index(dossier) == world.db.index(dossier)
