"""Tests of vault.agefile against the real `age` and `age-keygen` binaries (v1.1.1).

`age -p` and `age -d` read passphrases from the terminal only, so the scrypt interop tests
drive them through a pseudo-terminal (`pty.fork`). Known-answer files made once by age 1.1.1
are embedded below, so the decoder is also checked against real age output without it.
"""

from __future__ import annotations

import base64
import io
import os
import pty
import random
import select
import shutil
import subprocess
import termios
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import bech32
import pytest

from vault.agefile import (
    VERSION_LINE,
    AgeIdentity,
    _b64encode,
    _header_mac,
    _Stanza,
    _stanza_bytes,
    _x25519_stanza,
    decrypt_age,
    encrypt_age,
    export_age,
    identity_file_text,
    identity_from_file_text,
    identity_from_string,
    identity_to_string,
    recipient_from_string,
    recipient_to_string,
    write_age_header,
)
from vault.errors import (
    IntegrityError,
    KeyMismatchError,
    MalformedError,
    SecurityError,
    WrongPassphrase,
)
from vault.payload import age_file_key, encrypt_payload_bytes

AGE = shutil.which("age")
AGE_KEYGEN = shutil.which("age-keygen")
needs_age = pytest.mark.skipif(AGE is None or AGE_KEYGEN is None, reason="age binaries missing")
FAST_SCRYPT = 10  # log2 N for tests; real files use 18

# Made with `age -p` (age 1.1.1), passphrase "kluis kat passphrase".
KAT_SCRYPT = base64.b64decode(
    "YWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IHNjcnlwdCA4aXpnbjRzbGZRemgwZXJnRGxaaVd3IDE4ClIwRHBsTDJz"
    "NFZ6UVZpZEtpd3dLZzJaY2tBS1luQTVOYlg1VWtIVUVPVE0KLS0tIDAvR1ZDbHhZWU1QUU9RaGk0MDVrVDR1L0dO"
    "WkJndmdkZkFZeW1hbkxNdzgKQTofbOS38JZHu2Cah1E8UPvT4/bmu0NiFo8037aFwm/9BSQufhH6eQDhDALEGYNt"
    "5quCqQWH/IPaeOd0/J3PWxjoNtgxyehpzfZR2n/r"
)
KAT_SCRYPT_PASSPHRASE = "kluis kat passphrase"
KAT_SCRYPT_PLAINTEXT = b"Kluis known-answer test: made by age 1.1.1 -p\n"

# Made with age-keygen and `age -r <this key> -r <another key>` (age 1.1.1).
KAT_IDENTITY_FILE = """# created: 2026-11-28T17:41:38Z
# public key: age1f2rmjwefas2rj7sp70k6zueur5ltah996eh0e3yeqa84mf0zya3qfq0rcf
AGE-SECRET-KEY-1CE64L34YL7FRA6AKVLQJSUGA5PLARDP0X7M5URGSYSRL44DXH88QH6ZU4X
"""
KAT_X25519 = base64.b64decode(
    "YWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IFgyNTUxOSBSdGtzTHNIZ0FVK2VaQUNKRzlVN2FtTGJrS2tKZ210bVhZ"
    "Q1JJT01uQ0ZvCndxMnhieFhjVWIvbWh2YXFMSnlhbWRtYUc5ZjdiSnIzUjQxdEo1bnNvcTgKLT4gWDI1NTE5IGQ4"
    "QVkxYUlodW1sY2hXdVg5QTkzZXNLbjhCRldIT3NJejFxWk5vV2xJbG8KTkRUcGt2dk1TRUE1VFlVelgyUDdjYVNJ"
    "eGZmeHdNWDFsdytOU2RkcVpIdwotLS0gdlplU2o0R1pIMlh3MXJaRFRnK0VWMkUrczlKNHZ6emJoQmwxRkRkQ1Y3"
    "RQq/79q6r84LUYbZGdDhM2lvlrRD5XfT0JiEs+caVoRfIK1gS3/c73Je9BViafyoFfKiD3Ec0xrP37mUn550FLTW"
    "T8NMcyH63xQjVrqcnhQ="
)
KAT_X25519_PLAINTEXT = b"Kluis known-answer test: made by age 1.1.1 -r\n"

IDENTITY = AgeIdentity(bytes(range(32)))
OTHER = AgeIdentity(bytes(range(1, 33)))


