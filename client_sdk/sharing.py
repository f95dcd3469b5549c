"""Sharing by re-wrapping keys, revoking with key rotation, and the access log.

Sharing a dossier seals each of its epoch keys to the recipient's pinned box key in a signed
grant (docs/format.md section 8); documents added later are readable without a new share.
Sharing one document seals only the file keys of its versions. Revoking a dossier share starts
a new epoch (section 10): the revoked party never receives the new key, so whatever is written
afterwards stays closed to it even if the server gives its old grants back (threat S18).

A revoke first finds, in the grants this device proves the owner signed, what the person (or
organisation) holds of their own (`revocation`), and refuses when that is nothing: someone who
reads through an organisation, or whose share already ended, loses nothing by it, and a key
rotation for them would only look like one.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Protocol, TypeVar

from vault.errors import ExpiredError, KeyMismatchError, SecurityError
from vault.grant import (
    NEVER_EXPIRES,
    Grant,
    make_document_grant,
    make_dossier_grant,
    new_dossier_key,
    open_grant,
    verify_grant,
)
from vault.keys import Identity
from vault.kinds import GrantKind, Rights

from .accesslog import LogEntry, verify_log
from .api import VersionRecord
from .clock import now
from .directory import Organisation, named_keys
from .documents import DocumentsMixin
from .errors import ClientError
from .profile import Profile
from .records import DocumentInfo, Dossier
from .transport import b64
from .trust import Contact


class UnverifiedOrganisation(ClientError):
    """Sharing with an organisation nobody verified needs `--allow-unverified`."""


@dataclass(frozen=True)
class SharedItem:
    """A grant addressed to me whose signature verified."""

    kind: str  # dossier or document
    dossier_id: str
    document_id: str | None
    number: int
    granter: str
    granter_verified: bool
    rights: str
    expires_at: int
    issued_at: int
    # Every number the share's grants hold (a document's versions, a dossier's key epochs).
    numbers: tuple[int, ...] = ()

    def share_key(self) -> tuple[object, ...]:
        """What makes two grants one share (`one_row_per_share`)."""
        return (self.kind, self.dossier_id, self.document_id, self.granter, self.rights,
                self.expires_at)  # fmt: skip


@dataclass(frozen=True)
class ShareResult:
    recipient: Identity
    recipient_verified: bool
    first_seen: bool
    grants: int
    # A document shared on its own: its versions left out because the owner does not confirm
    # them (not in her signed index, not hers), and why the newest of them was not adopted.
    unconfirmed: tuple[int, ...] = ()
    not_adopted_because: str = ""


class _Share(Protocol):
    @property
    def issued_at(self) -> int: ...

    def share_key(self) -> tuple[object, ...]: ...


ShareItem = TypeVar("ShareItem", bound=_Share)


def one_row_per_share(items: list[ShareItem]) -> list[ShareItem]:
    """One row per share: the grants of one share (each epoch key of a dossier, the new epoch's
    key a rotation re-wraps, each version of a document) differ only in what they seal, so
    they are one row, dated when the share began (its first grant). Grants with other rights
    or another expiry are another share, and stay a row of their own."""
    first: dict[tuple[object, ...], ShareItem] = {}
    for item in items:
        key = item.share_key()
        if key not in first or item.issued_at < first[key].issued_at:
            first[key] = item
    return list(first.values())


def _until(grant: Grant) -> str:
    if grant.expires_at == NEVER_EXPIRES:
        return ""
    try:
        date = datetime.fromtimestamp(grant.expires_at, UTC).strftime("%Y-%m-%d %H:%M")
    except (OverflowError, OSError, ValueError):
        date = "a date past 9999"
    ended = grant.expires_at <= now()
    return f", {'expired on' if ended else 'shared until'} {date}"


def _rights(grant: Grant) -> str:
    return "write" if grant.rights == Rights.WRITE else "read"


def check_granter_owns(profile: Profile, grant: Grant) -> None:
    """Only a dossier's owner grants its keys: a grant signed by anyone else is no share,
    whoever signed it, if this device knows the dossier's owner (pinned on first sight)."""
    owner = profile.dossier_owner(grant.dossier_id.hex())
    if owner is not None and owner != grant.granter_id.hex():
        raise KeyMismatchError(
            "grant: not signed by the dossier's owner (this device knows the dossier as "
            "someone else's)"
        )


