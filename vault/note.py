"""Signed notes (C2SP signed-note v1): text signed by one or more keys, one signature per line.

    <text, ending in a newline>
    <blank line>
    — <key name> base64(key ID (4 bytes) || signature)
    ...

The key ID of a key is SHA-256(key name || 0x0A || signature type || public key)[:4]; type 0x01 is
Ed25519 over the note text (this module), type 0x04 a timestamped cosignature of a checkpoint
(`vault.cosignature`). A key is written for people and configuration as a *verifier key*,
`<name>+<hex key ID>+base64(type || public key)`.

Opening a note with the keys a client trusts (`open_note`) follows the specification: a
signature whose (name, key ID) is not a trusted key's is ignored; one that is must verify, or
the whole note is refused; and a note with no verified signature by a trusted key is refused.
Kluis checkpoints (`vault.checkpoint`) are signed notes. Nothing here touches the network.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final, Protocol

import nacl.exceptions
import nacl.signing

from .errors import MalformedError, SignatureError

__all__ = [
    "MAX_NOTE_SIZE",
    "MAX_SIGNATURES",
    "SIG_ED25519",
    "Ed25519Signer",
    "Ed25519Verifier",
    "Note",
    "OpenedNote",
    "Signature",
    "Signer",
    "Verifier",
    "b64decode",
    "check_key_name",
    "ed25519_verify",
    "format_vkey",
    "key_id",
    "open_note",
    "parse_note",
    "parse_vkey",
    "sign_note",
    "split_vkey",
]

SIG_ED25519: Final = 0x01
KEY_ID_SIZE: Final = 4
ED25519_KEY_SIZE: Final = 32
ED25519_SIGNATURE_SIZE: Final = 64
# The spec asks verifiers to accept at least 16 signatures; Go's sumdb/note stops at 100.
MAX_SIGNATURES: Final = 100
MAX_NOTE_SIZE: Final = 1 << 20
SIGNATURE_PREFIX: Final = "\u2014 "  # em dash, space
_SPACES: Final = frozenset("\t\n\v\f\r\x85")


def b64decode(text: str, what: str) -> bytes:
    """Standard base64 (RFC 4648 section 4) with padding, in its one canonical spelling."""
    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error, ValueError) as exc:
        raise MalformedError(f"{what}: not base64") from exc
    if base64.b64encode(data).decode("ascii") != text:
        raise MalformedError(f"{what}: not canonical base64")
    return data


def check_key_name(name: str) -> str:
    """A key name is non-empty, with no Unicode space, no '+' and no control character."""
    if (
        not isinstance(name, str)
        or not name
        or "+" in name
        or any(
            ch in _SPACES or ord(ch) < 0x20 or unicodedata.category(ch) in ("Zs", "Zl", "Zp")
            for ch in name
        )
    ):
        raise MalformedError(f"not a valid key name: {name!r}")
    return name


def key_id(name: str, sig_type: int, public_key: bytes) -> bytes:
    """SHA-256(name || 0x0A || type || public key)[:4]."""
    data = check_key_name(name).encode("utf-8") + b"\n" + bytes([sig_type]) + public_key
    return hashlib.sha256(data).digest()[:KEY_ID_SIZE]


def format_vkey(name: str, kid: bytes, sig_type: int, public_key: bytes) -> str:
    encoded = base64.b64encode(bytes([sig_type]) + public_key).decode("ascii")
    return f"{name}+{kid.hex()}+{encoded}"


def split_vkey(vkey: str) -> tuple[str, bytes, int, bytes]:
    """(name, key ID, signature type, public key) of a verifier key; MalformedError if its key
    ID is not the one its name, type and key give."""
    parts = vkey.split("+", 2) if isinstance(vkey, str) else []  # base64 may contain '+'
    if len(parts) != 3:
        raise MalformedError("a verifier key is <name>+<key ID>+<key>")
    name, hex_id, encoded = parts
    check_key_name(name)
    if len(hex_id) != 2 * KEY_ID_SIZE or hex_id != hex_id.lower():
        raise MalformedError("verifier key: the key ID is 8 lowercase hex digits")
    try:
        kid = bytes.fromhex(hex_id)
    except ValueError as exc:
        raise MalformedError("verifier key: the key ID is 8 lowercase hex digits") from exc
    key = b64decode(encoded, "verifier key")
    if not key:
        raise MalformedError("verifier key: no key")
    if key_id(name, key[0], key[1:]) != kid:
        raise MalformedError("verifier key: the key ID does not match the name and key")
    return name, kid, key[0], key[1:]


class Verifier(Protocol):
    """A trusted key: its name and key ID select the signatures it checks."""

    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> bytes: ...

    def verify(self, text: bytes, signature: bytes) -> bool:
        """Whether `signature` (the bytes after the key ID) signs the note text `text`."""
        ...


class Signer(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> bytes: ...

    def sign(self, text: bytes) -> bytes: ...


def ed25519_verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    if len(signature) != ED25519_SIGNATURE_SIZE:
        return False
    try:
        nacl.signing.VerifyKey(public_key).verify(message, signature)
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError, TypeError):
        return False
    return True


@dataclass(frozen=True)
class Ed25519Verifier:
    """An Ed25519 note key (type 0x01): the signature is Ed25519 over the note text."""

    name: str
    public_key: bytes

    def __post_init__(self) -> None:
        check_key_name(self.name)
        if not isinstance(self.public_key, bytes) or len(self.public_key) != ED25519_KEY_SIZE:
            raise MalformedError("an Ed25519 public key is 32 bytes")

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, SIG_ED25519, self.public_key)

    @property
    def vkey(self) -> str:
        return format_vkey(self.name, self.key_id, SIG_ED25519, self.public_key)

    def verify(self, text: bytes, signature: bytes) -> bool:
        return ed25519_verify(self.public_key, text, signature)


def parse_vkey(vkey: str) -> Ed25519Verifier:
    """An Ed25519 (type 0x01) verifier key; MalformedError for anything else."""
    name, _kid, sig_type, public_key = split_vkey(vkey)
    if sig_type != SIG_ED25519:
        raise MalformedError(f"verifier key: signature type {sig_type:#04x} is not Ed25519")
    return Ed25519Verifier(name, public_key)


def check_signing_seed(name: str, seed: bytes) -> None:
    """A signer's key name and 32-byte Ed25519 seed, for note and cosignature signers alike."""
    check_key_name(name)
    if not isinstance(seed, bytes) or len(seed) != ED25519_KEY_SIZE:
        raise ValueError("an Ed25519 seed is 32 bytes")


