"""What every part of the client shares: the API, the profile, the unlocked keys, and contacts.

`ClientBase` turns server answers into things the rest of the client may rely on. It never
trusts an identity record, a dossier index or a grant because the server sent it: each goes
through the checks of docs/format.md and the pins of `trust`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Self

import httpx

from vault.errors import ExpiredError, KeyMismatchError
from vault.grant import GrantKind, Rights, open_grant
from vault.index import DossierIndex, index_hash, open_index, verify_index
from vault.keys import Identity, PrivateIdentity
from vault.metadata import DossierMetadata

from .api import GrantRow, ServerApi, UserRow
from .clock import now
from .errors import NotFound, NotLoggedIn
from .ids import by_id_or_name
from .parts import PartPolicy
from .profile import Profile, Session
from .trust import Contact, check_record, trust
from .typed import typed_username


@dataclass
class Dossier:
    """A dossier as this client verified it."""

    dossier_id: str
    owner: Identity
    role: str  # owner, write, read or document (access to single documents only)
    index: DossierIndex
    index_bytes: bytes
    metadata: DossierMetadata | None  # None when this client holds no dossier key
    keys: dict[int, bytes] = field(repr=False)
    created_at: int = 0

    @property
    def title(self) -> str:
        return self.metadata.title if self.metadata else "(shared documents)"

    @property
    def epoch(self) -> int:
        return self.index.epoch

    def current_key(self) -> bytes:
        try:
            return self.keys[self.index.epoch]
        except KeyError:
            raise KeyMismatchError(
                "you do not hold the current key of this dossier (access was revoked)"
            ) from None


class ClientBase:
    def __init__(
        self,
        server: str,
        profile: Profile | str | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        parts: PartPolicy | None = None,
    ) -> None:
        self.profile = profile if isinstance(profile, Profile) else Profile(profile)
        self.server = server
        self._transport = transport
        self.parts = parts or PartPolicy()  # when and how payloads go up in parts
        session = self.profile.load_session()
        token = session.token if session and session.server == server else None
        self.api = ServerApi(server, token, transport)
        self._session = session if token else None
        self._contacts: dict[str, Contact] = {}
        self._me: tuple[Session, PrivateIdentity] | None = None

    def close(self) -> None:
        self.api.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the logged-in user --------------------------------------------------------------------
    @property
    def session(self) -> Session:
        if self._session is None:
            raise NotLoggedIn()
        return self._session

    @property
    def me(self) -> PrivateIdentity:
        s = self.session
        if self._me is None or self._me[0] is not s:  # rebuilt only when the session changes
            identity = PrivateIdentity.from_private_keys(
                bytes.fromhex(s.user_id), s.username, s.key_version, s.private_keys
            )
            self._me = (s, identity)
        return self._me[1]

    @property
    def my_id(self) -> str:
        return self.session.user_id

    # -- contacts ------------------------------------------------------------------------------
    def _contact_from_user(
        self, user: UserRow, *, username: str | None = None, user_id: str | None = None
    ) -> Contact:
        identity = Identity.decode(user.identity)
        check_record(identity, username=username, user_id=user_id)
        if self._session and identity.user_id.hex() == self.my_id:
            if identity != self.me.public:
                raise KeyMismatchError("the server shows other keys for your own account")
            return Contact(identity, verified=True, first_seen=False)
        contact = trust(self.profile, identity)
        self._contacts[identity.user_id.hex()] = contact
        return contact

    def contact(self, username: str) -> Contact:
        """The trusted identity of `username` (pinned on first sight); a typed name is folded
        and checked first (`typed_username`)."""
        username = typed_username(username)
        return self._contact_from_user(self.api.user(username), username=username)

    def user_exists(self, username: str) -> bool:
        """Whether the server says it has this user (a claim: for hints only, never trust)."""
        try:
            self.api.user(typed_username(username))
        except NotFound:
            return False
        return True

    def contact_by_id(self, user_id: str) -> Contact:
        cached = self._contacts.get(user_id)
        if cached is not None:
            return cached
        if self._session and user_id == self.my_id:
            return Contact(self.me.public, verified=True, first_seen=False)
        return self._contact_from_user(self.api.user_by_id(user_id), user_id=user_id)

    # -- dossiers ------------------------------------------------------------------------------
    def _grant_rows(self, dossier_id: str) -> list[GrantRow]:
        """The server's grant rows for a dossier: claims until a grant is opened or verified."""
        return self.api.grants(dossier_id)

    def _my_grants(self, dossier_id: str) -> list[GrantRow]:
        return [g for g in self._grant_rows(dossier_id) if g.recipient_id == self.my_id]

    def _dossier_keys(self, dossier_id: str, owner: Identity) -> tuple[dict[int, bytes], str]:
        """Open every dossier-key grant addressed to me; only the owner may grant them."""
        keys: dict[int, bytes] = {}
        role = "document"
        for item in self._my_grants(dossier_id):
            if item.kind != GrantKind.DOSSIER:
                continue
            try:
                opened = open_grant(
                    item.grant(),
                    me=self.me,
                    granter=owner,
                    kind=GrantKind.DOSSIER,
                    dossier_id=bytes.fromhex(dossier_id),
                    number=-1 if item.number is None else item.number,
                    now=now(),
                )
            except ExpiredError:
                continue
            keys[opened.grant.number] = opened.key
            if opened.grant.rights == Rights.WRITE:
                role = "write"
            elif role == "document":
                role = "read"
        return keys, role

    def load_dossier(self, dossier_id: str) -> Dossier:
        """Fetch a dossier and verify its owner, its index and the keys granted to me."""
        answer = self.api.dossier(dossier_id)
        owner = self._contact_from_user(answer.owner).identity
        pinned = self.profile.dossier_owner(dossier_id)
        if pinned is None:
            self.profile.save_dossier_owner(dossier_id, owner.user_id.hex())
        elif pinned != owner.user_id.hex():
            # K4/D7: a dossier never changes hands; a new owner is the server's substitute.
            raise KeyMismatchError(
                f"dossier {dossier_id[:8]}: the server names {owner.username} as its owner, but "
                "this device knows it as someone else's"
            )
        keys, role = self._dossier_keys(dossier_id, owner)
        if owner.user_id.hex() == self.my_id:
            role = "owner"
        index_bytes = answer.index
        did = bytes.fromhex(dossier_id)
        # D12, D13: the index must descend from the last one this device verified (format
        # section 9, step 4); a profile from before that memory knows only its counter and hash.
        last = self.profile.last_index(dossier_id)
        seen = self.profile.index_seen(dossier_id) if last is None else None
        highest, last_hash = (seen[0], bytes.fromhex(seen[1])) if seen else (0, None)
        metadata: DossierMetadata | None = None
        if keys:
            opened = open_index(
                index_bytes,
                dossier_id=did,
                owner=owner,
                dossier_keys=keys,
                highest_seen=highest,
                previous=last,
                previous_hash=last_hash,
            )
            index, metadata = opened.index, opened.metadata
        else:  # a document-only grantee can check the index but not read the title
            index = verify_index(
                index_bytes,
                dossier_id=did,
                owner=owner,
                highest_seen=highest,
                previous=last,
                previous_hash=last_hash,
            )
        if index_bytes != last:
            self.remember_index(dossier_id, index_bytes, index.counter)
        return Dossier(
            dossier_id=dossier_id,
            owner=owner,
            role=role,
            index=index,
            index_bytes=index_bytes,
            metadata=metadata,
            keys=keys,
            created_at=answer.created_at,
        )

    def remember_index(self, dossier_id: str, data: bytes, counter: int) -> None:
        """Remember an index this device verified or signed: the next must descend from it."""
        self.profile.save_last_index(dossier_id, data, counter, index_hash(data).hex())

    def dossier_ids(self) -> list[str]:
        return self.api.dossier_ids()

    def resolve_dossier(self, text: str) -> str:
        """The dossier `text` names: an id or its beginning, or a title (`by_id_or_name`)."""
        ids = self.dossier_ids()
        return by_id_or_name(text, ids, lambda: self.dossier_titles(ids), "dossier", "id or title")

    def dossier_titles(self, ids: list[str]) -> dict[str, tuple[str, str]]:
        """{id: (title, title)} of the dossiers whose title I can read (decrypted and verified
        here: the server never sees one)."""
        titles = {}
        for dossier_id in ids:
            metadata = self.load_dossier(dossier_id).metadata
            if metadata is not None:
                titles[dossier_id] = (metadata.title, metadata.title)
        return titles
