"""An organisation's public statements: its key chain, memberships as signed statements, who
is an admin, and the check of a re-wrapped grant (docs/format.md sections 14.2-14.5).

Everything here verifies signatures and compares what was signed; nothing unseals a key, so
code that may not touch secret keys (the server, see the import contracts in pyproject.toml)
can use it. Making epochs and memberships, and opening a membership's sealed keys, is
`vault.organisation`, which re-exports this module.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import blake3

from . import labels
from .encoding import ID_SIZE, Reader, Writer
from .errors import (
    IntegrityError,
    KeyMismatchError,
    MalformedError,
    RollbackError,
    SignatureError,
)
from .grantstatement import NEVER_EXPIRES, Grant
from .identity import PRIVATE_KEYS_SIZE, Identity
from .kinds import OrgKind, Role
from .orgkeys import (
    FORMAT_VERSION,
    KEY_ID_SIZE,
    SIGNATURE_SIZE,
    OrgKeys,
    genesis_fingerprint_digest,
    organisation_fingerprint,
)

MEMBERSHIP_MAGIC: Final = b"KLOM"
SEALED_KEYS_SIZE: Final = PRIVATE_KEYS_SIZE + 48  # crypto_box_seal: ephemeral key 32 + tag 16
EPOCH_MAX: Final = 2**32 - 1
FINGERPRINT_ID_SIZE: Final = 32
RECORD_HASH_SIZE: Final = 32


_ROLES: Final = frozenset(Role)
# The values are wire bytes, not an order: an editor (3) ranks below an admin (2).
_RANK: Final = {Role.MEMBER: 1, Role.EDITOR: 2, Role.ADMIN: 3}

IdentityOf = Callable[[bytes], Identity]
"""Looks up the trusted identity of a user id (the client's pinned contacts)."""


# -- the chain -------------------------------------------------------------------------------------
def record_hash(data: bytes) -> bytes:
    """BLAKE3-256 of one epoch's OrgKeys record, exactly as received: what a device remembers
    of every epoch it verified (section 14.2, check 7)."""
    return bytes(blake3.blake3(bytes(data)).digest())


@dataclass(frozen=True)
class ChainPin:
    """What a device remembers of an organisation: the fingerprint it first trusted (or the
    one an operator or the user verified), the highest epoch it saw with that epoch's key id,
    and the hash of every epoch record it verified, epoch 1 first (empty in a pin kept before
    the hashes were: then only the key id of `epoch` is checked)."""

    fingerprint: str
    epoch: int
    key_id: bytes
    record_hashes: tuple[bytes, ...] = ()

    def __post_init__(self) -> None:
        if not 1 <= self.epoch <= EPOCH_MAX:
            raise ValueError("organisation pin: epoch out of range")
        if self.record_hashes and len(self.record_hashes) != self.epoch:
            raise ValueError("organisation pin: one record hash per epoch seen")
        if any(len(h) != RECORD_HASH_SIZE for h in self.record_hashes):
            raise ValueError("organisation pin: a record hash has the wrong size")


@dataclass(frozen=True)
class OrgChain:
    """Every epoch of one organisation, verified from epoch 1 to the current one, with the
    `record_hash` of each record as received."""

    records: tuple[OrgKeys, ...]
    hashes: tuple[bytes, ...]

    @property
    def genesis(self) -> OrgKeys:
        return self.records[0]

    @property
    def current(self) -> OrgKeys:
        return self.records[-1]

    @property
    def org_id(self) -> bytes:
        return self.genesis.org_id

    @property
    def name(self) -> str:
        return self.genesis.name

    @property
    def kind(self) -> OrgKind:
        return self.genesis.kind

    @property
    def epoch(self) -> int:
        return self.current.epoch

    def epoch_keys(self, epoch: int) -> OrgKeys:
        if not 1 <= epoch <= len(self.records):
            raise KeyMismatchError(f"organisation {self.name}: no epoch {epoch}")
        return self.records[epoch - 1]

    @property
    def fingerprint_digest(self) -> bytes:
        return genesis_fingerprint_digest(self.genesis)

    @property
    def fingerprint(self) -> str:
        return organisation_fingerprint(self.genesis)

    @property
    def fingerprint_id(self) -> bytes:
        """The binary form used inside receipts."""
        return self.fingerprint_digest[:FINGERPRINT_ID_SIZE]

    def pin(self) -> ChainPin:
        return ChainPin(self.fingerprint, self.epoch, self.current.key_id, self.hashes)


def verify_chain(
    records: Sequence[bytes],
    *,
    author_of: IdentityOf,
    org_id: bytes | None = None,
    name: str | None = None,
    pin: ChainPin | None = None,
) -> OrgChain:
    """Verify an organisation's key records, epoch 1 first (section 14.2), against a pin."""
    if not records:
        raise IntegrityError("organisation keys: the chain is empty")
    chain: list[OrgKeys] = []
    for position, data in enumerate(records, start=1):
        record = OrgKeys.decode(data)  # 1
        if record.epoch != position:  # 2
            raise IntegrityError(
                f"organisation keys: epoch {record.epoch} where epoch {position} belongs"
            )
        if chain:  # 3, 4
            first, previous = chain[0], chain[-1]
            if (record.org_id, record.name, record.kind) != (first.org_id, first.name, first.kind):
                raise IntegrityError("organisation keys: epochs of different organisations")
            if record.previous_key_id != previous.key_id:
                raise IntegrityError(
                    f"organisation keys: epoch {record.epoch} does not follow epoch "
                    f"{previous.epoch}"
                )
            assert record.succession_signature is not None  # decode guarantees it
            try:
                previous.identity.verify(
                    labels.ORGANISATION_SUCCESSION_SIGNATURE,
                    record.signed_by_author(),
                    record.succession_signature,
                )
            except SignatureError as exc:
                raise SignatureError(
                    f"organisation keys: epoch {record.epoch} is not signed by the key of epoch "
                    f"{previous.epoch}"
                ) from exc
        author = author_of(record.author_id)  # 5
        if (author.user_id, author.key_id) != (record.author_id, record.author_key_id):
            raise KeyMismatchError(
                f"organisation keys: the author of epoch {record.epoch} is not who it names"
            )
        try:
            author.verify(
                labels.ORGANISATION_KEYS_SIGNATURE, record.body(), record.author_signature
            )
        except SignatureError as exc:
            raise SignatureError(
                f"organisation keys: epoch {record.epoch} is not signed by its author"
            ) from exc
        chain.append(record)
    verified = OrgChain(tuple(chain), tuple(record_hash(data) for data in records))
    if org_id is not None and verified.org_id != org_id:  # 6
        raise IntegrityError("organisation keys: the server answered with another organisation")
    if name is not None and verified.name != name:
        raise KeyMismatchError(
            f"organisation keys: the server answered with {verified.name!r} for {name!r}"
        )
    if pin is not None:  # 7
        check_pin(verified, pin)
    return verified


def check_pin(chain: OrgChain, pin: ChainPin) -> None:
    """K6/S22: the chain starts at the pinned keys, is not shorter than seen, and has not forked:
    every epoch this device verified is, byte for byte, the record it verified. Another record
    for one of them is a second successor of the epoch before (`KeyMismatchError`), whoever
    signed it: a removed admin on top of the epoch they still hold, or the real keys re-signed
    under another author or date."""
    if chain.fingerprint != pin.fingerprint:
        raise KeyMismatchError(
            f"organisation {chain.name}: its keys changed without a signature from the keys this "
            f"device trusts (trusted fingerprint {pin.fingerprint}, the server now shows "
            f"{chain.fingerprint})"
        )
    if chain.epoch < pin.epoch:
        raise RollbackError(
            f"organisation {chain.name}: the server shows key epoch {chain.epoch}, this device "
            f"has seen epoch {pin.epoch}"
        )
    for epoch, seen in enumerate(pin.record_hashes, start=1):
        if not hmac.compare_digest(chain.hashes[epoch - 1], seen):
            author = chain.epoch_keys(epoch).author_id.hex()[:8]
            raise KeyMismatchError(
                f"organisation {chain.name}: its key chain has forked at epoch {epoch}: the "
                f"server shows another epoch {epoch} (signed by user {author}) than the one this "
                "device verified; refusing it"
            )
    if not hmac.compare_digest(chain.epoch_keys(pin.epoch).key_id, pin.key_id):
        raise KeyMismatchError(
            f"organisation {chain.name}: its key chain has forked at epoch {pin.epoch}: that "
            "epoch now has other keys than this device saw"
        )


# -- memberships -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Membership:
    """An admin's signed statement giving one epoch's organisation keys to a member (14.3)."""

    org_id: bytes
    epoch: int
    org_key_id: bytes
    member_id: bytes
    member_key_id: bytes
    role: Role
    admin_id: bytes
    admin_key_id: bytes
    issued_at: int
    sealed_keys: bytes
    signature: bytes = field(repr=False)

    def body(self) -> bytes:
        return (
            Writer()
            .raw(MEMBERSHIP_MAGIC)
            .u8(FORMAT_VERSION)
            .fixed(self.org_id, ID_SIZE)
            .u32(self.epoch)
            .fixed(self.org_key_id, KEY_ID_SIZE)
            .fixed(self.member_id, ID_SIZE)
            .fixed(self.member_key_id, KEY_ID_SIZE)
            .u8(self.role)
            .fixed(self.admin_id, ID_SIZE)
            .fixed(self.admin_key_id, KEY_ID_SIZE)
            .u64(self.issued_at)
            .fixed(self.sealed_keys, SEALED_KEYS_SIZE)
            .getvalue()
        )

    def encode(self) -> bytes:
        return self.body() + self.signature

    @classmethod
    def decode(cls, data: bytes) -> Membership:
        r = Reader(data, "membership")
        r.magic(MEMBERSHIP_MAGIC)
        if r.u8() != FORMAT_VERSION:
            raise MalformedError("membership: unsupported format version")
        org_id, epoch, org_key_id = r.raw(ID_SIZE), r.u32(), r.raw(KEY_ID_SIZE)
        member_id, member_key_id = r.raw(ID_SIZE), r.raw(KEY_ID_SIZE)
        role = r.u8()
        admin_id, admin_key_id = r.raw(ID_SIZE), r.raw(KEY_ID_SIZE)
        issued_at = r.u64()
        sealed_keys = r.raw(SEALED_KEYS_SIZE)
        signature = r.raw(SIGNATURE_SIZE)
        r.end()
        if epoch < 1:
            raise MalformedError("membership: epoch must be at least 1")
        if role not in _ROLES:
            raise MalformedError(f"membership: unknown role {role}")
        return cls(
            org_id,
            epoch,
            org_key_id,
            member_id,
            member_key_id,
            Role(role),
            admin_id,
            admin_key_id,
            issued_at,
            sealed_keys,
            signature,
        )


def verify_membership(data: bytes, *, admin: Identity, org_keys: OrgKeys) -> Membership:
    """Checks 1, 2, 4 and 5 of section 14.3 (no unsealing): anyone can run them."""
    membership = Membership.decode(data)  # 1
    if (membership.org_id, membership.epoch) != (org_keys.org_id, org_keys.epoch):  # 2
        raise IntegrityError("membership: for another organisation or epoch")
    if not hmac.compare_digest(membership.org_key_id, org_keys.key_id):
        raise IntegrityError("membership: names other organisation keys than the epoch's")
    if membership.role == Role.EDITOR and org_keys.kind != OrgKind.GROUP:  # 19.1
        raise MalformedError("membership: the editor role exists only in groups")
    if (membership.admin_id, membership.admin_key_id) != (admin.user_id, admin.key_id):  # 4
        raise KeyMismatchError("membership: not signed by the administrator it names")
    try:  # 5
        admin.verify(labels.MEMBERSHIP_SIGNATURE, membership.body(), membership.signature)
    except SignatureError as exc:
        raise SignatureError("membership: signature does not verify") from exc
    return membership


# -- who is an admin, epoch by epoch ---------------------------------------------------------------
@dataclass(frozen=True)
class Roster:
    """Per epoch, the members whose membership verifies, with their role."""

    chain: OrgChain
    members: Mapping[int, Mapping[bytes, Membership]]

    def admins(self, epoch: int) -> frozenset[bytes]:
        author = self.chain.epoch_keys(epoch).author_id
        return frozenset(
            {author} | {m for m, s in self.members.get(epoch, {}).items() if s.role == Role.ADMIN}
        )

    def current(self) -> Mapping[bytes, Membership]:
        return self.members.get(self.chain.epoch, {})

    def role(self, user_id: bytes, epoch: int | None = None) -> Role | None:
        epoch = epoch or self.chain.epoch
        if user_id in self.admins(epoch):
            return Role.ADMIN
        found = self.members.get(epoch, {}).get(user_id)
        return found.role if found else None


def verify_roster(
    chain: OrgChain, memberships: Sequence[bytes], *, identity_of: IdentityOf
) -> Roster:
    """Section 14.4: count a membership only if an admin of its epoch signed it; refuse a chain
    whose epoch n+1 was made by someone who was no admin of epoch n (`IntegrityError`).

    A membership that does not verify gives nobody anything and is left out; the member it
    names notices, because its own keys then do not arrive.
    """
    by_epoch: dict[int, list[Membership]] = {}
    for data in memberships:
        try:
            m = Membership.decode(data)
        except MalformedError:
            continue
        if 1 <= m.epoch <= chain.epoch:
            by_epoch.setdefault(m.epoch, []).append(m)
    members: dict[int, dict[bytes, Membership]] = {}
    for record in chain.records:
        epoch = record.epoch
        admins = {record.author_id}
        accepted: dict[bytes, Membership] = {}
        pending = list(by_epoch.get(epoch, []))
        progress = True
        while progress:  # an admin may add an admin who adds members: repeat until stable
            progress = False
            for m in list(pending):
                if m.admin_id not in admins:
                    continue
                pending.remove(m)
                try:
                    verify_membership(m.encode(), admin=identity_of(m.admin_id), org_keys=record)
                except (IntegrityError, KeyMismatchError, SignatureError):
                    continue
                previous = accepted.get(m.member_id)
                if previous is None or _RANK[m.role] > _RANK[previous.role]:
                    accepted[m.member_id] = m
                if m.role == Role.ADMIN and m.member_id not in admins:
                    admins.add(m.member_id)
                progress = True
        members[epoch] = accepted
        if epoch > 1:
            earlier = chain.epoch_keys(epoch - 1)
            earlier_admins = {earlier.author_id} | {
                u for u, m in members[epoch - 1].items() if m.role == Role.ADMIN
            }
            if record.author_id not in earlier_admins:
                raise IntegrityError(
                    f"organisation {chain.name}: epoch {epoch} was made by someone who was not an "
                    f"administrator in epoch {epoch - 1}"
                )
    return Roster(chain, members)


# -- re-wrapped grants -----------------------------------------------------------------------------
def check_rewrap(rewrap: Grant, original: Grant, *, org_id: bytes) -> None:
    """Section 14.5: a grant re-wrapped for a newer epoch copies the owner's original faithfully
    (same target and key commitment, no more rights, no later expiry) and was signed by the very
    epoch it is addressed to."""
    if rewrap.recipient_id != org_id or original.recipient_id != org_id:
        raise IntegrityError("re-wrapped grant: not a grant to this organisation")
    if (rewrap.granter_id, rewrap.granter_key_id) != (rewrap.recipient_id, rewrap.recipient_key_id):
        raise KeyMismatchError("re-wrapped grant: not signed by the epoch it is addressed to")
    same = (rewrap.kind, rewrap.dossier_id, rewrap.document_id, rewrap.number)
    if same != (original.kind, original.dossier_id, original.document_id, original.number):
        raise IntegrityError("re-wrapped grant: for another target than the original")
    if not hmac.compare_digest(rewrap.key_commitment, original.key_commitment):
        raise IntegrityError("re-wrapped grant: commits to another key than the original")
    if rewrap.rights > original.rights:
        raise IntegrityError("re-wrapped grant: gives more rights than the original")
    if original.expires_at != NEVER_EXPIRES and (
        rewrap.expires_at == NEVER_EXPIRES or rewrap.expires_at > original.expires_at
    ):
        raise IntegrityError("re-wrapped grant: expires later than the original")
