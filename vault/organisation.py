"""Organisations: a key chain signed from epoch to epoch, and memberships that hand its keys out.

Implements docs/format.md section 14. An organisation (a municipality, NCG, an engineering firm)
has its own X25519 and Ed25519 keys, made on a member's device, one pair per **epoch**:

- `OrgKeys` ("KLOK") publishes one epoch's keys as an identity record (section 3) whose user id
  is the organisation id, key version the epoch and username the organisation name. The admin
  who made the epoch signs it, and from epoch 2 on the previous epoch's organisation key signs
  it too (the *succession*): a chain nobody without the old key can extend (threat K6).
- The **organisation fingerprint** is taken over the epoch-1 keys, id, kind and name. It never
  changes, so the one printed on a letter keeps naming the organisation after every rotation.
- `Membership` ("KLOM") seals one epoch's private keys to a member's box key, signed by an
  admin. Who counts as an admin is decided by `verify_roster`: the author of an epoch, and
  whoever an admin of that epoch made admin; the author of epoch n+1 must be an admin of
  epoch n.
- A **re-wrapped grant** gives an existing grant's key to a newer epoch: an ordinary grant
  (section 8) whose granter and recipient are both that epoch's organisation identity.
  `check_rewrap` says whether one faithfully copies the owner's original.

The checks (the chain, memberships as signed statements, rosters, re-wraps) hold no secret and
live in `vault.orgchain`, which this module re-exports; here is what makes epochs and
memberships with private keys and what opens a membership's sealed keys. Nothing here touches
the network or the disk.
"""

from __future__ import annotations

import nacl.exceptions
import nacl.public

from . import labels
from .encoding import ID_SIZE, check_length, check_u64
from .errors import IntegrityError, KeyMismatchError
from .keys import PRIVATE_KEYS_SIZE, Identity, PrivateIdentity
from .kinds import OrgKind, Role
from .orgchain import (
    EPOCH_MAX,
    FINGERPRINT_ID_SIZE,
    MEMBERSHIP_MAGIC,
    SEALED_KEYS_SIZE,
    ChainPin,
    IdentityOf,
    Membership,
    OrgChain,
    Roster,
    check_pin,
    check_rewrap,
    record_hash,
    verify_chain,
    verify_membership,
    verify_roster,
)
from .orgkeys import (
    NO_KEY_ID,
    ORG_KEYS_MAGIC,
    OrgKeys,
    organisation_fingerprint,
    organisation_fingerprint_digest,
)

# The public parts (`vault.orgkeys`, `vault.orgchain`) are re-exported:
# `from vault.organisation import OrgKeys, verify_chain` keeps working.
__all__ = [
    "EPOCH_MAX",
    "FINGERPRINT_ID_SIZE",
    "MEMBERSHIP_MAGIC",
    "NO_KEY_ID",
    "ORG_KEYS_MAGIC",
    "SEALED_KEYS_SIZE",
    "ChainPin",
    "IdentityOf",
    "Membership",
    "OrgChain",
    "OrgKeys",
    "Roster",
    "check_pin",
    "check_rewrap",
    "make_membership",
    "new_organisation",
    "next_epoch",
    "open_membership",
    "organisation_fingerprint",
    "organisation_fingerprint_digest",
    "record_hash",
    "verify_chain",
    "verify_membership",
    "verify_roster",
]


def _org_keys(
    author: PrivateIdentity,
    org: PrivateIdentity,
    *,
    kind: OrgKind,
    previous: PrivateIdentity | None,
    created_at: int,
) -> bytes:
    check_u64(created_at, "created_at")
    unsigned = OrgKeys(
        kind=kind,
        identity=org.public,
        previous_key_id=previous.public.key_id if previous else NO_KEY_ID,
        author_id=author.user_id,
        author_key_id=author.public.key_id,
        created_at=created_at,
        author_signature=b"",
        succession_signature=None,
    )
    signed = unsigned.body() + author.sign(labels.ORGANISATION_KEYS_SIGNATURE, unsigned.body())
    if previous is None:
        return signed
    return signed + previous.sign(labels.ORGANISATION_SUCCESSION_SIGNATURE, signed)


