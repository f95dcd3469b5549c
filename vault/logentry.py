"""The entries of the key transparency log, the operator's key and its verification statements
(docs/format.md section 17.1-17.2).

Every identity record, every organisation epoch record (OrgKeys), every operator key and every
operator verification statement is appended to the log as one entry:

    LogEntry := "KLKT" || 0x01 || kind u8 || ...
      kind 1 identity:      label bytes[32] || key_version u32 || record_hash bytes[32]
      kind 2 organisation:  label bytes[32] || epoch u32       || record_hash bytes[32]
      kind 3 operator key:  record vbytes (at most 512: an OperatorKey)
      kind 4 verification:  label bytes[32] || statement_hash bytes[32]
    LogEntry := "KLKT" || 0x02 || kind u8 || ...
      kind 5 commitment:    commitment bytes[32]   (a document version's, vault.evidence)

Kinds 1-4 are written as format version 1 and kind 5 only as version 2 (section 20), so the
entries of existing logs keep their bytes and a decoder that predates commitments refuses them
by their version rather than misreading them.

`record_hash` and `statement_hash` are BLAKE3-256 of the record's bytes as published (for an
organisation, the same hash a device pins, section 14.2). The **label** names the subject
without its name: the first 32 bytes of the ECVRF output (RFC 9381, `vault.vrf`) of

    "kluis/v1/kt-label" || 0x00 || namespace u8 (1 user, 2 organisation) || name

under the log's VRF key, so the log is no list of residents: only the server (which holds the
VRF secret key) can compute a label, and it hands one out with its proof to those allowed to
look the name up. A verification statement carries its organisation's label.

The operator's statements are signed with an **operator key** published in the log itself:

    OperatorKey := "KLOP" || 0x01 || origin vbytes (1..255) || key_version u32
                   signing_key bytes[32] || created_at u64
                   signature bytes[64] = Sign(signing key, "kluis/v1/operator-key", all before)

    OperatorStatement := "KLOV" || 0x01 || origin vbytes (1..255) || operator_key bytes[32]
                   org_id bytes[16] || org_fingerprint bytes[32] (F_org[0:32], section 14.1)
                   status u8 (1 verified, 2 withdrawn) || stated_at u64
                   signature bytes[64] = Sign(operator key, "kluis/v1/operator-verification",
                                              all before)

Nothing here parses identity or organisation records (the server may import this module, which
therefore stays clear of vault.keys); the client's checks are in `vault.keylookup`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final

import blake3
import nacl.signing

from . import labels, vrf
from .encoding import ID_SIZE, Reader, Writer
from .errors import IntegrityError, KeyMismatchError, MalformedError, SignatureError
from .names import check_username
from .note import ed25519_verify

__all__ = [
    "ENTRY_MAGIC",
    "EntryKind",
    "LogEntry",
    "Namespace",
    "OperatorKey",
    "OperatorStatement",
    "Status",
    "label_input",
    "make_operator_key",
    "make_statement",
    "prove_label",
    "record_digest",
    "verify_label",
    "verify_statement",
]

ENTRY_MAGIC: Final = b"KLKT"
OPERATOR_KEY_MAGIC: Final = b"KLOP"
STATEMENT_MAGIC: Final = b"KLOV"
FORMAT_VERSION: Final = 1
COMMITMENT_VERSION: Final = 2  # the entry format version of kind 5 (format section 20)
LABEL_SIZE: Final = 32
DIGEST_SIZE: Final = 32
KEY_SIZE: Final = 32
FINGERPRINT_ID_SIZE: Final = 32
SIGNATURE_SIZE: Final = 64
VERSION_MAX: Final = 2**32 - 1
U64_MAX: Final = 2**64 - 1
ORIGIN_MAX: Final = 255
OPERATOR_KEY_MAX: Final = 512


class EntryKind(enum.IntEnum):
    IDENTITY = 1
    ORGANISATION = 2
    OPERATOR_KEY = 3
    VERIFICATION = 4
    COMMITMENT = 5


class Namespace(enum.IntEnum):
    USER = 1
    ORGANISATION = 2


class Status(enum.IntEnum):
    VERIFIED = 1
    WITHDRAWN = 2


def record_digest(data: bytes) -> bytes:
    """BLAKE3-256 of a record or statement exactly as published."""
    return bytes(blake3.blake3(bytes(data)).digest())


# -- labels ----------------------------------------------------------------------------------------
def label_input(namespace: Namespace, name: str) -> bytes:
    """The VRF input (alpha) whose output labels `name` in `namespace`."""
    if namespace not in (Namespace.USER, Namespace.ORGANISATION):
        raise ValueError("a label namespace is 1 (user) or 2 (organisation)")
    return labels.KT_LABEL + b"\x00" + bytes([namespace]) + check_username(name).encode("ascii")


def prove_label(vrf_secret: bytes, namespace: Namespace, name: str) -> tuple[bytes, bytes]:
    """(label, proof): what the server computes with the log's VRF secret key."""
    proof = vrf.prove(vrf_secret, label_input(namespace, name))
    return vrf.proof_to_hash(proof)[:LABEL_SIZE], proof


