"""Groups and conversations: organisations of kinds 5 and 6, their epoch key and archive keys.

Implements docs/format.md sections 19.1 and 19.2. A group reuses the organisation machinery of
`vault.organisation` unchanged (its key chain, memberships, roster, rotation, re-wrapped
grants); this module adds only what is particular to groups:

- `check_group`: the rules for kinds 5 and 6 on a verified roster (names, the two admins of a
  conversation);
- `epoch_key`: the 32-byte key messages are encrypted under, derived from the epoch's private
  keys, which the signed chain commits to. `vault.message` takes it as opaque bytes, so another
  source (an MLS exporter secret) can replace this function without changing a message;
- `ArchiveKey` ("KLGA"): an admin seals an earlier epoch's key to one new member.

Nothing here touches the network or the disk.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from typing import Final

import nacl.exceptions
import nacl.public

from . import labels
from .derive import KEY_SIZE, derive
from .encoding import ID_SIZE, Reader, Writer, check_length, check_u64
from .errors import IntegrityError, KeyMismatchError, MalformedError, SignatureError
from .keys import Identity, PrivateIdentity
from .kinds import OrgKind
from .orgchain import EPOCH_MAX, Roster
from .orgkeys import FORMAT_VERSION, KEY_ID_SIZE, SIGNATURE_SIZE

__all__ = [
    "ARCHIVE_KEY_MAGIC",
    "CONVERSATION_PREFIX",
    "GROUP_KINDS",
    "SEALED_KEY_SIZE",
    "ArchiveKey",
    "check_group",
    "conversation_name",
    "epoch_key",
    "make_archive_key",
    "open_archive_key",
    "verify_archive_key",
]

ARCHIVE_KEY_MAGIC: Final = b"KLGA"
SEALED_KEY_SIZE: Final = KEY_SIZE + 48  # crypto_box_seal: ephemeral key 32 + tag 16
CONVERSATION_PREFIX: Final = "dm-"
GROUP_KINDS: Final = frozenset({OrgKind.GROUP, OrgKind.CONVERSATION})


def conversation_name(group_id: bytes) -> str:
    """The only name a conversation may have: it says nothing about who talks in it."""
    check_length(group_id, ID_SIZE, "group_id")
    return CONVERSATION_PREFIX + group_id.hex()


def check_group(roster: Roster) -> None:
    """Section 19.1 on a verified chain and roster: the kind is 5 or 6, the name fits the kind,
    and a conversation has exactly two members in every epoch, both admins (`IntegrityError`)."""
    chain = roster.chain
    if chain.kind not in GROUP_KINDS:
        raise IntegrityError(f"{chain.name}: an organisation, not a group")
    if chain.kind == OrgKind.GROUP:
        if chain.name.startswith(CONVERSATION_PREFIX):
            raise IntegrityError(f"group {chain.name}: a group's name may not start with 'dm-'")
        return
    if chain.name != conversation_name(chain.org_id):
        raise IntegrityError("conversation: its name is not made from its id")
    for record in chain.records:
        members = set(roster.members.get(record.epoch, {})) | {record.author_id}
        admins = roster.admins(record.epoch)
        if len(members) != 2 or admins != members:
            raise IntegrityError(
                f"conversation: epoch {record.epoch} does not have exactly two members, both admins"
            )


def epoch_key(epoch_keys: PrivateIdentity) -> bytes:
    """K_e of section 19.2, from one epoch's private keys (as opened from a membership).

    Only box_secret and signing_seed go in: the published record commits to both (14.3, check
    7), so every member who opened its membership holds the same K_e. age_secret is committed to
    by nothing and stays out."""
    context = Writer().fixed(epoch_keys.user_id, ID_SIZE).u64(epoch_keys.key_version).getvalue()
    return derive(epoch_keys.box_secret + epoch_keys.signing_seed, labels.GROUP_EPOCH_KEY, context)


# -- archive keys ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ArchiveKey:
    """An admin's signed statement giving one earlier epoch's K_e to one member (19.2)."""

    group_id: bytes
    epoch: int
    epoch_key_id: bytes
    granted_in: int
    member_id: bytes
    member_key_id: bytes
    admin_id: bytes
    admin_key_id: bytes
    issued_at: int
    sealed_key: bytes
    signature: bytes = field(repr=False)

    def body(self) -> bytes:
        return (
            Writer()
            .raw(ARCHIVE_KEY_MAGIC)
            .u8(FORMAT_VERSION)
            .fixed(self.group_id, ID_SIZE)
            .u32(self.epoch)
            .fixed(self.epoch_key_id, KEY_ID_SIZE)
            .u32(self.granted_in)
            .fixed(self.member_id, ID_SIZE)
            .fixed(self.member_key_id, KEY_ID_SIZE)
            .fixed(self.admin_id, ID_SIZE)
            .fixed(self.admin_key_id, KEY_ID_SIZE)
            .u64(self.issued_at)
            .fixed(self.sealed_key, SEALED_KEY_SIZE)
            .getvalue()
        )

    def encode(self) -> bytes:
        return self.body() + self.signature

    @classmethod
    def decode(cls, data: bytes) -> ArchiveKey:
        r = Reader(data, "archive key")
        r.magic(ARCHIVE_KEY_MAGIC)
        if r.u8() != FORMAT_VERSION:
            raise MalformedError("archive key: unsupported format version")
        group_id, epoch, epoch_key_id = r.raw(ID_SIZE), r.u32(), r.raw(KEY_ID_SIZE)
        granted_in = r.u32()
        member_id, member_key_id = r.raw(ID_SIZE), r.raw(KEY_ID_SIZE)
        admin_id, admin_key_id = r.raw(ID_SIZE), r.raw(KEY_ID_SIZE)
        issued_at = r.u64()
        sealed_key = r.raw(SEALED_KEY_SIZE)
        signature = r.raw(SIGNATURE_SIZE)
        r.end()
        _check_epochs(epoch, granted_in)
        return cls(
            group_id,
            epoch,
            epoch_key_id,
            granted_in,
            member_id,
            member_key_id,
            admin_id,
            admin_key_id,
            issued_at,
            sealed_key,
            signature,
        )


def _check_epochs(epoch: int, granted_in: int) -> None:
    if epoch < 1:
        raise MalformedError("archive key: epoch must be at least 1")
    if not epoch < granted_in <= EPOCH_MAX:
        # A key of the current epoch comes in a membership; giving it here would make a reader
        # of someone the roster does not name.
        raise MalformedError("archive key: only an epoch before the one it is given in")


def make_archive_key(
    admin: PrivateIdentity,
    *,
    group_id: bytes,
    epoch: int,
    epoch_key_id: bytes,
    granted_in: int,
    member: Identity,
    key: bytes,
    issued_at: int,
    sealed_key: bytes | None = None,
) -> bytes:
    """Seal K_e of `epoch` to `member`, signed by `admin` (an admin of epoch `granted_in`)."""
    _check_epochs(epoch, granted_in)
    check_u64(issued_at, "issued_at")
    check_length(key, KEY_SIZE, "key")
    if sealed_key is None:
        box = nacl.public.SealedBox(nacl.public.PublicKey(member.box_key))
        sealed_key = bytes(box.encrypt(key))
    unsigned = ArchiveKey(
        group_id=group_id,
        epoch=epoch,
        epoch_key_id=epoch_key_id,
        granted_in=granted_in,
        member_id=member.user_id,
        member_key_id=member.key_id,
        admin_id=admin.user_id,
        admin_key_id=admin.public.key_id,
        issued_at=issued_at,
        sealed_key=sealed_key,
        signature=b"",
    )
    body = unsigned.body()
    return body + admin.sign(labels.GROUP_ARCHIVE_KEY_SIGNATURE, body)


def verify_archive_key(data: bytes, *, admin: Identity, roster: Roster) -> ArchiveKey:
    """Checks 1, 2, 4, 5 and 6 of section 19.2 and that the member is one of `granted_in`
    (part of check 3): anyone holding the verified roster can run them."""
    archive = ArchiveKey.decode(data)  # 1
    chain = roster.chain
    if archive.group_id != chain.org_id:  # 2
        raise IntegrityError("archive key: for another group")
    if archive.granted_in > chain.epoch:
        raise IntegrityError(f"archive key: given in epoch {archive.granted_in}, not in the chain")
    if not hmac.compare_digest(archive.epoch_key_id, chain.epoch_keys(archive.epoch).key_id):
        raise IntegrityError("archive key: names other keys than the epoch's")
    if archive.member_id not in roster.members.get(archive.granted_in, {}) and (
        archive.member_id not in roster.admins(archive.granted_in)
    ):
        raise IntegrityError(
            f"archive key: given to someone who is no member of epoch {archive.granted_in}"
        )
    if (archive.admin_id, archive.admin_key_id) != (admin.user_id, admin.key_id):  # 4
        raise KeyMismatchError("archive key: not signed by the administrator it names")
    try:  # 5
        admin.verify(labels.GROUP_ARCHIVE_KEY_SIGNATURE, archive.body(), archive.signature)
    except SignatureError as exc:
        raise SignatureError("archive key: signature does not verify") from exc
    if archive.admin_id not in roster.admins(archive.granted_in):  # 6
        raise IntegrityError(
            f"archive key: signed by someone who was no administrator in epoch {archive.granted_in}"
        )
    return archive


def open_archive_key(data: bytes, *, me: PrivateIdentity, admin: Identity, roster: Roster) -> bytes:
    """All checks of section 19.2 as the member; returns K_e of the archive key's epoch."""
    archive = ArchiveKey.decode(data)
    mine = me.public
    if (archive.member_id, archive.member_key_id) != (mine.user_id, mine.key_id):  # 3
        raise KeyMismatchError("archive key: addressed to someone else, or to other keys")
    archive = verify_archive_key(data, admin=admin, roster=roster)
    try:  # 7
        key = bytes(nacl.public.SealedBox(me.box_private_key).decrypt(archive.sealed_key))
    except nacl.exceptions.CryptoError as exc:
        raise IntegrityError("archive key: the sealed key does not open") from exc
    if len(key) != KEY_SIZE:
        raise IntegrityError("archive key: the sealed key has the wrong size")
    return key