def decrypt(blob: bytes, **how: object) -> bytes:
    out = io.BytesIO()
    decrypt_age(io.BytesIO(blob), out, **how)  # type: ignore[arg-type]
    return out.getvalue()


def encrypted(plaintext: bytes = b"hello age", **how: object) -> bytes:
    out = io.BytesIO()
    encrypt_age(io.BytesIO(plaintext), out, **how)  # type: ignore[arg-type]
    return out.getvalue()


def to_identity(plaintext: bytes = b"hello age") -> bytes:
    return encrypted(plaintext, recipients=[IDENTITY.public_key])


def header_with(stanzas: list[bytes], file_key: bytes) -> bytes:
    """A header over hand-made stanza text, with a correct MAC."""
    covered = VERSION_LINE + b"".join(stanzas) + b"---"
    return covered + b" " + _b64encode(_header_mac(file_key, covered)) + b"\n"


def split_header(blob: bytes) -> tuple[bytes, bytes]:
    end = blob.index(b"\n---") + 1
    end = blob.index(b"\n", end) + 1
    return blob[:end], blob[end:]


def run_with_passphrase(args: list[str], passphrase: str, timeout: float = 60) -> int:
    """Run age on a pseudo-terminal, typing `passphrase` at each passphrase prompt."""
    pid, fd = pty.fork()
    if pid == 0:  # child: age opens the pty as its terminal
        try:
            os.execv(AGE or "age", ["age", *args])  # noqa: S606 (fixed binary, no shell)
        finally:
            os._exit(127)
    seen, answered = b"", 0
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(fd, 1024)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not chunk:
                    break
                seen += chunk
            if seen.count(b"passphrase") > answered and seen.rstrip().endswith(b":"):
                # Wait until age has turned echo off, so the passphrase is read, not shown.
                if termios.tcgetattr(fd)[3] & termios.ECHO:
                    continue
                os.write(fd, passphrase.encode() + b"\n")
                answered = seen.count(b"passphrase")
        else:
            os.kill(pid, 9)
            raise TimeoutError(seen.decode(errors="replace"))
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    return os.waitstatus_to_exitcode(status)


# ---- key strings -------------------------------------------------------------------------


def test_identity_string_round_trip() -> None:
    text = identity_to_string(IDENTITY)
    assert text.startswith("AGE-SECRET-KEY-1") and text == text.upper() and len(text) == 74
    assert identity_from_string(text) == IDENTITY
    recipient = recipient_to_string(IDENTITY.public_key)
    assert recipient.startswith("age1") and len(recipient) == 62
    assert recipient_from_string(recipient) == IDENTITY.public_key


def test_identity_repr_hides_the_secret() -> None:
    assert IDENTITY.secret.hex() not in repr(IDENTITY)
    assert identity_to_string(IDENTITY) not in repr(IDENTITY)


def test_identity_file_round_trip() -> None:
    text = identity_file_text(IDENTITY, created=datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC))
    assert text.splitlines()[0] == "# created: 2024-05-06T07:08:09Z"
    assert text.splitlines()[1] == "# public key: " + recipient_to_string(IDENTITY.public_key)
    assert identity_from_file_text(text) == IDENTITY
    assert identity_from_file_text("\n\n# note\r\n" + identity_to_string(IDENTITY) + "\r\n\n") == (
        IDENTITY
    )


def test_kat_identity_file_from_age_keygen() -> None:
    identity = identity_from_file_text(KAT_IDENTITY_FILE)
    assert recipient_to_string(identity.public_key) == (
        "age1f2rmjwefas2rj7sp70k6zueur5ltah996eh0e3yeqa84mf0zya3qfq0rcf"
    )
    assert identity_to_string(identity) == KAT_IDENTITY_FILE.splitlines()[2]


@pytest.mark.parametrize(
    "text",
    ["", "# only a comment\n", identity_to_string(IDENTITY) + "\n" + identity_to_string(OTHER)],
)
def test_identity_file_must_hold_exactly_one_identity(text: str) -> None:
    with pytest.raises(MalformedError, match="expected one identity"):
        identity_from_file_text(text)


def bech32m(hrp: str, payload: bytes) -> str:
    """Encode with the Bech32m constant: a checksum age must not accept."""
    words = bech32.convertbits(list(payload), 8, 5, True)
    values = bech32.bech32_hrp_expand(hrp) + words
    polymod = bech32.bech32_polymod([*values, 0, 0, 0, 0, 0, 0]) ^ 0x2BC830A3
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(bech32.CHARSET[d] for d in words + checksum)


