"""Errors the client raises, on top of the vault's own (`vault.errors`).

Two families, because the CLI treats them differently:

    VaultError (vault.errors)
    ├── SecurityError ............................. exit status 3: integrity doubt, fail closed
    │   ├── IntegrityError
    │   │   ├── MalformedError
    │   │   ├── TamperedLogError            the access log's hash chain is broken or rewritten
    │   │   └── WithheldDocumentError       the server hides a document the signed index lists
    │   ├── SignatureError, KeyMismatchError, RollbackError, DowngradeError
    │   └── UnverifiedKeyError (KeyMismatchError)  a pinned contact's keys changed
    ├── WrongPassphrase, InvalidRecoveryCode, ExpiredError ............ exit status 1
    ├── WeakPassphrase (a new passphrase the rule refuses) ............ exit status 1
    └── ClientError ............................................... exit status 1
        ├── ServerUnreachable               no answer from the server
        ├── NotLoggedIn                     no session in this profile
        ├── DamagedProfile (also a ValueError)  this device's profile cannot be read
        ├── AmbiguousId / UnknownId         an id prefix that matches several / nothing
        ├── UnconfirmedVersionError         a version the owner has not confirmed, asked for
        │                                   without `unconfirmed` (no proof of an attack)
        └── ApiError                        the server answered with a problem (RFC 9457)
            ├── Unauthorized (401), Forbidden (403), NotFound (404)
            ├── Conflict (409), PayloadTooLarge (413), RateLimited (429)
"""

from __future__ import annotations

from vault.errors import IntegrityError, KeyMismatchError, VaultError

__all__ = [
    "AmbiguousId",
    "ApiError",
    "ClientError",
    "Conflict",
    "DamagedProfile",
    "Forbidden",
    "NotFound",
    "NotLoggedIn",
    "PayloadTooLarge",
    "RateLimited",
    "ServerUnreachable",
    "TamperedLogError",
    "Unauthorized",
    "UnconfirmedVersionError",
    "UnknownId",
    "UnverifiedKeyError",
    "WithheldDocumentError",
]


class ClientError(VaultError):
    """A user-level failure: the request could not be done, but nothing was tampered with."""


class ServerUnreachable(ClientError):
    """The server did not answer (wrong address, down, or the connection dropped)."""


class NotLoggedIn(ClientError):
    def __init__(self) -> None:
        super().__init__("not logged in: run `kluis login USERNAME` first")


class DamagedProfile(ClientError, ValueError):
    """A file of this device's profile cannot be read (a local disk problem, not an attack).

    Also a ValueError, as profile damage was reported before this class existed."""


class AmbiguousId(ClientError):
    """An id prefix, title or name that matches more than one object.

    `candidates`: (id, what it is called) of each match, for the user to choose from."""

    def __init__(self, message: str, candidates: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.candidates = candidates or []


class UnknownId(ClientError):
    """An id or prefix that matches nothing the caller can see."""


class UnconfirmedVersionError(ClientError):
    """A version the dossier owner has not confirmed (her signed index does not list it and she
    did not sign it), asked for without `unconfirmed=True`. Not a security failure: a writer's
    version awaits the owner's adoption until her client lists the dossier."""


class ApiError(ClientError):
    """The server answered with an RFC 9457 problem."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail or code)
        self.status = status
        self.code = code
        self.detail = detail


class Unauthorized(ApiError):
    pass


class Forbidden(ApiError):
    pass


class NotFound(ApiError):
    pass


class Conflict(ApiError):
    pass


class PayloadTooLarge(ApiError):
    pass


class RateLimited(ApiError):
    pass


API_ERRORS_BY_STATUS: dict[int, type[ApiError]] = {
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    429: RateLimited,
}


class TamperedLogError(IntegrityError):
    """The access log no longer matches what this client saw before, or its chain is broken."""


class WithheldDocumentError(IntegrityError):
    """A document listed in the signed dossier index is missing from the server's answer."""


class UnverifiedKeyError(KeyMismatchError):
    """A contact's keys differ from the ones pinned in this profile."""
