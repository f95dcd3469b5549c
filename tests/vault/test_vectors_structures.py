"""Check the committed vectors of sections 7-9 (metadata, header, grant, index).

The JSON files are read, never written: tests/vectors/generate_structures.py makes them by hand.
An expected error is met by that error or a subclass (MalformedError where IntegrityError is
expected passes; the reverse does not), as docs/format.md section 13 says. Success vectors that
carry a `sealing` object are also rebuilt byte for byte from their inputs.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from vault import errors
from vault.grant import Grant, _grant_from_parts, open_grant
from vault.header import (
    DocumentHeader,
    _seal_header_from_parts,
    check_payload_digest,
    header_hash,
    open_header,
)
from vault.index import DossierIndex, _seal_index_from_parts, index_hash, open_index
from vault.keys import Identity, PrivateIdentity
from vault.kinds import GrantKind, Rights
from vault.metadata import DocumentMetadata, DossierMetadata

VECTORS = Path(__file__).resolve().parent.parent / "vectors"
STRUCTURES = ("metadata", "header", "grant", "index")
FILES = sorted(p for p in VECTORS.glob("*.json") if p.name.split("-")[0] in STRUCTURES)


def h(value: str) -> bytes:
    return bytes.fromhex(value)


def private(obj: dict[str, Any]) -> PrivateIdentity:
    return PrivateIdentity.from_private_keys(
        h(obj["user_id"]), obj["username"], obj["key_version"], h(obj["private_keys"])
    )


def identities_by_id(encoded: list[str], what: str) -> Callable[[bytes], Identity]:
    """A vector's identity records (hex) as the user-id lookup the verifiers take; an id none
    of them has is a KeyMismatchError naming `what`."""
    known = {i.user_id: i for i in (Identity.decode(h(x)) for x in encoded)}

    def lookup(user_id: bytes) -> Identity:
        try:
            return known[user_id]
        except KeyError:
            raise errors.KeyMismatchError(f"unknown {what}") from None

    return lookup


def dossier_keys(v: dict[str, Any]) -> dict[int, bytes] | None:
    if v["dossier_keys"] is None:
        return None
    return {item["epoch"]: h(item["key"]) for item in v["dossier_keys"]}


def check_metadata(v: dict[str, Any]) -> None:
    data = h(v["plaintext"])
    meta: DocumentMetadata | DossierMetadata
    if v["kind"] == "document":
        meta = DocumentMetadata.decode(data)
    else:
        meta = DossierMetadata.decode(data)
    assert meta.to_json() == v["metadata"]
    if v["canonical"]:
        assert meta.encode() == data


def check_header(v: dict[str, Any]) -> None:
    data = h(v["header"])
    author = Identity.decode(h(v["author_identity"]))
    keys = dossier_keys(v)
    opened = open_header(
        data,
        dossier_id=h(v["dossier_id"]),
        document_id=h(v["document_id"]),
        author=author,
        dossier_keys=keys,
        file_key=h(v["file_key"]) if v["file_key"] else None,
    )
    payload = v["payload"]
    check_payload_digest(
        opened,
        payload_size=payload["size"],
        payload_hash=h(payload["blake3"]),
        plaintext_size=payload["plaintext_size"],
    )
    out, header = v["output"], opened.header
    assert opened.file_key == h(out["file_key"])
    assert opened.metadata.to_json() == out["metadata"]
    assert header_hash(data) == h(out["header_hash"])
    assert (header.version, header.epoch, header.created_at) == (
        out["version"],
        out["epoch"],
        out["created_at"],
    )
    assert (header.author_id, header.author_key_id) == (
        h(out["author_id"]),
        h(out["author_key_id"]),
    )
    assert header.key_commitment == h(out["key_commitment"])
    assert DocumentHeader.decode(data).encode() == data
    if "sealing" in v:
        s = v["sealing"]
        assert keys is not None
        rebuilt = _seal_header_from_parts(
            private(s["author"]),
            dossier_id=h(v["dossier_id"]),
            document_id=h(v["document_id"]),
            version=s["version"],
            epoch=s["epoch"],
            dossier_key=keys[s["epoch"]],
            file_key=h(out["file_key"]),
            payload_size=payload["size"],
            payload_hash=h(payload["blake3"]),
            metadata=DocumentMetadata.decode(h(s["metadata_plaintext"])),
            created_at=s["created_at"],
            wrap_nonce=h(s["wrap_nonce"]),
            metadata_nonce=h(s["metadata_nonce"]),
        )
        assert rebuilt == data


def check_grant(v: dict[str, Any]) -> None:
    data = h(v["grant"])
    me = private(v["recipient"])
    granter = Identity.decode(h(v["granter_identity"]))
    opened = open_grant(
        data,
        me=me,
        granter=granter,
        kind=GrantKind(v["kind"]),
        dossier_id=h(v["dossier_id"]),
        document_id=h(v["document_id"]) if v["document_id"] else None,
        number=v["number"],
        now=v["now"],
    )
    out, grant = v["output"], opened.grant
    assert opened.key == h(out["key"])
    assert grant.grant_id == h(out["grant_id"]) and grant.rights == out["rights"]
    assert (grant.issued_at, grant.expires_at, grant.counter) == (
        out["issued_at"],
        out["expires_at"],
        out["counter"],
    )
    assert (grant.granter_id, grant.granter_key_id) == (
        h(out["granter_id"]),
        h(out["granter_key_id"]),
    )
    assert grant.recipient_key_id == h(out["recipient_key_id"])
    assert grant.key_commitment == h(out["key_commitment"])
    assert Grant.decode(data).encode() == data
    if "sealing" in v:
        rebuilt = _grant_from_parts(
            private(v["sealing"]["granter"]),
            me.public,
            grant_id=grant.grant_id,
            kind=GrantKind(v["kind"]),
            dossier_id=h(v["dossier_id"]),
            document_id=grant.document_id,
            number=v["number"],
            rights=Rights(out["rights"]),
            issued_at=out["issued_at"],
            expires_at=out["expires_at"],
            counter=out["counter"],
            key_commitment=h(out["key_commitment"]),
            sealed_key=h(v["sealing"]["sealed_key"]),
        )
        assert rebuilt == data


def check_index(v: dict[str, Any]) -> None:
    data = h(v["index"])
    keys = dossier_keys(v)
    assert keys is not None
    opened = open_index(
        data,
        dossier_id=h(v["dossier_id"]),
        owner=Identity.decode(h(v["owner_identity"])),
        dossier_keys=keys,
        highest_seen=v["highest_seen"],
        previous=h(v["previous_index"]) if v["previous_index"] else None,
    )
    out, index = v["output"], opened.index
    assert opened.metadata.to_json() == out["metadata"]
    assert (index.format_version, index.counter, index.epoch) == (
        out["format_version"],
        out["counter"],
        out["epoch"],
    )
    previous_hash = None if out["previous_hash"] is None else h(out["previous_hash"])
    assert index.previous_hash == previous_hash
    entries = [
        {
            "document_id": e.document_id.hex(),
            "version": e.version,
            "header_hash": e.header_hash.hex(),
        }
        for e in index.entries
    ]
    deletions = [
        {"document_id": d.document_id.hex(), "version": d.version, "deleted_at": d.deleted_at}
        for d in index.deletions
    ]
    assert (entries, deletions) == (out["entries"], out["deletions"])
    assert index_hash(data) == h(out["index_hash"])
    assert DossierIndex.decode(data).encode() == data
    if "sealing" in v:
        s = v["sealing"]
        rebuilt = _seal_index_from_parts(
            private(s["owner"]),
            dossier_id=h(v["dossier_id"]),
            counter=index.counter,
            epoch=index.epoch,
            dossier_key=keys[index.epoch],
            metadata=DossierMetadata.decode(h(s["metadata_plaintext"])),
            entries=reversed(index.entries),  # the writer sorts
            deletions=index.deletions,
            metadata_nonce=h(s["metadata_nonce"]),
            previous_hash=index.previous_hash,
            format_version=index.format_version,
        )
        assert rebuilt == data


CHECKS: dict[str, Callable[[dict[str, Any]], None]] = {
    "metadata": check_metadata,
    "header": check_header,
    "grant": check_grant,
    "index": check_index,
}


def test_every_structure_has_vectors() -> None:
    prefixes = {p.name.split("-")[0] for p in FILES}
    assert prefixes == set(STRUCTURES)
    for structure in STRUCTURES:
        expects = {
            json.loads(p.read_text())["expect"] for p in FILES if p.name.startswith(structure)
        }
        assert "success" in expects and len(expects) > 1, structure


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_vector(path: Path) -> None:
    v = json.loads(path.read_text())
    assert v["structure"] == path.name.split("-")[0]
    assert v["description"]
    check = CHECKS[v["structure"]]
    if v["expect"] == "success":
        check(v)
        return
    expected = getattr(errors, v["expect"])
    assert issubclass(expected, errors.VaultError)
    with pytest.raises(expected):
        check(v)
