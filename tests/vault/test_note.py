"""vault.note: C2SP signed notes, their key IDs and verifier keys, and what opening one refuses."""

from __future__ import annotations

import base64
import hashlib

import pytest

from vault.cosignature import Cosigner, parse_witness_vkey
from vault.errors import MalformedError, SignatureError
from vault.note import (
    Ed25519Signer,
    Ed25519Verifier,
    Note,
    Signature,
    check_key_name,
    key_id,
    open_note,
    parse_note,
    parse_vkey,
    sign_note,
)

# The example of the signed-note specification.
SPEC_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
SPEC_NOTE = (
    "This is an example message.\n\n"
    "\u2014 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mF"
    "XmRKuwHjG1Yu72IneyaQM=\n"
).encode()

ALICE = Ed25519Signer("kluis.example/alice", hashlib.sha256(b"alice").digest())
BOB = Ed25519Signer("kluis.example/bob", hashlib.sha256(b"bob").digest())
TEXT = "kluis.example/log\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"


def test_the_specifications_example_verifies() -> None:
    verifier = parse_vkey(SPEC_VKEY)
    assert verifier.vkey == SPEC_VKEY and verifier.key_id.hex() == "530d903a"
    opened = open_note(SPEC_NOTE, [verifier])
    assert opened.text == "This is an example message.\n" and opened.signed_by(verifier)


def test_a_key_id_is_the_hash_of_name_type_and_key() -> None:
    pk = ALICE.verifier.public_key
    expected = hashlib.sha256(b"kluis.example/alice\n\x01" + pk).digest()[:4]
    assert key_id("kluis.example/alice", 1, pk) == expected == ALICE.verifier.key_id
    encoded = base64.b64encode(b"\x01" + pk).decode()
    assert ALICE.verifier.vkey == f"kluis.example/alice+{expected.hex()}+{encoded}"


def test_signing_and_opening_round_trip_with_two_keys() -> None:
    data = sign_note(TEXT, [ALICE, BOB])
    note = parse_note(data)
    assert note.text == TEXT and [s.name for s in note.signatures] == [ALICE.name, BOB.name]
    assert note.encode() == data
    opened = open_note(data, [BOB.verifier])
    assert opened.signed_by(BOB.verifier) and not opened.signed_by(ALICE.verifier)


def test_signatures_by_unknown_keys_are_ignored() -> None:
    stranger = Ed25519Signer("kluis.example/alice", hashlib.sha256(b"someone").digest())
    same_id = Signature(ALICE.name, ALICE.key_id, b"\x00" * 64)  # wrong name would be ignored
    other_name = Signature("kluis.example/alicia", ALICE.key_id, b"\x00" * 64)
    data = sign_note(TEXT, [stranger, BOB], existing=[other_name])
    assert open_note(data, [BOB.verifier]).signed_by(BOB.verifier)
    with pytest.raises(SignatureError):  # the same name and ID as a trusted key: it must verify
        open_note(sign_note(TEXT, [BOB], existing=[same_id]), [ALICE.verifier, BOB.verifier])


def test_a_note_no_trusted_key_signed_is_refused() -> None:
    with pytest.raises(SignatureError):
        open_note(sign_note(TEXT, [BOB]), [ALICE.verifier])
    with pytest.raises(SignatureError):
        open_note(sign_note(TEXT, [BOB]), [])


def test_a_failing_signature_by_a_trusted_key_refuses_the_note() -> None:
    good = parse_note(sign_note(TEXT, [ALICE, BOB]))
    sig = good.signatures[1].signature
    bad = Signature(BOB.name, BOB.key_id, bytes([sig[0] ^ 1]) + sig[1:])
    data = Note(TEXT, (good.signatures[0], bad)).encode()
    with pytest.raises(SignatureError):
        open_note(data, [ALICE.verifier, BOB.verifier])
    assert open_note(data, [ALICE.verifier]).signed_by(ALICE.verifier)  # Bob's is not trusted here


def test_a_second_signature_by_the_same_key_must_also_verify() -> None:
    good = parse_note(sign_note(TEXT, [ALICE]))
    again = Signature(ALICE.name, ALICE.key_id, b"\x00" * 64)
    with pytest.raises(SignatureError):
        open_note(Note(TEXT, (good.signatures[0], again)).encode(), [ALICE.verifier])


def test_a_changed_text_fails_the_signature() -> None:
    data = sign_note(TEXT, [ALICE])
    with pytest.raises(SignatureError):
        open_note(data.replace(b"\n3\n", b"\n4\n"), [ALICE.verifier])


def test_a_cosignature_key_does_not_verify_a_plain_signature() -> None:
    witness = Cosigner(ALICE.name, ALICE.seed)  # the same key, as a cosigner: another key ID
    assert witness.verifier.key_id != ALICE.key_id
    with pytest.raises(SignatureError):
        open_note(sign_note(TEXT, [ALICE]), [witness.verifier])


