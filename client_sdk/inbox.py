"""The case inbox: what was shared with me and with my organisations, newest first.

Each item is a grant whose signature this device checked: a grant to me is opened in full (the
granter's pinned key, the binding to its target, the key commitment); a grant to one of my
organisations must be signed by the dossier's owner (the one this device pinned, if it has seen
the dossier), name the organisation and a key of its verified chain inside what she signed,
and open with the organisation's keys of that epoch (or, for a member who joined later, through
a re-wrap of it for an epoch the member holds). One that does not verify is listed as failed,
so a forged share is seen, never used. Expired grants are left out: the expiry inside the
signed grant counts. Re-wrapped copies an organisation made for its own new epoch (format 14.5)
are not shares and are not listed; the grants of one share (a dossier's epoch keys, those a
key rotation re-wraps, a document's versions) are one row.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

from vault import labels
from vault.errors import ExpiredError, KeyMismatchError, SecurityError
from vault.grant import NEVER_EXPIRES, Grant, open_grant
from vault.keys import Identity
from vault.kinds import GrantKind, Rights
from vault.organisation import check_rewrap

from .account import Account
from .api import GrantRow, ServerApi
from .clock import now
from .directory import Directory, Organisation
from .errors import ClientError
from .keyring import KeyRing
from .profile import Profile
from .sharing import check_granter_owns, one_row_per_share
from .trust import Contact


@dataclass(frozen=True)
class InboxItem:
    via: str  # "me" or "@<organisation>"
    kind: str  # dossier or document
    dossier_id: str
    document_id: str | None
    sender: str
    sender_verified: bool
    rights: str
    issued_at: int
    expires_at: int
    status: str  # "verified" or why not

    @property
    def ok(self) -> bool:
        return self.status == "verified"

    def share_key(self) -> tuple[object, ...]:
        """What makes two grants one share (`one_row_per_share`); a grant that does not
        verify is a row of its own."""
        if not self.ok:
            return (id(self),)
        return (self.via, self.kind, self.dossier_id, self.document_id, self.sender,
                self.rights, self.expires_at)  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        return {
            "via": self.via,
            "kind": self.kind,
            "dossier": self.dossier_id,
            "document": self.document_id,
            "from": self.sender,
            "from_verified": self.sender_verified,
            "rights": self.rights,
            "shared": self.issued_at,
            "expires": self.expires_at,
            "signature": self.status,
        }


def _expired(grant: Grant) -> bool:
    return grant.expires_at != NEVER_EXPIRES and grant.expires_at <= now()


@dataclass(frozen=True)
class Inbox:
    """The inbox of `Client.inbox`: given the server, the profile (dossier owners this device
    pinned), the logged-in account, the directory of contacts and organisations, and the
    keyring that opens grants to an organisation."""

    api: ServerApi
    profile: Profile
    account: Account
    directory: Directory
    keyring: KeyRing

    def inbox(self, organisation: str | None = None) -> list[InboxItem]:
        """Grants to me (unless `organisation` is given) and to my organisations."""
        items: list[InboxItem] = []
        if organisation is None:
            items += self._personal_items()
            orgs = [
                self.directory.organisation(org_id=entry.org_id)
                for entry in self.api.organisations()
                if entry.my_role is not None
            ]
        else:
            org = self.directory.organisation(organisation)
            if not org.keys:
                raise ClientError(f"you are not a member of {org.name}")
            orgs = [org]
        for org in orgs:
            items += self._organisation_items(org)
        return sorted(
            one_row_per_share(items),
            key=lambda i: (-i.issued_at, i.dossier_id, i.document_id or ""),
        )

    def _item(
        self, via: str, grant: Grant, sender: str, sender_verified: bool, status: str
    ) -> InboxItem:
        document = grant.kind == GrantKind.DOCUMENT
        return InboxItem(
            via=via,
            kind="document" if document else "dossier",
            dossier_id=grant.dossier_id.hex(),
            document_id=grant.document_id.hex() if document else None,
            sender=sender,
            sender_verified=sender_verified,
            rights="write" if grant.rights == Rights.WRITE else "read",
            issued_at=grant.issued_at,
            expires_at=grant.expires_at,
            status=status,
        )

    def _personal_items(self) -> list[InboxItem]:
        items = []
        for row in self.api.shared():
            data = row.grant()
            grant = Grant.decode(data)
            if _expired(grant):
                continue
            try:
                check_granter_owns(self.profile, grant)
                granter = self.directory.person_by_id(grant.granter_id.hex())
                sender, verified = granter.identity.username, granter.verified
                open_grant(
                    data,
                    me=self.account.me,
                    granter=granter.identity,
                    kind=grant.kind,
                    dossier_id=grant.dossier_id,
                    document_id=grant.document_id if grant.kind == GrantKind.DOCUMENT else None,
                    number=grant.number,
                    now=now(),
                )
                status = "verified"
            except ExpiredError:
                continue
            except (SecurityError, ClientError) as exc:
                sender, verified, status = grant.granter_id.hex(), False, f"FAILED: {exc}"
            items.append(self._item("me", grant, sender, verified, status))
        return items

    def _organisation_items(self, org: Organisation) -> list[InboxItem]:
        rows = self.api.organisation_grants(org.org_id)
        by_dossier: dict[str, list[GrantRow]] = {}
        for row in rows:
            by_dossier.setdefault(str(row.dossier_id), []).append(row)
        items = []
        for dossier_rows in by_dossier.values():
            for row in dossier_rows:
                data = row.grant()
                grant = Grant.decode(data)
                if grant.granter_id == org.chain.org_id or _expired(grant):
                    continue  # the organisation's own re-wrapped copy, or over
                sender, verified = grant.granter_id.hex(), False
                try:
                    owner = self._owner_of(grant, str(row.owner_id))
                    self._check_organisation_share(data, grant, org, owner.identity, dossier_rows)
                    sender, verified = owner.identity.username, owner.verified
                    status = "verified"
                except ExpiredError:
                    continue
                except (SecurityError, ClientError) as exc:
                    status = f"FAILED: {exc}"
                items.append(self._item(f"@{org.name}", grant, sender, verified, status))
        return items

    def _owner_of(self, grant: Grant, claimed: str) -> Contact:
        """The dossier's owner, the only one who may share it: the one the server names, unless
        this device knows the dossier as someone else's (it pinned the owner on first sight)."""
        pinned = self.profile.dossier_owner(grant.dossier_id.hex())
        if pinned is not None and pinned != claimed:
            raise KeyMismatchError(
                "the server names another owner of this dossier than the one this device knows"
            )
        return self.directory.person_by_id(claimed)

    def _check_organisation_share(
        self,
        data: bytes,
        grant: Grant,
        org: Organisation,
        owner: Identity,
        rows: list[GrantRow],
    ) -> None:
        """A share with `org` is the owner's signed grant naming the organisation (its id and a
        key of its verified chain, inside what she signed) whose key opens with the
        organisation's keys of that epoch; a member who joined later, holding none of them,
        opens it through a re-wrap for a later epoch that copies this very grant. Raises
        otherwise (ExpiredError if it is over)."""
        if grant.recipient_id != org.chain.org_id:
            raise KeyMismatchError(f"grant: addressed to someone else, not to {org.name}")
        epoch = next(
            (r.epoch for r in org.chain.records if hmac.compare_digest(r.key_id,
                                                                       grant.recipient_key_id)),
            None,
        )  # fmt: skip
        if epoch is None:
            raise KeyMismatchError(f"grant: not sealed to any key of {org.name}")
        if (grant.granter_id, grant.granter_key_id) != (owner.user_id, owner.key_id):
            raise KeyMismatchError("grant: not signed by the dossier's owner")
        owner.verify(labels.GRANT_SIGNATURE, grant.body(), grant.signature)
        if epoch in org.keys:
            if self.keyring.open_organisation_grant(data, org, owner, rows) is None:
                raise ExpiredError("grant: expired")
            return
        target = (grant.kind, grant.dossier_id, grant.document_id, grant.number)
        for row in rows:
            rewrap_data = row.grant()
            rewrap = Grant.decode(rewrap_data)
            if rewrap.granter_id != org.chain.org_id or target != (
                rewrap.kind,
                rewrap.dossier_id,
                rewrap.document_id,
                rewrap.number,
            ):
                continue
            try:
                check_rewrap(rewrap, grant, org_id=org.chain.org_id)
                if self.keyring.open_organisation_grant(rewrap_data, org, owner, rows) is not None:
                    return
            except SecurityError:
                continue
        raise KeyMismatchError(
            f"grant: sealed to epoch {epoch} of {org.name}, whose keys you do not hold, and no "
            "re-wrap of it for an epoch you hold opens"
        )