@dataclass(frozen=True)
class Synced:
    """What the named step `sync` wrote: the versions by others it adopted into my index
    (confirmed now), and the new dossier epoch it started (0: none was due). `listing`: the
    server's listing of the whole dossier that it checked (D13, D12) and adopted from, for
    `documents(listing=...)` or `export(listing=...)` next, so that a dossier of ten thousand
    documents is fetched once (None: none was fetched, as for anyone but the owner)."""

    adopted: tuple[DocumentInfo, ...] = ()
    epoch: int = 0
    listing: dict[str, list[VersionRecord]] | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Revocation:
    """What revoking `username` takes away, from the grants this device proves I signed,
    found before anything is changed (`SharingMixin.revocation`)."""

    username: str  # as given: a user, or @organisation
    recipient_id: str
    dossier_id: str
    title: str
    document_id: str | None  # the target, when it is one document
    # Their share of the whole dossier: my newest grant to them (None if they hold none), and
    # whether they hold the current epoch's key (then a new epoch starts without them).
    dossier_grant: Grant | None
    holds_current_key: bool
    # Documents shared with them on their own: id -> (name, the versions, my newest grant).
    documents: dict[str, tuple[str, list[int], Grant]] = field(default_factory=dict)

    def lines(self) -> list[str]:
        """Who loses what, one line per share, to say before acting."""
        who = self.username
        members = (
            f"; every member of {who.removeprefix('@')} loses it" if who.startswith("@") else ""
        )
        out = []
        if self.dossier_grant is not None and self.document_id is None:
            g = self.dossier_grant
            out.append(
                f"Revoking {who}'s {_rights(g)} access to the whole dossier "
                f'"{self.title}" ({self.dossier_id[:12]}){_until(g)}{members}.'
            )
        for doc, (name, versions, g) in self.documents.items():
            numbers = ", ".join(map(str, versions))
            out.append(
                f"Revoking {who}'s read access to {name} ({doc[:12]}), "
                f"version{'s' if len(versions) > 1 else ''} {numbers}{_until(g)}{members}."
            )
        return out


