"""Sharing by re-wrapping keys, revoking with key rotation, and the access log.

Sharing a dossier seals each of its epoch keys to the recipient's pinned box key in a signed
grant (docs/format.md section 8); documents added later are readable without a new share.
Sharing one document seals only the file keys of its versions. Revoking a dossier share starts
a new epoch (section 10): the revoked party never receives the new key, so whatever is written
afterwards stays closed to it even if the server gives its old grants back (threat S18).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vault.errors import ExpiredError, KeyMismatchError, MalformedError
from vault.grant import (
    Grant,
    GrantKind,
    Rights,
    make_document_grant,
    make_dossier_grant,
    new_dossier_key,
    open_grant,
)
from vault.keys import Identity

from .accesslog import LogEntry, verify_log
from .base import Dossier, now
from .documents import DocumentsMixin
from .errors import ClientError
from .transport import unb64
from .trust import Contact


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


class SharingMixin(DocumentsMixin):
    def _next_counter(self, dossier_id: str) -> int:
        counters = [
            Grant.decode(unb64(g.get("grant"), "grant")).counter
            for g in self._grant_rows(dossier_id)
        ]
        return max(counters, default=0) + 1

    def _post_grants(self, dossier_id: str, grants: list[dict[str, Any]]) -> None:
        self.api.call("POST", f"/dossiers/{dossier_id}/grants", json={"grants": grants})

    def _owned(self, dossier_id: str) -> Dossier:
        dossier = self.load_dossier(dossier_id)
        if dossier.role != "owner":
            raise ClientError("only the owner of a dossier can share it or revoke access")
        return dossier

    def _dossier_grants(
        self, dossier: Dossier, recipient: Identity, rights: Rights, expires_at: int, counter: int
    ) -> list[dict[str, Any]]:
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
            out.append(
                self._grant_fields(
                    grant, GrantKind.DOSSIER, None, epoch, recipient, rights, expires_at
                )
            )
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
                grants.append(
                    self._grant_fields(
                        grant, GrantKind.DOCUMENT, target, record.version, recipient, 1, expires_at
                    )
                )
                counter += 1
        self._post_grants(dossier.dossier_id, grants)
        if kind == "dossier":
            return ShareResult(recipient, contact.verified, contact.first_seen, len(grants))
        return ShareResult(
            recipient, contact.verified, contact.first_seen, len(grants), unconfirmed, reason
        )

    def _share_recipient(self, username: str, *, allow_unverified: bool) -> Contact:
        """Whom `share` seals keys to: every check on the recipient is made here, whoever calls
        `share` (an organisation's are in client_sdk/organisations.py)."""
        return self.contact(username)

    def revoke(self, target_id: str, username: str) -> int:
        """Remove a share; for a dossier, rotate to a new epoch. Returns the new epoch (or 0)."""
        kind, target = self.resolve_target(target_id)
        recipient = self.contact(username).identity
        if kind == "document":
            dossier_id, _ = self.document_versions(target)
            self._owned(dossier_id)
            self.api.call(
                "DELETE",
                f"/dossiers/{dossier_id}/grants",
                params={"recipient_id": recipient.user_id.hex(), "document_id": target},
            )
            return 0
        self._owned(target)
        # Versions written while the leaving party could still write are signed in first; the
        # new epoch then goes out before the old rows are deleted, so a server that keeps them
        # (or fails half-way) leaves the revoked party with old keys only (S18).
        self.documents(target)
        epoch = self.rotate(self._owned(target), leaving=recipient.user_id.hex())
        self.api.call(
            "DELETE", f"/dossiers/{target}/grants", params={"recipient_id": recipient.user_id.hex()}
        )
        return epoch

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
        self._post_grants(dossier.dossier_id, grants)
        rotated.keys.update(dossier.keys)
        self.sign_index(rotated, [], epoch=epoch)
        return epoch

    def _recipient_of(self, grant: Grant) -> Identity:
        """The identity to seal a new epoch to for a grant I signed: the keys that grant names,
        or keys I verified since (`kluis verify`), never whatever the server now says the
        recipient's keys are (on a new device the first answer would be pinned unchecked)."""
        contact = self.contact_by_id(grant.recipient_id.hex())
        return self._named_keys(contact, self._keys_known_for(grant, contact), "your own grant")

    @staticmethod
    def _named_keys(contact: Contact, allowed: set[bytes], statement: str) -> Identity:
        """`contact`'s identity if its keys are among those a signed `statement` names (or
        allows); otherwise the server has put other keys in its place: KeyMismatchError."""
        if contact.identity.key_id in allowed:
            return contact.identity
        raise KeyMismatchError(
            f"{contact.identity.username}: the server shows other keys than the ones {statement} "
            "names; their key may have been replaced. Compare fingerprints and run `kluis verify`"
        )

    def _keys_known_for(self, grant: Grant, contact: Contact) -> set[bytes]:
        """Key ids under which `contact` may receive what `grant` gave: the grant's, or a user's
        keys that I verified on this device since (their pin is mine, not the server's)."""
        return {grant.recipient_key_id} | ({contact.identity.key_id} if contact.verified else set())

    def _check_granter_owns(self, grant: Grant) -> None:
        """Only a dossier's owner grants its keys: a grant signed by anyone else is no share,
        whoever signed it, if this device knows the dossier's owner (pinned on first sight)."""
        owner = self.profile.dossier_owner(grant.dossier_id.hex())
        if owner is not None and owner != grant.granter_id.hex():
            raise KeyMismatchError(
                "grant: not signed by the dossier's owner (this device knows the dossier as "
                "someone else's)"
            )

    def shared_with_me(self) -> list[SharedItem]:
        """Grants others made to me, each opened (signature, binding, key commitment)."""
        answer = self.api.call("GET", "/shared")
        if not isinstance(answer, list):
            raise MalformedError("server answer: shared is not a list")
        items = []
        for raw in answer:
            grant = Grant.decode(
                unb64(raw.get("grant") if isinstance(raw, dict) else None, "grant")
            )
            self._check_granter_owns(grant)
            granter = self.contact_by_id(grant.granter_id.hex())
            kind = GrantKind(grant.kind)
            try:
                open_grant(
                    unb64(raw["grant"], "grant"),
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
        return sorted(items, key=lambda i: -i.issued_at)

    def access_log(self, dossier_id: str) -> list[LogEntry]:
        """The dossier's access log, its hash chain checked against what this device saw."""
        self.load_dossier(dossier_id)
        answer = self.api.call("GET", f"/dossiers/{dossier_id}/log")
        if not isinstance(answer, list):
            raise MalformedError("server answer: log is not a list")
        entries = verify_log(answer, self.profile.log_head(dossier_id))
        if entries:
            self.profile.save_log_head(dossier_id, entries[-1].seq, entries[-1].hash)
        return entries