def flip_char(text: str, index: int) -> str:
    alphabet = bech32.CHARSET.upper() if text[index].isupper() else bech32.CHARSET
    other = alphabet[(alphabet.index(text[index]) + 1) % 32]
    return text[:index] + other + text[index + 1 :]


GOOD_SECRET = identity_to_string(IDENTITY)
GOOD_RECIPIENT = recipient_to_string(IDENTITY.public_key)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "AGE-SECRET-KEY-1",
        flip_char(GOOD_SECRET, 30),  # checksum catches a typo
        flip_char(GOOD_SECRET, -1),
        GOOD_SECRET.lower(),  # age requires upper case identities
        GOOD_SECRET[:40] + GOOD_SECRET[40:].lower(),  # mixed case
        GOOD_SECRET[:-1],  # truncated
        GOOD_SECRET + "Q",
        GOOD_RECIPIENT,  # a recipient is not an identity
        bech32m("age-secret-key-", bytes(32)).upper(),  # Bech32m, not Bech32
        bech32.bech32_encode("age-secret-key-", bech32.convertbits(list(bytes(31)), 8, 5)).upper(),
        GOOD_SECRET.replace("1", "b", 2),
        "AGE-SECRET-KEY-1" + "I" * 58,  # not in the Bech32 alphabet
    ],
)
def test_bad_identity_strings(text: str) -> None:
    with pytest.raises(MalformedError):
        identity_from_string(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "age1",
        flip_char(GOOD_RECIPIENT, 20),
        GOOD_RECIPIENT.upper(),
        GOOD_RECIPIENT[:-2],
        GOOD_SECRET,
        bech32m("age", IDENTITY.public_key),
        bech32.bech32_encode("age", bech32.convertbits(list(bytes(33)), 8, 5)),
        bech32.bech32_encode("ageX".lower(), bech32.convertbits(list(bytes(32)), 8, 5)),
    ],
)
def test_bad_recipient_strings(text: str) -> None:
    with pytest.raises(MalformedError):
        recipient_from_string(text)


@pytest.mark.parametrize("bad", [b"age1..", None, 42])
def test_non_string_key_input(bad: object) -> None:
    with pytest.raises(MalformedError):
        recipient_from_string(bad)  # type: ignore[arg-type]
    with pytest.raises(MalformedError):
        identity_from_string(bad)  # type: ignore[arg-type]


@needs_age
def test_age_keygen_derives_our_recipient(tmp_path: Path) -> None:
    for identity in (IDENTITY, AgeIdentity.generate()):
        path = tmp_path / "identity.txt"
        path.write_text(identity_file_text(identity))
        out = subprocess.run([AGE_KEYGEN or "", "-y", str(path)], capture_output=True, check=True)
        assert out.stdout.decode().strip() == recipient_to_string(identity.public_key)


@needs_age
def test_we_parse_what_age_keygen_writes(tmp_path: Path) -> None:
    path = tmp_path / "key.txt"
    subprocess.run([AGE_KEYGEN or "", "-o", str(path)], capture_output=True, check=True)
    text = path.read_text()
    identity = identity_from_file_text(text)
    assert f"# public key: {recipient_to_string(identity.public_key)}\n" in text


# ---- interop with the age binary ---------------------------------------------------------


@needs_age
@pytest.mark.parametrize("size", [0, 1, 65536, 200_000])
def test_age_decrypts_an_exported_vault_payload(tmp_path: Path, size: int) -> None:
    plaintext = os.urandom(size)
    key = age_file_key(os.urandom(32))
    payload = encrypt_payload_bytes(plaintext, key)
    exported = io.BytesIO()
    export_age(io.BytesIO(payload), exported, key, recipients=[GOOD_RECIPIENT])
    _, rest = split_header(exported.getvalue())
    assert rest == payload  # the stored payload is copied, not re-encrypted
    (tmp_path / "id.txt").write_text(identity_file_text(IDENTITY))
    (tmp_path / "doc.age").write_bytes(exported.getvalue())
    out = subprocess.run(
        [AGE or "", "-d", "-i", str(tmp_path / "id.txt"), str(tmp_path / "doc.age")],
        capture_output=True,
        check=True,
    )
    assert out.stdout == plaintext
    assert decrypt(exported.getvalue(), identity=IDENTITY) == plaintext


