"""D7-D9, D12, D13: the server swaps, tampers with, rolls back or withholds documents."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from client_sdk import WithheldDocumentError
from vault.errors import IntegrityError, RollbackError, SignatureError
from vault.payload import ENCRYPTED_CHUNK_SIZE, NONCE_SIZE

from .harness import World, assert_no_plaintext_left, version_blob, world

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


@pytest.mark.parametrize(
    "tamper",
    [truncate, drop_last_chunk, append_chunk, reorder_chunks, splice_from_other, flip_byte],
)
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
    result = world.cli("anna").run("get", doc, "-o", str(tmp_path / "rapport.pdf"))
    assert result.returncode == 3, result.stderr
    assert "SECURITY CHECK FAILED (IntegrityError)" in result.stderr
    assert not (tmp_path / "rapport.pdf").exists()
    assert_no_plaintext_left(tmp_path)


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
    with pytest.raises(IntegrityError):
        world.anna.get(a, tmp_path / "a.txt")
    assert not (tmp_path / "a.txt").exists()
    assert_no_plaintext_left(tmp_path)


def test_d7_swapped_headers_are_refused(world: World) -> None:
    dossier, [a, b] = world.dossier_with(("a.txt", b"A"), ("b.txt", b"B"))
    header_b = world.db.one("SELECT header FROM versions WHERE document_id = ?", b)
    world.db.execute("UPDATE versions SET header = ? WHERE document_id = ?", header_b, a)
    with pytest.raises(IntegrityError, match="another dossier or document"):
        world.anna.documents(dossier)


def test_d8_altered_metadata_fails_and_names_never_reach_the_server(world: World) -> None:
    name, title = "brief-van-de-nam-geheim.pdf", "Bezwaar tegen schadebesluit"
    dossier = world.anna.create_dossier("Dossier Kerkstraat 7 geheim")
    path = world.root / "src" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(b"contents")
    doc = world.anna.add(dossier, path, title=title).document_id
    stored = [world.db.path.read_bytes()]
    stored += [p.read_bytes() for p in (world.server.data_dir / "blobs").rglob("*") if p.is_file()]
    wal = world.db.path.with_name(world.db.path.name + "-wal")
    if wal.exists():
        stored.append(wal.read_bytes())
    for secret in (name, title, "Kerkstraat", "contents"):
        assert not any(secret.encode() in blob for blob in stored), secret

    header = bytearray(world.db.one("SELECT header FROM versions WHERE document_id = ?", doc))
    header[-100] ^= 1  # inside the sealed metadata, just before the signature
    world.db.execute("UPDATE versions SET header = ? WHERE document_id = ?", bytes(header), doc)
    with pytest.raises(SignatureError):
        world.anna.documents(dossier)


def test_d12_a_rolled_back_index_is_refused(world: World) -> None:
    dossier, _ = world.dossier_with(("a.txt", b"a"))
    old_index = world.db.one('SELECT "index" FROM dossiers WHERE dossier_id = ?', dossier)
    old_counter = world.db.one("SELECT index_counter FROM dossiers WHERE dossier_id = ?", dossier)
    path = world.root / "src" / "second.txt"
    path.write_text("second")
    world.anna.add(dossier, path)
    world.cli("anna").ok("ls", dossier)  # this device saw the newer index
    world.db.execute(
        'UPDATE dossiers SET "index" = ?, index_counter = ? WHERE dossier_id = ?',
        old_index,
        old_counter,
        dossier,
    )
    result = world.cli("anna").run("ls", dossier)
    assert result.returncode == 3
    assert "RollbackError" in result.stderr


def test_d12_an_older_version_served_as_latest_is_refused(world: World, tmp_path: Path) -> None:
    dossier, [doc] = world.dossier_with(("rapport.pdf", b"version 1"))
    path = world.root / "src" / "rapport-v2.pdf"
    path.write_bytes(b"version 2")
    world.anna.update(doc, path)
    world.db.execute("DELETE FROM versions WHERE document_id = ? AND version = 2", doc)
    result = world.cli("anna").run("get", doc, "-o", str(tmp_path / "r.pdf"))
    assert result.returncode == 3
    assert "RollbackError" in result.stderr
    assert not (tmp_path / "r.pdf").exists()
    with pytest.raises(RollbackError):
        world.anna.documents(dossier)


def test_d13_a_withheld_document_is_reported(world: World) -> None:
    dossier, [keep, hide] = world.dossier_with(("keep.txt", b"k"), ("hide.txt", b"h"))
    world.db.execute("DELETE FROM versions WHERE document_id = ?", hide)
    world.db.execute("DELETE FROM documents WHERE document_id = ?", hide)
    with pytest.raises(WithheldDocumentError, match=hide[:8]):
        world.anna.documents(dossier)
    result = world.cli("anna").run("ls", dossier)
    assert result.returncode == 3
    assert keep  # the remaining document is not enough to hide the missing one
