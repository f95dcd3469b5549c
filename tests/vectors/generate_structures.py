"""Write the test vectors of docs/format.md sections 7-9 (metadata, header, grant, index) into
tests/vectors/, one JSON file per scenario.

Run by hand, never by the tests:  .venv/bin/python tests/vectors/generate_structures.py
Every input is fixed (identities, ids, keys, nonces), so running it again writes the same bytes;
a diff after a run means the format or the implementation changed. The one randomised
primitive, libsodium's sealed box, is computed here from a fixed ephemeral key with the same
construction (X25519 + XSalsa20-Poly1305, nonce = BLAKE2b-192(ephemeral_pk || recipient_pk)), so
grants are reproducible too; decoders only ever open it. Fields are described in
tests/vectors/README.md.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

import nacl.bindings
import nacl.public

from vault import labels
from vault.derive import derive
from vault.grant import NO_DOCUMENT, Grant, _grant_from_parts, dossier_key_commitment
from vault.header import (
    DocumentHeader,
    _metadata_ad,
    _seal_header_from_parts,
    file_key_commitment,
    header_hash,
)
from vault.index import (
    DossierIndex,
    IndexDeletion,
    IndexEntry,
    _seal_index_from_parts,
    index_hash,
)
from vault.keys import PrivateIdentity
from vault.kinds import GrantKind, Rights
from vault.metadata import PADDING_BLOCK, DocumentMetadata, DossierMetadata, seal_aead

OUT = Path(__file__).resolve().parent
PREFIXES = ("metadata", "header", "grant", "index")

DOSSIER_ID = bytes.fromhex("d0551e00000000000000000000000001")
OTHER_DOSSIER_ID = bytes.fromhex("d0551e00000000000000000000000002")
DOCUMENT_A = bytes.fromhex("d0c00000000000000000000000000a0a")
DOCUMENT_B = bytes.fromhex("d0c00000000000000000000000000b0b")
DOCUMENT_C = bytes.fromhex("d0c00000000000000000000000000c0c")
EPOCH = 1
VERSION = 3
NOW = 1_717_171_717


def seed(name: str, size: int) -> bytes:
    """Fixed pseudo-random bytes, named so that every vector input is reproducible."""
    return hashlib.shake_256(f"kluis/test-vectors/{name}".encode()).digest(size)


def identity(name: str) -> PrivateIdentity:
    # The same derivation as generate_keys.py: "alice" here is identity-alice.json's Alice.
    return PrivateIdentity.from_private_keys(
        seed(f"user-id/{name}", 16), name, 1, seed(f"private-keys/{name}", 96)
    )


ALICE, BOB, CAROL, MALLORY = (identity(n) for n in ("alice", "bob", "carol", "mallory"))
DOSSIER_KEY = seed("structures/dossier-key/1", 32)
FILE_KEY = seed("structures/file-key/a/3", 32)


def write(name: str, structure: str, description: str, expect: str, **fields: Any) -> None:
    doc = {"structure": structure, "description": description, "expect": expect, **fields}
    (OUT / f"{name}.json").write_text(json.dumps(doc, indent=2) + "\n")


def flip(data: bytes, index: int) -> bytes:
    out = bytearray(data)
    out[index] ^= 0x01
    return bytes(out)


def private_json(who: PrivateIdentity) -> dict[str, Any]:
    return {
        "user_id": who.user_id.hex(),
        "username": who.username,
        "key_version": who.key_version,
        "private_keys": who.private_keys().hex(),
    }


def seal_to(recipient: PrivateIdentity, message: bytes, name: str) -> bytes:
    """crypto_box_seal with a fixed ephemeral key (see the module docstring)."""
    ephemeral = nacl.public.PrivateKey(seed(f"structures/ephemeral/{name}", 32))
    epk, pk = bytes(ephemeral.public_key), recipient.public.box_key
    nonce = hashlib.blake2b(epk + pk, digest_size=24).digest()
    sealed = epk + nacl.bindings.crypto_box(message, nonce, pk, bytes(ephemeral))
    assert nacl.public.SealedBox(recipient.box_private_key).decrypt(sealed) == message
    return sealed


# -- section 7: document metadata ----------------------------------------------------------------


def padded(text: str) -> bytes:
    raw = text.encode("utf-8")
    return raw + b" " * (-len(raw) % PADDING_BLOCK)


DOC_META = DocumentMetadata(
    name="Schaderapport Loppersum \u2013 2024.pdf",
    media_type="application/pdf",
    title="Rapport na de beving van 16 augustus",
    size=1186,
    modified=1_717_000_000,
    created=NOW,
)
DOSSIER_META = DossierMetadata(title="Huis Wirdumerweg 12", created=1_700_000_000)


def metadata_vectors() -> None:
    def vector(
        name: str, description: str, expect: str, kind: str, data: bytes, **extra: Any
    ) -> None:
        fields = {"kind": kind, "plaintext": data.hex(), **extra}
        write(f"metadata-{name}", "metadata", description, expect, **fields)

    simple = DocumentMetadata("a.txt", "text/plain", "", 0, 0, NOW)
    good = '{"created":1717171717,"media_type":"text/plain","modified":0,"name":"a.txt",'
    vector(
        "document",
        "canonical document metadata (non-ASCII name, padded to 256)",
        "success",
        "document",
        DOC_META.encode(),
        canonical=True,
        metadata=DOC_META.to_json(),
    )
    vector(
        "dossier",
        "canonical dossier metadata",
        "success",
        "dossier",
        DOSSIER_META.encode(),
        canonical=True,
        metadata=DOSSIER_META.to_json(),
    )
    other_order = padded(
        '{"name": "a.txt", "media_type": "text/plain", "title": "", "size": 0,'
        ' "modified": 0, "created": 1717171717}'
    )
    vector(
        "document-other-member-order",
        "members in another order, with spaces: valid JSON is accepted; only the writer is "
        "canonical",
        "success",
        "document",
        other_order,
        canonical=False,
        metadata=simple.to_json(),
    )
    cases = [
        ("missing-member", "no title member", good + '"size":0}'),
        ("extra-member", "an extra member", good + '"size":0,"title":"","x":1}'),
        ("duplicate-member", "name appears twice", good + '"name":"b.txt","size":0,"title":""}'),
        ("size-boolean", "size is true (a boolean is not an integer)",
         good + '"size":true,"title":""}'),
        ("size-float", "size is 1.0", good + '"size":1.0,"title":""}'),
        ("size-negative", "size is -1", good + '"size":-1,"title":""}'),
        ("size-nan", "size is NaN", good + '"size":NaN,"title":""}'),
        ("name-with-slash", "name contains /", good.replace("a.txt", "../a.txt")
         + '"size":0,"title":""}'),
        ("name-empty", "name is empty", good.replace("a.txt", "") + '"size":0,"title":""}'),
        ("name-too-long", "name of 256 characters", good.replace("a.txt", "n" * 256)
         + '"size":0,"title":""}'),
        ("title-not-string", "title is null", good + '"size":0,"title":null}'),
        ("not-an-object", "a JSON array", '["a.txt"]'),
    ]  # fmt: skip
    for name, description, text in cases:
        vector(name, description, "MalformedError", "document", padded(text))
    valid = simple.encode()
    more: list[tuple[str, str, str, bytes]] = [
        ("not-padded", "valid JSON without the padding", "document", valid.rstrip(b" ")),
        ("padded-too-far", "256 more spaces than needed", "document", valid + b" " * 256),
        ("not-utf8", "a byte that is not UTF-8 inside the name", "document",
         valid.replace(b"a.txt", b"a\xff.tx")),
        ("dossier-empty-title", "dossier title is empty", "dossier",
         padded('{"created":0,"title":""}')),
        ("dossier-is-not-document", "dossier metadata read as document metadata", "document",
         DOSSIER_META.encode()),
    ]  # fmt: skip
    for name, description, kind, data in more:
        vector(name, description, "MalformedError", kind, data)


# -- section 7: document header ------------------------------------------------------------------

HEADER_ARGS: dict[str, Any] = {
    "dossier_id": DOSSIER_ID,
    "document_id": DOCUMENT_A,
    "version": VERSION,
    "epoch": EPOCH,
    "dossier_key": DOSSIER_KEY,
    "file_key": FILE_KEY,
    "payload_size": 1234,
    "payload_hash": seed("structures/payload-hash/a/3", 32),
    "metadata": DOC_META,
    "created_at": NOW,
    "wrap_nonce": seed("structures/wrap-nonce/a/3", 24),
    "metadata_nonce": seed("structures/metadata-nonce/a/3", 24),
}


def seal_header(**change: Any) -> bytes:
    author = change.pop("author", ALICE)
    return _seal_header_from_parts(author, **{**HEADER_ARGS, **change})


def resigned_header(data: bytes, signer: PrivateIdentity = ALICE, **change: Any) -> bytes:
    changed = dataclasses.replace(DocumentHeader.decode(data), **change)
    return changed.body() + signer.sign(labels.DOCUMENT_HEADER_SIGNATURE, changed.body())


def header_vectors() -> None:
    data = seal_header()
    base: dict[str, Any] = {
        "author_identity": ALICE.public.encode().hex(),
        "dossier_id": DOSSIER_ID.hex(),
        "document_id": DOCUMENT_A.hex(),
        "dossier_keys": [{"epoch": EPOCH, "key": DOSSIER_KEY.hex()}],
        "file_key": None,
        "payload": {
            "size": HEADER_ARGS["payload_size"],
            "blake3": HEADER_ARGS["payload_hash"].hex(),
            "plaintext_size": DOC_META.size,
        },
    }
    output = {
        "file_key": FILE_KEY.hex(),
        "metadata": DOC_META.to_json(),
        "header_hash": header_hash(data).hex(),
        "version": VERSION,
        "epoch": EPOCH,
        "author_id": ALICE.user_id.hex(),
        "author_key_id": ALICE.public.key_id.hex(),
        "key_commitment": file_key_commitment(FILE_KEY, DOSSIER_ID, DOCUMENT_A, VERSION).hex(),
        "created_at": NOW,
    }
    sealing = {
        "author": private_json(ALICE),
        "version": VERSION,
        "epoch": EPOCH,
        "created_at": NOW,
        "wrap_nonce": HEADER_ARGS["wrap_nonce"].hex(),
        "metadata_nonce": HEADER_ARGS["metadata_nonce"].hex(),
        "metadata_plaintext": DOC_META.encode().hex(),
    }

    def vector(
        name: str, description: str, expect: str, header_bytes: bytes, **change: Any
    ) -> None:
        fields = {**base, **change, "header": header_bytes.hex()}
        write(f"header-{name}", "header", description, expect, **fields)

    vector(
        "success",
        "a header opened with the dossier key of its epoch",
        "success",
        data,
        output=output,
        sealing=sealing,
    )
    vector(
        "success-file-key",
        "the same header opened with its file key (from a document grant): step 5 is replaced",
        "success",
        data,
        dossier_keys=None,
        file_key=FILE_KEY.hex(),
        output=output,
    )
    other_file_key = seed("structures/file-key/b/1", 32)
    header_b = seal_header(document_id=DOCUMENT_B, version=1, file_key=other_file_key)
    wrong_meta = DocumentHeader.decode(header_b).metadata
    cases: list[tuple[str, str, str, bytes, dict[str, Any]]] = [
        ("bad-signature", "one bit of the signature flipped", "SignatureError",
         flip(data, len(data) - 1), {}),
        ("signed-by-other-key", "names Alice as author, signed by Mallory's key",
         "SignatureError", resigned_header(data, MALLORY), {}),
        ("wrong-author", "the reader expects Bob as the author", "KeyMismatchError", data,
         {"author_identity": BOB.public.encode().hex()}),
        ("wrong-document", "a header of document A answered when document B was asked for",
         "IntegrityError", data, {"document_id": DOCUMENT_B.hex()}),
        ("wrong-dossier", "a header of another dossier", "IntegrityError", data,
         {"dossier_id": OTHER_DOSSIER_ID.hex()}),
        ("tampered-metadata", "metadata of document B's header put in, re-signed by the author",
         "IntegrityError", resigned_header(data, metadata=wrong_meta), {}),
        ("wrong-key-commitment", "key_commitment of another file key, re-signed by the author",
         "IntegrityError", resigned_header(data, key_commitment=file_key_commitment(
             other_file_key, DOSSIER_ID, DOCUMENT_A, VERSION)), {}),
        ("wrapped-key-from-other-document", "wrapped_file_key of document B's header, re-signed",
         "IntegrityError", resigned_header(
             data, wrapped_file_key=DocumentHeader.decode(header_b).wrapped_file_key), {}),
        ("wrong-dossier-key", "the reader's key for epoch 1 is another key", "IntegrityError",
         data, {"dossier_keys": [{"epoch": EPOCH, "key": seed("x", 32).hex()}]}),
        ("wrong-file-key", "a file key that does not match the commitment", "IntegrityError",
         data, {"dossier_keys": None, "file_key": other_file_key.hex()}),
        ("invalid-metadata", "metadata that decrypts but names a file with '/', re-signed",
         "IntegrityError", _header_with_plaintext(data, padded(
             '{"created":0,"media_type":"","modified":0,"name":"a/b","size":1186,"title":""}'
         )), {}),
        ("payload-hash-mismatch", "the streamed payload's BLAKE3 differs (step 8)",
         "IntegrityError", data, {"payload": {**base["payload"], "blake3": seed("y", 32).hex()}}),
        ("payload-size-mismatch", "the streamed payload is one byte longer (step 8)",
         "IntegrityError", data, {"payload": {**base["payload"], "size": 1235}}),
        ("plaintext-size-mismatch", "the plaintext is one byte shorter than metadata.size",
         "IntegrityError", data, {"payload": {**base["payload"], "plaintext_size": 1185}}),
        ("unsupported-version", "format version byte 2", "MalformedError",
         data[:4] + b"\x02" + data[5:], {}),
        ("wrong-magic", "magic KLGR (a grant) instead of KLDH", "MalformedError",
         b"KLGR" + data[4:], {}),
        ("trailing-byte", "one byte after the signature", "MalformedError", data + b"\x00", {}),
        ("truncated", "last byte of the signature missing", "MalformedError", data[:-1], {}),
        ("version-zero", "document version 0, signed", "MalformedError",
         resigned_header(data, version=0), {}),
    ]  # fmt: skip
    for name, description, expect, header_bytes, change in cases:
        vector(name, description, expect, header_bytes, **change)


def _header_with_plaintext(data: bytes, plaintext: bytes) -> bytes:
    """The header re-signed with authentic metadata holding `plaintext` (step 7 fails)."""
    header = DocumentHeader.decode(data)
    sealed = seal_aead(
        derive(FILE_KEY, labels.METADATA_KEY),
        HEADER_ARGS["metadata_nonce"],
        plaintext,
        _metadata_ad(header.ids),
    )
    return resigned_header(data, metadata=sealed)


# -- section 8: grant ----------------------------------------------------------------------------


def grant_parts(kind: GrantKind) -> dict[str, Any]:
    if kind == GrantKind.DOSSIER:
        key = DOSSIER_KEY
        target: dict[str, Any] = {"document_id": NO_DOCUMENT, "number": EPOCH}
        commitment = dossier_key_commitment(DOSSIER_KEY, DOSSIER_ID, EPOCH)
    else:
        key = FILE_KEY
        target = {"document_id": DOCUMENT_A, "number": VERSION}
        commitment = file_key_commitment(FILE_KEY, DOSSIER_ID, DOCUMENT_A, VERSION)
    return {
        "grant_id": seed(f"structures/grant-id/{kind.name.lower()}", 16),
        "kind": kind,
        "dossier_id": DOSSIER_ID,
        **target,
        "rights": Rights.WRITE if kind == GrantKind.DOSSIER else Rights.READ,
        "issued_at": NOW - 3600,
        "expires_at": 0 if kind == GrantKind.DOSSIER else NOW + 86400,
        "counter": 2,
        "key_commitment": commitment,
        "sealed_key": seal_to(BOB, key, kind.name.lower()),
    }


def make_grant(kind: GrantKind, granter: PrivateIdentity = ALICE, **change: Any) -> bytes:
    return _grant_from_parts(granter, BOB.public, **{**grant_parts(kind), **change})


def grant_vectors() -> None:
    def base(kind: GrantKind) -> dict[str, Any]:
        parts = grant_parts(kind)
        return {
            "granter_identity": ALICE.public.encode().hex(),
            "recipient": private_json(BOB),
            "kind": int(kind),
            "dossier_id": DOSSIER_ID.hex(),
            "document_id": None if kind == GrantKind.DOSSIER else DOCUMENT_A.hex(),
            "number": parts["number"],
            "now": NOW,
        }

    def vector(
        name: str, description: str, expect: str, kind: GrantKind, data: bytes, **change: Any
    ) -> None:
        write(
            f"grant-{name}",
            "grant",
            description,
            expect,
            **{**base(kind), **change, "grant": data.hex()},
        )

    for kind, key in ((GrantKind.DOSSIER, DOSSIER_KEY), (GrantKind.DOCUMENT, FILE_KEY)):
        parts = grant_parts(kind)
        data = make_grant(kind)
        g = Grant.decode(data)
        output = {
            "key": key.hex(),
            "grant_id": g.grant_id.hex(),
            "rights": int(g.rights),
            "issued_at": g.issued_at,
            "expires_at": g.expires_at,
            "counter": g.counter,
            "granter_id": ALICE.user_id.hex(),
            "granter_key_id": ALICE.public.key_id.hex(),
            "recipient_key_id": BOB.public.key_id.hex(),
            "key_commitment": parts["key_commitment"].hex(),
        }
        sealing = {"granter": private_json(ALICE), "sealed_key": parts["sealed_key"].hex()}
        what = "dossier key of epoch 1" if kind == GrantKind.DOSSIER else "file key of A v3"
        vector(
            f"success-{kind.name.lower()}",
            f"Alice grants Bob the {what}",
            "success",
            kind,
            data,
            output=output,
            sealing=sealing,
        )

    dossier, document = make_grant(GrantKind.DOSSIER), make_grant(GrantKind.DOCUMENT)
    d, doc = GrantKind.DOSSIER, GrantKind.DOCUMENT
    cases: list[tuple[str, str, str, GrantKind, bytes, dict[str, Any]]] = [
        ("wrong-recipient", "Carol opens a grant addressed to Bob", "KeyMismatchError", d,
         dossier, {"recipient": private_json(CAROL)}),
        ("wrong-granter", "the reader expects Carol as granter", "KeyMismatchError", d, dossier,
         {"granter_identity": CAROL.public.encode().hex()}),
        ("bad-signature", "one bit of the signature flipped", "SignatureError", d,
         flip(dossier, len(dossier) - 1), {}),
        ("signed-by-other-key", "names Alice as granter, signed by Mallory's key",
         "SignatureError", d, resigned_grant(dossier, MALLORY), {}),
        ("expired", "a document grant whose expires_at has passed", "ExpiredError", doc,
         document, {"now": NOW + 86400}),
        ("wrong-target", "a grant for document A asked for as document B", "IntegrityError",
         doc, document, {"document_id": DOCUMENT_B.hex()}),
        ("wrong-version", "a grant for version 3 asked for as version 2", "IntegrityError", doc,
         document, {"number": 2}),
        ("wrong-epoch", "a dossier grant for epoch 1 asked for as epoch 2", "IntegrityError", d,
         dossier, {"number": 2}),
        ("commitment-mismatch", "sealed_key holds another key than committed, re-signed",
         "IntegrityError", d, make_grant(d, sealed_key=seal_to(BOB, FILE_KEY, "swap")), {}),
        ("tampered-sealed-key", "one bit of sealed_key flipped, re-signed by the granter",
         "IntegrityError", d, make_grant(d, sealed_key=flip(grant_parts(d)["sealed_key"], 40)),
         {}),
        ("kind-invalid", "kind 3, signed", "MalformedError", d,
         resigned_grant(dossier, kind=3), {}),
        ("dossier-grant-with-document", "kind 1 with a non-zero document_id, signed",
         "MalformedError", d, resigned_grant(dossier, document_id=DOCUMENT_A), {}),
        ("rights-invalid", "rights 0, signed", "MalformedError", d,
         resigned_grant(dossier, rights=0), {}),
        ("trailing-byte", "one byte after the signature", "MalformedError", d, dossier + b"\0",
         {}),
        ("truncated", "last byte of the signature missing", "MalformedError", d, dossier[:-1],
         {}),
    ]  # fmt: skip
    for name, description, expect, kind, data, change in cases:
        vector(name, description, expect, kind, data, **change)


def resigned_grant(data: bytes, signer: PrivateIdentity = ALICE, **change: Any) -> bytes:
    changed = dataclasses.replace(Grant.decode(data), **change)
    return changed.body() + signer.sign(labels.GRANT_SIGNATURE, changed.body())


# -- section 9: dossier index --------------------------------------------------------------------

ENTRIES = [
    IndexEntry(DOCUMENT_C, 1, seed("structures/header-hash/c/1", 32)),
    IndexEntry(DOCUMENT_A, VERSION, seed("structures/header-hash/a/3", 32)),
]
DELETIONS = [IndexDeletion(DOCUMENT_B, 2, NOW - 100)]
INDEX_ARGS: dict[str, Any] = {
    "dossier_id": DOSSIER_ID,
    "counter": 7,
    "epoch": EPOCH,
    "dossier_key": DOSSIER_KEY,
    "metadata": DOSSIER_META,
    "entries": ENTRIES,
    "deletions": DELETIONS,
    "metadata_nonce": seed("structures/index-nonce/7", 24),
}
# The index the reader accepted before (counter 6): document A was at version 2 then.
ENTRIES_6 = [ENTRIES[0], IndexEntry(DOCUMENT_A, 2, seed("structures/header-hash/a/2", 32))]
PREVIOUS_ARGS: dict[str, Any] = {
    "counter": 6,
    "entries": ENTRIES_6,
    "metadata_nonce": seed("structures/index-nonce/6", 24),
}


def seal_index(**change: Any) -> bytes:
    args = {**INDEX_ARGS, **change}
    if args["counter"] > 1 and args.get("format_version", 2) == 2:
        args.setdefault("previous_hash", seed(f"structures/index-unseen/{args['counter'] - 1}", 32))
    return _seal_index_from_parts(ALICE, **args)


def resigned_index(data: bytes, signer: PrivateIdentity = ALICE, **change: Any) -> bytes:
    changed = dataclasses.replace(DossierIndex.decode(data), **change)
    return changed.body() + signer.sign(labels.DOSSIER_INDEX_SIGNATURE, changed.body())


def index_output(data: bytes) -> dict[str, Any]:
    index = DossierIndex.decode(data)
    return {
        "format_version": index.format_version,
        "counter": index.counter,
        "previous_hash": None if index.previous_hash is None else index.previous_hash.hex(),
        "epoch": index.epoch,
        "metadata": DOSSIER_META.to_json(),
        "entries": [
            {
                "document_id": e.document_id.hex(),
                "version": e.version,
                "header_hash": e.header_hash.hex(),
            }
            for e in index.entries
        ],
        "deletions": [
            {"document_id": x.document_id.hex(), "version": x.version, "deleted_at": x.deleted_at}
            for x in index.deletions
        ],
        "index_hash": index_hash(data).hex(),
    }


def index_vectors() -> None:
    previous = seal_index(**PREVIOUS_ARGS)
    previous_v1 = seal_index(**PREVIOUS_ARGS, format_version=1)
    data = seal_index(previous_hash=index_hash(previous))
    index = DossierIndex.decode(data)
    base: dict[str, Any] = {
        "owner_identity": ALICE.public.encode().hex(),
        "dossier_id": DOSSIER_ID.hex(),
        "dossier_keys": [{"epoch": EPOCH, "key": DOSSIER_KEY.hex()}],
        "highest_seen": 6,
        "previous_index": previous.hex(),
    }
    sealing = {
        "owner": private_json(ALICE),
        "metadata_nonce": INDEX_ARGS["metadata_nonce"].hex(),
        "metadata_plaintext": DOSSIER_META.encode().hex(),
    }
    nothing_seen = {"highest_seen": 0, "previous_index": None}

    def vector(name: str, description: str, expect: str, index_bytes: bytes, **change: Any) -> None:
        if expect == "success":
            change = {"output": index_output(index_bytes), **change}
        fields = {**base, **change, "index": index_bytes.hex()}
        write(f"index-{name}", "index", description, expect, **fields)

    vector(
        "success",
        "the successor of the index seen before (it names that one's hash): two entries "
        "(written unsorted, stored sorted) and one deletion",
        "success",
        data,
        sealing=sealing,
    )
    vector(
        "success-first",
        "the first index of a dossier (counter 1, no predecessor), nothing seen before",
        "success",
        seal_index(counter=1, metadata_nonce=seed("structures/index-nonce/1", 24)),
        **nothing_seen,
        sealing={**sealing, "metadata_nonce": seed("structures/index-nonce/1", 24).hex()},
    )
    vector(
        "same-counter-same-bytes",
        "the index seen before, again",
        "success",
        data,
        highest_seen=7,
        previous_index=data.hex(),
    )
    e_c, e_a = index.entries[1], index.entries[0]
    assert e_a.document_id < e_c.document_id
    vector(
        "success-further-ahead",
        "counter 9 (its predecessor unseen) keeps every document of counter 6, at a later "
        "version or the same",
        "success",
        seal_index(counter=9, entries=[e_c, dataclasses.replace(e_a, version=4)]),
    )
    vector(
        "success-signed-deletion",
        "counter 9 records the deletion of document C, which counter 6 listed, at its version",
        "success",
        seal_index(
            counter=9, entries=[e_a], deletions=[*DELETIONS, IndexDeletion(DOCUMENT_C, 1, NOW)]
        ),
    )
    vector(
        "success-format-1",
        "format version 1 (no predecessor field), read where no version 2 index was seen",
        "success",
        seal_index(format_version=1),
        **nothing_seen,
        sealing=sealing,
    )
    vector(
        "success-format-2-after-format-1",
        "the first version 2 index, naming the version 1 index seen before as its predecessor",
        "success",
        seal_index(previous_hash=index_hash(previous_v1)),
        previous_index=previous_v1.hex(),
    )
    zero = bytes(32)
    # The reader's last index, after a key rotation: epoch 2 (a key this reader need not hold
    # to compare epochs; only the index under test is opened).
    previous_epoch_2 = seal_index(
        **PREVIOUS_ARGS, epoch=2, dossier_key=seed("structures/dossier-key/2", 32)
    )
    cases: list[tuple[str, str, str, bytes, dict[str, Any]]] = [
        ("rollback", "counter 7 when counter 8 was seen before", "RollbackError", data,
         {"highest_seen": 8, "previous_index": None}),
        ("same-counter-different", "another index with the counter of the one seen before",
         "RollbackError", seal_index(entries=ENTRIES[:1], previous_hash=index_hash(previous)),
         {"highest_seen": 7, "previous_index": data.hex()}),
        ("wrong-predecessor", "counter 7 names another index than the counter 6 seen (a fork)",
         "RollbackError", seal_index(previous_hash=seed("structures/index-fork/6", 32)), {}),
        ("further-ahead-drops-document",
         "counter 9 leaves out document C, which counter 6 listed, without a deletion",
         "RollbackError", seal_index(counter=9, entries=[e_a]), {}),
        ("further-ahead-lower-version", "counter 9 lists document A at version 1; counter 6 at 2",
         "RollbackError", seal_index(counter=9, entries=[e_c, dataclasses.replace(e_a, version=1)]),
         {}),
        ("deletion-below-seen-version",
         "counter 9 records document A as deleted at version 1; counter 6 listed version 2",
         "RollbackError",
         seal_index(counter=9, entries=[e_c], deletions=[IndexDeletion(DOCUMENT_A, 1, NOW),
                                                        *DELETIONS]), {}),
        ("deletion-dropped", "counter 9 no longer records the deletion of document B",
         "RollbackError", seal_index(counter=9, deletions=[]), {}),
        ("deleted-document-live-again", "counter 9 lists document B, deleted in counter 6, as live",
         "RollbackError",
         seal_index(counter=9, entries=[*ENTRIES, IndexEntry(DOCUMENT_B, 3, zero)], deletions=[]),
         {}),
        ("epoch-goes-back",
         "counter 9 (keeping every document) has epoch 1; the counter 6 seen had epoch 2",
         "RollbackError", seal_index(counter=9), {"previous_index": previous_epoch_2.hex()}),
        ("format-1-after-format-2",
         "a version 1 index (keeping everything) after the version 2 index seen before",
         "DowngradeError", seal_index(counter=9, format_version=1), {}),
        ("first-names-predecessor", "counter 1 naming a predecessor, signed", "MalformedError",
         resigned_index(data, counter=1), nothing_seen),
        ("later-names-no-predecessor", "counter 7 naming no predecessor (all zero), signed",
         "MalformedError", resigned_index(data, previous_hash=zero), {}),
        ("unsupported-version", "format version byte 3", "MalformedError",
         data[:4] + b"\x03" + data[5:], {}),
        ("unsorted-entries", "entries in descending document_id order, signed",
         "MalformedError", resigned_index(data, entries=(e_c, e_a)), {}),
        ("duplicate-entries", "the same document_id twice, signed", "MalformedError",
         resigned_index(data, entries=(e_a, e_a)), {}),
        ("entry-and-deletion", "a document both live and deleted, signed", "MalformedError",
         resigned_index(data, deletions=(IndexDeletion(DOCUMENT_A, 1, 0),)), {}),
        ("bad-signature", "one bit of the signature flipped", "SignatureError",
         flip(data, len(data) - 1), {}),
        ("signed-by-other-key", "names Alice as owner, signed by Mallory's key",
         "SignatureError", resigned_index(data, MALLORY), {}),
        ("wrong-dossier", "an index of another dossier", "IntegrityError", data,
         {"dossier_id": OTHER_DOSSIER_ID.hex()}),
        ("wrong-owner", "the reader expects Bob as owner", "KeyMismatchError", data,
         {"owner_identity": BOB.public.encode().hex()}),
        ("wrong-dossier-key", "the reader's key for epoch 1 is another key", "IntegrityError",
         data, {"dossier_keys": [{"epoch": EPOCH, "key": seed("x", 32).hex()}]}),
        ("trailing-byte", "one byte after the signature", "MalformedError", data + b"\x00", {}),
    ]  # fmt: skip
    for name, description, expect, index_bytes, change in cases:
        vector(name, description, expect, index_bytes, **change)


def main() -> None:
    # Remove this script's old files first, so a renamed scenario leaves no stale vector behind.
    for old in OUT.glob("*.json"):
        if old.name.split("-")[0] in PREFIXES:
            old.unlink()
    metadata_vectors()
    header_vectors()
    grant_vectors()
    index_vectors()
    count = sum(1 for p in OUT.glob("*.json") if p.name.split("-")[0] in PREFIXES)
    print(f"wrote {count} structure vector files to {OUT}")


if __name__ == "__main__":
    main()
