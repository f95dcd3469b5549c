"""The Kluis client: the only place where keys meet the network.

`Client` does all cryptography locally through `vault` (docs/format.md) and speaks the HTTP API
of docs/api.md. The `kluis` command line lives in `client_sdk.cli`.
"""

from .accesslog import LogEntry
from .client import Client
from .errors import (
    AmbiguousId,
    ApiError,
    ClientError,
    NotLoggedIn,
    ServerUnreachable,
    TamperedLogError,
    UnknownId,
    UnverifiedKeyError,
    WithheldDocumentError,
)
from .profile import Profile
from .records import DocumentInfo, Dossier
from .sharing import SharedItem, ShareResult

__all__ = [
    "AmbiguousId",
    "ApiError",
    "Client",
    "ClientError",
    "DocumentInfo",
    "Dossier",
    "LogEntry",
    "NotLoggedIn",
    "Profile",
    "ServerUnreachable",
    "ShareResult",
    "SharedItem",
    "TamperedLogError",
    "UnknownId",
    "UnverifiedKeyError",
    "WithheldDocumentError",
]