@needs_age
@pytest.mark.parametrize("size", [0, 1, 65536, 200_000])
def test_we_decrypt_what_age_encrypts_to_our_recipient(tmp_path: Path, size: int) -> None:
    plaintext = os.urandom(size)
    (tmp_path / "plain").write_bytes(plaintext)
    other = AgeIdentity.generate()
    subprocess.run(
        [
            *(AGE or "", "-r", recipient_to_string(other.public_key), "-r", GOOD_RECIPIENT),
            *("-o", str(tmp_path / "x.age"), str(tmp_path / "plain")),
        ],
        check=True,
    )
    blob = (tmp_path / "x.age").read_bytes()
    assert decrypt(blob, identity=IDENTITY) == plaintext
    assert decrypt(blob, identity=other) == plaintext
    with pytest.raises(KeyMismatchError, match="not encrypted to your Kluis age identity"):
        decrypt(blob, identity=OTHER)


@needs_age
def test_age_decrypts_our_scrypt_file_through_a_terminal(tmp_path: Path) -> None:
    plaintext = b"passphrase protected\n" * 100
    key = age_file_key(os.urandom(32))
    exported = io.BytesIO()
    export_age(
        io.BytesIO(encrypt_payload_bytes(plaintext, key)),
        exported,
        key,
        passphrase="correct horse",
        _scrypt_log_n=FAST_SCRYPT,
    )
    (tmp_path / "p.age").write_bytes(exported.getvalue())
    status = run_with_passphrase(
        ["-d", "-o", str(tmp_path / "out"), str(tmp_path / "p.age")], "correct horse"
    )
    assert status == 0
    assert (tmp_path / "out").read_bytes() == plaintext


@needs_age
def test_we_decrypt_what_age_p_writes_through_a_terminal(tmp_path: Path) -> None:
    plaintext = os.urandom(70_000)
    (tmp_path / "plain").write_bytes(plaintext)
    status = run_with_passphrase(
        ["-p", "-o", str(tmp_path / "p.age"), str(tmp_path / "plain")], "battery staple"
    )
    assert status == 0
    blob = (tmp_path / "p.age").read_bytes()
    assert b"\n-> scrypt " in blob.split(b"\n---")[0]
    assert decrypt(blob, passphrase="battery staple") == plaintext


def test_known_answer_scrypt_file_from_age() -> None:
    assert decrypt(KAT_SCRYPT, passphrase=KAT_SCRYPT_PASSPHRASE) == KAT_SCRYPT_PLAINTEXT
    with pytest.raises(WrongPassphrase):
        decrypt(KAT_SCRYPT, passphrase="kluis kat passphrasf")
    with pytest.raises(KeyMismatchError, match="passphrase-protected"):
        decrypt(KAT_SCRYPT, identity=IDENTITY)


def test_known_answer_x25519_file_from_age() -> None:
    identity = identity_from_file_text(KAT_IDENTITY_FILE)
    assert decrypt(KAT_X25519, identity=identity) == KAT_X25519_PLAINTEXT
    with pytest.raises(KeyMismatchError):
        decrypt(KAT_X25519, identity=IDENTITY)
    with pytest.raises(KeyMismatchError, match="not protected by a passphrase"):
        decrypt(KAT_X25519, passphrase="anything")


# ---- our own round trips -----------------------------------------------------------------


def test_passphrase_round_trip() -> None:
    blob = encrypted(b"secret identity", passphrase="pw", _scrypt_log_n=FAST_SCRYPT)
    assert blob.startswith(VERSION_LINE + b"-> scrypt ")
    assert b" 10\n" in blob.split(b"\n---")[0]
    assert decrypt(blob, passphrase="pw") == b"secret identity"
    with pytest.raises(WrongPassphrase):
        decrypt(blob, passphrase="PW")


def test_default_scrypt_work_factor_is_ages() -> None:
    header = io.BytesIO()
    write_age_header(header, bytes(16), passphrase="pw")
    assert header.getvalue().split(b"\n")[1].endswith(b" 18")


def test_several_recipients_each_open_the_file() -> None:
    blob = encrypted(
        b"shared", recipients=[IDENTITY.public_key, recipient_to_string(OTHER.public_key)]
    )
    assert decrypt(blob, identity=IDENTITY) == decrypt(blob, identity=OTHER) == b"shared"


