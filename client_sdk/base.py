"""What every feature of the client shares: the API, the profile, the parts, and dossiers.

`ClientBase` makes the parts each feature uses (the account, the directory of contacts, the
keyring, the receipts) and loads a dossier. It never trusts an identity record, a dossier index
or a grant because the server sent it: each goes through the checks of docs/format.md, the
pins of `trust` (client_sdk/directory.py) and the grants the keyring opens.
"""

from __future__ import annotations

from typing import Self

import httpx

from vault.errors import KeyMismatchError
from vault.index import index_hash, open_index, verify_index
from vault.keys import Identity, PrivateIdentity
from vault.metadata import DossierMetadata

from .account import Account
from .api import ServerApi
from .directory import Directory
from .ids import by_id_or_name
from .keylog import KeyLog, LogSettings
from .keyring import KeyRing
from .parts import PartPolicy
from .profile import Profile, Session
from .receipts import Receipts
from .records import Dossier
from .trust import Contact


class ClientBase:
    def __init__(
        self,
        server: str,
        profile: Profile | str | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        parts: PartPolicy | None = None,
        log: LogSettings | None = None,
    ) -> None:
        self.profile = profile if isinstance(profile, Profile) else Profile(profile)
        self.server = server
        self._transport = transport
        self.parts = parts or PartPolicy()  # when and how payloads go up in parts
        session = self.profile.load_session()
        token = session.token if session and session.server == server else None
        self.api = ServerApi(server, token, transport)
        self.account = Account(session if token else None)
        self.keylog = KeyLog(self.api, self.profile, server, log)  # the key transparency log
        self.directory = Directory(self.api, self.profile, self.account, self.keylog)
        self.keyring = KeyRing(self.api, self.account, self.directory)
        self.receipt_book = Receipts(
            self.api, self.profile, self.account, self.directory, self.keyring, self.load_dossier
        )

    def close(self) -> None:
        self.api.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the logged-in user --------------------------------------------------------------------
    @property
    def session(self) -> Session:
        return self.account.session

    @property
    def me(self) -> PrivateIdentity:
        return self.account.me

    @property
    def my_id(self) -> str:
        return self.account.my_id

    # -- contacts (client_sdk/directory.py) ----------------------------------------------------
    def contact(self, username: str) -> Contact:
        """The trusted identity of `username`, or of the organisation `@name`."""
        return self.directory.contact(username)

    def contact_by_id(self, user_id: str) -> Contact:
        return self.directory.contact_by_id(user_id)

    def user_exists(self, username: str) -> bool:
        """Whether the server says it has this user (a claim: for hints only, never trust)."""
        return self.directory.user_exists(username)

    # -- dossiers ------------------------------------------------------------------------------
    def load_dossier(self, dossier_id: str) -> Dossier:
        """Fetch a dossier and verify its owner, its index and the keys granted to me."""
        self.keyring.forget(dossier_id)  # its organisations' document grants: look again
        answer = self.api.dossier(dossier_id)
        # Only the owner's id is taken from the dossier's answer: the keys come from a lookup
        # that is proved in the key transparency log (the dossier answer carries no proof).
        owner_id = Identity.decode(answer.owner.identity).user_id.hex()
        owner = self.directory.person_by_id(owner_id).identity
        pinned = self.profile.dossier_owner(dossier_id)
        if pinned is None:
            self.profile.save_dossier_owner(dossier_id, owner.user_id.hex())
        elif pinned != owner.user_id.hex():
            # K4/D7: a dossier never changes hands; a new owner is the server's substitute.
            raise KeyMismatchError(
                f"dossier {dossier_id[:8]}: the server names {owner.username} as its owner, but "
                "this device knows it as someone else's"
            )
        keys, role = self.keyring.dossier_keys(dossier_id, owner)
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
