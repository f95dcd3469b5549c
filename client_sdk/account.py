"""The logged-in user of one client: the session this device holds and the keys it unlocked.

Every part that signs or opens something as me is given the one `Account` of its client, so
that a login or logout (client_sdk/accounts.py) is seen by all of them at once.
"""

from __future__ import annotations

from vault.keys import PrivateIdentity

from .errors import NotLoggedIn
from .profile import Session


class Account:
    def __init__(self, session: Session | None) -> None:
        self._session = session
        self._me: tuple[Session, PrivateIdentity] | None = None

    @property
    def logged_in(self) -> bool:
        return self._session is not None

    def start(self, session: Session) -> None:
        self._session = session

    def end(self) -> None:
        self._session = None

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

    def is_me(self, user_id: str) -> bool:
        """Whether `user_id` is the logged-in user (False when nobody is logged in)."""
        return self._session is not None and user_id == self._session.user_id
