"""Administering an organisation: creating it, adding members, and removing one.

An organisation (docs/format.md section 14, docs/organisations.md) publishes one identity per
key epoch, each signed by the admin who made it and by the previous epoch's key; how this device
believes such a chain is client_sdk/directory.py. A member receives the organisation's private
keys in a membership an admin signed. Removing a member makes a new epoch, gives its keys to the
remaining members and re-wraps every grant to the organisation for it; the dossier owner's
client then rotates the dossier key before it next writes, so documents written afterwards stay
closed to the former member even if the server gives its old rows back (S18).
"""

from __future__ import annotations

from dataclasses import dataclass

from vault.errors import (
    SecurityError,
)
from vault.grant import (
    Grant,
    make_document_grant,
    make_dossier_grant,
)
from vault.keys import PrivateIdentity
from vault.kinds import INSTITUTION_KINDS, GrantKind, OrgKind, Rights, Role
from vault.organisation import (
    make_membership,
    new_organisation,
    next_epoch,
)

from .api import GrantRow, OrganisationEntry
from .clock import now
from .directory import Organisation
from .errors import ClientError
from .ids import new_id
from .sharing import SharingMixin
from .typed import typed_org_name

KINDS = {kind.name.lower(): kind for kind in INSTITUTION_KINDS}


@dataclass(frozen=True)
class RemovalResult:
    epoch: int
    members: int
    rewrapped: int
    skipped: int  # grants that did not verify or open, left as they are