def test_unknown_stanza_types_are_skipped() -> None:
    key = bytes(range(16))
    unknown = _stanza_bytes(_Stanza(b"ssh-ed25519", (b"abc", b"def"), os.urandom(70)))
    ours = _stanza_bytes(_x25519_stanza(key, IDENTITY.public_key))
    blob = header_with([unknown, ours], key) + encrypt_payload_bytes(b"x", key)
    assert decrypt(blob, identity=IDENTITY) == b"x"


@pytest.mark.parametrize("size", [0, 1, 47, 48, 49, 96, 100])
def test_stanza_body_wrapping(size: int) -> None:
    key = bytes(range(16))
    body = os.urandom(size)
    text = _stanza_bytes(_Stanza(b"other", (), body))
    lines = text.split(b"\n")[1:-1]
    assert all(len(line) == 64 for line in lines[:-1]) and len(lines[-1]) < 64
    ours = _stanza_bytes(_x25519_stanza(key, IDENTITY.public_key))
    blob = header_with([text, ours], key) + encrypt_payload_bytes(b"y", key)
    assert decrypt(blob, identity=IDENTITY) == b"y"


def test_export_writes_header_then_payload_unchanged() -> None:
    key = bytes(range(16))
    payload = encrypt_payload_bytes(b"document", key)
    out = io.BytesIO()
    export_age(io.BytesIO(payload), out, key, recipients=[IDENTITY.public_key])
    header, rest = split_header(out.getvalue())
    assert header.startswith(VERSION_LINE) and rest == payload


# ---- header parser: failures -------------------------------------------------------------


def rejected(blob: bytes, error: type[Exception], match: str | None = None, **how: object) -> None:
    how = how or {"identity": IDENTITY}
    with pytest.raises(error, match=match):
        decrypt(blob, **how)


def test_bad_mac() -> None:
    header, payload = split_header(to_identity())
    mac_line_at = header.rindex(b"--- ") + 4
    altered = bytearray(header)
    altered[mac_line_at + 5] = ord("A") if altered[mac_line_at + 5] != ord("A") else ord("B")
    rejected(bytes(altered) + payload, IntegrityError, "MAC does not verify")


def test_header_altered_outside_our_stanza_breaks_the_mac() -> None:
    header, payload = split_header(to_identity())
    extra = b"-> unknown arg\n\n"
    at = header.index(b"---")
    rejected(header[:at] + extra + header[at:] + payload, IntegrityError, "MAC does not verify")


def test_altered_stanza_body_or_share() -> None:
    header, payload = split_header(to_identity())
    lines = header.split(b"\n")
    body = bytearray(base64.b64decode(lines[2] + b"="))
    body[0] ^= 1
    lines[2] = _b64encode(bytes(body))
    rejected(b"\n".join(lines) + payload, KeyMismatchError)
    lines = header.split(b"\n")
    share = bytearray(base64.b64decode(lines[1].split(b" ")[2] + b"="))
    share[5] ^= 1
    lines[1] = b"-> X25519 " + _b64encode(bytes(share))
    rejected(b"\n".join(lines) + payload, KeyMismatchError)


def test_wrong_identity() -> None:
    rejected(
        to_identity(), KeyMismatchError, "not encrypted to your Kluis age identity", identity=OTHER
    )


def test_altered_payload_after_a_good_header() -> None:
    blob = bytearray(to_identity(b"z" * 1000))
    blob[-3] ^= 1
    rejected(bytes(blob), IntegrityError, "payload: chunk 0 failed")
    rejected(bytes(blob[:-20]), IntegrityError, "payload")


@pytest.mark.parametrize(
    ("blob", "match"),
    [
        (b"", "not an age file"),
        (b"garbage\n", "not an age file"),
        (random.Random(5).randbytes(5000), "not an age file"),
        (b"age-encryption.org/v2\n-> X25519 x\n\n--- x\n", "unsupported format version"),
        (b"-----BEGIN AGE ENCRYPTED FILE-----\nYWdl\n", "armored"),
        (b"age-encryption.org/v1", "truncated"),
        (b"age-encryption.org/", "truncated"),
        (b"age-encryption.org/v1 \n", "unsupported format version"),
    ],
)
def test_not_an_age_file(blob: bytes, match: str) -> None:
    rejected(blob, MalformedError, match)


def test_truncated_headers() -> None:
    blob = to_identity()
    header, _ = split_header(blob)
    for cut in range(len(VERSION_LINE), len(header)):
        with pytest.raises(MalformedError):
            decrypt(blob[:cut], identity=IDENTITY)