def verify_label(vrf_key: bytes, namespace: Namespace, name: str, proof: bytes) -> bytes:
    """The label of `name`, if `proof` proves it under the log's VRF public key (MalformedError,
    SignatureError otherwise)."""
    return vrf.verify(vrf_key, label_input(namespace, name), proof)[:LABEL_SIZE]


# -- entries ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LogEntry:
    """One entry of the log. `label` is None for kinds 3 and 5, `version` 0 for kinds 3-5,
    `digest` the record (or statement) hash for kinds 1, 2 and 4 and the commitment for kind 5,
    `record` the OperatorKey for kind 3."""

    kind: EntryKind
    label: bytes | None
    version: int
    digest: bytes | None
    record: bytes | None = None

    @classmethod
    def identity(cls, label: bytes, key_version: int, record: bytes) -> LogEntry:
        """The entry of an identity record (its key version is the record's)."""
        return cls._checked(EntryKind.IDENTITY, label, key_version, record_digest(record), None)

    @classmethod
    def organisation(cls, label: bytes, epoch: int, record: bytes) -> LogEntry:
        """The entry of an OrgKeys record (its epoch is the record's)."""
        return cls._checked(EntryKind.ORGANISATION, label, epoch, record_digest(record), None)

    @classmethod
    def operator_key(cls, record: bytes) -> LogEntry:
        OperatorKey.decode(record)
        return cls._checked(EntryKind.OPERATOR_KEY, None, 0, None, record)

    @classmethod
    def verification(cls, label: bytes, statement: bytes) -> LogEntry:
        return cls._checked(EntryKind.VERIFICATION, label, 0, record_digest(statement), None)

    @classmethod
    def commitment(cls, commitment: bytes) -> LogEntry:
        """The entry of a document version's evidence commitment (vault.evidence)."""
        if not isinstance(commitment, bytes) or len(commitment) != DIGEST_SIZE:
            raise ValueError("a commitment is 32 bytes")
        return cls(EntryKind.COMMITMENT, None, 0, commitment, None)

    @classmethod
    def _checked(
        cls,
        kind: EntryKind,
        label: bytes | None,
        version: int,
        digest: bytes | None,
        record: bytes | None,
    ) -> LogEntry:
        if label is not None and (not isinstance(label, bytes) or len(label) != LABEL_SIZE):
            raise ValueError("a label is 32 bytes")
        if kind in (EntryKind.IDENTITY, EntryKind.ORGANISATION) and (
            isinstance(version, bool) or not 1 <= version <= VERSION_MAX
        ):
            raise ValueError("a key version or epoch is from 1 to 2**32 - 1")
        return cls(kind, label, version, digest, record)

    def encode(self) -> bytes:
        if self.kind == EntryKind.COMMITMENT:
            assert self.digest is not None
            w = Writer().raw(ENTRY_MAGIC).u8(COMMITMENT_VERSION).u8(self.kind)
            return w.fixed(self.digest, DIGEST_SIZE).getvalue()
        w = Writer().raw(ENTRY_MAGIC).u8(FORMAT_VERSION).u8(self.kind)
        if self.kind == EntryKind.OPERATOR_KEY:
            assert self.record is not None
            return w.vbytes(self.record).getvalue()
        assert self.label is not None and self.digest is not None
        w.fixed(self.label, LABEL_SIZE)
        if self.kind != EntryKind.VERIFICATION:
            w.u32(self.version)
        return w.fixed(self.digest, DIGEST_SIZE).getvalue()

    @classmethod
    def decode(cls, data: bytes) -> LogEntry:
        """Parse an entry (MalformedError); a kind-3 entry's OperatorKey is verified too."""
        r = Reader(data, "log entry")
        r.magic(ENTRY_MAGIC)
        format_version = r.u8()
        if format_version not in (FORMAT_VERSION, COMMITMENT_VERSION):
            raise MalformedError("log entry: unsupported format version")
        kind = r.u8()
        if kind not in set(EntryKind):
            raise MalformedError(f"log entry: unknown kind {kind}")
        if (kind == EntryKind.COMMITMENT) != (format_version == COMMITMENT_VERSION):
            raise MalformedError(
                f"log entry: kind {kind} is not written as format version {format_version}"
            )
        if kind == EntryKind.COMMITMENT:
            commitment = r.raw(DIGEST_SIZE)
            r.end()
            return cls(EntryKind.COMMITMENT, None, 0, commitment, None)
        if kind == EntryKind.OPERATOR_KEY:
            record = r.vbytes(OPERATOR_KEY_MAX)
            r.end()
            OperatorKey.decode(record)
            return cls(EntryKind.OPERATOR_KEY, None, 0, None, record)
        label = r.raw(LABEL_SIZE)
        version = 0 if kind == EntryKind.VERIFICATION else r.u32()
        digest = r.raw(DIGEST_SIZE)
        r.end()
        if kind != EntryKind.VERIFICATION and version == 0:
            raise MalformedError("log entry: key versions and epochs start at 1")
        return cls(EntryKind(kind), label, version, digest, None)