@dataclass(frozen=True, repr=False)
class Ed25519Signer:
    """Signs notes with an Ed25519 key (a 32-byte seed)."""

    name: str
    seed: bytes

    def __post_init__(self) -> None:
        check_signing_seed(self.name, self.seed)

    def __repr__(self) -> str:
        return f"Ed25519Signer(name={self.name!r}, <seed hidden>)"

    @property
    def verifier(self) -> Ed25519Verifier:
        return Ed25519Verifier(self.name, bytes(nacl.signing.SigningKey(self.seed).verify_key))

    @property
    def key_id(self) -> bytes:
        return self.verifier.key_id

    def sign(self, text: bytes) -> bytes:
        return nacl.signing.SigningKey(self.seed).sign(text).signature


@dataclass(frozen=True)
class Signature:
    """One signature line: the key's name and ID, and the signature bytes after the ID."""

    name: str
    key_id: bytes
    signature: bytes

    @property
    def line(self) -> str:
        encoded = base64.b64encode(self.key_id + self.signature).decode("ascii")
        return f"{SIGNATURE_PREFIX}{self.name} {encoded}\n"


@dataclass(frozen=True)
class Note:
    """A parsed note: its text (ending in a newline) and its signature lines, none checked."""

    text: str
    signatures: tuple[Signature, ...] = field(default=())

    def encode(self) -> bytes:
        return (self.text + "\n" + "".join(s.line for s in self.signatures)).encode("utf-8")