@pytest.mark.parametrize(
    "data",
    [
        b"no blank line\n\xe2\x80\x94 a AAAAAAA=\n",
        TEXT.encode() + b"\n",  # no signature
        TEXT.encode() + b"\n\xe2\x80\x94 a AAAAAAA=",  # no final newline
        TEXT.encode() + b"\n- a AAAAAAA=\n",  # a hyphen, not an em dash
        TEXT.encode() + b"\n\xe2\x80\x94 a AAAAAAA\n",  # base64 without padding
        TEXT.encode() + b"\n\xe2\x80\x94 a AAAAAAB=\n",  # non-canonical base64
        TEXT.encode() + b"\n\xe2\x80\x94 a AAAAAA==\n",  # four bytes: a key ID and no signature
        TEXT.encode() + b"\n\xe2\x80\x94 a+b AAAAAAA=\n",  # '+' in a name
        TEXT.encode() + b"\n\xe2\x80\x94 a\xc2\xa0b AAAAAAA=\n",  # a no-break space in a name
        TEXT.encode() + b"\n\xe2\x80\x94  AAAAAAA=\n",  # an empty name
        TEXT.encode() + b"\n\xe2\x80\x94 a AAAAAAA= \n",  # a trailing space
        TEXT.encode() + b"\n\xe2\x80\x94 a AAAAAAA=\n\n",  # an empty line among signatures
        b"a\tb\n\n\xe2\x80\x94 a AAAAAAA=\n",  # a tab in the text
        b"a\r\n\n\xe2\x80\x94 a AAAAAAA=\n",  # a carriage return
        b"\xff\n\n\xe2\x80\x94 a AAAAAAA=\n",  # not UTF-8
        b"\xed\xa0\x80\n\n\xe2\x80\x94 a AAAAAAA=\n",  # an encoded surrogate
        TEXT.encode() + b"\n" + b"\xe2\x80\x94 a AAAAAAA=\n" * 101,  # too many signatures
    ],
)
def test_malformed_notes_are_refused(data: bytes) -> None:
    with pytest.raises(MalformedError):
        parse_note(data)
    with pytest.raises(MalformedError):
        open_note(data, [ALICE.verifier])


def test_a_hundred_signatures_are_accepted() -> None:
    data = sign_note(TEXT, [ALICE], existing=[Signature("x", b"\x00" * 4, b"\x00")] * 99)
    assert len(parse_note(data).signatures) == 100


def test_the_text_may_contain_empty_lines_before_the_last_one() -> None:
    data = sign_note("a\n\nb\n", [ALICE])
    assert open_note(data, [ALICE.verifier]).text == "a\n\nb\n"


@pytest.mark.parametrize(
    "vkey",
    [
        SPEC_VKEY.replace("530d903a", "530d903b"),  # a key ID that is not the hash
        SPEC_VKEY.replace("530d903a", "530D903A"),  # upper case
        SPEC_VKEY.replace("example.com/foo", "example.com/bar"),  # renamed
        SPEC_VKEY + "+",
        "example.com/foo+530d903a",
        "example.com/foo+530d90+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        SPEC_VKEY[:-1],  # base64 cut
        "",
    ],
)
def test_malformed_verifier_keys_are_refused(vkey: str) -> None:
    with pytest.raises(MalformedError):
        parse_vkey(vkey)


def test_a_verifier_key_whose_base64_contains_a_plus_round_trips() -> None:
    seed = next(
        hashlib.sha256(b"%d" % i).digest()
        for i in range(1000)
        if "+" in Ed25519Signer("a", hashlib.sha256(b"%d" % i).digest()).verifier.vkey[11:]
    )
    verifier = Ed25519Signer("a", seed).verifier
    assert parse_vkey(verifier.vkey) == verifier
    witness = Cosigner("w1.example/witness", hashlib.sha256(b"w1").digest()).verifier
    assert "+" in witness.vkey.split("+", 2)[2] and parse_witness_vkey(witness.vkey) == witness


def test_a_verifier_key_of_another_type_is_refused() -> None:
    witness = Cosigner("w.example/1", b"\x01" * 32).verifier
    with pytest.raises(MalformedError):
        parse_vkey(witness.vkey)
    with pytest.raises(MalformedError):
        parse_witness_vkey(ALICE.verifier.vkey)
    assert parse_witness_vkey(witness.vkey) == witness


def test_a_verifier_key_with_a_short_key_is_refused() -> None:
    kid = key_id("a", 1, b"\x00" * 31).hex()
    encoded = base64.b64encode(b"\x01" + b"\x00" * 31).decode()
    with pytest.raises(MalformedError):
        parse_vkey(f"a+{kid}+{encoded}")


@pytest.mark.parametrize("name", ["", "a b", "a+b", "a\u2028b", "a\u3000b", "a\nb", 3])
def test_invalid_key_names(name: object) -> None:
    with pytest.raises(MalformedError):
        check_key_name(name)  # type: ignore[arg-type]


def test_names_may_be_any_other_unicode() -> None:
    assert check_key_name("gemeente.example/\u00e9\u00e9n") == "gemeente.example/\u00e9\u00e9n"
    signer = Ed25519Signer("w\u00e9.example", b"\x02" * 32)
    assert open_note(sign_note(TEXT, [signer]), [signer.verifier]).signed_by(signer.verifier)


def test_writing_a_note_refuses_what_a_reader_would() -> None:
    with pytest.raises(ValueError):
        sign_note("no newline", [ALICE])
    with pytest.raises(MalformedError):
        sign_note("a\tb\n", [ALICE])
    with pytest.raises(ValueError):
        sign_note(TEXT, [])


def test_trusting_two_keys_with_one_name_and_id_is_a_configuration_error() -> None:
    with pytest.raises(ValueError):
        open_note(sign_note(TEXT, [ALICE]), [ALICE.verifier, ALICE.verifier])


def test_an_ed25519_verifier_needs_a_32_byte_key() -> None:
    with pytest.raises(MalformedError):
        Ed25519Verifier("a", b"\x00" * 33)
    assert "seed" not in repr(ALICE) or "hidden" in repr(ALICE)
