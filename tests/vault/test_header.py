"""The document header (format section 7): sealing, the seven checks in order, and step 8."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from typing import Any

import blake3
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vault import labels
from vault.derive import derive
from vault.encoding import Writer
from vault.errors import (
    IntegrityError,
    KeyMismatchError,
    MalformedError,
    SecurityError,
    SignatureError,
    VaultError,
)
from vault.header import (
    METADATA_MAX,
    DocumentHeader,
    OpenedHeader,
    _metadata_ad,
    _seal_header_from_parts,
    check_payload_digest,
    document_ids,
    file_key_commitment,
    header_hash,
    new_file_key,
    open_header,
    seal_header,
)
from vault.index import DossierIndex, IndexEntry, seal_index, verify_index
from vault.keys import PrivateIdentity
from vault.metadata import DocumentMetadata, DossierMetadata, seal_aead


def seed(name: str, size: int) -> bytes:
    return hashlib.shake_256(f"kluis/tests/header/{name}".encode()).digest(size)


def person(name: str, user_id: bytes | None = None) -> PrivateIdentity:
    return PrivateIdentity.from_private_keys(
        user_id or seed(f"user/{name}", 16), name, 1, seed(f"keys/{name}", 96)
    )


ALICE = person("alice")
BOB = person("bob")
# Same user id as Alice, other keys: an impostor, or Alice after a key change.
ALICE_OTHER_KEYS = PrivateIdentity.from_private_keys(ALICE.user_id, "alice", 2, seed("k2", 96))
DOSSIER = seed("dossier", 16)
DOC_A = seed("doc-a", 16)
DOC_B = seed("doc-b", 16)
VERSION = 2  # not 1, so that flipping its low bit never makes the invalid 0
EPOCH = 2
DOSSIER_KEY = seed("dossier-key", 32)
OTHER_DOSSIER_KEY = seed("other-dossier-key", 32)
FILE_KEY = seed("file-key", 32)
PAYLOAD_SIZE = 1234
PAYLOAD_HASH = seed("payload-hash", 32)
META = DocumentMetadata("brief.pdf", "application/pdf", "Brief NAM", 1186, 1_700_000_000, 5)
KEYS = {EPOCH: DOSSIER_KEY}


def make(**change: Any) -> bytes:
    args: dict[str, Any] = {
        "dossier_id": DOSSIER,
        "document_id": DOC_A,
        "version": VERSION,
        "epoch": EPOCH,
        "dossier_key": DOSSIER_KEY,
        "file_key": FILE_KEY,
        "payload_size": PAYLOAD_SIZE,
        "payload_hash": PAYLOAD_HASH,
        "metadata": META,
        "created_at": 1_700_000_005,
        "wrap_nonce": seed("wrap-nonce", 24),
        "metadata_nonce": seed("metadata-nonce", 24),
    }
    author = change.pop("author", ALICE)
    args.update(change)
    return _seal_header_from_parts(author, **args)


HEADER = make()


def open_(data: bytes, **change: Any) -> OpenedHeader:
    args: dict[str, Any] = {"dossier_id": DOSSIER, "document_id": DOC_A, "author": ALICE.public}
    if "file_key" not in change:
        args["dossier_keys"] = KEYS
    args.update(change)
    return open_header(data, **args)


def resign(header: DocumentHeader, author: PrivateIdentity = ALICE, **change: Any) -> bytes:
    """The author (or whoever holds `author`) signs changed fields: the signature is fine."""
    changed = dataclasses.replace(header, **change)
    return changed.body() + author.sign(labels.DOCUMENT_HEADER_SIGNATURE, changed.body())


def flip(data: bytes, index: int, mask: int = 0x01) -> bytes:
    out = bytearray(data)
    out[index] ^= mask
    return bytes(out)


# -- happy paths -------------------------------------------------------------------------------


def test_open_with_dossier_key() -> None:
    opened = open_(HEADER)
    assert opened.file_key == FILE_KEY
    assert opened.metadata == META
    assert opened.header.version == VERSION and opened.header.epoch == EPOCH
    assert opened.header.author_id == ALICE.user_id
    assert opened.header.author_key_id == ALICE.public.key_id
    check_payload_digest(
        opened, payload_size=PAYLOAD_SIZE, payload_hash=PAYLOAD_HASH, plaintext_size=META.size
    )


def test_open_with_file_key_from_a_document_grant() -> None:
    opened = open_(HEADER, file_key=FILE_KEY)
    assert opened.metadata == META


def test_open_with_several_epoch_keys() -> None:
    assert open_(HEADER, dossier_keys={1: OTHER_DOSSIER_KEY, EPOCH: DOSSIER_KEY}).metadata == META


def test_expected_version_matches() -> None:
    assert open_(HEADER, version=VERSION).header.version == VERSION


def test_layout_and_round_trip() -> None:
    header = DocumentHeader.decode(HEADER)
    assert DocumentHeader.peek(HEADER) == header
    assert header.encode() == HEADER
    assert HEADER[:5] == b"KLDH\x01"
    fixed = 5 + 16 + 16 + 8 + 16 + 32 + 8 + 72 + 32 + 8 + 32 + 8
    assert len(HEADER) == fixed + 4 + len(header.metadata) + 64
    assert header.ids == DOSSIER + DOC_A + VERSION.to_bytes(8, "big")
    assert header.key_commitment == file_key_commitment(FILE_KEY, DOSSIER, DOC_A, VERSION)


def test_sealing_is_deterministic_given_nonces_and_random_otherwise() -> None:
    assert make() == HEADER

    def fresh() -> bytes:
        return seal_header(
            ALICE,
            dossier_id=DOSSIER,
            document_id=DOC_A,
            version=VERSION,
            epoch=EPOCH,
            dossier_key=DOSSIER_KEY,
            file_key=FILE_KEY,
            payload_size=PAYLOAD_SIZE,
            payload_hash=PAYLOAD_HASH,
            metadata=META,
            created_at=1,
        )

    one, two = fresh(), fresh()
    assert one != two
    assert open_(one).metadata == open_(two).metadata == META


def test_header_hash_is_blake3_of_all_bytes() -> None:
    assert header_hash(HEADER) == blake3.blake3(HEADER).digest()
    assert len(header_hash(HEADER)) == 32


def test_commitment_binds_every_id() -> None:
    base = file_key_commitment(FILE_KEY, DOSSIER, DOC_A, 1)
    assert base == derive(FILE_KEY, labels.FILE_KEY_COMMITMENT, document_ids(DOSSIER, DOC_A, 1))
    assert base != file_key_commitment(FILE_KEY, DOSSIER, DOC_B, 1)
    assert base != file_key_commitment(FILE_KEY, DOC_B, DOC_A, 1)
    assert base != file_key_commitment(FILE_KEY, DOSSIER, DOC_A, 2)
    assert base != file_key_commitment(new_file_key(), DOSSIER, DOC_A, 1)


def test_new_file_keys_are_fresh() -> None:
    keys = {new_file_key() for _ in range(16)}
    assert len(keys) == 16 and all(len(k) == 32 for k in keys)


# -- every byte is protected -------------------------------------------------------------------

# (field, size, error when one of its bytes changes) in wire order; metadata is handled apart.
LAYOUT: list[tuple[str, int, type[SecurityError]]] = [
    ("magic", 4, MalformedError),
    ("format version", 1, MalformedError),
    ("dossier_id", 16, IntegrityError),  # step 2: not the dossier asked for
    ("document_id", 16, IntegrityError),  # step 2: not the document asked for
    ("version", 8, SignatureError),
    ("author_id", 16, KeyMismatchError),  # step 3
    ("author_key_id", 32, KeyMismatchError),  # step 3
    ("epoch", 8, SignatureError),
    ("wrapped_file_key", 72, SignatureError),
    ("key_commitment", 32, SignatureError),
    ("payload_size", 8, SignatureError),
    ("payload_hash", 32, SignatureError),
    ("created_at", 8, SignatureError),
    ("metadata length", 4, MalformedError),  # truncated, trailing bytes or over the limit
]


def expected_errors(data: bytes) -> list[tuple[str, type[SecurityError]]]:
    out = [(name, error) for name, size, error in LAYOUT for _ in range(size)]
    metadata_len = len(DocumentHeader.decode(data).metadata)
    out += [("metadata", SignatureError)] * metadata_len
    out += [("signature", SignatureError)] * 64
    assert len(out) == len(data)
    return out


@pytest.mark.parametrize("mask", [0x01, 0x80, 0xFF])
def test_every_byte_flipped_fails_with_the_error_of_its_check(mask: int) -> None:
    for offset, (name, error) in enumerate(expected_errors(HEADER)):
        with pytest.raises(error) as caught:
            open_(flip(HEADER, offset, mask))
        # Exactly this class: a MalformedError where step 2 should answer is a wrong order.
        assert type(caught.value) is error, (offset, name, caught.value)


def test_every_byte_flipped_fails_on_the_file_key_path_too() -> None:
    for offset in range(len(HEADER)):
        with pytest.raises(SecurityError):
            open_(flip(HEADER, offset), file_key=FILE_KEY)


def test_every_truncation_is_malformed() -> None:
    for length in range(len(HEADER)):
        with pytest.raises(MalformedError):
            open_(HEADER[:length])


@pytest.mark.parametrize("extra", [b"\x00", b"\x01" * 64, HEADER])
def test_trailing_bytes_are_malformed(extra: bytes) -> None:
    with pytest.raises(MalformedError, match="trailing"):
        open_(HEADER + extra)


@pytest.mark.parametrize(
    ("prefix", "match"),
    [
        (b"KLDX\x01", "magic"),
        (b"KLGR\x01", "magic"),
        (b"KLDH\x02", "version"),
        (b"KLDH\x00", "ver"),
    ],
)
def test_wrong_magic_or_version(prefix: bytes, match: str) -> None:
    with pytest.raises(MalformedError, match=match):
        open_(prefix + HEADER[5:])


def test_not_bytes_is_malformed() -> None:
    with pytest.raises(MalformedError):
        DocumentHeader.decode("KLDH")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("change", "match"),
    [({"version": 0}, "version"), ({"epoch": 0}, "epoch"), ({"metadata": bytes(39)}, "metadata")],
)
def test_values_that_cannot_exist_are_malformed_even_if_signed(
    change: dict[str, Any], match: str
) -> None:
    with pytest.raises(MalformedError, match=match):
        open_(resign(DocumentHeader.decode(HEADER), **change))


def test_metadata_length_over_the_limit_is_refused_before_reading() -> None:
    header = DocumentHeader.decode(HEADER)
    head = header.body()[:253]
    data = head + Writer().u32(METADATA_MAX + 1).getvalue() + bytes(64)
    with pytest.raises(MalformedError, match="exceeds"):
        DocumentHeader.decode(data)


# -- the order of the checks -------------------------------------------------------------------


def test_check_order() -> None:
    header = DocumentHeader.decode(HEADER)
    broken_signature = flip(HEADER, len(HEADER) - 1)
    # 2 before 3 and 4: a swapped header is a swap, whoever signed it.
    with pytest.raises(IntegrityError) as caught:
        open_(broken_signature, document_id=DOC_B, author=BOB.public)
    assert type(caught.value) is IntegrityError
    # 3 before 4.
    with pytest.raises(KeyMismatchError):
        open_(broken_signature, author=BOB.public)
    # 4 before 5: the signature is checked before any key is used.
    with pytest.raises(SignatureError):
        open_(broken_signature, dossier_keys={})
    # 5 before 6: a wrong dossier key fails at unwrapping.
    with pytest.raises(IntegrityError, match="wrapped file key"):
        open_(HEADER, dossier_keys={EPOCH: OTHER_DOSSIER_KEY})
    # 6 before 7 on the file-key path: the commitment, not the metadata, rejects a wrong key.
    with pytest.raises(IntegrityError, match="commitment"):
        open_(HEADER, file_key=OTHER_DOSSIER_KEY)
    assert header.signature == HEADER[-64:]


# -- step 2: swaps -------------------------------------------------------------------------------


def test_header_of_document_a_requested_as_b() -> None:
    with pytest.raises(IntegrityError, match="another"):
        open_(HEADER, document_id=DOC_B)


def test_header_from_another_dossier() -> None:
    with pytest.raises(IntegrityError, match="another"):
        open_(HEADER, dossier_id=seed("other-dossier", 16))


def test_header_of_another_version_when_a_version_is_asked_for() -> None:
    with pytest.raises(IntegrityError, match="version"):
        open_(HEADER, version=VERSION + 1)


# -- steps 3 and 4: who wrote it -------------------------------------------------------------


def test_wrong_author_expected() -> None:
    with pytest.raises(KeyMismatchError):
        open_(HEADER, author=BOB.public)


def test_author_with_the_same_user_id_but_other_keys() -> None:
    with pytest.raises(KeyMismatchError):
        open_(HEADER, author=ALICE_OTHER_KEYS.public)


def test_forgery_naming_alice_but_signed_by_someone_else() -> None:
    forged = resign(DocumentHeader.decode(HEADER), author=BOB)
    with pytest.raises(SignatureError, match="document header: signature does not verify"):
        open_(forged)


def test_header_signed_by_its_real_author_but_alice_expected() -> None:
    by_bob = make(author=BOB)
    assert open_(by_bob, author=BOB.public).metadata == META
    with pytest.raises(KeyMismatchError):
        open_(by_bob)


def test_signature_uses_the_header_label() -> None:
    header = DocumentHeader.decode(HEADER)
    wrong_label = header.body() + ALICE.sign(labels.GRANT_SIGNATURE, header.body())
    with pytest.raises(SignatureError):
        open_(wrong_label)


# -- step 4 by the owner's verified index ------------------------------------------------------


def index_listing(
    data: bytes, owner: PrivateIdentity = ALICE, *, version: int = VERSION
) -> DossierIndex:
    """An index `owner` signed that lists `data` as `version` of document A (and verified)."""
    signed = seal_index(
        owner,
        dossier_id=DOSSIER,
        counter=1,
        epoch=EPOCH,
        dossier_key=DOSSIER_KEY,
        metadata=DossierMetadata("Schade Hoofdstraat 1", 1_700_000_000),
        entries=[IndexEntry(DOC_A, version, header_hash(data))],
    )
    return verify_index(signed, dossier_id=DOSSIER, owner=owner.public)


BROKEN_SIGNATURE = flip(HEADER, len(HEADER) - 1)


def test_the_owners_index_listing_the_exact_bytes_stands_in_for_the_signature() -> None:
    # The owner signed the BLAKE3 of these very bytes, signature field included: that is the
    # owner's word for them, so the header's own signature adds nothing.
    assert open_(BROKEN_SIGNATURE, index=index_listing(BROKEN_SIGNATURE)).metadata == META
    assert open_(HEADER, index=index_listing(HEADER)).file_key == FILE_KEY


def test_the_index_still_leaves_every_other_check_in_place() -> None:
    with pytest.raises(IntegrityError, match="wrapped file key"):
        open_(HEADER, index=index_listing(HEADER), dossier_keys={EPOCH: OTHER_DOSSIER_KEY})
    with pytest.raises(KeyMismatchError):
        open_(HEADER, index=index_listing(HEADER), author=BOB.public)


def test_an_index_listing_other_bytes_vouches_for_nothing() -> None:
    with pytest.raises(SignatureError):
        open_(BROKEN_SIGNATURE, index=index_listing(HEADER))


def test_an_index_listing_another_version_vouches_for_nothing() -> None:
    with pytest.raises(SignatureError):
        open_(BROKEN_SIGNATURE, index=index_listing(BROKEN_SIGNATURE, version=VERSION + 1))


def test_an_index_listing_another_document_vouches_for_nothing() -> None:
    index = index_listing(BROKEN_SIGNATURE)
    other = dataclasses.replace(
        index, entries=(IndexEntry(DOC_B, VERSION, index.entries[0].header_hash),)
    )
    with pytest.raises(SignatureError):
        open_(BROKEN_SIGNATURE, index=other)


def test_an_index_by_someone_else_than_the_author_vouches_for_nothing() -> None:
    # Bob's header in Alice's dossier: only Bob's own signature says Bob wrote it (K4).
    bobs = make(author=BOB)
    assert open_(bobs, author=BOB.public, index=index_listing(bobs)).metadata == META
    broken = flip(bobs, len(bobs) - 1)
    with pytest.raises(SignatureError):
        open_(broken, author=BOB.public, index=index_listing(broken))


def test_an_index_by_the_authors_other_keys_vouches_for_nothing() -> None:
    # Same user id, other keys: the index's owner_key_id is not the header's author_key_id.
    with pytest.raises(SignatureError):
        open_(BROKEN_SIGNATURE, index=index_listing(BROKEN_SIGNATURE, owner=ALICE_OTHER_KEYS))


@pytest.mark.parametrize("mask", [0x01, 0x80])
def test_every_byte_flipped_fails_the_same_way_with_the_owners_index(mask: int) -> None:
    index = index_listing(HEADER)  # lists the untouched header: no flipped one matches it
    for offset, (name, error) in enumerate(expected_errors(HEADER)):
        with pytest.raises(error) as caught:
            open_(flip(HEADER, offset, mask), index=index)
        assert type(caught.value) is error, (offset, name, caught.value)


# -- steps 5-7: keys, commitment and metadata, with fields re-signed by the author ---------------

OTHER = DocumentHeader.decode(make(document_id=DOC_B, file_key=seed("file-key-b", 32)))


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"dossier_id": DOC_B}, IntegrityError),
        ({"document_id": DOC_B}, IntegrityError),
        ({"version": VERSION + 1}, IntegrityError),
        ({"author_id": BOB.user_id}, KeyMismatchError),
        ({"author_key_id": BOB.public.key_id}, KeyMismatchError),
        ({"epoch": EPOCH + 1}, IntegrityError),
        ({"epoch": 1}, IntegrityError),
        ({"wrapped_file_key": OTHER.wrapped_file_key}, IntegrityError),
        ({"key_commitment": OTHER.key_commitment}, IntegrityError),
        ({"metadata": OTHER.metadata}, IntegrityError),
    ],
)
def test_resigned_field_changes_fail_their_check(
    change: dict[str, Any], error: type[SecurityError]
) -> None:
    tampered = resign(DocumentHeader.decode(HEADER), **change)
    with pytest.raises(error):
        open_(tampered, dossier_keys={1: OTHER_DOSSIER_KEY, EPOCH: DOSSIER_KEY})


def test_wrapped_file_key_of_a_moved_into_b_and_resigned() -> None:
    a = DocumentHeader.decode(HEADER)
    b = DocumentHeader.decode(make(document_id=DOC_B, file_key=seed("file-key-b", 32)))
    spliced = resign(b, wrapped_file_key=a.wrapped_file_key)
    with pytest.raises(IntegrityError, match="wrapped file key"):
        open_(spliced, document_id=DOC_B)


def test_whole_key_material_of_a_moved_into_b_and_resigned() -> None:
    # A's wrapped key and commitment together still fail: both bind the ids of A.
    a = DocumentHeader.decode(HEADER)
    b = DocumentHeader.decode(make(document_id=DOC_B, file_key=seed("file-key-b", 32)))
    spliced = resign(b, wrapped_file_key=a.wrapped_file_key, key_commitment=a.key_commitment)
    with pytest.raises(IntegrityError):
        open_(spliced, document_id=DOC_B)
    with pytest.raises(IntegrityError, match="commitment"):
        open_(spliced, document_id=DOC_B, file_key=FILE_KEY)


def test_two_headers_metadata_swapped() -> None:
    a = DocumentHeader.decode(HEADER)
    b = DocumentHeader.decode(make(document_id=DOC_B, file_key=seed("file-key-b", 32)))
    unsigned_swap = dataclasses.replace(a, metadata=b.metadata).body() + a.signature
    with pytest.raises(SignatureError):
        open_(unsigned_swap)
    with pytest.raises(IntegrityError, match="metadata"):
        open_(resign(a, metadata=b.metadata))


def test_metadata_under_another_key_with_a_valid_commitment() -> None:
    header = DocumentHeader.decode(HEADER)
    other = seal_aead(
        derive(OTHER_DOSSIER_KEY, labels.METADATA_KEY),
        seed("n", 24),
        META.encode(),
        _metadata_ad(header.ids),
    )
    with pytest.raises(IntegrityError, match="metadata"):
        open_(resign(header, metadata=other))


def test_authentic_but_invalid_metadata_is_malformed() -> None:
    header = DocumentHeader.decode(HEADER)
    bad_json = b'{"name":"a/b","media_type":"","title":"","size":0,"modified":0,"created":0}'
    sealed = seal_aead(
        derive(FILE_KEY, labels.METADATA_KEY),
        seed("n", 24),
        bad_json.ljust(256),
        _metadata_ad(header.ids),
    )
    with pytest.raises(MalformedError, match="name"):
        open_(resign(header, metadata=sealed))


def test_wrong_or_missing_dossier_key() -> None:
    with pytest.raises(IntegrityError):
        open_(HEADER, dossier_keys={EPOCH: OTHER_DOSSIER_KEY})
    with pytest.raises(IntegrityError, match="no dossier key for epoch 2"):
        open_(HEADER, dossier_keys={1: DOSSIER_KEY})


def test_wrong_file_key() -> None:
    with pytest.raises(IntegrityError, match="commitment"):
        open_(HEADER, file_key=seed("file-key-b", 32))


def test_file_key_of_another_version_of_the_same_document() -> None:
    v3_key = seed("file-key-v3", 32)
    v3 = make(version=3, file_key=v3_key)
    assert open_(v3, file_key=v3_key).header.version == 3
    with pytest.raises(IntegrityError, match="commitment"):
        open_(HEADER, file_key=v3_key)


# -- step 8 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"payload_size": PAYLOAD_SIZE + 1}, "payload size"),
        ({"payload_size": PAYLOAD_SIZE - 1}, "payload size"),
        ({"payload_hash": seed("other-hash", 32)}, "BLAKE3"),
        ({"payload_hash": PAYLOAD_HASH[:31]}, "BLAKE3"),
        ({"plaintext_size": META.size + 1}, "plaintext size"),
        ({"plaintext_size": 0}, "plaintext size"),
    ],
)
def test_payload_digest_mismatch(change: dict[str, Any], match: str) -> None:
    digest: dict[str, Any] = {
        "payload_size": PAYLOAD_SIZE,
        "payload_hash": PAYLOAD_HASH,
        "plaintext_size": META.size,
    }
    digest.update(change)
    with pytest.raises(IntegrityError, match=match):
        check_payload_digest(open_(HEADER), **digest)


@pytest.mark.parametrize("field", ["payload_size", "payload_hash"])
def test_resigned_digest_changes_are_caught_in_step_8(field: str) -> None:
    change = {"payload_size": 1} if field == "payload_size" else {"payload_hash": bytes(32)}
    opened = open_(resign(DocumentHeader.decode(HEADER), **change))
    with pytest.raises(IntegrityError):
        check_payload_digest(
            opened, payload_size=PAYLOAD_SIZE, payload_hash=PAYLOAD_HASH, plaintext_size=META.size
        )


# -- caller errors -------------------------------------------------------------------------------


def test_open_needs_exactly_one_key_source() -> None:
    with pytest.raises(ValueError):
        open_header(HEADER, dossier_id=DOSSIER, document_id=DOC_A, author=ALICE.public)
    with pytest.raises(ValueError):
        open_(HEADER, file_key=FILE_KEY, dossier_keys=KEYS)
    with pytest.raises(ValueError):
        open_(HEADER, file_key=FILE_KEY[:16])
    with pytest.raises(ValueError):
        open_(HEADER, dossier_id=DOSSIER.hex())


@pytest.mark.parametrize(
    "change",
    [
        {"dossier_id": DOSSIER[:15]},
        {"document_id": b""},
        {"version": 0},
        {"version": 2**64},
        {"version": True},
        {"epoch": 0},
        {"dossier_key": DOSSIER_KEY[:16]},
        {"file_key": FILE_KEY + b"x"},
        {"payload_size": -1},
        {"payload_hash": PAYLOAD_HASH[:31]},
        {"created_at": -5},
        {"wrap_nonce": bytes(12)},
        {"metadata": {"name": "x"}},
    ],
)
def test_sealing_refuses_invalid_input(change: dict[str, Any]) -> None:
    with pytest.raises((TypeError, ValueError)):
        make(**change)


# -- property tests --------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=700))
def test_random_bytes_raise_only_malformed(data: bytes) -> None:
    with pytest.raises(MalformedError):
        DocumentHeader.decode(data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=700))
def test_random_bytes_after_a_valid_prefix_raise_only_vault_errors(tail: bytes) -> None:
    with pytest.raises(SecurityError):
        open_(HEADER[:5] + tail)


Mutation = Callable[[bytes], bytes]


def _replace(at: int, mask: int) -> Mutation:
    def apply(d: bytes) -> bytes:
        i = at % len(d) if d else 0
        return d[:i] + bytes([d[i] ^ mask]) + d[i + 1 :] if d else d

    return apply


def _delete(at: int, count: int) -> Mutation:
    return lambda d: d[: at % (len(d) + 1)] + d[at % (len(d) + 1) + count :]


def _insert(at: int, extra: bytes) -> Mutation:
    return lambda d: d[: at % (len(d) + 1)] + extra + d[at % (len(d) + 1) :]


def mutations() -> st.SearchStrategy[Mutation]:
    """Byte changes, deletions and insertions anywhere (positions wrap to the current length)."""
    n = len(HEADER)
    return st.one_of(
        st.builds(_replace, st.integers(0, n), st.integers(1, 255)),
        st.builds(_delete, st.integers(0, n), st.integers(1, 80)),
        st.builds(_insert, st.integers(0, n), st.binary(min_size=1, max_size=80)),
    )


@settings(max_examples=400, deadline=None)
@given(st.lists(mutations(), min_size=1, max_size=3), st.booleans())
def test_mutated_headers_never_open(changes: list[Mutation], by_file_key: bool) -> None:
    data = HEADER
    for change in changes:
        data = change(data)
    if data == HEADER:
        return
    key: dict[str, Any] = {"file_key": FILE_KEY} if by_file_key else {}
    try:
        open_(data, **key)
    except SecurityError:
        return
    except VaultError as exc:  # pragma: no cover - would be a wrong error class
        pytest.fail(f"unexpected {type(exc).__name__}: {exc}")
    pytest.fail("a mutated header opened")