# -- the operator key and its statements -----------------------------------------------------------
def verify_signature(public_key: bytes, label: bytes, body: bytes, signature: bytes) -> None:
    """Sign(sk, label, body) of format section 1 (as vault.keys.verify_signature, which the
    server may not import)."""
    if not ed25519_verify(public_key, label + b"\x00" + body, signature):
        raise SignatureError(f"signature ({label.decode()}) does not verify")


def _origin(r: Reader) -> str:
    raw = r.vbytes(ORIGIN_MAX)
    try:
        origin = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedError(f"{r.what}: the origin is not UTF-8") from exc
    return _check_origin(origin, r.what, MalformedError)


def _check_origin(origin: str, what: str, error: type[Exception] = ValueError) -> str:
    if (
        not isinstance(origin, str)
        or not origin
        or len(origin.encode("utf-8")) > ORIGIN_MAX
        or any(ord(ch) <= 0x20 or ch == "\x7f" for ch in origin)
    ):
        raise error(f"{what}: an origin is 1-255 bytes without spaces or control characters")
    return origin


@dataclass(frozen=True)
class OperatorKey:
    """The key with which a deployment's operator signs its statements."""

    origin: str
    key_version: int
    signing_key: bytes
    created_at: int
    signature: bytes

    def body(self) -> bytes:
        return (
            Writer()
            .raw(OPERATOR_KEY_MAGIC)
            .u8(FORMAT_VERSION)
            .vbytes(self.origin.encode("utf-8"))
            .u32(self.key_version)
            .fixed(self.signing_key, KEY_SIZE)
            .u64(self.created_at)
            .getvalue()
        )

    def encode(self) -> bytes:
        return self.body() + self.signature

    @classmethod
    def decode(cls, data: bytes) -> OperatorKey:
        """Parse an OperatorKey (MalformedError) and check its self-signature (SignatureError)."""
        r = Reader(data, "operator key")
        r.magic(OPERATOR_KEY_MAGIC)
        if r.u8() != FORMAT_VERSION:
            raise MalformedError("operator key: unsupported format version")
        origin = _origin(r)
        key_version = r.u32()
        signing_key = r.raw(KEY_SIZE)
        created_at = r.u64()
        body = r.consumed()
        signature = r.raw(SIGNATURE_SIZE)
        r.end()
        if key_version == 0:
            raise MalformedError("operator key: key versions start at 1")
        verify_signature(signing_key, labels.OPERATOR_KEY_SIGNATURE, body, signature)
        return cls(origin, key_version, signing_key, created_at, signature)


def make_operator_key(seed: bytes, *, origin: str, key_version: int, created_at: int) -> bytes:
    """An OperatorKey record for the Ed25519 key of `seed`, signed by itself."""
    _check_origin(origin, "operator key")
    if isinstance(key_version, bool) or not 1 <= key_version <= VERSION_MAX:
        raise ValueError("a key version is from 1 to 2**32 - 1")
    if isinstance(created_at, bool) or not 0 <= created_at <= U64_MAX:
        raise ValueError("created_at is a u64")
    signer = nacl.signing.SigningKey(seed)
    unsigned = OperatorKey(origin, key_version, bytes(signer.verify_key), created_at, b"")
    body = unsigned.body()
    return body + signer.sign(labels.OPERATOR_KEY_SIGNATURE + b"\x00" + body).signature


