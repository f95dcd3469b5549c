"""Organisations on the client: a key chain believed only as far as signatures reach.

An organisation (docs/format.md section 14, docs/organisations.md) publishes one identity per
key epoch, each signed by the admin who made it and by the previous epoch's key. This device
pins the organisation's fingerprint the first time it sees it (or compares it with the one the
server's operator recorded) and afterwards accepts new epochs only as a signed succession from
what it pinned: keys swapped by the server are a security failure (exit 3), never a silent
change (threat K6).

Sharing with `@name` seals the dossier key to the organisation's current epoch identity, exactly
as to a person. A member opens such a grant with the organisation's private keys, which reach it
in a membership an admin signed. Removing a member makes a new epoch, gives its keys to the
remaining members and re-wraps every grant to the organisation for it; the dossier owner's
client then rotates the dossier key before it next writes, so documents written afterwards stay
closed to the former member even if the server gives its old rows back (S18).
"""

from __future__ import annotations

import contextlib
import hmac
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vault import labels
from vault.errors import (
    ExpiredError,
    IntegrityError,
    KeyMismatchError,
    MalformedError,
    SecurityError,
)
from vault.grant import (
    Grant,
    GrantKind,
    Rights,
    make_document_grant,
    make_dossier_grant,
    open_grant,
)
from vault.keys import Identity, PrivateIdentity, normalise_fingerprint
from vault.organisation import (
    ChainPin,
    OrgChain,
    OrgKind,
    Role,
    Roster,
    check_rewrap,
    make_membership,
    new_organisation,
    next_epoch,
    open_membership,
    verify_chain,
    verify_roster,
)

from .api import GrantRow, OrganisationDetail, OrganisationEntry, VersionRecord
from .base import Dossier
from .clock import now
from .documents import readable_file
from .dossiers import DocumentInfo
from .errors import ClientError, DamagedProfile, NotFound, UnverifiedKeyError
from .ids import new_id
from .sharing import ShareResult, SharingMixin
from .trust import Contact
from .typed import typed_org_name

SECTION = "organisations"
KINDS = {kind.name.lower(): kind for kind in OrgKind}
ROLE_ORDER = {"document": 0, "read": 1, "write": 2}


class UnverifiedOrganisation(ClientError):
    """Sharing with an organisation nobody verified needs `--allow-unverified`."""


@dataclass(frozen=True)
class Organisation:
    """An organisation as this device verified it."""

    chain: OrgChain
    roster: Roster
    verified_by: str  # "operator" (its record matches the keys), "you" (`kluis org verify`), ""
    operator_fingerprint: str | None  # what the server's operator recorded (checked: equal)
    first_seen: bool
    keys: dict[int, PrivateIdentity] = field(repr=False)  # the epochs whose keys I hold

    @property
    def org_id(self) -> str:
        return self.chain.org_id.hex()

    @property
    def name(self) -> str:
        return self.chain.name

    @property
    def kind(self) -> str:
        return self.chain.kind.name.lower()

    @property
    def fingerprint(self) -> str:
        return self.chain.fingerprint

    @property
    def epoch(self) -> int:
        return self.chain.epoch

    @property
    def verified(self) -> bool:
        return bool(self.verified_by)

    @property
    def identity(self) -> Identity:
        """The current epoch's identity: what grants to the organisation are sealed to."""
        return self.chain.current.identity

    def role_of(self, user_id: str) -> str | None:
        role = self.roster.role(bytes.fromhex(user_id))
        return role.name.lower() if role else None

    def members(self) -> dict[str, str]:
        """user id -> role, from the signed memberships of the current epoch."""
        out = {m.hex(): s.role.name.lower() for m, s in self.roster.current().items()}
        out[self.chain.current.author_id.hex()] = "admin"
        return out

    def current_keys(self) -> PrivateIdentity:
        try:
            return self.keys[self.epoch]
        except KeyError:
            raise ClientError(
                f"you hold no keys of {self.name}'s current epoch: you are not (or no longer) "
                "a member"
            ) from None


