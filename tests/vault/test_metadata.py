"""Document and dossier metadata (format sections 7 and 9) and the shared AEAD helpers."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vault.errors import IntegrityError, MalformedError
from vault.metadata import (
    DOCUMENT_TITLE_MAX,
    DOSSIER_TITLE_MAX,
    FORBIDDEN_NAME_CHARACTERS,
    INTEGER_MAX,
    MEDIA_TYPE_MAX,
    NAME_MAX,
    NONCE_SIZE,
    PADDING_BLOCK,
    DocumentMetadata,
    DossierMetadata,
    open_aead,
    open_document_metadata,
    open_dossier_metadata,
    seal_aead,
)

KEY = bytes(range(32))
NONCE = bytes(range(100, 124))
AD = b"kluis/test\x00ad"

GOOD_DOCUMENT: dict[str, Any] = {
    "name": "Aanvraag schade.pdf",
    "media_type": "application/pdf",
    "title": "Schademelding 2024",
    "size": 123456,
    "modified": 1_700_000_000,
    "created": 1_700_000_100,
}
GOOD_DOSSIER: dict[str, Any] = {"title": "Huis Loppersum", "created": 1_700_000_000}


def padded(obj: Any, *, sort_keys: bool = False, separators: tuple[str, str] = (",", ":")) -> bytes:
    raw = json.dumps(obj, ensure_ascii=False, sort_keys=sort_keys, separators=separators).encode()
    return raw + b" " * (-len(raw) % PADDING_BLOCK)


def with_member(base: dict[str, Any], **change: Any) -> dict[str, Any]:
    return {**base, **change}


# -- happy paths -----------------------------------------------------------------------------


def test_document_round_trip_and_canonical_bytes() -> None:
    meta = DocumentMetadata(**GOOD_DOCUMENT)
    data = meta.encode()
    assert len(data) % PADDING_BLOCK == 0
    assert data == padded(GOOD_DOCUMENT, sort_keys=True)
    assert data.startswith(b'{"created":1700000100,"media_type":"application/pdf"')
    assert DocumentMetadata.decode(data) == meta


def test_dossier_round_trip() -> None:
    meta = DossierMetadata(**GOOD_DOSSIER)
    data = meta.encode()
    assert data == b'{"created":1700000000,"title":"Huis Loppersum"}'.ljust(256)
    assert DossierMetadata.decode(data) == meta


def test_non_canonical_json_from_another_client_is_accepted() -> None:
    # A browser's JSON.stringify keeps insertion order; indentation is valid JSON too.
    data = padded(GOOD_DOCUMENT, separators=(", ", ": "))
    assert DocumentMetadata.decode(data) == DocumentMetadata(**GOOD_DOCUMENT)


def test_unicode_is_written_as_utf8_not_escapes() -> None:
    meta = DocumentMetadata("Kadaster \u2013 W\u00e2nswert.pdf", "", "", 0, 0, 0)
    assert "\u2013".encode() in meta.encode()
    assert DocumentMetadata.decode(meta.encode()) == meta


def test_json_of_exactly_256_bytes_has_no_padding() -> None:
    base = DossierMetadata("x", 0).encode().rstrip(b" ")
    title = "x" * (PADDING_BLOCK - len(base) + 1)
    data = DossierMetadata(title, 0).encode()
    assert len(data) == PADDING_BLOCK and not data.endswith(b" ")
    assert DossierMetadata.decode(data).title == title


def test_limits_are_inclusive() -> None:
    meta = DocumentMetadata("n" * NAME_MAX, "m" * MEDIA_TYPE_MAX, "t" * DOCUMENT_TITLE_MAX, 0, 0, 0)
    assert DocumentMetadata.decode(meta.encode()) == meta
    big = DocumentMetadata("a", "", "", INTEGER_MAX, INTEGER_MAX, INTEGER_MAX)
    assert DocumentMetadata.decode(big.encode()) == big
    assert DossierMetadata.decode(DossierMetadata("t" * DOSSIER_TITLE_MAX, 0).encode())


def test_aead_round_trip() -> None:
    sealed = seal_aead(KEY, NONCE, b"secret", AD)
    assert sealed[:NONCE_SIZE] == NONCE
    assert open_aead(KEY, sealed, AD, "thing") == b"secret"


# -- decoding failures -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"{}",
        padded(GOOD_DOCUMENT)[:-1],
        padded(GOOD_DOCUMENT) + b" ",
        padded(GOOD_DOCUMENT) + b" " * PADDING_BLOCK,  # padded past the next multiple
        b" " * PADDING_BLOCK,
        padded(GOOD_DOCUMENT).replace(b"}", b"}\x00", 1)[:-1],  # NUL instead of a space
        b"\xef\xbb\xbf" + padded(GOOD_DOCUMENT)[:-3],  # UTF-8 byte-order mark
        b"\xff" + padded(GOOD_DOCUMENT)[1:],  # not UTF-8
        padded([GOOD_DOCUMENT]),  # not an object
        padded("name"),
        padded(None),
        b"{" * 300 + b" " * (512 - 300),  # nested past any sane depth
    ],
)
def test_document_decode_rejects_bad_bytes(data: bytes) -> None:
    with pytest.raises(MalformedError):
        DocumentMetadata.decode(data)


@pytest.mark.parametrize("member", sorted(GOOD_DOCUMENT))
def test_document_missing_member(member: str) -> None:
    obj = {k: v for k, v in GOOD_DOCUMENT.items() if k != member}
    with pytest.raises(MalformedError, match="members"):
        DocumentMetadata.decode(padded(obj))


def test_document_extra_member() -> None:
    with pytest.raises(MalformedError, match="members"):
        DocumentMetadata.decode(padded(with_member(GOOD_DOCUMENT, author="x")))


def test_document_duplicate_member() -> None:
    raw = padded(GOOD_DOCUMENT).replace(b'{"name"', b'{"name":"evil.exe","name"', 1)
    raw = raw.rstrip(b" ")
    with pytest.raises(MalformedError):
        DocumentMetadata.decode(raw + b" " * (-len(raw) % PADDING_BLOCK))


@pytest.mark.parametrize("member", ["size", "modified", "created"])
@pytest.mark.parametrize(
    "value", [True, False, 1.0, 1.5, -1, INTEGER_MAX + 1, "1", None, [1], {"a": 1}]
)
def test_document_integer_members_are_strict(member: str, value: Any) -> None:
    with pytest.raises(MalformedError):
        DocumentMetadata.decode(padded(with_member(GOOD_DOCUMENT, **{member: value})))


@pytest.mark.parametrize("member", ["name", "media_type", "title"])
@pytest.mark.parametrize("value", [1, True, None, ["a"], {"a": "b"}])
def test_document_string_members_are_strict(member: str, value: Any) -> None:
    with pytest.raises(MalformedError):
        DocumentMetadata.decode(padded(with_member(GOOD_DOCUMENT, **{member: value})))


@pytest.mark.parametrize(
    "change",
    [
        {"name": ""},
        {"name": "n" * (NAME_MAX + 1)},
        {"name": "../etc/passwd"},
        {"name": "a/b"},
        {"name": "a\\b"},
        {"name": "a\x00b"},
        {"name": "."},
        {"name": ".."},
        {"name": "line\nbreak"},
        {"name": "bell\x07"},
        {"name": "del\x7f"},
        {"media_type": "m" * (MEDIA_TYPE_MAX + 1)},
        {"title": "t" * (DOCUMENT_TITLE_MAX + 1)},
    ],
)
def test_document_string_ranges(change: dict[str, str]) -> None:
    with pytest.raises(MalformedError):
        DocumentMetadata.decode(padded(with_member(GOOD_DOCUMENT, **change)))
    with pytest.raises(ValueError):
        DocumentMetadata(**with_member(GOOD_DOCUMENT, **change))


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity", b"1e400", b"1" * 5000])
def test_document_rejects_non_json_numbers(literal: bytes) -> None:
    raw = padded(GOOD_DOCUMENT).rstrip(b" ").replace(b'"size":123456', b'"size":' + literal)
    with pytest.raises(MalformedError):
        DocumentMetadata.decode(raw + b" " * (-len(raw) % PADDING_BLOCK))


def test_unpaired_surrogate_is_rejected() -> None:
    raw = padded(GOOD_DOCUMENT).rstrip(b" ").replace(b"Aanvraag", b"\\ud800Aanvraag")
    with pytest.raises(MalformedError, match="surrogate"):
        DocumentMetadata.decode(raw + b" " * (-len(raw) % PADDING_BLOCK))


def test_control_characters_raw_in_strings_are_rejected() -> None:
    raw = padded(GOOD_DOCUMENT).rstrip(b" ").replace(b"Aanvraag", b"Aan\nvraag")
    with pytest.raises(MalformedError):
        DocumentMetadata.decode(raw + b" " * (-len(raw) % PADDING_BLOCK))


def test_decode_rejects_non_bytes() -> None:
    with pytest.raises(MalformedError):
        DocumentMetadata.decode("{}")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "obj",
    [
        {"title": "x"},
        {"created": 0},
        {"title": "x", "created": 0, "extra": 1},
        {"title": "", "created": 0},
        {"title": "t" * (DOSSIER_TITLE_MAX + 1), "created": 0},
        {"title": "x", "created": -1},
        {"title": "x", "created": True},
        {"title": "x", "created": 0.0},
        {"title": 5, "created": 0},
        ["x", 0],
    ],
)
def test_dossier_decode_rejects(obj: Any) -> None:
    with pytest.raises(MalformedError):
        DossierMetadata.decode(padded(obj))


def test_document_metadata_is_not_dossier_metadata() -> None:
    with pytest.raises(MalformedError):
        DossierMetadata.decode(DocumentMetadata(**GOOD_DOCUMENT).encode())
    with pytest.raises(MalformedError):
        DocumentMetadata.decode(DossierMetadata(**GOOD_DOSSIER).encode())


# -- writing-side validation -------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [{"size": True}, {"size": -1}, {"size": 1.0}, {"created": INTEGER_MAX + 1}, {"name": 3}],
)
def test_document_constructor_refuses_invalid_values(change: dict[str, Any]) -> None:
    with pytest.raises((TypeError, ValueError)):
        DocumentMetadata(**with_member(GOOD_DOCUMENT, **change))


def test_document_constructor_refuses_unpaired_surrogate() -> None:
    with pytest.raises(ValueError, match="surrogate"):
        DocumentMetadata(**with_member(GOOD_DOCUMENT, title="\ud800"))


def test_dossier_constructor_refuses_empty_title() -> None:
    with pytest.raises(ValueError):
        DossierMetadata("", 0)


# -- AEAD failures ------------------------------------------------------------------------------


def test_aead_failures() -> None:
    sealed = seal_aead(KEY, NONCE, b"secret", AD)
    with pytest.raises(IntegrityError):
        open_aead(bytes(32), sealed, AD, "thing")
    with pytest.raises(IntegrityError):
        open_aead(KEY, sealed, AD + b"x", "thing")
    with pytest.raises(IntegrityError, match="too short"):
        open_aead(KEY, sealed[:39], AD, "thing")
    for i in range(len(sealed)):
        flipped = bytearray(sealed)
        flipped[i] ^= 0x01
        with pytest.raises(IntegrityError):
            open_aead(KEY, bytes(flipped), AD, "thing")
    with pytest.raises(ValueError):
        seal_aead(KEY[:31], NONCE, b"", AD)
    with pytest.raises(ValueError):
        seal_aead(KEY, NONCE[:23], b"", AD)
    with pytest.raises(ValueError):
        open_aead(KEY[:16], sealed, AD, "thing")


def test_sealed_metadata_opens_only_with_its_key_and_ad() -> None:
    meta = DocumentMetadata(**GOOD_DOCUMENT)
    sealed = seal_aead(KEY, NONCE, meta.encode(), AD)
    assert open_document_metadata(KEY, sealed, AD) == meta
    with pytest.raises(IntegrityError):
        open_document_metadata(KEY, sealed, AD[:-1])
    with pytest.raises(MalformedError):  # authentic, but not dossier metadata
        open_dossier_metadata(KEY, sealed, AD)
    garbage = seal_aead(KEY, NONCE, b"not json".ljust(256), AD)
    with pytest.raises(MalformedError):
        open_document_metadata(KEY, garbage, AD)


# -- property tests ----------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=10,
)
document_like = st.fixed_dictionaries(
    {k: st.one_of(st.just(v), json_values) for k, v in GOOD_DOCUMENT.items()}
)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=1024))
def test_random_bytes_raise_only_malformed(data: bytes) -> None:
    for decode in (DocumentMetadata.decode, DossierMetadata.decode):
        with contextlib.suppress(MalformedError):
            decode(data)


@settings(max_examples=300, deadline=None)
@given(document_like)
def test_json_objects_decode_only_when_valid(obj: dict[str, Any]) -> None:
    try:
        data = padded(obj)
    except (UnicodeEncodeError, ValueError):
        return
    try:
        valid: DocumentMetadata | None = DocumentMetadata(**obj)
    except (TypeError, ValueError):
        valid = None
    if valid is None:
        with pytest.raises(MalformedError):
            DocumentMetadata.decode(data)
    else:
        assert DocumentMetadata.decode(data) == valid


@settings(max_examples=200, deadline=None)
@given(
    st.text(min_size=1, max_size=NAME_MAX).filter(
        lambda s: not set(s) & FORBIDDEN_NAME_CHARACTERS and s not in (".", "..")
    ),
    st.text(max_size=MEDIA_TYPE_MAX),
    st.text(max_size=DOCUMENT_TITLE_MAX),
    st.integers(0, INTEGER_MAX),
    st.integers(0, INTEGER_MAX),
    st.integers(0, INTEGER_MAX),
)
def test_valid_documents_round_trip(
    name: str, media_type: str, title: str, size: int, modified: int, created: int
) -> None:
    try:
        meta = DocumentMetadata(name, media_type, title, size, modified, created)
    except ValueError:  # an unpaired surrogate: not text
        return
    data = meta.encode()
    assert len(data) % PADDING_BLOCK == 0
    assert DocumentMetadata.decode(data) == meta


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_mutated_metadata_raises_only_malformed(data: st.DataObject) -> None:
    encoded = bytearray(DocumentMetadata(**GOOD_DOCUMENT).encode())
    i = data.draw(st.integers(0, len(encoded) - 1))
    encoded[i] = data.draw(st.integers(0, 255))
    with contextlib.suppress(MalformedError):
        DocumentMetadata.decode(bytes(encoded))