def new_organisation(
    author: PrivateIdentity,
    *,
    org_id: bytes,
    name: str,
    kind: OrgKind,
    created_at: int,
    private_keys: bytes | None = None,
) -> tuple[PrivateIdentity, bytes]:
    """Epoch 1: fresh keys (or `private_keys`, for reproducible vectors) and their record."""
    check_length(org_id, ID_SIZE, "org_id")
    org = (
        PrivateIdentity.generate(org_id, name, 1)
        if private_keys is None
        else PrivateIdentity.from_private_keys(org_id, name, 1, private_keys)
    )
    return org, _org_keys(author, org, kind=OrgKind(kind), previous=None, created_at=created_at)


def next_epoch(
    author: PrivateIdentity,
    previous: PrivateIdentity,
    *,
    kind: OrgKind,
    created_at: int,
    private_keys: bytes | None = None,
) -> tuple[PrivateIdentity, bytes]:
    """Epoch n+1: fresh keys, signed by `author` and by the epoch-n organisation key."""
    epoch = previous.key_version + 1
    if epoch > EPOCH_MAX:
        raise ValueError("no epochs left")
    org = (
        PrivateIdentity.generate(previous.user_id, previous.username, epoch)
        if private_keys is None
        else PrivateIdentity.from_private_keys(
            previous.user_id, previous.username, epoch, private_keys
        )
    )
    record = _org_keys(author, org, kind=OrgKind(kind), previous=previous, created_at=created_at)
    return org, record


def make_membership(
    admin: PrivateIdentity,
    org: PrivateIdentity,
    member: Identity,
    *,
    role: Role,
    issued_at: int,
    sealed_keys: bytes | None = None,
) -> bytes:
    """Seal the organisation keys `org` (one epoch) to `member`, signed by `admin`."""
    if type(role) is not Role:
        raise TypeError("role must be a Role value")
    check_u64(issued_at, "issued_at")
    if sealed_keys is None:
        box = nacl.public.SealedBox(nacl.public.PublicKey(member.box_key))
        sealed_keys = bytes(box.encrypt(org.private_keys()))
    check_length(sealed_keys, SEALED_KEYS_SIZE, "sealed_keys")
    unsigned = Membership(
        org_id=org.user_id,
        epoch=org.key_version,
        org_key_id=org.public.key_id,
        member_id=member.user_id,
        member_key_id=member.key_id,
        role=role,
        admin_id=admin.user_id,
        admin_key_id=admin.public.key_id,
        issued_at=issued_at,
        sealed_keys=sealed_keys,
        signature=b"",
    )
    body = unsigned.body()
    return body + admin.sign(labels.MEMBERSHIP_SIGNATURE, body)


def open_membership(
    data: bytes, *, me: PrivateIdentity, admin: Identity, org_keys: OrgKeys
) -> tuple[Membership, PrivateIdentity]:
    """All seven checks of section 14.3; returns the epoch's organisation private keys."""
    membership = Membership.decode(data)
    mine = me.public
    if (membership.member_id, membership.member_key_id) != (mine.user_id, mine.key_id):  # 3
        raise KeyMismatchError("membership: addressed to someone else, or to other keys")
    membership = verify_membership(data, admin=admin, org_keys=org_keys)
    try:  # 6
        keys = bytes(nacl.public.SealedBox(me.box_private_key).decrypt(membership.sealed_keys))
    except nacl.exceptions.CryptoError as exc:
        raise IntegrityError("membership: the sealed keys do not open") from exc
    if len(keys) != PRIVATE_KEYS_SIZE:
        raise IntegrityError("membership: the sealed keys have the wrong size")
    org = PrivateIdentity.from_private_keys(org_keys.org_id, org_keys.name, org_keys.epoch, keys)
    public = org.public
    if (public.signing_key, public.box_key) != (  # 7
        org_keys.identity.signing_key,
        org_keys.identity.box_key,
    ):
        raise KeyMismatchError("membership: the sealed keys are not the epoch's published keys")
    return membership, org