class OrganisationsMixin(SharingMixin):
    # -- the verified directory (client_sdk/directory.py) ---------------------------------------
    def organisation(
        self, name: str | None = None, *, org_id: str | None = None, fresh: bool = True
    ) -> Organisation:
        return self.directory.organisation(name, org_id=org_id, fresh=fresh)

    def organisation_exists(self, name: str) -> bool:
        return self.directory.organisation_exists(name)

    def verify_organisation(self, name: str, fingerprint: str) -> Organisation:
        return self.directory.verify_organisation(name, fingerprint)

    def organisations(self) -> list[tuple[OrganisationEntry, Organisation | None]]:
        return self.directory.organisations()

    # -- administering an organisation ----------------------------------------------------------
    def create_organisation(self, name: str, kind: str) -> Organisation:
        name = typed_org_name(name)
        if kind not in KINDS:
            raise ClientError(f"kind must be one of: {', '.join(KINDS)}")
        return self._found(new_id(), name, KINDS[kind])

    def _found(self, org_id: str, name: str, kind: OrgKind) -> Organisation:
        """Epoch 1 of an organisation, group or conversation, made here, with me as admin."""
        me = self.me
        org, record = new_organisation(
            me, org_id=bytes.fromhex(org_id), name=name, kind=kind, created_at=now()
        )
        membership = make_membership(me, org, me.public, role=Role.ADMIN, issued_at=now())
        self.api.create_organisation(org_id, name, int(kind), record, membership)
        return self.organisation(org_id=org_id)

    def _administered(self, name: str) -> Organisation:
        org = self.organisation(name)
        if org.role_of(self.my_id) != "admin":
            raise ClientError(f"only an administrator of {org.name} can change its members")
        org.current_keys()
        return org

    def add_member(
        self, name: str, username: str, *, admin: bool = False, role: Role | None = None
    ) -> Organisation:
        """Seal the current epoch's keys to `username` (as member, admin, or `role`)."""
        org = self._administered(name)
        member = self.contact(username).identity
        if org.role_of(member.user_id.hex()) is not None:
            raise ClientError(f"{username} is already a member of {org.name}")
        role = role or (Role.ADMIN if admin else Role.MEMBER)
        membership = make_membership(
            self.me, org.current_keys(), member, role=role, issued_at=now()
        )
        self.api.add_member(org.org_id, member.user_id.hex(), int(role), org.epoch, membership)
        return self.organisation(org_id=org.org_id)

    def remove_member(self, name: str, username: str) -> RemovalResult:
        """A new epoch for everyone but `username`, and every grant re-wrapped for it."""
        org = self._administered(name)
        leaving = self.contact(username).identity.user_id.hex()
        if leaving == self.my_id:
            raise ClientError("you cannot remove yourself; another administrator can")
        members = org.members()
        if leaving not in members:
            raise ClientError(f"{username} is not a member of {org.name}")
        me = self.me
        self.directory.people_by_id(list(members))  # one request, not one per member
        new, record = next_epoch(me, org.current_keys(), kind=org.chain.kind, created_at=now())
        memberships = []
        for user_id, role in sorted(members.items()):
            if user_id == leaving:
                continue
            # Each keeps the role the signed roster gives (an editor stays an editor, 19.1).
            role_value = Role.ADMIN if user_id == self.my_id else Role[role.upper()]
            identity = (
                me.public if user_id == self.my_id else self.directory.member_identity(org, user_id)
            )
            statement = make_membership(me, new, identity, role=role_value, issued_at=now())
            memberships.append((user_id, int(role_value), statement))
        grants, skipped = self._rewrap_all(org, new)
        self.api.rotate_organisation(
            org.org_id,
            epoch=new.key_version,
            record=record,
            removed_id=leaving,
            memberships=memberships,
            grants=grants,
        )
        self.organisation(org_id=org.org_id)  # verify what the server now holds; pin epoch n+1
        return RemovalResult(new.key_version, len(memberships), len(grants), skipped)

    def organisation_grant_rows(self, org: Organisation) -> list[GrantRow]:
        return self.api.organisation_grants(org.org_id)

    def _rewrap_all(self, org: Organisation, new: PrivateIdentity) -> tuple[list[bytes], int]:
        """Every grant to the organisation that opens, sealed again to epoch `new` (one per
        target), each a copy of the owner's original that the members' clients check."""
        rows = self.organisation_grant_rows(org)
        by_dossier: dict[str, list[GrantRow]] = {}
        for row in rows:
            by_dossier.setdefault(str(row.dossier_id), []).append(row)
        out: list[bytes] = []
        done: set[tuple[int, bytes, bytes, int]] = set()
        skipped = 0
        for dossier_rows in by_dossier.values():
            try:
                owner = self.directory.person_by_id(str(dossier_rows[0].owner_id)).identity
            except (SecurityError, ClientError):
                skipped += len(dossier_rows)
                continue
            for row in dossier_rows:
                try:
                    data = row.grant()
                    claimed = Grant.decode(data)
                    target = (
                        int(claimed.kind),
                        claimed.dossier_id,
                        claimed.document_id,
                        claimed.number,
                    )
                    if target in done:
                        continue  # re-wrapped already (from the original or an earlier re-wrap)
                    opened = self.keyring.open_organisation_grant(data, org, owner, dossier_rows)
                except (SecurityError, ValueError):
                    skipped += 1
                    continue
                if opened is None:
                    continue
                grant, key = opened
                done.add(target)
                out.append(self._rewrap(grant, key, new))
        return out, skipped

    @staticmethod
    def _rewrap(grant: Grant, key: bytes, new: PrivateIdentity) -> bytes:
        if grant.kind == GrantKind.DOSSIER:
            return make_dossier_grant(
                new,
                new.public,
                dossier_id=grant.dossier_id,
                epoch=grant.number,
                dossier_key=key,
                rights=Rights(grant.rights),
                counter=grant.counter,
                issued_at=now(),
                expires_at=grant.expires_at,
            )
        return make_document_grant(
            new,
            new.public,
            dossier_id=grant.dossier_id,
            document_id=grant.document_id,
            version=grant.number,
            file_key=key,
            rights=Rights(grant.rights),
            counter=grant.counter,
            issued_at=now(),
            expires_at=grant.expires_at,
        )