class SharingMixin(DocumentsMixin):
    def _next_counter(self, dossier_id: str) -> int:
        counters = [Grant.decode(g.grant()).counter for g in self.keyring.grant_rows(dossier_id)]
        return max(counters, default=0) + 1

    def _owned(self, dossier_id: str) -> Dossier:
        dossier = self.load_dossier(dossier_id)
        if dossier.role != "owner":
            raise ClientError("only the owner of a dossier can share it or revoke access")
        return dossier

    def _dossier_grants(
        self, dossier: Dossier, recipient: Identity, rights: Rights, expires_at: int, counter: int
    ) -> list[bytes]:
        out = []
        for epoch, key in sorted(dossier.keys.items()):
            grant = make_dossier_grant(
                self.me,
                recipient,
                dossier_id=bytes.fromhex(dossier.dossier_id),
                epoch=epoch,
                dossier_key=key,
                rights=rights,
                counter=counter,
                issued_at=now(),
                expires_at=expires_at,
            )
            out.append(grant)
            counter += 1
        return out

    def share(
        self,
        target_id: str,
        username: str,
        *,
        write: bool = False,
        expires_at: int = 0,
        allow_unverified: bool = False,
    ) -> ShareResult:
        """Give `username` a dossier (every epoch key) or one document (every version's key).

        `allow_unverified`: share with an organisation (`@name`) that neither the server's
        operator nor this device verified; without it such a share is refused."""
        kind, target = self.resolve_target(target_id)
        contact = self._share_recipient(username, allow_unverified=allow_unverified)
        recipient = contact.identity
        rights = Rights.WRITE if write else Rights.READ
        if recipient.user_id.hex() == self.my_id:
            raise ClientError("you cannot share with yourself: you already hold every key")
        if kind == "dossier":
            dossier = self._owned(target)
            if not dossier.keys:
                # K3: never a fresh key because the server says there is none; and a share of
                # nothing is not a share.
                raise KeyMismatchError(
                    "the server shows none of your own grants for this dossier, so there is no "
                    "key to share; nothing was shared"
                )
            counter = self._next_counter(target)
            grants = self._dossier_grants(dossier, recipient, rights, expires_at, counter)
        else:
            dossier_id, versions = self.document_versions(target)
            dossier = self._owned(dossier_id)
            # K4: only versions I confirm are passed on: a valid signature by someone my grants
            # do not let write is no version of my document. Versions they allow are adopted
            # first; the rest are left out, and named.
            self._check_not_rolled_back(dossier, {target: versions[-1].version})
            dossier, _, reasons = self._adopt_pending(dossier, {target: versions})
            confirmed = [r for r in versions if self._owner_confirms(dossier, r)]
            unconfirmed = tuple(r.version for r in versions if r not in confirmed)
            reason = reasons.get(target, "")
            if not confirmed:
                raise ClientError(
                    f"document {target[:8]} has no version you confirmed"
                    + (f" ({reason})" if reason else "")
                    + "; nothing was shared"
                )
            counter = self._next_counter(dossier_id)
            grants = []
            for record in confirmed:
                opened = self.open_version(dossier, record)
                grant = make_document_grant(
                    self.me,
                    recipient,
                    dossier_id=bytes.fromhex(dossier_id),
                    document_id=bytes.fromhex(target),
                    version=record.version,
                    file_key=opened.file_key,
                    rights=Rights.READ,
                    counter=counter,
                    issued_at=now(),
                    expires_at=expires_at,
                )
                grants.append(grant)
                counter += 1
        self.api.post_grants(dossier.dossier_id, grants)
        if kind == "dossier":
            return ShareResult(recipient, contact.verified, contact.first_seen, len(grants))
        return ShareResult(
            recipient, contact.verified, contact.first_seen, len(grants), unconfirmed, reason
        )

    def share_with_organisation(
        self,
        target_id: str,
        name: str,
        *,
        write: bool = False,
        expires_at: int = 0,
        allow_unverified: bool = False,
    ) -> tuple[ShareResult, Organisation]:
        """`share` with `@name`, and the organisation as this device verified it."""
        result = self.share(
            target_id,
            f"@{name.removeprefix('@')}",
            write=write,
            expires_at=expires_at,
            allow_unverified=allow_unverified,
        )
        org = self.directory.organisation(org_id=result.recipient.user_id.hex(), fresh=False)
        return result, org

    def _share_recipient(self, username: str, *, allow_unverified: bool) -> Contact:
        """Whom `share` seals keys to: every check on the recipient is made here. `@name`: the
        organisation's current epoch, refused if nobody verified it unless `allow_unverified`."""
        if not username.startswith("@"):
            return self.directory.person(username)
        org = self.directory.organisation(username[1:])
        if not org.verified and not allow_unverified:
            raise UnverifiedOrganisation(
                f"{org.name} is not verified: neither the server's operator nor you confirmed "
                f"its fingerprint ({org.fingerprint}). Compare it with one on a letter from "
                f"{org.name} and run `kluis org verify {org.name} '<fingerprint>'`, or share "
                "anyway with --allow-unverified"
            )
        return Contact(org.identity, verified=org.verified, first_seen=org.first_seen)

    def revocation(self, target_id: str, username: str) -> Revocation:
        """What revoking `username` from a dossier or document would take away, from my own
        signed grants (never the server's columns); reads only (`revoke` adopts the pending
        versions first). A ClientError, naming how they have access if they do, when they
        hold no share of their own there."""
        kind, target = self.resolve_target(target_id)
        recipient = self.contact(username).identity
        recipient_id = recipient.user_id.hex()
        if recipient_id == self.my_id:
            raise ClientError("you cannot revoke your own access: you own this dossier")
        dossier_id = target if kind == "dossier" else self.document_versions(target)[0]
        self._owned(dossier_id)
        names = {i.document_id: i.name for i in self.documents(dossier_id)}
        dossier = self._owned(dossier_id)
        mine = self._signed_by_me(dossier)
        theirs = [g for g in mine if g.recipient_id.hex() == recipient_id]
        whole = [g for g in theirs if g.kind == GrantKind.DOSSIER]
        by_document: dict[str, list[Grant]] = {}
        for g in theirs:
            if g.kind == GrantKind.DOCUMENT and (
                kind == "dossier" or g.document_id.hex() == target
            ):
                by_document.setdefault(g.document_id.hex(), []).append(g)
        if not by_document and (kind == "document" or not whole):
            raise ClientError(
                self._no_share_of_their_own(username, recipient_id, dossier, mine, target, whole)
            )
        return Revocation(
            username=username,
            recipient_id=recipient_id,
            dossier_id=dossier_id,
            title=dossier.title,
            document_id=target if kind == "document" else None,
            dossier_grant=max(whole, key=lambda g: (g.number, g.issued_at)) if whole else None,
            holds_current_key=any(g.number == dossier.epoch for g in whole),
            documents={
                doc: (
                    names.get(doc, doc[:8]),
                    sorted({g.number for g in grants}),
                    max(grants, key=lambda g: g.issued_at),
                )
                for doc, grants in by_document.items()
            },
        )

    def _no_share_of_their_own(
        self,
        username: str,
        recipient_id: str,
        dossier: Dossier,
        mine: list[Grant],
        target: str,
        whole: list[Grant],
    ) -> str:
        """Why nothing can be revoked, and how they have access if they do."""
        if target != dossier.dossier_id and whole:
            return (
                f"{username} holds no share of this document of their own, so nothing was "
                "revoked: they read it through their share of the whole dossier. To take that, "
                f"`kluis revoke {dossier.dossier_id[:12]} {username}`"
            )
        where = "this document" if target != dossier.dossier_id else "this dossier"
        message = f"{username} holds no share of their own in {where}, so nothing was revoked"
        reaching = [  # the grants that give what was to be revoked: the dossier, or the document
            g
            for g in mine
            if target == dossier.dossier_id
            or g.kind == GrantKind.DOSSIER
            or g.document_id.hex() == target
        ]
        through = self.directory.organisations_with(
            recipient_id, {g.recipient_id.hex() for g in reaching}
        )
        if through:
            orgs = ", ".join(f"@{name}" for name in through)
            message += (
                f". They read it through {orgs}: to take it from them, ask its administrator to "
                f"remove them, or revoke {orgs} (every member loses it)"
            )
        return message

    def _signed_by_me(self, dossier: Dossier) -> list[Grant]:
        """The dossier's grants that this device proves I signed (rows the server files in my
        name, or forges, tell nothing about whom I gave what)."""
        did = bytes.fromhex(dossier.dossier_id)
        grants = []
        for row in self.keyring.grant_rows(dossier.dossier_id):
            try:
                grants.append(verify_grant(row.grant(), granter=self.me.public, dossier_id=did))
            except SecurityError:
                continue
        return grants

    def revoke(self, target_id: str, username: str, revocation: Revocation | None = None) -> int:
        """Remove a share; for a dossier whose current key they hold, rotate to a new epoch.
        Returns the new epoch (or 0). `revocation`: what `revocation()` found (else found now);
        a ClientError, with nothing changed, when they hold no share of their own.

        Revoking an organisation first finds the grants that end, and this device remembers
        them once they did (the server deletes them), so that receipts the organisation signed
        while it held them still verify here, and later ones do not (client_sdk/receipts.py)."""
        plan = revocation or self.revocation(target_id, username)
        # Versions written while the leaving party could still write are signed in first.
        self._adopt(self._owned(plan.dossier_id))
        ending = self._ending_grants(plan, username[1:]) if username.startswith("@") else []
        epoch = self._end_share(plan)
        if ending:
            at = now()
            self.profile.save_revoked_shares(
                plan.dossier_id,
                [
                    *self.profile.revoked_shares(plan.dossier_id),
                    *({"grant": b64(data), "revoked_at": at} for data in ending),
                ],
            )
        return epoch

    def _ending_grants(self, plan: Revocation, organisation: str) -> list[bytes]:
        """My own signed grants to the organisation that revoking `plan` ends."""
        org_id = self.directory.organisation(organisation).chain.org_id
        did = bytes.fromhex(plan.dossier_id)
        ending = []
        for row in self.keyring.grant_rows(plan.dossier_id):
            data = row.grant()
            try:
                grant = verify_grant(data, granter=self.me.public, dossier_id=did)
            except SecurityError:
                continue
            if grant.recipient_id == org_id and (
                plan.document_id is None or grant.document_id.hex() == plan.document_id
            ):
                ending.append(data)
        return ending

    def _end_share(self, plan: Revocation) -> int:
        if plan.document_id is not None:
            self.api.delete_grants(plan.dossier_id, plan.recipient_id, plan.document_id)
            return 0
        # The new epoch goes out before the old rows are deleted, so a server that keeps them
        # (or fails half-way) leaves the revoked party with old keys only (S18). One who holds
        # no key of the current epoch (a revoke that failed half-way, or document shares only)
        # is past a rotation already.
        epoch = 0
        if plan.holds_current_key:
            epoch = self.rotate(self._owned(plan.dossier_id), leaving=plan.recipient_id)
        self.api.delete_grants(plan.dossier_id, plan.recipient_id)
        return epoch

    def sync(self, dossier_id: str, *, document_id: str | None = None) -> Synced:
        """Writes, as owner (for anyone else: nothing): what reads find to do, in order.

        1. Adopt into my index the pending versions by others that my own signed write grants
           allow (`DocumentInfo.adoptable_version`), after the checks a listing makes (D13,
           D12), or, given `document_id`, those of one document after its rollback check.
        2. Start a new dossier epoch (`rotate`) when an organisation I share the dossier with
           removed a member since my share (`rotation_due`), so that what is written next
           stays closed to the former member; `add` and `update` refuse to write until then.

        Returns what was adopted and the new epoch (0 when none was due)."""
        dossier = self.load_dossier(dossier_id)
        if dossier.role != "owner":
            return Synced()
        # Fetched after the index it is checked against, as `documents` does: a listing older
        # than the index could lack what another of my devices just added.
        listing = self._listing(dossier_id) if document_id is None else None
        adopted = self._adopt(dossier, document_id, listing=listing)
        if adopted:
            dossier = self.load_dossier(dossier_id)  # with the index just signed
        epoch = self.rotate(dossier) if self.rotation_due(dossier) else 0
        return Synced(tuple(adopted), epoch, listing)

    def rotate(self, dossier: Dossier, *, leaving: str | None = None) -> int:
        """Start a new epoch: a fresh dossier key for the owner and every remaining grantee.

        The remaining grantees are those of my own verified grants for the current epoch, never
        the server's list, and never `leaving`, whatever the server still shows.
        """
        epoch = max(dossier.keys) + 1
        key = new_dossier_key()
        remaining = {
            user_id: grant
            for user_id, grant in self.current_grantees(dossier).items()
            if user_id != leaving
        }
        rotated = Dossier(
            dossier_id=dossier.dossier_id,
            owner=dossier.owner,
            role=dossier.role,
            index=dossier.index,
            index_bytes=dossier.index_bytes,
            metadata=dossier.metadata,
            keys={epoch: key},
        )
        counter = self._next_counter(dossier.dossier_id)
        grants = self._dossier_grants(rotated, self.me.public, Rights.WRITE, 0, counter)
        for grant in remaining.values():
            recipient = self._recipient_of(grant)
            counter += 1
            grants += self._dossier_grants(
                rotated, recipient, Rights(grant.rights), grant.expires_at, counter
            )
        self.api.post_grants(dossier.dossier_id, grants, rotation=True)
        rotated.keys.update(dossier.keys)
        self.sign_index(rotated, [], epoch=epoch)
        return epoch

    def _recipient_of(self, grant: Grant) -> Identity:
        """The identity to seal a new epoch to for a grant I signed: the keys that grant names,
        or keys I verified since (`kluis verify`), never whatever the server now says the
        recipient's keys are (on a new device the first answer would be pinned unchecked)."""
        contact = self.contact_by_id(grant.recipient_id.hex())
        allowed = self.directory.keys_known_for(grant, contact)
        return named_keys(contact, allowed, "your own grant")

    def shared_with_me(self) -> list[SharedItem]:
        """Grants others made to me, each opened (signature, binding, key commitment), one
        item per share (`one_row_per_share`)."""
        items = []
        for row in self.api.shared():
            data = row.grant()
            grant = Grant.decode(data)
            check_granter_owns(self.profile, grant)
            granter = self.contact_by_id(grant.granter_id.hex())
            kind = GrantKind(grant.kind)
            try:
                open_grant(
                    data,
                    me=self.me,
                    granter=granter.identity,
                    kind=kind,
                    dossier_id=grant.dossier_id,
                    document_id=grant.document_id if kind == GrantKind.DOCUMENT else None,
                    number=grant.number,
                    now=now(),
                )
            except ExpiredError:
                continue
            items.append(
                SharedItem(
                    kind="dossier" if kind == GrantKind.DOSSIER else "document",
                    dossier_id=grant.dossier_id.hex(),
                    document_id=grant.document_id.hex() if kind == GrantKind.DOCUMENT else None,
                    number=grant.number,
                    granter=granter.identity.username,
                    granter_verified=granter.verified,
                    rights="write" if grant.rights == Rights.WRITE else "read",
                    expires_at=grant.expires_at,
                    issued_at=grant.issued_at,
                )
            )
        numbers: dict[tuple[object, ...], set[int]] = {}
        for item in items:
            numbers.setdefault(item.share_key(), set()).add(item.number)
        shares = [
            replace(share, numbers=tuple(sorted(numbers[share.share_key()])))
            for share in one_row_per_share(items)
        ]
        return sorted(shares, key=lambda i: -i.issued_at)

    def access_log(self, dossier_id: str) -> list[LogEntry]:
        """The dossier's access log, its hash chain checked against what this device saw."""
        self.load_dossier(dossier_id)
        entries = verify_log(self.api.log(dossier_id), self.profile.log_head(dossier_id))
        if entries:
            self.profile.save_log_head(dossier_id, entries[-1].seq, entries[-1].hash)
        return entries