@dataclass(frozen=True)
class RemovalResult:
    epoch: int
    members: int
    rewrapped: int
    skipped: int  # grants that did not verify or open, left as they are


class OrganisationsMixin(SharingMixin):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._orgs: dict[str, Organisation] = {}
        self._rows_seen: tuple[str, list[GrantRow]] | None = None
        self._org_access_seen: dict[str, set[str]] = {}  # dossier -> orgs that gave me keys
        self._org_document_keys: dict[str, dict[tuple[str, int], bytes]] = {}
        self._org_lock = threading.Lock()

    # -- loading and trusting ------------------------------------------------------------------
    def _org_pin(self, org_id: str) -> dict[str, Any] | None:
        value = self.profile._get(SECTION, org_id)
        return dict(value) if isinstance(value, dict) else None

    def _org_pin_for_name(self, name: str) -> tuple[str, dict[str, Any]] | None:
        for org_id, value in self.profile._section(SECTION).items():
            if isinstance(value, dict) and value.get("name") == name:
                return org_id, dict(value)
        return None

    def _org_cache(self) -> dict[str, Organisation]:
        return self._orgs

    def organisation(
        self, name: str | None = None, *, org_id: str | None = None, fresh: bool = True
    ) -> Organisation:
        """Fetch an organisation, verify its key chain against this device's pin and the
        operator's record, pin it (or raise the pin to the newest epoch), and open the keys
        my memberships give me."""
        if not fresh and org_id is not None and org_id in self._org_cache():
            return self._org_cache()[org_id]
        if name is not None:
            name = typed_org_name(name)
        answer = self.api.organisation(name=name, org_id=org_id)
        org = self._verify_organisation(answer, name=name, org_id=org_id)
        self._org_cache()[org.org_id] = org
        return org

    def organisation_exists(self, name: str) -> bool:
        """Whether the server says an organisation has this name (a claim: for hints only)."""
        try:
            self.api.organisation(name=typed_org_name(name), org_id=None)
        except NotFound:
            return False
        return True

    def _verify_organisation(
        self, answer: OrganisationDetail, *, name: str | None, org_id: str | None
    ) -> Organisation:
        claimed_id = answer.org_id
        pin = self._org_pin(claimed_id)
        if name is not None and pin is None:
            other = self._org_pin_for_name(name)
            if other is not None:
                raise UnverifiedKeyError(
                    f"the server now gives the name {name!r} to another organisation than the "
                    f"one this device knows (fingerprint {other[1]['fingerprint']})"
                )

        def identity_of(user_id: bytes) -> Identity:
            return self._user_contact(user_id.hex()).identity

        chain = verify_chain(
            answer.records,
            author_of=identity_of,
            org_id=bytes.fromhex(org_id) if org_id else None,
            name=name,
            pin=self._chain_pin(pin) if pin else None,
        )
        if chain.org_id.hex() != claimed_id:
            raise IntegrityError("server answer: the organisation's records name another id")
        roster = verify_roster(chain, answer.memberships, identity_of=identity_of)
        operator = answer.verified_fingerprint
        if operator is not None:
            with contextlib.suppress(MalformedError):
                operator = normalise_fingerprint(operator)
            if operator != chain.fingerprint:
                # The operator checked one fingerprint (say, against a letter); these keys have
                # another: swapped keys, or a mistaken record. Either way: trust neither.
                raise KeyMismatchError(
                    f"organisation {chain.name} is marked verified with fingerprint {operator}, "
                    f"but the keys the server sent have fingerprint {chain.fingerprint}"
                )
        verified_by = "you" if pin and pin.get("verified") else ("operator" if operator else "")
        self.profile._update(
            SECTION,
            chain.org_id.hex(),
            {
                "name": chain.name,
                "fingerprint": chain.fingerprint,
                "epoch": chain.epoch,
                "key_id": chain.current.key_id.hex(),
                "record_hashes": [h.hex() for h in chain.hashes],
                "verified": bool(pin and pin.get("verified")),
            },
        )
        return Organisation(
            chain=chain,
            roster=roster,
            verified_by=verified_by,
            operator_fingerprint=operator,
            first_seen=pin is None,
            keys=self._my_org_keys(chain, roster),
        )

    def _chain_pin(self, pin: dict[str, Any]) -> ChainPin:
        """The pin as kept in the profile. One written before record hashes were kept has
        none: its epoch's key id is checked, and the hashes of the chain that passes are
        remembered from then on."""
        try:
            hashes = pin.get("record_hashes", [])
            if not isinstance(hashes, list):
                raise TypeError("record_hashes is not a list")
            return ChainPin(
                str(pin["fingerprint"]),
                int(pin["epoch"]),
                bytes.fromhex(pin["key_id"]),
                tuple(bytes.fromhex(h) for h in hashes),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise DamagedProfile(
                f"{self.profile.dir} is damaged: its record of an organisation is unreadable "
                f"({exc})"
            ) from None

    def _my_org_keys(self, chain: OrgChain, roster: Roster) -> dict[int, PrivateIdentity]:
        if self._session is None:
            return {}
        me = self.me
        keys: dict[int, PrivateIdentity] = {}
        for epoch, members in roster.members.items():
            statement = members.get(me.user_id)
            if statement is None:
                continue
            _, org = open_membership(
                statement.encode(),
                me=me,
                admin=self._user_contact(statement.admin_id.hex()).identity,
                org_keys=chain.epoch_keys(epoch),
            )
            keys[epoch] = org
        return keys

    def _user_contact(self, user_id: str) -> Contact:
        return super().contact_by_id(user_id)

    def _member_identity(self, org: Organisation, user_id: str) -> Identity:
        """A remaining member's keys for the next epoch: the ones the verified membership of
        this epoch names (an admin signed it), or keys I verified since; never whatever the
        server now says the member's keys are."""
        contact = self._user_contact(user_id)
        member = bytes.fromhex(user_id)
        signed = org.roster.current().get(member)
        if signed is not None:
            expected = signed.member_key_id
        elif org.chain.current.author_id == member:
            expected = org.chain.current.author_key_id
        else:
            raise ClientError(f"no verified membership of {org.name} names {user_id[:8]}")
        allowed = {expected} | ({contact.identity.key_id} if contact.verified else set())
        return self._named_keys(contact, allowed, f"their membership of {org.name}")

    def verify_organisation(self, name: str, fingerprint: str) -> Organisation:
        """Mark an organisation verified on this device after comparing its fingerprint."""
        org = self.organisation(name)
        try:
            typed = normalise_fingerprint(fingerprint)
        except MalformedError as exc:
            raise ClientError(str(exc)) from None
        if typed != org.fingerprint:
            raise KeyMismatchError(
                f"the fingerprint you entered does not match the keys the server shows for "
                f"{org.name} ({org.fingerprint}); do not trust this organisation"
            )
        pin = self._org_pin(org.org_id) or {}
        self.profile._update(SECTION, org.org_id, {**pin, "verified": True})
        return self.organisation(name)

    def organisations(self) -> list[tuple[OrganisationEntry, Organisation | None]]:
        """The directory; the organisations I belong to (says the server) are verified here."""
        out: list[tuple[OrganisationEntry, Organisation | None]] = []
        for entry in self.api.organisations():
            known = self._org_pin(entry.org_id) is not None
            mine = entry.my_role is not None
            verified = self.organisation(org_id=entry.org_id) if mine or known else None
            out.append((entry, verified))
        return out

    # -- organisations as contacts ---------------------------------------------------------------
    def contact(self, username: str) -> Contact:
        if username.startswith("@"):
            org = self.organisation(username)
            return Contact(org.identity, verified=org.verified, first_seen=org.first_seen)
        return super().contact(username)

    def contact_by_id(self, user_id: str) -> Contact:
        """Users as before; an organisation (pinned here, or not a user) by its current epoch."""
        if self._org_pin(user_id) is not None:  # fresh: a stale epoch would let leavers in
            org = self.organisation(org_id=user_id)
            return Contact(org.identity, verified=org.verified, first_seen=False)
        try:
            return super().contact_by_id(user_id)
        except NotFound:
            if self.profile.pin(user_id) is not None:  # a person this device knows is no org
                raise KeyMismatchError(
                    f"the server says there is no user {user_id[:8]}, whom this device has "
                    "pinned, and offers an organisation with that id instead"
                ) from None
            org = self.organisation(org_id=user_id)
            return Contact(org.identity, verified=org.verified, first_seen=org.first_seen)

    def _keys_known_for(self, grant: Grant, contact: Contact) -> set[bytes]:
        """An organisation may have moved on to later epochs since the grant: any epoch of
        its verified chain, if that chain includes the grant's (else the grant was not to it).
        Its "verified" mark counts for nothing here: the operator may have set it."""
        org_id = grant.recipient_id.hex()
        if self._org_pin(org_id) is None:
            return super()._keys_known_for(grant, contact)
        chain = self.organisation(org_id=org_id).chain
        epochs = {r.identity.key_id for r in chain.records}
        return epochs if grant.recipient_key_id in epochs else set()

    def _organisations_with(self, user_id: str, recipient_ids: set[str]) -> list[str]:
        """The organisations among `recipient_ids` (those this device pinned) whose verified
        current memberships include `user_id`."""
        return sorted(
            org.name
            for org in (
                self.organisation(org_id=r) for r in recipient_ids if self._org_pin(r) is not None
            )
            if user_id in org.members()
        )

    # -- sharing with an organisation -----------------------------------------------------------
    def share_with_organisation(
        self,
        target_id: str,
        name: str,
        *,
        write: bool = False,
        expires_at: int = 0,
        allow_unverified: bool = False,
    ) -> tuple[ShareResult, Organisation]:
        result = self.share(
            target_id,
            f"@{name.removeprefix('@')}",
            write=write,
            expires_at=expires_at,
            allow_unverified=allow_unverified,
        )
        return result, self.organisation(org_id=result.recipient.user_id.hex(), fresh=False)

    def _share_recipient(self, username: str, *, allow_unverified: bool) -> Contact:
        """`@name`: the organisation's current epoch, refused if nobody verified it unless
        `allow_unverified`; `share` reaches every grant to an organisation through here."""
        if not username.startswith("@"):
            return super()._share_recipient(username, allow_unverified=allow_unverified)
        org = self.organisation(username[1:])
        if not org.verified and not allow_unverified:
            raise UnverifiedOrganisation(
                f"{org.name} is not verified: neither the server's operator nor you confirmed "
                f"its fingerprint ({org.fingerprint}). Compare it with one on a letter from "
                f"{org.name} and run `kluis org verify {org.name} '<fingerprint>'`, or share "
                "anyway with --allow-unverified"
            )
        return Contact(org.identity, verified=org.verified, first_seen=org.first_seen)

    # -- opening grants addressed to an organisation ----------------------------------------------
    def _grant_rows(self, dossier_id: str) -> list[GrantRow]:
        rows = super()._grant_rows(dossier_id)
        self._rows_seen = (dossier_id, rows)  # read again by the organisation half below
        return rows

    def _rows_for(self, dossier_id: str) -> list[GrantRow]:
        seen = self._rows_seen
        if seen is not None and seen[0] == dossier_id:
            return seen[1]
        return self._grant_rows(dossier_id)

    def _org_access(self) -> dict[str, set[str]]:
        """dossier id -> the organisations whose grants gave me keys in it (this session)."""
        return self._org_access_seen

    def open_organisation_grant(
        self, data: bytes, org: Organisation, owner: Identity, rows: list[GrantRow]
    ) -> tuple[Grant, bytes] | None:
        """Open a grant to `org` with the keys of its epoch: made by the dossier owner, or
        re-wrapped by the organisation itself next to the owner's original (format 14.5).
        None if I hold no keys of that epoch or it expired; raises if it is forged."""
        grant = Grant.decode(data)
        epoch = next(
            (
                r.epoch
                for r in org.chain.records
                if hmac.compare_digest(r.key_id, grant.recipient_key_id)
            ),
            None,
        )
        if epoch is None or epoch not in org.keys:
            return None
        if grant.granter_id == owner.user_id:
            granter = owner
        elif grant.granter_id == org.chain.org_id:
            granter = org.chain.epoch_keys(epoch).identity
            check_rewrap(grant, self._original(grant, org, owner, rows), org_id=org.chain.org_id)
        else:
            raise KeyMismatchError("grant: to the organisation, but not from the dossier's owner")
        try:
            opened = open_grant(
                data,
                me=org.keys[epoch],
                granter=granter,
                kind=grant.kind,
                dossier_id=grant.dossier_id,
                document_id=grant.document_id if grant.kind == GrantKind.DOCUMENT else None,
                number=grant.number,
                now=now(),
            )
        except ExpiredError:
            return None
        return opened.grant, opened.key

    @staticmethod
    def _original(rewrap: Grant, org: Organisation, owner: Identity, rows: list[GrantRow]) -> Grant:
        """The owner's own grant that a re-wrapped one copies (signature checked)."""
        target = (rewrap.kind, rewrap.dossier_id, rewrap.document_id, rewrap.number)
        for row in rows:
            try:
                candidate = Grant.decode(row.grant())
            except MalformedError:
                continue
            if (
                (candidate.kind, candidate.dossier_id, candidate.document_id, candidate.number)
                == target
                and candidate.recipient_id == org.chain.org_id
                and (candidate.granter_id, candidate.granter_key_id)
                == (owner.user_id, owner.key_id)
            ):
                try:
                    owner.verify(labels.GRANT_SIGNATURE, candidate.body(), candidate.signature)
                except SecurityError:
                    continue
                return candidate
        raise IntegrityError(
            "re-wrapped grant: the dossier owner's original grant to the organisation is missing"
        )

    def _org_grant_keys(
        self, dossier_id: str, owner: Identity, kind: GrantKind
    ) -> list[tuple[str, Grant, bytes]]:
        """(org id, grant, key) of every grant of `kind` to my organisations in a dossier."""
        if owner.user_id.hex() == self.my_id:
            return []  # the owner holds every key through its own grants
        rows = self._rows_for(dossier_id)
        out: list[tuple[str, Grant, bytes]] = []
        for org_id in sorted({str(r.recipient_id) for r in rows} - {self.my_id}):
            try:
                org = self.organisation(org_id=org_id)
            except NotFound:
                continue  # not an organisation: a row that gives me nothing
            org_rows = [r for r in rows if r.recipient_id == org_id]
            for row in org_rows:
                if row.kind != kind:
                    continue
                data = row.grant()
                opened = self.open_organisation_grant(data, org, owner, org_rows)
                if opened is not None:
                    out.append((org_id, *opened))
                    self._org_access().setdefault(dossier_id, set()).add(org_id)
        return out

    def _dossier_keys(self, dossier_id: str, owner: Identity) -> tuple[dict[int, bytes], str]:
        keys, role = super()._dossier_keys(dossier_id, owner)
        for _org_id, grant, key in self._org_grant_keys(dossier_id, owner, GrantKind.DOSSIER):
            keys.setdefault(grant.number, key)
            granted = "write" if grant.rights == Rights.WRITE else "read"
            if ROLE_ORDER[granted] > ROLE_ORDER[role]:
                role = granted
        return keys, role

    def _document_file_key(self, dossier: Dossier, record: VersionRecord) -> bytes:
        try:
            return super()._document_file_key(dossier, record)
        except KeyMismatchError:
            # Listings open versions in a thread pool: the organisations' document grants of a
            # dossier are opened once per loaded dossier, under a lock.
            with self._org_lock:
                cache = self._org_document_keys
                if dossier.dossier_id not in cache:
                    cache[dossier.dossier_id] = {
                        (grant.document_id.hex(), grant.number): key
                        for _org_id, grant, key in self._org_grant_keys(
                            dossier.dossier_id, dossier.owner, GrantKind.DOCUMENT
                        )
                    }
                key = cache[dossier.dossier_id].get((record.document_id, record.version))
            if key is None:
                raise
            return key

    def load_dossier(self, dossier_id: str) -> Dossier:
        with self._org_lock:
            self._org_document_keys.pop(dossier_id, None)  # look again
        return super().load_dossier(dossier_id)

    # -- the owner follows an organisation's rotations ------------------------------------------
    def _follow_organisation_rotations(self, dossier_id: str) -> None:
        """As owner: if an organisation I share with has a newer epoch than my current grant
        is sealed to, start a new dossier epoch before writing (format 14.5, S18)."""
        dossier = self.load_dossier(dossier_id)
        if dossier.role != "owner":
            return
        for recipient, grant in self.current_grantees(dossier).items():
            if self._org_pin(recipient) is None:
                continue
            org = self.organisation(org_id=recipient)
            if not hmac.compare_digest(org.identity.key_id, grant.recipient_key_id):
                self.rotate(dossier)
                return

    def add_many(self, dossier_id: str, paths: list[Path], **kwargs: Any) -> list[DocumentInfo]:
        paths = [readable_file(Path(p)) for p in paths]  # before anything goes to the server
        self._follow_organisation_rotations(dossier_id)
        return super().add_many(dossier_id, paths, **kwargs)

    def update(self, document_id: str, path: Path | str, **kwargs: Any) -> DocumentInfo:
        path = readable_file(Path(path))
        dossier_id, _ = self.document_versions(document_id)
        self._follow_organisation_rotations(dossier_id)
        return super().update(document_id, path, **kwargs)

    # -- administering an organisation ----------------------------------------------------------
    def create_organisation(self, name: str, kind: str) -> Organisation:
        name = typed_org_name(name)
        if kind not in KINDS:
            raise ClientError(f"kind must be one of: {', '.join(KINDS)}")
        org_id = new_id()
        me = self.me
        org, record = new_organisation(
            me, org_id=bytes.fromhex(org_id), name=name, kind=KINDS[kind], created_at=now()
        )
        membership = make_membership(me, org, me.public, role=Role.ADMIN, issued_at=now())
        self.api.create_organisation(org_id, name, int(KINDS[kind]), record, membership)
        return self.organisation(org_id=org_id)

    def _administered(self, name: str) -> Organisation:
        org = self.organisation(name)
        if org.role_of(self.my_id) != "admin":
            raise ClientError(f"only an administrator of {org.name} can change its members")
        org.current_keys()
        return org

    def add_member(self, name: str, username: str, *, admin: bool = False) -> Organisation:
        org = self._administered(name)
        member = self.contact(username).identity
        if org.role_of(member.user_id.hex()) is not None:
            raise ClientError(f"{username} is already a member of {org.name}")
        role = Role.ADMIN if admin else Role.MEMBER
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
        new, record = next_epoch(me, org.current_keys(), kind=org.chain.kind, created_at=now())
        memberships = []
        for user_id, role in sorted(members.items()):
            if user_id == leaving:
                continue
            role_value = Role.ADMIN if (role == "admin" or user_id == self.my_id) else Role.MEMBER
            identity = me.public if user_id == self.my_id else self._member_identity(org, user_id)
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
                owner = self._user_contact(str(dossier_rows[0].owner_id)).identity
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
                    opened = self.open_organisation_grant(data, org, owner, dossier_rows)
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
