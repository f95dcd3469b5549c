"""Tests of vault.keys: the identity record, usernames and the fingerprint (format section 3)."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vault import labels
from vault.encoding import Writer
from vault.errors import MalformedError, SignatureError
from vault.keys import (
    Identity,
    PrivateIdentity,
    check_username,
    fingerprint_digest,
    format_fingerprint,
    normalise_fingerprint,
    verify_signature,
)

USER_ID = bytes.fromhex("00112233445566778899aabbccddeeff")
ALICE = PrivateIdentity.from_private_keys(USER_ID, "alice", 1, bytes(range(96)))
RECORD = ALICE.public.encode()
NAME_AT = 4 + 1 + 16 + 4  # offset of the username length
KEYS_AT = NAME_AT + 4 + len(b"alice")  # offset of signing_key
SIG_AT = KEYS_AT + 64  # offset of the signature
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def record(
    *,
    magic: bytes = b"KLID",
    version: int = 1,
    key_version: int = 1,
    username: bytes = b"alice",
    signer: PrivateIdentity = ALICE,
) -> bytes:
    """An identity record built field by field, validly signed by `signer`."""
    body = (
        Writer().raw(magic).u8(version).raw(USER_ID).u32(key_version).vbytes(username)
        .raw(ALICE.public.signing_key).raw(ALICE.public.box_key).getvalue()
    )  # fmt: skip
    return body + signer.sign(labels.IDENTITY_SIGNATURE, body)


# -- round trip -----------------------------------------------------------------------------------


def test_round_trip() -> None:
    decoded = Identity.decode(RECORD)
    assert decoded == ALICE.public
    assert decoded.encode() == RECORD
    assert (decoded.user_id, decoded.key_version, decoded.username) == (USER_ID, 1, "alice")
    assert len(RECORD) == SIG_AT + 64
    assert record() == RECORD


def test_private_keys_round_trip_and_generate() -> None:
    again = PrivateIdentity.from_private_keys(USER_ID, "alice", 1, ALICE.private_keys())
    assert again.public == ALICE.public
    fresh = PrivateIdentity.generate(USER_ID, "bob", key_version=3)
    assert fresh.private_keys() != ALICE.private_keys()
    assert Identity.decode(fresh.public.encode()).key_version == 3


def test_repr_of_private_identity_hides_secrets() -> None:
    text = repr(ALICE) + str(ALICE)
    for secret in (ALICE.box_secret, ALICE.signing_seed, ALICE.age_secret):
        assert secret.hex() not in text and repr(secret) not in text


def test_from_private_keys_refuses_bad_input() -> None:
    with pytest.raises(MalformedError):
        PrivateIdentity.from_private_keys(USER_ID, "alice", 1, bytes(95))
    with pytest.raises(ValueError):
        PrivateIdentity.from_private_keys(bytes(15), "alice", 1, bytes(96))
    with pytest.raises(MalformedError):
        PrivateIdentity.from_private_keys(USER_ID, "Alice", 1, bytes(96))


def test_signatures_are_bound_to_their_label() -> None:
    signature = ALICE.sign(labels.GRANT_SIGNATURE, b"body")
    ALICE.public.verify(labels.GRANT_SIGNATURE, b"body", signature)
    for label, body in ((labels.DOSSIER_INDEX_SIGNATURE, b"body"), (labels.GRANT_SIGNATURE, b"")):
        with pytest.raises(SignatureError):
            ALICE.public.verify(label, body, signature)
    for bad_key in (bytes(32), b"short", "not bytes"):
        with pytest.raises(SignatureError):
            verify_signature(bad_key, labels.GRANT_SIGNATURE, b"body", signature)  # type: ignore[arg-type]


# -- tampering ------------------------------------------------------------------------------------


def test_flipping_any_byte_is_refused() -> None:
    for index in range(len(RECORD)):
        mutated = bytearray(RECORD)
        mutated[index] ^= 0x01
        signed_fields = (
            5 <= index < NAME_AT - 1  # user_id and the top bytes of key_version
            or index >= KEYS_AT  # signing_key, box_key, signature
        )
        expected = SignatureError if signed_fields else (SignatureError, MalformedError)
        with pytest.raises(expected):
            Identity.decode(bytes(mutated))


@pytest.mark.parametrize("name", [b"alicf", b"bob00", b"a.b-c", b"alic_"])
def test_another_valid_username_breaks_the_signature(name: bytes) -> None:
    with pytest.raises(SignatureError):
        Identity.decode(RECORD.replace(b"alice", name))


def test_valid_record_signed_by_another_key() -> None:
    mallory = PrivateIdentity.from_private_keys(USER_ID, "alice", 1, bytes(range(1, 97)))
    with pytest.raises(SignatureError):
        Identity.decode(record(signer=mallory))


# -- malformed ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        record(magic=b"KLIX"),
        record(magic=b"klid"),
        record(version=0),
        record(version=2),
        record(key_version=0),
        record(username=b""),
        record(username=b"Alice"),
        record(username=b"a" * 65),
        record(username=b"al ice"),
        record(username=b"-alice"),
        record(username="al\u00efce".encode()),
        record(username=b"\xff\xfe"),
        RECORD + b"\x00",
        RECORD + RECORD,
        RECORD[:NAME_AT] + b"\xff\xff\xff\xff" + RECORD[NAME_AT + 4 :],
        RECORD[:NAME_AT] + b"\x00\x00\x00\x06" + RECORD[NAME_AT + 4 :],
        b"",
    ],
)
def test_malformed_records(data: bytes) -> None:
    with pytest.raises(MalformedError):
        Identity.decode(data)


def test_every_truncation_is_malformed() -> None:
    for size in range(len(RECORD)):
        with pytest.raises(MalformedError):
            Identity.decode(RECORD[:size])


@pytest.mark.parametrize("data", [RECORD.hex(), None, 42, list(RECORD)])
def test_not_bytes_is_malformed(data: Any) -> None:
    with pytest.raises(MalformedError):
        Identity.decode(data)


# -- usernames ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["a", "0", "alice", "a.b_c-d", "9lives", "a" * 64, "x-"])
def test_valid_usernames(name: str) -> None:
    assert check_username(name) == name


@pytest.mark.parametrize(
    "name",
    ["", "a" * 65, "Alice", ".alice", "_alice", "-alice", "al ice", "alice\n", "\u00e9", "a/b",
     "a@b", "a\x00", b"alice", None],
)  # fmt: skip
def test_invalid_usernames(name: Any) -> None:
    with pytest.raises(MalformedError):
        check_username(name)


# -- fingerprint ----------------------------------------------------------------------------------


def test_fingerprint_is_the_labelled_sha512() -> None:
    public = ALICE.public
    digest = hashlib.sha512(
        b"kluis/v1/fingerprint\x00" + public.signing_key + public.box_key
    ).digest()
    assert fingerprint_digest(public.signing_key, public.box_key) == digest
    assert public.key_id == digest[:32]
    groups = [int.from_bytes(digest[5 * i : 5 * i + 5], "big") % 100_000 for i in range(12)]
    assert public.fingerprint == " ".join(f"{g:05d}" for g in groups)
    assert re.fullmatch(r"\d{5}( \d{5}){11}", public.fingerprint)


def test_fingerprint_keeps_leading_zeros_and_is_stable() -> None:
    assert format_fingerprint(bytes(64)) == " ".join(["00000"] * 12)
    # 2**40 - 1 = 1099511627775, whose last five digits are 27775.
    assert format_fingerprint(b"\xff" * 64) == " ".join(["27775"] * 12)
    again = PrivateIdentity.from_private_keys(USER_ID, "renamed", 7, ALICE.private_keys())
    # The fingerprint names the keys only: same keys, same fingerprint.
    assert again.public.fingerprint == ALICE.public.fingerprint


def test_fingerprint_depends_on_both_keys_in_order() -> None:
    p = ALICE.public
    assert fingerprint_digest(p.box_key, p.signing_key) != fingerprint_digest(
        p.signing_key, p.box_key
    )
    bob = PrivateIdentity.from_private_keys(USER_ID, "alice", 1, bytes(range(96, 192)))
    assert bob.public.fingerprint != p.fingerprint and bob.public.key_id != p.key_id


@pytest.mark.parametrize(
    "space", ["", " ", "  ", "\t", "\n", " \n "], ids=["none", "one", "two", "tab", "nl", "mixed"]
)
def test_normalise_fingerprint_accepts_any_spacing(space: str) -> None:
    shown = ALICE.public.fingerprint
    typed = "  " + shown.replace(" ", space) + "\n"
    assert normalise_fingerprint(typed) == shown
    # Spaces need not fall between groups either.
    digits = shown.replace(" ", "")
    assert normalise_fingerprint(" ".join(digits[i : i + 3] for i in range(0, 60, 3))) == shown


@pytest.mark.parametrize(
    "typed",
    ["", "1234", "0" * 59, "0" * 61, "0000a " * 12, "00000-" * 12, "0" * 55 + "o" * 5],
)
def test_normalise_fingerprint_refuses_wrong_input(typed: str) -> None:
    with pytest.raises(MalformedError):
        normalise_fingerprint(typed)


def test_normalise_fingerprint_refuses_non_ascii_digits() -> None:
    with pytest.raises(MalformedError):
        normalise_fingerprint("\u0663" * 60)


# -- robustness -----------------------------------------------------------------------------------


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes_raise_only_vault_errors(data: bytes) -> None:
    with pytest.raises((MalformedError, SignatureError)):
        Identity.decode(data)


@FUZZ
@given(st.data())
def test_mutated_records_raise_only_vault_errors(data: st.DataObject) -> None:
    mutated = bytearray(RECORD)
    for _ in range(data.draw(st.integers(1, 4))):
        index = data.draw(st.integers(0, len(mutated) - 1))
        kind = data.draw(st.sampled_from(["flip", "delete", "insert"]))
        if kind == "flip":
            mutated[index] ^= data.draw(st.integers(1, 255))
        elif kind == "delete":
            del mutated[index]
        else:
            mutated.insert(index, data.draw(st.integers(0, 255)))
    if bytes(mutated) == RECORD:
        return
    with pytest.raises((MalformedError, SignatureError)):
        Identity.decode(bytes(mutated))


@FUZZ
@given(st.text(max_size=80))
def test_normalise_fingerprint_raises_only_malformed(text: str) -> None:
    try:
        shown = normalise_fingerprint(text)
    except MalformedError:
        return
    assert len(shown) == 71
