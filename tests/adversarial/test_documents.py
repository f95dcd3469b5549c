"""D7-D13: the server swaps, tampers with, rolls back or withholds documents."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from client_sdk import WithheldDocumentError
from vault.errors import IntegrityError, MalformedError, RollbackError, SecurityError
from vault.header import DocumentHeader
from vault.payload import ENCRYPTED_CHUNK_SIZE, NONCE_SIZE

from .harness import (
    RewritingTransport,
    World,
    assert_fail_closed,
    rewrite_bytes,
    stored_bytes,
    version_blob,
    world,
)

__all__ = ["world"]

THREE_CHUNKS = 2 * 65536 + 500  # nonce, two full chunks and a short final one


def chunks(data: bytes) -> tuple[bytes, list[bytes]]:
    body = data[NONCE_SIZE:]
    return data[:NONCE_SIZE], [
        body[i : i + ENCRYPTED_CHUNK_SIZE] for i in range(0, len(body), ENCRYPTED_CHUNK_SIZE)
    ]


def truncate(data: bytes, _other: bytes) -> bytes:
    return data[: len(data) - 100]


def drop_last_chunk(data: bytes, _other: bytes) -> bytes:
    nonce, parts = chunks(data)
    return nonce + b"".join(parts[:-1])


def append_chunk(data: bytes, _other: bytes) -> bytes:
    nonce, parts = chunks(data)
    return nonce + b"".join([*parts, parts[0]])


def duplicate_chunk(data: bytes, _other: bytes) -> bytes:
    nonce, parts = chunks(data)
    return nonce + b"".join([parts[0], parts[0], *parts[1:]])


def reorder_chunks(data: bytes, _other: bytes) -> bytes:
    nonce, parts = chunks(data)
    return nonce + b"".join([parts[1], parts[0], *parts[2:]])


def splice_from_other(data: bytes, other: bytes) -> bytes:
    nonce, parts = chunks(data)
    _, theirs = chunks(other)
    return nonce + b"".join([parts[0], theirs[1], parts[2]])


def flip_byte(data: bytes, _other: bytes) -> bytes:
    middle = len(data) // 2
    return data[:middle] + bytes([data[middle] ^ 1]) + data[middle + 1 :]


def empty(_data: bytes, _other: bytes) -> bytes:
    return b""


TAMPERS = [
    truncate,
    drop_last_chunk,
    append_chunk,
    duplicate_chunk,
    reorder_chunks,
    splice_from_other,
    flip_byte,
    empty,
]


# -- D9 chunks ---------------------------------------------------------------------------------
@pytest.mark.parametrize("tamper", TAMPERS)
def test_d9_tampered_chunks_are_refused_and_nothing_is_written(
    world: World, tmp_path: Path, tamper: Callable[[bytes, bytes], bytes]
) -> None:
    _, [doc, other] = world.dossier_with(
        ("rapport.pdf", os.urandom(THREE_CHUNKS)), ("ander.pdf", os.urandom(THREE_CHUNKS))
    )
    blob = version_blob(world.server, world.db, doc)
    theirs = version_blob(world.server, world.db, other).read_bytes()
    blob.write_bytes(tamper(blob.read_bytes(), theirs))
    # A careful operator also fixes the stored size, so the transfer itself looks clean.
    world.db.execute(
        "UPDATE versions SET payload_size = ? WHERE document_id = ?", blob.stat().st_size, doc
    )
    out = tmp_path / "rapport.pdf"
    result = world.anna.run_cli("get", doc, "-o", str(out))
    assert_fail_closed(result, r"SECURITY CHECK FAILED \(IntegrityError\)", output=out)


@pytest.mark.parametrize("tamper", [truncate, reorder_chunks, flip_byte, empty])
def test_d9_payload_rewritten_on_the_wire_is_refused(
    world: World, tmp_path: Path, tamper: Callable[[bytes, bytes], bytes]
) -> None:
    _, [doc] = world.dossier_with(("rapport.pdf", os.urandom(THREE_CHUNKS)))
    proxy = RewritingTransport(rewrite_bytes("GET", r".*/payload", lambda data: tamper(data, data)))
    out = tmp_path / "rapport.pdf"
    with pytest.raises(IntegrityError) as refused:
        world.anna.device(proxy).get(doc, out)
    assert_fail_closed(refused, "", output=out)
    assert proxy.sent("GET", r".*/payload")  # it was the answer that was refused


# -- D7 swapping -------------------------------------------------------------------------------
def test_d7_swapped_ciphertexts_never_yield_the_other_document(
    world: World, tmp_path: Path
) -> None:
    _, [a, b] = world.dossier_with(("a.txt", b"secret A" * 100), ("b.txt", b"secret B" * 100))
    blob_a, blob_b = (
        version_blob(world.server, world.db, a),
        version_blob(world.server, world.db, b),
    )
    data_a, data_b = blob_a.read_bytes(), blob_b.read_bytes()
    blob_a.write_bytes(data_b)
    blob_b.write_bytes(data_a)
    out = tmp_path / "a.txt"
    with pytest.raises(IntegrityError) as refused:
        world.anna.client.get(a, out)
    assert_fail_closed(refused, "", output=out)
    assert_fail_closed(
        world.anna.run_cli("get", b, "-o", str(tmp_path / "b.txt")),
        "IntegrityError",
        output=tmp_path / "b.txt",
    )


def test_d7_swapped_blob_rows_never_yield_the_other_document(world: World, tmp_path: Path) -> None:
    """The operator swaps which blob (and stored size and hash) each version row points at."""
    _, [a, b] = world.dossier_with(("a.txt", b"secret A" * 100), ("b.txt", b"secret B" * 999))
    row_a, row_b = (
        world.db.one(
            "SELECT blob_key, payload_size, payload_blake3 FROM versions WHERE document_id = ?",
            doc,
        )
        for doc in (a, b)
    )
    for doc, row in ((a, row_b), (b, row_a)):
        world.db.execute(
            "UPDATE versions SET blob_key = ?, payload_size = ?, payload_blake3 = ? "
            "WHERE document_id = ?",
            *row,
            doc,
        )
    out = tmp_path / "a.txt"
    assert_fail_closed(world.anna.run_cli("get", a, "-o", str(out)), "IntegrityError", output=out)


def test_d7_swapped_headers_are_refused(world: World) -> None:
    dossier, [a, b] = world.dossier_with(("a.txt", b"A"), ("b.txt", b"B"))
    world.db.set_header(a, world.db.header(b))
    with pytest.raises(IntegrityError, match="another dossier or document") as refused:
        world.anna.client.documents(dossier)
    assert_fail_closed(refused, "another dossier or document")
    assert_fail_closed(world.anna.run_cli("ls", dossier), "another dossier or document")


def test_d7_a_header_from_another_dossier_is_refused(world: World) -> None:
    one, [a] = world.dossier_with(("a.txt", b"A"))
    _, [b] = world.dossier_with(("b.txt", b"B"))
    world.db.set_header(a, world.db.header(b))
    assert_fail_closed(world.anna.run_cli("ls", one), "another dossier or document")


def test_d7_the_index_of_another_dossier_is_refused(world: World) -> None:
    one, _ = world.dossier_with(("a.txt", b"A"))
    two, _ = world.dossier_with(("b.txt", b"B"), ("c.txt", b"C"))
    world.db.execute(
        'UPDATE dossiers SET "index" = ?, index_counter = 99 WHERE dossier_id = ?',
        world.db.index(two),
        one,
    )
    assert_fail_closed(world.anna.run_cli("ls", one), "IntegrityError")


def test_d7_headers_swapped_between_versions_of_one_document(world: World, tmp_path: Path) -> None:
    dossier, [doc] = world.dossier_with(("rapport.pdf", b"version 1"))
    world.anna.client.update(doc, world.file("rapport.pdf", b"version 2"))
    v1, v2 = world.db.header(doc, 1), world.db.header(doc, 2)
    world.db.set_header(doc, v2, 1)
    world.db.set_header(doc, v1, 2)
    out = tmp_path / "r.pdf"
    assert_fail_closed(world.anna.run_cli("get", doc, "-o", str(out)), "version", output=out)
    assert_fail_closed(world.anna.run_cli("ls", dossier), "version")


# -- D8 metadata -------------------------------------------------------------------------------
def test_d8_altered_metadata_fails_and_names_never_reach_the_server(world: World) -> None:
    name, title = "brief-van-de-nam-geheim.pdf", "Bezwaar tegen schadebesluit"
    dossier_title = "Dossier Kerkstraat 7 geheim"
    dossier = world.anna.client.create_dossier(dossier_title)
    doc = world.anna.client.add(dossier, world.file(name, b"contents"), title=title).document_id
    world.anna.ok("add", dossier, str(world.file("cli-toegevoegd-geheim.txt", b"via de cli")))
    stored = stored_bytes(world.server)
    for secret in (name, title, dossier_title, "Kerkstraat", "cli-toegevoegd", "contents"):
        for encoded in (secret.encode(), secret.encode("utf-16-le")):
            assert not any(encoded in blob for blob in stored), secret

    header = bytearray(world.db.header(doc))
    header[-100] ^= 1  # inside the sealed metadata, just before the signature
    world.db.set_header(doc, bytes(header))
    with pytest.raises(SecurityError) as refused:
        world.anna.client.documents(dossier)
    assert_fail_closed(refused, "SignatureError")
    assert_fail_closed(world.anna.run_cli("ls", dossier), "SignatureError")


# -- D10 downgrade -----------------------------------------------------------------------------
@pytest.mark.parametrize("format_version", [0, 2, 0xFF])
def test_d10_a_header_claiming_another_format_version_is_refused(
    world: World, tmp_path: Path, format_version: int
) -> None:
    dossier, [doc] = world.dossier_with(("rapport.pdf", b"report"))
    header = bytearray(world.db.header(doc))
    assert header[:5] == b"KLDH\x01"
    header[4] = format_version
    world.db.set_header(doc, bytes(header))
    with pytest.raises(MalformedError, match="version"):
        world.anna.client.documents(dossier)
    out = tmp_path / "r.pdf"
    assert_fail_closed(world.anna.run_cli("get", doc, "-o", str(out)), "MalformedError", output=out)


# -- D11 nonce and key reuse -------------------------------------------------------------------
def test_d11_the_same_file_twice_gets_fresh_keys_and_nonces(world: World) -> None:
    content = os.urandom(5000)
    _, [a, b] = world.dossier_with(("same.bin", content), ("same.bin", content))
    world.anna.client.update(a, world.file("same.bin", content))
    payloads = [
        version_blob(world.server, world.db, d, v).read_bytes() for d, v in ((a, 1), (b, 1), (a, 2))
    ]
    headers = [DocumentHeader.decode(world.db.header(d, v)) for d, v in ((a, 1), (b, 1), (a, 2))]
    assert len({p[:NONCE_SIZE] for p in payloads}) == 3  # fresh payload nonces
    assert len({p[NONCE_SIZE : NONCE_SIZE + 64] for p in payloads}) == 3  # fresh file keys
    assert len({h.wrapped_file_key for h in headers}) == 3
    assert len({h.key_commitment for h in headers}) == 3
    assert len({h.wrapped_file_key[:24] for h in headers}) == 3  # fresh wrap nonces


# -- D12 rollback ------------------------------------------------------------------------------
def test_d12_a_rolled_back_index_is_refused(world: World) -> None:
    dossier, _ = world.dossier_with(("a.txt", b"a"))
    old_index = world.db.index(dossier)
    old_counter = world.db.one("SELECT index_counter FROM dossiers WHERE dossier_id = ?", dossier)
    world.anna.client.add(dossier, world.file("second.txt", b"second"))
    world.anna.ok("ls", dossier)  # this device saw the newer index
    world.db.execute(
        'UPDATE dossiers SET "index" = ?, index_counter = ? WHERE dossier_id = ?',
        old_index,
        old_counter,
        dossier,
    )
    assert_fail_closed(world.anna.run_cli("ls", dossier), "RollbackError")
    with pytest.raises(RollbackError):
        world.anna.client.documents(dossier)


def test_d12_a_rolled_back_index_is_refused_by_a_grantee(world: World) -> None:
    dossier, _ = world.dossier_with(("a.txt", b"a"))
    world.anna.client.share(dossier, "bob")
    old_index = world.db.index(dossier)
    world.anna.client.add(dossier, world.file("second.txt", b"second"))
    assert len(world.bob.client.documents(dossier)) == 2
    world.db.execute('UPDATE dossiers SET "index" = ? WHERE dossier_id = ?', old_index, dossier)
    assert_fail_closed(world.bob.run_cli("ls", dossier), "RollbackError")


def test_d12_an_older_version_served_as_latest_is_refused(world: World, tmp_path: Path) -> None:
    dossier, [doc] = world.dossier_with(("rapport.pdf", b"version 1"))
    world.anna.client.update(doc, world.file("rapport-v2.pdf", b"version 2"))
    world.db.execute("DELETE FROM versions WHERE document_id = ? AND version = 2", doc)
    out = tmp_path / "r.pdf"
    assert_fail_closed(world.anna.run_cli("get", doc, "-o", str(out)), "RollbackError", output=out)
    with pytest.raises(RollbackError):
        world.anna.client.documents(dossier)


def test_d12_older_version_after_a_document_grantee_saw_the_newer_one(
    world: World, tmp_path: Path
) -> None:
    """A document-only grantee verifies the owner's index too (it cannot read the dossier's
    title); the index catches this first (test_listing_memory.py has the device's memory)."""
    _, [doc] = world.dossier_with(("rapport.pdf", b"version 1"))
    world.anna.client.update(doc, world.file("rapport.pdf", b"version 2"))
    world.anna.client.share(doc, "bob")
    info, _ = world.bob.client.get(doc, tmp_path / "seen.pdf")
    assert info.version == 2
    world.db.execute("DELETE FROM versions WHERE document_id = ? AND version = 2", doc)
    out = tmp_path / "r.pdf"
    result = world.bob.run_cli("get", doc, "-o", str(out))
    assert_fail_closed(result, "RollbackError.*signed index lists version 2", output=out)


# -- D13 withholding ---------------------------------------------------------------------------
def test_d13_a_withheld_document_is_reported(world: World) -> None:
    dossier, [keep, hide] = world.dossier_with(("keep.txt", b"k"), ("hide.txt", b"h"))
    world.db.execute("DELETE FROM versions WHERE document_id = ?", hide)
    world.db.execute("DELETE FROM documents WHERE document_id = ?", hide)
    with pytest.raises(WithheldDocumentError, match=hide[:8]):
        world.anna.client.documents(dossier)
    assert_fail_closed(world.anna.run_cli("ls", dossier), "withholds 1 document")
    assert keep  # the remaining document is not enough to hide the missing one


def test_d13_deleting_only_the_version_rows_is_reported(world: World) -> None:
    dossier, [_, hide] = world.dossier_with(("keep.txt", b"k"), ("hide.txt", b"h"))
    world.db.execute("DELETE FROM versions WHERE document_id = ?", hide)
    with pytest.raises(WithheldDocumentError, match=hide[:8]) as refused:
        world.anna.client.documents(dossier)
    assert_fail_closed(refused, "withholds")
    assert_fail_closed(world.anna.run_cli("ls", dossier), "WithheldDocumentError")


def test_d13_a_listing_from_sync_is_not_a_second_chance_to_withhold(world: World) -> None:
    """The owner's `ls` lists with the listing `sync` fetched, and fetches it once more when
    it lacks what the index lists (another device may have signed in between). A server that
    withholds the document in both answers is still reported, and the second ask is the
    only extra request."""
    dossier, [_, hide] = world.dossier_with(("keep.txt", b"k"), ("hide.txt", b"h"))
    synced = world.anna.client.sync(dossier)
    assert synced.listing is not None and hide in synced.listing
    world.db.execute("DELETE FROM versions WHERE document_id = ?", hide)
    world.db.execute("DELETE FROM documents WHERE document_id = ?", hide)
    without = {doc: versions for doc, versions in synced.listing.items() if doc != hide}
    spy = RewritingTransport()
    with (
        world.anna.device(spy) as device,
        pytest.raises(WithheldDocumentError, match=hide[:8]) as refused,
    ):
        device.documents(dossier, listing=without)
    assert_fail_closed(refused, "withholds")
    assert len(spy.sent("GET", rf"/api/v1/dossiers/{dossier}/documents$")) == 1


def test_d13_a_withheld_document_is_reported_to_a_grantee(world: World) -> None:
    dossier, [_, hide] = world.dossier_with(("keep.txt", b"k"), ("hide.txt", b"h"))
    world.anna.client.share(dossier, "bob")
    world.db.execute("DELETE FROM versions WHERE document_id = ?", hide)
    assert_fail_closed(world.bob.run_cli("ls", dossier), "WithheldDocumentError")


def test_d12_a_version_number_relabelled_by_the_server_is_refused(world: World) -> None:
    """The server lists version 1 of a document as "version 5": same header bytes, another
    number. The header signs version 1, so a device verifying it refuses the claim, and the
    owner signs no version 5 into her index."""
    dossier, [doc] = world.dossier_with(("rapport.pdf", b"version 1"))
    laptop = world.person("anna", register=False, profile="anna-d12-relabel")
    laptop.client.login("anna", laptop.passphrase)
    world.db.execute("UPDATE versions SET version = 5 WHERE document_id = ?", doc)
    before = world.db.index(dossier)
    with pytest.raises(SecurityError) as refused:
        laptop.client.documents(dossier)
    assert_fail_closed(refused, "version")
    assert world.db.index(dossier) == before, "the owner signed the server's version number"
    assert_fail_closed(laptop.run_cli("ls", dossier), "version")


def test_d12_a_version_number_relabelled_after_the_device_cached_the_header_is_refused(
    world: World,
) -> None:
    """The same relabelling, shown to the device that already listed the dossier and so keeps
    the verified header in its profile: the cache is keyed on the version too, so the same
    header bytes under "version 5" are verified again, and refused."""
    dossier, [doc] = world.dossier_with(("rapport.pdf", b"version 1"))
    assert [d.version for d in world.anna.client.documents(dossier)] == [1]  # header cached
    world.db.execute("UPDATE versions SET version = 5 WHERE document_id = ?", doc)
    before = world.db.index(dossier)
    with pytest.raises(SecurityError) as refused:
        world.anna.client.documents(dossier)
    assert_fail_closed(refused, "version 1, not 5")
    assert world.db.index(dossier) == before, "the owner signed the server's version number"
    assert world.db.indexed(dossier) == {doc: 1}


def test_d12_an_update_on_top_of_a_hidden_version_is_refused_before_uploading(
    world: World,
) -> None:
    """anna has seen version 2 of a document; the server deletes it, so version 1 looks
    latest. `kluis update` must refuse (the owner's signed index and this device both know
    version 2), not write a new "version 2" over the one the server hid."""
    _, [doc] = world.dossier_with(("rapport.pdf", b"version 1"))
    world.anna.client.update(doc, world.file("rapport.pdf", b"version 2"))
    world.db.execute("DELETE FROM versions WHERE document_id = ? AND version = 2", doc)
    uploads = "SELECT count(*) FROM uploads WHERE user_id = ?"
    uploaded = world.db.one(uploads, world.anna.user_id)
    result = world.anna.run_cli("update", doc, str(world.file("rapport.pdf", b"version 3")))
    assert_fail_closed(result, "RollbackError")
    assert world.db.one(uploads, world.anna.user_id) == uploaded, "uploaded before the check"
    committed = world.db.one("SELECT count(*) FROM versions WHERE document_id = ?", doc)
    assert committed == 1, (
        "the client uploaded and committed a new version 2 over the hidden one before it "
        f"noticed anything ({result.stderr.strip()})"
    )


def test_d9_export_refuses_a_tampered_payload_and_leaves_no_file(
    world: World, tmp_path: Path
) -> None:
    dossier, [doc] = world.dossier_with(("rapport.pdf", os.urandom(THREE_CHUNKS)))
    blob = version_blob(world.server, world.db, doc)
    blob.write_bytes(flip_byte(blob.read_bytes(), b""))
    out = tmp_path / "export"
    with pytest.raises(IntegrityError) as refused:
        world.anna.client.export(dossier, out, "export passphrase")
    assert_fail_closed(
        refused, "differs from the author's signed header", output=out / "rapport.v1.pdf.age"
    )
    assert not out.exists()  # an export appears only once complete
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nor its hidden folder
