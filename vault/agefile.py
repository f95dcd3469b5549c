"""Interoperability with age: reading and writing age v1 files (https://age-encryption.org/v1).

A Kluis payload *is* an age v1 payload (`vault.payload`), so exporting a document to age means
writing an age header that wraps the document's 16-byte age file key and copying the stored
payload bytes after it unchanged. This module implements that header:

    age-encryption.org/v1
    -> X25519 <base64 ephemeral share>          one stanza per recipient, or a single
    <base64 body, wrapped at 64 columns>        "-> scrypt <base64 salt> <log2 N>" stanza
    --- <base64 HMAC-SHA256 of the header up to and including "---">

with the X25519 and scrypt recipient types of the spec, and the Bech32 encodings of keys
("age1..." recipients, "AGE-SECRET-KEY-1..." identities) and the identity file age-keygen
writes. Parsing is strict, as in age's Go implementation: base64 must be canonical and
unpadded, body lines are full 64-column lines ending in one shorter line, and the header MAC
must verify before a single payload byte is decrypted. Other recipient types (plugins, ssh)
are not implemented; their stanzas are skipped when decrypting with an X25519 identity.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import BinaryIO, Final

import bech32
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .errors import IntegrityError, KeyMismatchError, MalformedError, WrongPassphrase
from .payload import AGE_FILE_KEY_SIZE, decrypt_payload, encrypt_payload

__all__ = [
    "AgeIdentity",
    "decrypt_age",
    "encrypt_age",
    "export_age",
    "identity_file_text",
    "identity_from_file_text",
    "identity_from_string",
    "identity_to_string",
    "recipient_from_string",
    "recipient_to_string",
    "write_age_header",
]

VERSION_LINE: Final = b"age-encryption.org/v1\n"
VERSION_PREFIX: Final = b"age-encryption.org/"
ARMOR_PREFIX: Final = b"-----BEGIN AGE ENCRYPTED FILE-----"
STANZA_PREFIX: Final = b"->"
MAC_PREFIX: Final = b"---"
HEADER_MAC_INFO: Final = b"header"
MAC_SIZE: Final = 32  # HMAC-SHA256
COLUMNS: Final = 64  # base64 characters per full body line
# A header is small (a few hundred bytes per recipient); the bounds keep a hostile file from
# making the parser read or hold an unbounded amount before anything is authenticated.
MAX_LINE: Final = 4096
MAX_HEADER_SIZE: Final = 1 << 20

KEY_SIZE: Final = 32  # X25519 scalars and points, wrap keys
WRAP_NONCE: Final = bytes(12)  # each wrap key encrypts exactly one file key: zero nonce is safe
WRAPPED_KEY_SIZE: Final = AGE_FILE_KEY_SIZE + 16  # file key + Poly1305 tag
X25519_TYPE: Final = b"X25519"
X25519_INFO: Final = b"age-encryption.org/v1/X25519"
SCRYPT_TYPE: Final = b"scrypt"
SCRYPT_SALT_LABEL: Final = b"age-encryption.org/v1/scrypt"
SCRYPT_SALT_SIZE: Final = 16
SCRYPT_LOG_N: Final = 18  # what `age -p` uses
SCRYPT_MAX_LOG_N: Final = 22  # age's own decoding limit: N=2**22 needs 4 GiB already
SCRYPT_R: Final = 8
SCRYPT_P: Final = 1

SECRET_KEY_HRP: Final = "AGE-SECRET-KEY-"  # noqa: S105 (a Bech32 prefix, not a password)
RECIPIENT_HRP: Final = "age"
COPY_BUFFER: Final = 1 << 20

_BASE64 = re.compile(rb"[A-Za-z0-9+/]*")
_DECIMAL = re.compile(rb"[1-9][0-9]*")


@dataclass(frozen=True, slots=True)
class AgeIdentity:
    """An age X25519 identity: the 32-byte secret scalar ("AGE-SECRET-KEY-1...")."""

    secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.secret, bytes) or len(self.secret) != KEY_SIZE:
            raise ValueError(f"an age identity is {KEY_SIZE} bytes")

    @classmethod
    def generate(cls) -> AgeIdentity:
        return cls(os.urandom(KEY_SIZE))

    @property
    def public_key(self) -> bytes:
        """The X25519 public key: what an "age1..." recipient string encodes."""
        return X25519PrivateKey.from_private_bytes(self.secret).public_key().public_bytes_raw()


@dataclass(frozen=True, slots=True)
class _Stanza:
    type: bytes
    args: tuple[bytes, ...]
    body: bytes


# ---- Bech32 key strings ------------------------------------------------------------------


def _bech32_encode(hrp: str, data: bytes) -> str:
    words = bech32.convertbits(list(data), 8, 5, True)
    assert words is not None  # padding is allowed when encoding, so this cannot fail
    return str(bech32.bech32_encode(hrp, words))


def _bech32_decode(text: str, hrp: str, what: str) -> bytes:
    # age compares the human-readable part case-sensitively (identities upper, recipients
    # lower); the reference decoder lower-cases it, so check the prefix and case here.
    if not isinstance(text, str):
        raise MalformedError(f"{what}: expected a string")
    text = text.strip()
    case = "upper" if hrp.isupper() else "lower"
    if text != getattr(text, case)() or not text.startswith(hrp + "1"):
        raise MalformedError(f"{what}: must start with {hrp}1 and be all {case} case")
    got_hrp, words = bech32.bech32_decode(text)
    if got_hrp != hrp.lower() or words is None:
        raise MalformedError(f"{what}: not valid Bech32 (typo or truncated?)")
    data = bech32.convertbits(words, 5, 8, False)
    if data is None or len(data) != KEY_SIZE:
        raise MalformedError(f"{what}: does not encode a {KEY_SIZE}-byte key")
    return bytes(data)


def identity_to_string(identity: AgeIdentity) -> str:
    """Encode an identity as age does: "AGE-SECRET-KEY-1..." (Bech32, upper case)."""
    return _bech32_encode(SECRET_KEY_HRP.lower(), identity.secret).upper()


def identity_from_string(text: str) -> AgeIdentity:
    """Parse an "AGE-SECRET-KEY-1..." string; raises `MalformedError` if it is not one."""
    return AgeIdentity(_bech32_decode(text, SECRET_KEY_HRP, "age identity"))


def recipient_to_string(public_key: bytes) -> str:
    """Encode an X25519 public key as an "age1..." recipient string."""
    if not isinstance(public_key, bytes) or len(public_key) != KEY_SIZE:
        raise ValueError(f"an age recipient is a {KEY_SIZE}-byte X25519 public key")
    return _bech32_encode(RECIPIENT_HRP, public_key)


def recipient_from_string(text: str) -> bytes:
    """Parse an "age1..." recipient string into the 32-byte X25519 public key."""
    return _bech32_decode(text, RECIPIENT_HRP, "age recipient")


def identity_file_text(identity: AgeIdentity, *, created: datetime | None = None) -> str:
    """The identity file age-keygen writes: two comment lines, then the secret key."""
    when = (created or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        f"# created: {when}\n"
        f"# public key: {recipient_to_string(identity.public_key)}\n"
        f"{identity_to_string(identity)}\n"
    )


def identity_from_file_text(text: str) -> AgeIdentity:
    """Parse an age identity file holding exactly one identity; `#` and blank lines skipped."""
    found = [
        identity_from_string(line)
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if len(found) != 1:
        raise MalformedError(f"age identity file: expected one identity, found {len(found)}")
    return found[0]


# ---- header encoding ---------------------------------------------------------------------


def _b64encode(data: bytes) -> bytes:
    return base64.b64encode(data).rstrip(b"=")


def _b64decode(text: bytes, what: str) -> bytes:
    """Decode unpadded standard base64, accepting only the canonical encoding (as age does)."""
    if not _BASE64.fullmatch(text) or len(text) % 4 == 1:
        raise MalformedError(f"age header: {what} is not unpadded base64")
    data = base64.b64decode(text + b"=" * (-len(text) % 4))
    if _b64encode(data) != text:  # non-zero unused bits: another encoding of the same bytes
        raise MalformedError(f"age header: {what} is not canonical base64")
    return data


def _stanza_bytes(stanza: _Stanza) -> bytes:
    encoded = _b64encode(stanza.body)
    # Full 64-column lines, then always one shorter (possibly empty) line to end the body.
    full = len(encoded) // COLUMNS * COLUMNS
    lines = [encoded[i : i + COLUMNS] for i in range(0, full, COLUMNS)] + [encoded[full:]]
    first = b" ".join((STANZA_PREFIX, stanza.type, *stanza.args))
    return first + b"\n" + b"".join(line + b"\n" for line in lines)


def _hkdf(ikm: bytes, salt: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=KEY_SIZE, salt=salt, info=info).derive(ikm)


def _header_mac(file_key: bytes, header: bytes) -> bytes:
    return hmac.digest(_hkdf(file_key, b"", HEADER_MAC_INFO), header, "sha256")


def _x25519_wrap_key(secret: X25519PrivateKey, public: bytes, share: bytes, to: bytes) -> bytes:
    """HKDF of the X25519 shared secret, refusing an all-zero one (a low-order point)."""
    try:
        shared = secret.exchange(X25519PublicKey.from_public_bytes(public))
    except ValueError:  # OpenSSL itself refuses to output the all-zero secret
        shared = bytes(KEY_SIZE)
    if shared == bytes(KEY_SIZE):  # anyone could compute it: it protects nothing
        raise MalformedError("age: X25519 key is a low-order point (all-zero shared secret)")
    return _hkdf(shared, share + to, X25519_INFO)


def _x25519_stanza(file_key: bytes, recipient: bytes) -> _Stanza:
    ephemeral = X25519PrivateKey.generate()
    share = ephemeral.public_key().public_bytes_raw()
    wrap_key = _x25519_wrap_key(ephemeral, recipient, share, recipient)
    body = ChaCha20Poly1305(wrap_key).encrypt(WRAP_NONCE, file_key, None)
    return _Stanza(X25519_TYPE, (_b64encode(share),), body)


def _scrypt_key(passphrase: str, salt: bytes, log_n: int) -> bytes:
    n = 1 << log_n
    return hashlib.scrypt(
        passphrase.encode("utf-8"),
        salt=SCRYPT_SALT_LABEL + salt,
        n=n,
        r=SCRYPT_R,
        p=SCRYPT_P,
        dklen=KEY_SIZE,
        maxmem=2 * 128 * SCRYPT_R * n,  # scrypt needs 128*r*N bytes; leave OpenSSL headroom
    )


def _scrypt_stanza(file_key: bytes, passphrase: str, log_n: int) -> _Stanza:
    salt = os.urandom(SCRYPT_SALT_SIZE)
    wrap = ChaCha20Poly1305(_scrypt_key(passphrase, salt, log_n))
    body = wrap.encrypt(WRAP_NONCE, file_key, None)
    return _Stanza(SCRYPT_TYPE, (_b64encode(salt), str(log_n).encode()), body)


def _stanzas(
    file_key: bytes,
    recipients: Sequence[bytes | str] | None,
    passphrase: str | None,
    scrypt_log_n: int,
) -> list[_Stanza]:
    if (recipients is None) == (passphrase is None):
        raise TypeError("pass either recipients or a passphrase")
    if passphrase is not None:
        if not isinstance(passphrase, str) or not passphrase:
            raise ValueError("the passphrase must be a non-empty string")
        return [_scrypt_stanza(file_key, passphrase, scrypt_log_n)]
    assert recipients is not None
    if isinstance(recipients, str | bytes) or not recipients:
        raise TypeError("recipients must be a non-empty list of age recipients")
    keys = [recipient_from_string(r) if isinstance(r, str) else r for r in recipients]
    for key in keys:
        if not isinstance(key, bytes) or len(key) != KEY_SIZE:
            raise ValueError(f"an age recipient is a {KEY_SIZE}-byte X25519 public key")
    return [_x25519_stanza(file_key, key) for key in keys]


def write_age_header(
    dst: BinaryIO,
    age_file_key: bytes,
    *,
    recipients: Sequence[bytes | str] | None = None,
    passphrase: str | None = None,
    _scrypt_log_n: int = SCRYPT_LOG_N,
) -> bytes:
    """Write an age v1 header wrapping `age_file_key` to `dst`; return the header bytes.

    Pass either `recipients` (X25519 public keys or "age1..." strings) or a `passphrase`
    (one scrypt stanza, work factor 2**18 like `age -p`).
    """
    if not isinstance(age_file_key, bytes) or len(age_file_key) != AGE_FILE_KEY_SIZE:
        raise ValueError(f"the age file key must be {AGE_FILE_KEY_SIZE} bytes")
    stanzas = _stanzas(age_file_key, recipients, passphrase, _scrypt_log_n)
    header = VERSION_LINE + b"".join(_stanza_bytes(s) for s in stanzas) + MAC_PREFIX
    header += b" " + _b64encode(_header_mac(age_file_key, header)) + b"\n"
    dst.write(header)
    return header


def export_age(
    payload_src: BinaryIO,
    dst: BinaryIO,
    age_file_key: bytes,
    *,
    recipients: Sequence[bytes | str] | None = None,
    passphrase: str | None = None,
    _scrypt_log_n: int = SCRYPT_LOG_N,
) -> None:
    """Write a stored Kluis payload as an age file: a new header, then the payload unchanged."""
    write_age_header(
        dst, age_file_key, recipients=recipients, passphrase=passphrase, _scrypt_log_n=_scrypt_log_n
    )
    shutil.copyfileobj(payload_src, dst, COPY_BUFFER)


def encrypt_age(
    src: BinaryIO,
    dst: BinaryIO,
    *,
    recipients: Sequence[bytes | str] | None = None,
    passphrase: str | None = None,
    _scrypt_log_n: int = SCRYPT_LOG_N,
) -> None:
    """Encrypt plaintext from `src` into a new age file on `dst`, under a fresh file key."""
    file_key = os.urandom(AGE_FILE_KEY_SIZE)
    write_age_header(
        dst, file_key, recipients=recipients, passphrase=passphrase, _scrypt_log_n=_scrypt_log_n
    )
    encrypt_payload(src, dst, file_key)


# ---- header decoding ---------------------------------------------------------------------


def _read_line(src: BinaryIO, consumed: bytearray) -> bytes:
    """Read one header line, without its newline; keep every byte read in `consumed`."""
    line = src.readline(MAX_LINE + 1)
    if not isinstance(line, bytes):
        raise TypeError("decrypt_age() needs a binary stream")
    consumed += line
    if len(consumed) > MAX_HEADER_SIZE:
        raise MalformedError("age header: larger than any real header (over 1 MiB)")
    if not line.endswith(b"\n"):
        if len(line) > MAX_LINE:
            raise MalformedError("age header: line too long")
        raise MalformedError("age header: truncated (ends without a newline)")
    return line[:-1]


def _parse_header(src: BinaryIO) -> tuple[list[_Stanza], bytes, bytes]:
    """Parse the header; return the stanzas, the MAC and the bytes the MAC covers."""
    consumed = bytearray()
    try:
        version = _read_line(src, consumed) + b"\n"
    except MalformedError:
        version = bytes(consumed)
    if version != VERSION_LINE:
        if version and VERSION_LINE.startswith(version):
            raise MalformedError("age header: truncated (in the version line)")
        if version.startswith(ARMOR_PREFIX):
            raise MalformedError("age file is ASCII-armored; armored files are not supported")
        if version.startswith(VERSION_PREFIX):
            raise MalformedError("age file uses an unsupported format version")
        raise MalformedError("not an age file (no age-encryption.org/v1 version line)")
    stanzas: list[_Stanza] = []
    while True:
        line = _read_line(src, consumed)
        if line.startswith(MAC_PREFIX):
            parts = line.split(b" ")
            if parts[0] != MAC_PREFIX or len(parts) != 2:
                raise MalformedError("age header: malformed MAC line")
            mac = _b64decode(parts[1], "MAC")
            if len(mac) != MAC_SIZE:
                raise MalformedError("age header: MAC has the wrong length")
            covered = bytes(consumed[: -len(line) - 1]) + MAC_PREFIX
            break
        parts = line.split(b" ")
        if parts[0] != STANZA_PREFIX or len(parts) < 2:
            raise MalformedError("age header: expected a stanza (-> ...) or the MAC line (---)")
        for arg in parts[1:]:
            if not arg or any(byte < 33 or byte > 126 for byte in arg):
                raise MalformedError("age header: stanza argument is empty or not printable")
        body = bytearray()
        while True:
            text = _read_line(src, consumed)
            if len(text) > COLUMNS:
                raise MalformedError(f"age header: stanza body line longer than {COLUMNS}")
            body += _b64decode(text, "stanza body")
            if len(text) < COLUMNS:
                break
        stanzas.append(_Stanza(parts[1], tuple(parts[2:]), bytes(body)))
    if not stanzas:
        raise MalformedError("age header: no recipient stanzas")
    if any(s.type == SCRYPT_TYPE for s in stanzas) and len(stanzas) != 1:
        raise MalformedError("age header: an scrypt stanza must be the only stanza")
    return stanzas, mac, covered


def _open_wrapped(wrap_key: bytes, body: bytes) -> bytes | None:
    try:
        return ChaCha20Poly1305(wrap_key).decrypt(WRAP_NONCE, body, None)
    except InvalidTag:
        return None


def _unwrap_x25519(stanzas: list[_Stanza], identity: AgeIdentity) -> bytes:
    if stanzas[0].type == SCRYPT_TYPE:
        raise KeyMismatchError("this age file is passphrase-protected, not encrypted to a key")
    secret = X25519PrivateKey.from_private_bytes(identity.secret)
    ours = identity.public_key
    for stanza in stanzas:
        if stanza.type != X25519_TYPE:
            continue  # another recipient type: not for an X25519 identity (spec)
        if len(stanza.args) != 1 or len(stanza.body) != WRAPPED_KEY_SIZE:
            raise MalformedError("age header: malformed X25519 stanza")
        share = _b64decode(stanza.args[0], "X25519 share")
        if len(share) != KEY_SIZE:
            raise MalformedError("age header: X25519 share has the wrong length")
        wrap_key = _x25519_wrap_key(secret, share, share, ours)
        file_key = _open_wrapped(wrap_key, stanza.body)
        if file_key is not None:
            return file_key
    raise KeyMismatchError("this age file is not encrypted to your Kluis age identity")


def _unwrap_scrypt(stanzas: list[_Stanza], passphrase: str) -> bytes:
    stanza = stanzas[0]
    if stanza.type != SCRYPT_TYPE:
        raise KeyMismatchError("this age file is encrypted to keys, not protected by a passphrase")
    if len(stanza.args) != 2 or len(stanza.body) != WRAPPED_KEY_SIZE:
        raise MalformedError("age header: malformed scrypt stanza")
    salt = _b64decode(stanza.args[0], "scrypt salt")
    if len(salt) != SCRYPT_SALT_SIZE:
        raise MalformedError("age header: scrypt salt has the wrong length")
    if not _DECIMAL.fullmatch(stanza.args[1]):
        raise MalformedError("age header: scrypt work factor is not a decimal number")
    log_n = int(stanza.args[1])
    if log_n > SCRYPT_MAX_LOG_N:
        raise MalformedError(f"age header: scrypt work factor 2**{log_n} is too large to try")
    file_key = _open_wrapped(_scrypt_key(passphrase, salt, log_n), stanza.body)
    if file_key is None:
        raise WrongPassphrase("wrong passphrase for this age file, or its header was altered")
    return file_key


def decrypt_age(
    src: BinaryIO,
    dst: BinaryIO,
    *,
    identity: AgeIdentity | None = None,
    passphrase: str | None = None,
) -> None:
    """Decrypt an age v1 file from `src` to `dst` with an X25519 identity or a passphrase.

    Raises `MalformedError` for a header that does not parse, `KeyMismatchError` when no
    stanza is for `identity`, `WrongPassphrase` when the passphrase does not open it, and
    `IntegrityError` when the header MAC or the payload fails to verify. As with
    `vault.payload.decrypt_payload`, plaintext may have been written to `dst` before a payload
    failure: write to a temporary file and keep it only if this returns.
    """
    if isinstance(identity, AgeIdentity) and passphrase is None:
        stanzas, mac, covered = _parse_header(src)
        file_key = _unwrap_x25519(stanzas, identity)
    elif isinstance(passphrase, str) and identity is None:
        stanzas, mac, covered = _parse_header(src)
        file_key = _unwrap_scrypt(stanzas, passphrase)
    else:
        raise TypeError("pass either an AgeIdentity or a passphrase string")
    if not hmac.compare_digest(_header_mac(file_key, covered), mac):
        raise IntegrityError("age header: MAC does not verify (the header was altered)")
    decrypt_payload(src, dst, file_key)