def _check_text(text: str, what: str) -> None:
    for ch in text:
        if ord(ch) < 0x20 and ch != "\n":
            raise MalformedError(f"{what}: contains a control character")


def parse_note(data: bytes) -> Note:
    """Split a signed note into its text and signature lines (MalformedError if it is not one)."""
    if not isinstance(data, bytes):
        raise MalformedError("note: expected bytes")
    if len(data) > MAX_NOTE_SIZE:
        raise MalformedError("note: too large")
    try:
        message = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedError("note: not UTF-8") from exc
    _check_text(message, "note")
    split = message.rfind("\n\n")
    if split < 0:
        raise MalformedError("note: no blank line before the signatures")
    text, block = message[: split + 1], message[split + 2 :]
    if not block or not block.endswith("\n"):
        raise MalformedError("note: no signature lines")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise MalformedError(f"note: more than {MAX_SIGNATURES} signatures")
    signatures = []
    for line in lines:
        if not line.startswith(SIGNATURE_PREFIX):
            raise MalformedError("note: a signature line does not start with an em dash")
        name, _, encoded = line[len(SIGNATURE_PREFIX) :].partition(" ")
        check_key_name(name)
        raw = b64decode(encoded, "note signature")
        if len(raw) <= KEY_ID_SIZE:
            raise MalformedError("note: a signature is a key ID and at least one byte")
        signatures.append(Signature(name, raw[:KEY_ID_SIZE], raw[KEY_ID_SIZE:]))
    return Note(text, tuple(signatures))


def sign_note(text: str, signers: Sequence[Signer], existing: Sequence[Signature] = ()) -> bytes:
    """Sign `text` (which must end in a newline) with each signer, after any `existing` lines."""
    if not isinstance(text, str) or not text.endswith("\n"):
        raise ValueError("a note text ends in a newline")
    _check_text(text, "note text")
    if not signers and not existing:
        raise ValueError("a note has at least one signature")
    body = text.encode("utf-8")
    new = [Signature(s.name, s.key_id, s.sign(body)) for s in signers]
    note = Note(text, (*existing, *new))
    parse_note(note.encode())  # never write what a reader would refuse
    return note.encode()


@dataclass(frozen=True)
class OpenedNote:
    """A note whose signatures by trusted keys all verified; `verified` holds, for each trusted
    key that signed, the key and its signature (first one if it signed twice)."""

    note: Note
    verified: tuple[tuple[Verifier, bytes], ...]

    @property
    def text(self) -> str:
        return self.note.text

    def signed_by(self, verifier: Verifier) -> bool:
        return any(v == verifier for v, _ in self.verified)


def open_note(data: bytes, verifiers: Sequence[Verifier]) -> OpenedNote:
    """Parse `data` and check its signatures against the trusted `verifiers`.

    Signatures whose name and key ID match no trusted key are ignored. Every signature that
    matches one must verify (SignatureError otherwise), and at least one must (SignatureError
    for a note no trusted key signed).
    """
    known: dict[tuple[str, bytes], Verifier] = {}
    for v in verifiers:
        if (v.name, v.key_id) in known:
            raise ValueError(f"two trusted keys named {v.name!r} share the key ID {v.key_id.hex()}")
        known[(v.name, v.key_id)] = v
    note = parse_note(data)
    body = note.text.encode("utf-8")
    verified: dict[tuple[str, bytes], tuple[Verifier, bytes]] = {}
    for sig in note.signatures:
        verifier = known.get((sig.name, sig.key_id))
        if verifier is None:
            continue
        if not verifier.verify(body, sig.signature):
            raise SignatureError(f"note: the signature by {sig.name} does not verify")
        verified.setdefault((sig.name, sig.key_id), (verifier, sig.signature))
    if not verified:
        raise SignatureError("note: not signed by any trusted key")
    return OpenedNote(note, tuple(verified.values()))
