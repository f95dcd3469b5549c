"""Accounts: register, log in and out, change the passphrase, recover with the recovery code.

The passphrase never leaves this module: Argon2id turns it into an authentication key for the
server and a separate key that opens the key bundle (docs/format.md sections 2, 4 and 5). A
passphrase being set (register, change, recover) must first pass the passphrase rule
(section 18, threat L17), before anything is derived or sent: `WeakPassphrase` otherwise. The
private keys are unlocked here and checked against the account's published identity record
before anything else uses them (threat K1).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from vault.bundle import bundle_kdf_params, open_bundle, seal_bundle
from vault.errors import KeyMismatchError, MalformedError, WrongPassphrase
from vault.kdf import KdfParams, PassphraseKeys, passphrase_keys
from vault.keys import Identity, PrivateIdentity
from vault.passphrase import require_strong_passphrase
from vault.recovery import RecoveryCode, RecoveryKeys, parse_recovery_code

from .api import LoginAnswer, UserRow, kdf_to_json
from .base import ClientBase
from .errors import ClientError, Unauthorized
from .ids import new_id
from .profile import Session
from .transport import b64
from .typed import typed_username


class AccountsMixin(ClientBase):
    def _previous_kdf(self, username: str, salt: bytes) -> KdfParams | None:
        floor = self.profile.kdf_floor(username)
        if floor is None:
            return None
        return KdfParams(1, floor[0], floor[1], 1, salt)

    def _start_session(
        self, answer: LoginAnswer, identity: PrivateIdentity, keys: PassphraseKeys | None
    ) -> None:
        # K1 first: a login refused for keys that are not mine must leave no session behind.
        self._check_published(identity, answer.user)
        if keys is not None:
            self.profile.raise_kdf_floor(
                identity.username, keys.params.memory_kib, keys.params.iterations
            )
        if answer.device_token:  # for this device's next login
            self.profile.save_device_token(identity.username, answer.device_token)
        token, expires_at = answer.session()
        self.api.token = token
        try:
            self._check_logged(identity)
        except BaseException:
            self.api.token = None
            self._end_session(token)
            raise
        session = Session(
            server=self.server,
            username=identity.username,
            user_id=identity.user_id.hex(),
            token=token,
            expires_at=expires_at,
            key_version=identity.key_version,
            private_keys=identity.private_keys(),
        )
        self.profile.save_session(session)
        self.account.start(session)
        self.api.token = session.token

    def _check_logged(self, identity: PrivateIdentity) -> None:
        """S22: the key transparency log (checked against this device's pinned log and its
        newest checkpoint) must show my own keys under my name; the first login to a server
        also pins its log and checks every pin made before against it."""
        answer = self.api.user(identity.username, self.directory.since(me=identity.user_id.hex()))
        if self.directory.logged_record(answer, username=identity.username) != identity.public:
            raise KeyMismatchError("the key transparency log shows other keys for your account")

    def _check_published(self, identity: PrivateIdentity, user: UserRow) -> None:
        """K1: the server's record of my account must carry exactly the keys I unlocked."""
        published = Identity.decode(user.identity)
        if published != identity.public:
            raise KeyMismatchError(
                "the server's record of your account carries keys that are not yours"
            )
        pin = self.profile.pin(identity.user_id.hex())
        if pin is not None and pin["key_id"] != identity.public.key_id.hex():
            raise KeyMismatchError("your own keys differ from the ones pinned on this device")
        self.profile.save_pin(
            identity.user_id.hex(),
            username=identity.username,
            key_id=identity.public.key_id.hex(),
            fingerprint=identity.public.fingerprint,
            verified=True,
        )

    def _authenticate(self, login: Callable[[], LoginAnswer]) -> LoginAnswer:
        """Log in with a derived key; a refusal is reported exactly like a bundle that does not
        open (L15), so neither a stranger nor the server learns which of the two happened."""
        try:
            return login()
        except Unauthorized:
            raise WrongPassphrase() from None

    def _with_device(self, username: str, body: dict[str, Any]) -> dict[str, Any]:
        """`body` with this device's token for `username`, if it logged in before (S21)."""
        token = self.profile.device_token(username)
        return {**body, "device_token": token} if token else body

    def _login_with(self, username: str, keys: PassphraseKeys) -> LoginAnswer:
        token = self.profile.device_token(username)  # this device logged in before (S21)
        return self._authenticate(lambda: self.api.login(username, keys.auth_key, token))

    def register(self, username: str, passphrase: str, display_name: str = "") -> RecoveryCode:
        """Create an account; returns the recovery code, to be shown to the user once."""
        username = typed_username(username)
        require_strong_passphrase(passphrase, [username])
        identity = PrivateIdentity.generate(bytes.fromhex(new_id()), username)
        keys = passphrase_keys(passphrase, KdfParams.new())
        code = RecoveryCode.generate()
        recovery = code.keys()
        self.api.register(
            {
                "user_id": identity.user_id.hex(),
                "username": username,
                "display_name": display_name or username,
                "identity": b64(identity.public.encode()),
                "kdf": kdf_to_json(keys.params),
                "passphrase_bundle": b64(seal_bundle(identity, keys)),
                "recovery_bundle": b64(seal_bundle(identity, recovery)),
                "auth_key": b64(keys.auth_key),
                "recovery_auth_key": b64(recovery.auth_key),
            }
        )
        answer = self._login_with(username, keys)
        self._start_session(answer, identity, keys)
        return code

    def _derive_login_keys(self, username: str, passphrase: str) -> PassphraseKeys:
        params = self.api.prelogin(username)
        # The policy (floor, ceiling, never below what this device used) runs before Argon2.
        return passphrase_keys(passphrase, params, self._previous_kdf(username, params.salt))

    def login(self, username: str, passphrase: str) -> Identity:
        username = typed_username(username)
        keys = self._derive_login_keys(username, passphrase)
        answer = self._login_with(username, keys)
        identity = self._open(answer, "passphrase_bundle", keys, username)
        self._start_session(answer, identity, keys)
        return identity.public

    def _open(
        self, answer: LoginAnswer, field: str, keys: PassphraseKeys | RecoveryKeys, username: str
    ) -> PrivateIdentity:
        published = Identity.decode(answer.user.identity)
        bundle = answer.bundle
        if bundle is None:
            raise MalformedError(f"server answer: {field} is not a base64 string")
        if isinstance(keys, PassphraseKeys) and bundle_kdf_params(bundle) != keys.params:
            # The bundle authenticates its parameters; different ones cannot open it.
            raise WrongPassphrase()
        return open_bundle(
            bundle,
            keys,
            user_id=published.user_id,
            key_version=published.key_version,
            username=username,
        )

    def logout(self) -> None:
        if self.account.logged_in:
            try:
                self.api.logout()
            except Unauthorized:
                pass  # the server ended this session already (expired, or ended elsewhere)
            finally:
                self.profile.clear_session()
                self.account.end()
                self.api.token = None

    def _end_session(self, token: str | None) -> None:
        """Best effort: log out a session this device no longer holds."""
        if not token or token == self.api.token:
            return
        held = self.api.token
        self.api.token = token
        try:
            self.api.logout()
        except ClientError:
            pass  # unreachable, or already ended
        finally:
            self.api.token = held

    def change_passphrase(self, current: str, new: str) -> None:
        """Re-encrypt only the passphrase bundle; the keys and everything shared stay.

        The server ends every session of the account but the one that makes the change: that
        is the fresh session of the login here, so the token it replaces on this device ends
        too, and this device is left with exactly one live session."""
        username = self.session.username
        require_strong_passphrase(new, [username])
        replaced = self.api.token
        keys = self._derive_login_keys(username, current)
        answer = self._login_with(username, keys)
        identity = self._open(answer, "passphrase_bundle", keys, username)
        self._start_session(answer, identity, keys)
        try:
            new_keys = passphrase_keys(new, KdfParams.new(at_least=keys.params), keys.params)
            change = {
                "current_auth_key": b64(keys.auth_key),
                "passphrase_bundle": b64(seal_bundle(identity, new_keys)),
                "auth_key": b64(new_keys.auth_key),
            }
            self.api.change_passphrase(
                {**self._with_device(username, change), "kdf": kdf_to_json(new_keys.params)}
            )
        except BaseException:
            self._end_session(replaced)  # no change, so nothing revoked it: not left behind
            raise
        self.profile.raise_kdf_floor(
            username, new_keys.params.memory_kib, new_keys.params.iterations
        )

    def recover(self, username: str, recovery_code: str, new_passphrase: str) -> Identity:
        """Open the recovery bundle with the recovery code and set a new passphrase."""
        username = typed_username(username)
        recovery = parse_recovery_code(recovery_code).keys()
        require_strong_passphrase(new_passphrase, [username])
        auth = b64(recovery.auth_key)
        token = self.profile.device_token(username)
        answer = self._authenticate(lambda: self.api.recovery(username, recovery.auth_key, token))
        identity = self._open(answer, "recovery_bundle", recovery, username)
        self._check_published(identity, answer.user)
        previous = self._previous_kdf(username, b"\x00" * 16)
        keys = passphrase_keys(new_passphrase, KdfParams.new(at_least=previous), previous)
        reset = {
            "username": username,
            "recovery_auth_key": auth,
            "passphrase_bundle": b64(seal_bundle(identity, keys)),
            "auth_key": b64(keys.auth_key),
        }
        login = self.api.reset_passphrase(
            {**self._with_device(username, reset), "kdf": kdf_to_json(keys.params)}
        )
        self._start_session(login, identity, keys)
        return identity.public

    def whoami(self, *, check: bool = False) -> Identity:
        """My identity, from this device's session. `check`: first ask the server whether that
        session still holds (Unauthorized if it expired or a recovery or a passphrase change on
        another device ended it; NotLoggedIn if this device holds none)."""
        identity = self.me.public
        if check:
            self.api.me()
        return identity