@dataclass(frozen=True)
class OperatorStatement:
    """The operator's signed word that it checked (or no longer vouches for) an organisation's
    fingerprint out of band, for example against an official letter."""

    origin: str
    operator_key: bytes
    org_id: bytes
    org_fingerprint: bytes
    status: Status
    stated_at: int
    signature: bytes

    def body(self) -> bytes:
        return (
            Writer()
            .raw(STATEMENT_MAGIC)
            .u8(FORMAT_VERSION)
            .vbytes(self.origin.encode("utf-8"))
            .fixed(self.operator_key, KEY_SIZE)
            .fixed(self.org_id, ID_SIZE)
            .fixed(self.org_fingerprint, FINGERPRINT_ID_SIZE)
            .u8(self.status)
            .u64(self.stated_at)
            .getvalue()
        )

    def encode(self) -> bytes:
        return self.body() + self.signature

    @classmethod
    def decode(cls, data: bytes) -> OperatorStatement:
        """Parse a statement (MalformedError); its signature is checked by `verify_statement`."""
        r = Reader(data, "operator statement")
        r.magic(STATEMENT_MAGIC)
        if r.u8() != FORMAT_VERSION:
            raise MalformedError("operator statement: unsupported format version")
        origin = _origin(r)
        operator_key = r.raw(KEY_SIZE)
        org_id = r.raw(ID_SIZE)
        fingerprint = r.raw(FINGERPRINT_ID_SIZE)
        status = r.u8()
        stated_at = r.u64()
        signature = r.raw(SIGNATURE_SIZE)
        r.end()
        if status not in set(Status):
            raise MalformedError(f"operator statement: unknown status {status}")
        return cls(origin, operator_key, org_id, fingerprint, Status(status), stated_at, signature)


def make_statement(
    seed: bytes,
    *,
    origin: str,
    org_id: bytes,
    org_fingerprint: bytes,
    status: Status,
    stated_at: int,
) -> bytes:
    """A statement signed with the operator key of `seed`."""
    _check_origin(origin, "operator statement")
    if not isinstance(org_id, bytes) or len(org_id) != ID_SIZE:
        raise ValueError("an organisation id is 16 bytes")
    if not isinstance(org_fingerprint, bytes) or len(org_fingerprint) != FINGERPRINT_ID_SIZE:
        raise ValueError("an organisation fingerprint id is F_org[0:32]")
    if isinstance(stated_at, bool) or not 0 <= stated_at <= U64_MAX:
        raise ValueError("stated_at is a u64")
    signer = nacl.signing.SigningKey(seed)
    unsigned = OperatorStatement(
        origin, bytes(signer.verify_key), org_id, org_fingerprint, Status(status), stated_at, b""
    )
    body = unsigned.body()
    return body + signer.sign(labels.OPERATOR_VERIFICATION_SIGNATURE + b"\x00" + body).signature


def verify_statement(
    data: bytes, *, operator: OperatorKey, org_id: bytes, org_fingerprint: bytes
) -> OperatorStatement:
    """Check a statement about the organisation (`org_id`, F_org[0:32] as the client computed
    it from the verified chain) against the operator key it trusts, each failure stopping all:

    1. parse (MalformedError);
    2. the statement's origin is the operator key's (IntegrityError: another deployment's);
    3. its operator_key is that key (KeyMismatchError);
    4. the signature (SignatureError);
    5. org_id is the organisation's (IntegrityError);
    6. org_fingerprint is the chain's (KeyMismatchError: the operator vouched for other keys).
    """
    statement = OperatorStatement.decode(data)
    if statement.origin != operator.origin:
        raise IntegrityError("operator statement: made for another deployment")
    if statement.operator_key != operator.signing_key:
        raise KeyMismatchError("operator statement: signed by another operator key")
    verify_signature(
        operator.signing_key,
        labels.OPERATOR_VERIFICATION_SIGNATURE,
        statement.body(),
        statement.signature,
    )
    if statement.org_id != org_id:
        raise IntegrityError("operator statement: about another organisation")
    if statement.org_fingerprint != org_fingerprint:
        raise KeyMismatchError(
            "operator statement: the operator vouched for other keys than this organisation's"
        )
    return statement
