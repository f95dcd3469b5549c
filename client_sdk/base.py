"""What every part of the client shares: the API, the profile, the unlocked keys, and contacts.

`ClientBase` turns server answers into things the rest of the client may rely on. It never
trusts an identity record, a dossier index or a grant because the server sent it: each goes
through the checks of docs/format.md and the pins of `trust`.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Self

import httpx

from vault.errors import ExpiredError, KeyMismatchError, MalformedError
from vault.grant import open_grant
from vault.index import DossierIndex, index_hash, open_index, verify_index
from vault.keys import Identity, PrivateIdentity
from vault.kinds import GrantKind, Rights
from vault.metadata import DossierMetadata

from .errors import AmbiguousId, NotFound, NotLoggedIn, UnknownId
from .parts import PartPolicy
from .profile import Profile, Session
from .transport import Api, unb64
from .trust import Contact, check_record, trust
from .typed import typed_username

ID_HEX_LENGTH = 32


def new_id() -> str:
    return secrets.token_hex(16)


def now() -> int:
    return int(time.time())


ID_PATTERN = re.compile(r"[0-9a-f]{32}")


def check_id(value: str, what: str) -> str:
    if not ID_PATTERN.fullmatch(value):
        raise MalformedError(f"server answer: {what} is not an id")
    return value


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
        self.api = Api(server, token, transport)
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
        self, user: Any, *, username: str | None = None, user_id: str | None = None
    ) -> Contact:
        if not isinstance(user, dict):
            raise MalformedError("server answer: a user is not an object")
        identity = Identity.decode(unb64(user.get("identity"), "identity"))
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
        return self._contact_from_user(
            self.api.call("GET", f"/users/{username}"), username=username
        )

    def user_exists(self, username: str) -> bool:
        """Whether the server says it has this user (a claim: for hints only, never trust)."""
        try:
            self.api.call("GET", f"/users/{typed_username(username)}")
        except NotFound:
            return False
        return True

    def contact_by_id(self, user_id: str) -> Contact:
        cached = self._contacts.get(user_id)
        if cached is not None:
            return cached
        if self._session and user_id == self.my_id:
            return Contact(self.me.public, verified=True, first_seen=False)
        return self._contact_from_user(
            self.api.call("GET", f"/users/by-id/{user_id}"), user_id=user_id
        )

    # -- dossiers ------------------------------------------------------------------------------
    def _grant_rows(self, dossier_id: str) -> list[dict[str, Any]]:
        """The server's grant rows for a dossier: claims until a grant is opened or verified."""
        grants = self.api.call("GET", f"/dossiers/{dossier_id}/grants")
        if not isinstance(grants, list):
            raise MalformedError("server answer: grants is not a list")
        return [g for g in grants if isinstance(g, dict)]

    def _my_grants(self, dossier_id: str) -> list[dict[str, Any]]:
        return [g for g in self._grant_rows(dossier_id) if g.get("recipient_id") == self.my_id]

    def _dossier_keys(self, dossier_id: str, owner: Identity) -> tuple[dict[int, bytes], str]:
        """Open every dossier-key grant addressed to me; only the owner may grant them."""
        keys: dict[int, bytes] = {}
        role = "document"
        for item in self._my_grants(dossier_id):
            if item.get("kind") != GrantKind.DOSSIER:
                continue
            try:
                opened = open_grant(
                    unb64(item.get("grant"), "grant"),
                    me=self.me,
                    granter=owner,
                    kind=GrantKind.DOSSIER,
                    dossier_id=bytes.fromhex(dossier_id),
                    number=int(item.get("number", -1)),
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
        answer = self.api.call("GET", f"/dossiers/{dossier_id}")
        if not isinstance(answer, dict) or answer.get("dossier_id") != dossier_id:
            raise MalformedError("server answer: not the dossier that was asked for")
        owner = self._contact_from_user(answer.get("owner")).identity
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
        index_bytes = unb64(answer.get("index"), "index")
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
            created_at=int(answer.get("created_at", 0)),
        )

    def remember_index(self, dossier_id: str, data: bytes, counter: int) -> None:
        """Remember an index this device verified or signed: the next must descend from it."""
        self.profile.save_last_index(dossier_id, data, counter, index_hash(data).hex())

    def dossier_ids(self) -> list[str]:
        listing = self.api.call("GET", "/dossiers")
        if not isinstance(listing, list):
            raise MalformedError("server answer: dossiers is not a list")
        return [check_id(str(d.get("dossier_id")), "dossier id") for d in listing]

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


HEX = re.compile(r"[0-9a-f]*")
MAX_CANDIDATES = 20


def by_id_or_name(
    text: str,
    ids: Iterable[str],
    names: Callable[[], dict[str, tuple[str, str]]],
    what: str,
    by: str,
) -> str:
    """The one id of `ids` that `text` names, else UnknownId or AmbiguousId (with candidates).

    An id, or the beginning of exactly one id, names that one: the names are then not read.
    Otherwise `names()` gives {id: (name, label)}, read only now because reading them means
    decrypting and verifying (a title, a file name; one that fails a check stops the lookup,
    lest a server hide one of two alike to steer the choice): a whole name, in any case, names its
    object if only one has it; else every id and name that begins with `text` is a candidate.
    `what` ("dossier") and `by` ("id or title") word the messages; `label` shows a
    candidate."""
    prefix = text.lower()
    id_hits = sorted({i for i in ids if i.startswith(prefix)}) if HEX.fullmatch(prefix) else []
    if len(id_hits) == 1:
        return id_hits[0]
    if ID_PATTERN.fullmatch(prefix):  # a whole id that is none of these: no name is one
        raise UnknownId(f"no {what} with the id {text!r} that you can see")
    known = names()
    folded = text.casefold()
    exact = sorted(i for i, (name, _) in known.items() if name.casefold() == folded)
    if len(exact) == 1:
        return exact[0]
    begins = {i for i, (name, _) in known.items() if name.casefold().startswith(folded)}
    hits = exact or sorted(set(id_hits) | begins)
    if len(hits) == 1:
        return hits[0]
    if not hits:
        raise UnknownId(f"no {what} with the {by} {text!r} that you can see")
    raise AmbiguousId(
        f"{text!r} matches {len(hits)} {what}s; type more of the {by}:",
        [(i, known[i][1] if i in known else "") for i in hits[:MAX_CANDIDATES]],
    )
