"""People and organisations as verified contacts: pins, trust on first use, verification.

Whoever the client seals a key to or accepts a signature from is a contact of this module, never
an identity because the server sent it. A person is pinned on first sight (`trust`) and after
that must keep the keys, name and id pinned (K2). An organisation's key chain (docs/format.md
section 14, docs/organisations.md) is pinned the first time this device sees it (or compared
with the fingerprint the server's operator recorded), and later epochs are accepted only as a
signed succession from what it pinned: keys swapped by the server are a security failure
(exit 3), never a silent change (K6).

`contact` and `contact_by_id` are the only ways to a contact, and they know both: a name
`@name` or an id this device pinned as an organisation's is the organisation's current epoch,
anything else a person.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

from vault.errors import IntegrityError, KeyMismatchError, MalformedError, SecurityError
from vault.grant import Grant
from vault.keys import Identity, PrivateIdentity, normalise_fingerprint
from vault.logentry import Namespace
from vault.organisation import (
    ChainPin,
    OrgChain,
    Roster,
    open_membership,
    verify_chain,
    verify_roster,
)
from vault.orgkeys import OrgKeys

from .account import Account
from .api import OrganisationDetail, OrganisationEntry, ServerApi, UserRow
from .errors import ClientError, DamagedProfile, NotFound, UnverifiedKeyError
from .keylog import KeyLog
from .profile import Profile
from .trust import Contact, check_record, pinned_contact, trust
from .typed import typed_org_name, typed_username


@dataclass(frozen=True)
class Organisation:
    """An organisation as this device verified it."""

    chain: OrgChain
    roster: Roster
    verified_by: str  # "operator" (its record matches the keys), "you" (`kluis org verify`), ""
    operator_fingerprint: str | None  # what the server's operator recorded (checked: equal)
    first_seen: bool
    keys: dict[int, PrivateIdentity] = field(repr=False)  # the epochs whose keys I hold
    log_label: bytes = field(default=b"", repr=False)  # its name's label in the log

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


BATCH = 1000  # users per batch lookup (the server's limit)


class Directory:
    """The contacts of one logged-in device: people and organisations."""

    def __init__(self, api: ServerApi, profile: Profile, account: Account, keylog: KeyLog) -> None:
        self.api = api
        self.profile = profile
        self.account = account
        self.keylog = keylog
        self._contacts: dict[str, Contact] = {}
        self._orgs: dict[str, Organisation] = {}

    # -- whoever it is ---------------------------------------------------------------------------
    def contact(self, username: str) -> Contact:
        """The trusted identity of a person (pinned on first sight; a typed name is folded and
        checked first), or of an organisation's current epoch for `@name`."""
        if username.startswith("@"):
            org = self.organisation(username)
            return Contact(org.identity, verified=org.verified, first_seen=org.first_seen)
        return self.person(username)

    def contact_by_id(self, user_id: str) -> Contact:
        """A person by id; an organisation (pinned here, or not a user) by its current epoch."""
        # An organisation is fetched fresh: a stale epoch would let leavers in.
        if self.profile.organisation_pin(user_id) is not None:
            org = self.organisation(org_id=user_id)
            return Contact(org.identity, verified=org.verified, first_seen=False)
        try:
            return self.person_by_id(user_id)
        except NotFound:
            if self.profile.pin(user_id) is not None:  # a person this device knows is no org
                raise KeyMismatchError(
                    f"the server says there is no user {user_id[:8]}, whom this device has "
                    "pinned, and offers an organisation with that id instead"
                ) from None
            org = self.organisation(org_id=user_id)
            return Contact(org.identity, verified=org.verified, first_seen=org.first_seen)

    def keys_known_for(self, grant: Grant, contact: Contact) -> set[bytes]:
        """Key ids under which `contact` may receive what `grant` gave: the grant's, or a user's
        keys that I verified on this device since (their pin is mine, not the server's). An
        organisation may have moved on to later epochs since the grant: any epoch of its
        verified chain, if that chain includes the grant's (else the grant was not to it). Its
        "verified" mark counts for nothing here: the operator may have set it."""
        org_id = grant.recipient_id.hex()
        if self.profile.organisation_pin(org_id) is None:
            return {grant.recipient_key_id} | (
                {contact.identity.key_id} if contact.verified else set()
            )
        chain = self.organisation(org_id=org_id).chain
        epochs = {r.identity.key_id for r in chain.records}
        return epochs if grant.recipient_key_id in epochs else set()

    # -- people ------------------------------------------------------------------------------------
    def logged_record(
        self, user: UserRow, *, username: str | None = None, user_id: str | None = None
    ) -> Identity:
        """The identity record of a lookup, once it is the one asked for and is in the key
        transparency log (docs/client.md section 24): no key is used on the server's word."""
        identity = Identity.decode(user.identity)
        check_record(identity, username=username, user_id=user_id)
        self.keylog.check_record(
            user.head, user.log, Namespace.USER, identity.username, user.identity
        )
        return identity

    def since(self, *, me: str | None = None) -> int | None:
        """The `since` of a lookup: the size of the newest checkpoint kept, after the first
        use of the server's log has checked the pins made before it (`me`: the user id of
        an account logging in, whose own pin is checked by its own lookup)."""
        self._check_pins_against_log(me)
        return self.keylog.since()

    def _check_pins_against_log(self, me: str | None = None) -> None:
        """On the first use of a server's log, every person this device pinned before must
        have the pinned keys in the log (one batch lookup): pins made on trust alone are
        checked against what everyone else sees."""
        if self.keylog.pinned():
            return
        pins = {
            u: p for u, p in self.profile.pins().items() if u != me and not self.account.is_me(u)
        }
        self.keylog.trusted()
        if not pins:
            return
        names = sorted({str(p["username"]) for p in pins.values() if p.get("username")})
        answer = self.api.log_lookup(names, self.keylog.since())
        first = True
        for user_id, pin in sorted(pins.items()):
            row = answer.users.get(str(pin.get("username")))
            if row is None:
                continue  # a name no longer there, or taken by another account: asked when used
            identity = Identity.decode(row.identity)
            if identity.user_id.hex() != user_id:
                continue
            self.keylog.check_record(
                answer.head, row.log, Namespace.USER, identity.username, row.identity, first=first
            )
            first = False
            if identity.key_id.hex() != pin.get("key_id"):
                raise UnverifiedKeyError(
                    f"the key transparency log shows other keys for {identity.username!r} "
                    f"({identity.fingerprint}) than this device pinned ({pin.get('fingerprint')})"
                )

    def person_from_record(
        self, user: UserRow, *, username: str | None = None, user_id: str | None = None
    ) -> Contact:
        claimed = Identity.decode(user.identity)
        check_record(claimed, username=username, user_id=user_id)
        if not self.account.is_me(claimed.user_id.hex()):
            pinned_contact(self.profile, claimed)  # a changed pin is named first; pins nothing
        identity = self.logged_record(user, username=username, user_id=user_id)
        if self.account.is_me(identity.user_id.hex()):
            if identity != self.account.me.public:
                raise KeyMismatchError("the server shows other keys for your own account")
            return Contact(identity, verified=True, first_seen=False)
        contact = trust(self.profile, identity)
        self._contacts[identity.user_id.hex()] = contact
        return contact

    def person(self, username: str) -> Contact:
        """The trusted identity of the person `username` (pinned on first sight); a typed name
        is folded and checked first (`typed_username`)."""
        username = typed_username(username)
        answer = self.api.user(username, self.since())
        return self.person_from_record(answer, username=username)

    def user_exists(self, username: str) -> bool:
        """Whether the server says it has this user (a claim: for hints only, never trust)."""
        try:
            self.api.user(typed_username(username))
        except NotFound:
            return False
        return True

    def people_by_id(self, user_ids: list[str]) -> None:
        """Look up and check (`trust`, as `person_by_id`) every person among `user_ids` not
        looked up yet, in batches: a rotation of a big group needs them all."""
        wanted = [u for u in dict.fromkeys(user_ids) if u not in self._contacts]
        wanted = [u for u in wanted if not self.account.is_me(u)]
        for start in range(0, len(wanted), BATCH):
            batch = wanted[start : start + BATCH]
            for row in self.api.users_by_ids(batch):
                identity = Identity.decode(row.identity)
                if identity.user_id.hex() not in batch:
                    raise IntegrityError("server answer: a user that was not asked for")
                self.person_from_record(row, user_id=identity.user_id.hex())

    def person_by_id(self, user_id: str) -> Contact:
        """The trusted identity of the person with this id (pinned on first sight)."""
        cached = self._contacts.get(user_id)
        if cached is not None:
            return cached
        if self.account.is_me(user_id):
            return Contact(self.account.me.public, verified=True, first_seen=False)
        answer = self.api.user_by_id(user_id, self.since())
        return self.person_from_record(answer, user_id=user_id)

    # -- organisations -----------------------------------------------------------------------------
    def organisation(
        self, name: str | None = None, *, org_id: str | None = None, fresh: bool = True
    ) -> Organisation:
        """Fetch an organisation, verify its key chain against this device's pin and the
        operator's record, pin it (or raise the pin to the newest epoch), and open the keys
        my memberships give me."""
        if not fresh and org_id is not None and org_id in self._orgs:
            return self._orgs[org_id]
        if name is not None:
            name = typed_org_name(name)
        answer = self.api.organisation(name=name, org_id=org_id, since=self.since())
        org = self._verify_organisation(answer, name=name, org_id=org_id)
        self._orgs[org.org_id] = org
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
        pin = self.profile.organisation_pin(claimed_id)
        if name is not None and pin is None:
            other = self.profile.organisation_pin_named(name)
            if other is not None:
                raise UnverifiedKeyError(
                    f"the server now gives the name {name!r} to another organisation than the "
                    f"one this device knows (fingerprint {other[1]['fingerprint']})"
                )

        # The records are checked against the log first, with the head fetched with them (the
        # authors' lookups below move the kept checkpoint on); a failure is raised after the
        # chain's own checks, which name a fork as such. Nothing is pinned or used before.
        unlogged: SecurityError | None = None
        try:
            label = self._logged_organisation(answer, name)
        except SecurityError as exc:
            label, unlogged = b"", exc

        def identity_of(user_id: bytes) -> Identity:
            return self.person_by_id(user_id.hex()).identity

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
        if unlogged is not None:
            raise unlogged
        verified_by = "you" if pin and pin.get("verified") else ("operator" if operator else "")
        self.profile.save_organisation_pin(
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
            log_label=label,
        )

    def _logged_organisation(self, answer: OrganisationDetail, name: str | None) -> bytes:
        """Check that every epoch record of the answer is in the key transparency log, each
        against the answer's one head (format 17.6, epoch by epoch); the name's label."""
        if not answer.records:
            raise IntegrityError("server answer: an organisation without key records")
        logged_name = name if name is not None else OrgKeys.decode(answer.records[0]).name
        proofs = answer.record_proofs
        label = b""
        for i, record in enumerate(answer.records):
            proof = proofs[i] if i < len(proofs) else None
            looked = self.keylog.check_record(
                answer.head, proof, Namespace.ORGANISATION, logged_name, record, first=i == 0
            )
            label = looked.label
        return label

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
        if not self.account.logged_in:
            return {}
        me = self.account.me
        keys: dict[int, PrivateIdentity] = {}
        for epoch, members in roster.members.items():
            statement = members.get(me.user_id)
            if statement is None:
                continue
            _, org = open_membership(
                statement.encode(),
                me=me,
                admin=self.person_by_id(statement.admin_id.hex()).identity,
                org_keys=chain.epoch_keys(epoch),
            )
            keys[epoch] = org
        return keys

    def member_identity(self, org: Organisation, user_id: str) -> Identity:
        """A remaining member's keys for the next epoch: the ones the verified membership of
        this epoch names (an admin signed it), or keys I verified since; never whatever the
        server now says the member's keys are."""
        contact = self.person_by_id(user_id)
        member = bytes.fromhex(user_id)
        signed = org.roster.current().get(member)
        if signed is not None:
            expected = signed.member_key_id
        elif org.chain.current.author_id == member:
            expected = org.chain.current.author_key_id
        else:
            raise ClientError(f"no verified membership of {org.name} names {user_id[:8]}")
        allowed = {expected} | ({contact.identity.key_id} if contact.verified else set())
        return named_keys(contact, allowed, f"their membership of {org.name}")

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
        pin = self.profile.organisation_pin(org.org_id) or {}
        self.profile.save_organisation_pin(org.org_id, {**pin, "verified": True})
        return self.organisation(name)

    def organisations(self) -> list[tuple[OrganisationEntry, Organisation | None]]:
        """The directory; the organisations I belong to (says the server) are verified here."""
        out: list[tuple[OrganisationEntry, Organisation | None]] = []
        for entry in self.api.organisations():
            known = self.profile.organisation_pin(entry.org_id) is not None
            mine = entry.my_role is not None
            verified = self.organisation(org_id=entry.org_id) if mine or known else None
            out.append((entry, verified))
        return out

    def organisations_with(self, user_id: str, recipient_ids: set[str]) -> list[str]:
        """The organisations among `recipient_ids` (those this device pinned) whose verified
        current memberships include `user_id`."""
        return sorted(
            org.name
            for org in (
                self.organisation(org_id=r)
                for r in recipient_ids
                if self.profile.organisation_pin(r) is not None
            )
            if user_id in org.members()
        )


def named_keys(contact: Contact, allowed: set[bytes], statement: str) -> Identity:
    """`contact`'s identity if its keys are among those a signed `statement` names (or
    allows); otherwise the server has put other keys in its place: KeyMismatchError."""
    if contact.identity.key_id in allowed:
        return contact.identity
    raise KeyMismatchError(
        f"{contact.identity.username}: the server shows other keys than the ones {statement} "
        "names; their key may have been replaced. Compare fingerprints and run `kluis verify`"
    )