def test_missing_final_newline_of_mac_line() -> None:
    header, _ = split_header(to_identity())
    rejected(header[:-1], MalformedError, "truncated")


def test_header_only_means_truncated_payload() -> None:
    header, _ = split_header(to_identity())
    rejected(header, IntegrityError, "too short for a nonce")


def replace_line(blob: bytes, index: int, new: bytes) -> bytes:
    lines = blob.split(b"\n")
    lines[index] = new
    return b"\n".join(lines)


def test_non_canonical_base64() -> None:
    blob = to_identity()
    lines = blob.split(b"\n")
    share = lines[1].split(b" ")[2]
    last = base64.b64decode(b"AAA" + share[-1:])[-1]  # 43 chars: the last carries 2 spare bits
    sloppy = share[:-1] + _b64encode(bytes([0, 0, last | 1]))[-1:]
    assert sloppy != share and base64.b64decode(sloppy + b"=") == base64.b64decode(share + b"=")
    rejected(replace_line(blob, 1, b"-> X25519 " + sloppy), MalformedError, "not canonical")
    rejected(replace_line(blob, 1, b"-> X25519 " + share + b"="), MalformedError, "base64")
    rejected(replace_line(blob, 2, lines[2] + b"="), MalformedError, "base64")
    rejected(replace_line(blob, 2, lines[2][:-1] + b"!"), MalformedError, "base64")
    mac_line = lines[3]
    rejected(replace_line(blob, 3, mac_line + b"="), MalformedError, "base64")


def test_body_line_rules() -> None:
    key = bytes(range(16))
    ours = _stanza_bytes(_x25519_stanza(key, IDENTITY.public_key))
    payload = encrypt_payload_bytes(b"q", key)
    full_line = _b64encode(bytes(48))
    assert len(full_line) == 64
    # A body that ends on a full line with no shorter line after it swallows the MAC line.
    unterminated = b"-> other\n" + full_line + b"\n"
    rejected(header_with([unterminated, ours], key) + payload, MalformedError)
    too_long = b"-> other\n" + _b64encode(bytes(51)) + b"\n"
    rejected(header_with([too_long, ours], key) + payload, MalformedError, "longer than 64")
    blank_arg = b"-> other  x\n\n"
    rejected(header_with([blank_arg, ours], key) + payload, MalformedError, "argument")
    bad_char = b"-> other \x7f\n\n"
    rejected(header_with([bad_char, ours], key) + payload, MalformedError, "argument")
    no_type = b"->\n\n"
    rejected(header_with([no_type, ours], key) + payload, MalformedError, "expected a stanza")
    no_space = b"->other\n\n"
    rejected(header_with([no_space, ours], key) + payload, MalformedError, "expected a stanza")


def test_mac_line_rules() -> None:
    blob = to_identity()
    lines = blob.split(b"\n")
    rejected(replace_line(blob, 3, lines[3] + b" extra"), MalformedError, "MAC line")
    rejected(replace_line(blob, 3, lines[3].replace(b"--- ", b"---")), MalformedError, "MAC")
    rejected(replace_line(blob, 3, b"--- " + _b64encode(bytes(16))), MalformedError, "length")
    rejected(replace_line(blob, 3, b"---- " + lines[3][4:]), MalformedError, "MAC line")


def test_no_stanzas() -> None:
    rejected(header_with([], bytes(16)) + b"x" * 40, MalformedError, "no recipient stanzas")


def test_scrypt_must_be_the_only_stanza() -> None:
    key = bytes(range(16))
    header = io.BytesIO()
    write_age_header(header, key, passphrase="pw", _scrypt_log_n=FAST_SCRYPT)
    scrypt = header.getvalue().split(b"\n---")[0][len(VERSION_LINE) :] + b"\n"
    ours = _stanza_bytes(_x25519_stanza(key, IDENTITY.public_key))
    blob = header_with([ours, scrypt], key) + encrypt_payload_bytes(b"q", key)
    rejected(blob, MalformedError, "only stanza")
    rejected(blob, MalformedError, "only stanza", passphrase="pw")


def scrypt_blob(args: bytes, body: bytes | None = None) -> bytes:
    key = bytes(range(16))
    body = os.urandom(32) if body is None else body
    stanza = b"-> scrypt " + args + b"\n" + _b64encode(body) + b"\n"
    return header_with([stanza], key) + encrypt_payload_bytes(b"q", key)


SALT = _b64encode(bytes(16))


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (SALT + b" 23", "too large"),
        (SALT + b" 99999999999999999999", "too large"),
        (SALT + b" 018", "decimal"),
        (SALT + b" 0", "decimal"),
        (SALT + b" -1", "decimal"),
        (SALT + b" x", "decimal"),
        (SALT, "malformed scrypt"),
        (SALT + b" 10 extra", "malformed scrypt"),
        (_b64encode(bytes(15)) + b" 10", "salt"),
    ],
)
def test_bad_scrypt_stanzas(args: bytes, match: str) -> None:
    rejected(scrypt_blob(args), MalformedError, match, passphrase="pw")


def test_scrypt_body_of_wrong_length() -> None:
    rejected(scrypt_blob(SALT + b" 10", bytes(31)), MalformedError, "scrypt", passphrase="pw")


def x25519_blob(args: bytes, body: bytes) -> bytes:
    key = bytes(range(16))
    stanza = b"-> X25519 " + args + b"\n" + _b64encode(body) + b"\n"
    return header_with([stanza], key) + encrypt_payload_bytes(b"q", key)


@pytest.mark.parametrize(
    ("args", "body", "match"),
    [
        (_b64encode(bytes(32)), bytes(32), "low-order"),  # all-zero share
        (_b64encode(bytes([1]) + bytes(31)), bytes(32), "low-order"),  # order-1 point
        (_b64encode(bytes(31)), bytes(32), "wrong length"),
        (_b64encode(bytes(range(9, 41))), bytes(31), "malformed X25519"),
        (_b64encode(bytes(range(9, 41))) + b" extra", bytes(32), "malformed X25519"),
    ],
)
def test_bad_x25519_stanzas(args: bytes, body: bytes, match: str) -> None:
    rejected(x25519_blob(args, body), MalformedError, match)


def test_oversized_header_lines() -> None:
    rejected(VERSION_LINE + b"-> " + b"a" * 10_000 + b"\n", MalformedError, "too long")
    many = VERSION_LINE + b"-> other\n\n" * 200_000
    rejected(many, MalformedError, "larger than")


# ---- API misuse --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda: write_age_header(io.BytesIO(), bytes(16)),
        lambda: write_age_header(io.BytesIO(), bytes(16), recipients=[], passphrase="x"),
        lambda: write_age_header(io.BytesIO(), bytes(16), recipients=[]),
        lambda: write_age_header(io.BytesIO(), bytes(16), recipients=GOOD_RECIPIENT),  # type: ignore[arg-type]
        lambda: decrypt_age(io.BytesIO(), io.BytesIO()),
        lambda: decrypt_age(io.BytesIO(), io.BytesIO(), identity=IDENTITY, passphrase="x"),
        lambda: decrypt_age(io.BytesIO(), io.BytesIO(), identity="AGE-SECRET-KEY-1"),  # type: ignore[arg-type]
    ],
)
def test_argument_errors(call: Callable[[], object]) -> None:
    with pytest.raises(TypeError):
        call()


@pytest.mark.parametrize(
    "call",
    [
        lambda: write_age_header(io.BytesIO(), bytes(32), passphrase="x"),
        lambda: write_age_header(io.BytesIO(), bytes(16), passphrase=""),
        lambda: write_age_header(io.BytesIO(), bytes(16), recipients=[bytes(31)]),
        lambda: AgeIdentity(bytes(31)),
        lambda: recipient_to_string(bytes(33)),
    ],
)
def test_value_errors(call: Callable[[], object]) -> None:
    with pytest.raises(ValueError):
        call()


def test_low_order_recipient_is_refused_when_encrypting() -> None:
    with pytest.raises(MalformedError, match="low-order"):
        write_age_header(io.BytesIO(), bytes(16), recipients=[bytes(32)])


def test_bad_recipient_string_when_encrypting() -> None:
    with pytest.raises(MalformedError):
        write_age_header(io.BytesIO(), bytes(16), recipients=["age1nope"])


def test_every_failure_is_a_security_error_or_wrong_passphrase() -> None:
    blob = bytearray(to_identity())
    for position in range(0, len(blob), 7):
        mutated = bytearray(blob)
        mutated[position] ^= 0x04
        try:
            decrypt(bytes(mutated), identity=IDENTITY)
        except SecurityError:
            continue
        pytest.fail(f"flipping byte {position} was not detected")
